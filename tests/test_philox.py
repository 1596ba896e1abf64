"""C++ Philox (csrc/philox.h, ttc_fast._C.philox_uniform_rows) == torch ``philox_uniform`` bit for bit.

The torch version is the oracle (itself checked bit for bit against ``triton.language.rand`` in
tests/test_sampling.py). Counters are ``offset * V + i`` modulo 2^64, as int64 arithmetic wraps in torch and Triton.
"""
import numpy as np
import pytest
import torch

from ttc_fast import _C
from ttc_fast.ops import philox_uniform, sample_tokens_ref
from ttc_fast.ops.sampling import _prepare, _row_uniforms, _scaled_logits, _thresholds_ref


def torch_rows(seeds: torch.Tensor, offsets: torch.Tensor, V: int) -> torch.Tensor:
    idx = torch.arange(V, dtype=torch.int64)
    return philox_uniform(seeds[:, None], offsets[:, None] * V + idx[None, :])


def assert_bits_equal(a: torch.Tensor, b: torch.Tensor):
    assert a.dtype == b.dtype == torch.float32 and a.shape == b.shape
    assert torch.equal(a.view(torch.int32), b.view(torch.int32))


# V = 1000 and 1003: not powers of two; 1 = one token per row (counter == offset).
@pytest.mark.parametrize("V", [1, 1000, 1003])
def test_rows_bit_exact_random_seeds_and_boundary_offsets(V):
    g = torch.Generator().manual_seed(V)
    lo32, lo63 = 2**32 // V, (2**63 - 1) // V
    offsets = torch.tensor([
        0, 1, 7,
        lo32 - 1, lo32, lo32 + 1,  # counter's low word wraps into the high word inside or at the row
        lo63 - 1, lo63,  # largest counters below 2^63
        -1, -lo32, -(2**62),  # negative offsets: counters wrap modulo 2^64 like int64 arithmetic
    ], dtype=torch.int64)
    seeds = torch.randint(-2**63, 2**63 - 1, (offsets.shape[0],), dtype=torch.int64, generator=g)
    seeds[:4] = torch.tensor([0, -1, -(2**63), 2**63 - 1])  # key words all 0 / all 1 / sign bit only / max
    want = torch_rows(seeds, offsets, V)
    got = torch.from_numpy(_C.philox_uniform_rows(seeds.numpy(), offsets.numpy(), V))
    assert_bits_equal(got, want)
    assert bool((got >= 0).all()) and bool((got < 1).all())


def test_rows_out_argument_threads_and_layout():
    g = torch.Generator().manual_seed(1)
    B, V = 37, 5003  # B * V > the C++ chunk size, so several threads split rows mid-row
    seeds = torch.randint(-2**40, 2**40, (B,), dtype=torch.int64, generator=g)
    offsets = torch.randint(0, 2**20, (B,), dtype=torch.int64, generator=g)
    want = torch_rows(seeds, offsets, V)
    for threads in (1, 2, 3):
        out = np.full((B, V), -1.0, dtype=np.float32)
        ret = _C.philox_uniform_rows(seeds.numpy(), offsets.numpy(), V, out=out, num_threads=threads)
        assert np.shares_memory(ret, out)
        assert_bits_equal(torch.from_numpy(out), want)
    # the CPU path of the reference, written into a torch tensor's memory; strided seeds are copied first
    seeds2 = torch.stack([seeds, seeds], 1)[:, 0]
    assert_bits_equal(_row_uniforms(seeds2, offsets, V), want)


def test_rows_empty_and_bad_arguments():
    e = np.zeros(0, dtype=np.int64)
    assert _C.philox_uniform_rows(e, e, 5).shape == (0, 5)
    one = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="seeds and offsets"):
        _C.philox_uniform_rows(one, e, 5)
    with pytest.raises(ValueError, match="V must be"):
        _C.philox_uniform_rows(one, one, -1)
    with pytest.raises(ValueError, match="out must be"):
        _C.philox_uniform_rows(one, one, 5, out=np.zeros((1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="out must be"):
        _C.philox_uniform_rows(one, one, 5, out=np.zeros((1, 5), dtype=np.float64))


def _sample_oracle(logits, *, temperature, top_k=None, top_p=None, min_p=None, seeds, offsets):
    """The reference algorithm written out plainly: torch Philox, out-of-place Gumbel math, mask every row."""
    temp, k, p, log_min_p, seeds, offsets = _prepare(logits, temperature, top_k, top_p, min_p, seeds, offsets)
    z, invalid = _scaled_logits(logits, temp)
    thr = _thresholds_ref(z, k, p, log_min_p)
    u = torch_rows(seeds, offsets, logits.shape[1])
    kept = z >= thr[:, None]
    score = torch.where(kept, z - torch.log(-torch.log(u)), torch.full_like(z, float("-inf")))
    tok = torch.argmax(score, dim=1)
    first_kept = torch.where(kept.any(1), torch.argmax(kept.int(), dim=1), -1)
    tok = torch.where(score.amax(1) == float("-inf"), first_kept, tok)  # all kept scores -inf (u = 0): first kept
    greedy = torch.where(invalid, -1, torch.argmax(logits.float(), dim=1))  # NaN or all -inf rows: -1
    return torch.where(temp == 0, greedy, tok)


# plain temperature (no mask pass needed), every filter, per-row temperatures with a greedy row, min-p only
@pytest.mark.parametrize("kw", [dict(temperature=0.8), dict(temperature=1.3, top_k=7, top_p=0.9, min_p=0.01),
                                dict(temperature=torch.tensor([0.0, 0.5, 1.0, 2.0]), top_p=0.5),
                                dict(temperature=1.0, min_p=0.2)])
def test_sample_tokens_ref_same_tokens_as_plain_algorithm(kw):
    g = torch.Generator().manual_seed(3)
    B, V = 4, 997
    logits = torch.randn(B, V, generator=g) * 3
    logits[1, ::5] = float("-inf")  # banned tokens
    logits[2, 10] = float("nan")  # a NaN logit: the row has no distribution, token -1
    seeds = torch.tensor([-3, 0, 2**62 + 11, 77], dtype=torch.int64)
    for offsets in (0, 5, torch.tensor([0, 2**32 // V, 9, 2**40], dtype=torch.int64)):
        got = sample_tokens_ref(logits, seeds=seeds, offsets=offsets, **kw)
        assert torch.equal(got, _sample_oracle(logits, seeds=seeds, offsets=offsets, **kw))
