"""The TTC curve of one checkpoint: accuracy at every K (exact estimators), and the paper's sigmoid over K."""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

SIGMOID_KS = (1, 2, 4)
SIGMOID_K_MAX = 1024


def sigmoid(k: np.ndarray | float, L: float, s: float, x0: float) -> np.ndarray | float:
    """A_K = L / (1 + exp(-s·(K - x0)))."""
    return L / (1.0 + np.exp(-s * (np.asarray(k, dtype=np.float64) - x0)))


_SIG_BOUNDS = ([0.0, 1e-3, -50.0], [1.0, 50.0, 50.0])


def fit_sigmoid(ks: Sequence[float], acc: Sequence[float]) -> tuple[float, float, float] | None:
    """Least-squares fit of :func:`sigmoid` to accuracies ``acc`` at ``ks`` (the paper: K = 1, 2, 4).

    Starts: L0 in {max(acc), (1 + max(acc)) / 2, 1}, s0 = 1, x0 = 0 (best residual wins). None on failure.
    """
    from scipy.optimize import curve_fit

    k = np.asarray(ks, dtype=np.float64)
    y = np.asarray(acc, dtype=np.float64)
    if k.size < 3 or not np.all(np.isfinite(y)):
        return None
    best = None
    ymax = float(y.max())
    for L0 in (ymax, 0.5 * (1.0 + ymax), 1.0):
        p0 = np.clip([L0, 1.0, 0.0], np.array(_SIG_BOUNDS[0]) + 1e-9, np.array(_SIG_BOUNDS[1]) - 1e-9)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                popt, _ = curve_fit(sigmoid, k, y, p0=p0, bounds=_SIG_BOUNDS, maxfev=5000)
        except (RuntimeError, ValueError):
            continue
        r = sigmoid(k, *popt) - y
        sse = float(r @ r)
        if best is None or sse < best[0] - 1e-15:
            best = (sse, popt)
    return None if best is None else tuple(float(v) for v in best[1])  # type: ignore[return-value]


def sigmoid_k_star(params: tuple[float, float, float], target: float, k_max: int) -> int | None:
    """Smallest integer K in [1, k_max] with sigmoid(K) >= target, or None (closed form, no scan)."""
    L, s, x0 = params
    if not math.isfinite(target):
        return None
    if sigmoid(1.0, L, s, x0) >= target:
        return 1
    if target >= L:
        return None
    k = x0 - math.log(L / target - 1.0) / s
    kk = max(1, math.ceil(k))
    # the closed form can land one off from rounding: settle on the exact boundary
    while kk > 1 and sigmoid(kk - 1, L, s, x0) >= target:
        kk -= 1
    while kk <= k_max and sigmoid(kk, L, s, x0) < target:
        kk += 1
    return kk if kk <= k_max else None



def as_answers(answers: Any) -> np.ndarray:
    if hasattr(answers, "detach"):  # torch tensor
        answers = answers.detach().cpu().numpy()
    arr = np.asarray(answers) if not isinstance(answers, np.ndarray) else answers
    if arr.dtype == object or arr.dtype.kind in "US":
        from ttc_fast.estimators import cluster_answers
        return np.asarray(cluster_answers(answers), dtype=np.int64)
    if arr.dtype.kind not in "iub":
        raise TypeError(f"answers must be integer cluster ids (P, N) or nested strings, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def ttc_curve(strategy: str, answers: np.ndarray | None, correct: np.ndarray, scores: np.ndarray | None,
               ks: Sequence[int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and stderr of the strategy's accuracy at each K in ``ks`` (unbiased estimators): the stderr over
    problems, and for "wmaj" also its Monte Carlo error (the two added in quadrature)."""
    from ttc_fast import estimators as est

    ks = list(ks)
    if strategy == "pass":
        n = correct.shape[1] if answers is None else (answers != -2).sum(axis=1)
        n = np.broadcast_to(np.asarray(n, dtype=np.int64), (correct.shape[0],))
        valid = np.ones_like(correct) if answers is None else answers != -2
        c = (correct & valid).sum(axis=1).astype(np.int64)
        res = est.pass_at_k(n, c, ks)
    elif strategy == "maj":
        res = est.maj_at_k(answers, correct, ks)
    elif strategy == "bok":
        res = est.best_of_k(scores, correct, ks)
    else:
        res = est.weighted_maj_at_k(answers, scores, correct, ks, seed=seed)
    se = np.asarray(res.stderr, dtype=np.float64)
    if res.mc_stderr is not None:
        se = np.sqrt(se ** 2 + np.asarray(res.mc_stderr, dtype=np.float64) ** 2)
    return np.asarray(res.mean, dtype=np.float64), se

