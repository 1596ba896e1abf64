"""Five synthetic families written on 2026-12-02, after the rule and its constants were fixed, to probe it on
shapes it was not developed on (and an example of your own families: `docs/selector.md`, "Your own synthetic
families"). Nothing was set on them. Run (BENCHMARKS.md, "Probe families"):

    F=benchmarks/probe_families.py; ttc-fast bench-decision --families $F:quarter_sine,$F:two_timescale,\
      $F:near_ceiling,$F:overfit_finetune,$F:sqrt_log --seeds 20 --real none --methods exact,known_target,oracle

quarter_sine: a0 + d sin(pi x / 2), flattening exactly at the budget; two_timescale: a fast and a slow
saturation; near_ceiling: saturating near the ceiling (accuracies 0.7-0.95); overfit_finetune: saturates within
1-5% of the budget, then loses ability linearly; sqrt_log: a0 + d sqrt(log(1 + x / x0)), slower than any power.
"""
import numpy as np
from ttc_fast.decision_bench import Family


def _quarter_sine(rng):
    a0, d = rng.uniform(-3, -1.5), rng.uniform(2, 3.5)
    return lambda x: a0 + d * np.sin(0.5 * np.pi * x)


def _two_timescale(rng):
    a0, d1, t1 = rng.uniform(-3, -1.5), rng.uniform(1.0, 2.5), rng.uniform(0.01, 0.05)
    d2, t2 = rng.uniform(0.5, 1.5), rng.uniform(0.3, 1.0)
    return lambda x: a0 + d1 * -np.expm1(-x / t1) + d2 * -np.expm1(-x / t2)


def _near_ceiling(rng):
    a0, d, tau = rng.uniform(0.5, 1.5), rng.uniform(1.5, 3.0), rng.uniform(0.05, 0.3)
    return lambda x: a0 + d * -np.expm1(-x / tau)


def _overfit_finetune(rng):
    a0, d, tau, drop = rng.uniform(-2.5, -1.0), rng.uniform(2.0, 4.0), rng.uniform(0.01, 0.05), rng.uniform(0.2, 0.6)
    return lambda x: a0 + d * -np.expm1(-x / tau) - drop * x


def _sqrt_log(rng):
    a0, d, x0 = rng.uniform(-3, -2), rng.uniform(1.5, 2.5), rng.uniform(0.001, 0.01)
    return lambda x: a0 + d * np.sqrt(np.log1p(x / x0))


quarter_sine = Family("quarter_sine", _quarter_sine, group="probe")
two_timescale = Family("two_timescale", _two_timescale, group="probe")
near_ceiling = Family("near_ceiling", _near_ceiling, group="probe")
overfit_finetune = Family("overfit_finetune", _overfit_finetune, group="probe")
sqrt_log = Family("sqrt_log", _sqrt_log, group="probe")
