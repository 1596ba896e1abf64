"""The source paper's procedure (arXiv 2601.01332), kept exactly as ``method="sigmoid"``.

Its projection: the monotone (running-maximum) filter, then a least-squares exponential saturation
A(x) = a·(1 - exp(-b·x)) + c over normalised training FLOPs x = F / budget, read at x = 1. Its TTC curve: a
sigmoid A_K = L / (1 + exp(-s·(K - x0))) through the accuracies at K = 1, 2, 4, and K* the smallest K whose
fitted accuracy reaches the projection.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SIGMOID_KS = (1, 2, 4)
SIGMOID_K_MAX = 1024


def saturation(x: np.ndarray | float, a: float, b: float, c: float) -> np.ndarray | float:
    """A(x) = a·(1 - exp(-b·x)) + c, x = training FLOPs / budget."""
    return a * -np.expm1(-b * np.asarray(x, dtype=np.float64)) + c


@dataclass(frozen=True)
class SaturationFit:
    """Exponential-saturation fit on normalised FLOPs; ``projected`` = A(1) clipped to [0, 1] and its stderr;
    ``chi2`` = sum of squared residuals in units of the points' standard errors (nan for an unweighted fit)."""

    a: float
    b: float
    c: float
    cov: np.ndarray
    projected: float
    projected_stderr: float
    chi2: float = math.nan


_SAT_BOUNDS = ([0.0, 1e-4, -1.0], [2.0, 1e4, 1.0])
_SAT_LOG_B = np.linspace(math.log(1e-3), math.log(1e3), 61)  # starting-value grid for b


def _saturation_jac(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    e = np.exp(-b * x)
    return np.stack([1.0 - e, a * x * e, np.ones_like(x)], axis=1)


def _saturation_start(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Starting values: for each b on a log grid the model is linear in (a, c); weighted least squares for
    (a, c) at every b, keep the b with the smallest residual (a variable-projection profile)."""
    b = np.exp(_SAT_LOG_B)[:, None]                       # (G, 1)
    phi = -np.expm1(-b * x[None, :])                      # (G, n)
    sw = w[None, :]
    s00, s01, s11 = (sw * phi * phi).sum(1), (sw * phi).sum(1), sw.sum(1)
    t0, t1 = (sw * phi * y).sum(1), (sw * y).sum(1)
    det = s00 * s11 - s01 * s01
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.clip((t0 * s11 - t1 * s01) / det, _SAT_BOUNDS[0][0], _SAT_BOUNDS[1][0])
        c = np.clip((s00 * t1 - s01 * t0) / det, _SAT_BOUNDS[0][2], _SAT_BOUNDS[1][2])
    a, c = np.nan_to_num(a), np.nan_to_num(c)
    r = a[:, None] * phi + c[:, None] - y[None, :]
    sse = (sw * r * r).sum(1)
    i = int(np.argmin(sse))
    return np.array([a[i], float(b[i, 0]), c[i]])


def fit_saturation(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
                   sigma: Sequence[float] | np.ndarray | None = None) -> SaturationFit | None:
    """Least-squares fit of :func:`saturation` to accuracies ``y`` at normalised FLOPs ``x`` (1-D, same length).

    ``scipy.optimize.curve_fit`` (trust-region reflective, analytic Jacobian) within the bounds a in [0, 2],
    b in [1e-4, 1e4], c in [-1, 1], started from the best point of a profile over b (log grid 1e-3..1e3, the
    model is linear in a and c for fixed b). ``sigma`` (per-point standard errors, floored at 1e-4) weights the
    fit and makes the covariance absolute; without it the covariance is scaled by the residuals (no residual
    degrees of freedom: the curve interpolates the points, projected stderr reported as 0).
    Returns None when scipy cannot fit.
    """
    from scipy.optimize import curve_fit

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(f"x and y must be 1-D of the same length >= 2, got shapes {x.shape} and {y.shape}")
    sig = None if sigma is None else np.maximum(np.asarray(sigma, dtype=np.float64), 1e-4)
    w = np.ones_like(x) if sig is None else 1.0 / sig ** 2
    p0 = _saturation_start(x, y, w)
    lo, hi = np.array(_SAT_BOUNDS[0]), np.array(_SAT_BOUNDS[1])
    p0 = np.clip(p0, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            popt, cov = curve_fit(saturation, x, y, p0=p0, sigma=sig, absolute_sigma=sig is not None,
                                  bounds=_SAT_BOUNDS, jac=_saturation_jac, maxfev=2000)
    except (RuntimeError, ValueError):
        return None
    a, b, c = (float(v) for v in popt)
    proj = float(np.clip(saturation(1.0, a, b, c), 0.0, 1.0))
    grad = np.array([-math.expm1(-b), a * math.exp(-b), 1.0])  # d A(1) / d(a, b, c)
    var = float(grad @ cov @ grad) if np.all(np.isfinite(cov)) else float("nan")
    se = math.sqrt(var) if math.isfinite(var) and var > 0 else 0.0
    chi2 = math.nan if sig is None else float(np.sum(((saturation(x, a, b, c) - y) / sig) ** 2))
    return SaturationFit(a, b, c, cov, proj, se, chi2)


def monotone_mask(values: Sequence[float]) -> np.ndarray:
    """True where a value is >= the maximum of all earlier finite values (the paper's monotone filter).

    Non-finite values are never kept and do not move the running maximum.
    """
    v = np.asarray(values, dtype=np.float64)
    keep = np.zeros(v.shape, dtype=bool)
    best = -math.inf
    for i, x in enumerate(v):
        if math.isfinite(x) and x >= best:
            keep[i] = True
            best = x
    return keep


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
