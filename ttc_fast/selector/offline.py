"""Offline selection over an eval log: :func:`select` replays the records through :class:`TTCEarlyStopping`."""
from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ttc_fast.evallog import read_eval_log
from ttc_fast.selector.rule import TTCEarlyStopping
from ttc_fast.selector.types import Decision


def select(log: str | os.PathLike | Iterable[Mapping[str, Any]], *, budget_flops: float | None = None,
           budget_tokens: float | None = None, progress: bool | None = None, return_stopper: bool = False,
           **kwargs: Any) -> Decision | tuple[Decision, TTCEarlyStopping]:
    """Runs :class:`TTCEarlyStopping` over an eval log and returns the checkpoint to deploy.

    ``log``: JSONL path or the records as dicts (format in CONTRACTS.md; records are processed in the given
    order). The budget is ``budget_flops``, or ``budget_tokens`` converted with ``spec`` (kwargs; Kaplan 6N·D
    unless ``convention``/``seq_len`` say otherwise; also converts records that give ``train_tokens`` only).
    Other keyword arguments go to :class:`TTCEarlyStopping` (not ``journal``). If a checkpoint triggers the stop,
    that decision is returned (later records are not read). Otherwise the run went to its end: the decision of
    the last checkpoint, with ``should_stop=False`` and ``k`` = the smallest K that reaches the projected accuracy
    there (1 when none does), is returned. ``progress``: tqdm bar (None: when there are > 20 records).
    ``return_stopper=True`` also returns the selector (its ``history`` feeds :mod:`ttc_fast.report`).
    """
    if "journal" in kwargs:
        raise TypeError("select() takes no journal (it replays a complete log); use TTCEarlyStopping")
    seq_len = kwargs.pop("seq_len", None)
    records = read_eval_log(log)
    spec = kwargs.get("spec")
    convention = kwargs.get("convention", "kaplan")

    def tokens_to_flops(tokens: float, what: str) -> float:
        if spec is None:
            raise ValueError(f"{what} is in tokens: converting to FLOPs needs spec (a ttc_fast.ModelSpec; "
                             f"CLI --config/--shape)")
        from ttc_fast.flops import training_flops
        return float(training_flops(spec, tokens, seq_len=seq_len, convention=convention))

    if (budget_flops is None) == (budget_tokens is None):
        raise ValueError("give exactly one of budget_flops and budget_tokens")
    budget = float(budget_flops) if budget_flops is not None else tokens_to_flops(budget_tokens, "budget_tokens")
    stopper = TTCEarlyStopping(budget, **kwargs)
    if progress is None:
        progress = len(records) > 20
    from tqdm.auto import tqdm

    decision: Decision | None = None
    bar = tqdm(records, desc="select", unit="ckpt", disable=not progress, leave=False)
    for rec in bar:
        flops = rec["train_flops"]
        if flops is None:
            flops = tokens_to_flops(rec["train_tokens"], f"{rec['_where']}: field 'train_tokens' (no train_flops)")
        try:
            if "accuracy" in rec:
                decision = stopper.update(step=rec["step"], train_flops=float(flops), accuracy=rec["accuracy"],
                                          accuracy_stderr=rec.get("accuracy_stderr"))
            else:
                decision = stopper.update(step=rec["step"], train_flops=float(flops), answers=rec["answers"],
                                          correct=rec["correct"], scores=rec["scores"])
        except (ValueError, TypeError) as err:
            raise type(err)(f"{rec['_where']}: {err}") from None
        if decision.should_stop:
            break
    bar.close()
    assert decision is not None
    if not decision.should_stop:
        decision = _end_of_run(stopper, decision)
    return (decision, stopper) if return_stopper else decision


def _end_of_run(stopper: TTCEarlyStopping, decision: Decision) -> Decision:
    """The run ended without a stop: deploy the last checkpoint with the smallest K reaching the target."""
    entry = stopper.history[-1]
    target = decision.projected_accuracy
    k, acc, se = 1, entry.acc1, entry.acc1_stderr
    if math.isfinite(target) and entry.ks.size:
        ok = np.flatnonzero(entry.curve >= target + stopper.min_delta)
        if ok.size:
            i = int(ok[0])
            k, acc, se = int(entry.ks[i]), float(entry.curve[i]), float(entry.curve_stderr[i])
    elif entry.ks.size:
        acc, se = float(entry.curve[0]), float(entry.curve_stderr[0])
    fields = stopper._savings(entry.train_flops, k)
    reason = (f"no stop: the run went to its end (last: {decision.reason}); deploy the last checkpoint "
              f"with K = {k}")
    return dataclasses.replace(decision, k=k, accuracy=acc, accuracy_stderr=se, reason=reason, **fields)

