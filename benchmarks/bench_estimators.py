"""Estimator benchmarks: ttc_fast and what users otherwise write, side by side (``impl`` parametrized).

Run:  python -m pytest benchmarks/bench_estimators.py --benchmark-only -p no:cacheprovider
      (CI=true shrinks the grid). Baselines that would take minutes at full size run on a subset of problems;
      ``extra_info["scale"]`` is the factor to multiply their time by (the work is linear in problems).

- pass@k, every k <= n, P problems x n samples: ttc_fast (all 1,000 ks) vs
  ``harness_loop`` (Chen et al.'s per-problem ``1 - prod(1 - k / arange(n-c+1, n+1))`` for k in 1,2,4,...,512)
  and ``numpy_vectorised`` (our best numpy: histogram of (n, c) pairs, log1p cumsum, expm1; all ks).
- maj@k, every k <= n: ttc_fast (exact) vs ``numpy_mc`` (1,000 random k-subsets per problem and k, vectorised
  vote per problem and k, random tie-break).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from ttc_fast import _C

sys.path.insert(0, str(Path(__file__).parent))
from _data_estimators import realistic_answers  # noqa: E402

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# ---- baselines (what users write) -----------------------------------------------------------------------------

def pass_at_k_harness(n: int, c: int, k: int) -> float:
    """The per-problem estimator of Chen et al. (2021), as copied into evaluation harnesses."""
    if n - c < k:
        return 1.0
    return 1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))


def pass_at_k_harness_loop(n: np.ndarray, c: np.ndarray, ks) -> np.ndarray:
    return np.array([[pass_at_k_harness(int(a), int(b), k) for k in ks] for a, b in zip(n, c)]).mean(axis=0)


def pass_at_k_numpy(n: np.ndarray, c: np.ndarray, kmax: int) -> np.ndarray:
    """Best vectorised numpy: unique (n, c) pairs, log-space cumulative products, weighted mean; all k <= kmax."""
    pairs, counts = np.unique(np.stack([n, c], axis=1), axis=0, return_counts=True)
    nn, cc = pairs[:, :1].astype(np.float64), pairs[:, 1:].astype(np.float64)
    j = np.arange(kmax, dtype=np.float64)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(j < nn - cc, np.log1p(-cc / (nn - j)), -np.inf)
    vals = -np.expm1(np.cumsum(terms, axis=1))  # (U, kmax): pass@1..kmax
    return counts @ vals / counts.sum()


def maj_at_k_mc(answers: np.ndarray, correct: np.ndarray, ks, draws: int = 1000, seed: int = 0) -> np.ndarray:
    """Monte Carlo maj@k as people write it: random k-subsets, vote, random tie-break (abstentions excluded)."""
    rng = np.random.default_rng(seed)
    P, n = answers.shape
    out = np.zeros((P, len(ks)))
    for p in range(P):
        ids, dense = np.unique(answers[p], return_inverse=True)
        valid = ids >= 0
        right = np.array([correct[p][answers[p] == i][0] if i >= 0 else False for i in ids])
        for j, k in enumerate(ks):
            subsets = np.argsort(rng.random((draws, n)), axis=1)[:, :k]      # (draws, k)
            votes = dense[subsets]
            counts = np.zeros((draws, len(ids)))
            np.add.at(counts, (np.arange(draws)[:, None], votes), 1)
            counts[:, ~valid] = 0
            noisy = counts + rng.random(counts.shape) * 0.5                     # random tie-break
            winner = noisy.argmax(axis=1)
            out[p, j] = np.mean(right[winner] & (counts.max(axis=1) > 0))
    return out.mean(axis=0)


# ---- pass@k --------------------------------------------------------------------------------------------------

PASS_P, PASS_N = (10_000, 200) if CI else (100_000, 1000)


@pytest.fixture(scope="module")
def pass_data():
    rng = np.random.default_rng(0)
    n = np.full(PASS_P, PASS_N, dtype=np.int64)
    c = rng.binomial(PASS_N, rng.beta(0.5, 1.5, size=PASS_P)).astype(np.int64)
    return n, c


@pytest.mark.parametrize("impl", ["ttc_fast", "ttc_fast_1thread", "ttc_fast_public", "numpy_vectorised",
                                  "harness_loop"])
def test_pass_at_k(benchmark, pass_data, impl):
    n, c = pass_data
    ks_all = np.arange(1, PASS_N + 1, dtype=np.int64)
    pow2 = [2 ** i for i in range(PASS_N.bit_length()) if 2 ** i <= PASS_N // 2 + 1]
    benchmark.group = f"pass@k P={PASS_P} n={PASS_N}"
    benchmark.extra_info.update(problems=PASS_P, n=PASS_N, scale=1)
    if impl == "ttc_fast_public":  # the public function with its input checks, ks=None = every k
        import ttc_fast
        benchmark.extra_info["ks"] = PASS_N
        mean = benchmark.pedantic(lambda: ttc_fast.pass_at_k(n, c).mean, rounds=25, warmup_rounds=2)
        np.testing.assert_allclose(mean, pass_at_k_numpy(n, c, PASS_N), atol=1e-12)
    elif impl.startswith("ttc_fast"):
        threads = 1 if impl.endswith("1thread") else 0
        benchmark.extra_info["ks"] = PASS_N
        mean = benchmark.pedantic(lambda: _C.pass_at_k(n, c, ks_all, False, False, threads)[0], rounds=9,
                                  warmup_rounds=1)
        np.testing.assert_allclose(mean, pass_at_k_numpy(n, c, PASS_N), atol=1e-12)
    elif impl == "numpy_vectorised":
        benchmark.extra_info["ks"] = PASS_N
        benchmark.pedantic(pass_at_k_numpy, args=(n, c, PASS_N), rounds=5)
    else:
        sub = 1_000 if CI else 2_000
        benchmark.extra_info.update(ks=len(pow2), subset=sub, scale=PASS_P / sub)
        mean = benchmark.pedantic(pass_at_k_harness_loop, args=(n[:sub], c[:sub], pow2), rounds=1)
        ours = _C.pass_at_k(n[:sub], c[:sub], np.array(pow2), False, False, 0)[0]
        np.testing.assert_allclose(mean, ours, atol=1e-9)


@pytest.mark.parametrize("P,n", [(10_000, 1000), (100_000, 100), (100_000, 10_000)] if not CI else [(1000, 100)])
def test_pass_at_k_scaling(benchmark, P, n):
    rng = np.random.default_rng(1)
    nn = np.full(P, n, dtype=np.int64)
    c = rng.integers(0, n + 1, size=P).astype(np.int64)
    benchmark.group = "pass@k scaling (all k <= n)"
    benchmark.extra_info.update(problems=P, n=n)
    benchmark.pedantic(_C.pass_at_k, args=(nn, c, np.arange(1, n + 1, dtype=np.int64), False, False, 0), rounds=3)


# ---- maj@k ---------------------------------------------------------------------------------------------------

MAJ_CASES = [(2_000, 64), (50, 1024)] if CI else [(10_000, 64), (1_000, 1024)]


@pytest.mark.parametrize("P,n", MAJ_CASES)
@pytest.mark.parametrize("impl", ["ttc_fast", "ttc_fast_1thread", "numpy_mc"])
def test_maj_at_k(benchmark, impl, P, n):
    answers, correct = realistic_answers(P, n, seed=0)
    ks = np.arange(1, n + 1, dtype=np.int64)
    benchmark.group = f"maj@k all k, P={P} n={n}"
    benchmark.extra_info.update(problems=P, n=n, ks=n, scale=1)
    if impl.startswith("ttc_fast"):
        threads = 1 if impl.endswith("1thread") else 0
        rounds = 3 if n <= 64 else 1
        benchmark.pedantic(_C.maj_at_k, args=(answers, correct.astype(np.uint8), ks, 0, 0, False, threads),
                           rounds=rounds)
    else:
        sub = (4 if n <= 64 else 1) if CI else (10 if n <= 64 else 1)
        kk = ks if n <= 64 else ks[:: n // 16]  # n = 1024: 16 of the 1,024 ks, scaled by 64 more
        benchmark.extra_info.update(subset=sub, ks_timed=len(kk), scale=(P / sub) * (len(ks) / len(kk)))
        mc = benchmark.pedantic(maj_at_k_mc, args=(answers[:sub], correct[:sub], kk), rounds=1)
        exact = _C.maj_at_k(answers[:sub], correct[:sub].astype(np.uint8), kk, 0, 0, False, 0).mean(axis=0)
        assert np.abs(mc - exact).max() < 0.1  # MC agrees with the exact value (1,000 draws)


@pytest.mark.parametrize("P", [1_000, 10_000] if not CI else [500])
def test_maj_at_k_scaling_problems(benchmark, P):
    answers, correct = realistic_answers(P, 64, seed=1)
    benchmark.group = "maj@k scaling in P (n=64, all k)"
    benchmark.extra_info.update(problems=P, n=64)
    benchmark.pedantic(_C.maj_at_k, args=(answers, correct.astype(np.uint8), np.arange(1, 65, dtype=np.int64),
                                          0, 0, False, 0), rounds=3)


@pytest.mark.parametrize("n", [64, 128, 256, 512] if not CI else [64])
def test_maj_at_k_scaling_n(benchmark, n):
    answers, correct = realistic_answers(100, n, seed=2)
    benchmark.group = "maj@k scaling in n (P=100, all k)"
    benchmark.extra_info.update(problems=100, n=n)
    benchmark.pedantic(_C.maj_at_k, args=(answers, correct.astype(np.uint8), np.arange(1, n + 1, dtype=np.int64),
                                          0, 0, False, 0), rounds=1)


# ---- maj@k at large n (issue 14): one problem, every k, one thread ------------------------------------------

def _structure(name: str, n: int) -> list[int]:
    """Cluster sizes (the correct one first) of one problem with n samples."""
    if name == "realistic 40/30/10 + singletons":
        big = [int(0.4 * n), int(0.3 * n), int(0.1 * n)]
        return big + [1] * (n - sum(big))
    if name == "3-way near tie":
        return [n // 3 + 10, n // 3, n - 2 * (n // 3) - 10]
    if name == "4-way near tie":
        return [n // 4 + 5, n // 4, n // 4, n - 3 * (n // 4) - 5]
    return [2] * (n // 2)  # "flat: n/2 answers of 2 samples" (the correct one among them)


LARGE_N = [1000] if CI else [1000, 4000, 10000]
STRUCTURES = ["realistic 40/30/10 + singletons", "3-way near tie", "4-way near tie", "flat: n/2 answers of 2"]


@pytest.mark.parametrize("n", LARGE_N)
@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("which", ["all k", "k = 1", "k = n/2"])
def test_maj_at_k_large_n(benchmark, n, structure, which):
    if structure.startswith("flat") and n > 2000 and which == "all k":
        pytest.skip("flat spreads of many equal answers cost ~n^3: minutes at n = 4,000 and beyond (README)")
    sizes = np.array([_structure(structure, n)], dtype=np.int64)
    correct = np.zeros_like(sizes, dtype=np.uint8)
    correct[0, 0] = 1
    ks = {"all k": np.arange(1, n + 1), "k = 1": np.array([1]), "k = n/2": np.array([n // 2])}[which]
    benchmark.group = f"maj@k one problem, {which} (one thread)"
    benchmark.extra_info.update(n=n, structure=structure, ks=len(ks))
    benchmark.pedantic(_C.maj_at_k_counts, args=(sizes, correct, None, ks.astype(np.int64), 0, 0, False, 1),
                       rounds=1 if n >= 4000 else 3)
