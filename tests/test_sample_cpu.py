"""The fused C++ CPU draw (csrc/sample.h, ``_C.gumbel_argmax_rows``) == the torch reference, token for token.

``sample_tokens`` on CPU tensors runs :func:`ttc_fast.ops.sampling._sample_cpu`; ``sample_tokens_ref`` stays the plain
torch code (``_sample_torch``). The C++ draw logs with std::log, within an ulp of torch's log, so the two could
differ only where a row's two best scores are within an ulp; on every input below, degenerate ones included, the
tokens are identical (the inputs are seeded: a near-tie would show as a deterministic failure, never as a flake).
The exact pruning (tokens whose score bound ``z_i - G_MIN`` is below a drawn score get no uniform) never changes
a token.
"""
import numpy as np
import pytest
import torch

from ttc_fast import _C
from ttc_fast.ops import sample_tokens, sample_tokens_ref
from ttc_fast.ops.sampling import _prepare, _sample_cpu, _sample_torch

INF, NAN = float("inf"), float("nan")


def _draw_ref(z, thr, seeds, offsets):
    """The final draw of _sample_torch for given z and thr (torch ops, same masking and argmax)."""
    from ttc_fast.ops.sampling import _row_uniforms

    g = _row_uniforms(seeds, offsets, z.shape[1]).log_().neg_().log_()
    score = torch.sub(z, g, out=g)
    kept = z.ge(thr[:, None])
    score.masked_fill_(kept.logical_not(), float("-inf"))
    tok = torch.argmax(score, dim=1)  # NaN scores (z = +inf, u = 0) win, as in torch.argmax
    first_kept = torch.where(kept.any(1), torch.argmax(kept.int(), dim=1), -1)  # -1: nothing kept
    return torch.where(score.amax(1) == float("-inf"), first_kept, tok)


def _draw_c(z, thr, seeds, offsets, prune=True, threads=0):
    return torch.from_numpy(_C.gumbel_argmax_rows(z.contiguous().numpy(), thr.contiguous().numpy(), seeds.numpy(),
                                                  offsets.numpy(), prune=prune, num_threads=threads))


def test_the_log_is_within_an_ulp_of_torch():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(100_003, generator=g) * torch.logspace(-9, 1.5, 100_003)
    got = torch.from_numpy(_C.batch_log(x.numpy())).view(torch.int32)
    assert int((got - torch.log(x).view(torch.int32)).abs().max()) <= 1


def _reachable_uniforms():
    """Every float32 value a Philox uniform can take: float(s) * 4.6566127342e-10 for s in [0, 2^31 - 1]."""
    parts = [torch.arange(0, 2**24, dtype=torch.int64)]
    parts += [torch.arange(2**e, 2**(e + 1), 2**(e - 23), dtype=torch.int64) for e in range(24, 31)]
    parts.append(torch.tensor([2**31]))
    return torch.cat(parts).to(torch.float32) * torch.tensor(4.6566127342e-10, dtype=torch.float32)


def test_gumbel_bound_is_exact_over_every_uniform():
    # G_MIN (the kernel's bound) is the minimum of log(-log(u)) over all 75.5M reachable u, for the log in use
    u = _reachable_uniforms()
    assert float(u.max()) < 1.0
    g = torch.from_numpy(_C.batch_log(_C.batch_log(u.numpy()) * -1))  # the C++ draw's log
    assert _C.gumbel_g_min() == float(g.min())
    assert float(g.max()) == INF  # u = 0: g = +inf (score -inf, or NaN for z = +inf)


def test_bucket_bounds_hold_for_every_uniform():
    # stage 2: g(u) >= g_lo[s >> 19] for every s; checked per distinct float f = float(s) against the bucket of the
    # smallest s that can round to f (f - ulp/2), the strictest one since g_lo does not increase with the bucket
    u = _reachable_uniforms()
    f = (u / torch.tensor(4.6566127342e-10, dtype=torch.float32)).double()  # the integer-valued float(s), exact
    half = torch.where(f < 2**24, torch.zeros_like(f), torch.exp2(torch.floor(torch.log2(f.clamp(min=1))) - 24))
    s_lo = (f - half).clamp(min=0).long()
    table = torch.from_numpy(_C.gumbel_g_lo_table())
    assert bool((table[1:] <= table[:-1]).all())
    g = torch.from_numpy(_C.batch_log(_C.batch_log(u.numpy()) * -1))
    assert bool((g >= table[s_lo >> 19]).all())
    assert float(table[-1]) <= _C.gumbel_g_min()


CASES = [
    dict(),
    dict(top_k=50),
    dict(top_p=0.9),
    dict(min_p=0.05),
    dict(top_k=40, top_p=0.95, min_p=0.02),
]


def _ragged(B, V, g):
    return dict(
        temperature=torch.where(torch.rand(B, generator=g) < 0.15, torch.zeros(B), 0.3 + 1.5 * torch.rand(B, generator=g)),
        top_k=torch.randint(-2, V + 3, (B,), generator=g),
        top_p=torch.where(torch.rand(B, generator=g) < 0.3, torch.ones(B), 0.05 + 0.95 * torch.rand(B, generator=g)),
        min_p=torch.where(torch.rand(B, generator=g) < 0.5, torch.zeros(B), 0.3 * torch.rand(B, generator=g)),
    )


@pytest.mark.parametrize("scale", [0.0, 0.05, 1.0, 3.0, 8.0, 30.0])
@pytest.mark.parametrize("V", [1, 2, 7, 65, 1000, 32000])
def test_equals_reference_random(scale, V):
    g = torch.Generator().manual_seed(V * 31 + int(scale * 100))
    B = 64 if V < 32000 else 24
    logits = torch.randn(B, V, generator=g) * scale
    seeds = torch.randint(-2**62, 2**62, (B,), generator=g)
    offsets = torch.randint(0, 2**40, (B,), generator=g)
    for kw in CASES + [_ragged(B, V, g)]:
        kw = {"temperature": 0.8, **kw}
        a = sample_tokens(logits, seeds=seeds, offsets=offsets, **kw)
        b = sample_tokens_ref(logits, seeds=seeds, offsets=offsets, **kw)
        assert torch.equal(a, b), kw


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_equals_reference_long_tailed_and_dtypes(dtype):
    # trained-like logits: Zipf-shaped log-probabilities plus noise, and 8 * randn
    g = torch.Generator().manual_seed(1)
    B, V = 32, 32000
    ranks = torch.stack([torch.randperm(V, generator=g) for _ in range(B)]).float() + 1
    for logits in (-1.1 * torch.log(ranks) + 0.3 * torch.randn(B, V, generator=g), 8 * torch.randn(B, V, generator=g)):
        logits = logits.to(dtype)
        for temp in (0.3, 0.7, 1.0, 1.5):
            for kw in CASES:
                a = sample_tokens(logits, temperature=temp, seeds=torch.arange(B), offsets=7, **kw)
                assert torch.equal(a, sample_tokens_ref(logits, temperature=temp, seeds=torch.arange(B), offsets=7, **kw))


def test_degenerate_rows():
    V = 40
    rows = [
        torch.zeros(V),  # all equal
        torch.full((V,), 5.0),
        torch.full((V,), -INF),  # nothing finite
        torch.tensor([-INF] * 10 + [1.0] + [-INF] * 29),  # one finite
        torch.tensor([NAN] * V),  # all NaN
        torch.tensor([NAN, 1.0, NAN, 2.0] * 10),  # some NaN
        torch.tensor([INF] + [0.0] * (V - 1)),  # +inf
        torch.tensor([0.0] * 5 + [INF, INF] + [0.0] * (V - 7)),  # two +inf
        torch.tensor([-0.0] * V),  # -0.0
        torch.tensor([1e38, -1e38] * 20),  # overflow at small temperature
        torch.tensor([-INF, NAN] * 20),
        torch.tensor([3.0, 3.0] + [-INF] * (V - 2)),
    ]
    logits = torch.stack(rows)
    B = logits.shape[0]
    for seeds_base in range(3):
        seeds = torch.arange(B) + 100 * seeds_base
        for kw in CASES + [dict(top_k=1), dict(top_p=1e-6), dict(min_p=1.0)]:
            for temp in (1.0, 0.01, 0.0):
                a = sample_tokens(logits, temperature=temp, seeds=seeds, offsets=seeds_base, **kw)
                b = sample_tokens_ref(logits, temperature=temp, seeds=seeds, offsets=seeds_base, **kw)
                assert torch.equal(a, b), (kw, temp, a, b)


def test_mixed_nan_rows_with_clean_rows():
    # one NaN row makes _sample_torch mask every row; the C++ path masks per row: same tokens
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(16, 300, generator=g)
    logits[3, 17] = NAN
    logits[9] = -INF
    for kw in CASES:
        a = sample_tokens(logits, temperature=0.9, seeds=torch.arange(16), offsets=2, **kw)
        assert torch.equal(a, sample_tokens_ref(logits, temperature=0.9, seeds=torch.arange(16), offsets=2, **kw))


def test_arbitrary_thresholds_and_specials():
    # the C++ draw alone, against the torch draw, for thresholds the samplers never produce (NaN, +-inf, above max)
    g = torch.Generator().manual_seed(9)
    B, V = 48, 257
    z = torch.randn(B, V, generator=g) * 4
    z[0, :] = NAN
    z[1, ::3] = NAN
    z[2, :] = -INF
    z[3, 5] = INF
    z[4, ::2] = -INF
    thr = z.nan_to_num(nan=0.0, neginf=-1e30).amax(1) - torch.rand(B, generator=g) * 10
    thr[5], thr[6], thr[7], thr[8] = NAN, INF, -INF, 1e9
    thr[2] = -INF
    seeds, offsets = torch.arange(B) * 7919, torch.arange(B) + 2**33
    want = _draw_ref(z, thr, seeds, offsets)
    for prune in (True, False):
        for threads in (1, 2, 3):
            assert torch.equal(_draw_c(z, thr, seeds, offsets, prune=prune, threads=threads), want)


def test_pruning_never_changes_a_token():
    # long tails prune most of the vocabulary; flat rows prune nothing: pruned == unpruned == torch everywhere
    g = torch.Generator().manual_seed(2)
    B, V = 64, 32000
    ranks = torch.stack([torch.randperm(V, generator=g) for _ in range(B)]).float() + 1
    seeds, offsets = torch.arange(B), torch.full((B,), 3)
    for z in (-1.2 * torch.log(ranks), 8 * torch.randn(B, V, generator=g), 40 * torch.randn(B, V, generator=g),
              torch.randn(B, V, generator=g) * 0.01):
        z = z.add(0.0)
        thr = torch.full((B,), -INF)
        want = _draw_ref(z, thr, seeds, offsets)
        assert torch.equal(_draw_c(z, thr, seeds, offsets, prune=True), want)
        assert torch.equal(_draw_c(z, thr, seeds, offsets, prune=False), want)
    # near-ties at the bound: a token exactly G_MAX below the max and equal maxima everywhere
    gmax = -_C.gumbel_g_min()
    z = torch.zeros(B, 100)
    z[:, ::7] = gmax
    z[:, 50] = 0.0
    want = _draw_ref(z, torch.full((B,), -INF), seeds, offsets)
    assert torch.equal(_draw_c(z, torch.full((B,), -INF), seeds, offsets), want)


def test_huge_vocab_and_counter_wrap():
    g = torch.Generator().manual_seed(4)
    V = 1 << 20
    logits = torch.randn(3, V, generator=g) * 2
    seeds = torch.tensor([1, -1, 2**63 - 1])
    offsets = torch.tensor([0, 2**43 + 1, 2**63 // V + 5])  # the last: offset * V wraps modulo 2^64
    for kw in (dict(), dict(top_p=0.5)):
        assert torch.equal(sample_tokens(logits, temperature=1.0, seeds=seeds, offsets=offsets, **kw),
                           sample_tokens_ref(logits, temperature=1.0, seeds=seeds, offsets=offsets, **kw))


def test_empty_batch_and_threads():
    out = sample_tokens(torch.zeros(0, 10), temperature=1.0, seeds=torch.zeros(0, dtype=torch.int64))
    assert out.shape == (0,) and out.dtype == torch.int64
    g = torch.Generator().manual_seed(8)
    logits = torch.randn(37, 500, generator=g)
    args = _prepare(logits, 0.9, None, 0.8, None, torch.arange(37), 1)
    want = _sample_torch(logits, *args)
    for n in (1, 2, 4):
        torch.set_num_threads(n)
        try:
            assert torch.equal(_sample_cpu(logits, *args), want)
        finally:
            torch.set_num_threads(1)


def test_binding_errors():
    z = np.zeros((2, 5), np.float32)
    thr = np.zeros(2, np.float32)
    s = np.zeros(2, np.int64)
    with pytest.raises(ValueError, match="z must be"):
        _C.gumbel_argmax_rows(np.zeros(5, np.float32), thr, s, s)
    with pytest.raises(ValueError, match="V >= 1"):
        _C.gumbel_argmax_rows(np.zeros((2, 0), np.float32), thr, s, s)
    with pytest.raises(ValueError, match="thr, seeds and offsets"):
        _C.gumbel_argmax_rows(z, thr[:1], s, s)
    with pytest.raises(ValueError, match="thr, seeds and offsets"):
        _C.gumbel_argmax_rows(z, thr, s, s[:1])
    with pytest.raises(ValueError, match="batch_log"):
        _C.batch_log(z)


def test_public_errors_unchanged():
    x = torch.randn(3, 10)
    s = torch.arange(3)
    with pytest.raises(ValueError, match="non-empty vocabulary"):
        sample_tokens(torch.zeros(3, 0), temperature=1.0, seeds=s)
    with pytest.raises(ValueError, match="offsets"):
        sample_tokens(x, temperature=1.0, seeds=s, offsets=torch.arange(2))
    with pytest.raises(ValueError, match="temperature"):
        sample_tokens(x, temperature=float("nan"), seeds=s)
    with pytest.raises(ValueError, match="top_k"):
        sample_tokens(x, temperature=1.0, top_k=torch.ones(2, dtype=torch.int64), seeds=s)
