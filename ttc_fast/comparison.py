"""Paired comparison of two evaluations of the same problems: a - b at every K, with simultaneous bands.

"Is checkpoint t with K samples at least as good as the final checkpoint with one?" and "is B's curve above A's
at every K?" are questions about the *same problems*, so the right unit is the per-problem difference of the
exact per-problem estimates (pass@k, maj@k or best-of-k, ``ttc_fast.estimators``)::

    d_i(j) = est_a,i(K_a[j]) - est_b,i(K_b[j])        (problem i, grid point j)

``mean`` is the average of d over problems and ``stderr`` its standard error std(d, ddof=1) / sqrt(P): paired, so
problem difficulty (shared by a and b) cancels and the band is much narrower than two separate error bars when
the evaluations are correlated (``stderr_unpaired`` is what two independent curves would give).

Intervals (``confidence`` = 1 - alpha, default 0.95):

- ``method="normal"``: pointwise mean -+ z_{1-alpha/2} stderr. The simultaneous band mean -+ c stderr covers the
  whole difference curve at once: c is the ``confidence`` quantile of max_j |Z_j| for Z ~ N(0, R), R the
  correlation matrix of the columns of d (``bootstrap`` Gaussian draws, seeded).
- ``method="bootstrap"``: ``bootstrap`` resamples of the problems with replacement; pointwise percentile
  intervals of the resampled means, and c the ``confidence`` quantile of the max-statistic
  max_j |mean*_j - mean_j| / stderr_j over the resamples.

``p_value`` is the one-sided test of "a >= b - margin" at each grid point (null hypothesis: the mean difference is
<= -margin; a small p supports a >= b - margin): 1 - Phi((mean + margin) / stderr) (normal), or
(1 + #{mean* - mean >= mean + margin}) / (1 + B) (bootstrap). Grid points where every problem has the same
difference (stderr 0) get a zero-width interval: the sample cannot say more, and no normal or bootstrap
approximation holds there.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ttc_fast import estimators as est

__all__ = ["CompareResult", "compare"]

_METRICS = ("pass", "maj", "bok")
_METHODS = ("normal", "bootstrap")
_KEYS = {"pass": ("num_samples", "num_correct"), "maj": ("answers", "correct"), "bok": ("scores", "correct")}


@dataclass(frozen=True)
class CompareResult:
    """Paired difference curve a - b (see the module docstring).

    Attributes:
        metric: ``"pass"`` | ``"maj"`` | ``"bok"``.
        ks: int64 ``(K,)``, the numbers of samples of evaluation a (K_a).
        ks_b: int64 ``(K,)``, those of evaluation b at the same grid points (equal to ``ks`` unless given).
        mean: float64 ``(K,)``, mean over problems of est_a(K_a) - est_b(K_b).
        stderr: float64 ``(K,)``, paired standard error std(differences, ddof=1) / sqrt(P).
        low, high: ``(K,)`` pointwise ``confidence`` interval of ``mean``.
        band_low, band_high: ``(K,)`` simultaneous band: covers the whole curve with probability ``confidence``.
        p_value: ``(K,)`` one-sided p-value of "a >= b - margin" at each grid point.
        mean_a, mean_b, stderr_a, stderr_b: ``(K,)`` each evaluation's own curve and standard error.
        stderr_unpaired: ``(K,)`` sqrt(stderr_a^2 + stderr_b^2), the standard error if a and b were independent.
        critical_value: the band's multiplier c (band = mean -+ c * stderr).
        margin, confidence, method, bootstrap: the settings used (``bootstrap``: number of draws).
        num_problems: P matched problems. ids: their ids (a's order) when ids were given, else None.
        per_problem: ``(P, K)`` differences when requested, else None.
    """

    metric: str
    ks: np.ndarray
    ks_b: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    low: np.ndarray
    high: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray
    p_value: np.ndarray
    mean_a: np.ndarray
    mean_b: np.ndarray
    stderr_a: np.ndarray
    stderr_b: np.ndarray
    stderr_unpaired: np.ndarray
    critical_value: float
    margin: float
    confidence: float
    method: str
    bootstrap: int
    num_problems: int
    ids: tuple[str, ...] | None = None
    per_problem: np.ndarray | None = None

    def as_rows(self) -> list[tuple]:
        """[(k_a, k_b, mean, stderr, low, high, band_low, band_high, p_value), ...] for tables."""
        return [tuple([int(a), int(b)] + [float(v[j]) for v in (self.mean, self.stderr, self.low, self.high,
                                                                 self.band_low, self.band_high, self.p_value)])
                for j, (a, b) in enumerate(zip(self.ks, self.ks_b))]


# ---- inputs ----------------------------------------------------------------------------------------------------

def _evaluation(x: Any, metric: str, name: str) -> tuple[dict[str, Any], list[str] | None]:
    """The estimator arguments and problem ids of one evaluation (an eval-log record or a mapping)."""
    if not isinstance(x, Mapping):
        raise TypeError(f"{name} must be an eval-log record (a dict with 'problems') or a mapping of "
                        f"{' / '.join(_KEYS[metric])}, got {type(x).__name__}")
    if "problems" in x:
        probs = x["problems"]
        if not isinstance(probs, Sequence) or isinstance(probs, (str, bytes)) or len(probs) == 0:
            raise ValueError(f"{name}['problems'] must be a non-empty list of problems")
        ids, answers, correct, scores = [], [], [], []
        for i, p in enumerate(probs):
            if not isinstance(p, Mapping) or "answers" not in p or "correct" not in p:
                raise ValueError(f"{name}['problems'][{i}] needs 'answers' and 'correct' (per-sample results); "
                                 "records with only precomputed accuracies cannot be compared per problem")
            if len(p["answers"]) != len(p["correct"]) or len(p["answers"]) == 0:
                raise ValueError(f"{name}['problems'][{i}]: answers and correct must be non-empty and of one "
                                 f"length, got {len(p['answers'])} and {len(p['correct'])}")
            ids.append(str(p.get("id", i)))
            answers.append(list(p["answers"]))
            correct.append([bool(c) for c in p["correct"]])
            scores.append(p.get("scores"))
        if metric == "pass":
            args = {"num_samples": [len(c) for c in correct], "num_correct": [sum(c) for c in correct]}
        elif metric == "maj":
            args = {"answers": answers, "correct": correct}
        else:
            missing = [ids[i] for i, s in enumerate(scores) if s is None or any(v is None for v in s)]
            if missing:
                raise ValueError(f"{name}: metric 'bok' needs a score on every sample; problem {missing[0]!r} "
                                 f"(and {len(missing) - 1} more) has none")
            args = {"scores": [list(map(float, s)) for s in scores], "correct": correct}
        return args, ids if any("id" in p for p in probs) else None
    keys = _KEYS[metric]
    unknown = sorted(set(x) - set(keys) - {"ids"})
    missing = [k for k in keys if k not in x]
    if missing or unknown:
        raise ValueError(f"{name} for metric {metric!r} must have keys {keys} (and optionally 'ids'); "
                         f"missing {missing}, unexpected {unknown}")
    ids = None if x.get("ids") is None else [str(i) for i in x["ids"]]
    return {k: x[k] for k in keys}, ids


def _num_problems(args: dict[str, Any], metric: str) -> int:
    first = args[_KEYS[metric][1]]
    return len(first) if not hasattr(first, "shape") else int(np.shape(first)[0])


def _take(args: dict[str, Any], order: np.ndarray) -> dict[str, Any]:
    """The rows ``order`` of every argument (lists stay lists so ragged rows keep working)."""
    out = {}
    for k, v in args.items():
        if isinstance(v, (list, tuple)):
            out[k] = [v[i] for i in order]
        else:
            arr = v.detach().cpu().numpy() if type(v).__module__.startswith("torch") else np.asarray(v)
            out[k] = arr[order]
    return out


def _match(ids_a: list[str] | None, ids_b: list[str] | None, pa: int, pb: int, common_only: bool):
    """Row indices of a and b to pair, and the paired ids."""
    if ids_a is None or ids_b is None:
        if pa != pb:
            raise ValueError(f"a and b must hold the same problems: got {pa} and {pb} problems and no ids to "
                             "match them by (give 'ids' or eval-log records)")
        return np.arange(pa), np.arange(pb), None
    for ids, name in ((ids_a, "a"), (ids_b, "b")):
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise ValueError(f"problem ids of {name} must be unique, got {dup!r} twice")
        if len(ids) != (pa if name == "a" else pb):
            raise ValueError(f"ids of {name} must have one entry per problem, got {len(ids)} ids for "
                             f"{pa if name == 'a' else pb} problems")
    where_b = {pid: j for j, pid in enumerate(ids_b)}
    only_a = [i for i in ids_a if i not in where_b]
    only_b = sorted(set(ids_b) - set(ids_a))
    if (only_a or only_b) and not common_only:
        raise ValueError(f"a and b must hold the same problems: {len(only_a)} only in a (e.g. {only_a[:3]}), "
                         f"{len(only_b)} only in b (e.g. {only_b[:3]}); pass common_only=True to compare the "
                         "problems they share")
    keep = [i for i, pid in enumerate(ids_a) if pid in where_b]
    if not keep:
        raise ValueError("a and b share no problem id")
    return np.array(keep), np.array([where_b[ids_a[i]] for i in keep]), tuple(ids_a[i] for i in keep)


def _grid(ks: Any, name: str) -> np.ndarray | None:
    if ks is None:
        return None
    try:
        return est._ks(ks, 1)
    except (TypeError, ValueError) as err:
        raise type(err)(str(err).replace("ks", name, 1)) from None


def _per_problem(metric: str, args: dict[str, Any], ks: np.ndarray, kw: dict[str, Any]) -> np.ndarray:
    if metric == "pass":
        r = est.pass_at_k(args["num_samples"], args["num_correct"], ks, per_problem=True)
    elif metric == "maj":
        r = est.maj_at_k(args["answers"], args["correct"], ks, per_problem=True, **kw)
    else:
        r = est.best_of_k(args["scores"], args["correct"], ks, per_problem=True)
    return r.per_problem


def _min_samples(metric: str, args: dict[str, Any]) -> int:
    if metric == "pass":
        return int(np.min(est._as_array(args["num_samples"], "num_samples")))
    key = "answers" if metric == "maj" else "scores"
    rows = args[key]
    if isinstance(rows, (list, tuple)):
        return min(len(r) for r in rows)
    arr = est._as_array(rows, key)
    if metric == "maj":
        return int((arr != -2).sum(axis=1).min())
    return int((~np.isnan(arr.astype(np.float64))).sum(axis=1).min())


# ---- public API ------------------------------------------------------------------------------------------------

def compare(a: Any, b: Any, *, metric: str = "pass", ks_a: Any = None, ks_b: Any = None, confidence: float = 0.95,
            margin: float = 0.0, method: str = "bootstrap", bootstrap: int = 4000, seed: int = 0,
            tie: str = "random", abstain: str = "exclude", common_only: bool = False,
            per_problem: bool = False) -> CompareResult:
    """Paired difference a - b of pass@k / maj@k / best-of-k over the same problems, with bands and a test.

    Args:
        a, b: two evaluations of the same problems, each an eval-log record (``{"problems": [{"id", "answers",
            "correct", "scores"}, ...]}``, see ``ttc_fast.evallog``) or a mapping of the estimator's own
            arguments: ``num_samples``/``num_correct`` (pass), ``answers``/``correct`` (maj),
            ``scores``/``correct`` (bok), optionally ``ids``. With ids on both sides, problems are matched by id
            (b is reordered to a's order); otherwise by position.
        metric: ``"pass"``, ``"maj"`` or ``"bok"``.
        ks_a, ks_b: the grid. Both None: every k from 1 to the smallest n of either side. One given: the other
            is the same grid (ks_b None) or 1..min n_a (ks_a None). Either may be a single k, broadcast over the
            other: ``ks_a=range(1, 65), ks_b=1`` compares a's whole curve with b at one sample.
        confidence: level of the intervals and of the simultaneous band, in (0, 1).
        margin: the test is of "a >= b - margin" (a non-inferiority margin in accuracy units; 0 = a >= b).
        method: ``"bootstrap"`` (resampling problems) or ``"normal"`` (normal theory); see the module docstring.
        bootstrap: resamples (bootstrap) or Gaussian draws (normal) for the band, 2 .. 10**6.
        seed: seed of those draws (results depend on it only).
        tie, abstain: maj@k rules (see ``ttc_fast.maj_at_k``).
        common_only: with ids, compare only the problems both sides have (else differing id sets are an error).
        per_problem: also return the ``(P, K)`` matrix of differences.

    Cost: the two estimators (exact, all ks) plus ``bootstrap`` x P x K multiply-adds (one matrix product per
    block of resamples): 2,000 problems x 64 ks x 4,000 draws take ~50 ms.
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {list(_METRICS)}, got {metric!r}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not math.isfinite(margin):
        raise ValueError(f"margin must be a finite number, got {margin!r}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 2:
        raise ValueError(f"bootstrap must be an int >= 2, got {bootstrap!r}")
    kw = {"tie": tie, "abstain": abstain} if metric == "maj" else {}
    args_a, ids_a = _evaluation(a, metric, "a")
    args_b, ids_b = _evaluation(b, metric, "b")
    ia, ib, ids = _match(ids_a, ids_b, _num_problems(args_a, metric), _num_problems(args_b, metric), common_only)
    args_a, args_b = _take(args_a, ia), _take(args_b, ib)
    P = len(ia)
    if P < 2:
        raise ValueError(f"compare needs at least 2 paired problems, got {P}")
    ka, kb = _grid(ks_a, "ks_a"), _grid(ks_b, "ks_b")
    if ka is None and kb is None:
        top = min(_min_samples(metric, args_a), _min_samples(metric, args_b))
        ka = kb = np.arange(1, top + 1, dtype=np.int64)
    elif kb is None:
        kb = ka
    elif ka is None:
        ka = np.arange(1, _min_samples(metric, args_a) + 1, dtype=np.int64)
    if len(ka) == 1 and len(kb) > 1:
        ka = np.repeat(ka, len(kb))
    if len(kb) == 1 and len(ka) > 1:
        kb = np.repeat(kb, len(ka))
    if len(ka) != len(kb):
        raise ValueError(f"ks_a and ks_b must have one length (or one of them a single k), got {len(ka)} and "
                         f"{len(kb)}")
    est._check_bootstrap(int(bootstrap), len(ka))
    ua, inv_a = np.unique(ka, return_inverse=True)  # each estimator once per distinct k
    ub, inv_b = np.unique(kb, return_inverse=True)
    A = _per_problem(metric, args_a, ua, kw)[:, inv_a]
    B = _per_problem(metric, args_b, ub, kw)[:, inv_b]
    return _summarise(metric, ka, kb, A, B, confidence, float(margin), method, int(bootstrap), seed, ids,
                      per_problem)


def _summarise(metric: str, ka: np.ndarray, kb: np.ndarray, A: np.ndarray, B: np.ndarray, confidence: float,
               margin: float, method: str, draws: int, seed: int, ids: tuple[str, ...] | None,
               per_problem: bool) -> CompareResult:
    from scipy.stats import norm

    P = A.shape[0]
    D = A - B
    mean = D.mean(axis=0)
    sd = D.std(axis=0, ddof=1)
    se = sd / math.sqrt(P)
    se_a = A.std(axis=0, ddof=1) / math.sqrt(P)
    se_b = B.std(axis=0, ddof=1) / math.sqrt(P)
    alpha = 1.0 - confidence
    live = se > 1e-15 * np.maximum(1.0, np.abs(mean))  # columns with spread
    rng = np.random.default_rng(seed)
    if method == "normal":
        z = float(norm.ppf(1.0 - alpha / 2.0))
        low, high = mean - z * se, mean + z * se
        crit = _gaussian_max_quantile(D[:, live], confidence, draws, rng) if live.any() else 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(live, norm.sf((mean + margin) / np.where(live, se, 1.0)), 0.0)
    else:
        means = est.resample_means(D, draws, est._seed64(seed))  # (B, K)
        dev = means - mean
        low = np.quantile(means, alpha / 2.0, axis=0)
        high = np.quantile(means, 1.0 - alpha / 2.0, axis=0)
        if live.any():
            tmax = np.max(np.abs(dev[:, live]) / se[live], axis=1)
            crit = float(np.quantile(tmax, confidence))
        else:
            crit = 0.0
        p = (1.0 + (dev >= (mean + margin)[None, :]).sum(axis=0)) / (1.0 + draws)
    # grid points with no spread: every problem has the same difference
    p = np.where(live, p, np.where(mean + margin > 0, 0.0, 1.0))
    low = np.where(live, low, mean)
    high = np.where(live, high, mean)
    return CompareResult(
        metric=metric, ks=ka.astype(np.int64), ks_b=kb.astype(np.int64), mean=mean, stderr=se, low=low, high=high,
        band_low=mean - crit * se, band_high=mean + crit * se, p_value=p, mean_a=A.mean(axis=0),
        mean_b=B.mean(axis=0), stderr_a=se_a, stderr_b=se_b, stderr_unpaired=np.sqrt(se_a ** 2 + se_b ** 2),
        critical_value=crit, margin=margin, confidence=confidence, method=method, bootstrap=draws,
        num_problems=P, ids=ids, per_problem=D if per_problem else None)


def _gaussian_max_quantile(D: np.ndarray, confidence: float, draws: int, rng: np.random.Generator) -> float:
    """``confidence`` quantile of max_j |Z_j|, Z ~ N(0, R) with R the correlation matrix of D's columns.

    Z = G @ C with C the centred, scaled columns ((P, K), C^T C = R) and G standard normal ``(draws, P)`` when
    P <= K; otherwise through the eigendecomposition of the K x K matrix R (cheaper)."""
    P, K = D.shape
    C = (D - D.mean(axis=0)) / (D.std(axis=0, ddof=1) * math.sqrt(P - 1))
    if P <= K:
        factor = C
    else:
        w, V = np.linalg.eigh(C.T @ C)
        keep = w > 1e-12 * max(w.max(), 1e-300)
        factor = (V[:, keep] * np.sqrt(w[keep])).T  # (r, K), factor^T factor = R
    out = np.empty(draws)
    block = max(1, (1 << 22) // factor.shape[0])
    for b0 in range(0, draws, block):
        nb = min(block, draws - b0)
        out[b0:b0 + nb] = np.abs(rng.standard_normal((nb, factor.shape[0])) @ factor).max(axis=1)
    return float(np.quantile(out, confidence))
