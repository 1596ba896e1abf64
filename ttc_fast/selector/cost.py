"""What a decision costs and saves, in FLOPs (one multiply-add = 2 FLOPs, :mod:`ttc_fast.flops`'s convention).

- The extra inference cost of K samples per query, ``ΔC(K) = C_inf(K) - C_inf(1)`` (shared prompt prefix:
  (K - 1) more decodes), from a model spec and prompt/generation lengths, or from a per-sample cost.
- The evaluation cost of one update (every sample drawn for it).
- Savings: ``flops_saved_abs = budget - F_t``, ``flops_saved`` = that / budget; ``net_*`` after the evaluations so
  far; ``break_even_queries = flops_saved_abs / ΔC(K)`` (inf at K = 1, nan when no inference cost is known).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class InferenceCost:
    """``spec`` (a :class:`ttc_fast.ModelSpec`) with ``prompt_len``/``gen_len`` tokens, or
    ``flops_per_sample`` (FLOPs of one more sample for a query); both None: unknown."""

    spec: Any = None
    prompt_len: int | None = None
    gen_len: int | None = None
    flops_per_sample: float | None = None
    convention: str = "kaplan"

    @property
    def known(self) -> bool:
        return (self.spec is not None and self.prompt_len is not None) or self.flops_per_sample is not None

    def _flops(self, k: Any) -> Any:
        from ttc_fast.flops import inference_flops
        return inference_flops(self.spec, self.prompt_len, self.gen_len, k, convention=self.convention)

    def extra_per_query(self, k: int) -> float:
        """ΔC(K) in FLOPs per query (0 at K = 1; nan when unknown)."""
        if k <= 1:
            return 0.0
        if self.spec is not None and self.prompt_len is not None:
            return float(self._flops(k) - self._flops(1))
        if self.flops_per_sample is not None:
            return (k - 1) * float(self.flops_per_sample)
        return math.nan

    def evaluation(self, samples_per_problem: np.ndarray) -> float:
        """FLOPs of drawing ``samples_per_problem`` (int ``(P,)``) samples, prompts shared (0 when unknown)."""
        if self.spec is not None and self.prompt_len is not None:
            ks, counts = np.unique(samples_per_problem, return_counts=True)
            return float(np.sum(np.asarray(self._flops(ks.astype(np.float64))) * counts))
        if self.flops_per_sample is not None:
            return float(self.flops_per_sample) * float(np.sum(samples_per_problem))
        return 0.0


def savings(budget: float, train_flops: float, eval_total: float, extra: float) -> dict[str, float]:
    """The savings fields of a :class:`~ttc_fast.selector.types.Decision` for a stop at ``train_flops`` with
    ``extra`` = ΔC(K*) FLOPs per query (nan: K* or its cost unknown)."""
    saved = max(budget - train_flops, 0.0)
    net = saved - eval_total
    if not math.isfinite(extra):
        q = qn = math.nan
    elif extra == 0:
        q = qn = math.inf
    else:
        q, qn = saved / extra, max(net, 0.0) / extra
    return {"flops_saved": saved / budget, "flops_saved_abs": saved, "net_flops_saved": net / budget,
            "net_flops_saved_abs": net, "eval_flops": eval_total, "extra_inference_flops_per_query": extra,
            "break_even_queries": q, "net_break_even_queries": qn}
