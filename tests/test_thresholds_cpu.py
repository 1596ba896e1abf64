"""The C++ CPU thresholds (_C.sample_thresholds via _thresholds_cpu, no vocabulary sort) vs the sort-based
_thresholds_ref and a brute-force definition."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from ttc_fast.ops.sampling import _prepare, _scaled_logits, _thresholds_cpu, _thresholds_ref, sample_tokens, \
    sample_tokens_ref

INF = float("inf")


def _same(a, b):
    return bool(((a == b) | (a.isnan() & b.isnan())).all())


def _both(z, k, p, lmp):
    B = z.shape[0]
    k = torch.as_tensor(k, dtype=torch.int64).expand(B).contiguous()
    p = torch.as_tensor(p, dtype=torch.float32).expand(B).contiguous()
    lmp = torch.as_tensor(lmp, dtype=torch.float32).expand(B).contiguous()
    from ttc_fast import _C
    got = torch.from_numpy(_C.sample_thresholds(z.numpy(), k.numpy(), p.numpy(), lmp.numpy()))
    return got, _thresholds_ref(z, k, p, lmp)


def brute(row, k, p, lmp):
    """Definition: thr_k = k-th largest; thr_p = the largest candidate v with mass{z >= max(v, thr_k)} >=
    p * mass{z >= thr_k} (double); thr = max(thr_k, thr_p, m + lmp)."""
    vals = sorted(row, reverse=True)
    V = len(vals)
    m = vals[0]
    thr_k = vals[k - 1] if 0 < k < V else vals[-1]
    thr_p = thr_k
    if p < 1:
        mass = lambda t: sum(math.exp(x - m) for x in row if x >= t)  # noqa: E731
        total = mass(thr_k)
        thr_p = max(v for v in set(vals) if mass(max(v, thr_k)) >= p * total)
    return max(thr_k, thr_p, m + lmp)


def test_brute_force_small_vocab():
    g = torch.Generator().manual_seed(0)
    checked = 0
    for V in range(1, 13):
        for _ in range(20):
            z = torch.randint(-6, 7, (1, V), generator=g).float()  # integers: ties, masses exact enough
            row = z[0].tolist()
            for k, p, mp in itertools.product([1, 2, 3, V, V + 3, 0], [0.1, 0.37, 0.5, 0.83, 0.97, 1.0], [0.0, 0.2, 1.0]):
                kk = k if 0 < k <= V else V
                # skip p within rounding of a cumulative mass ratio (the float32 reference may go either way)
                m = max(row)
                thr_k = sorted(row, reverse=True)[kk - 1]
                tot = sum(math.exp(x - m) for x in row if x >= thr_k)
                ratios = [sum(math.exp(x - m) for x in row if x >= v and x >= thr_k) / tot for v in set(row)]
                if p < 1 and min(abs(r - p) for r in ratios) < 1e-5:
                    continue
                lmp = math.log(mp) if mp > 0 else -INF
                got, ref = _both(z, kk, p, lmp)
                expect = brute(row, kk, p, lmp)
                assert got.item() == pytest.approx(expect, abs=1e-6), (row, kk, p, mp)
                assert _same(got, ref), (row, kk, p, mp)
                checked += 1
    assert checked > 3000


@pytest.mark.parametrize("V", [100, 5000, 32000])
def test_equals_reference_random_and_quantised(V):
    g = torch.Generator().manual_seed(V)
    for scale, quant in [(0.3, False), (3.0, False), (12.0, False), (3.0, True), (0.01, False)]:
        logits = torch.randn(24, V, generator=g) * scale
        if quant:
            logits = (logits * 2).round() / 2  # many ties at every threshold
        for tk, tp, mp in [(1, None, None), (20, None, None), (50, 0.9, None), (1000, 0.95, 0.01), (None, 0.5, None),
                           (None, 0.9, None), (None, 0.99, 0.05), (V, 0.95, None), (V + 5, None, 0.1),
                           (None, None, None), (None, 1.0, 1.0), (7, 1.0, 0.0)]:
            args = _prepare(logits, 0.8, tk, tp, mp, torch.arange(24), 0)
            z = _scaled_logits(logits, args[0])[0]
            a, b = _thresholds_cpu(z, *args[1:4]), _thresholds_ref(z, *args[1:4])
            # exact on these inputs (the sums differ only in order, so a boundary within an ulp of p * total
            # could in principle go the other way; none of these rows has one)
            assert _same(a, b), (scale, quant, tk, tp, mp)


def test_per_row_parameters_mixed():
    g = torch.Generator().manual_seed(5)
    B, V = 16, 3000
    logits = torch.randn(B, V, generator=g) * 2
    k = torch.tensor([0, 1, 5, 3000, 40, 0, 2, 2999] * 2)
    p = torch.tensor([1.0, 0.5, 0.9, 0.3, 1.0, 0.999, 0.1, 0.7] * 2)
    mp = torch.tensor([0.0, 0.1, 0.0, 0.5, 1.0, 0.0, 0.0, 0.02] * 2)
    args = _prepare(logits, 1.3, k, p, mp, torch.arange(B), 0)
    z = _scaled_logits(logits, args[0])[0]
    assert _same(_thresholds_cpu(z, *args[1:4]), _thresholds_ref(z, *args[1:4]))


def test_specials_match_reference():
    nan = float("nan")
    rows = [[1.0, nan, 3.0, 2.0], [1.0, 2.0, INF, 0.5], [INF, INF, 1.0, -INF], [-INF] * 4, [-INF, 2.0, -INF, 1.0],
            [0.0, 0.0, 0.0, 0.0], [5.0, -INF, -INF, -INF], [nan] * 4, [3.0, 3.0, -1.0, 3.0], [-INF, -INF, 0.0, -INF]]
    z = torch.tensor(rows)
    for k, p, lmp in itertools.product([1, 2, 3, 4], [0.05, 0.5, 0.99, 1.0], [-INF, math.log(0.3), 0.0]):
        got, ref = _both(z, k, p, lmp)
        assert _same(got, ref), (k, p, lmp, got, ref)


def test_single_token_vocab():
    z = torch.tensor([[0.5], [-INF], [INF], [float("nan")]])
    for k, p, lmp in itertools.product([1], [0.3, 1.0], [-INF, -1.0, 0.0]):
        got, ref = _both(z, k, p, lmp)
        assert _same(got, ref)


def test_threads_and_empty_batch():
    g = torch.Generator().manual_seed(9)
    z = torch.randn(33, 2000, generator=g) * 3
    k = torch.full((33,), 100)
    p = torch.full((33,), 0.9)
    lmp = torch.full((33,), -INF)
    from ttc_fast import _C
    ref = _thresholds_ref(z, k, p, lmp)
    for t in (1, 2, 5):
        got = torch.from_numpy(_C.sample_thresholds(z.numpy(), k.numpy(), p.numpy(), lmp.numpy(), num_threads=t))
        assert _same(got, ref)
    e = _C.sample_thresholds(torch.zeros(0, 5).numpy(), k[:0].numpy(), p[:0].numpy(), lmp[:0].numpy())
    assert e.shape == (0,)
    with pytest.raises(ValueError):
        _C.sample_thresholds(z.numpy(), k[:3].numpy(), p.numpy(), lmp.numpy())


def test_sample_tokens_cpu_equals_reference_with_filters():
    g = torch.Generator().manual_seed(11)
    logits = torch.randn(48, 32000, generator=g) * 3
    seeds = torch.arange(48)
    for kw in [dict(top_p=0.9), dict(top_k=50), dict(top_k=40, top_p=0.95, min_p=0.01), dict(top_p=0.5)]:
        a = sample_tokens(logits, temperature=0.8, seeds=seeds, offsets=3, **kw)
        b = sample_tokens_ref(logits, temperature=0.8, seeds=seeds, offsets=3, **kw)
        assert torch.equal(a, b), kw
