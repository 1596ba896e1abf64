"""Estimators against the brute-force oracle (exact fractions), identities, golden values, stability, bad input.

Tolerance for combinatorial results: 1e-12 absolute against exact rationals (values are probabilities).
"""
from __future__ import annotations

import sys
from fractions import Fraction
from math import comb
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ttc_fast
from ttc_fast import _C

sys.path.insert(0, str(Path(__file__).parent))
import oracle  # noqa: E402

TOL = 1e-12
TIES = ["random", "strict", "optimistic"]


def rows_from_sizes(sizes, correct_first=True, abstentions=0):
    """One problem: cluster j has sizes[j] samples; cluster 0 correct."""
    ans, cor = [], []
    for j, s in enumerate(sizes):
        ans += [j] * s
        cor += [correct_first and j == 0] * s
    ans += [-1] * abstentions
    cor += [False] * abstentions
    return np.array([ans]), np.array([cor])


def random_problem(rng, n_max=10):
    """Random cluster structure: 1..5 clusters, some abstentions, 0..2 correct clusters."""
    n = int(rng.integers(1, n_max + 1))
    m = int(rng.integers(1, 6))
    probs = rng.dirichlet(np.ones(m + 1) * rng.uniform(0.3, 2.0))
    ans = rng.choice(np.arange(-1, m), size=n, p=probs)
    corr_cluster = rng.random(m) < rng.choice([0.0, 0.3, 0.6])
    cor = np.array([a >= 0 and corr_cluster[a] for a in ans])
    return ans, cor


# ---- pass@k -------------------------------------------------------------------------------------------------

def test_pass_golden():
    r = ttc_fast.pass_at_k([10, 10, 200], [3, 3, 1], [2, 5, 100], per_problem=True, lenient=True)
    assert abs(r.per_problem[0, 0] - 8 / 15) < TOL
    assert abs(r.per_problem[1, 1] - 11 / 12) < TOL
    assert abs(r.per_problem[2, 2] - 0.5) < TOL
    assert np.isnan(r.per_problem[0, 2])  # k = 100 > n = 10 in lenient mode


def test_pass_exact_rationals_large_n():
    # n in the thousands against exact rationals (Python integers), including tiny values (c = 1, k = 1).
    rng = np.random.default_rng(1)
    n = np.array([1030, 2000, 5000, 3001])
    c = np.array([1, 7, 4999, 1500])
    ks = np.array([1, 2, 3, 100, 515, 1000])
    r = ttc_fast.pass_at_k(n, c, ks, per_problem=True)
    for p in range(len(n)):
        for j, k in enumerate(ks):
            exact = 1 - Fraction(comb(int(n[p] - c[p]), int(k)), comb(int(n[p]), int(k)))
            got = r.per_problem[p, j]
            assert abs(got - float(exact)) <= TOL
    # tiny value with full relative precision: pass@1 with c = 1 of 1030 is 1/1030
    assert abs(r.per_problem[0, 0] * 1030 - 1) < 1e-14
    assert rng is not None


def test_pass_mean_stderr_matches_numpy():
    rng = np.random.default_rng(2)
    n = rng.integers(5, 40, size=300)
    c = rng.integers(0, n + 1)
    ks = np.array([1, 3, 5])
    r = ttc_fast.pass_at_k(n, c, ks, per_problem=True)
    expect = np.array([[float(oracle.pass_at_k(int(a), int(b), int(k))) for k in ks] for a, b in zip(n, c)])
    np.testing.assert_allclose(r.per_problem, expect, atol=TOL)
    np.testing.assert_allclose(r.mean, expect.mean(0), atol=TOL)
    np.testing.assert_allclose(r.stderr, expect.std(0, ddof=1) / np.sqrt(len(n)), atol=TOL)


def test_pass_stability_n_100000():
    n = np.array([100_000, 100_000, 100_000])
    c = np.array([1, 50_000, 99_999])
    ks = np.unique(np.geomspace(1, 100_000, 40).astype(int))
    r = ttc_fast.pass_at_k(n, c, ks, per_problem=True)
    v = r.per_problem
    assert np.isfinite(v).all() and (v >= 0).all() and (v <= 1).all()
    assert (np.diff(v, axis=1) >= 0).all()
    assert abs(v[0, 0] - 1e-5) < 1e-18  # pass@1 = c/n keeps relative precision


def test_pass_single_problem_stderr_zero_and_bootstrap():
    r = ttc_fast.pass_at_k([10], [3], [1, 2])
    assert (r.stderr == 0).all()
    rng = np.random.default_rng(3)
    n = np.full(200, 16)
    c = rng.integers(0, 17, size=200)
    b = ttc_fast.pass_at_k(n, c, [1, 4], bootstrap=400, seed=1)
    assert (b.ci_low <= b.mean).all() and (b.mean <= b.ci_high).all()
    np.testing.assert_allclose(b.bootstrap_stderr, b.stderr, rtol=0.25)


# ---- maj@k --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sizes,k,expect", [
    ([3, 2, 2, 1], 3, (Fraction(3, 7), Fraction(2, 7), Fraction(5, 7))),
    ([4, 4], 4, (Fraction(1, 2), Fraction(17, 70), Fraction(53, 70))),
    ([1, 1, 1, 1, 1], 3, (Fraction(1, 5), Fraction(0), Fraction(3, 5))),
])
def test_maj_golden(sizes, k, expect):
    a, c = rows_from_sizes(sizes)
    for tie, e in zip(TIES, expect):
        got = ttc_fast.maj_at_k(a, c, [k], tie=tie).mean[0]
        assert abs(got - float(e)) < TOL, (tie, got, e)


def test_maj_vs_bruteforce_random_structures():
    rng = np.random.default_rng(4)
    for _ in range(60):
        ans, cor = random_problem(rng)
        n = len(ans)
        ks = np.arange(1, n + 1)
        for tie in TIES:
            for ab in ["exclude", "vote"]:
                got = ttc_fast.maj_at_k(ans[None], cor[None], ks, tie=tie, abstain=ab).mean
                exp = [float(oracle.maj_at_k(list(ans), list(cor), int(k), tie, ab)) for k in ks]
                np.testing.assert_allclose(got, exp, atol=TOL, err_msg=f"{ans} {cor} {tie} {ab}")


def test_maj_counts_matches_answers_and_oracle_n12():
    rng = np.random.default_rng(5)
    P = 6
    sizes = np.zeros((P, 5), dtype=np.int64)
    corr = np.zeros((P, 5), dtype=bool)
    abst = np.zeros(P, dtype=np.int64)
    for p in range(P):  # exactly n = 12 samples
        parts = rng.multinomial(12, rng.dirichlet(np.ones(6)))
        sizes[p], abst[p] = parts[:5], parts[5]
        corr[p] = rng.random(5) < 0.4
    for tie in TIES:
        for ab in ["exclude", "vote"]:
            r = ttc_fast.maj_at_k_counts(sizes, corr, abst, None, tie=tie, abstain=ab, per_problem=True)
            for p in range(P):
                ans = [j for j in range(5) for _ in range(sizes[p, j])] + [-1] * int(abst[p])
                cor = [bool(corr[p, a]) if a >= 0 else False for a in ans]
                for k in (1, 2, 5, 7, 12):
                    e = oracle.maj_at_k(ans, cor, k, tie, ab)
                    assert abs(r.per_problem[p, k - 1] - float(e)) < TOL


def test_maj_identities():
    rng = np.random.default_rng(6)
    for _ in range(40):
        ans, cor = random_problem(rng, n_max=30)
        n = len(ans)
        ks = np.arange(1, n + 1)
        res = {t: ttc_fast.maj_at_k(ans[None], cor[None], ks, tie=t).mean for t in TIES}
        passk = ttc_fast.pass_at_k([n], [int(cor.sum())], ks).mean
        assert abs(res["random"][0] - cor.sum() / n) < TOL  # maj@1 = c/n (abstentions included in n)
        assert (res["strict"] <= res["random"] + TOL).all()
        assert (res["random"] <= res["optimistic"] + TOL).all()
        assert (res["optimistic"] <= passk + TOL).all()
        if (ans >= 0).all() and n >= 2:  # maj@2 = maj@1 under random ties without abstentions
            assert abs(res["random"][1] - res["random"][0]) < TOL


def test_maj_all_ks_equals_single_k_calls():
    # All ks at once walks the forward hypergeometric chain; a single k uses direct hypergeometric rows.
    answers = np.array([[0] * 60 + [1] * 45 + [2] * 30 + [3] * 12 + list(range(4, 44)) + [-1] * 13])
    correct = answers == 0
    n = answers.shape[1]
    for tie in TIES:
        for ab in ["exclude", "vote"]:
            full = ttc_fast.maj_at_k(answers, correct, None, tie=tie, abstain=ab).mean
            for k in (1, 2, 3, 7, 31, 100, n - 1, n):
                one = ttc_fast.maj_at_k(answers, correct, [k], tie=tie, abstain=ab).mean[0]
                assert abs(one - full[k - 1]) < 1e-12, (tie, ab, k, one, full[k - 1])


def test_maj_two_clusters_hypergeometric_tail():
    # correct c vs one wrong cluster w: random tie = P(X > k/2) + P(X = k/2)/2 with X ~ Hypergeom(n, c, k)
    for c, w in [(7, 5), (3, 9), (20, 20), (1, 30)]:
        n = c + w
        a, cor = rows_from_sizes([c, w])
        ks = np.arange(1, n + 1)
        got = ttc_fast.maj_at_k(a, cor, ks).mean
        for k in ks:
            e = sum(Fraction(comb(c, x) * comb(w, k - x), comb(n, k)) * (1 if 2 * x > k else Fraction(1, 2))
                    for x in range(max(1, k - w), min(c, k) + 1) if 2 * x >= k)
            assert abs(got[k - 1] - float(e)) < TOL


def test_maj_stability_n_10000():
    # n = 10,000: correct 6000, wrong clusters 300/200/100, 3400 singletons, 0 abstentions.
    # Hypergeometric weights come from a log-factorial table (absolute error ~1e-11 at n = 1e4), hence 1e-9.
    sizes = np.array([[6000, 300, 200, 100] + [1] * 3400])
    corr = np.zeros_like(sizes, dtype=bool)
    corr[0, 0] = True
    ks = np.array([1, 2, 3, 10, 100, 1000, 5000, 9999, 10000])
    for tie in TIES:
        v = ttc_fast.maj_at_k_counts(sizes, corr, None, ks, tie=tie).mean
        assert np.isfinite(v).all() and (v >= 0).all() and (v <= 1).all()
        assert abs(v[0] - 0.6) < 1e-9
        assert (np.diff(v[2:]) >= -1e-9).all() and abs(v[-1] - 1.0) < 1e-9  # the plurality answer wins more
    # random ties, no abstentions: maj@2 = maj@1
    v = ttc_fast.maj_at_k_counts(sizes, corr, None, [1, 2]).mean
    assert abs(v[1] - v[0]) < 1e-9


@pytest.mark.slow
def test_maj_stability_n_10000_large_wrong_clusters():
    sizes = np.array([[4000, 2500, 1500, 1000] + [1] * 1000])
    corr = np.zeros_like(sizes, dtype=bool)
    corr[0, 0] = True
    ks = np.array([1, 2, 3, 10, 100, 1000, 5000, 9999, 10000])
    v = ttc_fast.maj_at_k_counts(sizes, corr, None, ks).mean
    assert np.isfinite(v).all() and (v >= 0).all() and (v <= 1).all()
    assert abs(v[0] - 0.4) < 1e-9 and abs(v[1] - 0.4) < 1e-9
    assert (np.diff(v[2:]) >= -1e-9).all() and abs(v[-1] - 1.0) < 1e-9


# ---- best-of-k ----------------------------------------------------------------------------------------------

def test_bok_score_equals_correctness_is_pass_at_k():
    rng = np.random.default_rng(7)
    cor = rng.random((50, 40)) < rng.random((50, 1))
    ks = np.arange(1, 41)
    bok = ttc_fast.best_of_k(cor.astype(float), cor, ks, per_problem=True)
    pk = ttc_fast.pass_at_k(np.full(50, 40), cor.sum(1), ks, per_problem=True)
    np.testing.assert_allclose(bok.per_problem, pk.per_problem, atol=TOL)


def test_bok_vs_bruteforce_with_ties():
    rng = np.random.default_rng(8)
    for _ in range(40):
        n = int(rng.integers(1, 11))
        scores = rng.integers(0, 4, size=n).astype(float) / 2  # many ties
        cor = rng.random(n) < 0.5
        got = ttc_fast.best_of_k(scores[None], cor[None]).mean
        exp = [float(oracle.best_of_k(list(scores), list(cor), k)) for k in range(1, n + 1)]
        np.testing.assert_allclose(got, exp, atol=TOL)


def test_bok_ragged_nan_padding():
    s = np.array([[0.3, 0.9, 0.1, np.nan], [0.5, 0.2, 0.8, 0.4]])
    c = np.array([[1, 0, 1, 0], [0, 1, 1, 0]], dtype=bool)
    r = ttc_fast.best_of_k(s, c, [1, 2, 3], per_problem=True)
    e0 = [float(oracle.best_of_k([0.3, 0.9, 0.1], [1, 0, 1], k)) for k in (1, 2, 3)]
    np.testing.assert_allclose(r.per_problem[0], e0, atol=TOL)


def test_bok_stability_n_10000():
    rng = np.random.default_rng(9)
    s = rng.normal(size=(1, 10_000))
    cor = rng.random((1, 10_000)) < 0.3
    ks = np.array([1, 2, 10, 100, 1000, 9999, 10_000])
    v = ttc_fast.best_of_k(s, cor, ks).mean
    assert np.isfinite(v).all() and (v >= 0).all() and (v <= 1).all()
    assert abs(v[0] - cor.mean()) < 1e-12
    assert v[-1] == float(cor[0, np.argmax(s)])


# ---- weighted majority (Monte Carlo) ------------------------------------------------------------------------

def test_wmaj_within_mc_error_of_bruteforce():
    rng = np.random.default_rng(10)
    worst = 0.0
    for _ in range(8):
        ans, cor = random_problem(rng, n_max=9)
        scores = rng.integers(1, 5, size=len(ans)) / 4
        ks = np.arange(1, len(ans) + 1)
        r = ttc_fast.weighted_maj_at_k(ans[None], scores[None], cor[None], ks, draws=4000, seed=3)
        exp = np.array([float(oracle.weighted_maj_at_k(list(ans), list(scores), list(cor), int(k))) for k in ks])
        z = np.abs(r.mean - exp) / np.maximum(r.mc_stderr, 1e-3)
        worst = max(worst, z.max())
    assert worst < 4.5, worst


def test_wmaj_seeded_and_thread_independent():
    rng = np.random.default_rng(11)
    a = rng.integers(-1, 4, size=(37, 20))
    s = rng.random((37, 20))
    c = np.isin(a, [0])
    ks = np.array([1, 5, 20])
    v1, _ = _C.weighted_maj_at_k(a, s, c.astype(np.uint8), ks, 200, 5, False, 1)
    v2, _ = _C.weighted_maj_at_k(a, s, c.astype(np.uint8), ks, 200, 5, False, 2)
    np.testing.assert_array_equal(v1, v2)
    v3, _ = _C.weighted_maj_at_k(a, s, c.astype(np.uint8), ks, 200, 6, False, 2)
    assert not np.array_equal(v1, v3)


def test_wmaj_equal_scores_is_maj():
    # constant scores: weighted majority = plurality vote (random ties) -> matches exact maj@k within MC error
    rng = np.random.default_rng(12)
    a = rng.integers(-1, 3, size=(20, 10))
    c = a == 0
    ks = np.array([1, 3, 6])
    w = ttc_fast.weighted_maj_at_k(a, np.ones(a.shape), c, ks, draws=2000)
    m = ttc_fast.maj_at_k(a, c, ks)
    assert (np.abs(w.mean - m.mean) < 4 * w.mc_stderr + 1e-12).all()


# ---- inputs -------------------------------------------------------------------------------------------------

def test_string_answers_lists_and_torch():
    answers = [["42", "41", "42", None], ["x", "y"]]
    ids = ttc_fast.cluster_answers(answers)
    assert ids.tolist() == [[0, 1, 0, -1], [0, 1, -2, -2]]
    correct = [[True, False, True, False], [False, True, False, False]]
    r = ttc_fast.maj_at_k(answers, correct, [1, 2], per_problem=True)
    assert abs(r.per_problem[0, 0] - 0.5) < TOL and abs(r.per_problem[1, 0] - 0.5) < TOL
    torch = pytest.importorskip("torch")
    r2 = ttc_fast.maj_at_k(torch.tensor(ids), torch.tensor(correct), [1, 2], per_problem=True)
    np.testing.assert_array_equal(r.per_problem, r2.per_problem)
    r3 = ttc_fast.pass_at_k(torch.tensor([10]), torch.tensor([3]), [2])
    assert abs(r3.mean[0] - 8 / 15) < TOL


def test_ragged_python_lists():
    answers = [["7", "7", "8"], ["1", None, "2", "1", "3"]]
    correct = [[True, True, False], [False, False, True, False, False]]
    r = ttc_fast.maj_at_k(answers, correct, [1, 3], per_problem=True)
    for p, (a, c) in enumerate(zip(answers, correct)):
        ids = ttc_fast.cluster_answers([a])[0].tolist()
        for j, k in enumerate((1, 3)):
            assert abs(r.per_problem[p, j] - float(oracle.maj_at_k(ids, c, k))) < TOL
    b = ttc_fast.best_of_k([[0.2, 0.9, 0.1], [0.5, 0.4, 0.3, 0.2, 0.1]], correct, [2], per_problem=True)
    assert abs(b.per_problem[0, 0] - float(oracle.best_of_k([0.2, 0.9, 0.1], correct[0], 2))) < TOL


def test_no_torch_import_at_module_import():
    import subprocess
    code = "import sys, ttc_fast, ttc_fast.estimators; ttc_fast.pass_at_k([4],[1]); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("call,exc,match", [
    (lambda: ttc_fast.pass_at_k([10], [3], [0]), ValueError, "ks must be >= 1"),
    (lambda: ttc_fast.pass_at_k([10], [3], [11]), ValueError, "k=11 > n=10"),
    (lambda: ttc_fast.pass_at_k([10], [11]), ValueError, "c=11 > n=10"),
    (lambda: ttc_fast.pass_at_k([10], [-1]), ValueError, "num_correct must be >= 0"),
    (lambda: ttc_fast.pass_at_k([-3], [0]), ValueError, "num_samples must be >= 0"),
    (lambda: ttc_fast.pass_at_k([10, 10], [3]), ValueError, "shape"),
    (lambda: ttc_fast.pass_at_k([], []), ValueError, "empty"),
    (lambda: ttc_fast.pass_at_k([10.0], [3]), TypeError, "num_samples must be integers"),
    (lambda: ttc_fast.maj_at_k([[0.5, 1.0]], [[1, 0]]), TypeError, "answers must be integers"),
    (lambda: ttc_fast.maj_at_k([[0, 0]], [[1, 0]]), ValueError, "both correct and wrong"),
    (lambda: ttc_fast.maj_at_k([[0, 1]], [[1, 0, 0]]), ValueError, "correct must have the shape"),
    (lambda: ttc_fast.maj_at_k([[0, 1]], [[1, 0]], tie="coin"), ValueError, "tie must be one of"),
    (lambda: ttc_fast.maj_at_k([[0, 1]], [[1, 0]], abstain="skip"), ValueError, "abstain must be one of"),
    (lambda: ttc_fast.maj_at_k([[0, -5]], [[1, 0]]), ValueError, "answers must be >= -2"),
    (lambda: ttc_fast.maj_at_k([[0, 1]], [[0.5, 0]]), TypeError, "correct must be bool"),
    (lambda: ttc_fast.maj_at_k_counts([[2, -1]], [[1, 0]]), ValueError, "cluster_sizes must be >= 0"),
    (lambda: ttc_fast.best_of_k([[0.1, np.inf]], [[1, 0]]), ValueError, "scores must be finite"),
    (lambda: ttc_fast.best_of_k([[np.nan, 0.1]], [[1, 0]]), ValueError, "NaN inside row 0"),
    (lambda: ttc_fast.best_of_k([["a", "b"]], [[1, 0]]), TypeError, "scores must be real numbers"),
    (lambda: ttc_fast.weighted_maj_at_k([[0, 1]], [[np.nan, 1.0]], [[1, 0]]), ValueError, "scores must be finite"),
    (lambda: ttc_fast.weighted_maj_at_k([[0, 1]], [[1.0, 1.0]], [[1, 0]], draws=0), ValueError, "draws"),
    (lambda: ttc_fast.cluster_answers([["a", 3.5]]), TypeError, "answers\\[0\\]\\[1\\]"),
    # huge counts are refused before any table is allocated
    (lambda: ttc_fast.maj_at_k_counts([[10**12, 1]], [[1, 0]], None, [1]), ValueError, "at most"),
    (lambda: ttc_fast.pass_at_k([10**12], [1], [1]), ValueError, "num_samples must be <="),
])
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_lenient_ragged():
    a = np.array([[0, 0, 1, -2], [0, 1, 1, 2]])
    c = a == 0
    r = ttc_fast.maj_at_k(a, c, [1, 4], lenient=True, per_problem=True)
    assert np.isnan(r.per_problem[0, 1]) and not np.isnan(r.per_problem[1, 1])
    assert r.mean[1] == r.per_problem[1, 1]  # NaN problems are skipped in the mean
    with pytest.raises(ValueError, match="k=4 > n=3"):
        ttc_fast.maj_at_k(a, c, [1, 4])


# ---- fuzzing the native entry points ------------------------------------------------------------------------

_arrays = st.lists(st.lists(st.integers(-4, 6), min_size=0, max_size=6), min_size=0, max_size=4)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(a=_arrays, c=_arrays, ks=st.lists(st.integers(-2, 8), max_size=4), tie=st.integers(-1, 3),
       ab=st.integers(-1, 2), lenient=st.booleans(), fn=st.sampled_from(["maj", "counts", "pass", "bok", "wmaj"]))
def test_fuzz_native(a, c, ks, tie, ab, lenient, fn):
    try:
        A = np.array(a, dtype=np.int64)
        Cc = np.array(c, dtype=np.int64)
    except ValueError:
        return  # ragged lists never reach the native layer
    K = np.array(ks, dtype=np.int64)
    try:
        if fn == "maj":
            out = _C.maj_at_k(A, Cc.astype(np.uint8), K, tie, ab, lenient)
        elif fn == "counts":
            out = _C.maj_at_k_counts(A, Cc.astype(np.uint8), None, K, tie, ab, lenient)
        elif fn == "pass":
            out = _C.pass_at_k(A.ravel(), Cc.ravel(), K, lenient, True)[3]
        elif fn == "bok":
            out = _C.best_of_k(A.astype(float), Cc.astype(np.uint8), None, K, lenient)
        else:
            out = _C.weighted_maj_at_k(A, A.astype(float), Cc.astype(np.uint8), K, 5, 0, lenient)[0]
    except (ValueError, TypeError):
        return
    vals = np.asarray(out)
    assert vals.shape[-1] == len(K)
    finite = vals[~np.isnan(vals)]
    assert ((finite >= 0) & (finite <= 1)).all()


_cells = st.one_of(st.integers(-3, 5), st.booleans(), st.floats(allow_nan=True, allow_infinity=True), st.none(),
                   st.text(max_size=2))


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(a=st.lists(st.lists(_cells, max_size=5), max_size=3), c=st.lists(st.lists(_cells, max_size=5), max_size=3),
       ks=st.one_of(st.none(), st.integers(-1, 6), st.lists(st.integers(-1, 6), max_size=3)),
       fn=st.sampled_from(["pass", "maj", "bok", "wmaj", "counts"]))
def test_fuzz_public_api(a, c, ks, fn):
    """Arbitrary (malformed) Python input: a valid result or ValueError/TypeError, nothing else."""
    try:
        if fn == "pass":
            r = ttc_fast.pass_at_k([row[0] if row else 0 for row in a], [row[0] if row else 0 for row in c], ks)
        elif fn == "maj":
            r = ttc_fast.maj_at_k(a, c, ks)
        elif fn == "bok":
            r = ttc_fast.best_of_k(a, c, ks)
        elif fn == "wmaj":
            r = ttc_fast.weighted_maj_at_k(a, a, c, ks, draws=3)
        else:
            r = ttc_fast.maj_at_k_counts(a, c, None, ks)
    except (ValueError, TypeError):
        return
    assert r.mean.shape == r.ks.shape
    finite = r.mean[~np.isnan(r.mean)]
    assert ((finite >= 0) & (finite <= 1)).all()
