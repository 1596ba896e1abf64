"""Bounded work and input boundaries of the estimators (issue 11): every limit is a ValueError naming the
argument, the value and the limit, raised before any allocation or loop; numpy arrays and lists keep working."""
from __future__ import annotations

import time

import numpy as np
import pytest

import ttc_fast
from ttc_fast import estimators as est


@pytest.mark.parametrize("answers", [
    [[2**63, 1]],                                   # a Python int numpy would turn into a float
    [[-1, 2**63]],
    [[2**64 + 5, 0]],                               # beyond 64 bits: an object array
    np.array([[2**63, 1]], dtype=np.uint64),        # wraps to a negative int64 when cast
])
def test_answer_ids_beyond_int64_are_refused_with_their_value(answers):
    big = r"(9223372036854775808|18446744073709551621)"
    with pytest.raises(ValueError, match=r"answers must fit in int64 .* got " + big):
        ttc_fast.maj_at_k(answers, [[True, False]])
    with pytest.raises(ValueError, match="must fit in int64"):
        ttc_fast.weighted_maj_at_k(answers, [[1.0, 1.0]], [[True, False]])


def test_largest_int64_id_and_lists_still_work():
    r = ttc_fast.maj_at_k([[2**63 - 1, 2**63 - 1, 5]], [[True, True, False]], [1, 3])
    np.testing.assert_allclose(r.mean, [2 / 3, 1.0], atol=1e-15)
    a = np.array([[0, 0, 1], [2, 1, 1]])
    c = a == 0
    for form in (a, a.tolist(), a.astype(np.int32), a.astype(np.uint8)):
        np.testing.assert_allclose(ttc_fast.maj_at_k(form, c).mean, ttc_fast.maj_at_k(a, c).mean, atol=0)


@pytest.mark.parametrize("scores,match", [
    ([[-0.5, 1.0]], "scores must be >= 0"),
    ([[np.inf, 1.0]], "scores must be finite"),
    ([[np.nan, 1.0]], "scores must be finite"),
])
def test_weighted_maj_scores(scores, match):
    with pytest.raises(ValueError, match=match):
        ttc_fast.weighted_maj_at_k([[0, 1]], scores, [[True, False]])


@pytest.mark.parametrize("draws", [0, 10**7 + 1, 10**9, 2.5, True])
def test_weighted_maj_draws_limit(draws):
    t = time.perf_counter()
    with pytest.raises(ValueError, match=r"draws must be an int in \[1, 10,000,000\]"):
        ttc_fast.weighted_maj_at_k([[0, 1]], [[1.0, 1.0]], [[True, False]], draws=draws)
    assert time.perf_counter() - t < 1.0


def test_the_native_layer_refuses_too_many_draws_and_negative_scores():
    a, s, c, ks = np.array([[0, 1]]), np.array([[1.0, 1.0]]), np.array([[1, 0]], np.uint8), np.array([1])
    with pytest.raises(ValueError, match=r"draws must be in \[1, 10000000\]"):
        ttc_fast._C.weighted_maj_at_k(a, s, c, ks, 10**9, 0, False, 0)
    with pytest.raises(ValueError, match="scores must be finite and >= 0"):
        ttc_fast._C.weighted_maj_at_k(a, -s, c, ks, 10, 0, False, 0)


@pytest.mark.parametrize("B,match", [
    (10**8, "bootstrap must be <= 1,000,000, got 100,000,000"),
    (600_000, r"bootstrap x number of ks must be <= 50,000,000 .* got 600,000 x 100"),
    (-1, "bootstrap must be a non-negative int"),
    (2.0, "bootstrap must be a non-negative int"),
])
def test_bootstrap_limits(B, match):
    t = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        ttc_fast.pass_at_k(np.full(50, 100), np.arange(50), np.arange(1, 101), bootstrap=B)
    assert time.perf_counter() - t < 1.0  # refused before any allocation (issue 11: killed at 24 GB)


def test_bootstrap_streams_and_matches_the_matrix_product():
    rng = np.random.default_rng(0)
    v = rng.random((300, 5))
    v[7, 2] = np.nan
    small = est.resample_means(v, 400, seed=3)  # direct C++ sums
    w = ttc_fast._C.bootstrap_counts(300, 0, 400, 3)
    ok = ~np.isnan(v)
    np.testing.assert_allclose(small, (w @ np.where(ok, v, 0)) / (w @ ok), atol=1e-14)
    # replicate b depends only on (seed, b): any split into blocks gives the same counts
    np.testing.assert_array_equal(ttc_fast._C.bootstrap_counts(300, 100, 50, 3), w[100:150])
    assert (w.sum(axis=1) == 300).all()


def test_per_problem_matrix_limit():
    with pytest.raises(ValueError, match="num_problems x number of ks must be <= 250,000,000"):
        ttc_fast.pass_at_k(np.full(300_000, 1000), np.zeros(300_000, dtype=np.int64), per_problem=True)
    # without per-problem values the same call is fine (O(K) memory)
    r = ttc_fast.pass_at_k(np.full(300_000, 1000), np.zeros(300_000, dtype=np.int64))
    assert r.mean.shape == (1000,) and (r.mean == 0).all()


def test_pass_large_n_and_sizes():
    with pytest.raises(ValueError, match="num_samples must be <= 100000000"):
        ttc_fast._C.pass_at_k(np.array([2 * 10**8]), np.array([1]), np.array([1]), False, False, 0)
    r = ttc_fast.pass_at_k([10**6], [1], [1, 10**6])
    np.testing.assert_allclose(r.mean, [1e-6, 1.0], rtol=1e-12)
