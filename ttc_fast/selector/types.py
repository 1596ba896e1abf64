"""Result types of the selector, in one place: :class:`Decision` (what an update answers) and
:class:`HistoryEntry` (one evaluation as the selector saw it; what the journal stores)."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

STRATEGIES = ("maj", "pass", "bok", "wmaj")
METHODS = ("exact", "sigmoid")


@dataclass(frozen=True)
class Decision:
    """What the selector says after one evaluation (or, offline, for a whole run).

    ``step``/``train_flops``: the checkpoint (deploy this one when ``should_stop``). ``k``: K* samples per query
    (None when no K qualifies; offline at the end of a run, K reaching the target or 1). Accuracies are fractions;
    ``*_stderr`` are standard errors over problems (nan when unknown). ``projected_accuracy``: A_hat, the fitted
    single-sample accuracy at the budget (nan without a projection). FLOPs: ``flops_saved`` is a fraction of
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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Decision:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def summary(self) -> str:
        """A few human-readable lines (what ``ttc-fast select`` prints)."""
        def pct(x: float) -> str:
            return "n/a" if not math.isfinite(x) else f"{100 * x:.2f}%"

        def acc(x: float, se: float) -> str:
            if not math.isfinite(x):
                return "n/a"
            return f"{100 * x:.2f}%" + (f" ± {100 * se:.2f}" if math.isfinite(se) and se > 0 else "")

        k = "none" if self.k is None else str(self.k)
        lines = [
            f"decision: {'STOP' if self.should_stop else 'continue'} at step {self.step} "
            f"({self.train_flops:.3e} training FLOPs of {self.budget_flops:.3e})",
            f"deploy: K = {k} samples per query ({self.strategy}@K, method {self.method})",
            f"accuracy at K: {acc(self.accuracy, self.accuracy_stderr)}; single-sample "
            f"{acc(self.accuracy_k1, float('nan'))}; projected at budget "
            f"{acc(self.projected_accuracy, self.projected_stderr)}",
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
    empty when not computed). ``kept``: survived the monotone filter. ``fit``: (a, b, c) of the saturation fit
    on normalised FLOPs x = F / budget at this evaluation (None without one), through the last ``fit_points``
    kept points. ``sigmoid_fit``: (L, s, x0).
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
    decision: Decision | None = None

    def to_record(self) -> dict[str, Any]:
        return {"type": "update", "step": self.step, "train_flops": self.train_flops, "acc1": self.acc1,
                "acc1_stderr": self.acc1_stderr, "ks": [int(k) for k in self.ks],
                "curve": [float(v) for v in self.curve], "curve_stderr": [float(v) for v in self.curve_stderr],
                "eval_flops": self.eval_flops, "num_problems": self.num_problems,
                "decision": None if self.decision is None else self.decision.to_dict()}


# ---- small validators shared by the selector's modules ----------------------------------------------------
def finite_or_zero(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def check_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    return int(value)


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
            kk = int(k)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: K must be an integer, got {k!r}") from None
        if kk < 1:
            raise ValueError(f"{name}: K must be >= 1, got {kk}")
        if v is None:
            v = math.nan
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name}[{k}] must be a number, got {v!r}")
        items.append((kk, float(v)))
    items.sort()
    return np.array([k for k, _ in items], dtype=np.int64), np.array([v for _, v in items], dtype=np.float64)

