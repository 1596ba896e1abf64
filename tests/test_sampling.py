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
    z = (logits - logits.amax(1, keepdim=True)) / 0.8  # the z the thresholds are on (max 0)
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


# ---- rows without a finite distribution (issue 11): never token 0 by accident, the same on every path ----------
NONFINITE_FILTERS = [dict(), dict(top_k=2), dict(top_p=0.5), dict(min_p=0.3), dict(top_k=3, top_p=0.9, min_p=0.01)]


def _nonfinite_rows():
    V, INF, NAN = 12, float("inf"), float("nan")
    rows = torch.randn(8, V, generator=torch.Generator().manual_seed(4))
    rows[0, 5] = NAN                       # 0: one NaN logit -> -1
    rows[1] = NAN                          # 1: all NaN -> -1
    rows[2] = -INF                         # 2: nothing has positive probability -> -1
    rows[3, 7] = INF                       # 3: one +inf logit -> always 7
    rows[4, 3] = rows[4, 9] = INF          # 4: two +inf logits -> 3 or 9 (the seed chooses); greedy 3
    rows[5] = torch.tensor([1e38, 3e38, -3e38, 2.9e38] + [-1e38] * 8)  # 5: |x| / t overflows float32 -> the max
    rows[6] = -3e38
    rows[6, 10] = -3e38 + 1e32             # 6: (x - max) / t underflows for all but the max -> 10
    rows[7, 0] = -INF                      # 7: an ordinary row with a banned token
    return rows


def _expected(tok, rows, temp):
    """Properties every path must satisfy, written out independently of the implementations."""
    assert tok[0] == -1 and tok[1] == -1 and tok[2] == -1
    assert tok[3] == 7
    assert tok[4] in (3, 9) and (temp > 0 or tok[4] == 3)
    assert tok[5] == 1 and tok[6] == 10
    assert 1 <= tok[7] < rows.shape[1]


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # numpy, on -3e38 - 3e38 = -inf
@pytest.mark.parametrize("path", ["ref", "cpu", pytest.param("triton", marks=pytest.mark.interpreter)])
def test_nonfinite_rows_documented_tokens(path):
    rows = _nonfinite_rows()
    B = rows.shape[0]
    d = KERNEL_DEVICE if path == "triton" else "cpu"
    filters = NONFINITE_FILTERS if path != "triton" else NONFINITE_FILTERS[::4]  # the interpreter is slow
    for temp in (0.0, 1e-3, 1.0):
        for kw in filters:
            for s in range(3 if path != "triton" else 1):
                seeds = torch.arange(B) * 7 + s
                if path == "ref":
                    tok = sample_tokens_ref(rows, temperature=temp, seeds=seeds, offsets=s, **kw)
                else:
                    tok = sample_tokens(rows.to(d), temperature=temp, seeds=seeds.to(d), offsets=s,
                                        backend="torch" if path == "cpu" else "triton", **kw).cpu()
                _expected(tok.tolist(), rows, temp)
                if path != "ref":  # the same token as the reference, row by row
                    assert torch.equal(tok, sample_tokens_ref(rows, temperature=temp, seeds=seeds, offsets=s, **kw))


def test_plus_inf_tokens_share_the_mass():
    # two +inf logits: the limit of the softmax is uniform on them; 400 seeded draws, binomial(400, 1/2) within 5 sd
    rows = torch.zeros(400, 6)
    rows[:, 1] = rows[:, 4] = float("inf")
    tok = sample_tokens(rows, temperature=0.7, seeds=torch.arange(400), offsets=2)  # the C++ CPU path
    assert set(tok.tolist()) == {1, 4}
    assert abs(int((tok == 1).sum()) - 200) < 5 * 10
    assert torch.equal(tok, sample_tokens_ref(rows, temperature=0.7, seeds=torch.arange(400), offsets=2))
