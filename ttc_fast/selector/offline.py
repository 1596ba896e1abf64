"""Offline selection over an eval log: :func:`select` replays the records through :class:`TTCEarlyStopping`."""
from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ttc_fast.evallog import read_eval_log
from ttc_fast.selector.rule import TTCEarlyStopping
from ttc_fast.selector.types import STRATEGIES, Decision, Reason


def select(log: str | os.PathLike | Iterable[Mapping[str, Any]], *, budget_flops: float | None = None,
           budget_tokens: float | None = None, progress: bool | None = None, return_stopper: bool = False,
           curve: str | None = None, default_n: int | None = None,
           **kwargs: Any) -> Decision | tuple[Decision, TTCEarlyStopping]:
    """Runs :class:`TTCEarlyStopping` over an eval log and returns the checkpoint to deploy.

    ``log``: a JSONL path, or the records in memory, processed in the given order, in either shape:
    eval-log records (``{"step", "train_flops" | "train_tokens", "problems": [...]}`` or ``"accuracy"``,
    docs/formats.md), or records shaped like :meth:`TTCEarlyStopping.update`'s arguments
    (``{"step", "train_flops" | "train_tokens", "correct", "answers", "scores"}`` with (P, N) arrays); or a
    learning-curve CSV (a path ending in ``.csv``: the accuracy at each K per checkpoint, read by
    :func:`ttc_fast.decision_bench.load_curve_file`, long or wide, with a ``flops`` or ``tokens`` column;
    ``curve`` names the curve when the file holds several, ``default_n`` the evaluation size for a binomial
    stderr where the file gives neither a stderr nor an ``n``; a metric named ``pass@K``, ``maj@K``, ``bok@K``
    or ``wmaj@K`` sets the strategy, and a different ``strategy`` is refused). The budget is ``budget_flops``, or
    ``budget_tokens`` converted with ``spec`` (kwargs; Kaplan 6N·D unless ``convention``/``seq_len`` say
    otherwise; also converts records that give ``train_tokens`` only).
    Other keyword arguments go to :class:`TTCEarlyStopping` (not ``journal``). If a checkpoint triggers the stop,
    that decision is returned (later records are not read). Otherwise the run went to its end: the decision of
    the last checkpoint, with ``should_stop=False`` and ``k`` = the smallest K that reaches the projected accuracy
    there (1 when none does), is returned. ``progress``: tqdm bar (None: when there are > 20 records).
    ``return_stopper=True`` also returns the selector (its ``history`` feeds :mod:`ttc_fast.report`).
    """
    if "journal" in kwargs:
        raise TypeError("select() takes no journal (it replays a complete log); use TTCEarlyStopping")
    seq_len = kwargs.pop("seq_len", None)
    records = _records(log, curve, default_n)
    named = records[0].get("_strategy")           # a curve CSV's metric: pass@K, maj@K, bok@K, wmaj@K
    if named is not None:
        if kwargs.get("strategy") is None:
            kwargs["strategy"] = named
        elif kwargs["strategy"] != named:
            raise ValueError(f"strategy={kwargs['strategy']!r}, but the curve's values are {named}@K "
                             f"({records[0]['_where']}); leave strategy out or give {named!r}")
    elif kwargs.get("strategy", "") is None:
        del kwargs["strategy"]
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
    last = records[-1]
    last_flops = last["train_flops"] if last["train_flops"] is not None else \
        tokens_to_flops(last["train_tokens"], f"{last['_where']}: field 'train_tokens' (no train_flops)")
    if last_flops < 0.01 * budget:
        warnings.warn(f"the log's last checkpoint is at {100 * last_flops / budget:.3g}% of the budget "
                      f"({last_flops:.3e} of {budget:.3e} FLOPs): is the budget for this model and in these "
                      f"units?", RuntimeWarning, stacklevel=2)
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
    return dataclasses.replace(decision, k=k, accuracy=acc, accuracy_stderr=se, reason=reason,
                               reason_code=Reason.END_OF_RUN.value, **fields)


def _curve_records(path: str, curve: str | None, default_n: int | None) -> list[dict[str, Any]]:
    """The checkpoints of one curve of a learning-curve CSV as ``accuracy`` records (K -> value, stderr)."""
    from ttc_fast.decision_bench.real import load_curve_file
    curves = load_curve_file(path, min_points=1, default_n=default_n)
    names = [c.name for c in curves]
    listed = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
    if curve is None and len(curves) > 1:
        raise ValueError(f"{path} holds {len(curves)} curves; name one (curve=, CLI --curve): {listed}")
    if curve is not None and curve not in names:
        raise ValueError(f"{path}: no curve {curve!r}; it has {listed}")
    c = curves[0] if curve is None else curves[names.index(curve)]
    if c.compute_column not in ("flops", "tokens"):
        raise ValueError(f"{path}: selecting needs the checkpoints' training compute in a 'flops' or 'tokens' "
                         f"column; this file measures it in {c.compute_column!r}")
    assert c.compute is not None
    field = "train_flops" if c.compute_column == "flops" else "train_tokens"
    strategy = c.metric if c.metric in STRATEGIES else None
    out = []
    for i in range(c.xs.size):
        acc, se = c.accuracy(i)
        out.append({"step": int(c.steps[i]), "train_flops": None, "train_tokens": None, field: float(c.compute[i]),
                    "accuracy": acc, "accuracy_stderr": se, "_where": f"{path} ({c.name}, step {c.steps[i]})",
                    "_strategy": strategy})
    return out


_UPDATE_KEYS = {"step", "train_flops", "train_tokens", "answers", "correct", "scores", "accuracy",
                "accuracy_stderr"}


def _records(log: Any, curve: str | None = None, default_n: int | None = None) -> list[dict[str, Any]]:
    """Normalised records of any accepted shape (see :func:`select`)."""
    if isinstance(log, (str, os.PathLike)) and os.fspath(log).lower().endswith(".csv"):
        return _curve_records(os.fspath(log), curve, default_n)
    if curve is not None or default_n is not None:
        raise ValueError("curve= and default_n= are for a learning-curve CSV; log is not one (a .csv path)")
    if isinstance(log, (str, os.PathLike)):
        return read_eval_log(log)
    if isinstance(log, Mapping) or not isinstance(log, Iterable):
        raise TypeError(f"log must be a path or an iterable of records (dicts), got {type(log).__name__}")
    recs = list(log)
    if not recs:
        raise ValueError("the log has no records")
    if not any(isinstance(r, Mapping) and "correct" in r for r in recs):
        return read_eval_log(recs)
    out = []
    for i, r in enumerate(recs):
        where = f"records[{i}]"
        if not isinstance(r, Mapping) or "correct" not in r or "step" not in r:
            raise ValueError(f"{where}: records must all have one shape: eval-log records with 'step', "
                             f"'train_flops'/'train_tokens' and 'problems' (or 'accuracy'), or update() "
                             f"arguments with 'step', 'train_flops'/'train_tokens', 'correct' and optional "
                             f"'answers'/'scores'; got keys {sorted(r) if isinstance(r, Mapping) else type(r)}")
        extra = set(r) - _UPDATE_KEYS
        if extra:
            raise ValueError(f"{where}: unknown fields {sorted(extra)} for an update()-shaped record "
                             f"(accepted: {', '.join(sorted(_UPDATE_KEYS))})")
        if r.get("train_flops") is None and r.get("train_tokens") is None:
            raise ValueError(f"{where}: missing field 'train_flops' (or 'train_tokens' with a model spec)")
        out.append({"step": r["step"], "train_flops": r.get("train_flops"), "train_tokens": r.get("train_tokens"),
                    "answers": r.get("answers"), "correct": r["correct"], "scores": r.get("scores"),
                    "_where": where})
    return out

