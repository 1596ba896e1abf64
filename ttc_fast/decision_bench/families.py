"""Synthetic training runs with known truth, for judging stop decisions.

A run is a sequence of checkpoints at normalised training compute ``x = F / budget`` in (0, 1] (the last one is
the full run). Every problem ``j`` has a difficulty ``d_j``; at ability ``a`` (the family's curve ``a(x)``)
a sample solves it with probability ``p_j = floor + (ceil - floor) · sigmoid(a - d_j)`` (a 1-parameter IRT
model). A wrong sample is the problem's dominant distractor (share ``rho_j`` of the wrong mass), an abstention
(share ``eta_j``) or a fresh wrong answer that no other sample repeats (the rest). A verifier scores a correct
sample ``N(mu_j, 1)`` and any other ``N(0, 1)``. Families differ only in ``a(x)`` (and in the evaluation size):

========================  ================================================================================
``saturating``            rises and saturates well before the budget
``power_law``             ``a = a0 + D·x^g``: still rising at the budget
``linear``                ``a = a0 + D·x``: rising fastest at the end
``jump``                  flat, then a sharp rise at ``x_j`` in [0.2, 0.6] (emergence, grokking)
``late_bloomer``          a logistic in log compute whose midpoint lies in [0.3, 0.7]
``peak_decline``          saturating, then losing ability after a peak in [0.3, 0.6] (overfitting)
``near_chance``           a 4-way multiple-choice task the model never learns (flat at chance)
``small_eval``            saturating dynamics judged on 30-60 evaluation problems
========================  ================================================================================

Stress families (:data:`STRESS_FAMILIES`, not in the default set: rises that no learning curve foretells, so
they show where a stop rule that trusts the curve so far fails, and by how much):

========================  ================================================================================
``two_stage``             saturates, then a second rise at ``x_2`` in [0.4, 0.8] (a capability that emerges
                          after a plateau: a data-mix or curriculum change, grokking)
``accelerating``          ``a = a0 + D·x^g``, g in [1.5, 3]: most of the rise still to come
``cooldown``              a slow power law, then an extra gain over the last 10-20% of the budget (the
                          learning-rate decay of a warmup-stable-decay schedule)
``lr_steps``              a power law with two step decays of the learning rate (at x in [0.3, 0.5] and
                          [0.6, 0.8]), each a sudden gain
========================  ================================================================================

Held-out families (:data:`HELDOUT_FAMILIES`, not in the default set: written after the rule and its constants
were fixed, and never used to set them, so they measure how the rule does on curves it was not developed on):

========================  ================================================================================
``slow_power``            ``a = a0 + D·x^g``, g in [0.1, 0.3]: slow, log-like growth (a hard task)
``log_linear``            ability linear in log compute (a scaling-law curve), never saturating
``finetune``              saturates within the first 0.5-3% of the budget, then flat (fine-tuning)
``mc_learned``            a 4-way multiple-choice task that is learned (chance floor 0.25, saturating)
========================  ================================================================================

On top of the curve every checkpoint's ability jitters (``N(0, jitter)``, jitter up to 0.08): real checkpoints
are not monotone in quality. The truth of a run is the population accuracy: every metric at every K is computed
exactly (no sampling) on a separate population of problems drawn from the same distribution, so the evaluation
set's own luck is part of what a selector must be robust to. Exact per-problem metrics:

- pass@K = 1 - (1 - p)^K;
- maj@K (plurality vote over K independent samples, abstentions do not vote, ties broken at random) from the
  binomial counts of correct samples X and distractor samples Y: X >= 2 wins unless Y > X (half when Y = X);
  X = 1 ties with the distractor when Y = 1 and with every fresh wrong answer Z: credit 1 / (1 + [Y = 1] + Z),
  whose expectation over Z ~ Bin(m, pi) is the integral of t^[Y=1] (1 - pi + pi t)^m over [0, 1]
  (Gauss-Legendre, exact for these degrees);
- best-of-K (the top-scored sample is deployed) = integral of K p phi(t - mu) G(t)^(K-1) dt with
  G(t) = p Phi(t - mu) + (1 - p) Phi(t) (trapezoid on a fine grid).
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["Family", "FAMILIES", "CORE_FAMILIES", "STRESS_FAMILIES", "HELDOUT_FAMILIES", "STRATEGIES", "SPACINGS",
           "checkpoint_schedule", "SyntheticRun", "make_run", "resolve_family", "true_metric", "problem_probs"]

STRATEGIES = ("maj", "pass", "bok")
SPACINGS = ("even", "log")


# ---- the families: ability curves a(x) with run-specific random parameters -------------------------------
def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _saturating(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d, tau = rng.uniform(-3.0, -1.0), rng.uniform(2.5, 4.5), rng.uniform(0.04, 0.18)
    return lambda x: a0 + d * -np.expm1(-x / tau)


def _power_law(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d, g = rng.uniform(-3.0, -1.5), rng.uniform(2.5, 4.0), rng.uniform(0.3, 0.6)
    return lambda x: a0 + d * x ** g


def _linear(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d = rng.uniform(-3.0, -1.5), rng.uniform(2.0, 3.5)
    return lambda x: a0 + d * x


def _jump(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d, xj, w = rng.uniform(-3.5, -2.0), rng.uniform(2.5, 4.5), rng.uniform(0.2, 0.6), rng.uniform(0.005, 0.03)
    return lambda x: a0 + d * _sigmoid((x - xj) / w)


def _late_bloomer(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d, xm, w = rng.uniform(-3.0, -2.0), rng.uniform(3.0, 4.5), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.4)
    return lambda x: a0 + d * _sigmoid((np.log(x) - math.log(xm)) / w)


def _peak_decline(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d, tau = rng.uniform(-3.0, -1.0), rng.uniform(2.5, 4.5), rng.uniform(0.04, 0.12)
    xp, drop = rng.uniform(0.3, 0.6), rng.uniform(0.4, 1.0)
    return lambda x: a0 + d * -np.expm1(-x / tau) - drop * np.clip((x - xp) / (1.0 - xp), 0.0, None)


def _near_chance(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0 = rng.uniform(-6.0, -4.5)
    return lambda x: a0 + 0.0 * x


def _two_stage(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d1, tau = rng.uniform(-3.0, -1.5), rng.uniform(1.5, 2.5), rng.uniform(0.04, 0.12)
    d2, x2, w = rng.uniform(1.0, 2.0), rng.uniform(0.4, 0.8), rng.uniform(0.01, 0.05)
    return lambda x: a0 + d1 * -np.expm1(-x / tau) + d2 * _sigmoid((x - x2) / w)


def _accelerating(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d, g = rng.uniform(-3.0, -1.5), rng.uniform(2.0, 3.5), rng.uniform(1.5, 3.0)
    return lambda x: a0 + d * x ** g


def _cooldown(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d, g = rng.uniform(-3.0, -1.5), rng.uniform(1.5, 3.0), rng.uniform(0.3, 0.6)
    xc, gain = rng.uniform(0.8, 0.9), rng.uniform(0.3, 0.8)
    return lambda x: a0 + d * x ** g + gain * np.clip((x - xc) / (1.0 - xc), 0.0, 1.0)


def _lr_steps(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d, g = rng.uniform(-3.0, -1.5), rng.uniform(1.5, 3.0), rng.uniform(0.3, 0.6)
    x1, x2, gain = rng.uniform(0.3, 0.5), rng.uniform(0.6, 0.8), rng.uniform(0.2, 0.4)
    return lambda x: a0 + d * x ** g + gain * ((x > x1).astype(float) + (x > x2))


def _slow_power(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d, g = rng.uniform(-3.0, -1.5), rng.uniform(1.5, 3.0), rng.uniform(0.1, 0.3)
    return lambda x: a0 + d * x ** g


def _log_linear(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d = rng.uniform(-1.5, 0.0), rng.uniform(0.4, 0.8)
    return lambda x: a0 + d * np.log(x)


def _finetune(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d, tau = rng.uniform(-2.5, -1.0), rng.uniform(2.0, 4.0), rng.uniform(0.005, 0.03)
    return lambda x: a0 + d * -np.expm1(-x / tau)


def _mc_learned(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    a0, d, tau = rng.uniform(-3.0, -1.0), rng.uniform(2.5, 4.5), rng.uniform(0.05, 0.3)
    return lambda x: a0 + d * -np.expm1(-x / tau)


@dataclass(frozen=True)
class Family:
    """A family of runs: ``curve(rng) -> a(x)`` draws one run's ability curve (``a`` on the logit scale of the
    problems' difficulties, which are ``N(0, 1.3)``: at a ceiling of 0.95, a = -3 solves 8% of samples, 0 47%,
    3 87%; ``x`` float64 ``(C,)`` normalised compute in (0, 1]); ``floor``: chance level (multiple choice);
    ``eval_problems``: (lo, hi) or None (the benchmark's size); ``group``: "core" (the default set), "stress",
    "heldout" or anything else for your own. Your own family goes wherever a family's name does
    (:func:`make_run`, ``run_synthetic``, ``synthetic_calibration``); with ``workers`` > 1 its ``curve`` must be
    a module-level function (it is sent to the worker processes)."""

    name: str
    curve: Callable[[np.random.Generator], Callable[[np.ndarray], np.ndarray]]
    floor: float = 0.0
    eval_problems: tuple[int, int] | None = None
    description: str = ""
    group: str = "core"
    origin: str | None = field(default=None, compare=False, repr=False)   # "file.py:attr" it was loaded from

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # one loaded from a file is sent to worker processes as where it came from (they load it again)
        if self.origin is not None:
            return resolve_family, (self.origin,)
        return Family, (self.name, self.curve, self.floor, self.eval_problems, self.description, self.group)


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("saturating", _saturating, description="rises, saturates well before the budget"),
    Family("power_law", _power_law, description="a0 + D x^g: still rising at the budget"),
    Family("linear", _linear, description="a0 + D x: rising fastest at the end"),
    Family("jump", _jump, description="flat, then a sharp rise at x in [0.2, 0.6]"),
    Family("late_bloomer", _late_bloomer, description="logistic in log compute, midpoint in [0.3, 0.7]"),
    Family("peak_decline", _peak_decline, description="saturating, then declining after a peak at [0.3, 0.6]"),
    Family("near_chance", _near_chance, floor=0.25, description="4-way multiple choice, never learned"),
    Family("small_eval", _saturating, eval_problems=(30, 60), description="saturating, 30-60 eval problems"),
    Family("two_stage", _two_stage, description="saturates, then a second rise at x in [0.4, 0.8]",
           group="stress"),
    Family("accelerating", _accelerating, description="a0 + D x^g, g in [1.5, 3]: most of the rise to come",
           group="stress"),
    Family("cooldown", _cooldown, description="slow power law, then a gain over the last 10-20% (LR decay)",
           group="stress"),
    Family("lr_steps", _lr_steps, description="power law with two step decays of the LR, each a sudden gain",
           group="stress"),
    Family("slow_power", _slow_power, description="a0 + D x^g, g in [0.1, 0.3]: slow, log-like growth",
           group="heldout"),
    Family("log_linear", _log_linear, description="ability linear in log compute, never saturating",
           group="heldout"),
    Family("finetune", _finetune, description="saturates within 0.5-3% of the budget (fine-tuning)",
           group="heldout"),
    Family("mc_learned", _mc_learned, floor=0.25, description="4-way multiple choice that is learned",
           group="heldout"),
)}
CORE_FAMILIES = tuple(name for name, f in FAMILIES.items() if f.group == "core")   # the default set
STRESS_FAMILIES = tuple(name for name, f in FAMILIES.items() if f.group == "stress")
HELDOUT_FAMILIES = tuple(name for name, f in FAMILIES.items() if f.group == "heldout")


# ---- problems and their answer distributions -------------------------------------------------------------
@dataclass(frozen=True)
class Problems:
    """Per-problem parameters, all float64 ``(P,)``: difficulty, distractor share of the wrong mass,
    abstention share of the wrong mass, verifier separation; ``floor``/``ceil`` scalars of the run."""

    difficulty: np.ndarray
    rho: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    floor: float
    ceil: float

    @staticmethod
    def draw(rng: np.random.Generator, num: int, floor: float, ceil: float) -> Problems:
        return Problems(difficulty=rng.normal(0.0, 1.3, num), rho=rng.beta(2.0, 3.0, num),
                        eta=rng.uniform(0.0, 0.15, num), mu=np.maximum(rng.normal(1.5, 0.5, num), 0.0),
                        floor=floor, ceil=ceil)


def problem_probs(problems: Problems, ability: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(p correct, q distractor, s fresh wrong answer, a abstention), each ``(P,)``, summing to 1."""
    p = problems.floor + (problems.ceil - problems.floor) * _sigmoid(ability - problems.difficulty)
    wrong = 1.0 - p
    q = wrong * problems.rho
    a = wrong * (1.0 - problems.rho) * problems.eta
    s = np.clip(wrong - q - a, 0.0, None)
    return p, q, s, a


# ---- exact per-problem metrics -----------------------------------------------------------------------------
_GL_T, _GL_W = np.polynomial.legendre.leggauss(48)  # exact for polynomials of degree <= 95 on [-1, 1]
_GL_T = 0.5 * (_GL_T + 1.0)
_GL_W = 0.5 * _GL_W
_BOK_GRID = np.linspace(-7.0, 10.0, 401)  # scores: N(0, 1) and N(mu, 1), mu <= ~3


def _binom_pmf(n: np.ndarray, k: np.ndarray, p: np.ndarray) -> np.ndarray:
    """C(n, k) p^k (1-p)^(n-k), broadcasting; 0 where k < 0 or k > n. Stable for p in {0, 1}."""
    n, k, p = np.broadcast_arrays(np.asarray(n, float), np.asarray(k, float), np.asarray(p, float))
    ok = (k >= 0) & (k <= n)
    kk, nn = np.where(ok, k, 0.0), np.where(ok, n, 0.0)
    from scipy.special import gammaln, xlog1py, xlogy
    logc = gammaln(nn + 1) - gammaln(kk + 1) - gammaln(nn - kk + 1)
    out = np.exp(logc + xlogy(kk, p) + xlog1py(nn - kk, -p))
    return np.where(ok, out, 0.0)


def _binom_table(p: np.ndarray, n: int) -> np.ndarray:
    """``T[:, m, y] = P(Bin(m, p) = y)`` for m, y = 0..n: float64 ``(P, n + 1, n + 1)`` (by the recursion
    T[m + 1, y] = (1 - p) T[m, y] + p T[m, y - 1]; stable, no binomial coefficients)."""
    T = np.zeros((p.shape[0], n + 1, n + 1))
    T[:, 0, 0] = 1.0
    pc = p[:, None]
    for m in range(n):
        T[:, m + 1, :] = (1.0 - pc) * T[:, m, :]
        T[:, m + 1, 1:] += pc * T[:, m, :-1]
    return T


def _maj_exact(p: np.ndarray, q: np.ndarray, s: np.ndarray, a: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Exact maj@K (random tie-break, abstentions excluded) per problem: ``(P, len(ks))``."""
    n = int(ks.max())
    rest = np.clip(1.0 - p, 0.0, None)
    r = np.clip(np.divide(q, rest, out=np.zeros_like(q), where=rest > 0), 0.0, 1.0)  # distractor share of wrong
    sa = s + a
    pi = np.divide(s, sa, out=np.zeros_like(s), where=sa > 0)     # fresh-answer share of the other wrong samples
    X = _binom_table(np.clip(p, 0.0, 1.0), n)                       # X ~ Bin(K, p): X[:, K, x]
    Y = _binom_table(r, n)                                          # Y ~ Bin(K - x, r): Y[:, m, y]
    cdf = np.cumsum(Y, axis=2)
    # W[:, m, x] = P(Y <= x - 1) + P(Y = x) / 2 given m other samples: the credit of x >= 2 correct samples
    W = np.zeros_like(Y)
    W[:, :, 1:] = cdf[:, :, :-1] + 0.5 * Y[:, :, 1:]
    # X = 1: ties with the distractor (Y = 1) and every fresh answer Z ~ Bin(K - 1 - Y, pi): E[1/(1 + Y + Z)]
    powers = (1.0 - pi[:, None] + pi[:, None] * _GL_T[None, :])[:, :, None] ** np.arange(n + 1)[None, None, :]
    ez = np.einsum("t,ptm->pm", _GL_W, powers)                      # E[1 / (1 + Z)], Z ~ Bin(m, pi)
    ez1 = np.einsum("t,ptm->pm", _GL_W * _GL_T, powers)             # E[1 / (2 + Z)]
    out = np.empty((p.shape[0], ks.size))
    for j, K in enumerate(ks):
        K = int(K)
        x = np.arange(2, K + 1)
        total = np.sum(X[:, K, 2:K + 1] * W[:, K - x, x], axis=1) if K >= 2 else 0.0
        e1 = Y[:, K - 1, 0] * ez[:, K - 1]
        if K >= 2:
            e1 = e1 + Y[:, K - 1, 1] * ez1[:, K - 2]
        out[:, j] = total + X[:, K, 1] * e1
    return out


def _bok_exact(p: np.ndarray, mu: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Exact best-of-K per problem (top verifier score deployed): ``(P, len(ks))``."""
    from scipy.special import ndtr
    t = _BOK_GRID[None, :]
    dt = _BOK_GRID[1] - _BOK_GRID[0]
    m = mu[:, None]
    pc = p[:, None]
    G = pc * ndtr(t - m) + (1.0 - pc) * ndtr(t)
    logG = np.log(np.maximum(G, 1e-300))
    dens = pc * np.exp(-0.5 * (t - m) ** 2) / math.sqrt(2.0 * math.pi)   # p phi(t - mu)
    out = np.empty((p.shape[0], ks.size))
    for j, K in enumerate(ks):
        f = K * dens * np.exp((K - 1) * logG)
        out[:, j] = np.clip(np.trapezoid(f, dx=dt, axis=1), 0.0, 1.0)
    return out


def true_metric(strategy: str, probs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], mu: np.ndarray,
                ks: np.ndarray) -> np.ndarray:
    """Exact per-problem accuracy ``(P, len(ks))`` of ``strategy`` at each K for the given answer distributions."""
    p, q, s, a = probs
    ks = np.asarray(ks, dtype=np.int64)
    if strategy == "pass":
        return 1.0 - (1.0 - p[:, None]) ** ks[None, :]
    if strategy == "maj":
        return _maj_exact(p, q, s, a, ks)
    if strategy == "bok":
        return _bok_exact(p, mu, ks)
    raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")


# ---- a run ------------------------------------------------------------------------------------------------
@dataclass
class SyntheticRun:
    """One synthetic training run with its truth.

    ``xs`` float64 ``(C,)`` normalised compute of the checkpoints (``xs[-1] == 1``); ``abilities`` ``(C,)``;
    ``truth`` float64 ``(C, n)``: the population accuracy of ``strategy`` at K = 1..n at every checkpoint
    (``truth[:, 0]`` is the single-sample accuracy; ``truth[-1, 0]`` is the full run's, the target).
    :meth:`evaluate` draws the evaluation of checkpoint ``i`` (seeded, independent of the order of calls).
    """

    family: str
    strategy: str
    seed: int
    xs: np.ndarray
    abilities: np.ndarray
    eval_problems: Problems
    num_samples: int
    truth: np.ndarray
    _seed_seq: np.random.SeedSequence = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def target(self) -> float:
        return float(self.truth[-1, 0])

    def evaluate(self, i: int) -> dict[str, np.ndarray]:
        """``answers`` int64 ``(P, n)`` (0 correct, 1 distractor, >= 2 fresh answers, -1 abstention),
        ``correct`` bool ``(P, n)``, ``scores`` float64 ``(P, n)`` (verifier)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 7, i]))
        p, q, s, a = problem_probs(self.eval_problems, float(self.abilities[i]))
        P, n = p.shape[0], self.num_samples
        u = rng.random((P, n))
        c1, c2, c3 = p[:, None], (p + q)[:, None], (p + q + s)[:, None]
        answers = np.where(u < c1, 0, np.where(u < c2, 1, np.where(u < c3, 2 + np.arange(n)[None, :], -1)))
        correct = answers == 0
        scores = rng.normal(0.0, 1.0, (P, n)) + correct * self.eval_problems.mu[:, None]
        return {"answers": answers.astype(np.int64), "correct": correct, "scores": scores}


def checkpoint_schedule(num_checkpoints: int, spacing: str = "even") -> np.ndarray:
    """Normalised compute ``x`` of each checkpoint, float64 ``(num_checkpoints,)``, the last at 1: ``"even"``
    ``x_i = i / num_checkpoints`` (an evaluation every so many steps), ``"log"`` evenly spaced in log compute from
    x = 0.01 (dense early evaluations, as in Pythia's checkpoints)."""
    if spacing == "even":
        return np.arange(1, num_checkpoints + 1) / num_checkpoints
    if spacing == "log":
        return np.geomspace(0.01, 1.0, num_checkpoints)
    raise ValueError(f"spacing must be one of {', '.join(SPACINGS)}, got {spacing!r}")


def resolve_family(family: str | Family) -> Family:
    """A :class:`Family`; the one of :data:`FAMILIES` of that name; or your own named ``"module:attr"`` or
    ``"path/to/file.py:attr"`` (a module-level :class:`Family`: ``ttc-fast bench-decision --families
    my_families.py:cosine``). ValueError names what is accepted."""
    if isinstance(family, str) and ":" in family:
        family = _import_family(family)
    if isinstance(family, Family):
        if not isinstance(family.name, str) or not family.name or not callable(family.curve):
            raise ValueError(f"a Family needs a non-empty name and a callable curve, got {family!r}")
        return family
    if not isinstance(family, str) or family not in FAMILIES:
        raise ValueError(f"family must be a Family, 'module:attr' or 'file.py:attr' of one, or one of "
                         f"{', '.join(FAMILIES)}; got {family!r}")
    return FAMILIES[family]


def _import_family(spec: str) -> Family:
    where, _, attr = spec.rpartition(":")
    try:
        if where.endswith(".py"):
            name = "ttc_fast_families_" + "".join(ch if ch.isalnum() else "_" for ch in os.path.abspath(where))
            module = sys.modules.get(name)
            if module is None:
                loader = importlib.util.spec_from_file_location(name, where)
                if loader is None or not os.path.isfile(where):
                    raise FileNotFoundError(f"no file {where!r}")
                module = importlib.util.module_from_spec(loader)
                sys.modules[name] = module            # worker processes find its functions by this name
                loader.loader.exec_module(module)     # type: ignore[union-attr]
        else:
            module = importlib.import_module(where)
    except (ImportError, OSError) as e:
        raise ValueError(f"family {spec!r}: cannot load {where!r} ({e})") from None
    obj = getattr(module, attr, None)
    if not isinstance(obj, Family):
        raise ValueError(f"family {spec!r}: {attr!r} of {where!r} must be a ttc_fast.decision_bench.Family, got "
                         f"{type(obj).__name__}")
    return replace(obj, origin=f"{os.path.abspath(where)}:{attr}") if where.endswith(".py") else obj


def make_run(family: str | Family, strategy: str, seed: int, *, num_problems: int = 200, num_samples: int = 16,
             num_checkpoints: int = 30, population: int = 1000, spacing: str = "even") -> SyntheticRun:
    """A seeded synthetic run of ``family`` (a name of :data:`FAMILIES` or your own :class:`Family`) judged with
    ``strategy``; checkpoints at :func:`checkpoint_schedule` (``spacing``); truth on ``population`` problems
    (K = 1..num_samples). A run is a function of (family name, strategy, seed) and the sizes."""
    fam = resolve_family(family)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    for name, v, lo in (("num_problems", num_problems, 2), ("num_samples", num_samples, 1),
                        ("num_checkpoints", num_checkpoints, 2), ("population", population, 10)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= 10 ** 6:
            raise ValueError(f"{name} must be an int in [{lo}, 1e6], got {v!r}")
    xs = checkpoint_schedule(int(num_checkpoints), spacing)
    ss = np.random.SeedSequence([seed, sum(map(ord, fam.name)), sum(map(ord, strategy))])
    rng = np.random.default_rng(ss)
    curve = fam.curve(rng)
    ceil = rng.uniform(0.9, 1.0)
    jitter = rng.uniform(0.0, 0.08)
    a = np.asarray(curve(xs), dtype=np.float64)
    if a.shape not in ((), xs.shape) or not np.all(np.isfinite(a)):
        raise ValueError(f"family {fam.name!r}: its curve(rng)(x) must give finite abilities, one per x (shape "
                         f"{xs.shape}) or one number; got shape {a.shape}"
                         + (" with non-finite values" if a.shape in ((), xs.shape) else ""))
    abilities = a + rng.normal(0.0, jitter, xs.size)
    P = num_problems if fam.eval_problems is None else int(rng.integers(fam.eval_problems[0],
                                                                        fam.eval_problems[1] + 1))
    eval_problems = Problems.draw(rng, P, fam.floor, ceil)
    pop = Problems.draw(rng, population, fam.floor, ceil)
    ks = np.arange(1, num_samples + 1)
    truth = np.stack([true_metric(strategy, problem_probs(pop, float(a)), pop.mu, ks).mean(axis=0)
                      for a in abilities])
    return SyntheticRun(fam.name, strategy, int(seed), xs, abilities, eval_problems, num_samples, truth, ss)
