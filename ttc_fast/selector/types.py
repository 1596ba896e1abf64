"""Result types of the selector, in one place: :class:`Decision` (what an update answers, with a
machine-readable :class:`Reason`), :class:`HistoryEntry` (one evaluation as the selector saw it; what the journal
stores), and the small validators the selector's modules share."""
from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

STRATEGIES = ("maj", "pass", "bok", "wmaj")
METHODS = ("exact", "sigmoid")


class Reason(str, enum.Enum):
    """Why a decision is what it is (``Decision.reason_code``; ``Decision.reason`` says it in words)."""

    STOP = "stop"                          # qualifying with enough evidence: stop and deploy (checkpoint, K)
    QUALIFIES = "qualifies"                # qualifying, waiting for patience (more evidence)
    BELOW_TARGET = "below_target"          # no K <= k_max is confidently at least the projected accuracy
    FLOPS = "flops"                        # a K qualifies but the FLOPs condition fails or is unknown
    NO_PROJECTION = "no_projection"        # too few checkpoints (or the fit failed)
    NO_SAMPLES = "no_samples"              # the evaluation gave no TTC curve
    NON_FINITE = "non_finite"              # non-finite single-sample accuracy
    BUDGET_REACHED = "budget_reached"      # the checkpoint is at the budget: nothing left to save
    END_OF_RUN = "end_of_run"              # offline: the log ended without a stop


def format_pct(x: float) -> str:
    """A fraction as a percentage with two decimals ("n/a" when not finite)."""
    return "n/a" if not math.isfinite(x) else f"{100 * x:.2f}%"


def format_acc(x: float, se: float) -> str:
    """An accuracy with its standard error in points ("n/a" when not finite; no error when it is 0 or NaN)."""
    if not math.isfinite(x):
        return "n/a"
    return f"{100 * x:.2f}%" + (f" ± {100 * se:.2f}" if math.isfinite(se) and se > 0 else "")


@dataclass(frozen=True)
class Decision:
    """What the selector says after one evaluation (or, offline, for a whole run).

    ``step``/``train_flops``: the checkpoint (deploy this one when ``should_stop``). ``k``: K* samples per query
    (None when no K qualifies; offline at the end of a run, K reaching the target or 1). Accuracies are fractions;
    ``*_stderr`` are standard errors over problems (nan when unknown). ``projected_accuracy``: A_hat, the fitted
    single-sample accuracy at the budget (nan without a projection), ``projected_upper`` its one-sided upper
    bound at the selector's confidence; ``probability``: the probability that the deployed (checkpoint, K) is at
    least as accurate as the full run (for the best K when none qualifies; nan without one). FLOPs: ``flops_saved`` is a fraction of
    ``budget_flops``, ``*_abs`` absolute FLOPs; ``net_*`` after the evaluation FLOPs ``eval_flops`` spent so far.
    ``break_even_queries``: queries served with K* samples before the saved training FLOPs are used up.
    """

    should_stop: bool
    step: int
    train_flops: float
    k: int | None
    strategy: str
    method: str
    projected_accuracy: float
    projected_stderr: float
    accuracy: float
    accuracy_stderr: float
    accuracy_k1: float
    budget_flops: float
    flops_saved: float
    flops_saved_abs: float
    net_flops_saved: float
    net_flops_saved_abs: float
    eval_flops: float
    extra_inference_flops_per_query: float
    break_even_queries: float
    net_break_even_queries: float
    qualifies: bool
    patience_count: int
    reason: str
    projected_upper: float = math.nan
    probability: float = math.nan
    reason_code: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Decision:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def summary(self) -> str:
        """A few human-readable lines (what ``ttc-fast select`` prints)."""
        pct, acc = format_pct, format_acc

        k = "none" if self.k is None else str(self.k)
        lines = [
            f"decision: {'STOP' if self.should_stop else 'continue'} at step {self.step} "
            f"({self.train_flops:.3e} training FLOPs of {self.budget_flops:.3e})",
            f"deploy: K = {k} samples per query ({self.strategy}@K, method {self.method})",
            f"accuracy at K: {acc(self.accuracy, self.accuracy_stderr)}; single-sample "
            f"{acc(self.accuracy_k1, float('nan'))}; projected at budget "
            f"{acc(self.projected_accuracy, self.projected_stderr)}"
            + (f" (upper bound {pct(self.projected_upper)})" if math.isfinite(self.projected_upper) else ""),
            *([f"P(deployed >= full run): {self.probability:.4f}"] if math.isfinite(self.probability) else []),
            f"training FLOPs saved: {pct(self.flops_saved)} ({self.flops_saved_abs:.3e}); net of evaluation "
            f"({self.eval_flops:.3e}): {pct(self.net_flops_saved)}",
            f"break-even: {self.break_even_queries:.3e} queries (net {self.net_break_even_queries:.3e})",
            f"patience: {self.patience_count} consecutive qualifying evaluations",
            f"reason: {self.reason}",
        ]
        return "\n".join(lines)


@dataclass
class HistoryEntry:
    """One evaluation as the selector saw it (``TTCEarlyStopping.history``); what the journal stores.

    ``ks``/``curve``/``curve_stderr``: the TTC curve of this checkpoint (accuracy at K, stderr over problems;
    empty when not computed). ``kept``: used by the projection (method "sigmoid": survived the paper's monotone
    filter). ``projection``: the :class:`~ttc_fast.selector.projection.Projection` made at this evaluation
    (method "exact"; None without one), from ``fit_points`` points. ``fit``: (a, b, c) of the paper's saturation
    fit on normalised FLOPs x = F / budget (method "sigmoid"); ``sigmoid_fit``: (L, s, x0). ``data_hash``: a
    content hash of the evaluation's inputs (a resumed journal checks re-sent evaluations against it).
    ``qualified``: the K that qualified at level ``confidence`` at this evaluation (method "exact"; the
    deployed K must have qualified at every evaluation of the run of evidence).
    """

    step: int
    train_flops: float
    acc1: float
    acc1_stderr: float
    ks: np.ndarray
    curve: np.ndarray
    curve_stderr: np.ndarray
    eval_flops: float
    num_problems: int
    kept: bool = False
    fit: tuple[float, float, float] | None = None
    fit_points: int = 0
    sigmoid_fit: tuple[float, float, float] | None = None
    projection: Any = None
    data_hash: str = ""
    decision: Decision | None = None
    qualified: tuple[int, ...] = ()

    def to_record(self) -> dict[str, Any]:
        return {"type": "update", "step": self.step, "data_hash": self.data_hash,
                "train_flops": self.train_flops, "acc1": self.acc1,
                "acc1_stderr": self.acc1_stderr, "ks": [int(k) for k in self.ks],
                "curve": [float(v) for v in self.curve], "curve_stderr": [float(v) for v in self.curve_stderr],
                "eval_flops": self.eval_flops, "num_problems": self.num_problems,
                "decision": None if self.decision is None else self.decision.to_dict()}


# ---- small validators shared by the selector's modules ----------------------------------------------------
def finite_or_zero(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def check_int(value: Any, name: str, lo: int | None = None) -> int:
    """``value`` as an int (bools and floats refused: TypeError), >= ``lo`` when given (ValueError)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if lo is not None and value < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    return int(value)


def check_number(value: Any, name: str, lo: float = -math.inf, hi: float = math.inf, *,
                 lo_open: bool = False, hi_open: bool = False, none: bool = False) -> float | None:
    """``value`` as a finite float in the interval (bools refused); None passes when ``none``."""
    if value is None and none:
        return None
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    v = float(value) if ok else math.nan
    if not ok or not math.isfinite(v) or v < lo or v > hi or (lo_open and v == lo) or (hi_open and v == hi):
        lb, rb = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must be a finite number in {lb}{lo:g}, {hi:g}{rb}"
                         f"{' or None' if none else ''}, got {value!r}")
    return v


def accuracy_table(acc: Mapping[Any, Any], strategy: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """{k: v} or {strategy: {k: v}} -> sorted (ks int64, values float64)."""
    if not isinstance(acc, Mapping) or not acc:
        raise ValueError(f"{name} must be a non-empty mapping {{k: value}} or {{strategy: {{k: value}}}}")
    if any(isinstance(v, Mapping) for v in acc.values()):
        if strategy not in acc:
            raise ValueError(f"{name} has no entry for strategy {strategy!r} (has {', '.join(map(str, acc))})")
        acc = acc[strategy]
        if not isinstance(acc, Mapping) or not acc:
            raise ValueError(f"{name}.{strategy} must be a non-empty mapping {{k: value}}")
    items = []
    for k, v in acc.items():
        try:
            kf = float(k)
        except (TypeError, ValueError):
            kf = math.nan
        if isinstance(k, bool) or not math.isfinite(kf) or kf != int(kf) or kf < 1:
            raise ValueError(f"{name}: K must be an integer >= 1 (a number of samples), got {k!r}")
        if v is None:
            v = math.nan
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name}[{k}] must be a number, got {v!r}")
        if not (math.isnan(v) or 0.0 <= v <= 1.0):
            raise ValueError(f"{name}[{k}] must be an accuracy in [0, 1] (or NaN), got {v!r}")
        items.append((int(kf), float(v)))
    if len({k for k, _ in items}) != len(items):
        raise ValueError(f"{name}: K appears twice ({sorted(k for k, _ in items)})")
    items.sort()
    return np.array([k for k, _ in items], dtype=np.int64), np.array([v for _, v in items], dtype=np.float64)

