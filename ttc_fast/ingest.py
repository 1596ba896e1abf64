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
                           train_flops: float | None = None, model_dir: str | None = None) -> dict[str, Any]:
    """``{"step", "train_tokens", "train_flops", "model"}`` for a samples file: the one rule of
    :func:`ttc_fast.checkpoint.checkpoint_coordinates` applied to ``model_dir`` when known, else the model
    directory named in lm-eval's ``results_*.json`` (else the samples file's own path)."""
    from ttc_fast.checkpoint import checkpoint_coordinates as coordinates

    model = model_dir if model_dir is not None else _model_dir(samples_path)
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


# ---- lighteval --save-details (parquet) ---------------------------------------------------------------------
# lighteval (0.13) writes DIR/details/<model>/<date>/details_<task>_<date>.parquet, one row per document:
# ``doc`` (query, choices, gold_index, id, num_samples, ...), ``model_response`` (text: the N generations,
# text_post_processed: the same with reasoning tags removed, what lighteval's metrics score, output_tokens, ...)
# and ``metric``; and DIR/results/<model>/results_<date>.json whose config_general.model_name is the model.
def read_lighteval_details(path: str | os.PathLike) -> list[dict]:
    """The rows of one lighteval details parquet file as dicts (needs pyarrow, an optional dependency).
    ValueError names the file and the missing column when it is not a lighteval details file."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("reading lighteval's parquet details needs pyarrow: pip install pyarrow") from None
    path = os.fspath(path)
    try:
        table = pq.read_table(path)
    except Exception as err:  # noqa: BLE001 - pyarrow raises its own error types for a damaged file
        raise ValueError(f"{path}: not a readable parquet file ({err})") from None
    for col in ("doc", "model_response"):
        if col not in table.column_names:
            raise ValueError(f"{path}: no column {col!r} (is this a lighteval --save-details file? columns: "
                             f"{table.column_names})")
    rows = table.to_pylist()
    if not rows:
        raise ValueError(f"{path}: no documents")
    return rows


def _lighteval_model(details_path: str) -> str | None:
    """``config_general.model_name`` of the results_<date>.json lighteval wrote for the same run, if found."""
    p = os.path.abspath(details_path)
    date = os.path.basename(os.path.dirname(p))
    parts = p.split(os.sep)
    if "details" not in parts:
        return None
    i = len(parts) - 1 - parts[::-1].index("details")
    model_rel = os.sep.join(parts[i + 1:-2])
    results = os.path.join(os.sep.join(parts[:i]) or os.sep, "results", model_rel, f"results_{date}.json")
    try:
        with open(results, encoding="utf-8") as f:
            cfg = json.load(f).get("config_general", {})
    except (OSError, json.JSONDecodeError):
        return None
    name = cfg.get("model_name") or cfg.get("model_config", {}).get("model_name")
    return name if isinstance(name, str) and name else None


def ingest_lighteval_file(path: str | os.PathLike, *, extractor: Any = "number", step: int | None = None,
                          train_tokens: float | None = None, train_flops: float | None = None) -> dict:
    """One eval-log record from one lighteval details file (one checkpoint, one task).

    Answers are extracted with ``extractor`` from each document's generations (``text_post_processed`` when
    lighteval filled it for every sample, else ``text``), clustered and graded against the gold choice(s)
    ``doc.choices[doc.gold_index]`` with ``ttc_fast.grade``, as for lm-eval logs. Coordinates as
    :func:`checkpoint_coordinates`, the model directory from lighteval's results file."""
    from ttc_fast.answers import extract, grade

    path = os.fspath(path)
    rows = read_lighteval_details(path)
    # lighteval writes documents in its batching order: sort by doc.id (numerically when all ids are numbers)
    keys = [str((r.get("doc") or {}).get("id", "")) for r in rows]
    numeric = all(k.isdigit() for k in keys)
    rows = [r for _, r in sorted(zip(keys, rows), key=lambda kr: int(kr[0]) if numeric else kr[0])]
    extracted, refs, ids, used = [], [], [], set()
    for i, row in enumerate(rows):
        doc, resp = row.get("doc") or {}, row.get("model_response") or {}
        where = f"{path}: row {i}"
        text = resp.get("text")
        if not isinstance(text, list) or not text or not all(isinstance(t, str) for t in text):
            raise ValueError(f"{where}: model_response.text must be a non-empty list of generations (a generative "
                             f"task; loglikelihood tasks have no samples to vote over)")
        post = resp.get("text_post_processed")
        if isinstance(post, list) and len(post) == len(text) and all(isinstance(t, str) for t in post):
            gens, src = post, "text_post_processed"
        else:
            gens, src = text, "text"
        used.add(src)
        choices, gold = doc.get("choices"), doc.get("gold_index")
        golds = gold if isinstance(gold, list) else [gold]
        if not isinstance(choices, list) or not golds or any(
                isinstance(g, bool) or not isinstance(g, int) or not 0 <= g < len(choices) for g in golds):
            raise ValueError(f"{where}: doc.gold_index {gold!r} does not index doc.choices ({choices!r})")
        refs.append([str(choices[g]) for g in golds])
        extracted.append(list(extract([gens], extractor)[0]))
        ids.append(str(doc["id"]) if doc.get("id") not in (None, "") else str(i))
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate doc.id values")
    answers, correct = grade(extracted, refs)
    model = _lighteval_model(path)
    coords = checkpoint_coordinates(path, step=step, train_tokens=train_tokens, train_flops=train_flops,
                                    model_dir=model if model is not None else "")
    task = rows[0].get("doc", {}).get("task_name")
    return make_record(step=coords["step"], train_flops=coords["train_flops"], train_tokens=coords["train_tokens"],
                       ids=ids, answers=answers, correct=correct,
                       meta={"source": "lighteval", "details_file": os.path.abspath(path), "task": task,
                             "model": model, "answers_from": sorted(used), "extractor": str(extractor)})


# ---- any JSONL, with a field mapping --------------------------------------------------------------------------
def _field(rec: dict, name: str, where: str, required: bool = True) -> Any:
    """``rec[name]``; a dotted name walks into nested objects (``model_response.text``)."""
    cur: Any = rec
    for part in name.split("."):
        if not isinstance(cur, dict) or part not in cur:
            if required:
                raise ValueError(f"{where}: missing field {name!r}")
            return None
        cur = cur[part]
    return cur


def ingest_jsonl_file(path: str | os.PathLike, *, problem_field: str, answer_field: str | None = None,
                      text_field: str | None = None, correct_field: str | None = None,
                      reference_field: str | None = None, score_field: str | None = None,
                      extractor: Any = "number", step: int | None = None, train_tokens: float | None = None,
                      train_flops: float | None = None) -> dict:
    """One eval-log record from any JSONL file of graded samples, by field names.

    Each line is one sample (scalar fields) or one problem with its samples (list fields of equal length);
    lines of the same problem accumulate in file order. Fields (dotted names reach nested objects):

    - ``problem_field``: the problem id;
    - the answer: ``answer_field`` (already extracted; null = an abstention) or ``text_field`` (raw generation,
      extracted with ``extractor``);
    - the grade: ``correct_field`` (true/false per sample) or ``reference_field`` (the reference answer, graded
      with ``ttc_fast.grade``);
    - optional ``score_field``: a verifier score per sample (float).

    Answers are clustered per problem after ``ttc_fast.answers.normalize_answer``, as for lm-eval logs. With
    ``correct_field``, equal answers must carry the same grade and an abstention cannot be correct (ValueError
    naming the line). Checkpoint coordinates come from the arguments (``step`` and tokens or FLOPs are
    required: a JSONL file names no model)."""
    from ttc_fast.answers import extract, grade, normalize_answer

    path = os.fspath(path)
    if (answer_field is None) == (text_field is None):
        raise ValueError("give exactly one of answer_field (extracted answers) and text_field (raw generations)")
    if (correct_field is None) == (reference_field is None):
        raise ValueError("give exactly one of correct_field (true/false per sample) and reference_field "
                         "(the reference answer)")
    if step is None:
        raise ValueError(f"{path}: a JSONL file does not say its training step: pass step (--step)")
    if train_tokens is None and train_flops is None:
        raise ValueError(f"{path}: pass train_tokens or train_flops (--train-tokens / --train-flops)")
    problems: dict[str, dict[str, list]] = {}
    for lineno, rec in jsonl.read(path):
        where = f"{path}:{lineno}"
        if not isinstance(rec, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(rec).__name__}")
        pid = _field(rec, problem_field, where)
        if not isinstance(pid, (str, int)) or isinstance(pid, bool):
            raise ValueError(f"{where}: field {problem_field!r} must be a string or an integer, got {pid!r}")
        ans = _field(rec, answer_field or text_field, where)  # type: ignore[arg-type]
        many = isinstance(ans, list)
        vals = ans if many else [ans]
        if any(v is not None and not isinstance(v, (str, int, float)) for v in vals) or (
                text_field is not None and any(not isinstance(v, str) for v in vals)):
            raise ValueError(f"{where}: field {answer_field or text_field!r} must hold "
                             f"{'strings' if text_field else 'strings, numbers or null'}"
                             f"{' (a list of them for several samples)' if not many else ''}, got {ans!r}")
        n = len(vals)

        def per_sample(name: str, kind: str) -> list:
            v = _field(rec, name, where)
            out = v if many else [v]
            if not isinstance(out, list) or len(out) != n:
                raise ValueError(f"{where}: field {name!r} must be {'a list of ' + str(n) + ' values' if many else 'one value'} "
                                 f"like {answer_field or text_field!r}, got {v!r}")
            if kind == "bool" and any(not isinstance(x, bool) for x in out):
                raise ValueError(f"{where}: field {name!r} must be true/false, got {v!r}")
            if kind == "float" and any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in out):
                raise ValueError(f"{where}: field {name!r} must be a number, got {v!r}")
            return out

        prob = problems.setdefault(str(pid), {"texts": [], "correct": [], "scores": [], "ref": [], "lines": []})
        prob["texts"] += vals
        prob["lines"] += [lineno] * n
        if correct_field is not None:
            prob["correct"] += per_sample(correct_field, "bool")
        else:
            ref = _field(rec, reference_field, where)  # type: ignore[arg-type]
            if ref is None or isinstance(ref, (dict, bool)):
                raise ValueError(f"{where}: field {reference_field!r} must be a string, a number or a list "
                                 f"of accepted answers, got {ref!r}")
            if prob["ref"] and prob["ref"][0] != ref:
                raise ValueError(f"{where}: problem {pid!r} has reference {ref!r} here and "
                                 f"{prob['ref'][0]!r} on an earlier line")
            prob["ref"] = [ref]
        if score_field is not None:
            prob["scores"] += per_sample(score_field, "float")
    if not problems:
        raise ValueError(f"{path}: no samples")
    pids = list(problems)
    texts = [problems[p]["texts"] for p in pids]
    extracted = extract(texts, extractor) if text_field is not None else \
        [[None if v is None else str(v) for v in row] for row in texts]
    if correct_field is not None:
        answers, _ = grade(extracted, [None] * len(pids))
        correct = [problems[p]["correct"] for p in pids]
        for p, row_ids, row_ok, row_ans in zip(pids, answers, correct, extracted):
            lines = problems[p]["lines"]
            grade_of: dict[int, tuple[bool, int]] = {}
            for j, ok in enumerate(row_ok):
                a = int(row_ids[j])
                if a == -1 and ok:
                    raise ValueError(f"{path}:{lines[j]}: problem {p!r}: a sample with no answer is marked correct")
                if a >= 0 and grade_of.setdefault(a, (ok, lines[j]))[0] != ok:
                    raise ValueError(f"{path}:{lines[j]}: problem {p!r}: answer {normalize_answer(row_ans[j])!r} is "
                                     f"marked {ok} here and {not ok} on line {grade_of[a][1]} (equal answers are "
                                     f"one cluster: they need one grade)")
    else:
        answers, correct = grade(extracted, [problems[p]["ref"][0] for p in pids])
    scores = None
    if score_field is not None:
        scores = [problems[p]["scores"] + [0.0] * (answers.shape[1] - len(problems[p]["scores"])) for p in pids]
    coords = checkpoint_coordinates(path, step=step, train_tokens=train_tokens, train_flops=train_flops,
                                    model_dir="")
    return make_record(step=coords["step"], train_flops=coords["train_flops"], train_tokens=coords["train_tokens"],
                       ids=pids, answers=answers, correct=correct, scores=scores,
                       meta={"source": "jsonl", "file": os.path.abspath(path),
                             "fields": {k: v for k, v in (("problem", problem_field), ("answer", answer_field),
                                                          ("text", text_field), ("correct", correct_field),
                                                          ("reference", reference_field), ("score", score_field))
                                        if v is not None},
                             "extractor": str(extractor) if text_field is not None else None})


INGEST_FORMATS = ("lm-eval", "lighteval", "jsonl", "auto")


def ingest_files(paths: Sequence[str | os.PathLike], out: str | os.PathLike, *, format: str = "auto",
                 extractor: Any = "number", source: str = "resps", steps: Sequence[int] | None = None,
                 train_tokens: Sequence[float] | None = None, train_flops: Sequence[float] | None = None,
                 fields: dict[str, str | None] | None = None) -> list[dict]:
    """:func:`ingest` for every format: ``"lm-eval"`` (samples_*.jsonl), ``"lighteval"`` (details_*.parquet),
    ``"jsonl"`` (any JSONL, with ``fields`` = the keyword arguments of :func:`ingest_jsonl_file` ending in
    ``_field``) or ``"auto"`` (by file name: ``.parquet`` lighteval, else lm-eval). A directory means every file of
    the format under it. One record per file, sorted by step, written to ``out`` atomically."""
    from ttc_fast.evallog import write_log

    if format not in INGEST_FORMATS:
        raise ValueError(f"format must be one of {', '.join(INGEST_FORMATS)}; got {format!r}")
    if format != "jsonl" and fields and any(v is not None for v in fields.values()):
        raise ValueError(f"field names (--problem-field, ...) apply to format 'jsonl', not {format!r}")
    files: list[str] = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            pattern = {"lighteval": "details_*.parquet", "jsonl": "*.jsonl"}.get(format, "samples_*.jsonl")
            found = sorted(glob.glob(os.path.join(p, "**", pattern), recursive=True))
            if format == "auto" and not found:
                found = sorted(glob.glob(os.path.join(p, "**", "details_*.parquet"), recursive=True))
            if not found:
                raise FileNotFoundError(f"no {pattern} under {p}")
            files += found
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise FileNotFoundError(f"no such samples file: {p}")
    kinds = [format if format != "auto" else ("lighteval" if f.endswith(".parquet") else "lm-eval") for f in files]
    if format == "auto" and all(k == "lm-eval" for k in kinds):
        return ingest(files, out, extractor=extractor, source=source, steps=steps, train_tokens=train_tokens,
                      train_flops=train_flops)
    for name, vals in (("steps", steps), ("train_tokens", train_tokens), ("train_flops", train_flops)):
        if vals is not None and len(vals) != len(files):
            raise ValueError(f"{name} needs one value per file ({len(files)}); got {len(vals)}")
    records = []
    for i, (f, kind) in enumerate(zip(files, kinds)):
        kw = dict(step=None if steps is None else steps[i],
                  train_tokens=None if train_tokens is None else train_tokens[i],
                  train_flops=None if train_flops is None else train_flops[i])
        if kind == "lighteval":
            records.append(ingest_lighteval_file(f, extractor=extractor, **kw))
        elif kind == "jsonl":
            records.append(ingest_jsonl_file(f, extractor=extractor, **(fields or {}), **kw))
        else:
            records.append(ingest_file(f, extractor=extractor, source=source, **kw))
    records.sort(key=lambda r: r["step"])
    if len({r["step"] for r in records}) != len(records):
        raise ValueError(f"two files have the same step ({[r['step'] for r in records]}): pass --step")
    write_log(out, records)
    return records
