"""pass@K beyond n: ttc_fast.extrapolate's three solve-rate models (model="auto" (default), "beta",
"nonparametric") against the source paper's sigmoid over K = 1, 2, 4 and passk-inference's ``fit_kernel`` (a grid
NPMLE of the solve-rate law; its pass@K is 1 - sum_g w_g (1 - q_g)^K), side by side.

Run:  python -m pytest benchmarks/bench_extrapolate.py --benchmark-only -p no:cacheprovider
      OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/bench_extrapolate.py -m slow -s -p no:cacheprovider
      (the accuracy table)

Timing: one fit at 1,000 problems x n = 16, K = 64. Accuracy (slow): per shape of tests/_extrap_sim.py, seeded
runs of P problems x n = 16 with known truth at K = 4n = 64: bias and RMSE of each method, coverage and width of
ttc_fast's 95% intervals (the other two give none). "auto" is computed from the beta and nonparametric fits of the
same run (the beta value, the hull of the two intervals; checked against extrapolate(model="auto") on the first
seed of each row). fit_kernel takes seconds per fit, so it gets fewer seeds.
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


@pytest.mark.parametrize("impl", ["ttc_fast_auto", "ttc_fast_beta", "ttc_fast_nonparametric", "sigmoid_paper",
                                  "passk_fit_kernel"])
def test_extrapolate_time(benchmark, counts, impl):
    benchmark.group = f"pass@{K} from n = {N}, {len(counts)} problems"
    truth = sim.truth(sim.SHAPES["many never solved: Beta(0.3, 2)"], K)
    if impl.startswith("ttc_fast"):
        model = impl.split("_", 2)[2]
        r = benchmark.pedantic(lambda: ttc_fast.extrapolate("pass", [K], num_samples=N, num_correct=counts,
                                                            model=model), rounds=3, warmup_rounds=1)
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
    import time

    try:
        import passk_inference  # noqa: F401
        have_pk = True
    except ImportError:
        have_pk = False
        print("passk-inference not installed: its column is left out")
    seeds = int(os.environ.get("EXTRAP_SEEDS", 20 if CI else 100))
    pk_seeds = int(os.environ.get("EXTRAP_PK_SEEDS", 2 if CI else 5))  # 0: leave fit_kernel out (25-75 s a fit)
    rows, times = [], {"beta": [], "nonparametric": []}
    fmt = lambda e: f"{100 * np.nanmean(e):+.1f} / {100 * np.sqrt(np.nanmean(np.square(e))):.1f}"  # noqa: E731
    for P in (300, 1000):
        for name, shape in {**sim.SHAPES, **sim.HARD_SHAPES}.items():
            t = sim.truth(shape, K)
            err = {m: [] for m in ("auto", "beta", "nonparametric", "sigmoid", "kernel")}
            cover = {m: [] for m in ("auto", "beta", "nonparametric")}
            width = {m: [] for m in ("auto", "beta", "nonparametric")}
            for s in range(seeds):
                res = {}
                for m in ("beta", "nonparametric"):
                    t0 = time.process_time()
                    res[m], _, c = sim.run(shape, P, N, K, s, m, ks=[K])
                    times[m].append((P, time.process_time() - t0))
                b, q = res["beta"], res["nonparametric"]
                res["auto"] = (b.mean[0], min(b.low[0], q.low[0]), max(b.high[0], q.high[0]))
                if s == 0:
                    a = ttc_fast.extrapolate("pass", [K], num_samples=N, num_correct=c)
                    assert (a.mean[0], a.low[0], a.high[0]) == pytest.approx(res["auto"], abs=1e-9)
                for m in ("beta", "nonparametric"):
                    res[m] = (res[m].mean[0], res[m].low[0], res[m].high[0])
                for m, (mu, lo, hi) in res.items():
                    err[m].append(mu - t)
                    cover[m].append(lo <= t <= hi)
                    width[m].append(hi - lo)
                err["sigmoid"].append(sim.sigmoid_extrapolation(c, N, K) - t)
                if have_pk and s < pk_seeds:
                    err["kernel"].append(kernel_pass_at_k(c, N, K) - t)
            cells = [f"{fmt(err[m])} | {100 * np.mean(cover[m]):.0f}% | {100 * np.mean(width[m]):.1f}"
                     for m in ("auto", "beta", "nonparametric")]
            rows.append(f"| {P} | {name} | {100 * t:.1f} | " + " | ".join(cells) +
                        f" | {fmt(err['sigmoid'])} | {fmt(err['kernel']) if err['kernel'] else '-'} |")
    print(f"\n{seeds} seeds per row; bias / RMSE, coverage and width of the 95% interval in points of pass@{K}")
    print("\n| P | shape | truth pass@64 % | auto bias / RMSE | cov | width | beta bias / RMSE | cov | width | "
          "nonparametric bias / RMSE | cov | width | sigmoid bias / RMSE | fit_kernel bias / RMSE |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    for m, v in times.items():
        for P in (300, 1000):
            tt = np.array([x for p_, x in v if p_ == P])
            print(f"CPU time per fit, {m}, {P} problems: median {np.median(tt):.3f} s, 95th pct "
                  f"{np.quantile(tt, 0.95):.3f} s, max {tt.max():.3f} s")
