"""One selector update with 5,000 problems x 64 samples (maj strategy, every K from 1 to 64), side by side.

impl:
  ttc_fast       TTCEarlyStopping.update(method="exact"): exact maj@K for K = 1..64 with per-problem stderr
                 (C++ estimator), saturation fit over the earlier checkpoints, K*, FLOPs condition, patience
  numpy_mc       what a user would write instead: Monte Carlo maj@K (benchmarks/bench_estimators.maj_at_k_mc, a
                 numpy loop over problems, DRAWS=16 random K-subsets per problem) for K = 1, 2, 4, ..., 64 only
  numpy_first_k  the harness habit: vote over the first K samples (one biased draw), K = 1, 2, 4, ..., 64

Run: python -m pytest benchmarks/bench_selector.py --benchmark-columns=median,rounds   (CI=true shrinks P)
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _data_estimators import realistic_answers  # noqa: E402
from bench_estimators import maj_at_k_mc  # noqa: E402  (the estimators' Monte Carlo baseline)

from ttc_fast.selector import TTCEarlyStopping  # noqa: E402

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
P, N = (500, 64) if CI else (5000, 64)
DRAWS = 16
POW2 = [1, 2, 4, 8, 16, 32, 64]
BUDGET = 1e21


@pytest.fixture(scope="module")
def data():
    return realistic_answers(P, N, seed=0)


def _stopper():
    st = TTCEarlyStopping(BUDGET, strategy="maj", patience=10)
    for i, (x, a) in enumerate([(0.05, 0.2), (0.1, 0.3), (0.15, 0.36)]):  # earlier checkpoints: the fit has data
        st.update(step=i + 1, train_flops=x * BUDGET, accuracy={1: a}, accuracy_stderr={1: 0.01})
    return st


def _vote_accuracy(sub_answers: np.ndarray, sub_correct: np.ndarray) -> np.ndarray:
    """Plurality vote per row of (..., K) ids; ties to the smallest id; abstentions (-1) do not vote."""
    C = int(sub_answers.max()) + 2
    onehot = (sub_answers[..., None] == np.arange(C)).sum(axis=-2)  # (..., C)
    winner = onehot.argmax(axis=-1)
    has_vote = onehot.max(axis=-1) > 0
    right = np.take_along_axis(sub_correct, np.argmax(sub_answers == winner[..., None], axis=-1)[..., None],
                               axis=-1)[..., 0]
    return (has_vote & right & (sub_answers == winner[..., None]).any(-1)).astype(np.float64)


def maj_first_k(answers: np.ndarray, correct: np.ndarray, ks) -> np.ndarray:
    return np.array([_vote_accuracy(answers[:, :k], correct[:, :k]).mean() for k in ks])


@pytest.mark.parametrize("impl", ["ttc_fast", "numpy_mc", "numpy_first_k"])
def test_selector_update(benchmark, data, impl):
    answers, correct = data
    benchmark.group = f"selector update, P={P} n={N}, maj"
    benchmark.extra_info["problems_x_samples"] = P * N
    if impl == "ttc_fast":
        d = benchmark.pedantic(lambda st: st.update(step=10, train_flops=0.2 * BUDGET, answers=answers,
                                                    correct=correct),
                               setup=lambda: ((_stopper(),), {}), rounds=7)
        assert d.step == 10
    elif impl == "numpy_mc":
        benchmark.pedantic(maj_at_k_mc, args=(answers, correct, POW2), kwargs={"draws": DRAWS}, rounds=1)
    else:
        benchmark.pedantic(maj_first_k, args=(answers, correct, POW2), rounds=7)
