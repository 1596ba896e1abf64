"""pass@K beyond n: ttc_fast.extrapolate against the source paper's sigmoid over K = 1, 2, 4 and passk-inference's
``fit_kernel`` (a grid NPMLE of the solve-rate law; its pass@K is 1 - sum_g w_g (1 - q_g)^K), side by side.

Run:  python -m pytest benchmarks/bench_extrapolate.py --benchmark-only -p no:cacheprovider
      python -m pytest benchmarks/bench_extrapolate.py -m slow -s -p no:cacheprovider   (the accuracy table)

Timing: one fit at 1,000 problems x n = 16, K = 64. Accuracy (slow): per shape of tests/_extrap_sim.py, seeded
runs of P problems x n = 16 with known truth at K = 4n = 64: bias and RMSE of each method, coverage and width of
ttc_fast's 95% interval (the other two give no interval). fit_kernel takes seconds per fit, so it gets fewer seeds.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

import ttc_fast

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
import _extrap_sim as sim  # noqa: E402

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
N, K = 16, 64


def kernel_pass_at_k(c: np.ndarray, n: int, k: int) -> float:
    """passk-inference's working model for one checkpoint: fit_kernel on (c, c), the law of q (grid with 0)."""
    import passk_inference as pk

    fit = pk.fit_kernel(c, n, c, n)
    w = np.asarray(fit["W"]).sum(axis=0)
    return float(1.0 - (w * (1.0 - np.asarray(fit["qg"])) ** k).sum())


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(0)
    shape = sim.SHAPES["many never solved: Beta(0.3, 2)"]
    return rng.binomial(N, sim.draw(shape, 300 if CI else 1000, rng))


@pytest.mark.parametrize("impl", ["ttc_fast", "sigmoid_paper", "passk_fit_kernel"])
def test_extrapolate_time(benchmark, counts, impl):
    benchmark.group = f"pass@{K} from n = {N}, {len(counts)} problems"
    truth = sim.truth(sim.SHAPES["many never solved: Beta(0.3, 2)"], K)
    if impl == "ttc_fast":
        r = benchmark.pedantic(lambda: ttc_fast.extrapolate("pass", [K], num_samples=N, num_correct=counts),
                               rounds=3, warmup_rounds=1)
        est = float(r.mean[0])
        benchmark.extra_info.update(low=float(r.low[0]), high=float(r.high[0]))
    elif impl == "sigmoid_paper":
        est = benchmark.pedantic(lambda: sim.sigmoid_extrapolation(counts, N, K), rounds=3, warmup_rounds=1)
    else:
        pytest.importorskip("passk_inference", reason="passk-inference not installed (the 'bench' extra)")
        est = benchmark.pedantic(lambda: kernel_pass_at_k(counts, N, K), rounds=1)
    benchmark.extra_info.update(estimate=est, truth=truth, error=est - truth)


@pytest.mark.slow
def test_accuracy_table():
    try:
        import passk_inference  # noqa: F401
        have_pk = True
    except ImportError:
        have_pk = False
        print("passk-inference not installed: its column is left out")
    seeds, pk_seeds = (20, 2) if CI else (100, 5)
    rows = []
    for P in (300, 1000):
        for name, shape in {**sim.SHAPES, **sim.HARD_SHAPES}.items():
            t = sim.truth(shape, K)
            ours, sig, ker, cover, width = [], [], [], [], []
            for s in range(seeds):
                r, _, c = sim.run(shape, P, N, K, s)
                ours.append(r.mean[2] - t)
                cover.append(r.low[2] <= t <= r.high[2])
                width.append(r.high[2] - r.low[2])
                sig.append(sim.sigmoid_extrapolation(c, N, K) - t)
                if have_pk and s < pk_seeds:
                    ker.append(kernel_pass_at_k(c, N, K) - t)
            fmt = lambda e: f"{100 * np.nanmean(e):+.1f} / {100 * np.sqrt(np.nanmean(np.square(e))):.1f}"  # noqa
            rows.append(f"| {P} | {name} | {100 * t:.1f} | {fmt(ours)} | {100 * np.mean(cover):.0f}% | "
                        f"{100 * np.mean(width):.1f} | {fmt(sig)} | {fmt(ker) if ker else '-'} |")
    print("\n| P | shape | truth pass@64 % | ttc_fast bias / RMSE (pts) | coverage | width (pts) | "
          "sigmoid bias / RMSE | fit_kernel bias / RMSE |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
