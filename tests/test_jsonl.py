"""ttc_fast.jsonl: the one JSONL reader/writer, and the eval log / journal / problems / samples readers built on it.

The oracle for the partial-line rule is the byte layout itself: after truncating a file written by ``jsonl.write``
at any byte, the records whose newline survived are read back, nothing else, and an append restores a valid file.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttc_fast import jsonl
from ttc_fast.evallog import append_record, read_eval_log, read_log

_json = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.text(max_size=8)
                     | st.floats(allow_nan=False), lambda c: st.lists(c, max_size=3)
                     | st.dictionaries(st.text(max_size=4), c, max_size=3), max_leaves=8)
_records = st.lists(st.dictionaries(st.text(max_size=5), _json, min_size=1, max_size=3), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(records=_records, cut=st.floats(0, 1))
def test_truncated_file_reads_the_complete_lines_and_append_repairs(tmp_path_factory, records, cut):
    path = tmp_path_factory.mktemp("j") / "f.jsonl"
    jsonl.write(path, records)
    data = path.read_bytes()
    b = int(cut * len(data))
    path.write_bytes(data[:b])
    complete = data[:b].count(b"\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jsonl.PartialLineWarning)
        got = [r for _, r in jsonl.read(path)]
    # a cut just before a newline leaves a complete object: kept (only the newline was lost)
    expect = records[:complete + (1 if b < len(data) and data[b:b + 1] == b"\n" else 0)]
    assert got == expect
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jsonl.PartialLineWarning)
        jsonl.append(path, {"new": 1})
    assert [json.loads(line) for line in path.read_text().splitlines()] == expect + [{"new": 1}]


def test_partial_last_line_warns_and_names_the_line(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n{"a": 3, "b')
    with pytest.warns(jsonl.PartialLineWarning, match=r"f.jsonl:4: skipped an unterminated"):
        assert jsonl.read(path) == [(1, {"a": 1}), (3, {"a": 2})]
    path.write_text('{"a": 1}\n{"a": 2}')  # complete record, newline lost: kept without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert jsonl.read(path) == [(1, {"a": 1}), (2, {"a": 2})]
        jsonl.append(path, {"a": 3})
    assert path.read_text() == '{"a": 1}\n{"a": 2}\n{"a":3}\n'
    path.write_text('{"a": 1}\n12')  # a scalar could be a cut-off number: treated as partial
    with pytest.warns(jsonl.PartialLineWarning):
        assert jsonl.read(path) == [(1, {"a": 1})]
    with pytest.warns(jsonl.PartialLineWarning, match=r"f.jsonl:2: cut off"):
        assert jsonl.repair_tail(path) == 2
    assert path.read_text() == '{"a": 1}\n'


@pytest.mark.parametrize("content, problem", [
    (b'{"a": 1}\n{"a": 1,,}\n{"a": 2}\n', r"f.jsonl:2: not valid JSON \(Expecting property name"),
    (b'{"a": 1}\n{"a": "\xff"}\n', r"f.jsonl:2: not valid UTF-8 \(byte 0xff at column 8\)"),
    (b'{"a": 1}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n", r"f.jsonl:2: not valid JSON \(nested too deeply"),
    (b'{"a": 1}\n{"a"}\n', r"f.jsonl:2: not valid JSON .* column 5"),
    (b'{"a": 1}\n{"a": 1} {"b": 2}\n', r"f.jsonl:2: not valid JSON \(Extra data"),
])
def test_damage_before_the_last_line_names_file_line_and_column(tmp_path, content, problem):
    path = tmp_path / "f.jsonl"
    path.write_bytes(content)
    with pytest.raises(jsonl.JSONLError, match=problem) as err:
        jsonl.read(path)
    assert isinstance(err.value, ValueError) and err.value.lineno == 2


def test_writers(tmp_path):
    path = tmp_path / "f.jsonl"
    jsonl.write(path, [{"x": np.int64(3), "y": np.arange(2), "z": np.float32(0.5), "t": "é"}])
    assert path.read_bytes() == b'{"x":3,"y":[0,1],"z":0.5,"t":"\\u00e9"}\n'
    with pytest.raises(TypeError, match="set is not JSON-serialisable"):
        jsonl.write(path, [{"ok": 1}, {"bad": {1, 2}}])
    assert path.read_bytes() == b'{"x":3,"y":[0,1],"z":0.5,"t":"\\u00e9"}\n'  # unchanged: the write is atomic
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.jsonl"]  # no temporary file left behind
    with pytest.raises(TypeError, match="object is not JSON-serialisable"):
        jsonl.append(path, {"bad": object()})
    assert len(path.read_bytes().splitlines()) == 1
    with pytest.raises(FileNotFoundError):
        jsonl.read(tmp_path / "missing.jsonl")
    assert jsonl.read(tmp_path / "missing.jsonl", missing_ok=True) == []


# ---- the eval log on top of it ---------------------------------------------------------------------------
def _rec(step, answers=((0, 0, 1), (2, -1, 2))):
    return {"step": step, "train_flops": 1e15 * step, "problems": [
        {"id": f"p{i}", "answers": list(a), "correct": [x == 0 for x in a], "scores": None}
        for i, a in enumerate(answers)]}


def test_eval_log_partial_last_line_is_skipped_by_every_reader(tmp_path):
    from ttc_fast.selector import select
    path = tmp_path / "log.jsonl"
    for s in (1, 2, 3):
        append_record(path, _rec(s))
    with open(path, "a") as f:
        f.write('{"step": 4, "train_fl')  # an interrupted append
    with pytest.warns(jsonl.PartialLineWarning, match="log.jsonl:4"):
        assert [r["step"] for r in read_log(path)] == [1, 2, 3]
    with pytest.warns(jsonl.PartialLineWarning, match="log.jsonl:4"):
        assert [r["step"] for r in read_eval_log(path)] == [1, 2, 3]
    with pytest.warns(jsonl.PartialLineWarning):
        d = select(path, budget_flops=1e16, progress=False)
    assert d.step == 3
    with pytest.warns(jsonl.PartialLineWarning, match="cut off"):
        append_record(path, _rec(4))
    assert [r["step"] for r in read_log(path)] == [1, 2, 3, 4]


@pytest.mark.parametrize("answers, match", [
    (((2**63, 0, 1), (0, 0, 0)), r"log.jsonl:2: field 'problems\[0\].answers' .*entry 0 is 9223372036854775808"),
    (((0, 0, 1), (0, 2**64 + 5, 0)), r"log.jsonl:2: field 'problems\[1\].answers' .*entry 1 is 18446744073709551621"),
    (((0, -3, 1), (0, 0, 0)), r"field 'problems\[0\].answers' .*entry 1 is -3"),
    (((0, -2, 1), (0, 0, 0)), r"entry 1 is -2"),
    (((0, "1", 1), (0, 0, 0)), r"entry 1 is '1'"),
    (((0, 1.0, 1), (0, 0, 0)), r"entry 1 is 1.0"),
    (((0, True, 1), (0, 0, 0)), r"entry 1 is True"),
])
def test_eval_log_out_of_range_ids_name_file_line_field_and_value(tmp_path, answers, match):
    path = tmp_path / "log.jsonl"
    append_record(path, _rec(1))
    rec = _rec(2)
    for p, a in zip(rec["problems"], answers):
        p["answers"] = list(a)
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")
    with pytest.raises(ValueError, match=match):
        read_eval_log(path)
    from ttc_fast.selector import select
    with pytest.raises(ValueError, match=match):
        select(path, budget_flops=1e16, progress=False)


@pytest.mark.parametrize("edit, match", [
    (lambda r: r.update(train_flops=float("inf")), r"log:1: field 'train_flops' must be a finite number >= 0"),
    (lambda r: r.update(train_flops=10**400), r"field 'train_flops' must be a finite number"),
    (lambda r: r.update(train_tokens=-1.0, train_flops=None), r"field 'train_tokens' must be a finite number"),
    (lambda r: r.update(step=2**63), r"field 'step' must be an integer \(int64\), got 9223372036854775808"),
    (lambda r: r.update(step=1.5), r"field 'step' must be an integer"),
    (lambda r: r["problems"][0].update(correct=[1, 0, 0]), r"'problems\[0\].correct' must hold true/false; entry 0"),
    (lambda r: r["problems"][0].update(scores=["1", 0, 0]), r"'problems\[0\].scores' must hold numbers"),
    (lambda r: [p.update(scores=[float("nan")] * 3) for p in r["problems"]], r"'problems\[0\].scores'.*nan"),
    (lambda r: r["problems"][0].update(scores=[10**400, 0, 0]), r"'problems\[0\].scores'.*too large"),
])
def test_eval_log_record_validation(edit, match):
    rec = _rec(1)
    edit(rec)
    with pytest.raises(ValueError, match=match):
        read_eval_log([rec])


def test_eval_log_argument_types(tmp_path):
    with pytest.raises(TypeError, match="single record"):
        read_eval_log(_rec(1))
    with pytest.raises(TypeError, match="iterable of records, got int"):
        read_eval_log(3)
    with pytest.raises(FileNotFoundError, match="missing.jsonl"):
        read_eval_log(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(ValueError, match="no records"):
        read_eval_log(tmp_path / "empty.jsonl")


def test_journal_io_on_the_module(tmp_path):
    from ttc_fast.selector.journal import append_line, read_journal
    path = tmp_path / "j.jsonl"
    append_line(str(path), {"type": "header"})
    append_line(str(path), {"type": "update", "step": 1})
    with open(path, "a") as f:
        f.write('{"type": "upd')
    with pytest.warns(jsonl.PartialLineWarning, match="cut off"):
        assert read_journal(str(path)) == [{"type": "header"}, {"type": "update", "step": 1}]
    assert path.read_text().endswith('"step":1}\n')  # the partial line was cut off the file
    path.write_bytes(b'{"type": "header"}\n{"t\xff": 1}\n{"a": 2}\n')
    with pytest.raises(ValueError, match=r"journal .*j.jsonl: line 2 is not valid UTF-8"):
        read_journal(str(path))
