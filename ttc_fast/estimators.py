"""Exact test-time-compute estimators: pass@k, maj@k, best-of-k for every k, and reward-weighted majority.

Every exact estimator averages the metric over all uniformly random k-subsets of a problem's n samples, so it
is the unbiased (minimum-variance U-statistic) estimate of the model's accuracy at k draws, for every k <= n.
The work happens in C++ (``csrc/estimators.h``, multithreaded, GIL released); this module validates inputs
and returns an :class:`EstimateResult`.

Conventions (all functions):

- Arrays are ``(num_problems, num_samples)``. ``answers`` holds answer-cluster ids (int): ``>= 0`` a cluster,
  ``-1`` no parseable answer (an *abstention*), ``-2`` padding for ragged problems (n differs per problem).
  String answers in Python lists are clustered per problem first (``None`` -> -1), see :func:`cluster_answers`.
- ``correct`` is bool with the shape of ``answers``; it must be constant within a cluster.
- ``ks=None`` means every k from 1 to ``min_i n_i``. A k larger than a problem's n raises ValueError unless
  ``lenient=True`` (then that problem's value is NaN and the dataset mean skips it).
- Inputs may be numpy arrays, (nested) Python lists or CPU torch tensors (torch is never imported here).
  Ragged nested lists are padded (answers -2, correct False, scores NaN for best-of-k).
- ``stderr`` = std(per-problem values, ddof=1) / sqrt(P), 0 when P == 1.
- ``bootstrap=B > 0`` resamples problems with replacement B times (seeded by ``seed``) and fills
  ``bootstrap_stderr`` (std of the B resampled means) and the 95% percentile interval ``ci_low``/``ci_high``.
  The resamples are streamed in blocks (memory ~32 MB plus the (B, K) resampled means); limits:
  ``B <= MAX_BOOTSTRAP`` (10**6) and ``B * K <= MAX_BOOTSTRAP_CELLS`` (5 * 10**7, 400 MB of means).
- Every long loop runs in C++ with the GIL released and polls for Ctrl-C every 20 ms: KeyboardInterrupt arrives
  within ~0.1 s (measured up to 124 ms on the loaded 2-core CI VM).

Sizes and costs (one core, see BENCHMARKS.md for measurements):

- pass@k: n <= 10**8 per problem; cost ~ (distinct (n, c) pairs) x (largest k), ~2 ms for 100,000 problems x
  n = 1,000 with every k.
- maj@k: n <= 10**7 per problem (the log-factorial table is 8 bytes per sample). Per problem the cost follows the
  ks asked for: only the numbers of correct draws x with a hypergeometric weight >= 1e-21 at some asked k are
  visited. With a few competing answers, every k at n = 10,000 takes ~0.1 s (1-2 s when 3-4 answers tie
  within a few samples); a flat spread of many equal-sized answers costs ~n^3 (n = 2,000: ~1-2 s, n = 10,000:
  minutes, interruptible).
- best-of-k: O(n log n + K n) per problem. weighted maj: O(K x draws x k) per problem, ``draws <= 10**7``.
- Per-problem matrices (maj@k, best-of-k, weighted maj, and ``per_problem=True``) hold P x K doubles:
  P x K <= MAX_CELLS (2.5 * 10**8, 2 GB).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import warnings

import numpy as np

from ttc_fast import _C

__all__ = ["EstimateResult", "pass_at_k", "maj_at_k", "maj_at_k_counts", "best_of_k", "weighted_maj_at_k",
           "cluster_answers"]

_TIES = {"random": 0, "strict": 1, "optimistic": 2}
MAX_BOOTSTRAP = 10**6
MAX_BOOTSTRAP_CELLS = 5 * 10**7
MAX_CELLS = 250_000_000
MAX_DRAWS = 10**7
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_ABSTAIN = {"exclude": 0, "vote": 1}


@dataclass(frozen=True)
class EstimateResult:
    """Accuracy curve of one estimator over a dataset.

    Attributes:
        metric: ``"pass"`` | ``"maj"`` | ``"bok"`` | ``"wmaj"``.
        ks: int64 ``(K,)``, the numbers of samples drawn.
        mean: float64 ``(K,)``, dataset mean over problems (problems with NaN, lenient k > n, skipped).
        stderr: float64 ``(K,)``, std(per-problem values, ddof=1) / sqrt(P); 0 when P == 1.
        per_problem: float64 ``(P, K)`` when requested, else None.
        mc_stderr: ``(K,)`` Monte Carlo standard error of ``mean`` (weighted_maj_at_k only), else None.
        num_problems: P.
        bootstrap_stderr, ci_low, ci_high: ``(K,)`` from ``bootstrap=B`` (std of resampled means, 2.5% and
            97.5% percentiles), else None.
    """

    metric: str
    ks: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    per_problem: np.ndarray | None
    mc_stderr: np.ndarray | None
    num_problems: int
    bootstrap_stderr: np.ndarray | None = None
    ci_low: np.ndarray | None = None
    ci_high: np.ndarray | None = None

    def as_rows(self) -> list[tuple[int, float, float]]:
        """[(k, mean, stderr), ...] for tables."""
        return [(int(k), float(m), float(s)) for k, m, s in zip(self.ks, self.mean, self.stderr)]


# ---- input handling ------------------------------------------------------------------------------------------

def _as_array(x: Any, name: str) -> np.ndarray:
    """numpy view of a numpy array, (nested) list or torch tensor (torch is not imported)."""
    if type(x).__module__.startswith("torch"):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name} must be rectangular (pad ragged rows with -2), got {type(x).__name__}: {err}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def _pad_ragged(x: Any, fill: Any) -> Any:
    """Nested Python lists with rows of different lengths -> rectangular lists padded with ``fill``."""
    if isinstance(x, (list, tuple)) and x and all(isinstance(r, (list, tuple)) for r in x):
        width = max(len(r) for r in x)
        if any(len(r) != width for r in x):
            return [list(r) + [fill] * (width - len(r)) for r in x]
    return x


def _big_int(x: Any) -> int | None:
    """The first Python int outside int64 in a (nested) list, else None."""
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
        elif isinstance(v, int) and not isinstance(v, bool) and not _INT64_MIN <= v <= _INT64_MAX:
            return v
    return None


def _int_array(x: Any, name: str, ndim: int) -> np.ndarray:
    arr = _as_array(x, name)
    if isinstance(x, (list, tuple)) and arr.dtype.kind in "fO":  # numpy turns ints >= 2^63 into floats
        big = _big_int(x)
        if big is not None:
            raise ValueError(f"{name} must fit in int64 ([-2^63, 2^63 - 1]), got {big}")
    if arr.dtype == object:  # Python ints beyond 64 bits (or mixed types)
        flat = arr.ravel().tolist()
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in flat):
            big = next((int(v) for v in flat if not _INT64_MIN <= int(v) <= _INT64_MAX), None)
            if big is not None:
                raise ValueError(f"{name} must fit in int64 ([-2^63, 2^63 - 1]), got {big}")
            arr = np.array(flat, dtype=np.int64).reshape(arr.shape)
    if arr.dtype == bool or arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.size and int(arr.max()) > _INT64_MAX:
        raise ValueError(f"{name} must fit in int64 ([-2^63, 2^63 - 1]), got {int(arr.max())}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _bool_array(x: Any, name: str, shape: tuple[int, ...], like: str) -> np.ndarray:
    arr = _as_array(x, name)
    if arr.dtype != bool:
        if arr.dtype.kind in "iu" and np.isin(arr, (0, 1)).all():
            arr = arr.astype(bool)
        else:
            raise TypeError(f"{name} must be bool (or 0/1 integers), got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have the shape of {like} {shape}, got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def _float_array(x: Any, name: str, shape: tuple[int, ...], like: str) -> np.ndarray:
    arr = _as_array(x, name)
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be real numbers, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have the shape of {like} {shape}, got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _ks(ks: Any, n_min: int) -> np.ndarray:
    if ks is None:
        if n_min < 1:
            raise ValueError(f"ks=None needs every problem to have >= 1 sample, got min n = {n_min}")
        return np.arange(1, n_min + 1, dtype=np.int64)
    if isinstance(ks, (int, np.integer)) and not isinstance(ks, bool):
        ks = [int(ks)]
    arr = _as_array(ks, "ks")
    if arr.dtype == bool or arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise TypeError(f"ks must be an int or a 1-D sequence of ints, got {ks!r}")
    if (arr < 1).any():
        raise ValueError(f"ks must be >= 1, got {arr[arr < 1][0]}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _check_k_le_n(ks: np.ndarray, n: np.ndarray, lenient: bool) -> None:
    if not lenient and ks.max() > n.min():
        p = int(np.argmin(n))
        raise ValueError(f"ks contains k={int(ks.max())} > n={int(n[p])} samples of problem {p} "
                         "(pass lenient=True for NaN)")


def _tie(tie: str) -> int:
    if tie not in _TIES:
        raise ValueError(f"tie must be one of {sorted(_TIES)}, got {tie!r}")
    return _TIES[tie]


def _abstain(abstain: str) -> int:
    if abstain not in _ABSTAIN:
        raise ValueError(f"abstain must be one of {sorted(_ABSTAIN)}, got {abstain!r}")
    return _ABSTAIN[abstain]


def _answers(answers: Any) -> np.ndarray:
    """int64 (P, N) cluster ids; string answers (Python lists) are clustered."""
    if isinstance(answers, (list, tuple)) and _has_strings(answers):
        return cluster_answers(answers)
    arr = _as_array(answers, "answers")
    if arr.dtype.kind in "US" or (arr.dtype == object and _big_int(arr.ravel().tolist()) is None):
        return cluster_answers(arr.tolist())
    arr = _int_array(answers if isinstance(answers, (list, tuple)) else arr, "answers", 2)
    bad = arr < -2
    if bad.any():
        raise ValueError(f"answers must be >= -2 (-1 abstain, -2 padding), got {int(arr[bad][0])}")
    return arr


def _has_strings(rows: Sequence) -> bool:
    for row in rows:
        if isinstance(row, str):
            return True
        if isinstance(row, (list, tuple)):
            if any(isinstance(a, str) for a in row):
                return True
    return False


def _lengths(answers: np.ndarray) -> np.ndarray:
    return (answers != -2).sum(axis=1)


def _summary(metric: str, ks: np.ndarray, values: np.ndarray, per_problem: bool, bootstrap: int, seed: int,
             mc_var: np.ndarray | None = None) -> EstimateResult:
    """Mean/stderr (NaN skipped) of a (P, K) matrix, plus optional bootstrap."""
    P = values.shape[0]
    ok = ~np.isnan(values)
    count = ok.sum(axis=0)
    filled = np.where(ok, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / count
        m2 = (np.where(ok, values - mean, 0.0) ** 2).sum(axis=0)
        stderr = np.where(count > 1, np.sqrt(m2 / np.maximum(count - 1, 1) / np.maximum(count, 1)), 0.0)
    mc = None
    if mc_var is not None:
        mc = np.sqrt(np.where(ok, mc_var, 0.0).sum(axis=0)) / np.maximum(count, 1)
    boot = _bootstrap(values, bootstrap, seed) if bootstrap else (None, None, None)
    return EstimateResult(metric, ks, mean, stderr, values if per_problem else None, mc, P, *boot)


def _check_bootstrap(B: Any, K: int, name: str = "bootstrap") -> int:
    if isinstance(B, bool) or not isinstance(B, (int, np.integer)) or B < 0:
        raise ValueError(f"{name} must be a non-negative int, got {B!r}")
    if B > MAX_BOOTSTRAP:
        raise ValueError(f"{name} must be <= {MAX_BOOTSTRAP:,}, got {B:,}")
    if B * K > MAX_BOOTSTRAP_CELLS:
        raise ValueError(f"{name} x number of ks must be <= {MAX_BOOTSTRAP_CELLS:,} (memory of the resampled means), "
                         f"got {B:,} x {K:,} = {B * K:,}")
    return int(B)


def _seed64(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    return int(seed) & 0xFFFFFFFFFFFFFFFF


def resample_means(values: np.ndarray, B: int, seed: int) -> np.ndarray:
    """``(B, K)`` means of B bootstrap resamples of the rows (problems) of ``values`` ``(P, K)``, NaN entries skipped.

    Resample counts come from ``_C.bootstrap_counts`` (replicate b depends only on (seed, b)); small problems
    (B x P x K <= 5e7) are summed directly in C++, larger ones in blocks of about 4 M counts, each block a matrix
    product, so memory stays ~32 MB plus the output. Both give the same resamples.
    """
    P, K = values.shape
    B = _check_bootstrap(B, K)
    if B * P * K <= 50_000_000:  # small: direct sums in C++ (a matrix product's thread start-up would dominate)
        return _C.bootstrap_means(np.ascontiguousarray(values, dtype=np.float64), 0, B, _seed64(seed))
    ok = ~np.isnan(values)
    has_nan = not ok.all()
    vals = np.where(ok, values, 0.0) if has_nan else np.ascontiguousarray(values, dtype=np.float64)
    okf = ok.astype(np.float64) if has_nan else None
    out = np.empty((B, K))
    block = max(1, min(B, (1 << 22) // P))
    s64 = _seed64(seed)
    for b0 in range(0, B, block):
        nb = min(block, B - b0)
        w = _C.bootstrap_counts(P, b0, nb, s64)  # (nb, P)
        sums = w @ vals
        if has_nan:
            with np.errstate(invalid="ignore", divide="ignore"):
                out[b0:b0 + nb] = sums / (w @ okf)
        else:
            out[b0:b0 + nb] = sums / P
    return out


def _bootstrap(values: np.ndarray, B: int, seed: int):
    means = resample_means(values, B, seed)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (lenient k > every n)
        return (np.nanstd(means, axis=0, ddof=1) if B > 1 else np.zeros(values.shape[1]),
                np.nanpercentile(means, 2.5, axis=0), np.nanpercentile(means, 97.5, axis=0))


def _check_cells(P: int, K: int) -> None:
    if P * K > MAX_CELLS:
        raise ValueError(f"num_problems x number of ks must be <= {MAX_CELLS:,} (the (P, K) float64 matrix), "
                         f"got {P:,} x {K:,} = {P * K:,}; ask for fewer ks or split the problems")


# ---- public API ----------------------------------------------------------------------------------------------

def pass_at_k(num_samples: Any, num_correct: Any, ks: Any = None, *, per_problem: bool = False,
              lenient: bool = False, bootstrap: int = 0, seed: int = 0) -> EstimateResult:
    """Unbiased pass@k = 1 - C(n-c, k) / C(n, k) for every k in ``ks`` (Chen et al. 2021).

    Args:
        num_samples: int ``(P,)`` samples per problem n_i (or a scalar, broadcast over ``num_correct``).
        num_correct: int ``(P,)`` correct samples per problem, 0 <= c_i <= n_i.
        ks: ints >= 1; None = 1..min_i n_i.
        per_problem: also return the ``(P, K)`` matrix.
        lenient: k > n_i gives NaN for that problem instead of raising.
        bootstrap, seed: percentile bootstrap over problems (see module docstring).

    Computed per distinct (n, c) pair by multiplicative recurrences over k (no overflow, monotone in k, pass@1 =
    c/n to half an ulp; rounding grows ~k ulp): n <= 10**8, cost (distinct pairs) x (largest k).
    """
    c = _int_array(num_correct, "num_correct", 1) if np.ndim(num_correct) else _int_array([num_correct],
                                                                                         "num_correct", 1)
    n_in = _as_array(num_samples, "num_samples")
    if n_in.ndim == 0:
        n_in = np.full(c.shape, n_in)
    n = _int_array(n_in, "num_samples", 1)
    if n.shape != c.shape:
        raise ValueError(f"num_correct must have the shape of num_samples {n.shape}, got {c.shape}")
    if (n < 0).any():
        raise ValueError(f"num_samples must be >= 0, got {int(n[n < 0][0])}")
    if (c < 0).any():
        raise ValueError(f"num_correct must be >= 0, got {int(c[c < 0][0])}")
    if (c > n).any():
        i = int(np.argmax(c > n))
        raise ValueError(f"num_correct must be <= num_samples, got c={int(c[i])} > n={int(n[i])} (problem {i})")
    k_arr = _ks(ks, int(n.min()))
    _check_k_le_n(k_arr, n, lenient)
    if bootstrap:
        _check_bootstrap(bootstrap, len(k_arr))
    want = per_problem or bootstrap > 0
    if want:
        _check_cells(len(n), len(k_arr))
    mean, m2, count, per = _C.pass_at_k(n, c, k_arr, lenient, want)
    if bootstrap:
        return _summary("pass", k_arr, per, per_problem, bootstrap, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        stderr = np.where(count > 1, np.sqrt(m2 / np.maximum(count - 1, 1) / np.maximum(count, 1)), 0.0)
    return EstimateResult("pass", k_arr, mean, stderr, per if per_problem else None, None, int(n.shape[0]))


MAJ_MAX_SECONDS = 60.0   # default refusal threshold of maj_at_k / maj_at_k_counts (see max_seconds)
_MAJ_SECONDS_PER_OP = 20e-9   # slow end of 4.5-24 ns per counted operation (benchmarks: n = 500-4,000, 4 structures)
_MAJ_CHECK_N = 1000            # below this many samples per problem no call can be slow per problem


def _check_maj_work(call: Any, n_max: int, max_seconds: float | None) -> None:
    """Refuses a maj@k call whose counted work (``call(path=3)``: the C++ estimate of the auto path, in
    operations, per problem) exceeds ``max_seconds`` at ``_MAJ_SECONDS_PER_OP``."""
    if max_seconds is None:
        return
    if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float)) or not max_seconds > 0:
        raise ValueError(f"max_seconds must be a positive number of seconds or None, got {max_seconds!r}")
    if n_max < _MAJ_CHECK_N:
        return
    work = np.nansum(np.asarray(call(3)), axis=1)   # the work sits in the smallest k's column, the rest is 0 / NaN
    seconds = float(work.sum()) * _MAJ_SECONDS_PER_OP
    if seconds > max_seconds:
        p = int(np.argmax(work))
        raise ValueError(
            f"maj@k would take about {seconds:.0f} s here (more than max_seconds={max_seconds:g}); the costliest "
            f"problem, index {p}, alone about {work[p] * _MAJ_SECONDS_PER_OP:.0f} s: many answers of about the same "
            f"size tie with the correct one, and the exact tie-breaking then costs ~n^3 even for one k. Ask for "
            f"fewer or smaller ks, use tie='strict' or 'optimistic' (no tie-breaking integral), or pass "
            f"max_seconds=None to run it anyway (Ctrl-C interrupts it).")


def maj_at_k(answers: Any, correct: Any, ks: Any = None, *, tie: str = "random", abstain: str = "exclude",
             per_problem: bool = False, lenient: bool = False, bootstrap: int = 0, seed: int = 0,
             max_seconds: float | None = MAJ_MAX_SECONDS) -> EstimateResult:
    """Exact maj@k (plurality vote over a uniformly random k-subset) for every k in ``ks``.

    Args:
        answers: int ``(P, N)`` cluster ids (-1 abstain, -2 padding) or string answers as nested lists.
        correct: bool ``(P, N)``, constant within a cluster.
        tie: credit when t wrong clusters tie with the correct one: ``"random"`` 1/(t+1), ``"strict"`` 0 unless
            t = 0, ``"optimistic"`` 1.
        abstain: ``"exclude"`` abstentions never vote; ``"vote"`` they vote as one more (wrong) cluster.
        max_seconds: when some problem has n >= 1,000 samples, the call first counts the work it would do
            (1-6 ms per such problem) and refuses with a ValueError if that is more than about this many seconds
            (at 20 ns per counted operation, the slow end measured on a 2-core EPYC VM); None runs anything
            (interruptible with Ctrl-C).
        Other arguments: see :func:`pass_at_k`.

    A k-subset scores only if it contains at least one correct sample. Exact (no sampling; terms below 1e-21
    are dropped, so values are exact to ~1e-15 absolute): n <= 10**7 per problem, cost following the ks asked
    for (see the module docstring; every k at n = 10,000 takes ~0.1-2 s per problem unless many answers of
    equal size compete).
    """
    a = _answers(_pad_ragged(answers, -2))
    cor = _bool_array(_pad_ragged(correct, False), "correct", a.shape, "answers")
    k_arr = _ks(ks, int(_lengths(a).min()))
    _check_k_le_n(k_arr, _lengths(a), lenient)
    _check_cells(a.shape[0], len(k_arr))
    if bootstrap:
        _check_bootstrap(bootstrap, len(k_arr))
    _check_maj_work(lambda path: _C.maj_at_k(a, cor, k_arr, _tie(tie), _abstain(abstain), lenient, path=path),
                    int(_lengths(a).max()), max_seconds)
    values = _C.maj_at_k(a, cor, k_arr, _tie(tie), _abstain(abstain), lenient)
    return _summary("maj", k_arr, values, per_problem, bootstrap, seed)


def maj_at_k_counts(cluster_sizes: Any, cluster_correct: Any, abstentions: Any = None, ks: Any = None, *,
                    tie: str = "random", abstain: str = "exclude", per_problem: bool = False, lenient: bool = False,
                    bootstrap: int = 0, seed: int = 0, max_seconds: float | None = MAJ_MAX_SECONDS) -> EstimateResult:
    """Exact maj@k from cluster counts (e.g. ``ttc_fast.ops.vote`` output).

    Args:
        cluster_sizes: int ``(P, M)`` samples per answer cluster, zero-padded.
        cluster_correct: bool ``(P, M)`` whether each cluster is a correct answer.
        abstentions: int ``(P,)`` samples without an answer, or None (= 0).
        Other arguments: see :func:`maj_at_k`. n_i = sum of sizes + abstentions.
    """
    sizes = _int_array(cluster_sizes, "cluster_sizes", 2)
    if (sizes < 0).any():
        raise ValueError(f"cluster_sizes must be >= 0, got {int(sizes[sizes < 0][0])}")
    cor = _bool_array(cluster_correct, "cluster_correct", sizes.shape, "cluster_sizes")
    ab = None
    if abstentions is not None:
        ab = _int_array(abstentions, "abstentions", 1)
        if ab.shape != (sizes.shape[0],):
            raise ValueError(f"abstentions must have shape ({sizes.shape[0]},), got {ab.shape}")
        if (ab < 0).any():
            raise ValueError(f"abstentions must be >= 0, got {int(ab[ab < 0][0])}")
    n = sizes.sum(axis=1) + (ab if ab is not None else 0)
    k_arr = _ks(ks, int(n.min()))
    _check_k_le_n(k_arr, n, lenient)
    _check_cells(sizes.shape[0], len(k_arr))
    if bootstrap:
        _check_bootstrap(bootstrap, len(k_arr))
    _check_maj_work(lambda path: _C.maj_at_k_counts(sizes, cor, ab, k_arr, _tie(tie), _abstain(abstain), lenient,
                                                    path=path), int(n.max()), max_seconds)
    values = _C.maj_at_k_counts(sizes, cor, ab, k_arr, _tie(tie), _abstain(abstain), lenient)
    return _summary("maj", k_arr, values, per_problem, bootstrap, seed)


def best_of_k(scores: Any, correct: Any, ks: Any = None, *, per_problem: bool = False, lenient: bool = False,
              bootstrap: int = 0, seed: int = 0) -> EstimateResult:
    """Exact best-of-k with a verifier/reward score: the top-scored of k random samples (ties at random).

    Args:
        scores: float ``(P, N)``, finite; ragged rows padded with NaN *at the end* (a NaN elsewhere is an error).
        correct: bool ``(P, N)``.
        Other arguments: see :func:`pass_at_k`. With score = correctness this equals pass@k.
    """
    s = _as_array(_pad_ragged(scores, np.nan), "scores")
    if s.dtype == bool or s.dtype.kind not in "iuf":
        raise TypeError(f"scores must be real numbers, got dtype {s.dtype}")
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (num_problems, num_samples), got shape {s.shape}")
    s = np.ascontiguousarray(s, dtype=np.float64)
    cor = _bool_array(_pad_ragged(correct, False), "correct", s.shape, "scores")
    if np.isinf(s).any():
        raise ValueError(f"scores must be finite, got {s[np.isinf(s)][0]}")
    nan = np.isnan(s)
    lengths = s.shape[1] - nan.sum(axis=1)
    if (nan != (np.arange(s.shape[1])[None, :] >= lengths[:, None])).any():
        p = int(np.argmax((nan != (np.arange(s.shape[1])[None, :] >= lengths[:, None])).any(axis=1)))
        raise ValueError(f"scores contains NaN inside row {p} (NaN is only allowed as trailing padding)")
    k_arr = _ks(ks, int(lengths.min()))
    _check_k_le_n(k_arr, lengths, lenient)
    _check_cells(s.shape[0], len(k_arr))
    if bootstrap:
        _check_bootstrap(bootstrap, len(k_arr))
    values = _C.best_of_k(s, cor, lengths.astype(np.int64), k_arr, lenient)
    return _summary("bok", k_arr, values, per_problem, bootstrap, seed)


def weighted_maj_at_k(answers: Any, scores: Any, correct: Any, ks: Any = None, *, draws: int = 1000, seed: int = 0,
                      per_problem: bool = False, lenient: bool = False, bootstrap: int = 0) -> EstimateResult:
    """Reward-weighted majority@k by seeded Monte Carlo (no closed form), with its Monte Carlo error.

    Each of ``draws`` uniform k-subsets per problem and k: every non-abstaining sample adds its score to its
    cluster; the largest sum wins (exact ties at random); credit if the winner is correct (0 if all abstain).
    ``mc_stderr`` (K,) is the Monte Carlo standard error of ``mean``; results depend only on ``seed`` (not on
    the thread count). Shapes as in :func:`maj_at_k`; ``scores`` float ``(P, N)``, finite and >= 0 where not
    padding; ``draws`` in [1, 10**7] (cost ~ P x K x draws x k, interruptible).
    """
    a = _answers(_pad_ragged(answers, -2))
    s = _float_array(_pad_ragged(scores, 0.0), "scores", a.shape, "answers")
    cor = _bool_array(_pad_ragged(correct, False), "correct", a.shape, "answers")
    if not isinstance(draws, (int, np.integer)) or isinstance(draws, bool) or not 1 <= draws <= MAX_DRAWS:
        raise ValueError(f"draws must be an int in [1, {MAX_DRAWS:,}], got {draws!r}")
    valid = a != -2
    if (~np.isfinite(s[valid])).any():
        raise ValueError(f"scores must be finite, got {s[valid][~np.isfinite(s[valid])][0]}")
    if (s[valid] < 0).any():
        raise ValueError(f"scores must be >= 0 (they are vote weights), got {s[valid][s[valid] < 0][0]}")
    k_arr = _ks(ks, int(_lengths(a).min()))
    _check_k_le_n(k_arr, _lengths(a), lenient)
    _check_cells(a.shape[0], len(k_arr))
    if bootstrap:
        _check_bootstrap(bootstrap, len(k_arr))
    values, var = _C.weighted_maj_at_k(a, s, cor, k_arr, int(draws), _seed64(seed), lenient)
    return _summary("wmaj", k_arr, values, per_problem, bootstrap, seed, mc_var=var)


def cluster_answers(answers: Sequence[Sequence[str | None]]) -> np.ndarray:
    """Cluster string answers per problem: ``(P, N)`` int64 ids (0, 1, ... in order of first appearance).

    ``None`` (or -1) -> -1 (abstention); -2 (or a ragged row's missing tail) -> -2 padding. Answers are compared as exact strings
    (normalise them first, e.g. with ``ttc_fast.extract``).
    """
    if isinstance(answers, (str, bytes)) or not isinstance(answers, Sequence):
        raise TypeError(f"answers must be a sequence of sequences of str/None, got {type(answers).__name__}")
    if len(answers) == 0:
        raise ValueError("answers must not be empty, got 0 problems")
    width = 0
    for p, row in enumerate(answers):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise TypeError(f"answers[{p}] must be a sequence of str/None, got {type(row).__name__}")
        width = max(width, len(row))
    if width == 0:
        raise ValueError("answers must not be empty, got only empty rows")
    out = np.full((len(answers), width), -2, dtype=np.int64)
    for p, row in enumerate(answers):
        ids: dict[str, int] = {}
        for i, ans in enumerate(row):
            if ans is None:
                out[p, i] = -1
            elif isinstance(ans, (int, np.integer)) and not isinstance(ans, bool) and ans in (-1, -2):
                out[p, i] = ans  # already an abstention / padding marker
            elif isinstance(ans, str):
                out[p, i] = ids.setdefault(ans, len(ids))
            else:
                raise TypeError(f"answers[{p}][{i}] must be str or None, got {type(ans).__name__} {ans!r}")
    return out
