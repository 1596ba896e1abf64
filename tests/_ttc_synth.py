"""Synthetic training runs with known ground truth for the selector tests (seeded, no I/O).

Ground truth: the mean single-sample accuracy follows A(x) = a·(1 - exp(-b·x)) + c over normalised training
FLOPs x = F / budget; problem i solves a sample with probability p_i(x) = w_i·A(x) (weights w_i with mean 1,
so the mean of p_i is exactly A(x)). A wrong sample answers cluster 1 (probability ``wrong_top``) or one of
clusters 2..5; the correct answer is cluster 0.
"""
from __future__ import annotations

import math

import numpy as np

TRUE = dict(a=0.6, b=4.0, c=0.0)
BUDGET = 1e20


def acc_curve(x, a=TRUE["a"], b=TRUE["b"], c=TRUE["c"]):
    return a * (1.0 - np.exp(-b * np.asarray(x, dtype=np.float64))) + c


def weights(num_problems: int) -> np.ndarray:
    w = np.where(np.arange(num_problems) % 2 == 0, 0.6, 1.4)
    return w


def true_pass_at_k(p: np.ndarray, k: int) -> float:
    """Ground-truth pass@k of the model: mean_i 1 - (1 - p_i)^k."""
    return float(np.mean(1.0 - (1.0 - p) ** k))


def sample_checkpoint(p: np.ndarray, n: int, rng: np.random.Generator, wrong_top: float = 0.6):
    """answers int64 (P, n) (0 = correct cluster), correct bool (P, n)."""
    P = p.shape[0]
    correct = rng.random((P, n)) < p[:, None]
    wrong = np.where(rng.random((P, n)) < wrong_top, 1, rng.integers(2, 6, size=(P, n)))
    answers = np.where(correct, 0, wrong).astype(np.int64)
    return answers, correct


def run_records(num_problems: int, n: int, xs, seed: int, budget: float = BUDGET, **kw):
    """Eval-log records (dicts, the format of docs/formats.md) of a synthetic run evaluated at normalised FLOPs xs."""
    rng = np.random.default_rng(seed)
    w = weights(num_problems)
    recs = []
    for i, x in enumerate(xs):
        p = np.clip(w * acc_curve(x, **kw), 0.0, 1.0)
        answers, correct = sample_checkpoint(p, n, rng)
        recs.append({"step": 1000 * (i + 1), "train_flops": float(x * budget),
                     "problems": [{"id": f"p{j}", "answers": answers[j].tolist(), "correct": correct[j].tolist(),
                                   "scores": None} for j in range(num_problems)]})
    return recs


def exact_records(num_problems: int, xs, ks=(1, 2, 4, 8, 16, 32), budget: float = BUDGET, **kw):
    """Records with the ground-truth pass@K precomputed (no sampling noise)."""
    w = weights(num_problems)
    recs = []
    for i, x in enumerate(xs):
        p = np.clip(w * acc_curve(x, **kw), 0.0, 1.0)
        recs.append({"step": 1000 * (i + 1), "train_flops": float(x * budget),
                     "accuracy": {"pass": {str(k): true_pass_at_k(p, k) for k in ks}}})
    return recs


def comb_pass_at_k(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)
