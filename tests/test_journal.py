"""Journal: resume after a restart or a crash gives the decisions of an uninterrupted run."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _ttc_synth import BUDGET, run_records

from ttc_fast.selector import TTCEarlyStopping

TESTS = os.path.dirname(os.path.abspath(__file__))
KW = dict(budget_flops=BUDGET, strategy="pass", patience=4)
XS = np.linspace(0.04, 0.7, 14)


def _records():
    return run_records(30, 8, XS, seed=11)


def _feed(st, recs):
    out = []
    for r in recs:
        a = np.array([p["answers"] for p in r["problems"]])
        c = np.array([p["correct"] for p in r["problems"]])
        out.append(st.update(step=r["step"], train_flops=r["train_flops"], answers=a, correct=c))
    return out


def _same(d1, d2):
    a, b = d1.to_dict(), d2.to_dict()
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, float) and math.isnan(x):
            assert isinstance(y, float) and math.isnan(y), k
        else:
            assert x == y, (k, x, y)


def _reference():
    return _feed(TTCEarlyStopping(**KW), _records())


def test_resume_in_process_equals_uninterrupted(tmp_path):
    ref = _reference()
    path = tmp_path / "j.jsonl"
    recs = _records()
    first = _feed(TTCEarlyStopping(**KW, journal=path), recs[:6])
    resumed = TTCEarlyStopping(**KW, journal=path)
    assert resumed._count == first[-1].patience_count and len(resumed.history) == 6
    _same(resumed.decision, first[-1])
    rest = _feed(resumed, recs[6:])
    for d1, d2 in zip(ref, first + rest):
        _same(d1, d2)
    assert any(d.should_stop for d in ref)  # the run exercises a stop
    assert len(path.read_text().splitlines()) == 1 + len(recs)


_CHILD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    import numpy as np
    from _ttc_synth import run_records
    from ttc_fast.selector import TTCEarlyStopping
    import test_journal as tj
    recs = tj._records()
    st = TTCEarlyStopping(**tj.KW, journal={path!r})
    done = len(st.history)
    for r in recs[done:{stop_after}]:
        tj._feed(st, [r])
        print("updated", r["step"], flush=True)
    if {mid_write}:
        with open({path!r}, "a") as f:  # a crash in the middle of writing the next record
            f.write('{{"type":"update","step":99999,"train_fl')
            f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    print("waiting", flush=True)
    import time
    time.sleep(60)
""")


@pytest.mark.parametrize("mid_write", [False, True])
def test_kill_and_resume_subprocess(tmp_path, mid_write):
    path = str(tmp_path / "j.jsonl")
    stop_after = 7  # qualifying evaluations in: the patience counter must survive the kill
    code = _CHILD.format(tests=TESTS, path=path, stop_after=stop_after, mid_write=mid_write)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("waiting"):
                proc.send_signal(signal.SIGKILL)  # killed while alive: no cleanup of any kind runs
                break
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert sum(x.startswith("updated") for x in lines) == stop_after
    if mid_write:
        assert not open(path).read().endswith("\n")
    resumed = TTCEarlyStopping(**KW, journal=path)
    assert len(resumed.history) == stop_after
    ref = _reference()
    assert ref[stop_after - 1].patience_count > 0
    assert resumed._count == ref[stop_after - 1].patience_count
    rest = _feed(resumed, _records()[stop_after:])
    for d1, d2 in zip(ref, [h.decision for h in resumed.history[:stop_after]] + rest):
        _same(d1, d2)
    # the truncated record was cut off: every line of the journal parses
    for line in open(path):
        json.loads(line)


def test_truncated_last_line_tolerated_and_corrupt_middle_line_rejected(tmp_path):
    path = tmp_path / "j.jsonl"
    recs = _records()
    first = _feed(TTCEarlyStopping(**KW, journal=path), recs[:3])
    with open(path, "a") as f:
        f.write('{"type": "upd')
    st = TTCEarlyStopping(**KW, journal=path)
    assert len(st.history) == 3
    _same(st.decision, first[-1])
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:10]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="line 3 is not valid JSON"):
        TTCEarlyStopping(**KW, journal=path)


def test_lost_newline_keeps_complete_record(tmp_path):
    path = tmp_path / "j.jsonl"
    first = _feed(TTCEarlyStopping(**KW, journal=path), _records()[:3])
    data = path.read_bytes()
    path.write_bytes(data[:-1])  # the record is complete, only its newline is missing
    st = TTCEarlyStopping(**KW, journal=path)
    assert len(st.history) == 3
    _same(st.decision, first[-1])
    _feed(st, _records()[3:4])
    assert len(path.read_text().splitlines()) == 5


def test_journal_config_mismatch_and_resend(tmp_path):
    path = tmp_path / "j.jsonl"
    recs = _records()
    st = TTCEarlyStopping(**KW, journal=path)
    d = _feed(st, recs[:2])
    with pytest.raises(ValueError, match="patience=4"):
        TTCEarlyStopping(**{**KW, "patience": 5}, journal=path)
    n_lines = len(path.read_text().splitlines())
    again = _feed(TTCEarlyStopping(**KW, journal=path), recs[1:2])  # a restarted loop re-sends its last step
    _same(again[0], d[1])
    assert len(path.read_text().splitlines()) == n_lines


def _v1_header(path, config):
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    header["version"] = 1
    header["config"].update(config)
    for key in ("patience_mode", "calibrate", "step_hazard", "gain_hazard"):
        header["config"].pop(key, None)
    path.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n")


def test_version_1_journals(tmp_path):
    # the paper's method is unchanged: a version 1 journal of it resumes; the exact method's v1 journals are
    # refused with a message naming the reason
    recs = _records()
    paper = dict(KW, method="sigmoid")
    path = tmp_path / "sig.jsonl"
    d = _feed(TTCEarlyStopping(**paper, journal=path), recs[:5])
    _v1_header(path, {"monotone_filter": True, "filter_tolerance": 0.0, "fit_alpha": 0.0})
    resumed = TTCEarlyStopping(**paper, journal=path)
    _same(resumed.decision, d[-1])
    path = tmp_path / "exact.jsonl"
    _feed(TTCEarlyStopping(**KW, journal=path), recs[:3])
    _v1_header(path, {"monotone_filter": True, "filter_tolerance": 1.0, "fit_alpha": 0.05})
    with pytest.raises(ValueError, match="version 1 selector"):
        TTCEarlyStopping(**KW, journal=path)


@pytest.mark.parametrize("version, reason", [(2, "accuracy scale"), (3, "late-gain hazard")])
def test_version_2_and_3_journals(tmp_path, version, reason):
    # version 2 projected on the accuracy scale, version 3 had no late-gain hazard (no gain_hazard setting): their
    # exact journals are refused naming the reason, the paper's resume
    recs = _records()
    for method, ok in (("sigmoid", True), ("exact", False)):
        kw = dict(KW, method=method)
        path = tmp_path / f"{method}.jsonl"
        d = _feed(TTCEarlyStopping(**kw, journal=path), recs[:5])
        lines = path.read_text().splitlines()
        header = json.loads(lines[0])
        assert header["version"] == 4 and "gain_hazard" in header["config"]
        header["version"] = version
        header["config"].pop("gain_hazard")
        path.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n")
        if ok:
            _same(TTCEarlyStopping(**kw, journal=path).decision, d[-1])
        else:
            with pytest.raises(ValueError, match=f"version {version} selector.*{reason}"):
                TTCEarlyStopping(**kw, journal=path)


def test_a_different_evaluation_for_a_journaled_step_is_refused(tmp_path):
    # an earlier run's journal left at the same path: its steps replay, but a re-sent step must carry the same
    # evaluation; resume="force" trusts the journal instead
    path = tmp_path / "j.jsonl"
    recs = _records()
    first = _feed(TTCEarlyStopping(**KW, journal=path), recs[:4])
    other = run_records(30, 8, XS, seed=12)  # another run's evaluations at the same steps
    with pytest.raises(ValueError, match=r"step 1000 is already recorded .* different evaluation"):
        _feed(TTCEarlyStopping(**KW, journal=path), other[:1])
    forced = _feed(TTCEarlyStopping(**KW, journal=path, resume="force"), other[:4])
    for d1, d2 in zip(first, forced):
        _same(d1, d2)
    same = _feed(TTCEarlyStopping(**KW, journal=path), recs[:4])  # the same evaluations: resumed silently
    for d1, d2 in zip(first, same):
        _same(d1, d2)
    with pytest.raises(ValueError, match="resume"):
        TTCEarlyStopping(**KW, journal=path, resume="yes")
