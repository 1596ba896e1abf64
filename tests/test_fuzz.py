"""Fuzz suite: every public entry point and every CLI subcommand on bad (and some good) inputs.

Two layers. (1) The tables of hand-picked cases in ``fuzz_cases.py`` run in child processes (several cases per
child, each under a time limit; a case that hangs or crashes its child is reported as such and the rest continue,
see ``fuzz_harness.py``): each must give a named error (type + message naming the argument, the field or the file
line) or a correct result. (2) hypothesis properties in-process over the pure-Python boundaries (JSONL bytes, eval
log records, config.json dicts, CLI arguments): whatever the input, the outcome is a result or a ValueError /
TypeError that names where, never another exception. ``-m slow`` runs the properties with many more examples.
Inputs in other owners' areas that fail today are kept apart (``OPEN_CASES``, ``python tests/fuzz_cases.py``).
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from fuzz_cases import NUMPY_CASES, NUMPY_SETUP, TORCH_CASES, TORCH_SETUP  # noqa: E402
from fuzz_harness import failures, run_cases  # noqa: E402

from ttc_fast import jsonl  # noqa: E402
from ttc_fast.checkpoint import parse_config, step_from_path  # noqa: E402
from ttc_fast.evallog import read_eval_log  # noqa: E402

ENV = {"FUZZ_TESTS_DIR": os.path.dirname(os.path.abspath(__file__))}
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_table_without_torch():
    res = run_cases(NUMPY_CASES, NUMPY_SETUP, env=ENV)
    bad = failures(NUMPY_CASES, res)
    assert not bad, "\n".join(bad)


def test_table_with_torch():
    pytest.importorskip("torch")
    res = run_cases(TORCH_CASES, TORCH_SETUP, env=ENV)
    bad = failures(TORCH_CASES, res)
    assert not bad, "\n".join(bad)


def test_the_harness_survives_hangs_and_crashes():
    from fuzz_harness import Case, Ok, Raises
    cases = [Case("hang", "import time\nwhile True: time.sleep(0.01)", limit=1),
             # the alarm blocked, like a C++ loop that never returns to the interpreter: the child must be killed
             Case("c-level hang", "import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
                                  "time.sleep(30)", limit=1),
             Case("crash", "import os; os._exit(3)"), Case("after", "result = 1 + 1"),
             Case("raises", "raise ValueError('x is bad')", Raises(("ValueError",), "x is bad"))]
    res = run_cases(cases, grace=8.0)  # generous: the alarm case must report in time on a loaded machine
    assert res["hang"]["status"] == "timeout"  # a Python loop is interrupted by the alarm
    assert res["c-level hang"]["status"] == "hung"  # a C call that ignores the alarm: the child is killed
    assert res["crash"]["status"] == "crashed" and res["after"]["status"] == "ok"
    assert failures(cases[3:], res) == []
    assert failures([Case("hang", "", Ok())], res)  # a timeout is a failure of an Ok case


# ---- hypothesis: JSONL bytes -----------------------------------------------------------------------------------
_LINE = st.one_of(st.binary(max_size=40), st.sampled_from([b"{}", b'{"a": 1}', b"[1, 2]", b"12", b'"x"', b"nul",
                                                           b"\xff\xfe", b"{" * 50, b"NaN", b"\r"]))


def _jsonl_property(tmp_path_factory, lines, terminated):
    path = tmp_path_factory.mktemp("j") / "f.jsonl"
    data = b"\n".join(lines) + (b"\n" if terminated else b"")
    path.write_bytes(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = jsonl.read(path)
        except jsonl.JSONLError as err:
            assert re.match(rf".*f\.jsonl:{err.lineno}: not valid (JSON|UTF-8) \(", str(err)), str(err)
            assert 1 <= err.lineno <= data.count(b"\n")  # never the unterminated last line
            return
    assert all(issubclass(w.category, jsonl.PartialLineWarning) for w in caught)
    assert len(caught) <= 1 and (not caught or not terminated)
    assert [n for n, _ in out] == sorted({n for n, _ in out})
    for n, value in out:  # every value read is exactly the line's JSON
        assert json.dumps(value) == json.dumps(json.loads(data.split(b"\n")[n - 1]))


@FEW
@given(lines=st.lists(_LINE, max_size=6), terminated=st.booleans())
def test_jsonl_reader_on_arbitrary_bytes(tmp_path_factory, lines, terminated):
    _jsonl_property(tmp_path_factory, lines, terminated)


@pytest.mark.slow
@MANY
@given(lines=st.lists(_LINE, max_size=12), terminated=st.booleans())
def test_jsonl_reader_on_arbitrary_bytes_thorough(tmp_path_factory, lines, terminated):
    _jsonl_property(tmp_path_factory, lines, terminated)


# ---- hypothesis: eval-log records ------------------------------------------------------------------------------
_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=3))
_VALUE = st.recursive(_SCALAR, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=3), c, max_size=3),
                      max_leaves=10)
_PROBLEM = st.fixed_dictionaries({"answers": st.one_of(st.lists(st.integers(-3, 5), max_size=5), _VALUE),
                                  "correct": st.one_of(st.lists(st.booleans(), max_size=5), _VALUE)},
                                 optional={"scores": st.one_of(st.none(), st.lists(_SCALAR, max_size=5)),
                                           "id": _SCALAR})
_RECORD = st.fixed_dictionaries({}, optional={
    "step": st.one_of(st.integers(-5, 2**64), _SCALAR), "train_flops": _SCALAR, "train_tokens": _SCALAR,
    "problems": st.one_of(st.lists(_PROBLEM, max_size=3), _VALUE), "accuracy": _VALUE, "extra": _VALUE})


def _eval_log_property(records):
    try:
        out = read_eval_log(records)
    except (ValueError, TypeError) as err:
        assert re.match(r"log(:\d+)?: ", str(err)), str(err)  # names the record
        return
    for rec, norm in zip(records, out):  # accepted: the arrays are exactly the record's lists
        assert norm["step"] == rec["step"]
        if "answers" in norm:
            for i, p in enumerate(rec["problems"]):
                n = len(p["answers"])
                assert norm["answers"][i, :n].tolist() == p["answers"]
                assert norm["correct"][i, :n].tolist() == p["correct"]
                assert (norm["answers"][i, n:] == -2).all()


@FEW
@given(records=st.lists(_RECORD, max_size=3))
def test_eval_log_records(records):
    _eval_log_property(records)


@pytest.mark.slow
@MANY
@given(records=st.lists(_RECORD, max_size=4))
def test_eval_log_records_thorough(records):
    _eval_log_property(records)


# ---- hypothesis: config.json dicts -----------------------------------------------------------------------------
_CFG_KEYS = ["model_type", "architectures", "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
             "intermediate_size", "num_key_value_heads", "head_dim", "rms_norm_eps", "rope_theta", "rope_parameters",
             "rotary_pct", "partial_rotary_factor", "attention_bias", "tie_word_embeddings", "num_experts",
             "num_experts_per_tok", "moe_intermediate_size", "mlp_only_layers", "sliding_window", "hidden_act"]
_GOOD = dict(model_type="llama", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=100,
             intermediate_size=96)
_CFG_VALUE = st.one_of(_SCALAR, st.integers(0, 300), st.sampled_from(list(
    ["llama", "mistral", "qwen2", "qwen3", "qwen3_moe", "gpt_neox", "gpt2"])), st.lists(st.integers(-1, 3)),
    st.dictionaries(st.sampled_from(["rope_theta", "rope_type", "partial_rotary_factor", "type"]), _SCALAR))


def _config_property(edits, drop):
    cfg = {k: v for k, v in {**_GOOD, **edits}.items() if k not in drop}
    try:
        c = parse_config(cfg)
    except (ValueError, TypeError) as err:
        assert re.match(r"config: (missing )?field '\w+'", str(err)), str(err)
        return
    from ttc_fast import ModelSpec
    spec = ModelSpec.from_parsed(c)  # an accepted config is a valid ModelSpec (its own checks pass)
    assert spec.num_params() > 0 and c.num_heads % c.num_kv_heads == 0 and math.isfinite(c.rope_theta)


@FEW
@given(edits=st.dictionaries(st.sampled_from(_CFG_KEYS), _CFG_VALUE, max_size=4),
       drop=st.sets(st.sampled_from(list(_GOOD)), max_size=1))
def test_config_dicts(edits, drop):
    _config_property(edits, drop)


@pytest.mark.slow
@MANY
@given(edits=st.dictionaries(st.sampled_from(_CFG_KEYS), _CFG_VALUE, max_size=8),
       drop=st.sets(st.sampled_from(list(_GOOD)), max_size=2))
def test_config_dicts_thorough(edits, drop):
    _config_property(edits, drop)


@FEW
@given(path=st.text(max_size=60))
def test_step_from_path_never_fails(path):
    s = step_from_path(path.replace("\x00", ""))
    assert s is None or (isinstance(s, int) and s >= 0)


# ---- hypothesis: CLI arguments of the fast subcommands ---------------------------------------------------------
_NUM = st.one_of(st.sampled_from(["0", "-1", "1", "1e9", "nan", "inf", "-inf", "1e400", "x", "", "3,4", "0.5"]),
                 st.integers(-10, 10**6).map(str))
_FLAGS = {"flops": ["--tokens", "--prompt", "--gen", "--k", "--seq-len", "--bytes-per-elem"],
          "breakeven": ["--r", "--lam", "--train-tokens", "--out-len", "--train-to-infer", "--full-tokens",
                        "--checkpoint-tokens", "--k", "--prompt", "--gen", "--eval-flops"]}


def _cli_property(cmd, pairs, shape):
    from ttc_fast.cli import main
    argv = [cmd] + (["--shape", "tiny"] if shape else [])
    for flag, value in pairs:
        argv += [flag, value]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse: usage error
            rc = e.code
    assert rc in (0, 2), (argv, rc, err.getvalue())
    assert "Traceback" not in err.getvalue()
    if rc == 2:
        assert re.search(r"error: ", err.getvalue()), (argv, err.getvalue())
    else:
        assert "nan" not in out.getvalue().lower() or "nan" in " ".join(argv), (argv, out.getvalue())


@FEW
@given(cmd=st.sampled_from(sorted(_FLAGS)), data=st.data(), shape=st.booleans())
def test_cli_arguments(cmd, data, shape):
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(_FLAGS[cmd]), _NUM), max_size=5))
    _cli_property(cmd, pairs, shape)


@pytest.mark.slow
@MANY
@given(cmd=st.sampled_from(sorted(_FLAGS)), data=st.data(), shape=st.booleans())
def test_cli_arguments_thorough(cmd, data, shape):
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(_FLAGS[cmd]), _NUM), max_size=8))
    _cli_property(cmd, pairs, shape)
