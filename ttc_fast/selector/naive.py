"""Naive early stopping (the baseline): Lightning's EarlyStopping rule on single-sample accuracy."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ttc_fast.selector.types import Decision, accuracy_table, check_int


class NaiveEarlyStopping:
    """Lightning's EarlyStopping rule on single-sample accuracy, for comparison.

    ``mode="max"``: an evaluation improves when accuracy > best + min_delta (``"min"``: < best - min_delta);
    otherwise the wait count grows; stop when it reaches ``patience``. ``check_finite``: stop on a non-finite
    value (as Lightning does). ``stopping_threshold``: stop as soon as the value reaches it. Decisions have
    k = 1; ``budget_flops`` (optional) fills the savings fields.
    """

    def __init__(self, patience: int = 10, min_delta: float = 0.0, mode: str = "max", check_finite: bool = True,
                 stopping_threshold: float | None = None, budget_flops: float | None = None) -> None:
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        if budget_flops is not None and not budget_flops > 0:
            raise ValueError(f"budget_flops must be > 0, got {budget_flops!r}")
        self.patience = int(patience)
        self.min_delta = abs(float(min_delta))
        self.mode = mode
        self.check_finite = bool(check_finite)
        self.stopping_threshold = stopping_threshold
        self.budget_flops = budget_flops
        self.best = math.inf if mode == "min" else -math.inf
        self.best_step: int | None = None
        self.wait_count = 0
        self.history: list[Decision] = []
        self.decision: Decision | None = None

    def update(self, *, step: int, train_flops: float, answers: Any = None, correct: Any = None,
               scores: Any = None, accuracy: float | Mapping[Any, Any] | None = None) -> Decision:
        """``correct`` (P, N) bool (single-sample accuracy = mean over samples, then problems), or ``accuracy``."""
        step = check_int(step, "step")
        if accuracy is not None:
            if isinstance(accuracy, Mapping):
                ks, vals = accuracy_table(accuracy, "pass", "accuracy")
                value = float(vals[0]) if ks[0] == 1 else math.nan
            else:
                value = float(accuracy)
        elif correct is not None:
            corr = np.asarray(correct, dtype=bool)
            valid = np.ones(corr.shape, bool) if answers is None else np.asarray(answers) != -2
            n = valid.sum(axis=1)
            value = float(np.mean((corr & valid).sum(axis=1) / n)) if corr.size and n.min() > 0 else math.nan
        else:
            raise ValueError("update needs correct or accuracy")
        sign = 1.0 if self.mode == "max" else -1.0
        stop = False
        if not math.isfinite(value):
            stop = self.check_finite
            reason = f"accuracy is {value}" + (": stop (check_finite)" if stop else ": ignored")
        elif self.stopping_threshold is not None and sign * (value - self.stopping_threshold) >= 0:
            stop = True
            reason = f"accuracy {value:.4f} reached stopping_threshold {self.stopping_threshold}"
            self.best, self.best_step, self.wait_count = value, step, 0
        elif sign * (value - self.best) > self.min_delta:
            reason = f"improved to {value:.4f}"
            self.best, self.best_step, self.wait_count = value, step, 0
        else:
            self.wait_count += 1
            stop = self.wait_count >= self.patience
            reason = (f"no improvement over {self.best:.4f} (step {self.best_step}) for {self.wait_count} "
                      f"evaluation(s)" + (" -> stop" if stop else ""))
        budget = self.budget_flops or math.nan
        saved = max(budget - train_flops, 0.0) if self.budget_flops else math.nan
        d = Decision(should_stop=bool(stop), step=step, train_flops=float(train_flops), k=1, strategy="pass",
                     method="naive", projected_accuracy=math.nan, projected_stderr=math.nan, accuracy=value,
                     accuracy_stderr=math.nan, accuracy_k1=value, budget_flops=budget,
                     flops_saved=saved / budget if self.budget_flops else math.nan, flops_saved_abs=saved,
                     net_flops_saved=math.nan, net_flops_saved_abs=math.nan, eval_flops=0.0,
                     extra_inference_flops_per_query=0.0, break_even_queries=math.inf,
                     net_break_even_queries=math.inf, qualifies=bool(stop), patience_count=self.wait_count,
                     reason=reason)
        self.history.append(d)
        self.decision = d
        return d

