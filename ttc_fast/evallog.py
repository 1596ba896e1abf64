"""The eval log: one JSON record per checkpoint, one line each (shared by ``ttc-fast eval``, ``ingest``, ``demo``
and read by ``ttc-fast select``)::

    {"step": 1000, "train_flops": 1.2e18, "train_tokens": 4.1e9, "num_samples": 64,
     "problems": [{"id": "p0", "answers": [3, 3, -1, 7], "correct": [true, true, false, false], "scores": null}],
     "meta": {...}}

``answers`` are per-problem cluster ids (equal normalised answers share an id; -1 = no answer extracted, an
abstention); ``correct`` the grade of each sample. Records are appended one whole line at a time with a single
``write`` + ``flush`` + ``fsync``, so an interrupted writer leaves at most one partial last line, which the reader
skips (and ``append_record`` first truncates) instead of losing the finished records before it.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np


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
    """All complete records of a log (a missing file is an empty log). A truncated *last* line (a writer killed
    mid-write) is ignored; a malformed line elsewhere raises ValueError naming the line number."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    out = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            if i == len(lines) and not data.endswith(b"\n"):
                break  # partial last line of an interrupted append
            raise ValueError(f"{os.fspath(path)}:{i}: not a JSON record ({err.msg})") from None
        if not isinstance(rec, dict) or "step" not in rec:
            raise ValueError(f"{os.fspath(path)}:{i}: an eval-log record needs a 'step' field")
        out.append(rec)
    return out


def append_record(path: str | os.PathLike, record: dict) -> None:
    """Appends one record as one line, durably (single write, flush, fsync). A partial last line left by an
    interrupted earlier writer is cut off first so the log stays valid JSONL."""
    line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    if os.path.exists(path):
        with open(path, "rb+") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)
    with open(path, "ab") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def write_log(path: str | os.PathLike, records: Iterable[dict]) -> None:
    """Writes a whole log atomically (temporary file + rename)."""
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w") as f:
        for rec in records:
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
    os.replace(tmp, path)


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
