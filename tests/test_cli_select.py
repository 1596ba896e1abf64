"""ttc-fast select: prints the decision select() returns, writes the report, explains malformed logs."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from _ttc_synth import BUDGET, run_records

from ttc_fast.cli import main
from ttc_fast.selector import select


def _write(path, recs):
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return str(path)


@pytest.fixture(scope="module")
def recs():
    return run_records(30, 8, np.linspace(0.04, 0.8, 12), seed=7)


def test_select_prints_decision_and_writes_report(tmp_path, capsys, recs):
    log = _write(tmp_path / "log.jsonl", recs)
    rc = main(["select", log, "--budget-flops", "1e20", "--strategy", "pass", "--patience", "2",
               "--report", str(tmp_path / "rep"), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    d = select(log, budget_flops=BUDGET, strategy="pass", patience=2, progress=False)
    assert d.should_stop
    assert f"decision: STOP at step {d.step} " in out
    assert f"deploy: K = {d.k} samples per query (pass@K, method exact)" in out
    assert f"training FLOPs saved: {100 * d.flops_saved:.2f}%" in out
    stored = json.loads((tmp_path / "rep" / "decision.json").read_text())
    assert stored["step"] == d.step and stored["k"] == d.k
    for name in ("summary.md", "accuracy_vs_flops.png", "ttc_curve.png", "break_even.png"):
        assert (tmp_path / "rep" / name).stat().st_size > 0


def test_select_rule_flags_reach_the_selector(tmp_path, capsys, recs):
    log = _write(tmp_path / "log.jsonl", recs)
    rc = main(["select", log, "--budget-flops", "1e20", "--strategy", "pass", "--patience", "4",
               "--patience-mode", "count", "--step-hazard", "0", "--no-calibrate", "--no-progress"])
    assert rc == 0
    d = select(log, budget_flops=BUDGET, strategy="pass", patience=4, patience_mode="count", step_hazard=0.0,
               calibrate=False, progress=False)
    out = capsys.readouterr().out
    assert f"projected at budget {100 * d.projected_accuracy:.2f}%" in out
    assert f"decision: {'STOP' if d.should_stop else 'continue'} at step {d.step} " in out
    assert main(["select", log, "--budget-flops", "1e20", "--step-hazard", "-1", "--no-progress"]) == 2
    assert "step_hazard" in capsys.readouterr().err


def test_select_budget_tokens_with_shape(tmp_path, capsys, recs):
    from ttc_fast.flops import ModelSpec, training_flops
    spec = ModelSpec.preset("tinyllama")
    per_token = training_flops(spec, 1.0)
    tok = [{k: v for k, v in r.items() if k != "train_flops"} | {"train_tokens": r["train_flops"] / per_token}
           for r in recs]
    log = _write(tmp_path / "log.jsonl", tok)
    rc = main(["select", log, "--budget-tokens", str(BUDGET / per_token), "--shape", "tinyllama",
               "--method", "sigmoid", "--strategy", "maj", "--patience", "1", "--prompt", "128", "--gen", "256",
               "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    d = select(log, budget_tokens=BUDGET / per_token, spec=spec, method="sigmoid", strategy="maj", patience=1,
               prompt_len=128, gen_len=256, progress=False)
    assert f"deploy: K = {d.k if d.k is not None else 'none'} samples per query (maj@K, method sigmoid)" in out
    assert f"break-even: {d.break_even_queries:.3e} queries" in out


def test_malformed_log_messages(tmp_path, capsys, recs):
    bad = json.loads(json.dumps(recs[:3]))
    bad[1]["problems"][0]["answers"] = ["x"] * 8
    log = _write(tmp_path / "log.jsonl", bad)
    assert main(["select", log, "--budget-flops", "1e20", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "log.jsonl:2: field 'problems[0].answers'" in err and "cluster ids" in err
    log = _write(tmp_path / "log2.jsonl", [{"step": 1, "train_tokens": 1e9, "accuracy": {"maj": {"1": 0.2}}}])
    assert main(["select", log, "--budget-tokens", "3e12", "--no-progress"]) == 2
    assert "--budget-tokens needs --config or --shape" in capsys.readouterr().err
    assert main(["select", str(tmp_path / "missing.jsonl"), "--budget-flops", "1"]) == 2
    assert "missing.jsonl" in capsys.readouterr().err


def test_entry_point_subprocess(tmp_path, recs):
    log = _write(tmp_path / "log.jsonl", recs[:4])
    proc = subprocess.run([sys.executable, "-m", "ttc_fast.cli", "select", log, "--budget-flops", "1e20",
                           "--no-progress"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "decision: continue" in proc.stdout and "evaluations read: 4" in proc.stdout
