"""The decision-quality benchmark: stop rules on runs whose truth is known, side by side.

For every run (a synthetic family of :mod:`~ttc_fast.decision_bench.families` with a strategy, or a real curve of
:mod:`~ttc_fast.decision_bench.real` replayed as an accuracy table) each method is fed the checkpoints in order
and its first stop is judged against the truth:

- **false stop**: the deployed (checkpoint, K*) is truly worse than the full run's single-sample accuracy by more
  than ``tolerance`` (default 1 point). A run without a stop deploys the last checkpoint with K = 1 (no false
  stop, nothing saved).
- **saving**: training FLOPs saved, ``1 - F_stop / budget``; **net**: minus the evaluation FLOPs spent so far.
- **oracle**: the best stop in hindsight: the earliest checkpoint at which some K <= n is truly at least as good
  as the full run with one sample (its saving is what a perfect rule could take).
- **known target**: a diagnostic rule that knows the true final accuracy and keeps the per-checkpoint gate of
  ttc_fast v1 (each K's one-sided lower bound ``A_K - z·se_K`` against it, patience): the share of the oracle's
  saving that a perfect projection alone would reach.

Methods: ``exact`` (ttc_fast's default), ``sigmoid`` (the source paper's procedure), ``naive`` (Lightning-style
patience on single-sample accuracy), ``known_target`` and ``oracle``. Per family (synthetic) and per source
(real) the summary has the false-stop rate, the mean saving, the oracle's mean saving, their ratio (the share
of the oracle's saving taken), the mean K*, the net saving and the median break-even number of queries.
"""
from __future__ import annotations

import math
import pickle
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ttc_fast.decision_bench.families import (CORE_FAMILIES, SPACINGS, STRATEGIES, Family, SyntheticRun,
                                             make_run, resolve_family)
from ttc_fast.decision_bench.real import SOURCES, RealCurve, load_real_curves

__all__ = ["Settings", "Outcome", "Row", "METHODS", "run_synthetic", "run_real", "summarise", "oracle_stop",
           "format_table", "projection_calibration", "synthetic_calibration", "format_calibration"]

METHODS = ("exact", "sigmoid", "naive", "known_target", "oracle")


@dataclass(frozen=True)
class Settings:
    """What the benchmark feeds every rule: the user's settings (patience 3, confidence 0.95 and min_delta 0 by
    default; min_delta goes to the exact and sigmoid rules and to the known target, and a negative one accepts
    that much below the full run) and the FLOP model that turns normalised compute into FLOPs (``spec`` preset,
    ``budget_tokens``, prompt and generation lengths for the evaluation and the inference cost of K)."""

    patience: int = 3
    confidence: float = 0.95
    tolerance: float = 0.01
    min_delta: float = 0.0
    spec: str = "tinyllama"
    budget_tokens: float = 1e12
    prompt_len: int = 300
    gen_len: int = 512
    selector_kwargs: dict[str, Any] = field(default_factory=dict)

    def model(self) -> tuple[Any, float]:
        from ttc_fast.flops import ModelSpec, training_flops
        spec = ModelSpec.preset(self.spec)
        return spec, float(training_flops(spec, self.budget_tokens))


@dataclass(frozen=True)
class Outcome:
    """One (run, method): where it stopped and how that compares with the truth and with the oracle."""

    suite: str                 # "synthetic" | "real"
    group: str                 # family (synthetic) or source (real)
    run: str
    strategy: str
    method: str
    stop_index: int | None
    stop_x: float
    k: int | None
    saving: float
    net_saving: float
    deficit: float             # target - true accuracy of the deployed (checkpoint, K); > tolerance: false stop
    false_stop: bool
    oracle_saving: float
    oracle_k: int
    break_even: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- truth-side helpers -------------------------------------------------------------------------------------
def oracle_stop(xs: np.ndarray, truth: dict[int, np.ndarray], target: float) -> tuple[int, int]:
    """(checkpoint index, K) of the best stop in hindsight: the earliest checkpoint where some K has true
    accuracy >= ``target``; ties in K go to the smallest. The last checkpoint always qualifies with K = 1."""
    ks = sorted(truth)
    for i in range(len(xs)):
        for k in ks:
            if truth[k][i] >= target - 1e-12:
                return i, k
    return len(xs) - 1, 1


def _known_target_stop(est: dict[int, np.ndarray], se: dict[int, np.ndarray], target: float, z: float,
                       patience: int) -> tuple[int | None, int | None]:
    count = 0
    ks = sorted(est)
    C = len(next(iter(est.values())))
    for i in range(C):
        k_ok = next((k for k in ks if est[k][i] - z * se[k][i] >= target), None)
        count = count + 1 if k_ok is not None else 0
        if k_ok is not None and count >= max(patience, 1):
            return i, k_ok
    return None, None


# ---- running one method on one run ----------------------------------------------------------------------------
def _stopper(method: str, strategy: str, settings: Settings, budget: float, spec: Any):
    from ttc_fast.selector import NaiveEarlyStopping, TTCEarlyStopping
    if method == "naive":
        return NaiveEarlyStopping(patience=settings.patience, budget_flops=budget)
    kw = dict(settings.selector_kwargs) if method == "exact" else {}
    kw.setdefault("min_delta", settings.min_delta)
    return TTCEarlyStopping(budget, strategy=strategy, patience=settings.patience, method=method,
                            confidence=settings.confidence, spec=spec, prompt_len=settings.prompt_len,
                            gen_len=settings.gen_len, **kw)


def _outcome(suite: str, group: str, run: str, strategy: str, method: str, xs: np.ndarray,
             truth: dict[int, np.ndarray], target: float, stop: int | None, k: int | None, settings: Settings,
             eval_fraction_per_ckpt: float, extra_per_query: Any) -> Outcome:
    oi, ok = oracle_stop(xs, truth, target)
    if stop is None:
        x, kk, saving, deficit = 1.0, None, 0.0, 0.0
        spent = eval_fraction_per_ckpt * len(xs)
    else:
        x, kk = float(xs[stop]), k
        saving = 1.0 - x
        if kk in truth:
            deficit = target - float(truth[kk][stop])
        else:  # a K the truth table lacks (real curves: only the published Ks): judge the nearest below
            below = [q for q in truth if q <= (kk or 1)]
            deficit = target - float(truth[max(below)][stop]) if below else math.inf
        spent = eval_fraction_per_ckpt * (stop + 1)
    be = math.nan
    if stop is not None and kk is not None and saving > 0:
        extra = extra_per_query(kk)
        be = math.inf if extra == 0 else saving / extra
    return Outcome(suite, group, run, strategy, method, stop, x, kk, saving, saving - spent, deficit,
                   bool(stop is not None and deficit > settings.tolerance), 1.0 - float(xs[oi]), ok, be)


def _eval_cost(settings: Settings, spec: Any, budget: float, num_problems: int, n: int) -> tuple[float, Any]:
    from ttc_fast.flops import inference_flops
    per = float(inference_flops(spec, settings.prompt_len, settings.gen_len, n)) * num_problems
    one = float(inference_flops(spec, settings.prompt_len, settings.gen_len, 1))

    def extra(k: int) -> float:   # extra inference FLOPs of K samples per query, as a fraction of the budget
        return (float(inference_flops(spec, settings.prompt_len, settings.gen_len, k)) - one) / budget
    return per / budget, extra


def run_synthetic_one(run: SyntheticRun, methods: Sequence[str], settings: Settings) -> list[Outcome]:
    """Every method of ``methods`` on one synthetic run."""
    spec, budget = settings.model()
    truth = {k: run.truth[:, k - 1] for k in range(1, run.num_samples + 1)}
    evals = [run.evaluate(i) for i in range(len(run.xs))]
    frac, extra = _eval_cost(settings, spec, budget, run.eval_problems.difficulty.size, run.num_samples)
    name = f"{run.family}/{run.strategy}/seed{run.seed}"
    out = []
    for method in methods:
        stop, k = None, None
        if method == "oracle":
            stop, k = oracle_stop(run.xs, truth, run.target)
        elif method == "known_target":
            from scipy.stats import norm

            from ttc_fast.selector.ttc import ttc_curve
            est, se = {}, {}
            cur = [ttc_curve(run.strategy, e["answers"], e["correct"], e["scores"], list(truth), 0) for e in evals]
            for k_ in truth:
                est[k_] = np.array([c[0][k_ - 1] for c in cur])
                se[k_] = np.array([c[1][k_ - 1] for c in cur])
            stop, k = _known_target_stop(est, se, run.target + settings.min_delta,
                                         float(norm.ppf(settings.confidence)), settings.patience)
        else:
            st = _stopper(method, run.strategy, settings, budget, spec)
            for i, e in enumerate(evals):
                kw = ({"correct": e["correct"], "answers": e["answers"]} if method == "naive" else
                      {"answers": e["answers"], "correct": e["correct"], "scores": e["scores"]})
                d = st.update(step=i + 1, train_flops=float(run.xs[i] * budget), **kw)
                if d.should_stop:
                    stop, k = i, d.k if d.k is not None else 1
                    break
        out.append(_outcome("synthetic", run.family, name, run.strategy, method, run.xs, truth, run.target,
                            stop, k, settings, frac, extra))
    return out


def run_real_one(curve: RealCurve, methods: Sequence[str], settings: Settings) -> list[Outcome]:
    """Every method of ``methods`` on one real curve (accuracy tables; ``pass`` strategy: the RL curves'
    K > 1 columns are pass@K, single-sample curves have K = 1 only)."""
    spec, budget = settings.model()
    frac, extra = 0.0, _eval_cost(settings, spec, budget, 1, 1)[1]  # no samples drawn: the tables are given
    out = []
    for method in methods:
        stop, k = None, None
        if method == "oracle":
            stop, k = oracle_stop(curve.xs, curve.table, curve.target)
        elif method == "known_target":
            from scipy.stats import norm
            stop, k = _known_target_stop(curve.table, curve.stderr, curve.target + settings.min_delta,
                                         float(norm.ppf(settings.confidence)), settings.patience)
        else:
            st = _stopper(method, "pass", settings, budget, spec)
            for i in range(len(curve.xs)):
                acc, se = curve.accuracy(i)
                if method == "naive":
                    d = st.update(step=int(curve.steps[i]), train_flops=float(curve.xs[i] * budget),
                                  accuracy=acc[1])
                else:
                    d = st.update(step=int(curve.steps[i]), train_flops=float(curve.xs[i] * budget),
                                  accuracy=acc, accuracy_stderr=se)
                if d.should_stop:
                    stop, k = i, d.k if d.k is not None else 1
                    break
        out.append(_outcome("real", curve.source, curve.name, "pass", method, curve.xs, curve.table,
                            curve.target, stop, k, settings, frac, extra))
    return out


def _synthetic_job(args: tuple[Family, str, int, dict[str, Any], tuple[str, ...], Settings]) -> list[Outcome]:
    family, strategy, seed, sizes, methods, settings = args
    return run_synthetic_one(make_run(family, strategy, seed, **sizes), methods, settings)


def _real_job(args: tuple[RealCurve, tuple[str, ...], Settings]) -> list[Outcome]:
    return run_real_one(*args)


def _map(fn: Any, jobs: list[Any], workers: int, progress: bool) -> list[Any]:
    """``fn`` over ``jobs`` (in processes when ``workers`` > 1), its lists concatenated in job order."""
    from tqdm.auto import tqdm
    out: list[Any] = []
    if workers <= 1:
        for j in tqdm(jobs, disable=not progress, leave=False, desc="bench-decision"):
            out.extend(fn(j))
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    # not fork: a process forked after OpenMP ran (the C++ estimators) hangs in its first parallel region
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                                      else "spawn")
    ex = ProcessPoolExecutor(workers, mp_context=ctx)
    try:
        for res in tqdm(ex.map(fn, jobs, chunksize=1), total=len(jobs), disable=not progress, leave=False,
                        desc="bench-decision"):
            out.extend(res)
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM via the CLI) or a job failed: drop the jobs not started and end the
        # workers now instead of running the rest of the queue (what leaving the executor's `with` would do)
        workers_now = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=False, cancel_futures=True)
        for proc in workers_now:
            proc.terminate()
        for proc in workers_now:
            proc.join(timeout=5.0)
        raise
    ex.shutdown()
    return out


def _families(families: Iterable[str | Family] | None, workers: int) -> list[Family]:
    """The families by name or as given (:func:`~ttc_fast.decision_bench.families.resolve_family`), checked that
    worker processes can be sent them."""
    fams = [resolve_family(f) for f in (CORE_FAMILIES if families is None else families)]
    names = [f.name for f in fams]
    if len(set(names)) < len(names):
        raise ValueError(f"families named twice: {sorted({n for n in names if names.count(n) > 1})}")
    if workers > 1:
        for f in fams:
            try:
                pickle.dumps(f)
            except Exception as e:   # a lambda or a local function: not importable in a worker
                raise ValueError(f"family {f.name!r}: its curve cannot be sent to worker processes ({e}); define "
                                 f"it at module level or use workers=1") from None
    return fams


def run_synthetic(families: Iterable[str | Family] | None = None, strategies: Iterable[str] | None = None,
                  seeds: Iterable[int] = range(10), methods: Sequence[str] = METHODS,
                  settings: Settings | None = None, *, num_problems: int = 200, num_samples: int = 16,
                  num_checkpoints: int = 30, population: int = 1000, spacing: str = "even", workers: int = 1,
                  progress: bool = False) -> list[Outcome]:
    """Outcomes of ``methods`` on every (family, strategy, seed); ``families`` None: the core families
    (:data:`~ttc_fast.decision_bench.families.CORE_FAMILIES`, the stress and held-out families left out); sizes and
    ``spacing`` (of the checkpoints) as in :func:`~ttc_fast.decision_bench.families.make_run`; a family by name,
    as a :class:`~ttc_fast.decision_bench.families.Family` or as ``"file.py:attr"``. ``workers`` > 1: processes
    started by a fork server (not forked from this one, whose OpenMP threads would hang them), so a script that
    calls this needs the ``if __name__ == "__main__":`` guard."""
    settings = settings or Settings()
    fams = _families(families, workers)
    strats = list(STRATEGIES if strategies is None else strategies)
    for s in strats:
        if s not in STRATEGIES:
            raise ValueError(f"unknown strategy {s!r}; accepted: {', '.join(STRATEGIES)}")
    _check_methods(methods)
    if spacing not in SPACINGS:
        raise ValueError(f"unknown spacing {spacing!r}; accepted: {', '.join(SPACINGS)}")
    sizes = dict(num_problems=num_problems, num_samples=num_samples, num_checkpoints=num_checkpoints,
                 population=population, spacing=spacing)
    jobs = [(f, s, int(seed), sizes, tuple(methods), settings) for f in fams for s in strats for seed in seeds]
    return _map(_synthetic_job, jobs, workers, progress)


def run_real(sources: Iterable[str] | None = None, methods: Sequence[str] = METHODS,
             settings: Settings | None = None, *, workers: int = 1, progress: bool = False,
             curves: list[RealCurve] | None = None) -> list[Outcome]:
    """Outcomes of ``methods`` on the real curves of ``sources`` (or the given ``curves``)."""
    settings = settings or Settings()
    _check_methods(methods)
    cs = curves if curves is not None else load_real_curves(tuple(SOURCES if sources is None else sources))
    return _map(_real_job, [(c, tuple(methods), settings) for c in cs], workers, progress)


def _check_methods(methods: Sequence[str]) -> None:
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"unknown method(s) {bad}; accepted: {', '.join(METHODS)}")


# ---- summaries ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    suite: str
    group: str
    method: str
    runs: int
    false_stops: int
    false_stop_rate: float
    mean_saving: float
    oracle_saving: float
    share_of_oracle: float
    mean_k: float
    net_saving: float
    median_break_even: float


def summarise(outcomes: Sequence[Outcome], by: str = "group") -> list[Row]:
    """One row per (suite, group, method) (``by="group"``) or per (suite, method) (``by="suite"``)."""
    groups: dict[tuple[str, str, str], list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[(o.suite, o.group if by == "group" else "all", o.method)].append(o)
    rows = []
    for (suite, group, method), os_ in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                                                                METHODS.index(kv[0][2]))):
        sav = float(np.mean([o.saving for o in os_]))
        orc = float(np.mean([o.oracle_saving for o in os_]))
        ks = [o.k for o in os_ if o.k is not None and o.stop_index is not None]
        bes = [o.break_even for o in os_ if not math.isnan(o.break_even)]
        fs = sum(o.false_stop for o in os_)
        rows.append(Row(suite, group, method, len(os_), fs, fs / len(os_), sav, orc,
                        sav / orc if orc > 0 else math.nan, float(np.mean(ks)) if ks else math.nan,
                        float(np.mean([o.net_saving for o in os_])),
                        float(statistics.median(bes)) if bes else math.nan))
    return rows


def format_table(rows: Sequence[Row]) -> str:
    """A markdown table of :func:`summarise` rows."""
    head = ("| suite | family / source | method | runs | false stops | mean saving | oracle saving | "
            "share of oracle | mean K* | net saving | median break-even |")
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        be = "-" if math.isnan(r.median_break_even) else ("inf" if math.isinf(r.median_break_even)
                                                          else f"{r.median_break_even:.2e}")
        lines.append(f"| {r.suite} | {r.group} | {r.method} | {r.runs} | {r.false_stops} "
                     f"({100 * r.false_stop_rate:.0f}%) | {100 * r.mean_saving:.1f}% | {100 * r.oracle_saving:.1f}% | "
                     f"{'-' if math.isnan(r.share_of_oracle) else f'{100 * r.share_of_oracle:.0f}%'} | "
                     f"{'-' if math.isnan(r.mean_k) else f'{r.mean_k:.1f}'} | {100 * r.net_saving:.1f}% | {be} |")
    return "\n".join(lines)


# ---- calibration of the projection on real curves and synthetic runs ----------------------------------------------
@dataclass(frozen=True)
class CalibrationRow:
    source: str
    curves: int
    projections: int
    nominal: tuple[float, ...]
    covered: tuple[float, ...]


def _coverage(x: np.ndarray, y: np.ndarray, s: np.ndarray, final: float, levels: Sequence[float], start: float,
              step_hazard: float | None, gain_hazard: float | None, calibrate: bool) -> list[list[bool]]:
    """For every prefix of (x, y, s) ending at or after ``start`` of the checkpoints (the last one excluded):
    whether each ``levels``-quantile of the projection from it is at or above ``final``."""
    from ttc_fast.selector.projection import project
    cache: dict = {}
    out = []
    for j in range(max(3, math.ceil(len(x) * start)), len(x)):
        pr = project(x[:j], y[:j], s[:j], calibrate=calibrate, step_hazard=step_hazard or 0.0,
                     gain_hazard=gain_hazard or 0.0, cache=cache)
        out.append([bool(final <= pr.quantile(q)) for q in levels])
    return out


def _rows(per: dict[str, list[list[bool]]], count: dict[str, set[str]],
          levels: Sequence[float]) -> list[CalibrationRow]:
    rows = []
    for key in sorted(per, key=lambda k: (k == "all", k)):
        arr = np.array(per[key], dtype=float).reshape(-1, len(levels))
        rows.append(CalibrationRow(key, len(count[key]), arr.shape[0], tuple(levels), tuple(arr.mean(axis=0))))
    return rows


def projection_calibration(sources: Iterable[str] | None = None, levels: Sequence[float] = (0.8, 0.9, 0.95), *,
                           start: float = 1 / 3, step_hazard: float | None = None,
                           gain_hazard: float | None = None, calibrate: bool = True,
                           curves: list[RealCurve] | None = None) -> list[CalibrationRow]:
    """How often the projection's one-sided bounds cover the real final single-sample accuracy.

    For every real curve and every prefix ending at or after ``start`` of its checkpoints (the last one
    excluded), the projection from the prefix (:func:`ttc_fast.selector.projection.project`; the step and
    late-gain hazards left out unless ``step_hazard``/``gain_hazard`` are given) gives its ``levels``-quantiles;
    a bound covers when the final published value is at or below it. One row per source and a pooled row
    ``"all"``.
    """
    cs = curves if curves is not None else load_real_curves(tuple(SOURCES if sources is None else sources))
    per: dict[str, list[list[bool]]] = defaultdict(list)
    count: dict[str, set[str]] = defaultdict(set)
    for c in cs:
        hits = _coverage(c.xs, c.table[1], c.stderr[1], float(c.table[1][-1]), levels, start, step_hazard,
                         gain_hazard, calibrate)
        for key in (c.source, "all"):
            per[key].extend(hits)
            count[key].add(c.name)
    return _rows(per, count, levels)


def _calibration_job(args: tuple[Family, str, int, dict[str, Any], tuple[float, ...], float, float | None,
                                 float | None, bool]) -> list[tuple[str, list[list[bool]]]]:
    family, strategy, seed, sizes, levels, start, step_hazard, gain_hazard, calibrate = args
    run = make_run(family, strategy, seed, **sizes)
    y, s = np.empty(run.xs.size), np.empty(run.xs.size)
    for i in range(run.xs.size):
        c = run.evaluate(i)["correct"].mean(axis=1)          # per-problem single-sample accuracy
        y[i], s[i] = c.mean(), c.std(ddof=1) / math.sqrt(c.size)
    return [(run.family, _coverage(run.xs, y, s, run.target, levels, start, step_hazard, gain_hazard,
                                       calibrate))]


def synthetic_calibration(families: Iterable[str | Family] | None = None, seeds: Iterable[int] = range(10),
                          levels: Sequence[float] = (0.8, 0.9, 0.95), *, strategy: str = "maj",
                          start: float = 1 / 3, step_hazard: float | None = None,
                          gain_hazard: float | None = None, calibrate: bool = True, num_problems: int = 200,
                          num_samples: int = 16, num_checkpoints: int = 30, population: int = 1000,
                          spacing: str = "even", workers: int = 1, progress: bool = False) -> list[CalibrationRow]:
    """:func:`projection_calibration` on synthetic runs: the truth is the full run's single-sample accuracy on
    the population (what the stop rule compares with), the projection is fed the evaluation's single-sample
    accuracy and its stderr over problems. One row per family (``curves`` = runs) and a pooled row ``"all"``."""
    fams = _families(families, workers)
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; accepted: {', '.join(STRATEGIES)}")
    sizes = dict(num_problems=num_problems, num_samples=num_samples, num_checkpoints=num_checkpoints,
                 population=population, spacing=spacing)
    jobs = [(f, strategy, int(seed), sizes, tuple(levels), start, step_hazard, gain_hazard, calibrate)
            for f in fams for seed in seeds]
    per: dict[str, list[list[bool]]] = defaultdict(list)
    count: dict[str, set[str]] = defaultdict(set)
    for (family, hits), job in zip(_map(_calibration_job, jobs, workers, progress), jobs):
        for key in (family, "all"):
            per[key].extend(hits)
            count[key].add(f"{family}/{job[2]}")
    return _rows(per, count, levels)


def format_calibration(rows: Sequence[CalibrationRow], label: str = "source") -> str:
    """A markdown table of :func:`projection_calibration` (``label`` "source") or :func:`synthetic_calibration`
    (``label`` "family": its ``curves`` are runs) rows."""
    levels = rows[0].nominal if rows else ()
    unit = "runs" if label == "family" else "curves"
    head = (f"| {label} | {unit} | projections | " + " | ".join(f"{100 * q:.0f}% bound covers" for q in levels)
            + " |")
    lines = [head, "|" + "---|" * (3 + len(levels))]
    for r in rows:
        lines.append(f"| {r.source} | {r.curves} | {r.projections} | "
                     + " | ".join(f"{100 * v:.1f}%" for v in r.covered) + " |")
    return "\n".join(lines)
