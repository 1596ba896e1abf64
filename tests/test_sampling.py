"""sample_tokens: exact on degenerate inputs, statistical over many seeded draws, kernel == reference per seed.

Chi-square level: goodness of fit of 20,000 seeded draws (reference path) must not reject at p < 1e-3.
The kernel is then shown to produce the SAME token as the reference for the same (seed, offset), so the statistics
carry over; Philox is checked bit for bit against triton.language.rand in the interpreter.
"""
import os

import pytest
import torch

from ttc_fast.ops import philox_uniform, sample_tokens, sample_tokens_ref
from ttc_fast.ops.sampling import _prepare, _sample_torch

BACKENDS = ["torch", pytest.param("triton", marks=pytest.mark.interpreter)]


# The Triton backend runs on CUDA when a GPU is present, else on CPU tensors in the interpreter (conftest).
_INTERPRET = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
KERNEL_DEVICE = "cuda" if torch.cuda.is_available() and not _INTERPRET else "cpu"


def dev(backend):
    return KERNEL_DEVICE if backend == "triton" else "cpu"


@pytest.mark.interpreter
def test_philox_bit_exact_vs_tl_rand():
    import triton
    import triton.language as tl

    @triton.jit
    def _rand_kernel(out_ptr, off_ptr, seed, N: tl.constexpr):
        i = tl.arange(0, N)
        tl.store(out_ptr + i, tl.rand(seed, tl.load(off_ptr + i)))

    off = torch.tensor([0, 1, 2, 3, 2**31 - 1, 2**31, 2**32 + 5, 2**40 + 99], dtype=torch.int64)  # hi word too
    for seed in [0, 1, 12345, 2**40 + 17, -5]:
        out = torch.empty(8)
        _rand_kernel[(1,)](out, off, seed, N=8)
        assert torch.equal(out, philox_uniform(torch.tensor(seed), off)), seed


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_hot_logits_exact(backend):
    # all mass on one token (others -inf): every seed, every filter must return it
    V = 37
    logits = torch.full((6, V), float("-inf"))
    hot = torch.tensor([0, 5, 36, 17, 17, 2])
    logits[torch.arange(6), hot] = 3.0
    d = dev(backend)
    for kw in [dict(), dict(top_k=3), dict(top_p=0.5), dict(min_p=0.2)]:
        tok = sample_tokens(logits.to(d), temperature=0.7, seeds=torch.arange(6, device=d), offsets=4,
                            backend=backend, **kw)
        assert torch.equal(tok.cpu(), hot)


@pytest.mark.parametrize("backend", BACKENDS)
def test_greedy(backend):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 40, generator=g)
    logits[3, [4, 9]] = 50.0  # exact tie: smallest index wins
    d = dev(backend)
    tok = sample_tokens(logits.to(d), temperature=0.0, top_p=0.3, seeds=torch.arange(5, device=d), backend=backend)
    expect = logits.argmax(1)
    assert expect[3] == 4 and torch.equal(tok.cpu(), expect)
    # per-row temperature: rows with 0 are greedy, others sample
    temp = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0], device=d)
    tok = sample_tokens(logits.to(d), temperature=temp, seeds=torch.arange(5, device=d), backend=backend).cpu()
    assert torch.equal(tok[[0, 2, 4]], expect[[0, 2, 4]])


def test_zero_probability_never_drawn_and_chi_square():
    scipy_stats = pytest.importorskip("scipy.stats")
    V, n = 8, 20000
    logits = torch.tensor([1.0, 0.0, float("-inf"), 2.0, -1.0, float("-inf"), 0.5, 1.5])
    probs = torch.softmax(logits.double(), 0)
    tok = sample_tokens_ref(logits.expand(n, V), temperature=1.0, seeds=torch.arange(n) * 7919 + 3)
    counts = torch.bincount(tok, minlength=V).double()
    assert counts[2] == 0 and counts[5] == 0  # zero-probability tokens
    keep = probs > 0
    p = scipy_stats.chisquare(counts[keep].numpy(), (probs[keep] * n).numpy()).pvalue
    assert p > 1e-3, p
    # temperature 2 flattens the distribution: still a correct fit
    tok = sample_tokens_ref(logits.expand(n, V), temperature=2.0, seeds=torch.arange(n), offsets=11)
    counts = torch.bincount(tok, minlength=V).double()
    probs = torch.softmax(logits.double() / 2, 0)
    assert scipy_stats.chisquare(counts[keep].numpy(), (probs[keep] * n).numpy()).pvalue > 1e-3


def sort_based_support(logits, temperature, top_k=None, top_p=None, min_p=None):
    """Independent HF-style support: sort, top-k, renormalise, cumulative top-p (keep the token crossing p), min-p."""
    z = logits.double() / temperature
    B, V = z.shape
    keep = torch.ones(B, V, dtype=torch.bool)
    zs, order = torch.sort(z, 1, descending=True)
    if top_k is not None and 0 < top_k < V:
        keep &= z >= zs[:, top_k - 1:top_k]
    if top_p is not None and top_p < 1:
        pr = torch.softmax(torch.where(keep, z, float("-inf")), 1)
        ps = torch.gather(pr, 1, order)
        before = torch.cumsum(ps, 1) - ps  # mass strictly before each sorted position
        kept_sorted = before < top_p
        kth = torch.where(kept_sorted, torch.gather(z, 1, order), float("inf")).min(1, keepdim=True).values
        keep &= z >= kth
    if min_p is not None:
        pr = torch.softmax(z, 1)
        keep &= pr >= min_p * pr.max(1, keepdim=True).values
    return keep


FILTERS = [dict(top_k=1), dict(top_k=7), dict(top_p=0.6), dict(top_p=0.95), dict(min_p=0.05),
           dict(top_k=12, top_p=0.8, min_p=0.02)]


@pytest.mark.parametrize("kw", FILTERS, ids=str)
def test_support_sets_vs_sort_based(kw):
    from ttc_fast.ops._sampling_triton import sample_triton
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 100, generator=g) * 2  # V = 100: not a power of two, 2 blocks of 64
    args = _prepare(logits, 0.8, kw.get("top_k"), kw.get("top_p"), kw.get("min_p"), torch.arange(4), 0)
    expect = sort_based_support(logits, 0.8, **kw)
    _, thr_ref = _sample_torch(logits, *args, return_threshold=True)
    z = logits / 0.8
    assert torch.equal(z >= thr_ref[:, None], expect)
    _, thr_kernel = sample_triton(logits.to(KERNEL_DEVICE), *[a.to(KERNEL_DEVICE) for a in args],
                                  return_threshold=True, block_v=64)
    assert torch.equal(thr_kernel.cpu(), thr_ref)
    # drawn tokens always inside the support
    tok = sample_tokens_ref(logits.repeat(50, 1), temperature=0.8, seeds=torch.arange(200), **kw)
    assert expect.repeat(50, 1)[torch.arange(200), tok].all()


@pytest.mark.interpreter
@pytest.mark.parametrize("kw", [dict(), dict(top_k=5), dict(top_p=0.9, min_p=0.01)], ids=str)
def test_kernel_equals_reference_same_seed(kw):
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(12, 70, generator=g) * 3
    seeds = torch.randint(-2**62, 2**62, (12,), generator=g)
    offsets = torch.arange(12) * 1000
    d = KERNEL_DEVICE
    a = sample_tokens(logits.to(d), temperature=1.1, seeds=seeds.to(d), offsets=offsets.to(d), backend="triton", **kw)
    b = sample_tokens_ref(logits, temperature=1.1, seeds=seeds, offsets=offsets, **kw)
    assert torch.equal(a.cpu(), b)
    # fp16 logits are upcast identically on both paths
    a16 = sample_tokens(logits.half().to(d), temperature=1.1, seeds=seeds.to(d), offsets=3, backend="triton", **kw)
    assert torch.equal(a16.cpu(), sample_tokens_ref(logits.half(), temperature=1.1, seeds=seeds, offsets=3, **kw))


def test_seed_and_offset_reproducible():
    logits = torch.zeros(64, 50)  # uniform
    s = torch.arange(64)
    a = sample_tokens_ref(logits, temperature=1.0, seeds=s, offsets=0)
    assert torch.equal(a, sample_tokens_ref(logits, temperature=1.0, seeds=s, offsets=0))
    assert not torch.equal(a, sample_tokens_ref(logits, temperature=1.0, seeds=s, offsets=1))
    assert not torch.equal(a, sample_tokens_ref(logits, temperature=1.0, seeds=s + 1, offsets=0))


def test_bad_inputs():
    x = torch.randn(3, 10)
    s = torch.arange(3)
    with pytest.raises(TypeError, match="seeds"):
        sample_tokens(x, temperature=1.0, seeds=[0, 1, 2])
    with pytest.raises(TypeError, match="seeds"):
        sample_tokens(x, temperature=1.0, seeds=s.int())
    with pytest.raises(ValueError, match="seeds"):
        sample_tokens(x, temperature=1.0, seeds=torch.arange(4))
    with pytest.raises(ValueError, match="top_p"):
        sample_tokens(x, temperature=1.0, top_p=0.0, seeds=s)
    with pytest.raises(ValueError, match="temperature"):
        sample_tokens(x, temperature=-1.0, seeds=s)
    with pytest.raises(ValueError, match="min_p"):
        sample_tokens(x, temperature=1.0, min_p=1.5, seeds=s)
    with pytest.raises(TypeError, match="logits"):
        sample_tokens(x.long(), temperature=1.0, seeds=s)
    with pytest.raises(ValueError, match="backend"):
        sample_tokens(x, temperature=1.0, seeds=s, backend="cuda")


@pytest.mark.gpu
def test_gpu_kernel_equals_reference():
    g = torch.Generator().manual_seed(3)
    logits = (torch.randn(256, 32000, generator=g) * 3).cuda()
    seeds = torch.arange(256, device="cuda")
    for kw in [dict(), dict(top_k=50), dict(top_p=0.9), dict(min_p=0.05), dict(top_k=40, top_p=0.95)]:
        a = sample_tokens(logits, temperature=0.8, seeds=seeds, offsets=5, **kw)
        b = sample_tokens(logits, temperature=0.8, seeds=seeds, offsets=5, backend="torch", **kw)
        assert (a == b).float().mean() > 0.99  # up to float near-ties between GPU and CPU-order sums
