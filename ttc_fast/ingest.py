"""Convert lm-evaluation-harness sample logs (``--log_samples`` with ``repeats: N``) into the eval log.

lm-eval writes ``samples_<task>_<time>.jsonl``, one line per document::

    {"doc_id": 0, "doc": {...}, "target": "4", "resps": [["4", "6", "4", ...]], "filtered_resps": ["4"], ...}

``resps[0]`` holds the N raw generations of the document, ``target`` the reference answer, ``filtered_resps`` the
task's filter chain output: one value after a majority-vote/take-first filter (useless for TTC curves: its vote
uses only the first samples), or N values after a per-sample filter such as ``regex`` alone.

One samples file = one checkpoint = one eval-log record. Answers are extracted from the raw generations with a
``ttc_fast.extract`` extractor (``source="resps"``, default), or taken from a per-sample ``filtered_resps``
(``source="filtered"``; lm-eval's ``"[invalid]"`` fallback counts as an abstention); then clustered per document
and graded against ``target`` with ``ttc_fast.grade``.

Checkpoint coordinates (``step``, ``train_tokens``, ``train_flops``) come from the arguments, else from the
``trainer_state.json`` of the model directory named in the ``results_*.json`` lm-eval wrote beside the samples
(``config.model_args`` ``pretrained=...``), else from a ``step-N`` / ``checkpoint-N`` in that path. Missing
FLOPs are computed from the tokens with ``ttc_fast.training_flops`` and the model's ``config.json`` when available.
"""
from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Sequence
from typing import Any

from ttc_fast import jsonl
from ttc_fast.evallog import make_record

_INVALID = {"[invalid]", ""}


def read_samples(path: str | os.PathLike) -> list[dict]:
    """The document records of one lm-eval samples file, sorted by ``doc_id``; ValueError with the line number and
    field when a line is not JSON or lacks ``doc_id`` / ``target`` / ``resps``."""
    docs = []
    for i, rec in jsonl.iter_lines(path):
        if not isinstance(rec, dict):
            raise ValueError(f"{os.fspath(path)}:{i}: expected a JSON object, got {type(rec).__name__}")
        for field in ("doc_id", "target", "resps"):
            if field not in rec:
                raise ValueError(f"{os.fspath(path)}:{i}: missing field {field!r} (is this an lm-eval "
                                 f"--log_samples file?)")
        if not isinstance(rec["resps"], list) or not rec["resps"]:
            raise ValueError(f"{os.fspath(path)}:{i}: field 'resps' must be a non-empty list")
        docs.append(rec)
    if not docs:
        raise ValueError(f"{os.fspath(path)}: no documents")
    docs.sort(key=lambda r: r["doc_id"])
    return docs


def _generations(rec: dict) -> list[str]:
    """The N raw generations of a document: resps is [[g1..gN]] for generate_until with repeats (or [g] / [[g]])."""
    resps = rec["resps"]
    if len(resps) == 1 and isinstance(resps[0], list):
        resps = resps[0]
    return [r if isinstance(r, str) else json.dumps(r) for r in resps]


def _per_sample_filtered(rec: dict, n: int) -> list[str | None] | None:
    fr = rec.get("filtered_resps")
    if isinstance(fr, list) and len(fr) == 1 and isinstance(fr[0], list):
        fr = fr[0]
    if not isinstance(fr, list) or len(fr) != n:
        return None
    return [None if (not isinstance(v, str) or v.strip() in _INVALID) else v for v in fr]


def _model_dir(samples_path: str) -> str | None:
    """The ``pretrained=`` directory from lm-eval's results_*.json next to the samples file, if any."""
    for res in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(samples_path)), "results_*.json"))):
        try:
            with open(res, encoding="utf-8") as f:
                results = json.load(f)
        except (OSError, ValueError, RecursionError):  # not lm-eval's results file: no model directory from it
            continue
        config = results.get("config") if isinstance(results, dict) else None
        args = config.get("model_args", "") if isinstance(config, dict) else ""
        if isinstance(args, dict):
            pre = args.get("pretrained")
        else:
            m = re.search(r"pretrained=([^,]+)", str(args))
            pre = m.group(1) if m else None
        if isinstance(pre, str) and pre:
            return pre
    return None


def checkpoint_coordinates(samples_path: str, *, step: int | None = None, train_tokens: float | None = None,
                           train_flops: float | None = None) -> dict[str, Any]:
    """``{"step", "train_tokens", "train_flops", "model"}`` for a samples file: the one rule of
    :func:`ttc_fast.checkpoint.checkpoint_coordinates` applied to the model directory named in lm-eval's
    ``results_*.json`` (else to the samples file's own path)."""
    from ttc_fast.checkpoint import checkpoint_coordinates as coordinates

    model = _model_dir(samples_path)
    c = coordinates(model or os.path.abspath(samples_path), step=step, train_tokens=train_tokens,
                    train_flops=train_flops, require_step=False)
    if c.step is None:
        raise ValueError(f"cannot tell the training step of {samples_path}: pass --step")
    if c.train_tokens is None and c.train_flops is None:
        raise ValueError(f"cannot tell the training tokens or FLOPs of {samples_path}: pass --train-tokens or "
                         f"--train-flops (the selector needs the x axis)")
    return {"step": c.step, "train_tokens": c.train_tokens, "train_flops": c.train_flops, "model": model}


def ingest_file(path: str | os.PathLike, *, extractor: Any = "number", source: str = "resps",
                step: int | None = None, train_tokens: float | None = None,
                train_flops: float | None = None) -> dict:
    """One eval-log record from one lm-eval samples file (see the module docstring).

    ``source``: ``"resps"`` (extract from raw generations with ``extractor``), ``"filtered"`` (per-sample
    ``filtered_resps``; ValueError if a document has a single voted value) or ``"auto"`` (filtered when
    per-sample, else resps).
    """
    from ttc_fast.answers import extract, grade

    if source not in ("resps", "filtered", "auto"):
        raise ValueError(f"source must be 'resps', 'filtered' or 'auto'; got {source!r}")
    path = os.fspath(path)
    docs = read_samples(path)
    gens = [_generations(d) for d in docs]
    extracted: list[list[str | None]] = []
    used = set()
    for d, g in zip(docs, gens):
        filt = _per_sample_filtered(d, len(g)) if source != "resps" else None
        if source == "filtered" and filt is None:
            raise ValueError(f"{path}: doc_id {d['doc_id']}: filtered_resps is not per-sample (has the task a "
                             f"majority-vote/take_first filter?); use source='resps'")
        if filt is not None:
            extracted.append(list(extract([filt], extractor)[0]))
            used.add("filtered_resps")
        else:
            extracted.append(list(extract([g], extractor)[0]))
            used.add("resps")
    targets = [str(d["target"][0] if isinstance(d["target"], list) and len(d["target"]) == 1 else d["target"])
               for d in docs]
    answers, correct = grade(extracted, targets)
    coords = checkpoint_coordinates(path, step=step, train_tokens=train_tokens, train_flops=train_flops)
    ids = [str(d.get("doc", {}).get("id", d["doc_id"])) if isinstance(d.get("doc"), dict) else str(d["doc_id"])
           for d in docs]
    # ragged n (documents with different repeat counts): pad to the widest with -2 so make_record drops it
    return make_record(step=coords["step"], train_flops=coords["train_flops"], train_tokens=coords["train_tokens"],
                       ids=ids, answers=answers, correct=correct,
                       meta={"source": "lm-eval", "samples_file": os.path.abspath(path), "model": coords["model"],
                             "answers_from": sorted(used), "extractor": str(extractor)})


def ingest(paths: Sequence[str | os.PathLike], out: str | os.PathLike, *, extractor: Any = "number",
           source: str = "resps", steps: Sequence[int] | None = None, train_tokens: Sequence[float] | None = None,
           train_flops: Sequence[float] | None = None) -> list[dict]:
    """Converts every samples file (a directory means all ``samples_*.jsonl`` inside it, recursively) into one
    record each, sorted by step, and writes the log ``out`` atomically. ``steps`` / ``train_tokens`` /
    ``train_flops``: one value per file (after directory expansion) or None."""
    from ttc_fast.evallog import write_log

    files: list[str] = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            found = sorted(glob.glob(os.path.join(p, "**", "samples_*.jsonl"), recursive=True))
            if not found:
                raise FileNotFoundError(f"no samples_*.jsonl under {p}")
            files += found
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise FileNotFoundError(f"no such samples file: {p}")
    for name, vals in (("steps", steps), ("train_tokens", train_tokens), ("train_flops", train_flops)):
        if vals is not None and len(vals) != len(files):
            raise ValueError(f"{name} needs one value per samples file ({len(files)}); got {len(vals)}")
    records = [ingest_file(f, extractor=extractor, source=source,
                           step=None if steps is None else steps[i],
                           train_tokens=None if train_tokens is None else train_tokens[i],
                           train_flops=None if train_flops is None else train_flops[i])
               for i, f in enumerate(files)]
    records.sort(key=lambda r: r["step"])
    if len({r["step"] for r in records}) != len(records):
        raise ValueError(f"two samples files have the same step ({[r['step'] for r in records]}): pass --step")
    write_log(out, records)
    return records
