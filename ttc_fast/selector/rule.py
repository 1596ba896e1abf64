"""The stop rule: :class:`TTCEarlyStopping`, fed after every evaluation, answers with a :class:`Decision`.

Units: training and inference compute in FLOPs (one multiply-add = 2 FLOPs); accuracies are fractions in
[0, 1]; K counts samples per query, aggregated by ``strategy``; x = training FLOPs / budget.

``method="exact"`` (default), ttc_fast's rule (docs/selector.md):

1. The checkpoint's TTC curve for every K = 1..min(n, k_max) exactly (unbiased estimators, stderr over
   problems; :mod:`~ttc_fast.selector.ttc`).
2. The full run's single-sample accuracy A(1) projected from every finite single-sample point so far
   (:mod:`~ttc_fast.selector.projection`): a predictive distribution on [0, 1] that includes model error, so a
   curve that may still rise, saturate or step up is projected with the uncertainty that ambiguity deserves.
3. For each K, the probability that the checkpoint with K samples is at least as accurate as the full run,
   ``P_K = P(A_K >= A(1) + min_delta)``, integrating the estimate's normal error (truncated to [0, 1]) over
   the projection's distribution. Because no accuracy exceeds 1, a TTC accuracy near 100% qualifies against
   any projection.
4. Evidence and patience: K qualifies at level ``1 - alpha`` (alpha = 1 - ``confidence``); the run stops when
   r consecutive evaluations have qualified and the current one reaches level ``1 - alpha^(p / r)``
   (p = max(patience, 1), r <= p) -- p borderline confirmations in a row, or fewer that are as strong as p of
   them together (a single one at ``1 - alpha^p``). ``patience_mode="count"`` requires p in a row (Lightning).
5. The deployed K is the smallest K (the cheapest to serve) that reaches the level now, qualified at each of
   the r - 1 evaluations before (the smallest K at the level at one evaluation is the luckiest estimate; every
   evaluation of the run must confirm it) and for which the FLOPs condition holds: ``F_t + Q·ΔC(K) < budget``
   (Q = ``expected_queries``, 0 when unknown; :mod:`~ttc_fast.selector.cost`).

``method="sigmoid"``: the source paper's procedure unchanged (:mod:`~ttc_fast.selector.paper`): the strict
monotone filter, the exponential-saturation fit over the kept points, a sigmoid over K = 1, 2, 4 for K*, the
FLOPs condition and ``patience`` consecutive qualifying evaluations.

``check_finite=True``: a non-finite single-sample accuracy makes the evaluation non-qualifying (count reset,
point left out of the projection); ``False``: such an evaluation is skipped (count unchanged).
"""
from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ttc_fast.selector import journal as _journal
from ttc_fast.selector.cost import InferenceCost, savings
from ttc_fast.selector.paper import SIGMOID_K_MAX, SIGMOID_KS, fit_saturation, fit_sigmoid, sigmoid, sigmoid_k_star
from ttc_fast.selector.projection import GAIN_HAZARD, STEP_HAZARD, Projection, project
from ttc_fast.selector.ttc import summarise
from ttc_fast.selector.types import (METHODS, STRATEGIES, Decision, HistoryEntry, Reason, check_int,
                                     check_number)

PATIENCE_MODES = ("evidence", "count")
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(20)   # E[f(Z)] = sum w f(sqrt2 x) / sqrt(pi), Z ~ N(0, 1)


def probability_at_least(projection: Projection, accuracy: np.ndarray, stderr: np.ndarray,
                         margin: float = 0.0) -> np.ndarray:
    """``P(A_K >= A(1) + margin)`` for each K: ``A_K ~ N(accuracy, stderr^2)`` truncated to [0, 1] (stderr 0:
    the value itself), ``A(1)`` from ``projection``. ``accuracy``/``stderr`` float ``(K,)``; returns ``(K,)``."""
    acc = np.asarray(accuracy, dtype=np.float64)[:, None]
    se = np.nan_to_num(np.asarray(stderr, dtype=np.float64), nan=0.0)[:, None]
    a = np.clip(acc + math.sqrt(2.0) * se * _GH_X[None, :], 0.0, 1.0)
    return np.sum(_GH_W * projection.cdf(a - margin), axis=1) / math.sqrt(math.pi)


class TTCEarlyStopping:
    """TTC-aware early stopping; feed it after every evaluation with :meth:`update`.

    Args:
        budget_flops: training FLOPs of the full run (the budget the projection targets).
        strategy: "maj" (majority vote, deployable), "pass" (pass@K, needs an oracle at deployment), "bok"
            (best-of-K by verifier score), "wmaj" (score-weighted vote, Monte Carlo estimate).
        k_max: largest K considered (default: n samples for "exact", 1024 for "sigmoid").
        patience: evaluations of evidence before stopping (0 and 1: the first qualifying one); see
            ``patience_mode``.
        method: "exact" (ttc_fast) or "sigmoid" (the source paper).
        confidence: probability the deployed (checkpoint, K) must have of being at least as accurate as the
            full run ("exact"); None means 0.5 (a point comparison).
        min_delta: accuracy the deployed K must exceed the full run's by (fraction; negative: a tolerance).
        mode: "max" only (TTC accuracy is maximised; :class:`NaiveEarlyStopping` takes "min").
        check_finite: see the module docstring.
        min_points: fewest checkpoints (at distinct FLOPs > 0) before projecting (>= 3).
        patience_mode: "evidence" (default for "exact": strong evidence needs fewer evaluations) or "count"
            (p consecutive qualifying evaluations; always for "sigmoid").
        calibrate: scale the projection's variance by its backtests on the curve's own past ("exact").
        step_hazard: rate (per e-fold of training compute still to come) at which a curve that has not risen yet
            may still step up (emergence, late blooming): the stop rule's guard for flat histories ("exact";
            0: trust a flat curve to stay flat).
        gain_hazard: rate (per e-fold of training compute still to come) of a late gain of 0.5 logits at the
            budget on top of any curve (a learning-rate cooldown or decay, a second data stage), the rule's guard
            for gains that the curve so far does not foretell ("exact"; 0: trust the curve's shape to the end).
            ``projected_accuracy``/``projected_stderr`` leave both hazards out; ``projected_upper`` and
            ``probability`` include them.
        spec, prompt_len, gen_len, convention: FLOP model of inference (a ttc_fast.ModelSpec; tokens per prompt
            and per sample); or ``inference_flops_per_sample`` (FLOPs of one more sample for a query).
        expected_queries: queries the deployed model will serve (the FLOPs condition; None: not charged).
        eval_flops_per_update: FLOPs of one evaluation; None: from the inference cost (all samples drawn), else 0.
        journal: path of a JSONL journal: every update is appended (fsync'ed); an existing journal written with
            the same settings is resumed (:mod:`~ttc_fast.selector.journal`).
        resume: "check" (default: a re-sent evaluation for a journaled step must be the one journaled, else
            ValueError) or "force" (trust the journal's evaluations without checking).
        seed: Monte Carlo seed of the "wmaj" estimator.
    """

    def __init__(self, budget_flops: float, strategy: str = "maj", k_max: int | None = None, patience: int = 3,
                 method: str = "exact", confidence: float | None = 0.95, min_delta: float = 0.0,
                 mode: str = "max", check_finite: bool = True, min_points: int = 3,
                 patience_mode: str | None = None, calibrate: bool = True, step_hazard: float = STEP_HAZARD,
                 gain_hazard: float = GAIN_HAZARD,
                 spec: Any = None,
                 prompt_len: int | None = None, gen_len: int | None = None,
                 inference_flops_per_sample: float | None = None, expected_queries: float | None = None,
                 eval_flops_per_update: float | None = None, journal: str | os.PathLike | None = None,
                 resume: str = "check", convention: str = "kaplan", seed: int = 0) -> None:
        self.budget_flops = check_number(budget_flops, "budget_flops", 0.0, lo_open=True)
        for name, value, allowed in (("strategy", strategy, STRATEGIES), ("method", method, METHODS),
                                     ("resume", resume, ("check", "force")),
                                     ("patience_mode", patience_mode, PATIENCE_MODES + (None,))):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
        if mode != "max":
            raise ValueError(f"mode must be 'max' (TTC accuracy is maximised; NaiveEarlyStopping takes 'min'), "
                             f"got {mode!r}")
        self.k_max = None if k_max is None else check_int(k_max, "k_max", 1)
        self.patience = check_int(patience, "patience", 0)
        self.min_points = check_int(min_points, "min_points", 3)
        self.confidence = check_number(confidence, "confidence", 0.0, 1.0, lo_open=True, hi_open=True, none=True)
        self.min_delta = check_number(min_delta, "min_delta", -1.0, 1.0)
        check_number(inference_flops_per_sample, "inference_flops_per_sample", 0.0, none=True)
        check_number(expected_queries, "expected_queries", 0.0, none=True)
        check_number(eval_flops_per_update, "eval_flops_per_update", 0.0, none=True)
        if (prompt_len is None) != (gen_len is None):
            raise ValueError("prompt_len and gen_len go together")
        if prompt_len is not None:
            check_int(prompt_len, "prompt_len", 0)
            check_int(gen_len, "gen_len", 1)
            if spec is None:
                raise ValueError("prompt_len/gen_len need spec (a ttc_fast.ModelSpec) to count inference FLOPs")
            if inference_flops_per_sample is not None:
                raise ValueError("give either spec/prompt_len/gen_len or inference_flops_per_sample, not both")
        self.strategy, self.method, self.mode, self.resume = strategy, method, mode, resume
        self.patience_mode = "count" if method == "sigmoid" else (patience_mode or "evidence")
        self.check_finite, self.calibrate = bool(check_finite), bool(calibrate)
        self.step_hazard = check_number(step_hazard, "step_hazard", 0.0, 10.0)
        self.gain_hazard = check_number(gain_hazard, "gain_hazard", 0.0, 10.0)
        self.spec, self.prompt_len, self.gen_len, self.convention = spec, prompt_len, gen_len, convention
        self.inference_flops_per_sample = inference_flops_per_sample
        self.cost = InferenceCost(spec, prompt_len, gen_len, inference_flops_per_sample, convention)
        self.expected_queries = expected_queries
        if expected_queries and not self.cost.known:
            raise ValueError("expected_queries needs an inference cost: spec/prompt_len/gen_len or "
                             "inference_flops_per_sample")
        self.eval_flops_per_update = eval_flops_per_update
        self.seed = check_int(seed, "seed")
        self.history: list[HistoryEntry] = []
        self.decision: Decision | None = None
        self._count = 0
        self._eval_total = 0.0
        self._backtests: dict = {}  # the projection's backtests, each computed once
        self.journal = None if journal is None else os.fspath(journal)
        if self.journal is not None:
            _journal.open_journal(self)

    def config(self) -> dict[str, Any]:
        """The settings that determine every decision (the journal's header)."""
        spec = None
        if self.spec is not None:
            spec = dataclasses.asdict(self.spec) if dataclasses.is_dataclass(self.spec) else repr(self.spec)
        return {"budget_flops": self.budget_flops, "strategy": self.strategy, "method": self.method,
                "k_max": self.k_max, "patience": self.patience, "patience_mode": self.patience_mode,
                "confidence": self.confidence, "min_delta": self.min_delta, "mode": self.mode,
                "check_finite": self.check_finite, "min_points": self.min_points, "calibrate": self.calibrate,
                "step_hazard": self.step_hazard, "gain_hazard": self.gain_hazard,
                "spec": spec, "prompt_len": self.prompt_len, "gen_len": self.gen_len,
                "inference_flops_per_sample": self.inference_flops_per_sample,
                "expected_queries": self.expected_queries, "eval_flops_per_update": self.eval_flops_per_update,
                "convention": self.convention, "seed": self.seed}

    # -- public API
    def update(self, *, step: int, train_flops: float, answers: Any = None, correct: Any = None,
               scores: Any = None, accuracy: Mapping[Any, Any] | None = None,
               accuracy_stderr: Mapping[Any, Any] | None = None) -> Decision:
        """Feeds one evaluation and returns the decision.

        Args:
            step: training step of the checkpoint (strictly increasing; re-sending a recorded step returns its
                recorded decision after checking that the evaluation is the same one, see ``resume``).
            train_flops: cumulative training FLOPs at the checkpoint (finite, non-decreasing, <= budget).
            answers: int (P, N) answer cluster ids per problem and sample (-1 abstention, -2 padding for ragged
                N), or nested strings/None (clustered by equality). Optional for strategy "pass".
            correct: bool (P, N) correctness per sample.
            scores: float (P, N) verifier scores ("bok", "wmaj").
            accuracy: instead of samples, precomputed accuracy by K, ``{1: 0.31, 2: 0.42}`` or
                ``{"maj": {"1": ...}}`` (fractions in [0, 1]; stderr in the same shape in ``accuracy_stderr``).
        """
        step = check_int(step, "step")
        train_flops = check_number(train_flops, "train_flops", 0.0)
        if train_flops > self.budget_flops * (1 + 1e-9):
            raise ValueError(f"train_flops {train_flops:.4g} exceeds budget_flops {self.budget_flops:.4g}: the "
                             f"budget must be the full run's training FLOPs (wrong units or a wrong budget?)")
        entry, n_i = summarise(step, train_flops, strategy=self.strategy, ks_for=self._ks, answers=answers,
                               correct=correct, scores=scores, accuracy=accuracy, accuracy_stderr=accuracy_stderr,
                               seed=self.seed)
        for h in self.history:
            if h.step == step:
                if self.resume == "check" and h.data_hash and h.data_hash != entry.data_hash:
                    raise ValueError(
                        f"step {step} is already recorded{' in journal ' + self.journal if self.journal else ''} "
                        f"with a different evaluation (content hash {h.data_hash} != {entry.data_hash}): use a "
                        f"new journal path for a new run, or resume='force' to keep the recorded decisions")
                assert h.decision is not None
                return h.decision
        if self.history:
            last = self.history[-1]
            if step < last.step:
                raise ValueError(f"step must increase across updates: got {step} after {last.step}")
            if train_flops < last.train_flops:
                raise ValueError(f"train_flops must not decrease: got {train_flops:g} after {last.train_flops:g}")
        elif 0 < train_flops < 1e-6 * self.budget_flops:
            warnings.warn(f"the first checkpoint is at {train_flops / self.budget_flops:.1e} of budget_flops "
                          f"{self.budget_flops:.3e}: same units?", RuntimeWarning, stacklevel=2)
        entry.eval_flops = (float(self.eval_flops_per_update) if self.eval_flops_per_update is not None
                            else self.cost.evaluation(n_i) if n_i.size else 0.0)
        decision = self._ingest(entry)
        if self.journal is not None:
            _journal.append_line(self.journal, entry.to_record())
        return decision

    def recorded(self, step: int) -> Decision | None:
        """The decision already recorded for ``step`` (this run or a resumed journal), or None. Training-loop
        adapters use it to skip evaluating a checkpoint the journal already holds."""
        step = check_int(step, "step")
        return next((h.decision for h in self.history if h.step == step), None)

    def reset(self) -> None:
        """Forgets all evaluations (the journal file is left alone)."""
        self.history.clear()
        self.decision = None
        self._count = 0
        self._eval_total = 0.0
        self._backtests.clear()

    # -- the rule (deterministic given the summaries: replaying the journal re-runs exactly this)
    def _ks(self, n_min: int) -> list[int]:
        if self.method == "sigmoid":
            return [k for k in SIGMOID_KS if k <= n_min]
        return list(range(1, (n_min if self.k_max is None else min(n_min, self.k_max)) + 1))

    def _ingest(self, entry: HistoryEntry) -> Decision:
        self._eval_total += entry.eval_flops  # the samples were drawn either way: charge them
        finite = math.isfinite(entry.acc1)
        entry.kept = finite
        self.history.append(entry)
        if not finite:
            skip = not self.check_finite
            self._count = self._count if skip else 0
            text = ("non-finite single-sample accuracy: evaluation skipped (check_finite=False; patience "
                    "unchanged)" if skip else "non-finite single-sample accuracy (check_finite): not "
                    "qualifying, patience reset")
            return self._decide(entry, Reason.NON_FINITE, text, stop_allowed=False)
        if self.method == "sigmoid":
            return self._ingest_sigmoid(entry)
        pts = [h for h in self.history if h.kept and h.train_flops > 0]
        pts = [h for i, h in enumerate(pts) if i + 1 == len(pts) or pts[i + 1].train_flops > h.train_flops]
        if len(pts) < self.min_points:
            self._count = 0
            return self._decide(entry, Reason.NO_PROJECTION, f"too few checkpoints for the projection "
                                f"({len(pts)} at distinct FLOPs > 0, need {self.min_points})")
        x = np.array([h.train_flops for h in pts]) / self.budget_flops
        proj = project(x, [h.acc1 for h in pts], [h.acc1_stderr for h in pts], calibrate=self.calibrate,
                       step_hazard=self.step_hazard, gain_hazard=self.gain_hazard, cache=self._backtests)
        entry.projection, entry.fit_points = proj, len(pts)
        alpha = 1.0 - (0.5 if self.confidence is None else self.confidence)
        upper = proj.quantile(1.0 - alpha)
        common = {"projection": proj.without_hazards(), "upper": upper}
        if entry.train_flops >= self.budget_flops:
            self._count = 0
            return self._decide(entry, Reason.BUDGET_REACHED, "budget reached: nothing left to save", **common)
        if entry.ks.size == 0:
            self._count = 0
            return self._decide(entry, Reason.NO_SAMPLES, "no TTC curve (no samples)", **common)
        prob = probability_at_least(proj, entry.curve, entry.curve_stderr, self.min_delta)
        affordable = np.array([self._affordable(entry.train_flops, int(k)) for k in entry.ks])
        p = max(self.patience, 1)
        r = min(self._count + 1, p)
        need = 1.0 - alpha if self.patience_mode == "count" else 1.0 - alpha ** (p / r)
        ok_q = np.flatnonzero((prob >= 1.0 - alpha) & affordable)
        ok_s = np.flatnonzero((prob >= need) & affordable) if (self.patience_mode == "evidence" or r >= p) \
            else np.zeros(0, np.int64)
        entry.qualified = tuple(int(k) for k in entry.ks[ok_q])
        unconfirmed = False
        if ok_s.size and r > 1:
            # the deployed K must have qualified at every evaluation of the run of evidence, not only at this
            # one: the smallest K at the level now is the one whose estimate was luckiest (docs/selector.md)
            run = [h for h in self.history[:-1] if h.kept][-(r - 1):]
            confirmed = set.intersection(*(set(h.qualified) for h in run))
            keep = [i for i in ok_s if int(entry.ks[i]) in confirmed]
            unconfirmed = not keep
            ok_s = np.array(keep, dtype=np.int64)
        target = f"the projected full run {100 * proj.mean:.2f}% (upper bound {100 * upper:.2f}%)"
        if ok_q.size == 0:
            self._count = 0
            best = int(np.argmax(np.where(affordable, prob, -1.0)))
            if np.any(prob >= 1.0 - alpha):
                return self._decide(entry, Reason.FLOPS, self._flops_text(entry, int(entry.ks[best])),
                                    probability=float(prob[best]), **common)
            return self._decide(entry, Reason.BELOW_TARGET, f"no K <= {int(entry.ks[-1])} is at least {target} "
                                f"with probability {1 - alpha:g} (best: {self.strategy}@{int(entry.ks[best])} = "
                                f"{100 * entry.curve[best]:.2f}%, P = {prob[best]:.3f})",
                                probability=float(prob[best]), **common)
        self._count += 1
        i = int(ok_s[0]) if ok_s.size else int(ok_q[0])
        k = int(entry.ks[i])
        stop = ok_s.size > 0
        if stop:
            tail = f" -> stop (level {need:.4g}" + (f", qualified at each of the last {r})" if r > 1 else ")")
        elif unconfirmed:
            tail = (f"; no K at level {need:.4g} now qualified at each of the {r - 1} evaluation(s) before "
                    f"(the deployed K must)")
        else:
            tail = f"; stop needs level {need:.4g} or {p - r} more qualifying evaluation(s)"
        why = (f"{self.strategy}@{k} = {100 * entry.curve[i]:.2f}% is at least {target} with probability "
               f"{prob[i]:.4f}; qualifying {self._count} in a row" + tail)
        return self._decide(entry, Reason.STOP if stop else Reason.QUALIFIES, why, k=k,
                            acc=(float(entry.curve[i]), float(entry.curve_stderr[i])),
                            probability=float(prob[i]), stop=stop, **common)

    def _ingest_sigmoid(self, entry: HistoryEntry) -> Decision:
        """The paper: strict monotone filter, saturation fit over the kept points, sigmoid over K = 1, 2, 4."""
        earlier = [h.acc1 for h in self.history[:-1] if math.isfinite(h.acc1)]
        entry.kept = not earlier or entry.acc1 >= max(earlier)
        pts = [h for h in self.history if h.kept]
        x = np.array([h.train_flops for h in pts]) / self.budget_flops
        if len(pts) < self.min_points or np.unique(x).size < 3:
            self._count = 0
            return self._decide(entry, Reason.NO_PROJECTION, f"too few checkpoints for the projection "
                                f"({len(pts)} kept, need {self.min_points} at distinct FLOPs)")
        fit = fit_saturation(x, [h.acc1 for h in pts])
        if fit is None:
            self._count = 0
            return self._decide(entry, Reason.NO_PROJECTION, "saturation fit failed")
        entry.fit, entry.fit_points = (fit.a, fit.b, fit.c), len(pts)
        common = {"projected": (fit.projected, fit.projected_stderr)}
        target = fit.projected + self.min_delta
        if entry.train_flops >= self.budget_flops:
            self._count = 0
            return self._decide(entry, Reason.BUDGET_REACHED, "budget reached: nothing left to save", **common)
        if entry.ks.size < 3:
            self._count = 0
            return self._decide(entry, Reason.NO_SAMPLES, "sigmoid method needs accuracy at K = 1, 2, 4 "
                                "(n >= 4 samples)", **common)
        params = fit_sigmoid(entry.ks, entry.curve)
        if params is None:
            self._count = 0
            return self._decide(entry, Reason.BELOW_TARGET, "sigmoid fit over K failed", **common)
        entry.sigmoid_fit = params
        k_max = self.k_max if self.k_max is not None else SIGMOID_K_MAX
        k = sigmoid_k_star(params, target, k_max)
        if k is None:
            self._count = 0
            return self._decide(entry, Reason.BELOW_TARGET, f"fitted sigmoid (L={params[0]:.4f}) stays below the "
                                f"projected accuracy {target:.4f} for K <= {k_max}", **common)
        if not self._affordable(entry.train_flops, k):
            self._count = 0
            return self._decide(entry, Reason.FLOPS, self._flops_text(entry, k), **common)
        self._count += 1
        stop = self._count >= max(self.patience, 1)
        se = float(entry.curve_stderr[list(entry.ks).index(k)]) if k in entry.ks else math.nan
        val = float(sigmoid(k, *params))
        why = (f"fitted sigmoid {self.strategy}@{k} = {val:.4f} >= projected {target:.4f}; qualifying "
               f"{self._count}/{max(self.patience, 1)}" + (" -> stop" if stop else ""))
        return self._decide(entry, Reason.STOP if stop else Reason.QUALIFIES, why, k=k, acc=(val, se), stop=stop,
                            **common)

    def _affordable(self, train_flops: float, k: int) -> bool:
        """The FLOPs condition: training so far plus the extra inference of K for the expected queries stays
        below the budget (unknown inference cost with expected queries: not affordable)."""
        q = float(self.expected_queries or 0.0)
        if not q or k <= 1:
            return train_flops < self.budget_flops
        extra = self.cost.extra_per_query(k)
        return math.isfinite(extra) and train_flops + q * extra < self.budget_flops

    def _flops_text(self, entry: HistoryEntry, k: int) -> str:
        extra, q = self.cost.extra_per_query(k), float(self.expected_queries or 0.0)
        if not math.isfinite(extra):
            return f"{self.strategy}@{k} qualifies, but the FLOPs condition is unknown (no inference cost)"
        return (f"{self.strategy}@{k} qualifies, but the FLOPs condition fails ({entry.train_flops:.3e} + {q:.3g} "
                f"queries x {extra:.3e} >= {self.budget_flops:.3e})")

    def _savings(self, train_flops: float, k: int | None) -> dict[str, float]:
        extra = self.cost.extra_per_query(k) if k is not None else math.nan
        return savings(self.budget_flops, train_flops, self._eval_total, extra)

    def _decide(self, entry: HistoryEntry, code: Reason, reason: str, *, k: int | None = None,
                acc: tuple[float, float] = (math.nan, math.nan), probability: float = math.nan,
                stop: bool = False, stop_allowed: bool = True, projection: Projection | None = None,
                upper: float = math.nan, projected: tuple[float, float] | None = None) -> Decision:
        if projection is not None:
            projected = (projection.mean, projection.stderr)
        pm, ps = projected if projected is not None else (math.nan, math.nan)
        qualifies = code in (Reason.STOP, Reason.QUALIFIES)
        decision = Decision(
            should_stop=bool(stop and stop_allowed), step=entry.step, train_flops=entry.train_flops, k=k,
            strategy=self.strategy, method=self.method, projected_accuracy=pm, projected_stderr=ps,
            accuracy=acc[0], accuracy_stderr=acc[1], accuracy_k1=entry.acc1, budget_flops=self.budget_flops,
            qualifies=qualifies, patience_count=int(self._count), reason=reason, projected_upper=upper,
            probability=probability, reason_code=code.value, **self._savings(entry.train_flops, k))
        entry.decision = decision
        self.decision = decision
        return decision
