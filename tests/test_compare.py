"""ttc_fast.compare: exact paired differences, coverage of its bands by simulation with known truth, the one-sided
test's level, matching by id, eval-log records, K_a vs K_b, bad input, and the ``ttc-fast compare`` command.

Statistical tolerances (250 seeded runs each): the binomial standard deviation of a 95% coverage rate over 250
runs is 1.4 points, so the pointwise rate (averaged over the grid) must lie in [0.92, 0.98] and the simultaneous
rate be >= 0.93 (about 1.5 sd below nominal); the test's rejection rate at 5% must lie in [0.02, 0.09].
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import ttc_fast
from ttc_fast.comparison import compare
from ttc_fast.evallog import append_record, make_record

N, P, RUNS = 8, 150, 250


def _population(rng, size):
    """Paired solve rates: b's p ~ Beta(1, 2); a's q = p shifted by N(0.03, 0.06), clipped (correlated)."""
    p = rng.beta(1.0, 2.0, size)
    q = np.clip(p + rng.normal(0.03, 0.06, size), 0.0, 1.0)
    return q, p


def _truth(ks):
    q, p = _population(np.random.default_rng(12345), 400_000)
    return np.array([np.mean((1 - p) ** k - (1 - q) ** k) for k in ks])  # pass@k(a) - pass@k(b)


@pytest.mark.parametrize("method", ["bootstrap", "normal"])
def test_coverage_of_pointwise_and_simultaneous_bands(method):
    ks = np.arange(1, N + 1)
    truth = _truth(ks)
    point, simul, ratio = [], [], []
    for seed in range(RUNS):
        rng = np.random.default_rng(seed)
        q, p = _population(rng, P)
        a = {"num_samples": np.full(P, N), "num_correct": rng.binomial(N, q)}
        b = {"num_samples": np.full(P, N), "num_correct": rng.binomial(N, p)}
        r = compare(a, b, metric="pass", method=method, bootstrap=500, seed=seed)
        point.append((r.low <= truth) & (truth <= r.high))
        simul.append(bool(np.all((r.band_low <= truth) & (truth <= r.band_high))))
        ratio.append(np.median(r.stderr / r.stderr_unpaired))
    point_rate = float(np.mean(point))
    simul_rate = float(np.mean(simul))
    assert 0.92 <= point_rate <= 0.98, point_rate
    assert simul_rate >= 0.93, simul_rate
    assert np.mean(point, axis=0).min() >= 0.89  # no grid point far below nominal
    assert np.median(ratio) < 0.8  # pairing removes the shared problem difficulty


def test_one_sided_test_level_and_power():
    # a and b: independent draws from the same solve rates (true difference 0 at every k)
    rej0, rej_shift = 0, 0
    for seed in range(RUNS):
        rng = np.random.default_rng(1000 + seed)
        p = rng.beta(1.0, 2.0, P)
        a = {"num_samples": np.full(P, N), "num_correct": rng.binomial(N, p)}
        b = {"num_samples": np.full(P, N), "num_correct": rng.binomial(N, p)}
        r = compare(a, b, ks_a=[1, 4], method="normal", bootstrap=200, seed=seed)
        rej0 += r.p_value[0] < 0.05  # H0 "a < b" at its boundary: rejected 5% of the time
        r2 = compare(a, b, ks_a=[1, 4], margin=0.05, method="normal", bootstrap=200, seed=seed)
        rej_shift += r2.p_value[0] < 0.05  # "a >= b - 0.05" is true with room: rejected (supported) often
    assert 0.02 <= rej0 / RUNS <= 0.09, rej0
    assert rej_shift / RUNS > 0.8, rej_shift


def test_mean_is_the_exact_paired_difference_for_every_metric():
    rng = np.random.default_rng(3)
    Pp, n = 40, 12
    ans_a, ans_b = rng.integers(-1, 4, (Pp, n)), rng.integers(-1, 4, (Pp, n))
    cor_a, cor_b = ans_a == 0, ans_b == 1
    sa, sb = rng.random((Pp, n)), rng.random((Pp, n))
    ks = [1, 2, 5, 12]
    r = compare({"answers": ans_a, "correct": cor_a}, {"answers": ans_b, "correct": cor_b}, metric="maj", ks_a=ks,
                tie="strict", per_problem=True, method="normal", bootstrap=100)
    ea = ttc_fast.maj_at_k(ans_a, cor_a, ks, tie="strict", per_problem=True).per_problem
    eb = ttc_fast.maj_at_k(ans_b, cor_b, ks, tie="strict", per_problem=True).per_problem
    np.testing.assert_allclose(r.per_problem, ea - eb, atol=1e-15)
    np.testing.assert_allclose(r.stderr, (ea - eb).std(0, ddof=1) / np.sqrt(Pp), atol=1e-15)
    rb = compare({"scores": sa, "correct": cor_a}, {"scores": sb, "correct": cor_b}, metric="bok", ks_a=ks,
                 method="normal", bootstrap=100)
    np.testing.assert_allclose(rb.mean, ttc_fast.best_of_k(sa, cor_a, ks).mean - ttc_fast.best_of_k(sb, cor_b, ks).mean,
                               atol=1e-14)


def test_k_a_against_k_b_and_broadcast():
    rng = np.random.default_rng(4)
    c_a, c_b = rng.integers(0, 17, 50), rng.integers(0, 17, 50)
    a, b = {"num_samples": [16] * 50, "num_correct": c_a}, {"num_samples": [16] * 50, "num_correct": c_b}
    r = compare(a, b, ks_a=[1, 4, 16], ks_b=1, method="normal", bootstrap=100)
    assert r.ks.tolist() == [1, 4, 16] and r.ks_b.tolist() == [1, 1, 1]
    pa = ttc_fast.pass_at_k([16] * 50, c_a, [1, 4, 16]).mean
    pb = ttc_fast.pass_at_k([16] * 50, c_b, [1]).mean[0]
    np.testing.assert_allclose(r.mean, pa - pb, atol=1e-15)
    with pytest.raises(ValueError, match="one length"):
        compare(a, b, ks_a=[1, 2], ks_b=[1, 2, 3])
    with pytest.raises(ValueError, match="exceeds|> n"):
        compare(a, b, ks_a=[17])


def test_matching_by_id_and_eval_log_records():
    rng = np.random.default_rng(5)
    Pp, n = 30, 8
    ids = [f"q{i}" for i in range(Pp)]
    ans, cor = rng.integers(0, 3, (Pp, n)), None
    cor = ans == 0
    rec_a = make_record(step=1, train_flops=None, train_tokens=None, ids=ids, answers=ans, correct=cor)
    perm = rng.permutation(Pp)
    ans_b = rng.integers(0, 3, (Pp, n))
    rec_b = make_record(step=2, train_flops=None, train_tokens=None, ids=[ids[i] for i in perm], answers=ans_b,
                        correct=ans_b == 0)
    r = compare(rec_a, rec_b, metric="maj", method="normal", bootstrap=100, per_problem=True)
    assert r.ids == tuple(ids)
    # b's problem ids[perm[j]] is row j of ans_b: undo the permutation by hand
    back = np.empty(Pp, dtype=int)
    back[perm] = np.arange(Pp)
    ea = ttc_fast.maj_at_k(ans, cor, None, per_problem=True).per_problem
    eb = ttc_fast.maj_at_k(ans_b[back], ans_b[back] == 0, None, per_problem=True).per_problem
    np.testing.assert_allclose(r.per_problem, ea - eb, atol=1e-15)
    # a different id set is refused unless asked for the common problems
    rec_c = make_record(step=3, train_flops=None, train_tokens=None, ids=ids[:20] + ["new"] * 0 + ids[20:25],
                        answers=ans[:25], correct=cor[:25])
    with pytest.raises(ValueError, match="only in a"):
        compare(rec_a, rec_c, metric="maj")
    assert compare(rec_a, rec_c, metric="maj", common_only=True, method="normal", bootstrap=100).num_problems == 25
    # pass and bok from records
    rp = compare(rec_a, rec_b, metric="pass", ks_a=[1, 8], method="normal", bootstrap=100)
    assert rp.mean[0] == pytest.approx(cor.mean() - (ans_b == 0).mean(), abs=1e-12)
    with pytest.raises(ValueError, match="needs a score"):
        compare(rec_a, rec_b, metric="bok")


@pytest.mark.parametrize("kwargs,match", [
    ({"metric": "wmaj"}, "metric must be"),
    ({"method": "exact"}, "method must be"),
    ({"confidence": 1.0}, "confidence must be"),
    ({"margin": float("nan")}, "margin must be"),
    ({"bootstrap": 1}, "bootstrap must be"),
    ({"bootstrap": 10**7}, "bootstrap must be <="),
    ({"ks_a": [0]}, "ks_a must be >= 1"),
])
def test_bad_arguments(kwargs, match):
    a = {"num_samples": [4, 4, 4], "num_correct": [1, 2, 3]}
    with pytest.raises(ValueError, match=match):
        compare(a, a, **kwargs)


def test_bad_inputs():
    a = {"num_samples": [4, 4, 4], "num_correct": [1, 2, 3]}
    with pytest.raises(TypeError, match="eval-log record"):
        compare([1, 2], a)
    with pytest.raises(ValueError, match="missing"):
        compare({"num_samples": [4, 4]}, a)
    with pytest.raises(ValueError, match="same problems"):
        compare(a, {"num_samples": [4, 4], "num_correct": [1, 1]})
    with pytest.raises(ValueError, match="at least 2"):
        compare({"num_samples": [4], "num_correct": [1]}, {"num_samples": [4], "num_correct": [1]})
    with pytest.raises(ValueError, match="unique"):
        compare({**a, "ids": ["x", "x", "y"]}, {**a, "ids": ["x", "y", "z"]})
    with pytest.raises(ValueError, match="precomputed"):
        compare({"problems": [{"id": "a", "accuracy": 0.5}]}, a)


def test_constant_differences_get_zero_width():
    # every problem solved by both at k = 4: difference 0 with no spread
    a = {"num_samples": [4] * 5, "num_correct": [4, 4, 4, 4, 4]}
    r = compare(a, a, ks_a=[4], method="bootstrap", bootstrap=100)
    assert r.mean[0] == 0 and r.low[0] == r.high[0] == 0 and r.p_value[0] == 1.0
    r = compare(a, a, ks_a=[4], margin=0.1, method="normal", bootstrap=100)
    assert r.p_value[0] == 0.0


def test_cli_compare(tmp_path, capsys):
    from ttc_fast.cli import main

    rng = np.random.default_rng(6)
    log = tmp_path / "log.jsonl"
    ids = [f"p{i}" for i in range(40)]
    for step, pc in ((100, 0.4), (200, 0.6)):
        ans = np.where(rng.random((40, 8)) < pc, 0, rng.integers(1, 4, (40, 8)))
        append_record(log, make_record(step=step, train_flops=None, train_tokens=None, ids=ids, answers=ans,
                                       correct=ans == 0))
    assert main(["compare", str(log), str(log), "--step-a", "200", "--step-b", "100", "--metric", "maj",
                 "--ks-a", "1,4,8", "--json", "--plot", str(tmp_path / "d.png")]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["ks"] == [1, 4, 8] and res["num_problems"] == 40 and res["mean"][0] > 0.05
    assert (tmp_path / "d.png").stat().st_size > 1000
    assert main(["compare", str(log), str(log), "--step-b", "100", "--ks-b", "1", "--method", "normal"]) == 0
    table = capsys.readouterr().out
    assert "K_a" in table and "simultaneous" in table
    assert main(["compare", str(log), str(log), "--step-a", "7"]) == 2
    assert "no record with --step-a 7" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "missing.jsonl"), str(log)]) == 2
