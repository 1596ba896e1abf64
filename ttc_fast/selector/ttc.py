"""The TTC curve of one checkpoint: the accuracy at every K from the exact, unbiased estimators."""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ttc_fast.selector.types import HistoryEntry, accuracy_table


def as_answers(answers: Any) -> np.ndarray:
    """Answer cluster ids as int64 (P, N): integer arrays pass through, nested strings are clustered."""
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



def _hash(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(str((p.dtype.str, p.shape)).encode())
            h.update(np.ascontiguousarray(p).tobytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:24]


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)


def summarise(step: int, train_flops: float, *, strategy: str, ks_for: Callable[[int], list[int]],
              answers: Any = None, correct: Any = None, scores: Any = None,
              accuracy: Mapping[Any, Any] | None = None, accuracy_stderr: Mapping[Any, Any] | None = None,
              seed: int = 0) -> tuple[HistoryEntry, np.ndarray]:
    """One evaluation reduced to its TTC curve: a :class:`HistoryEntry` (eval_flops 0, filled by the caller)
    and the number of samples per problem (int ``(P,)``; empty for precomputed accuracies).

    Samples: ``correct`` bool (P, N); ``answers`` int (P, N) cluster ids (-1 abstention, -2 padding) or nested
    strings; ``scores`` float (P, N) for "bok"/"wmaj". The curve covers K in ``ks_for(min n)``. Or
    ``accuracy`` ``{K: value}`` / ``{strategy: {K: value}}`` (fractions in [0, 1]) with ``accuracy_stderr`` in
    the same shape (0 where absent). Raises ValueError/TypeError naming the argument for malformed input.
    """
    if accuracy is not None:
        if correct is not None or answers is not None or scores is not None:
            raise ValueError("give either answers/correct/scores or accuracy, not both")
        ks, curve = accuracy_table(accuracy, strategy, "accuracy")
        se = np.zeros_like(curve)
        if accuracy_stderr is not None:
            ks_se, s = accuracy_table(accuracy_stderr, strategy, "accuracy_stderr")
            se_map = dict(zip(ks_se.tolist(), s.tolist()))
            se = np.array([se_map.get(int(k), 0.0) for k in ks])
        keep = np.isin(ks, ks_for(int(ks.max())))
        ks, curve, se = ks[keep], curve[keep], se[keep]
        one = ks.size > 0 and ks[0] == 1
        acc1 = float(curve[0]) if one else math.nan
        acc1_se = float(se[0]) if one and accuracy_stderr is not None else math.nan
        digest = _hash("acc", strategy, ks, curve, se)
        return HistoryEntry(step, train_flops, acc1, acc1_se, ks, curve, se, 0.0, 0, data_hash=digest), \
            np.zeros(0, np.int64)
    if correct is None:
        raise ValueError("update needs correct (and answers/scores for the strategy) or accuracy")
    corr = _numpy(correct)
    if corr.ndim != 2:
        raise ValueError(f"correct must be 2-D (problems, samples), got shape {corr.shape}")
    if corr.shape[0] == 0 or corr.shape[1] == 0:
        raise ValueError(f"correct has no evaluations: shape {corr.shape} (problems, samples); an update needs "
                         f">= 1 problem with >= 1 sample")
    if corr.dtype != np.bool_:
        if not np.isin(corr, (0, 1)).all():
            raise ValueError("correct must be boolean (or 0/1)")
        corr = corr.astype(bool)
    ans = None
    if answers is not None:
        ans = as_answers(answers)
        if ans.shape != corr.shape:
            raise ValueError(f"answers shape {ans.shape} != correct shape {corr.shape}")
        if ans.size and ans.min() < -2:
            raise ValueError(f"answers must be cluster ids >= 0, -1 (abstention) or -2 (padding), "
                             f"got {int(ans.min())}")
    elif strategy in ("maj", "wmaj"):
        raise ValueError(f"strategy {strategy!r} needs answers (cluster ids)")
    sc = None
    if strategy in ("bok", "wmaj"):
        if scores is None:
            raise ValueError(f"strategy {strategy!r} needs scores")
        sc = _numpy(scores).astype(np.float64)
        if sc.shape != corr.shape:
            raise ValueError(f"scores shape {sc.shape} != correct shape {corr.shape}")
    valid = np.ones(corr.shape, dtype=bool) if ans is None else ans != -2
    n_i = valid.sum(axis=1)
    if n_i.min() == 0:
        raise ValueError(f"problem {int(np.argmin(n_i))} has no samples (every answer is -2 padding)")
    # single-sample accuracy = pass@1 = mean correctness per problem (equal to maj@1, bok@1 and wmaj@1)
    per1 = (corr & valid).sum(axis=1) / n_i
    P = corr.shape[0]
    acc1 = float(per1.mean())
    acc1_se = float(per1.std(ddof=1) / math.sqrt(P)) if P > 1 else 0.0
    ks = ks_for(int(n_i.min()))
    curve, se = ttc_curve(strategy, ans, corr, sc, ks, seed) if ks else (np.zeros(0), np.zeros(0))
    digest = _hash("samples", strategy, corr, ans if ans is not None else np.zeros(0, np.int64),
                   sc if sc is not None else np.zeros(0))
    return HistoryEntry(step, train_flops, acc1, acc1_se, np.asarray(ks, dtype=np.int64), curve, se, 0.0, P,
                        data_hash=digest), n_i
