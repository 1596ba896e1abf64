"""Seeded simulations with known truth for ttc_fast.extrapolate (shared by tests/test_extrapolate.py and
benchmarks/bench_extrapolate.py).

A shape is a population of solve rates p: an atom at 0 (never solvable) of weight pi0, an atom at 1 of weight pi1
and a Beta(a, b) for the rest, or a logit-normal (outside the model family). A run draws P problems, c ~ Bin(n, p)
per problem, and asks for pass@K; the truth is the population mean of 1 - (1 - p)^K.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.special import betaln, expit

# name -> ("zoib", pi0, pi1, a, b) or ("logitnormal", mu, sigma)
SHAPES = {
    "U-shaped Beta(0.5, 0.5)": ("zoib", 0.0, 0.0, 0.5, 0.5),
    "many never solved: Beta(0.3, 2)": ("zoib", 0.0, 0.0, 0.3, 2.0),
    "40% unsolvable + Beta(1, 3)": ("zoib", 0.4, 0.0, 1.0, 3.0),
    "25% unsolvable, 15% always + Beta(0.7, 1.5)": ("zoib", 0.25, 0.15, 0.7, 1.5),
}
# outside the beta model's family, and a truth next to 1 (asserted for the default model="auto" in the slow test)
HARD_SHAPES = {
    "logit-normal(-1.5, 2) (outside the model)": ("logitnormal", -1.5, 2.0),
    "near 1: Beta(2, 2) + 20% always": ("zoib", 0.0, 0.2, 2.0, 2.0),
}


def draw(shape: tuple, P: int, rng: np.random.Generator) -> np.ndarray:
    if shape[0] == "zoib":
        _, p0, p1, a, b = shape
        u = rng.random(P)
        return np.where(u < p0, 0.0, np.where(u < p0 + p1, 1.0, rng.beta(a, b, P)))
    _, mu, sigma = shape
    return expit(rng.normal(mu, sigma, P))


def truth(shape: tuple, K: int) -> float:
    """Population pass@K = 1 - E[(1 - p)^K]."""
    if shape[0] == "zoib":
        _, p0, p1, a, b = shape
        return p1 + (1 - p0 - p1) * (1 - math.exp(betaln(a, b + K) - betaln(a, b)))
    _, mu, sigma = shape
    f = lambda z: (1 - expit(mu + sigma * z)) ** K * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    return 1 - integrate.quad(f, -12, 12, limit=200)[0]


def sigmoid_extrapolation(num_correct: np.ndarray, n: int, K: int) -> float:
    """The source paper's method: exact pass@1, 2, 4, a least-squares sigmoid in K, evaluated at K."""
    import ttc_fast
    from ttc_fast.selector import fit_sigmoid, sigmoid  # the paper's procedure as the selector implements it

    pts = ttc_fast.pass_at_k(np.full(len(num_correct), n), num_correct, [1, 2, 4]).mean
    params = fit_sigmoid([1, 2, 4], pts)
    return float("nan") if params is None else float(sigmoid(K, *params))


def run(shape: tuple, P: int, n: int, K: int, seed: int, model: str = "auto", ks: list | None = None):
    """One seeded run: (ttc_fast result at ``ks`` (default [1, n, K]), exact pass@[1, n] result, num_correct)."""
    import ttc_fast

    rng = np.random.default_rng(seed)
    c = rng.binomial(n, draw(shape, P, rng))
    ours = ttc_fast.extrapolate("pass", [1, n, K] if ks is None else ks, num_samples=n, num_correct=c, model=model)
    exact = ttc_fast.pass_at_k(np.full(P, n), c, [1, n])
    return ours, exact, c
