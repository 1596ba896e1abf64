"""Paired comparison: ttc_fast.compare against passk-inference's compare, side by side in one run.

Run:  python -m pytest benchmarks/bench_compare.py --benchmark-only -p no:cacheprovider   (CI=true shrinks it)

The case of issue 14: 2,000 prompts x 64 samples, every k = 1..64, 4,000 bootstrap draws, pass@k (the only metric
passk-inference has); ttc_fast's maj@k and best-of-k comparisons at the same size are timed too (no baseline).
passk-inference (``pip install passk-inference==0.3.1``, the ``bench`` extra) is imported only here; without it
its rows are skipped with a message.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import ttc_fast

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
P, N, DRAWS = (400, 32, 1000) if CI else (2000, 64, 4000)


@pytest.fixture(scope="module")
def paired():
    rng = np.random.default_rng(0)
    p = rng.beta(0.5, 1.5, P)
    q = np.clip(p + rng.normal(0.02, 0.05, P), 0, 1)
    ans_a = np.where(rng.random((P, N)) < q[:, None], 0, rng.integers(1, 6, (P, N)))
    ans_b = np.where(rng.random((P, N)) < p[:, None], 0, rng.integers(1, 6, (P, N)))
    return {"ans_a": ans_a, "ans_b": ans_b, "c_a": (ans_a == 0).sum(1), "c_b": (ans_b == 0).sum(1),
            "s_a": rng.random((P, N)) + (ans_a == 0), "s_b": rng.random((P, N)) + (ans_b == 0)}


@pytest.mark.parametrize("impl", ["ttc_fast_bootstrap", "ttc_fast_normal", "passk_inference"])
def test_compare_pass(benchmark, paired, impl):
    benchmark.group = f"compare pass@k, {P} prompts x {N} samples, all k, {DRAWS} draws"
    benchmark.extra_info.update(problems=P, n=N, ks=N, draws=DRAWS)
    c_a, c_b = paired["c_a"], paired["c_b"]
    a = {"num_samples": np.full(P, N), "num_correct": c_a}
    b = {"num_samples": np.full(P, N), "num_correct": c_b}
    if impl.startswith("ttc_fast"):
        method = impl.split("_")[-1]
        res = benchmark.pedantic(lambda: ttc_fast.compare(a, b, metric="pass", method=method, bootstrap=DRAWS),
                                 rounds=5, warmup_rounds=1)
        benchmark.extra_info["band_multiplier"] = res.critical_value
    else:
        pk = pytest.importorskip("passk_inference", reason="passk-inference not installed (pip install "
                                                           "passk-inference==0.3.1, or the 'bench' extra)")
        out = benchmark.pedantic(lambda: pk.compare(c_b, N, c_a, N, bootstrap=DRAWS), rounds=3, warmup_rounds=1)
        benchmark.extra_info["band_multiplier"] = out["critical_value"]
        ours = ttc_fast.compare(a, b, metric="pass", method="normal", bootstrap=DRAWS)
        np.testing.assert_allclose(np.array(out["mean"]), ours.mean, atol=1e-12)  # same differences (rl - base)
        np.testing.assert_allclose(np.array(out["se"]), ours.stderr, atol=1e-12)


@pytest.mark.parametrize("metric", ["maj", "bok"])
def test_compare_maj_bok(benchmark, paired, metric):
    benchmark.group = f"compare maj/bok, {P} prompts x {N} samples, all k, {DRAWS} draws"
    benchmark.extra_info.update(problems=P, n=N, ks=N, draws=DRAWS)
    if metric == "maj":
        a = {"answers": paired["ans_a"], "correct": paired["ans_a"] == 0}
        b = {"answers": paired["ans_b"], "correct": paired["ans_b"] == 0}
    else:
        a = {"scores": paired["s_a"], "correct": paired["ans_a"] == 0}
        b = {"scores": paired["s_b"], "correct": paired["ans_b"] == 0}
    benchmark.pedantic(lambda: ttc_fast.compare(a, b, metric=metric, bootstrap=DRAWS), rounds=3, warmup_rounds=1)
