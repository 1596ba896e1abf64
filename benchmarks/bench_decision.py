"""Decision quality of the stop rules, side by side on the same runs (ttc_fast/decision_bench).

impl:
  exact          ttc_fast's TTCEarlyStopping (default settings but patience 3, confidence 0.95)
  sigmoid        the source paper's procedure (method="sigmoid")
  naive          Lightning-style patience on single-sample accuracy (NaiveEarlyStopping)
  known_target   a rule that knows the true final accuracy (v1's per-K 95% gate, patience 3): the projection's
                 upper limit
  oracle         the best stop in hindsight

Each benchmark runs one method over every synthetic family x strategy x seed (and the real curves) and reports,
in ``extra_info``, the false-stop rate, the mean saving and the share of the oracle's saving; the time is the
method's cost over the whole suite. The full tables (``ttc-fast bench-decision --seeds 30 --workers 2 --calibration``) are in
BENCHMARKS.md. Run: ``python -m pytest benchmarks/bench_decision.py --benchmark-columns=median,rounds``
(CI=true: 2 seeds, 100 problems, 20 checkpoints).
"""
from __future__ import annotations

import os

import pytest

from ttc_fast.decision_bench import METHODS, load_real_curves, run_real, run_synthetic, summarise

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SEEDS = range(2) if CI else range(5)
SIZES = dict(num_problems=100, num_checkpoints=20, population=300) if CI else {}


@pytest.fixture(scope="module")
def curves():
    return load_real_curves(("rlx", "tinyllama")) if CI else load_real_curves()


@pytest.mark.parametrize("impl", METHODS)
def test_decision_quality(benchmark, impl, curves):
    def run():
        return run_synthetic(seeds=SEEDS, methods=[impl], **SIZES) + run_real(methods=[impl], curves=curves)
    outcomes = benchmark.pedantic(run, rounds=1, iterations=1)
    for row in summarise(outcomes, by="suite"):
        key = row.suite
        benchmark.extra_info[f"{key}_runs"] = row.runs
        benchmark.extra_info[f"{key}_false_stop_rate"] = round(row.false_stop_rate, 4)
        benchmark.extra_info[f"{key}_mean_saving"] = round(row.mean_saving, 4)
        benchmark.extra_info[f"{key}_share_of_oracle"] = round(row.share_of_oracle, 4)
    assert outcomes
