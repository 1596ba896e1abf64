"""Report files exist and their numbers are the decision's."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from _ttc_synth import BUDGET, run_records

from ttc_fast.report import break_even_series, markdown_summary, write_report
from ttc_fast.selector import select


@pytest.fixture(scope="module")
def run():
    recs = run_records(40, 8, np.linspace(0.04, 0.8, 16), seed=4)
    return select(recs, budget_flops=BUDGET, strategy="pass", patience=2, inference_flops_per_sample=2e12,
                  eval_flops_per_update=1e17, return_stopper=True)


def test_report_files_and_numbers(run, tmp_path):
    d, st = run
    assert d.should_stop and d.k is not None and d.k > 1
    paths = write_report(st, d, tmp_path / "rep")
    for name in ("accuracy_vs_flops", "ttc_curve", "break_even"):
        data = paths[name].read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    stored = json.loads(paths["decision"].read_text())
    for k, v in d.to_dict().items():
        if isinstance(v, float) and not math.isfinite(v):
            assert not math.isfinite(stored[k]) or stored[k] == v
        else:
            assert stored[k] == v, k
    md = paths["summary"].read_text()
    assert f"| K* | {d.k} |" in md
    assert f"| checkpoint step | {d.step} |" in md
    assert f"| training FLOPs saved | {100 * d.flops_saved:.2f}% ({d.flops_saved_abs:.4e}) |" in md
    assert f"| net FLOPs saved | {100 * d.net_flops_saved:.2f}% ({d.net_flops_saved_abs:.4e}) |" in md
    assert f"| break-even queries | {d.break_even_queries:.4e}" in md
    assert "![accuracy_vs_flops](accuracy_vs_flops.png)" in md
    # one table row per evaluation, the chosen one with its K*
    rows = [line for line in md.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    assert len(rows) == len(st.history)
    assert rows[-1].split("|")[8].strip() == str(d.k)
    assert rows[-1].split("|")[5].strip() == str(st.history[-1].fit_points)  # points the projection used
    assert st.history[-1].fit_points >= 3


def test_break_even_series_crosses_zero_at_q_star(run):
    d, _ = run
    q, saved, net = break_even_series(d, num=201)
    extra = (d.k - 1) * 2e12
    np.testing.assert_allclose(saved, d.flops_saved_abs - q * extra, rtol=1e-12)
    assert d.break_even_queries == pytest.approx(d.flops_saved_abs / extra)
    assert d.net_break_even_queries == pytest.approx((d.flops_saved_abs - d.eval_flops) / extra)
    i = int(np.argmax(saved <= 0))  # first point at or past the zero crossing
    assert q[i - 1] < d.break_even_queries <= q[i]
    assert d.eval_flops == pytest.approx(1e17 * len(run[1].history))


def test_report_without_stop_or_projection(tmp_path):
    recs = run_records(10, 4, [0.1, 0.2], seed=0)  # too few checkpoints: no projection
    d, st = select(recs, budget_flops=BUDGET, strategy="maj", return_stopper=True)
    paths = write_report(st, d, tmp_path)
    assert "no stop" in paths["summary"].read_text()
    assert "n/a" in markdown_summary(st.history, d)
