"""Offline selection over an eval log: :func:`select` replays the records through :class:`TTCEarlyStopping`."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ttc_fast.selector.rule import TTCEarlyStopping
from ttc_fast.selector.types import Decision, Reason


def read_eval_log(log: str | os.PathLike | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Reads and validates an eval log (JSONL path, or the records as dicts); see CONTRACTS.md for the format.

    Returns normalised records ``{"step", "train_flops" or "train_tokens", "problems" or "accuracy", ...}``.
    Raises ValueError naming the line (1-based; record index + 1 for Python objects) and the field.
    """
    if isinstance(log, (str, os.PathLike)):
        source = os.fspath(log)
        raw: list[tuple[int, Any]] = []
        with open(source, encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    raw.append((lineno, json.loads(line)))
                except ValueError as err:
                    raise ValueError(f"{source}:{lineno}: not valid JSON ({err.msg})") from None
    else:
        source = "log"
        raw = list(enumerate(log, start=1))
    out = []
    for lineno, rec in raw:
        where = f"{source}:{lineno}"
        if not isinstance(rec, Mapping):
            raise ValueError(f"{where}: a record must be a JSON object, got {type(rec).__name__}")
        if "step" not in rec:
            raise ValueError(f"{where}: missing field 'step'")
        if isinstance(rec["step"], bool) or not isinstance(rec["step"], int):
            raise ValueError(f"{where}: field 'step' must be an integer, got {rec['step']!r}")
        for f_ in ("train_flops", "train_tokens"):
            v = rec.get(f_)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0):
                raise ValueError(f"{where}: field '{f_}' must be a number >= 0, got {v!r}")
        if rec.get("train_flops") is None and rec.get("train_tokens") is None:
            raise ValueError(f"{where}: missing field 'train_flops' (or 'train_tokens' with a model spec)")
        has_p, has_a = rec.get("problems") is not None, rec.get("accuracy") is not None
        if has_p == has_a:
            raise ValueError(f"{where}: needs exactly one of fields 'problems' and 'accuracy'")
        norm: dict[str, Any] = {"step": rec["step"], "train_flops": rec.get("train_flops"),
                                "train_tokens": rec.get("train_tokens"), "_where": where}
        if has_a:
            if not isinstance(rec["accuracy"], Mapping):
                raise ValueError(f"{where}: field 'accuracy' must be an object {{strategy: {{k: value}}}}")
            norm["accuracy"] = rec["accuracy"]
            if rec.get("accuracy_stderr") is not None:
                norm["accuracy_stderr"] = rec["accuracy_stderr"]
        else:
            norm.update(_problems_arrays(rec["problems"], where))
        out.append(norm)
    if not out:
        raise ValueError(f"{source}: the log has no records")
    return out


def _problems_arrays(problems: Any, where: str) -> dict[str, Any]:
    if not isinstance(problems, list) or not problems:
        raise ValueError(f"{where}: field 'problems' must be a non-empty list")
    n_max = 0
    for i, p in enumerate(problems):
        if not isinstance(p, Mapping):
            raise ValueError(f"{where}: field 'problems[{i}]' must be an object")
        for f_ in ("answers", "correct"):
            if not isinstance(p.get(f_), list):
                raise ValueError(f"{where}: field 'problems[{i}].{f_}' must be a list")
        if len(p["answers"]) != len(p["correct"]):
            raise ValueError(f"{where}: field 'problems[{i}]': answers has {len(p['answers'])} entries, "
                             f"correct has {len(p['correct'])}")
        if p.get("scores") is not None and (not isinstance(p["scores"], list)
                                            or len(p["scores"]) != len(p["answers"])):
            raise ValueError(f"{where}: field 'problems[{i}].scores' must be null or a list as long as answers")
        n_max = max(n_max, len(p["answers"]))
    P = len(problems)
    answers = np.full((P, n_max), -2, dtype=np.int64)
    correct = np.zeros((P, n_max), dtype=bool)
    has_scores = any(p.get("scores") is not None for p in problems)
    scores = np.full((P, n_max), np.nan) if has_scores else None
    for i, p in enumerate(problems):
        n = len(p["answers"])
        try:
            a = np.asarray(p["answers"], dtype=np.int64) if n else np.zeros(0, np.int64)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: field 'problems[{i}].answers' must hold integer cluster ids "
                             f"(-1 = abstention)") from None
        if a.size and (a.min() < -1 or any(isinstance(x, (bool, float)) for x in p["answers"])):
            raise ValueError(f"{where}: field 'problems[{i}].answers' must hold integer cluster ids >= -1")
        c = p["correct"]
        if any(not isinstance(x, bool) for x in c):
            raise ValueError(f"{where}: field 'problems[{i}].correct' must hold true/false")
        answers[i, :n] = a
        correct[i, :n] = c
        if has_scores:
            s = p.get("scores")
            if s is None:
                raise ValueError(f"{where}: field 'problems[{i}].scores' is null while other problems have scores")
            try:
                scores[i, :n] = np.asarray(s, dtype=np.float64)  # type: ignore[index]
            except (TypeError, ValueError):
                raise ValueError(f"{where}: field 'problems[{i}].scores' must hold numbers") from None
    return {"answers": answers, "correct": correct, "scores": scores}


def select(log: str | os.PathLike | Iterable[Mapping[str, Any]], *, budget_flops: float | None = None,
           budget_tokens: float | None = None, progress: bool | None = None, return_stopper: bool = False,
           **kwargs: Any) -> Decision | tuple[Decision, TTCEarlyStopping]:
    """Runs :class:`TTCEarlyStopping` over an eval log and returns the checkpoint to deploy.

    ``log``: a JSONL path, or the records in memory, processed in the given order, in either shape:
    eval-log records (``{"step", "train_flops" | "train_tokens", "problems": [...]}`` or ``"accuracy"``,
    docs/formats.md), or records shaped like :meth:`TTCEarlyStopping.update`'s arguments
    (``{"step", "train_flops" | "train_tokens", "correct", "answers", "scores"}`` with (P, N) arrays). The budget is ``budget_flops``, or ``budget_tokens`` converted with ``spec`` (kwargs; Kaplan 6N·D
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
    records = _records(log)
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


_UPDATE_KEYS = {"step", "train_flops", "train_tokens", "answers", "correct", "scores", "accuracy",
                "accuracy_stderr"}


def _records(log: Any) -> list[dict[str, Any]]:
    """Normalised records of either accepted shape (see :func:`select`)."""
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

