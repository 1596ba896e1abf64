"""pass@K and maj@K beyond the n samples drawn per problem, from a model fitted by maximum likelihood.

No unbiased estimator of pass@K or maj@K exists for K > n (pass@K of one problem is a polynomial of degree K in
its solve rate), so :func:`extrapolate` fits a model of how problems behave and reports the model's value with
an interval that includes the uncertainty of the fit. The model is an assumption; the docstrings and
BENCHMARKS.md say when it holds and how the intervals cover the truth when it does and when it does not.

``metric="pass"`` -- a problem with n samples has c ~ Binomial(n, p) correct, p drawn from a population of solve
rates; pass@K = 1 - E[(1 - p)^K] (mean over the population). Two models of the population, fitted by maximum
likelihood over the (n, c) histogram, each with the profile-likelihood interval of pass@K (the set of values whose
best fit is within chi2_1(confidence) / 2 of the maximum log-likelihood, found by maximising
loglik + lambda * P * pass@K over lambda):

* ``model="beta"`` -- a mixture of an atom at 0 (never solved), an atom at 1 (always solved) and a
  Beta(alpha, beta) ("zero-one-inflated beta-binomial", four parameters), and

      pass@K = pi_1 + pi_beta * (1 - B(alpha, beta + K) / B(alpha, beta))

  (the lambda search traces the concave hull of the profile, so its interval is exact or slightly wider). Narrow,
  but only as good as the family: for logit-normal solve rates its 95% interval at K = 4n covered the truth in 58%
  (300 problems) and 4% (1,000) of seeded runs (BENCHMARKS.md); ``params["fit_p_value"]`` (a chi-square test of
  the fitted histogram of c) catches some of those cases, not all.
* ``model="nonparametric"`` -- any law of p: free weights on a fixed grid (atoms at 0 and 1, 31 points in logit
  space from p = 1e-5 to 1 - 1e-4, dense between p = 1e-3 and 0.73, and each observed c / n, or 40 quantiles of
  them when there are more: large n costs ~1-2 s per K at 1,000 problems). The log-likelihood is concave in the
  weights and pass@K is linear in them, so each lambda step is a convex problem (SLSQP on the
  simplex) and the interval is the exact profile interval. n samples identify only the first n moments of the law
  of p, so for K > n the interval keeps a width that more problems do not remove: it is what the data allow,
  1.5-2.3x the beta interval at K = 4n (in-family shapes away from 1), and it covered the truth in 94-100% of the
  runs for all six populations of the benchmark. Its own point estimate (the NPMLE's pass@K) is noisier than the
  beta model's (1.5-2.3x the RMSE).
* ``model="auto"`` (the default) -- ``mean`` is the beta model's value and ``low``/``high`` the hull of the two
  intervals (nearly always the nonparametric one). Chosen by the numbers of BENCHMARKS.md: switching to the
  nonparametric interval only when the beta fit's ``fit_p_value`` is small left the logit-normal population at 90%
  coverage with 300 problems (the test has little power there); the hull covered 97-100% for every population, at
  300 and 1,000 problems, with the beta model's point estimate (the lowest RMSE inside the family). Cost: both fits.

For K <= n both models agree with the exact ``pass_at_k`` within its standard error; ``stderr`` = (high - low) /
(2 z). Problems never solved in n samples are what makes K >> n uncertain: how much of them is never solvable and
how much is solvable at a rate below 1 / n is what the interval shows.

``metric="maj"`` -- the answers of a problem are modelled as draws from a random distribution over answers, a
Dirichlet process with concentration theta (fitted by maximum likelihood of the Ewens sampling formula over all
problems): given the n samples with cluster counts n_1..n_m and a abstentions, the shares of the seen answers,
of abstention and of not-yet-seen answers are Dirichlet(n_1, .., n_m, a, theta); unseen answers are wrong and are
spread over infinitely many distinct answers (they never win a vote). For K <= n the result *is* the exact
``maj_at_k``; for K > n it is exact maj@n plus the model's per-problem increment E[maj@K - maj@n | samples],
computed by Monte Carlo (``draws`` share vectors per problem, K multinomial votes each, nested so that the first
n votes give maj@n). ``stderr`` combines the spread over problems, the Monte Carlo error and the uncertainty of
theta (the increment at the ends of theta's profile-likelihood interval); ``low``/``high`` = mean -+ z stderr,
clipped to [0, 1].

``metric="bok"`` is refused: best-of-K beyond n depends on the upper tail of each problem's score distribution,
which n samples do not identify without a score model.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ttc_fast import estimators as est

__all__ = ["ExtrapolationResult", "extrapolate"]

_BOUNDS = [(-30.0, 30.0), (-30.0, 30.0), (math.log(1e-4), math.log(1e4)), (math.log(1e-4), math.log(1e4))]
MAX_K = 10**7
_MODELS = ("auto", "beta", "nonparametric")  # pass@K's solve-rate model


@dataclass(frozen=True)
class ExtrapolationResult:
    """Model-based curve for any K (see the module docstring).

    Attributes:
        metric: ``"pass"`` | ``"maj"``.
        ks: int64 ``(K,)``.
        mean: float64 ``(K,)`` the model's pass@K / maj@K (mean over problems).
        stderr: ``(K,)`` standard error of ``mean`` (includes the uncertainty of the fitted model).
        low, high: ``(K,)`` ``confidence`` interval.
        confidence: its level. num_problems: P. n_min: the smallest n (K <= n_min is inside the data for all).
        params: the fitted model: pass ``{"model"}`` and, for the beta model (``"beta"``, ``"auto"``),
            ``{"pi0", "pi1", "alpha", "beta", "loglik", "fit_p_value"}`` (the last: chi-square goodness of fit of the
            (n, c) histogram; small = the beta model does not describe these problems), for the nonparametric one
            (``"nonparametric"``, ``"auto"``) ``{"support", "weights", "np_loglik"}`` (grid points with weight
            > 1e-6); maj ``{"theta", "theta_low", "theta_high", "loglik", "draws"}``.
    """

    metric: str
    ks: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    low: np.ndarray
    high: np.ndarray
    confidence: float
    num_problems: int
    n_min: int
    params: dict = field(default_factory=dict)


# ---- pass: zero-one-inflated beta-binomial ---------------------------------------------------------------------

def _histogram(n: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
    """The distinct (n, c) pairs as float64 ``n``, ``c``, their counts ``w``, the number of problems and
    log C(n, c): the grouped form both solve-rate likelihoods are written in."""
    from scipy.special import gammaln

    pairs, counts = np.unique(np.stack([n, c], axis=1), axis=0, return_counts=True)
    nn, cc = pairs[:, 0].astype(np.float64), pairs[:, 1].astype(np.float64)
    lchoose = gammaln(nn + 1) - gammaln(cc + 1) - gammaln(nn - cc + 1)
    return nn, cc, counts.astype(np.float64), float(counts.sum()), lchoose


class _ZOIB:
    """Grouped likelihood of c ~ Binomial(n, p), p ~ pi0 d_0 + pi1 d_1 + pi_b Beta(alpha, beta).

    theta = (a0, a1, log alpha, log beta); (pi0, pi1, pi_b) = softmax(a0, a1, 0)."""

    def __init__(self, n: np.ndarray, c: np.ndarray):
        self.n, self.c, self.w, self.P, self.lchoose = _histogram(n, c)
        self.zero = (self.c == 0).astype(np.float64)
        self.full = (self.c == self.n).astype(np.float64)

    @staticmethod
    def weights(th: np.ndarray) -> np.ndarray:
        z = np.array([th[0], th[1], 0.0])
        z = np.exp(z - z.max())
        return z / z.sum()

    def loglik(self, th: np.ndarray, grad: bool = True):
        from scipy.special import betaln, digamma

        pi = self.weights(th)
        a, b = math.exp(th[2]), math.exp(th[3])
        n, c = self.n, self.c
        lbb = self.lchoose + betaln(c + a, n - c + b) - betaln(a, b)
        bb = np.exp(lbb)
        m = pi[0] * self.zero + pi[1] * self.full + pi[2] * bb
        m = np.maximum(m, 1e-300)
        ll = float(self.w @ np.log(m))
        if not grad:
            return ll
        r = self.w / m
        comp = (self.zero, self.full, bb)
        g = np.zeros(4)
        for j in (0, 1):  # d pi_i / d a_j = pi_i (delta_ij - pi_j)
            g[j] = sum(float(r @ comp[i]) * pi[i] * ((i == j) - pi[j]) for i in range(3))
        dab = digamma(n + a + b)
        dab0 = digamma(a + b)
        da = digamma(c + a) - dab - digamma(a) + dab0
        db = digamma(n - c + b) - dab - digamma(b) + dab0
        g[2] = float(r @ (pi[2] * bb * da)) * a
        g[3] = float(r @ (pi[2] * bb * db)) * b
        return ll, g

    @staticmethod
    def pass_k(th: np.ndarray, K: float, grad: bool = True):
        from scipy.special import betaln, digamma

        pi = _ZOIB.weights(th)
        a, b = math.exp(th[2]), math.exp(th[3])
        R = math.exp(float(betaln(a, b + K) - betaln(a, b)))  # E_Beta[(1 - p)^K]
        v = pi[1] + pi[2] * (1.0 - R)
        if not grad:
            return v
        comp = (0.0, 1.0, 1.0 - R)
        g = np.zeros(4)
        for j in (0, 1):
            g[j] = sum(comp[i] * pi[i] * ((i == j) - pi[j]) for i in range(3))
        dR_a = R * float(digamma(a + b) - digamma(a + b + K))
        dR_b = R * float(digamma(b + K) - digamma(a + b + K) - digamma(b) + digamma(a + b))
        g[2] = -pi[2] * dR_a * a
        g[3] = -pi[2] * dR_b * b
        return v, g

    def fit_p_value(self, th: np.ndarray) -> float:
        """Pearson chi-square goodness of fit of the (n, c) histogram under the fitted model: per distinct n,
        cells c = 0..n in order, adjacent cells pooled until each expects >= 5 problems; df = cells - groups - 4."""
        from scipy.special import betaln, gammaln
        from scipy.stats import chi2

        pi = self.weights(th)
        a, b = math.exp(th[2]), math.exp(th[3])
        chi, cells, groups = 0.0, 0, 0
        for nn in np.unique(self.n):
            sel = self.n == nn
            total = float(self.w[sel].sum())
            obs = np.zeros(int(nn) + 1)
            obs[self.c[sel].astype(int)] = self.w[sel]
            cc = np.arange(int(nn) + 1, dtype=np.float64)
            lbb = gammaln(nn + 1) - gammaln(cc + 1) - gammaln(nn - cc + 1) + betaln(cc + a, nn - cc + b) - betaln(a, b)
            expect = total * (pi[0] * (cc == 0) + pi[1] * (cc == nn) + pi[2] * np.exp(lbb))
            po, pe, so, se = [], [], 0.0, 0.0
            for o, e in zip(obs, expect):
                so, se = so + o, se + e
                if se >= 5.0:
                    po.append(so)
                    pe.append(se)
                    so = se = 0.0
            if pe:
                po[-1] += so
                pe[-1] += se
            po_a, pe_a = np.array(po), np.maximum(np.array(pe), 1e-300)
            chi += float(((po_a - pe_a) ** 2 / pe_a).sum())
            cells += len(po)
            groups += 1
        df = cells - groups - 4
        return float(chi2.sf(chi, df)) if df >= 1 else float("nan")

    def maximise(self, start: np.ndarray, lam: float = 0.0, K: float = 1.0) -> np.ndarray:
        """argmax of loglik + lam * P * pass@K from ``start`` (SLSQP, analytic gradient)."""
        from scipy.optimize import minimize

        def f(th):
            ll, g = self.loglik(th)
            if lam:
                v, gv = self.pass_k(th, K)
                ll += lam * self.P * v
                g = g + lam * self.P * gv
            return -ll / self.P, -g / self.P

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            # SLSQP: 4 parameters, box bounds, no BLAS calls (L-BFGS-B's BLAS threads cost 100x on shared cores)
            res = minimize(f, start, jac=True, method="SLSQP", bounds=_BOUNDS,
                           options={"maxiter": 500, "ftol": 1e-14})
        return res.x

    def fit(self) -> np.ndarray:
        frac0 = float(self.w @ self.zero) / self.P
        frac1 = float(self.w @ self.full) / self.P
        x = self.c / self.n
        mu = float(self.w @ x) / self.P
        var = max(float(self.w @ (x - mu) ** 2) / self.P, 1e-4)
        mu = min(max(mu, 0.02), 0.98)
        s = max(mu * (1 - mu) / var - 1.0, 0.05)
        beta0 = [math.log(max(mu * s, 1e-3)), math.log(max((1 - mu) * s, 1e-3))]
        starts = [np.array([-8.0, -8.0] + beta0),
                  np.array([math.log(frac0 / 2 + 1e-6), math.log(frac1 / 2 + 1e-6)] + beta0),
                  np.array([-8.0, -8.0, math.log(0.3), math.log(1.0)])]
        best, best_ll = None, -math.inf
        for st in starts:
            th = self.maximise(np.clip(st, [b[0] for b in _BOUNDS], [b[1] for b in _BOUNDS]))
            ll = self.loglik(th, grad=False)
            if ll > best_ll:
                best, best_ll = th, ll
        return best


# ---- pass: nonparametric mixture on a fixed grid -----------------------------------------------------------------

# support of the nonparametric solve-rate law: atoms at 0 and 1, and points in logit space (dense where pass@K for
# K ~ 4..64 x n and the binomial likelihood of c change, sparse in the tails), plus each observed c / n (at most 40)
_LOGIT_GRID = np.concatenate([np.linspace(-11.5, -7.5, 4), np.linspace(-7.0, 1.0, 21), np.linspace(1.8, 9.0, 6)])


class _Mixture:
    """Grouped likelihood of c ~ Binomial(n, p), p ~ sum_j w_j delta_{p_j} on a fixed grid p_j (w on the simplex).

    The log-likelihood is concave in w and pass@K = sum_j w_j (1 - (1 - p_j)^K) is linear, so every maximisation of
    loglik + lam * P * pass@K has one maximum (SLSQP on the simplex finds it) and the lambda search of
    :func:`_profile_end` traces the profile likelihood of pass@K exactly (no concave-hull gap)."""

    def __init__(self, n: np.ndarray, c: np.ndarray):
        from scipy.special import expit

        self.n, self.c, self.w, self.P, lchoose = _histogram(n, c)
        inner = (self.c > 0) & (self.c < self.n)
        obs = np.unique(np.log(self.c[inner] / (self.n[inner] - self.c[inner])))
        if len(obs) > 40:  # large n: 40 quantiles of the observed logits (SLSQP's cost grows ~ grid size^3)
            obs = np.quantile(obs, np.linspace(0.0, 1.0, 40))
        z = np.unique(np.round(np.concatenate([_LOGIT_GRID, obs]), 6))
        inside = expit(z)
        self.p = np.concatenate([[0.0], inside, [1.0]])
        lb = lchoose[:, None] + self.c[:, None] * np.log(inside)[None] + (self.n - self.c)[:, None] * np.log1p(
            -inside)[None]
        self.L = np.concatenate([(self.c == 0)[:, None] * 1.0, np.exp(lb), (self.c == self.n)[:, None] * 1.0], axis=1)
        self.M = len(self.p)
        self._a: dict[float, np.ndarray] = {}

    def _pass_vec(self, K: float) -> np.ndarray:
        if K not in self._a:
            self._a[K] = -np.expm1(K * np.log1p(-self.p[:-1]))
            self._a[K] = np.append(self._a[K], 1.0)
        return self._a[K]

    def loglik(self, wt: np.ndarray, grad: bool = False) -> float:
        return float(self.w @ np.log(np.maximum(self.L @ wt, 1e-300)))

    def pass_k(self, wt: np.ndarray, K: float, grad: bool = False) -> float:
        return float(self._pass_vec(K) @ wt)

    def maximise(self, start: np.ndarray, lam: float = 0.0, K: float = 1.0) -> np.ndarray:
        """argmax over the simplex of loglik + lam * P * pass@K (SLSQP from ``start``)."""
        from scipy.optimize import minimize

        a = self._pass_vec(K) * lam if lam else None

        def f(wt):
            m = np.maximum(self.L @ wt, 1e-300)
            v = float(self.w @ np.log(m)) / self.P
            g = self.L.T @ (self.w / m) / self.P
            if a is not None:
                v += float(a @ wt)
                g = g + a
            return -v, -g

        ones = np.ones(self.M)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = minimize(f, start, jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * self.M,
                           constraints=[{"type": "eq", "fun": lambda wt: wt.sum() - 1.0, "jac": lambda wt: ones}],
                           options={"maxiter": 150, "ftol": 1e-13})  # 150: the far end of a saturated search
        wt = np.maximum(res.x, 0.0)
        return wt / wt.sum()

    def fit(self) -> np.ndarray:
        return self.maximise(np.full(self.M, 1.0 / self.M))


def _profile_end(model, th_hat: np.ndarray, ll_hat: float, K: float, target: float, sign: float) -> float:
    """pass@K at the end (sign +1: upper, -1: lower) of the profile-likelihood interval of ``model`` (either
    model class: ``maximise``, ``loglik``, ``pass_k``, ``P``).

    theta(lam) = argmax loglik + sign * lam * P * pass@K; its deficit d(lam) = loglik_hat - loglik(theta(lam))
    grows like lam^2, so lam <- lam * sqrt(target / d) converges in a few steps; a bracket [lo, hi] with
    d(lo) < target <= d(hi) keeps every step safe (bisection in log lam when the update leaves it)."""
    lo, hi = 0.0, math.inf
    lo_th, hi_th = th_hat, None
    lam, th_start = 1.0 / math.sqrt(model.P), th_hat
    v_lo = model.pass_k(th_hat, K, grad=False)
    for _ in range(80):
        th = model.maximise(th_start, sign * lam, K)
        d = ll_hat - model.loglik(th, grad=False)
        if d >= target:
            hi, hi_th = lam, th
        else:
            v_prev, v_lo = v_lo, model.pass_k(th, K, grad=False)
            lo, lo_th = lam, th
            if hi == math.inf and ((lam > 1.0 and abs(v_lo - v_prev) < 1e-7) or min(v_lo, 1.0 - v_lo) < 1e-6):
                break  # pass@K is at (within 1e-6 of) the end of its range [0, 1] inside the interval
        if abs(d - target) <= 0.005 * target or (hi < math.inf and hi / max(lo, 1e-300) < 1.0 + 1e-9):
            break
        if lam > 1e12:  # pass@K reaches its bound inside the interval
            break
        step = lam * math.sqrt(target / d) if d > 1e-12 else lam * 16.0
        if not lo < step < hi:
            step = math.sqrt(lo * hi) if lo > 0 and hi < math.inf else (hi / 4.0 if hi < math.inf else lam * 16.0)
        lam = step
        th_start = lo_th if d >= target else th
    vals = [model.pass_k(lo_th, K, grad=False)] + ([model.pass_k(hi_th, K, grad=False)] if hi_th is not None else [])
    return max(vals) if sign > 0 else min(vals)


def _extrapolate_pass(num_samples: Any, num_correct: Any, ks: np.ndarray, confidence: float,
                      model: str) -> ExtrapolationResult:
    from scipy.stats import chi2, norm

    c = est._int_array(num_correct, "num_correct", 1) if np.ndim(num_correct) else est._int_array(
        [num_correct], "num_correct", 1)
    n_in = est._as_array(num_samples, "num_samples")
    n = est._int_array(np.full(c.shape, n_in) if n_in.ndim == 0 else n_in, "num_samples", 1)
    if n.shape != c.shape:
        raise ValueError(f"num_correct must have the shape of num_samples {n.shape}, got {c.shape}")
    if (n < 1).any():
        raise ValueError(f"num_samples must be >= 1, got {int(n[n < 1][0])}")
    if (c < 0).any() or (c > n).any():
        i = int(np.argmax((c < 0) | (c > n)))
        raise ValueError(f"num_correct must be in [0, num_samples], got c={int(c[i])} with n={int(n[i])} "
                         f"(problem {i})")
    if len(n) < 2:
        raise ValueError(f"extrapolation fits a model over problems: needs >= 2 problems, got {len(n)}")
    target = float(chi2.ppf(confidence, 1)) / 2.0
    z = float(norm.ppf(0.5 + confidence / 2.0))
    params: dict = {"model": model}
    curves = {}
    if model in ("beta", "auto"):
        zoib = _ZOIB(n, c)
        th = zoib.fit()
        curves["beta"] = _pass_curve(zoib, th, ks, target)
        pi = zoib.weights(th)
        params.update(pi0=float(pi[0]), pi1=float(pi[1]), alpha=math.exp(th[2]), beta=math.exp(th[3]),
                      loglik=curves["beta"][3], fit_p_value=zoib.fit_p_value(th))
    if model in ("nonparametric", "auto"):
        mix = _Mixture(n, c)
        wt = mix.fit()
        curves["nonparametric"] = _pass_curve(mix, wt, ks, target)
        keep = wt > 1e-6
        params.update(support=mix.p[keep], weights=wt[keep], np_loglik=curves["nonparametric"][3])
    if model == "auto":
        mean, low, high = _auto(curves["beta"], curves["nonparametric"])
    else:
        mean, low, high = curves[model][:3]
    return ExtrapolationResult("pass", ks, mean, (high - low) / (2.0 * z), low, high, confidence, len(n),
                               int(n.min()), params)


def _pass_curve(model, th: np.ndarray, ks: np.ndarray, target: float):
    """(mean, low, high, loglik) of pass@K at each K for a fitted model (either class) and its profile interval."""
    ll = model.loglik(th, grad=False)
    mean, low, high = (np.empty(len(ks)) for _ in range(3))
    for j, K in enumerate(ks):
        mean[j] = model.pass_k(th, float(K), grad=False)
        high[j] = max(mean[j], _profile_end(model, th, ll, float(K), target, +1.0))
        low[j] = min(mean[j], _profile_end(model, th, ll, float(K), target, -1.0))
    return mean, low, high, ll


def _auto(beta, nonpar):
    """model="auto": the beta model's value; the hull of the two models' intervals (the module docstring says why)."""
    return beta[0], np.minimum(beta[1], nonpar[1]), np.maximum(beta[2], nonpar[2])


# ---- maj: Dirichlet-process answer distributions -------------------------------------------------------------

def _ewens_loglik(theta: float, m: np.ndarray, n: np.ndarray) -> float:
    """log-likelihood (up to a constant) of the partitions into m_i clusters of n_i samples under DP(theta)."""
    from scipy.special import gammaln

    return float(np.sum(m * math.log(theta) + gammaln(theta) - gammaln(theta + n)))


def _fit_theta(m: np.ndarray, n: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    """ML concentration and its profile-likelihood interval (log theta in [-12, 12])."""
    from scipy.optimize import brentq, minimize_scalar
    from scipy.stats import chi2

    f = lambda lt: -_ewens_loglik(math.exp(lt), m, n)  # noqa: E731  (concave in log theta)
    res = minimize_scalar(f, bounds=(-12.0, 12.0), method="bounded", options={"xatol": 1e-10})
    lt, ll = float(res.x), -float(res.fun)
    target = float(chi2.ppf(confidence, 1)) / 2.0
    g = lambda x: ll + f(x) - target  # noqa: E731  (>= 0 inside the interval)
    lo = brentq(g, -12.0, lt) if g(-12.0) > 0 else -12.0
    hi = brentq(g, lt, 12.0) if g(12.0) > 0 else 12.0
    # g(-12) > 0 means the likelihood drops by `target` before the bound: brentq brackets the crossing
    return math.exp(lt), math.exp(lo), math.exp(hi), ll


def _maj_increment(sizes: list[np.ndarray], correct: list[np.ndarray], abst: np.ndarray, theta: float, n: np.ndarray,
                   ks: np.ndarray, draws: int, seed: int, tie: str, abstain: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-problem E[maj@K - maj@n | samples] under the model, and its Monte Carlo variance: ``(P, len(ks))`` each.

    For each problem: shares ~ Dirichlet(cluster counts, abstentions, theta); votes ~ Multinomial over the seen
    answers, abstention and the unseen mass (unseen answers never win); the first n of the K votes give maj@n."""
    P = len(sizes)
    inc = np.zeros((P, len(ks)))
    var = np.zeros((P, len(ks)))
    for i in range(P):
        rng = np.random.default_rng([seed, i])  # streams keyed by (seed, problem) and (seed, problem, K):
        w = sizes[i].astype(np.float64)  # a K's value does not depend on the other ks asked for
        m = len(w)
        alpha = np.concatenate([w, [abst[i]] if abst[i] > 0 else [], [theta]])
        g = rng.standard_gamma(alpha, size=(draws, len(alpha)))
        shares = g / g.sum(axis=1, keepdims=True)
        base = rng.multinomial(int(n[i]), shares)  # (draws, categories)
        v_n = _vote_credit(base[:, :m], correct[i], tie)
        if abstain == "vote" and abst[i] > 0:  # abstentions vote as one more wrong answer
            v_n = _vote_credit(base[:, :m + 1], np.concatenate([correct[i], [False]]), tie)
        for j, K in enumerate(ks):
            rk = np.random.default_rng([seed, i, int(K)])
            extra = rk.multinomial(int(K - n[i]), shares) if K > n[i] else np.zeros_like(base)
            tot = base + extra
            if abstain == "vote" and abst[i] > 0:
                v_k = _vote_credit(tot[:, :m + 1], np.concatenate([correct[i], [False]]), tie)
            else:
                v_k = _vote_credit(tot[:, :m], correct[i], tie)
            d = v_k - v_n
            inc[i, j] = d.mean()
            var[i, j] = d.var(ddof=1) / draws if draws > 1 else 0.0
    return inc, var


def _vote_credit(counts: np.ndarray, correct: np.ndarray, tie: str) -> np.ndarray:
    """Credit of each row's plurality vote (counts (D, m), correct (m,)): the tie rule over the top clusters."""
    top = counts.max(axis=1, keepdims=True)
    winners = (counts == top) & (top > 0)
    nwin = winners.sum(axis=1)
    nright = (winners & correct[None, :]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if tie == "random":
            return np.where(nwin > 0, nright / np.maximum(nwin, 1), 0.0)
        if tie == "strict":
            return ((nwin == 1) & (nright == 1)).astype(np.float64)
        return (nright > 0).astype(np.float64)


def _extrapolate_maj(answers: Any, correct: Any, ks: np.ndarray, confidence: float, draws: int, seed: int,
                     tie: str, abstain: str) -> ExtrapolationResult:
    from scipy.stats import norm

    est._tie(tie)
    est._abstain(abstain)
    a = est._answers(est._pad_ragged(answers, -2))
    cor = est._bool_array(est._pad_ragged(correct, False), "correct", a.shape, "answers")
    P = a.shape[0]
    if P < 2:
        raise ValueError(f"extrapolation fits a model over problems: needs >= 2 problems, got {P}")
    n = (a != -2).sum(axis=1)
    if (n < 1).any():
        raise ValueError(f"every problem needs >= 1 sample, problem {int(np.argmin(n))} has none")
    n_min = int(n.min())
    # exact per-problem maj@k at every asked k a problem has samples for, and at each problem's own n
    k_all = np.unique(np.concatenate([ks[ks <= int(n.max())], np.unique(n)])).astype(np.int64)
    exact = est.maj_at_k(a, cor, k_all, tie=tie, abstain=abstain, per_problem=True, lenient=True).per_problem
    col = {int(k): j for j, k in enumerate(k_all)}
    at_n = exact[np.arange(P), [col[int(v)] for v in n]]  # maj@n_i of problem i
    # clusters per problem (sizes, correctness), abstentions
    sizes, corr, abst = [], [], np.zeros(P, dtype=np.int64)
    for i in range(P):
        row, rc = a[i][a[i] != -2], cor[i][a[i] != -2]
        abst[i] = int((row == -1).sum())
        ids, inv = np.unique(row[row >= 0], return_inverse=True)
        sizes.append(np.bincount(inv, minlength=len(ids)) if len(ids) else np.zeros(0, dtype=np.int64))
        cc = np.zeros(len(ids), dtype=bool)
        if len(ids):
            cc[inv] = rc[row >= 0]
        corr.append(cc)
    m = np.array([len(s) + (1 if abst[i] else 0) for i, s in enumerate(sizes)], dtype=np.float64)
    theta, th_lo, th_hi, ll = _fit_theta(np.maximum(m, 1.0), n.astype(np.float64), confidence)
    z = float(norm.ppf(0.5 + confidence / 2.0))
    mean, stderr = np.empty(len(ks)), np.empty(len(ks))
    inside = np.flatnonzero(ks <= n_min)  # every problem has the samples: the exact estimator itself
    vals_in = exact[:, [col[int(k)] for k in ks[inside]]]
    mean[inside] = vals_in.mean(axis=0)
    stderr[inside] = vals_in.std(axis=0, ddof=1) / math.sqrt(P)
    beyond = np.flatnonzero(ks > n_min)
    if len(beyond):
        kb = ks[beyond]
        incs = {th: _maj_increment(sizes, corr, abst, th, n, kb, draws, seed, tie, abstain)
                for th in (theta, th_lo, th_hi)}
        inc, mc_var = incs[theta]
        # problem i at K: its exact maj@K when K <= n_i, else exact maj@n_i + the model's increment from n_i to K
        own = np.stack([exact[:, col[int(k)]] if int(k) in col else np.full(P, np.nan) for k in kb], axis=1)
        vals = np.where(kb[None, :] <= n[:, None], own, at_n[:, None] + inc)
        mean_b = vals.mean(axis=0)
        se_prob = vals.std(axis=0, ddof=1) / math.sqrt(P)
        se_mc = np.sqrt(mc_var.sum(axis=0)) / P
        spread = np.max(np.abs(np.stack([incs[t][0].mean(axis=0) for t in (th_lo, th_hi)]) - inc.mean(axis=0)),
                        axis=0) / z  # theta's interval, as a standard error
        mean[beyond] = np.clip(mean_b, 0.0, 1.0)
        stderr[beyond] = np.sqrt(se_prob ** 2 + se_mc ** 2 + spread ** 2)
    low, high = np.clip(mean - z * stderr, 0.0, 1.0), np.clip(mean + z * stderr, 0.0, 1.0)
    params = {"theta": theta, "theta_low": th_lo, "theta_high": th_hi, "loglik": ll, "draws": draws}
    return ExtrapolationResult("maj", ks, mean, stderr, low, high, confidence, P, n_min, params)


# ---- public API ------------------------------------------------------------------------------------------------

def extrapolate(metric: str, ks: Any, *, num_samples: Any = None, num_correct: Any = None, answers: Any = None,
                correct: Any = None, confidence: float = 0.95, draws: int = 2000, seed: int = 0,
                tie: str = "random", abstain: str = "exclude", model: str = "auto") -> ExtrapolationResult:
    """pass@K / maj@K for any K (also K > n) from n samples per problem, through a fitted model.

    Args:
        metric: ``"pass"`` (give ``num_samples``, ``num_correct`` as for ``pass_at_k``) or ``"maj"`` (give
            ``answers``, ``correct`` as for ``maj_at_k``). ``"bok"`` is refused (see the module docstring).
        ks: ints >= 1, up to 10**7.
        confidence: level of ``low``/``high``, in (0, 1).
        draws, seed: Monte Carlo share vectors per problem for maj (1 .. 10**6; cost ~ P x draws x len(ks)).
        tie, abstain: maj@k rules (see ``ttc_fast.maj_at_k``).
        model: pass only: the solve-rate model, ``"auto"`` (default: the beta model's value, the hull of the beta
            and nonparametric intervals), ``"beta"`` or ``"nonparametric"`` (see the module docstring). Cost at 1,000
            problems, per K: ~0.02-0.1 s beta, ~0.2-0.6 s nonparametric.

    Returns an :class:`ExtrapolationResult` (``ks``, ``mean``, ``stderr``, ``low``, ``high``, ``params``).
    The model and its assumptions are in the module docstring; K <= n agrees with the exact estimators (pass: within
    their standard error when the model fits; maj: it is the exact estimator).
    """
    if metric == "bok":
        raise ValueError("metric 'bok' cannot be extrapolated beyond n: best-of-K depends on the upper tail of each "
                         "problem's score distribution, which n samples do not identify; use best_of_k for K <= n")
    if metric not in ("pass", "maj"):
        raise ValueError(f"metric must be 'pass' or 'maj', got {metric!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    if ks is None:
        raise ValueError("ks must be given (the K to extrapolate to), got None")
    k_arr = est._ks(ks, 1)
    if int(k_arr.max()) > MAX_K:
        raise ValueError(f"ks must be <= {MAX_K:,}, got {int(k_arr.max()):,}")
    if not isinstance(model, str) or model not in _MODELS:
        raise ValueError(f"model must be one of {', '.join(map(repr, _MODELS))}, got {model!r}")
    if metric == "pass":
        if num_samples is None or num_correct is None:
            raise ValueError("metric 'pass' needs num_samples and num_correct")
        if answers is not None or correct is not None:
            raise ValueError("metric 'pass' takes num_samples/num_correct, not answers/correct")
        return _extrapolate_pass(num_samples, num_correct, k_arr, float(confidence), model)
    if model != "auto":
        raise ValueError(f"model applies to metric 'pass' only (maj's model is fixed), got model={model!r}")
    if answers is None or correct is None:
        raise ValueError("metric 'maj' needs answers and correct")
    if num_samples is not None or num_correct is not None:
        raise ValueError("metric 'maj' takes answers/correct, not num_samples/num_correct")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or not 2 <= draws <= 10**6:
        raise ValueError(f"draws must be an int in [2, 1,000,000], got {draws!r}")
    return _extrapolate_maj(answers, correct, k_arr, float(confidence), int(draws), est._seed64(seed), tie, abstain)
