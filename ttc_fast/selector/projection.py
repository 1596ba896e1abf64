"""The final single-sample accuracy projected from the learning curve so far, with an honest uncertainty.

Input: single-sample accuracies ``y_i`` with standard errors ``s_i`` at normalised training compute
``x_i = F_i / budget`` (the budget is x = 1). Output: a :class:`Projection`, the predictive distribution of the
accuracy at x = 1 on [0, 1]. The method (docs/selector.md has the derivation and the measurements):

0. **The scale**: the fit is on the logit scale, ``logit(y_i)`` with stderr ``s_i / (y_i (1 - y_i))`` (y clipped
   to [0.001, 0.999]): an accuracy curve bends towards 100% instead of crossing it, so a trend that would run
   past 100% on the accuracy scale projects a final accuracy below it, not at it. Priors are stated in accuracy
   and converted at the curve's level (``1 / (l (1 - l))`` logits per unit, the level of the last 3 points held
   to [0.1, 0.9]).
1. **Curve families**, each linear in two coefficients given a shape parameter on a grid, written so that the
   intercept *is* the projection: ``y(x) = theta + beta·g(x)`` with ``g(1) = 0``, ``beta`` the change from the
   first point to the budget: ``flat``; ``power`` (a power law with an asymptote: an exponential saturation in
   *log* compute, and its linear-in-log limit); ``grow`` (x^c: linear and accelerating growth); ``exp`` (the
   paper's saturation in compute); ``logistic`` (a step in log compute: emergence, late blooming); ``step``
   (sharp steps starting after the last point, which explain only a flat history: the hazard, at rate
   ``step_hazard`` per e-fold of compute still to come, that a curve which has not risen yet still will).
   On top of every family, a **late gain**: with probability ``1 - x_last^gain_hazard`` (rate ``gain_hazard`` per
   e-fold of compute still to come) the accuracy at the budget is 0.5 logits higher than the curve says (a
   learning-rate cooldown or decay, a second data stage: gains that no curve so far foretells). It is added to
   the fitted mixture as a shifted copy of every component; it does not enter the fit or the backtests.
2. **Noise**: ``y_i ~ N(theta + beta·g(x_i), (kappa·s_i)^2 + tau^2)``, kappa in {0.5, 1} (the stated stderr may
   overstate the scatter between checkpoints), tau in {0, 0.5, 1, 2} x median(s_i) (jitter beyond the noise).
3. **Bayesian model averaging**: every (family, shape, kappa, tau) is a Gaussian linear model with closed-form
   posterior and marginal likelihood; weights prior x likelihood^0.8 (tempered, so that one grid point of a
   misspecified family cannot take all the weight); each component predicts theta with its posterior variance.
4. **Calibration on the curve's own past**: the projection from earlier prefixes predicts each later point; the
   mean squared standardised error, shrunk towards 1 (5 pseudo-observations), never below 1, scales the variance.
5. **The evaluation set's offset** from the population, common to every checkpoint, adds (0.7 x the last
   point's stderr)^2 (in logits, by the delta method); the 0.7 is set on the real curves.

On the 268 real curves of ttc_fast/data/curves (BigScience 1.3B, Tucano, TinyLlama, RL pass@k), projected from
the first third of each run on, the one-sided 80/90/95% bounds cover the final accuracy at 82.1/91.4/95.3%
(BENCHMARKS.md has every source). Cost: about 2.5 ms per projection of 30-40 points, plus one per new backtest.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Projection", "project", "FAMILIES", "STEP_HAZARD", "GAIN_HAZARD"]

FAMILIES = ("flat", "power", "grow", "exp", "logistic", "step", "gain")
_HAZARDS = (FAMILIES.index("step"), FAMILIES.index("gain"))   # the families the rule's guards add
# The fit is on the logit scale of accuracy (an accuracy curve bends towards 100% instead of crossing it); the
# priors are stated in accuracy and converted to logits at the curve's level (_basis), theta's and the jitter's
# without standard errors at the centre, 4 logits per unit of accuracy (logit'(0.5))
_LOGIT_PER_ACC = 4.0
_LEVEL_CLIP = 0.1
_SIGMA_THETA, _THETA0 = 1.0 * _LOGIT_PER_ACC, 0.0
_SIGMA_BETA = 0.3          # power, exp: the change from the first point to the budget (accuracy)
_SIGMA_STEP = 0.6          # logistic: the full step (a step still to come is judged by this prior alone)
_TAU_REL, _TAU_REL_PRIOR = (0.0, 0.5, 1.0, 2.0), (0.4, 0.3, 0.2, 0.1)
_TAU_ABS = tuple(t * _LOGIT_PER_ACC for t in (0.0025, 0.005, 0.01, 0.02, 0.04))
_NOISE_SCALE = (0.5, 1.0)       # the evaluation stderr may overstate the scatter (greedy evals: no sampling noise)
_POWER_A = np.geomspace(0.05, 4.0, 24)
_EXP_B = np.geomspace(0.05, 300.0, 24)
_GROW_C = np.geomspace(0.25, 3.0, 12)
# slopes a factor 1.35 apart: on a coarser grid (factor 2) one slope takes all the weight on a dense rising
# history and pins the plateau where that slope puts it, confidently and wrongly (false stops mid-rise)
_LOGI_S = np.geomspace(1.5, 12.0, 8)
_LOGI_N = 24
_LOGI_END = 0.0                          # last midpoint of the logistic family (ln x; 0 = the budget)
STEP_HAZARD = 0.3                        # steps still to come: rate per e-fold of compute left
GAIN_HAZARD = 0.3                        # a late gain on top of any curve: rate per e-fold of compute left
_GAIN = 0.5                              # its size (logits at the budget)
_STEP_ONSETS = 8
_STEP_S = np.array([8.0, 16.0])
_STEP_GAP = 0.3
_STEP_SIZES = np.array([0.15, 0.3, 0.45, 0.6, 0.75, 0.9])   # fractions of the room below 100%
_BACKTEST_PSEUDO = 5.0
_EDGE = 1e-3                             # accuracies are clipped to [_EDGE, 1 - _EDGE] before the logit
_OFFSET_SCALE = 0.7                      # share of the last stderr taken as the evaluation set's offset (calibrated on the real curves)
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(16)
_TEMPER = 0.8                            # likelihood tempering of the model weights (a misspecified family must not take all)


def _sig(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _logit(v: np.ndarray) -> np.ndarray:
    return np.log(v) - np.log1p(-v)



def _basis(x: np.ndarray, x1: float, xm: float, room: float, hazard_rate: float) -> dict[str, np.ndarray]:
    """Every component's basis ``g`` at ``x`` (``(G, len(x))``), prior weight, family index and the prior mean
    and sd of its coefficient beta; the grids depend on the first and last points used (``x1``, ``xm``) and,
    for steps still to come, on the room left below 100% (``room``)."""
    u, u1, um = np.log(x), math.log(x1), math.log(xm)
    power = (1.0 - x[None, :] ** -_POWER_A[:, None]) / (x1 ** -_POWER_A[:, None] - 1.0)
    grow = (x[None, :] ** _GROW_C[:, None] - 1.0) / (1.0 - x1 ** _GROW_C[:, None])   # x^c: linear, accelerating
    ex = (np.exp(-_EXP_B[:, None]) - np.exp(-_EXP_B[:, None] * x[None, :])) / \
        (np.exp(-_EXP_B * x1) - np.exp(-_EXP_B))[:, None]

    def steps(slopes: np.ndarray, onsets: np.ndarray) -> np.ndarray:
        s, u0 = (v.ravel() for v in np.meshgrid(slopes, onsets, indexing="ij"))
        return _sig(s[:, None] * (u[None, :] - u0[:, None])) - _sig(-s * u0)[:, None]

    past = steps(_LOGI_S, np.linspace(u1 - 0.5, _LOGI_END, _LOGI_N))
    # sharp steps starting after the last point (their tail at it is < 9% of the step): they explain only a
    # flat history, so a curve that has risen carries no such hazard
    future = steps(_STEP_S, np.linspace(min(um + _STEP_GAP, 0.0), 0.0, _STEP_ONSETS))
    level = min(max(1.0 - room, _EDGE), 1.0 - _EDGE)
    # the coefficients' priors, stated in accuracy, in logits at the curve's level (logit' there, the level
    # held to [0.1, 0.9]): a change of 0.3 is 1.2 logits at 50% and 3.3 at 10% or 90%
    lv = min(max(level, _LEVEL_CLIP), 1.0 - _LEVEL_CLIP)
    f = 1.0 / (lv * (1.0 - lv))
    # fixed step sizes (point priors), fractions of the room below 100% as logit gains from the level now, with
    # a spread of 7.5% of the room (in logits at the step's midpoint)
    new = np.clip(level + room * _STEP_SIZES, _EDGE, 1.0 - _EDGE)
    sizes = _logit(new) - _logit(np.array(level))
    mid = 0.5 * (level + new)
    size_sd = 0.075 * max(room, 0.01) / (mid * (1.0 - mid))
    hazard = -math.expm1(-hazard_rate * max(-um, 0.0))                      # P(a step still comes)
    parts = [  # (family, g block, prior mass, beta prior mean, beta prior sd)
        ("flat", np.zeros((1, x.size)), 1.0, 0.0, _SIGMA_BETA * f),
        ("power", np.vstack([power, (u / -u1)[None, :]]), 1.0, 0.0, _SIGMA_BETA * f),
        ("grow", grow, 1.0, 0.0, _SIGMA_BETA * f),
        ("exp", ex, 1.0, 0.0, _SIGMA_BETA * f),
        ("logistic", past, 1.0, 0.0, _SIGMA_STEP * f),
        ("step", np.repeat(future, sizes.size, axis=0), 0.0, np.tile(sizes, len(future)),
         np.tile(size_sd, len(future))),
    ]
    others = sum(m for _, _, m, _, _ in parts)
    blocks = [b for _, b, _, _, _ in parts]
    prior = np.concatenate([np.full(len(b), (hazard if name == "step" else (1.0 - hazard) * m / others) / len(b))
                            for name, b, m, _, _ in parts])
    fam = np.concatenate([np.full(len(b), FAMILIES.index(name)) for name, b, _, _, _ in parts])
    b_mean = np.concatenate([np.broadcast_to(bm, (len(b),)) for _, b, _, bm, _ in parts])
    b_sd = np.concatenate([np.broadcast_to(sd, (len(b),)) for _, b, _, _, sd in parts])
    return {"g": np.vstack(blocks), "prior": prior, "fam": fam, "b_mean": b_mean, "b_sd": b_sd}


@dataclass(frozen=True)
class Projection:
    """Predictive distribution of the single-sample accuracy at the budget: a mixture of Gaussians on the logit
    scale (``weights``, ``means``, ``sds``, float64 ``(C,)``, in logits), the accuracy their logistic image.

    ``mean``/``stderr``: its mean and standard deviation (inflation and jitter included); ``inflation``: the
    variance factor from the curve's own backtests (>= 1); ``family_weights``: posterior weight of each family;
    ``num_points``: points used.
    """

    mean: float
    stderr: float
    inflation: float
    num_points: int
    family_weights: dict[str, float]
    weights: np.ndarray = field(repr=False)
    means: np.ndarray = field(repr=False)
    sds: np.ndarray = field(repr=False)
    families: np.ndarray = field(repr=False)
    offset: float = 0.0
    _basis_args: tuple[float, float, float, float] = field(repr=False, default=(1.0, 1.0, 0.0, 0.0))
    _betas: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]
    _components: np.ndarray = field(repr=False, default=None)  # type: ignore[assignment]

    @staticmethod
    def _make(w: np.ndarray, mu: np.ndarray, sd: np.ndarray, fam: np.ndarray, beta: np.ndarray,
              comp: np.ndarray, inflation: float, num_points: int, basis_args: tuple, offset: float) -> Projection:
        order = np.argsort(w)                  # drop the lightest components, 1e-9 of the mass in all
        drop = order[np.cumsum(w[order]) < 1e-9 * w.sum()]
        if drop.size:
            keep = np.ones(w.size, bool)
            keep[drop] = False
            w, mu, sd, fam, beta, comp = (a[keep] for a in (w, mu, sd, fam, beta, comp))
        w = w / w.sum()
        fw = {name: float(w[fam == i].sum()) for i, name in enumerate(FAMILIES)}
        # moments of each component's accuracy sig(N(mu, sd^2)) by Gauss-Hermite quadrature
        sg = _sig(mu[:, None] + math.sqrt(2.0) * sd[:, None] * _GH_X[None, :])
        m1 = (sg @ _GH_W) / math.sqrt(math.pi)
        m2 = ((sg * sg) @ _GH_W) / math.sqrt(math.pi)
        mean = float(w @ m1)
        total = math.sqrt(max(float(w @ m2) - mean * mean, 0.0))
        return Projection(mean, total, inflation, num_points, fw, w, mu, sd, fam, offset, basis_args, beta, comp)

    def on_evaluation_set(self) -> Projection:
        """The accuracy at the budget *on the evaluation set itself* (its offset from the population, common to
        every checkpoint, left out): what a published final value on the same problems is compared with."""
        if self.offset == 0.0:
            return self
        sd = np.sqrt(np.maximum(self.sds ** 2 - self.offset ** 2, 1e-300))
        return Projection._make(self.weights, self.means, sd, self.families, self._betas, self._components,
                                self.inflation, self.num_points, self._basis_args, 0.0)

    def without_hazards(self) -> Projection:
        """The projection without the rule's two guards (the ``step`` and ``gain`` families dropped and the
        weights renormalised: exactly the projection with ``step_hazard=0, gain_hazard=0``). The calibrated
        statement about typical curves; the stop rule uses the projection with the hazards."""
        keep = ~np.isin(self.families, _HAZARDS)
        if keep.all() or not keep.any():
            return self
        args = self._basis_args[:3] + (0.0,)
        return Projection._make(self.weights[keep], self.means[keep], self.sds[keep], self.families[keep],
                                self._betas[keep], self._components[keep], self.inflation, self.num_points, args,
                                self.offset)

    def _raw_cdf(self, v: np.ndarray) -> np.ndarray:
        from scipy.special import ndtr
        v = np.asarray(v, dtype=np.float64)
        z = _logit(np.clip(v, 1e-300, 1.0 - 1e-16)).ravel()
        out = np.empty(z.size)
        # in blocks of 32 points, in place: the (points, components) block stays in cache (a short history has
        # thousands of components, and the stop rule asks for 16 points per K: 1.5x faster than one big array)
        for i in range(0, z.size, 32):
            t = np.subtract.outer(z[i:i + 32], self.means)
            t /= self.sds
            ndtr(t, out=t)
            out[i:i + 32] = t @ self.weights
        return out.reshape(v.shape)

    def cdf(self, v: float | np.ndarray) -> np.ndarray:
        """P(A <= v) for the accuracy A at the budget (0 below 0, 1 at and above 1)."""
        v = np.asarray(v, dtype=np.float64)
        return np.where(v >= 1.0, 1.0, np.where(v < 0.0, 0.0, self._raw_cdf(v)))

    def quantile(self, q: float) -> float:
        """The ``q``-quantile: the least v with ``cdf(v) >= q`` (bisection, to 1e-12)."""
        if not 0.0 < q < 1.0:
            raise ValueError(f"q must be in (0, 1), got {q!r}")
        lo, hi = 0.0, 1.0
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            if float(self.cdf(mid)) < q:
                lo = mid
            else:
                hi = mid
        return hi

    def curve(self, x: Sequence[float] | np.ndarray) -> np.ndarray:
        """The posterior mean learning curve at normalised compute ``x`` (for plots; a late gain, which has no
        shape, left out)."""
        x = np.asarray(x, dtype=np.float64)
        g = _basis(x, *self._basis_args)["g"]
        keep = self.families != FAMILIES.index("gain")
        comp, w = self._components[keep], self.weights[keep] / self.weights[keep].sum()
        lin = self.means[keep, None] + self._betas[keep, None] * g[comp]
        z = lin[..., None] + math.sqrt(2.0) * self.sds[keep, None, None] * _GH_X   # each component's sd at x = 1
        return np.sum(w[:, None] * (_sig(z) @ _GH_W), axis=0) / math.sqrt(math.pi)


def _mixture(x: np.ndarray, y: np.ndarray, s: np.ndarray, hazard_rate: float,
             at: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Posterior weights, the predictive of theta and the posterior of beta for every (component, tau): the
    closed-form Bayesian linear regression on each component's basis (``g_at``: the basis at ``at``)."""
    have = np.isfinite(s) & (s > 0)
    if have.any():
        med = float(np.median(s[have]))
        s = np.where(have, s, med)
        kap, tau = (v.ravel() for v in np.meshgrid(_NOISE_SCALE, np.array(_TAU_REL) * med, indexing="ij"))
        tau_prior = np.tile(_TAU_REL_PRIOR, len(_NOISE_SCALE)) / len(_NOISE_SCALE)
    else:
        s = np.zeros_like(y)
        tau, kap = np.array(_TAU_ABS), np.ones(len(_TAU_ABS))
        tau_prior = np.full(tau.size, 1.0 / tau.size)
    room = float(np.clip(1.0 - np.mean(_sig(y[-3:])), 0.0, 1.0))
    B = _basis(x if at is None else np.concatenate([x, at]), float(x[0]), float(x[-1]), room, hazard_rate)
    g, sb = B["g"][:, :x.size], B["b_sd"]
    var = (kap[:, None] * s[None, :]) ** 2 + tau[:, None] ** 2     # (T, m)
    si = 1.0 / var
    r = y[None, :] - _THETA0 - B["b_mean"][:, None] * g             # (G, m): residual at the prior mean
    a11 = si.sum(1)[:, None] + 1.0 / _SIGMA_THETA ** 2               # posterior precision, per (T, G)
    a12 = si @ g.T
    a22 = si @ (g * g).T + 1.0 / sb[None, :] ** 2
    b1 = si @ r.T
    b2 = si @ (r * g).T
    det = a11 * a22 - a12 * a12
    s11, s12, s22 = a22 / det, -a12 / det, a11 / det
    m1 = s11 * b1 + s12 * b2
    m2 = s12 * b1 + s22 * b2
    logml = (-0.5 * (si @ (r * r).T) + 0.5 * (b1 * m1 + b2 * m2)
             - 0.5 * np.log(var).sum(1)[:, None] - np.log(_SIGMA_THETA * sb)[None, :] - 0.5 * np.log(det))
    with np.errstate(divide="ignore"):  # a zero prior (no hazard at the budget) is a zero weight
        lw = _TEMPER * logml + np.log(B["prior"])[None, :] + np.log(tau_prior)[:, None]
    w = np.exp(lw - lw.max())
    w /= w.sum()
    T, G = w.shape
    comp = np.broadcast_to(np.arange(G)[None, :], (T, G)).ravel()
    jit = np.broadcast_to(tau[:, None] ** 2, (T, G)).ravel()
    return {"w": w.ravel(), "theta": (_THETA0 + m1).ravel(), "beta": (B["b_mean"][None, :] + m2).ravel(),
            "s11": s11.ravel(), "s12": s12.ravel(), "s22": s22.ravel(), "jitter": jit, "comp": comp,
            "fam": B["fam"][comp], "basis": (float(x[0]), float(x[-1]), room, hazard_rate),
            "g_at": B["g"][:, x.size:]}


def _at(mix: dict[str, np.ndarray], gx: np.ndarray) -> tuple[float, float]:
    """Mean and variance of the mixture's predictive of a new checkpoint whose basis values are ``gx`` (G,)."""
    g = gx[mix["comp"]]
    m = mix["theta"] + mix["beta"] * g
    v = mix["s11"] + 2.0 * g * mix["s12"] + g * g * mix["s22"] + mix["jitter"]
    mean = float(mix["w"] @ m)
    return mean, float(mix["w"] @ (v + (m - mean) ** 2))


def project(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
            stderr: Sequence[float] | np.ndarray | None = None, *, calibrate: bool = True,
            step_hazard: float = STEP_HAZARD, gain_hazard: float = GAIN_HAZARD,
            cache: dict | None = None) -> Projection:
    """Projects the single-sample accuracy at the budget (x = 1) from ``y`` (fractions) at normalised compute
    ``x`` (ascending in (0, 1]) with standard errors ``stderr`` (None, nan or 0: unknown, estimated).

    ``calibrate``: scale the predictive variance by the curve's own backtests (step 4 above); ``step_hazard``,
    ``gain_hazard``: the rates of a step still to come and of a late gain (1 above; 0: none); ``cache``: a dict
    kept across calls on a growing curve, so each backtest is computed once (it depends only on its prefix). Raises
    ValueError for fewer than 3 points, x outside (0, 1], non-increasing x or non-finite accuracies.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    s = np.full(x.shape, np.nan) if stderr is None else np.asarray(stderr, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.shape != s.shape:
        raise ValueError(f"x, y and stderr must be 1-D of the same length, got {x.shape}, {y.shape}, {s.shape}")
    if x.size < 3:
        raise ValueError(f"the projection needs >= 3 points, got {x.size}")
    if not (np.all(np.isfinite(x)) and x.min() > 0 and x.max() <= 1 + 1e-12 and np.all(np.diff(x) > 0)):
        raise ValueError("x must be strictly increasing in (0, 1] (training FLOPs / budget)")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite")
    for name, rate in (("step_hazard", step_hazard), ("gain_hazard", gain_hazard)):
        if not (isinstance(rate, (int, float)) and math.isfinite(rate) and rate >= 0):
            raise ValueError(f"{name} must be a finite rate >= 0 (per e-fold of compute left), got {rate!r}")
    yc = np.clip(y, _EDGE, 1.0 - _EDGE)      # the fit's scale: logit accuracy, stderr by the delta method
    s = s / (yc * (1.0 - yc))
    y = _logit(yc)
    inflation = 1.0
    if calibrate:
        z2 = []
        for j in range(max(3, (x.size + 1) // 2), x.size):
            key = (float(step_hazard), x[:j + 1].tobytes(), y[:j + 1].tobytes(), s[:j + 1].tobytes())
            if cache is None or key not in cache:
                mix = _mixture(x[:j], y[:j], s[:j], step_hazard, at=x[j:j + 1])
                mean, v = _at(mix, mix["g_at"][:, 0])
                noise = s[j] if math.isfinite(s[j]) and s[j] > 0 else 0.0
                z = (y[j] - mean) ** 2 / (v + noise ** 2)
                if cache is None:
                    z2.append(z)
                    continue
                cache[key] = z
            z2.append(cache[key])
        if z2:
            inflation = max(1.0, (_BACKTEST_PSEUDO + float(np.sum(z2))) / (_BACKTEST_PSEUDO + len(z2)))
    mix = _mixture(x, y, s, step_hazard)
    keep = mix["w"] > 1e-12 * mix["w"].max()
    w, mu, beta, comp, fam = (mix[k][keep] for k in ("w", "theta", "beta", "comp", "fam"))
    # the evaluation set is a sample of problems: its offset from the population is common to every checkpoint
    # and does not average out over them, so the population's accuracy at the budget is off by about the last
    # point's own standard error more
    offset = _OFFSET_SCALE * float(s[-1]) if math.isfinite(s[-1]) and s[-1] > 0 else 0.0
    sd = np.sqrt((mix["s11"][keep] + mix["jitter"][keep]) * inflation + offset ** 2)
    # P(a late gain by the budget), at most 0.999 (only extreme rates reach it) so that the components without it
    # keep their mass above the 1e-9 that is dropped, and without_hazards() stays the projection without it
    gain = min(-math.expm1(-gain_hazard * max(-math.log(float(x[-1])), 0.0)), 0.999)
    if gain > 0.0:   # a shifted copy of every component (the gain on top of any curve)
        w = np.concatenate([(1.0 - gain) * w, gain * w])
        mu, sd, beta, comp = (np.concatenate([a, a]) for a in (mu, sd, beta, comp))
        mu[mu.size // 2:] += _GAIN
        fam = np.concatenate([fam, np.full(fam.size, FAMILIES.index("gain"))])
    return Projection._make(w, mu, sd, fam, beta, comp, inflation, int(x.size), mix["basis"], offset)
