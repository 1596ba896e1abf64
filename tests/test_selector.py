"""TTCEarlyStopping / select / NaiveEarlyStopping against ground truth computed independently in the tests.

Synthetic runs (tests/_ttc_synth.py): the mean single-sample accuracy follows a known exponential saturation,
problem i solves a sample with probability w_i·A(x); true pass@K = mean 1 - (1 - p_i)^K and true maj@K by
enumerating the multinomial of K draws (below), never through ttc_fast. The decision-quality figures over the
benchmark's families are in tests/test_decision_bench.py and BENCHMARKS.md; the projection's own tests in
tests/test_projection.py.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from _ttc_synth import BUDGET, acc_curve, comb_pass_at_k, exact_records, run_records, true_pass_at_k, weights

from ttc_fast.selector import (NaiveEarlyStopping, TTCEarlyStopping, fit_saturation, fit_sigmoid, monotone_mask,
                               saturation, select, sigmoid_k_star)
from ttc_fast.selector.projection import project
from ttc_fast.selector.rule import probability_at_least


# ---- fits ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("a,b,c", [(0.6, 4.0, 0.0), (0.35, 12.0, 0.05), (0.8, 1.5, 0.1)])
def test_saturation_fit_recovers_parameters(a, b, c):
    rng = np.random.default_rng(0)
    x = np.linspace(0.03, 0.8, 12)
    y = a * (1 - np.exp(-b * x)) + c + rng.normal(0, 1e-4, x.size)
    fit = fit_saturation(x, y)
    assert fit is not None
    assert fit.a == pytest.approx(a, abs=0.01)
    assert fit.b == pytest.approx(b, rel=0.03)
    assert fit.c == pytest.approx(c, abs=0.005)
    assert fit.projected == pytest.approx(a * (1 - math.exp(-b)) + c, abs=2e-3)


def test_saturation_fit_stderr_matches_spread_over_noise_draws():
    # the absolute-sigma delta-method stderr should match the spread of projections over noise draws
    x = np.linspace(0.05, 0.7, 10)
    truth = saturation(x, 0.6, 4.0, 0.0)
    sd = 0.01
    projs, ses = [], []
    for seed in range(60):
        y = truth + np.random.default_rng(seed).normal(0, sd, x.size)
        f = fit_saturation(x, y, np.full(x.size, sd))
        projs.append(f.projected)
        ses.append(f.projected_stderr)
    assert np.std(projs) == pytest.approx(np.median(ses), rel=0.5)


def _sigmoid_scan(L, s, x0, target, k_max):
    for k in range(1, k_max + 1):
        if L / (1 + math.exp(-s * (k - x0))) >= target:
            return k
    return None


def test_sigmoid_k_star_equals_brute_force_scan():
    rng = np.random.default_rng(1)
    for _ in range(300):
        L, s, x0 = rng.uniform(0.3, 1.0), rng.uniform(0.01, 3.0), rng.uniform(-5, 40)
        target = rng.uniform(0.05, 1.0)
        assert sigmoid_k_star((L, s, x0), target, 256) == _sigmoid_scan(L, s, x0, target, 256)


def test_sigmoid_fit_interpolates_k124_and_k_star_matches_scan():
    # pass@1,2,4 of a known model; the paper's sigmoid through three points, then K* by a scan
    p = np.clip(weights(40) * acc_curve(0.15), 0, 1)
    ks = [1, 2, 4]
    acc = [true_pass_at_k(p, k) for k in ks]
    params = fit_sigmoid(ks, acc)
    assert params is not None
    L, s, x0 = params
    for k, v in zip(ks, acc):
        assert L / (1 + math.exp(-s * (k - x0))) == pytest.approx(v, abs=1e-6)
    for target in (acc[0] - 0.01, acc[2] + 0.01, 0.5 * (acc[2] + L), L + 0.01):
        assert sigmoid_k_star(params, target, 1024) == _sigmoid_scan(L, s, x0, target, 1024)


def test_monotone_mask():
    assert monotone_mask([0.1, 0.3, 0.2, 0.3, float("nan"), 0.5, 0.4]).tolist() == \
        [True, True, False, True, False, True, False]



# ---- the paper's method (method="sigmoid") against an independent implementation ----------------------
XS = np.linspace(0.04, 0.96, 24)


def test_sigmoid_method_decision_matches_rules():
    # paper's method on K = 1, 2, 4; expected: independent sigmoid through the 3 points + scan, same patience
    from scipy.optimize import least_squares

    recs = exact_records(40, XS, ks=(1, 2, 4))
    d = select(recs, budget_flops=BUDGET, strategy="pass", method="sigmoid", patience=2)
    target = float(acc_curve(1.0))
    w = weights(40)
    count, expected = 0, None
    for i, x in enumerate(XS):
        k_star = None
        if i >= 2:
            p = np.clip(w * acc_curve(x), 0, 1)
            y = np.array([true_pass_at_k(p, k) for k in (1, 2, 4)])
            sol = least_squares(lambda q: q[0] / (1 + np.exp(-q[1] * (np.array([1., 2., 4.]) - q[2]))) - y,
                                x0=[0.9, 0.5, 1.0], bounds=([0, 1e-3, -50], [1, 50, 50]))
            assert np.max(np.abs(sol.fun)) < 1e-5
            k_star = _sigmoid_scan(*sol.x, target, 1024)
        count = count + 1 if k_star is not None else 0
        if count >= 2:
            expected = (i, k_star)
            break
    assert expected is not None and d.should_stop
    assert (d.step, d.k) == (recs[expected[0]]["step"], expected[1])


def test_exact_curve_equals_combinatorial_pass_at_k_and_savings():
    recs = run_records(25, 6, [0.1, 0.2, 0.3, 0.4], seed=3)
    st = TTCEarlyStopping(BUDGET, strategy="pass", patience=5, eval_flops_per_update=1e17)
    for r in recs:
        c = np.array([p["correct"] for p in r["problems"]])
        d = st.update(step=r["step"], train_flops=r["train_flops"], correct=c)
    e = st.history[-1]
    n = 6
    per = np.array([[comb_pass_at_k(n, int(row.sum()), k) for k in range(1, n + 1)] for row in c])
    np.testing.assert_allclose(e.curve, per.mean(0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(e.curve_stderr, per.std(0, ddof=1) / math.sqrt(25), rtol=1e-9)
    assert d.flops_saved_abs == pytest.approx(BUDGET * 0.6)
    assert d.net_flops_saved_abs == pytest.approx(BUDGET * 0.6 - 4e17)


def _true_maj(p, K, wrong_top=0.6):
    """Ground-truth maj@K (random tie-break) of one problem: sum over the multisets of K draws from the 6 answer
    clusters (0 = correct) of multinomial probability x credit."""
    probs = [p, (1 - p) * wrong_top] + [(1 - p) * (1 - wrong_top) / 4] * 4
    total = 0.0
    for draw in itertools.combinations_with_replacement(range(6), K):
        c = [draw.count(j) for j in range(6)]
        m = max(c)
        if c[0] == m:
            ways = math.factorial(K) / math.prod(math.factorial(v) for v in c)
            total += ways * math.prod(q ** v for q, v in zip(probs, c)) / sum(v == m for v in c)
    return total




# ---- the exact method's rule, step by step against an independent recomputation ---------------------------------
def _level(alpha, p, r):
    return 1 - alpha ** (p / min(r, p))


@pytest.mark.parametrize("patience,mode", [(1, "evidence"), (3, "evidence"), (3, "count"), (5, "evidence")])
def test_exact_rule_recomputed_from_its_projection(patience, mode):
    # every decision follows from the projection of the points so far, P_K by Monte Carlo (an independent
    # reference for probability_at_least), the evidence levels and the patience count
    recs = run_records(60, 8, np.linspace(0.04, 0.8, 16), seed=3)
    st = TTCEarlyStopping(BUDGET, strategy="pass", patience=patience, patience_mode=mode)
    rng = np.random.default_rng(0)
    count, alpha, past = 0, 0.05, []   # past: the K that qualified at each evaluation of the current run
    for i, r in enumerate(recs):
        c = np.array([p["correct"] for p in r["problems"]])
        d = st.update(step=r["step"], train_flops=r["train_flops"], correct=c)
        h = st.history[-1]
        if i < 2:
            assert d.reason_code == "no_projection" and not d.qualifies
            continue
        x = np.array([e.train_flops for e in st.history]) / BUDGET
        pr = project(x, [e.acc1 for e in st.history], [e.acc1_stderr for e in st.history])
        assert d.projected_accuracy == pytest.approx(pr.without_hazards().mean, abs=1e-12)
        assert d.projected_upper == pytest.approx(pr.quantile(0.95), abs=1e-6)
        comp = rng.choice(pr.weights.size, size=40000, p=pr.weights)   # theta: the mixture's logistic image
        theta = 1.0 / (1.0 + np.exp(-rng.normal(pr.means[comp], pr.sds[comp])))
        mc = np.array([np.mean(np.clip(rng.normal(h.curve[k], h.curve_stderr[k], theta.size), 0, 1) >= theta)
                       for k in range(len(h.ks))])
        exact = probability_at_least(pr, h.curve, h.curve_stderr)
        np.testing.assert_allclose(exact, mc, atol=0.01)  # MC error ~0.0025
        qual = np.flatnonzero(exact >= 1 - alpha)
        r_ = min(count + 1, patience)
        need = 1 - alpha if mode == "count" else _level(alpha, patience, r_)
        stop_ok = np.flatnonzero(exact >= need) if (mode == "evidence" or r_ >= patience) else []
        # the deployed K qualified at each of the r - 1 evaluations before this one
        stop_ok = [j for j in stop_ok if all(int(h.ks[j]) in q for q in past[len(past) - (r_ - 1):])]
        assert d.qualifies == (qual.size > 0)
        count = count + 1 if qual.size else 0
        past = past + [{int(h.ks[j]) for j in qual}] if qual.size else []
        assert d.patience_count == count
        assert d.should_stop == (len(stop_ok) > 0)
        if d.qualifies:
            j = int(stop_ok[0]) if len(stop_ok) else int(qual[0])
            assert d.k == int(h.ks[j]) and d.probability == pytest.approx(exact[j])
        if d.should_stop:
            break


def test_strong_evidence_stops_at_once_and_count_mode_waits():
    # pass@16 = 100% (every problem solved) clears any projection (no accuracy exceeds 1): evidence mode stops at the first
    # projected checkpoint; count mode needs patience qualifying evaluations in a row
    recs = [{"step": i + 1, "train_flops": (i + 1) * BUDGET / 30,
             "accuracy": {"pass": {"1": 0.3 + 0.02 * i, "16": 1.0}},
             "accuracy_stderr": {"pass": {"1": 0.02, "16": 0.0}}} for i in range(10)]
    d = select(recs, budget_flops=BUDGET, strategy="pass", patience=3)
    assert d.should_stop and d.step == 3 and d.k == 16 and d.probability >= 1 - 0.05 ** 3
    d = select(recs, budget_flops=BUDGET, strategy="pass", patience=3, patience_mode="count")
    assert d.should_stop and d.step == 5 and d.patience_count == 3


def test_deployed_k_qualified_at_every_evaluation_of_the_run():
    # a saturating curve; pass@4 = 45% qualifies for a run of evaluations and the rule stops on it at evaluation
    # j; replayed with pass@2 lucky at j only (40% -> 45%), pass@2 reaches the stop's level there, but the stop
    # deploys K = 4, the smallest K that each evaluation of the run confirms (the smallest K at the level now,
    # the rule without the confirmation, would be K = 2)
    def rec(i, a2):
        x = (i + 1) / 30
        return {"step": i + 1, "train_flops": x * BUDGET,
                "accuracy": {"pass": {"1": 0.4 * -math.expm1(-x / 0.06), "2": a2, "4": 0.45}},
                "accuracy_stderr": {"pass": {"1": 0.01, "2": 0.01, "4": 0.01}}}
    st = TTCEarlyStopping(BUDGET, strategy="pass", patience=3)
    for j in range(30):
        d = st.update(**rec(j, 0.40))
        if d.should_stop:
            break
    r = d.patience_count
    assert d.should_stop and d.k == 4 and r >= 2 and [h.qualified for h in st.history[-r:]] == [(4,)] * r
    st = TTCEarlyStopping(BUDGET, strategy="pass", patience=3)
    for i in range(j):
        assert not st.update(**rec(i, 0.40)).should_stop
    d = st.update(**rec(j, 0.45))
    h = st.history[-1]
    prob = probability_at_least(h.projection, h.curve, h.curve_stderr)
    assert prob[1] >= 1 - 0.05 ** (3 / r) > prob[0]     # pass@2 is at the stop's level now, pass@1 is not
    assert d.should_stop and d.k == 4 and h.qualified == (2, 4)
    assert f"qualified at each of the last {r}" in d.reason
    # maj@K need not grow with K: maj@4 qualifies twice, then only maj@2 (at the stop's level). No K is confirmed
    # by the run until maj@2 has qualified at the two evaluations before: the evidence keeps counting meanwhile
    # (without the late-gain hazard, which would hold 45% below the level here)
    st = TTCEarlyStopping(BUDGET, strategy="maj", patience=3, gain_hazard=0.0)
    seq = [({"1": 0.4 * -math.expm1(-(i + 1) / 30 / 0.06), "2": 0.40, "4": 0.45}) for i in range(11)]
    seq += [{"1": seq[-1]["1"], "2": 0.45, "4": 0.40}] * 3
    for i, acc in enumerate(seq):
        d = st.update(step=i + 1, train_flops=(i + 1) / 30 * BUDGET, accuracy={"maj": acc},
                      accuracy_stderr={"maj": {"1": 0.01, "2": 0.01, "4": 0.01}})
        if i in (11, 12):
            assert d.qualifies and not d.should_stop and d.patience_count == i - 8
            assert "qualified at each of the 2 evaluation(s) before" in d.reason
    assert d.should_stop and d.k == 2 and d.patience_count == 5


def test_a_perfect_ttc_accuracy_qualifies_against_a_vague_projection():
    # the ceiling: a steeply rising curve, which a straight line in log compute would take to 113% at the budget,
    # is projected below 100% (the logit scale bends it), vaguely; a TTC accuracy of exactly 100% is at least as
    # good as any projection, 99.9% as good as the projection's cdf there, and nothing is above the edge
    x, y = np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.7, 0.8])
    line = y[-1] + (y[-1] - y[0]) / math.log(3.0) * math.log(1 / 0.3)
    pr = project(x, y, [0.05, 0.05, 0.05])
    assert line > 1.1 and pr.stderr > 0.05 and pr.mean < pr.quantile(0.999) < 1.0
    assert float(pr.cdf(1.0)) == 1.0 and float(pr.cdf(1.0 - 1e-12)) == pytest.approx(1.0, abs=1e-9)
    p = probability_at_least(pr, np.array([1.0, 0.999, 0.6]), np.array([0.0, 0.0, 0.01]))
    assert p[0] == 1.0 and p[1] == pytest.approx(float(pr.cdf(0.999)), abs=1e-9) and p[2] < 0.5


def test_flat_history_is_guarded_by_the_step_hazard():
    # 10 checkpoints flat at 12% over the first third of training: a step may still come, so maj@8 = 30% (the
    # TTC gain of a flat curve) does not qualify by default; with step_hazard=0 it does (the late-gain hazard, a
    # guard for any curve, left out of both)
    recs = [{"step": i + 1, "train_flops": (i + 1) * BUDGET / 30,
             "accuracy": {"maj": {"1": 0.12, "8": 0.30}}, "accuracy_stderr": {"maj": {"1": 0.01, "8": 0.01}}}
            for i in range(10)]
    d = select(recs, budget_flops=BUDGET, strategy="maj", patience=3, gain_hazard=0.0)
    assert not d.should_stop and d.projected_upper > 0.4
    d0 = select(recs, budget_flops=BUDGET, strategy="maj", patience=3, step_hazard=0.0, gain_hazard=0.0)
    assert d0.should_stop and d0.projected_upper < 0.25


def _same_decision(a, b):
    da, db = a.to_dict(), b.to_dict()
    for key in da:
        x, y = da[key], db[key]
        assert x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)), key


def test_select_accepts_update_shaped_records():
    recs = run_records(30, 8, np.linspace(0.05, 0.8, 10), seed=4)
    mem = [{"step": r["step"], "train_flops": r["train_flops"],
            "answers": np.array([p["answers"] for p in r["problems"]]),
            "correct": np.array([p["correct"] for p in r["problems"]])} for r in recs]
    _same_decision(select(recs, budget_flops=BUDGET, strategy="maj", patience=2, progress=False),
                   select(mem, budget_flops=BUDGET, strategy="maj", patience=2, progress=False))
    with pytest.raises(ValueError, match="one shape"):
        select(mem[:2] + [{"step": 99, "train_flops": 1e19}], budget_flops=BUDGET)
    with pytest.raises(ValueError, match="unknown fields"):
        select([dict(mem[0], extra=1)], budget_flops=BUDGET)
    with pytest.raises(TypeError, match="iterable of records"):
        select(42, budget_flops=BUDGET)


def test_select_reads_a_learning_curve_csv(tmp_path, capsys):
    # a wide CSV (pass@1, pass@8 with their stderr, a second run beside it) decides as TTCEarlyStopping fed the
    # same numbers by hand; tokens convert with the model spec; what cannot be meant is refused
    import csv
    from ttc_fast.cli import main
    from ttc_fast.flops import ModelSpec, training_flops
    spec = ModelSpec.preset("tinyllama")
    p1 = 0.5 * -np.expm1(-np.arange(1, 13) / 3.0)
    p8 = 1 - (1 - p1) ** 4
    path = tmp_path / "runs.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["run", "step", "tokens", "pass@1", "pass@1_stderr", "pass@8", "pass@8_stderr"])
        for i in range(12):
            for run, scale in (("a", 1.0), ("b", 0.8)):
                w.writerow([run, 100 * (i + 1), 1e9 * (i + 1), scale * p1[i], 0.015, scale * p8[i], 0.012])
    budget = 2e10
    got = select(str(path), budget_tokens=budget, spec=spec, strategy="pass", curve="a/pass", progress=False)
    st = TTCEarlyStopping(float(training_flops(spec, budget)), strategy="pass", spec=spec)
    for i in range(12):
        want = st.update(step=100 * (i + 1), train_flops=float(training_flops(spec, 1e9 * (i + 1))),
                         accuracy={1: p1[i], 8: p8[i]}, accuracy_stderr={1: 0.015, 8: 0.012})
        if want.should_stop:
            break
    assert want.should_stop and got.should_stop
    _same_decision(got, want)
    _same_decision(select(str(path), budget_tokens=budget, spec=spec, curve="a/pass", progress=False), want)
    assert main(["select", str(path), "--budget-tokens", str(budget), "--shape", "tinyllama", "--curve", "a/pass",
                 "--no-progress"]) == 0                       # the strategy from the metric's name (pass@K)
    out = capsys.readouterr().out
    assert f"decision: STOP at step {got.step}" in out and "pass@K" in out
    with pytest.raises(ValueError, match="strategy='maj', but the curve's values are pass@K"):
        select(str(path), budget_tokens=budget, spec=spec, curve="a/pass", strategy="maj")
    with pytest.raises(ValueError, match="holds 2 curves; name one .*a/pass, b/pass"):
        select(str(path), budget_tokens=budget, spec=spec)
    with pytest.raises(ValueError, match="no curve 'c/pass'"):
        select(str(path), budget_tokens=budget, spec=spec, curve="c/pass")
    steps_only = tmp_path / "steps.csv"
    steps_only.write_text("step,acc,stderr\n1,0.3,0.01\n2,0.4,0.01\n")
    with pytest.raises(ValueError, match="'flops' or 'tokens' column; this file measures it in 'step'"):
        select(str(steps_only), budget_flops=BUDGET)
    with pytest.raises(ValueError, match="for a learning-curve CSV"):
        select([{"step": 1, "train_flops": 1e9, "accuracy": {"pass": {"1": 0.1}}}], budget_flops=BUDGET, curve="a")


@pytest.mark.parametrize("bad,match", [
    (dict(accuracy={"pass": {"1": 1.5}}), r"in \[0, 1\]"),
    (dict(accuracy={"pass": {"1.5": 0.2}}), "K must be an integer"),
    (dict(accuracy={"pass": {"0": 0.2}}), "K must be an integer"),
    (dict(accuracy={"pass": {"1": 0.2}}, accuracy_stderr={"pass": {"1": -0.1}}), r"in \[0, 1\]"),
    (dict(correct=np.zeros((0, 4), bool)), "no evaluations"),
    (dict(correct=np.zeros((3, 0), bool)), "no evaluations"),
    (dict(correct=np.ones((2, 2), bool), answers=np.full((2, 2), -3)), "cluster ids"),
])
def test_update_refuses_inputs_that_cannot_be_meant(bad, match):
    st = TTCEarlyStopping(BUDGET, strategy="pass")
    with pytest.raises(ValueError, match=match):
        st.update(step=1, train_flops=1e18, **bad)
    for flops in (float("inf"), float("nan"), -1.0):
        with pytest.raises(ValueError, match="train_flops"):
            st.update(step=1, train_flops=flops, accuracy={"pass": {"1": 0.2}})
    assert not st.history  # nothing half-recorded


def test_units_warnings():
    st = TTCEarlyStopping(BUDGET, strategy="pass")
    with pytest.warns(RuntimeWarning, match="same units"):
        st.update(step=1, train_flops=BUDGET * 1e-9, accuracy={"pass": {"1": 0.2}})
    with pytest.warns(RuntimeWarning, match="of the budget"):
        select(exact_records(10, [1e-4, 2e-4, 3e-4]), budget_flops=BUDGET, strategy="pass")


# ---- edge cases --------------------------------------------------------------------------------------------------
def test_too_few_checkpoints_no_stop():
    d = select(exact_records(40, [0.3, 0.6]), budget_flops=BUDGET, strategy="pass", patience=0)
    assert not d.should_stop and "too few checkpoints" in d.reason and math.isnan(d.projected_accuracy)


def test_flat_curve_without_ttc_gain_no_stop():
    # every problem always right or always wrong: pass@K = maj@K = single-sample accuracy, flat over training
    rng = np.random.default_rng(0)
    st = TTCEarlyStopping(BUDGET, strategy="maj", patience=1)
    solved = rng.random(40) < 0.5
    for i in range(8):
        c = np.repeat(solved[:, None], 8, axis=1)
        a = np.where(c, 0, 1)
        d = st.update(step=i, train_flops=(i + 1) * BUDGET / 20, answers=a, correct=c)
        assert not d.should_stop and not d.qualifies
    assert d.projected_accuracy == pytest.approx(solved.mean(), abs=0.01)


def test_decreasing_curve_projects_below_the_current_accuracy():
    # a curve that keeps falling: the projection follows it down (no monotone filter in the exact method)
    recs = [{"step": i, "train_flops": (i + 1) * BUDGET / 10, "accuracy": {"pass": {"1": 0.6 - 0.03 * i}},
             "accuracy_stderr": {"pass": {"1": 0.01}}} for i in range(8)]
    d, st = select(recs, budget_flops=BUDGET, strategy="pass", patience=50, return_stopper=True)
    assert d.projected_accuracy < st.history[-1].acc1 - 0.01
    assert all(h.kept for h in st.history)


def test_nan_accuracy_check_finite():
    recs = exact_records(40, XS[:12])
    recs[8]["accuracy"]["pass"]["1"] = float("nan")
    kw = dict(budget_flops=BUDGET, strategy="pass", patience=100, patience_mode="count", confidence=None,
              return_stopper=True)
    _, on = select(recs, **kw)
    _, off = select(recs, check_finite=False, **kw)
    counts_on = [h.decision.patience_count for h in on.history]
    counts_off = [h.decision.patience_count for h in off.history]
    assert counts_on[7] > 0  # qualifying before the NaN
    h = on.history[8]  # check_finite: not qualifying, patience reset, not fitted
    assert not h.decision.qualifies and counts_on[8] == 0 and "non-finite" in h.decision.reason and not h.kept
    assert counts_on[9] == 1
    h = off.history[8]  # skipped: patience unchanged
    assert not h.decision.should_stop and "skipped" in h.decision.reason and counts_off[8] == counts_off[7]
    assert counts_off[9] == counts_off[7] + 1
    assert not any(h.decision.should_stop for h in on.history + off.history)


def test_all_nan_no_crash():
    recs = [{"step": i, "train_flops": (i + 1) * 1e18, "accuracy": {"pass": {"1": None, "2": None}}}
            for i in range(5)]
    d = select(recs, budget_flops=BUDGET, strategy="pass", patience=1)
    assert not d.should_stop


def test_budget_reached_no_stop_and_beyond_refused():
    # at the budget there is nothing left to save; a checkpoint past the budget is a wrong budget (or units)
    recs = exact_records(40, [0.3, 0.6, 0.9, 1.0, 1.1])
    st = TTCEarlyStopping(BUDGET, strategy="pass", patience=1, confidence=None)
    ds = [st.update(step=r["step"], train_flops=r["train_flops"], accuracy=r["accuracy"]) for r in recs[:4]]
    assert not ds[3].should_stop and ds[3].reason_code == "budget_reached" and ds[3].flops_saved == 0.0
    with pytest.raises(ValueError, match="exceeds budget_flops"):
        st.update(step=recs[4]["step"], train_flops=recs[4]["train_flops"], accuracy=recs[4]["accuracy"])


def test_flops_condition_with_expected_queries():
    # the stop must respect train + Q x extra < budget: with 1e12 queries a TTC checkpoint is never cheaper
    recs = exact_records(40, XS)
    kw = dict(budget_flops=BUDGET, strategy="pass", confidence=None, inference_flops_per_sample=1e12)
    d, st = select(recs, patience=1, expected_queries=1e12, return_stopper=True, **kw)
    assert not d.should_stop
    assert any("FLOPs condition fails" in h.decision.reason for h in st.history)
    d = select(recs, patience=1, expected_queries=1e3, **kw)
    assert d.should_stop and d.k > 1
    assert d.train_flops + 1e3 * (d.k - 1) * 1e12 < BUDGET
    assert d.break_even_queries == pytest.approx(d.flops_saved_abs / ((d.k - 1) * 1e12))


def test_break_even_matches_flops_module():
    from ttc_fast.flops import ModelSpec, break_even, training_flops
    spec = ModelSpec.preset("tinyllama")
    full_tokens = 3e12
    budget = training_flops(spec, full_tokens)
    xs = np.linspace(0.04, 0.96, 24)
    recs = exact_records(40, xs, budget=budget)
    d = select(recs, budget_tokens=full_tokens, spec=spec, strategy="pass", patience=2, confidence=None,
               prompt_len=300, gen_len=512)
    assert d.should_stop and d.k > 1
    be = break_even(spec, full_tokens=full_tokens, checkpoint_tokens=d.train_flops / budget * full_tokens, k=d.k,
                    prompt_len=300, gen_len=512)
    assert d.break_even_queries == pytest.approx(float(be.queries), rel=1e-9)
    assert d.flops_saved_abs == pytest.approx(float(be.flops_saved), rel=1e-9)


@pytest.mark.parametrize("strategy", ["maj", "bok", "wmaj"])
def test_strategies_through_log(strategy):
    from ttc_fast import estimators as est
    recs = run_records(20, 8, np.linspace(0.05, 0.6, 6), seed=5)
    rng = np.random.default_rng(0)
    for r in recs:
        for p in r["problems"]:
            # reward scores are vote weights for "wmaj": >= 0 (exp keeps best-of-k's order)
            p["scores"] = np.exp(np.asarray(p["correct"]) + rng.normal(0, 0.7, len(p["correct"]))).tolist()
    d, st = select(recs, budget_flops=BUDGET, strategy=strategy, patience=50, return_stopper=True)
    last = recs[-1]
    a = np.array([p["answers"] for p in last["problems"]])
    c = np.array([p["correct"] for p in last["problems"]])
    s = np.array([p["scores"] for p in last["problems"]])
    ref = {"maj": lambda: est.maj_at_k(a, c), "bok": lambda: est.best_of_k(s, c),
           "wmaj": lambda: est.weighted_maj_at_k(a, s, c)}[strategy]()
    np.testing.assert_allclose(st.history[-1].curve, ref.mean, atol=1e-12)
    # the stderr over problems, and for the Monte Carlo "wmaj" its simulation error too (in quadrature)
    mc = np.zeros_like(ref.stderr) if ref.mc_stderr is None else ref.mc_stderr
    assert (mc > 0).any() == (strategy == "wmaj")
    np.testing.assert_allclose(st.history[-1].curve_stderr, np.sqrt(ref.stderr ** 2 + mc ** 2), rtol=1e-12)
    assert st.history[-1].acc1 == pytest.approx(c.mean())
    assert not d.should_stop and d.k is not None  # end of run: deploy the last checkpoint


def test_ragged_samples_and_end_of_run_decision():
    recs = run_records(12, 6, np.linspace(0.05, 0.3, 5), seed=2)
    recs[2]["problems"][0]["answers"] = recs[2]["problems"][0]["answers"][:4]
    recs[2]["problems"][0]["correct"] = recs[2]["problems"][0]["correct"][:4]
    d, st = select(recs, budget_flops=BUDGET, strategy="maj", patience=99, return_stopper=True)
    assert st.history[2].ks.tolist() == [1, 2, 3, 4]
    assert not d.should_stop and d.step == recs[-1]["step"] and "went to its end" in d.reason


# ---- input validation ------------------------------------------------------------------------------------------
def test_malformed_logs_name_line_and_field(tmp_path):
    recs = run_records(3, 4, [0.1, 0.2], seed=0)
    import json
    path = tmp_path / "log.jsonl"
    bad = json.loads(json.dumps(recs))
    bad[1]["problems"][2]["correct"] = [1, 0, 1, 0]
    path.write_text("\n".join(json.dumps(r) for r in bad) + "\n")
    with pytest.raises(ValueError, match=r"log.jsonl:2: field 'problems\[2\].correct'"):
        select(path, budget_flops=BUDGET)
    path.write_text(json.dumps(recs[0]) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"log.jsonl:2: not valid JSON"):
        select(path, budget_flops=BUDGET)
    del bad[0]["step"]
    with pytest.raises(ValueError, match=r"log:1: missing field 'step'"):
        select(bad, budget_flops=BUDGET)
    with pytest.raises(ValueError, match="train_tokens"):
        select([{"step": 1, "train_tokens": 1e9, "accuracy": {"maj": {"1": 0.1}}}], budget_flops=BUDGET)
    with pytest.raises(ValueError, match="strategy 'maj'"):
        select([{"step": 1, "train_flops": 1e9, "accuracy": {"pass": {"1": 0.1}}}], budget_flops=BUDGET)


def test_argument_validation():
    with pytest.raises(ValueError, match="budget_flops"):
        TTCEarlyStopping(0)
    with pytest.raises(ValueError, match="strategy"):
        TTCEarlyStopping(1e20, strategy="best")
    with pytest.raises(ValueError, match="mode"):
        TTCEarlyStopping(1e20, mode="min")
    with pytest.raises(ValueError, match="min_points"):
        TTCEarlyStopping(1e20, min_points=2)
    st = TTCEarlyStopping(1e20, strategy="maj")
    with pytest.raises(ValueError, match="needs answers"):
        st.update(step=1, train_flops=1.0, correct=np.ones((2, 2), bool))
    st.update(step=5, train_flops=10.0, answers=np.zeros((2, 2), int), correct=np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="step must increase"):
        st.update(step=4, train_flops=11.0, answers=np.zeros((2, 2), int), correct=np.ones((2, 2), bool))


# ---- the naive baseline: Lightning's own EarlyStopping as the reference ---------------------------------------------
def test_naive_matches_lightning_early_stopping():
    torch = pytest.importorskip("torch")
    es_mod = pytest.importorskip("lightning.pytorch.callbacks.early_stopping")
    rng = np.random.default_rng(0)
    for trial in range(30):
        patience = int(rng.integers(0, 4))
        min_delta = float(rng.choice([0.0, 0.015]))  # no float ties
        mode = str(rng.choice(["max", "min"]))
        vals = np.round(rng.uniform(0, 1, 15), 2)
        if trial % 5 == 0:
            vals[int(rng.integers(0, 15))] = np.nan
        ref = es_mod.EarlyStopping(monitor="acc", patience=patience, min_delta=min_delta, mode=mode)
        ours = NaiveEarlyStopping(patience=patience, min_delta=min_delta, mode=mode)
        for i, v in enumerate(vals):
            want, _ = ref._evaluate_stopping_criteria(torch.tensor(float(v)))
            got = ours.update(step=i, train_flops=float(i), accuracy=float(v)).should_stop
            assert got == want, (trial, i, vals.tolist())
            if want:
                break


def test_select_progress_bar_and_frozen_decision(capsys):
    d = select(exact_records(40, XS[:6]), budget_flops=BUDGET, strategy="pass", progress=True)
    assert "select" in capsys.readouterr().err  # tqdm writes to stderr
    with pytest.raises(Exception):
        d.k = 3  # frozen dataclass


