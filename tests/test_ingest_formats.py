"""ttc-fast ingest --format jsonl (any JSONL, by field names) and --format lighteval (a real lighteval 0.13
--save-details parquet file, tests/data/lighteval/: see its README.md for how it was made)."""
from __future__ import annotations

import glob
import json
import os
import re

import numpy as np
import pytest

from ttc_fast.cli import main
from ttc_fast.evallog import read_log
from ttc_fast.ingest import ingest_jsonl_file

LIGHTEVAL = os.path.join(os.path.dirname(__file__), "data", "lighteval")


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


# one sample per line; answers that normalise to one cluster ("12", "12.0", " 12 ") and abstentions (null)
SAMPLES = [
    ("p0", "12", True), ("p0", "7", False), ("p0", "12.0", True), ("p0", None, False), ("p0", " 12 ", True),
    ("p1", "3", False), ("p1", "4", False), ("p1", "3", False), ("p1", "5", True), ("p1", "1,000", False),
]
WANT = {"p0": ([0, 1, 0, -1, 0], [True, False, True, False, True]),
        "p1": ([0, 1, 0, 2, 3], [False, False, False, True, False])}


def test_jsonl_one_sample_per_line_with_nested_fields(tmp_path):
    rows = [{"meta": {"qid": p}, "pred": a, "ok": c, "s": 0.5 + i} for i, (p, a, c) in enumerate(SAMPLES)]
    rec = ingest_jsonl_file(_write(tmp_path / "s.jsonl", rows), problem_field="meta.qid", answer_field="pred",
                            correct_field="ok", score_field="s", step=7, train_tokens=1e6)
    assert rec["step"] == 7 and rec["train_tokens"] == 1e6 and rec["num_samples"] == 5
    assert [p["id"] for p in rec["problems"]] == ["p0", "p1"]
    for p in rec["problems"]:
        assert (p["answers"], p["correct"]) == WANT[p["id"]]
    assert rec["problems"][1]["scores"] == [5.5, 6.5, 7.5, 8.5, 9.5]


def test_jsonl_one_problem_per_line_graded_against_a_reference(tmp_path):
    """Raw texts, extracted with --extract and graded against the reference: the same rows as one-sample lines
    with the grade given."""
    rows = [{"id": "p0", "gens": ["so 12", "it is 7", "12.0 then", "no idea", "= 12"], "ref": "12"},
            {"id": "p1", "gens": ["3", "4", "3", "5", "1,000"], "ref": 5}]
    log = tmp_path / "log.jsonl"
    assert main(["ingest", _write(tmp_path / "p.jsonl", rows), "--format", "jsonl", "--problem-field", "id",
                 "--text-field", "gens", "--reference-field", "ref", "--step", "3", "--train-flops", "2e18",
                 "--out", str(log)]) == 0
    (rec,) = read_log(log)
    assert rec["train_flops"] == 2e18 and rec["meta"]["source"] == "jsonl"
    for p in rec["problems"]:
        assert (p["answers"], p["correct"]) == WANT[p["id"]]


def test_jsonl_and_the_direct_log_give_the_same_selection(tmp_path):
    """A synthetic run written as per-sample JSONL files, ingested, selects exactly like its eval log."""
    from _ttc_synth import BUDGET, run_records

    from ttc_fast.selector import select
    recs = run_records(20, 6, np.linspace(0.05, 0.8, 8), seed=3)
    files, steps, flops = [], [], []
    for r in recs:
        rows = [{"problem": p["id"], "answer": str(a) if a >= 0 else None, "correct": c}
                for p in r["problems"] for a, c in zip(p["answers"], p["correct"])]
        files.append(_write(tmp_path / f"step{r['step']}.jsonl", rows))
        steps.append(str(r["step"]))
        flops.append(repr(r["train_flops"]))
    out = tmp_path / "log.jsonl"
    assert main(["ingest", *files, "--format", "jsonl", "--problem-field", "problem", "--answer-field", "answer",
                 "--correct-field", "correct", "--step", ",".join(steps), "--train-flops", ",".join(flops),
                 "--out", str(out)]) == 0
    kw = dict(budget_flops=BUDGET, strategy="maj", patience=2, progress=False)
    assert select(str(out), **kw) == select(recs, **kw)


@pytest.mark.parametrize("rows, kw, match", [
    ([{"q": "a", "x": "1", "ok": True}, {"q": "a", "x": "1.0", "ok": False}], {}, r":2: problem 'a': answer '1'"),
    ([{"q": "a", "x": None, "ok": True}], {}, r":1: problem 'a': a sample with no answer is marked correct"),
    ([{"q": "a", "ok": True}], {}, r":1: missing field 'x'"),
    ([{"q": "a", "x": ["1", "2"], "ok": [True]}], {}, r":1: field 'ok' must be a list of 2 values"),
    ([{"q": "a", "x": "1", "ok": "yes"}], {}, r":1: field 'ok' must be true/false"),
    ([{"q": {"id": 1}, "x": "1", "ok": True}], {}, r":1: field 'q' must be a string or an integer"),
    ([{"q": "a", "x": "1", "ok": True}], {"step": None}, r"training step"),
    ([{"q": "a", "x": "1", "ok": True}], {"train_tokens": None}, r"train_tokens or train_flops"),
])
def test_jsonl_bad_input_is_named(tmp_path, rows, kw, match):
    args = dict(problem_field="q", answer_field="x", correct_field="ok", step=1, train_tokens=1.0)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        ingest_jsonl_file(_write(tmp_path / "bad.jsonl", rows), **args)


def test_jsonl_cli_needs_its_fields(tmp_path, capsys):
    f = _write(tmp_path / "s.jsonl", [{"q": "a", "x": "1", "ok": True}])
    assert main(["ingest", f, "--format", "jsonl", "--out", str(tmp_path / "o.jsonl"), "--step", "1",
                 "--train-flops", "1"]) == 2
    assert "--problem-field" in capsys.readouterr().err
    assert main(["ingest", f, "--problem-field", "q", "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "apply to format 'jsonl'" in capsys.readouterr().err


# ---- lighteval ----------------------------------------------------------------------------------------------
def _details():
    (path,) = glob.glob(os.path.join(LIGHTEVAL, "out", "details", "**", "details_*.parquet"), recursive=True)
    return path


def _last_digit(text):
    m = re.findall(r"\d+", text)
    return m[-1] if m else None


def test_real_lighteval_details_convert_to_the_eval_log(tmp_path):
    """Independent reference: the parquet read with pyarrow, the last run of digits of every generation compared
    with doc.choices[doc.gold_index] by plain Python."""
    pq = pytest.importorskip("pyarrow.parquet")
    rows = sorted(pq.read_table(_details()).to_pylist(), key=lambda r: int(r["doc"]["id"]))
    out = tmp_path / "log.jsonl"
    assert main(["ingest", os.path.join(LIGHTEVAL, "out"), "--format", "lighteval", "--train-tokens", "1e6",
                 "--out", str(out)]) == 0
    (rec,) = read_log(out)
    assert rec["step"] == 800  # from the model path lighteval's results file names (.../step-000800)
    assert rec["meta"]["source"] == "lighteval" and rec["meta"]["model"].endswith("step-000800")
    n = rows[0]["doc"]["num_samples"]
    assert rec["num_samples"] == n == 8 and len(rec["problems"]) == len(rows) == 16
    for row, prob in zip(rows, rec["problems"]):
        assert prob["id"] == row["doc"]["id"]
        gold = row["doc"]["choices"][row["doc"]["gold_index"]]
        ans = [_last_digit(t) for t in row["model_response"]["text"]]
        assert prob["correct"] == [a == gold for a in ans]
        for i in range(n):
            assert (prob["answers"][i] == -1) == (ans[i] is None)
            for j in range(n):
                if ans[i] is not None and ans[j] is not None:
                    assert (prob["answers"][i] == prob["answers"][j]) == (ans[i] == ans[j])
    assert 0 < np.mean([c for p in rec["problems"] for c in p["correct"]]) < 1


def test_lighteval_file_errors(tmp_path):
    pytest.importorskip("pyarrow")
    from ttc_fast.ingest import ingest_lighteval_file
    bad = tmp_path / "details_x.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="not a readable parquet file"):
        ingest_lighteval_file(bad, step=1, train_flops=1.0)
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"x": [1]}), tmp_path / "details_y.parquet")
    with pytest.raises(ValueError, match="no column 'doc'"):
        ingest_lighteval_file(tmp_path / "details_y.parquet", step=1, train_flops=1.0)


@pytest.mark.slow
def test_live_lighteval_run_ingests(tmp_path):
    """A real lighteval run (when lighteval is installed: it is not a test dependency) on a tiny random local
    checkpoint, through tests/data/lighteval/run_lighteval.py, then ingested and regraded independently."""
    pytest.importorskip("lighteval")
    pq = pytest.importorskip("pyarrow.parquet")
    import subprocess
    import sys

    import models as M
    model = tmp_path / "step-000300"
    M.build("llama", model)
    cfg = json.loads((model / "generation_config.json").read_text())
    (model / "generation_config.json").write_text(json.dumps({**cfg, "do_sample": True}))
    data = tmp_path / "data"
    data.mkdir()
    _write(data / "test.jsonl", [{"id": f"q{i}", "prompt": f"w{5 + i} w{9 + i}", "answer": str(10 + i % 3)}
                                 for i in range(6)])
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", CHAIN_DATA_DIR=str(data))
    r = subprocess.run([sys.executable, os.path.join(LIGHTEVAL, "run_lighteval.py"), "accelerate",
                        f"model_name={model},dtype=float32,batch_size=8,generation_parameters={{temperature:1.0,"
                        f"seed:0}}", "chain_mod10|0", "--custom-tasks", os.path.join(LIGHTEVAL, "chain_task.py"),
                        "--save-details", "--output-dir", str(tmp_path / "out")], capture_output=True, text=True,
                       env=env, timeout=900, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path / "log.jsonl"
    assert main(["ingest", str(tmp_path / "out"), "--format", "lighteval", "--train-flops", "1e15",
                 "--out", str(out)]) == 0
    (rec,) = read_log(out)
    assert rec["step"] == 300 and rec["num_samples"] == 8
    (details,) = glob.glob(str(tmp_path / "out" / "details" / "**" / "*.parquet"), recursive=True)
    rows = sorted(pq.read_table(details).to_pylist(), key=lambda r: int(r["doc"]["id"]))
    for row, prob in zip(rows, rec["problems"]):
        gold = row["doc"]["choices"][row["doc"]["gold_index"]]
        assert prob["correct"] == [_last_digit(t) == gold for t in row["model_response"]["text"]]
