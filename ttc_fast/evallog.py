"""The eval log: one JSON record per checkpoint, one line each (written by ``ttc-fast eval``, ``ingest`` and
``demo``, read by ``ttc-fast select``); the format is specified in docs/formats.md ("Eval log")::

    {"step": 1000, "train_flops": 1.2e18, "train_tokens": 4.1e9, "num_samples": 64,
     "problems": [{"id": "p0", "answers": [3, 3, -1, 7], "correct": [true, true, false, false], "scores": null}],
     "meta": {...}}

``answers`` are per-problem cluster ids (equal normalised answers share an id; -1 = no answer extracted, an
abstention); ``correct`` the grade of each sample. This module owns the format: every reader and writer of an
eval log goes through it, and it goes through :mod:`ttc_fast.jsonl` (one rule for a partial last line: an
interrupted append is skipped with a warning, and cut off before the next append; damage anywhere else is a
ValueError naming ``file:line``).
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ttc_fast import jsonl


def make_record(*, step: int, train_flops: float | None, train_tokens: float | None, ids: Sequence[str],
                answers: np.ndarray | Sequence[Sequence[int]], correct: np.ndarray | Sequence[Sequence[bool]],
                scores: Sequence[Sequence[float]] | None = None, meta: dict[str, Any] | None = None) -> dict:
    """Builds one eval-log record. ``answers`` int (P, n) cluster ids (-1 abstain, -2 padding is dropped so
    ragged problems keep their own n), ``correct`` bool (P, n), ``ids`` P problem ids."""
    answers = [list(map(int, a)) for a in answers]
    correct = [list(map(bool, c)) for c in correct]
    if not (len(ids) == len(answers) == len(correct)):
        raise ValueError(f"ids, answers, correct must have one entry per problem; got {len(ids)}, "
                         f"{len(answers)}, {len(correct)}")
    problems = []
    for i, (pid, a, c) in enumerate(zip(ids, answers, correct)):
        keep = [j for j, v in enumerate(a) if v != -2]
        problems.append({"id": str(pid), "answers": [a[j] for j in keep], "correct": [c[j] for j in keep],
                         "scores": None if scores is None else [float(scores[i][j]) for j in keep]})
    ns = {len(p["answers"]) for p in problems}
    rec: dict[str, Any] = {"step": int(step),
                           "train_flops": None if train_flops is None else float(train_flops),
                           "train_tokens": None if train_tokens is None else float(train_tokens)}
    if len(ns) == 1:
        rec["num_samples"] = ns.pop()
    rec["problems"] = problems
    if meta:
        rec["meta"] = meta
    return rec


def read_log(path: str | os.PathLike) -> list[dict]:
    """All complete records of a log (a missing file is an empty log). A partial last line (an interrupted
    append) is skipped with a :class:`ttc_fast.jsonl.PartialLineWarning`; a malformed line elsewhere, or a record
    without ``step``, raises ValueError naming ``file:line``. No further validation: see :func:`read_eval_log`."""
    out = []
    for lineno, rec in jsonl.read(path, missing_ok=True):
        if not isinstance(rec, dict) or "step" not in rec:
            raise ValueError(f"{os.fspath(path)}:{lineno}: an eval-log record needs a 'step' field")
        out.append(rec)
    return out


def append_record(path: str | os.PathLike, record: dict) -> None:
    """Appends one record as one line, durably (single write, flush, fsync; :func:`ttc_fast.jsonl.append`). A
    partial last line left by an interrupted earlier writer is cut off first so the log stays valid JSONL."""
    jsonl.append(path, record)


def write_log(path: str | os.PathLike, records: Iterable[dict]) -> None:
    """Writes a whole log atomically (temporary file, fsync, rename; :func:`ttc_fast.jsonl.write`)."""
    jsonl.write(path, records)


def record_arrays(record: dict) -> tuple[np.ndarray, np.ndarray]:
    """``(answers int64 (P, n_max), correct bool (P, n_max))`` of a record, ragged rows padded with -2 / False."""
    probs = record["problems"]
    n = max((len(p["answers"]) for p in probs), default=0)
    answers = np.full((len(probs), n), -2, dtype=np.int64)
    correct = np.zeros((len(probs), n), dtype=bool)
    for i, p in enumerate(probs):
        answers[i, :len(p["answers"])] = p["answers"]
        correct[i, :len(p["correct"])] = p["correct"]
    return answers, correct


def read_eval_log(log: str | os.PathLike | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Reads and validates an eval log (JSONL path, or the records as dicts); format in docs/formats.md.

    Returns normalised records ``{"step", "train_flops" or "train_tokens", "_where", and "answers"/"correct"/
    "scores" arrays (int64 / bool / float64 or None, (P, n_max), ragged rows padded with -2 / False / NaN) or
    "accuracy"}``. A partial last line of a file (an interrupted append) is skipped with a
    :class:`ttc_fast.jsonl.PartialLineWarning`. Raises ValueError naming ``file:line`` (record index + 1 for Python
    objects), the field and the value: invalid JSON or UTF-8, a missing field, a non-integer step, FLOPs or tokens
    that are negative or not finite, answer ids outside [-1, 2**63 - 1], grades that are not booleans, scores that
    are not numbers. FileNotFoundError for a missing file.
    """
    if isinstance(log, (str, os.PathLike)):
        source = os.fspath(log)
        if os.path.isdir(source):
            raise ValueError(f"eval log {source!r} is a directory, not a JSONL file")
        if not os.path.isfile(source):
            raise FileNotFoundError(f"eval log {source!r} does not exist")
        raw: list[tuple[int, Any]] = jsonl.read(source)
    elif isinstance(log, Mapping):
        raise TypeError("log must be a path or an iterable of records; got a single record (a dict): wrap it in "
                        "a list")
    elif isinstance(log, (str, bytes)) or not isinstance(log, Iterable):
        raise TypeError(f"log must be a path or an iterable of records, got {type(log).__name__}")
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
        if not _is_int(rec["step"]) or not -_ID_MAX - 1 <= rec["step"] <= _ID_MAX:
            raise ValueError(f"{where}: field 'step' must be an integer (int64), got {rec['step']!r}")
        for f_ in ("train_flops", "train_tokens"):
            v = rec.get(f_)
            if v is not None and not _finite_nonneg(v):
                raise ValueError(f"{where}: field '{f_}' must be a finite number >= 0, got {v!r}")
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


_ID_MAX = 2 ** 63 - 1


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _finite_nonneg(x: Any) -> bool:
    try:
        return _is_number(x) and 0 <= float(x) < math.inf
    except OverflowError:  # an integer beyond float64
        return False


def _types_ok(values: list, ok) -> bool:
    """Whether every entry's type passes ``ok`` (one C-level pass collecting the distinct types)."""
    return all(ok(t) for t in set(map(type, values)))


def _int_type(t: type) -> bool:
    return issubclass(t, (int, np.integer)) and not issubclass(t, (bool, np.bool_))


def _answer_ids(values: list, where: str, field: str) -> np.ndarray:
    """int64 cluster ids of one problem; ValueError naming the field, the entry and its value otherwise."""
    if not values:
        return np.zeros(0, np.int64)
    arr = None
    if _types_ok(values, _int_type):
        try:
            arr = np.asarray(values, dtype=np.int64)
        except OverflowError:  # an id beyond int64: found below
            arr = None
    if arr is not None and arr.min() >= -1:
        return arr
    j, x = next((j, x) for j, x in enumerate(values) if not _is_int(x) or not -1 <= x <= _ID_MAX)
    raise ValueError(f"{where}: field '{field}' must hold integer cluster ids in [-1, 2**63 - 1] (-1 = no "
                     f"answer; int64); entry {j} is {x!r}")


def _problems_arrays(problems: Any, where: str) -> dict[str, Any]:
    """``answers`` int64 (P, n_max) padded with -2, ``correct`` bool (P, n_max), ``scores`` float64 or None."""
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
        answers[i, :n] = _answer_ids(p["answers"], where, f"problems[{i}].answers")
        c = p["correct"]
        if not _types_ok(c, lambda t: issubclass(t, (bool, np.bool_))):
            j = next(j for j, x in enumerate(c) if not isinstance(x, (bool, np.bool_)))
            raise ValueError(f"{where}: field 'problems[{i}].correct' must hold true/false; entry {j} is {c[j]!r}")
        correct[i, :n] = c
        if has_scores:
            s = p.get("scores")
            if s is None:
                raise ValueError(f"{where}: field 'problems[{i}].scores' is null while other problems have scores")
            row = None
            if _types_ok(s, lambda t: issubclass(t, (int, float, np.integer, np.floating))
                         and not issubclass(t, (bool, np.bool_))):
                try:
                    row = np.asarray(s, dtype=np.float64)
                except OverflowError:
                    raise ValueError(f"{where}: field 'problems[{i}].scores' holds an integer too large for a "
                                     f"float64") from None
            if row is None or np.isnan(row).any():
                j, x = next((j, x) for j, x in enumerate(s) if not _is_number(x) or x != x)
                raise ValueError(f"{where}: field 'problems[{i}].scores' must hold numbers (not NaN); entry "
                                 f"{j} is {x!r}")
            scores[i, :n] = row  # type: ignore[index]
    return {"answers": answers, "correct": correct, "scores": scores}
