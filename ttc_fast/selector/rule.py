"""The TTC-aware early-stopping selector: stop training early and deploy a checkpoint with K samples per query.

After each evaluation of a training run, :class:`TTCEarlyStopping` answers with a :class:`Decision`: whether to
stop now, which K (test-time compute: K samples per query, aggregated by ``strategy``) the current checkpoint
needs to match the accuracy the full run is projected to reach, and how much training compute that saves.

Units: training and inference compute in FLOPs (one multiply-add = 2 FLOPs, the convention of
:mod:`ttc_fast.flops`); accuracies are fractions in [0, 1]; K counts samples per query.

Two methods share the bookkeeping (monotone filter, projection, FLOPs condition, patience):

``method="sigmoid"`` -- the source paper (arXiv 2601.01332), reproducible exactly:
  1. single-sample accuracy A_1(t_i) at every evaluation, x-axis cumulative training FLOPs F_i;
  2. monotone filter: keep the points at or above the running maximum of the earlier points;
  3. least-squares fit of A(F) = a·(1 - exp(-b·x)) + c with x = F / budget (normalised FLOPs), starting values
     from the best point of a profile over b (log grid 1e-3..1e3; for fixed b the model is linear in a, c),
     bounds a in [0, 2], b in [1e-4, 1e4], c in [-1, 1] (``scipy.optimize.curve_fit``, analytic Jacobian);
     projection A_hat = A(x=1) clipped to [0, 1]; fewer than ``min_points`` kept points: no projection, no stop;
  4. TTC curve of the checkpoint at K = 1, 2, 4 (one draw of n >= 4 samples, unbiased estimator), sigmoid fit
     A_K = L / (1 + exp(-s·(K - x0))) (bounds L in [0, 1], s in [1e-3, 50], x0 in [-50, 50]), K* = smallest
     integer K <= k_max (default 1024) with fitted A_K >= A_hat (closed form, checked against its neighbour);
  5. FLOPs condition (below); 6. patience.

``method="exact"`` (default) -- ttc_fast's version:
  2'. noise-tolerant monotone filter: a point is kept when A_1 >= M - t·sqrt(se² + se_M²), M the running maximum
      (se_M its stderr), t = ``filter_tolerance`` (default 1). The strict filter keeps only points whose noise
      happens to be positive, which biases the fit upward and ignores a plateau just under an early lucky maximum;
  3'. goodness-of-fit window: while the weighted chi-square test rejects the saturation model at level
      ``fit_alpha`` (default 0.05), the earliest kept point is dropped and the fit repeated (at least
      ``min_points`` stay). Curves that are flat before a jump (emergence, warm-up) are then projected from the
      saturating part alone instead of by a curve that fits neither part. Limit shared with the paper: a curve
      that keeps rising like a power law is projected too low by any exponential saturation; on 25 sampled runs
      (100 problems x 16 samples, patience 3) of A = 0.75 - 0.1125·(x + 0.01)^-0.35 that gave 3 false stops
      with these defaults and 2 with the paper's bookkeeping (saturating and jump curves: none);
  4'. the TTC curve for every K = 1..min(n, k_max) exactly from the unbiased estimators (pass@K, maj@K,
      best-of-K, weighted maj@K) with per-problem values; K qualifies when

          A_K - z·sqrt(se_K² + se_hat²)  >=  A_hat + min_delta,        z = Phi^-1(confidence) (one-sided)

      se_K = std over problems of the per-problem values at K / sqrt(P) (the estimator's stderr), se_hat = the
      projection's standard error by the delta method from the fit's covariance; the fit is weighted by each
      point's stderr over problems (``absolute_sigma=True``), so se_hat is the uncertainty the evaluation noise
      puts on the target. The two errors are combined as independent; both are measured on the same problems,
      whose common difficulty correlates them positively, so the combination is conservative. A paired version
      (delta method on the per-problem differences u_{p,K} - sum_i g_i v_{p,i}) was measured and not adopted: on
      30 problems x 8 samples its stderr fell ~25% below the actual spread of A_K - A_hat over sampling seeds
      (the projection is nonlinear and the filter and fit window select points), and the false-stop rate of
      the test below rose from 7% to 37% at 95% confidence. For "wmaj" se_K includes the Monte Carlo error.
      Points without per-problem data (precomputed accuracies) have se_K = 0 and an unweighted fit whose se_hat
      comes from its residuals (0 when there are no residual degrees of freedom). K* = smallest qualifying K.

FLOPs condition (both methods): F_t < budget, and F_t + Q·ΔC(K*) <= budget where Q = ``expected_queries``
(0 when unknown) and ΔC(K) = C_inf(K) - C_inf(1) is the extra inference cost per query (shared prompt prefix:
(K-1)·decode; from ``spec``/``prompt_len``/``gen_len`` or ``inference_flops_per_sample``).
Savings: flops_saved_abs = budget - F_t, flops_saved = that / budget; net_* subtract the evaluation FLOPs spent
so far (``eval_flops_per_update`` per update; default from the spec: the samples drawn for the evaluation);
break_even_queries = flops_saved_abs / ΔC(K*) (inf when K* = 1; nan when no inference cost is known).

Patience (Lightning semantics, counted in evaluations): ``patience_count`` is the number of consecutive
qualifying evaluations; a non-qualifying one resets it to 0; ``should_stop`` when it reaches max(patience, 1)
(patience 0 and 1 both stop at the first qualifying evaluation). The checkpoint to deploy is the current one.
``check_finite=True``: a non-finite single-sample accuracy makes the evaluation non-qualifying (count reset,
point left out of the fit); ``check_finite=False``: such an evaluation is skipped (count unchanged).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ttc_fast.selector.journal import JOURNAL_LEGACY, JOURNAL_VERSION, append_line, read_journal
from ttc_fast.selector.projection import SaturationFit, fit_saturation
from ttc_fast.selector.ttc import SIGMOID_K_MAX, SIGMOID_KS, as_answers, fit_sigmoid, sigmoid, sigmoid_k_star, ttc_curve
from ttc_fast.selector.types import (METHODS, STRATEGIES, Decision, HistoryEntry, accuracy_table, check_int,
                                     finite_or_zero)


class TTCEarlyStopping:
    """TTC-aware early stopping; feed it after every evaluation with :meth:`update`.

    Args:
        budget_flops: training FLOPs of the full run (the budget B the projection targets).
        strategy: TTC aggregation: "maj" (majority vote, deployable), "pass" (pass@K, needs an oracle),
            "bok" (best-of-K by verifier score), "wmaj" (score-weighted vote; Monte Carlo estimate).
        k_max: largest K considered (default: n samples for "exact", 1024 for "sigmoid").
        patience: consecutive qualifying evaluations before stopping (0 and 1: the first one).
        method: "exact" (every K <= n, with confidence) or "sigmoid" (the paper: fit over K = 1, 2, 4).
        confidence: one-sided confidence that A_K clears the target ("exact"); None or 0.5 means no margin.
        min_delta: extra accuracy A_K must exceed the target by (fraction).
        mode: "max" (accuracy is maximised; the only meaningful mode for TTC accuracy).
        check_finite: see the module docstring.
        monotone_filter: apply the paper's running-maximum filter before fitting.
        filter_tolerance: slack of the monotone filter in standard errors: a point is kept when
            A_1 >= running max - filter_tolerance·sqrt(se² + se_max²). None: 1.0 for "exact", 0 (the paper's
            strict filter) for "sigmoid". 0 reproduces the paper with "exact" too.
        fit_alpha: significance level of the chi-square goodness-of-fit test that drops the earliest kept points
            while the saturation model does not fit them (a flat phase before a jump, warm-up). None: 0.05 for
            "exact", 0 (every kept point, the paper) for "sigmoid". Needs per-point standard errors.
        min_points: fewest kept points for the saturation fit (>= 3: it has 3 parameters).
        spec, prompt_len, gen_len, convention: FLOP model of inference (ttc_fast.ModelSpec; tokens per prompt and
            per sample); or ``inference_flops_per_sample`` (FLOPs of one more sample for a query).
        expected_queries: queries the deployed model will serve (FLOPs condition; None: not charged).
        eval_flops_per_update: FLOPs of one evaluation; None: from the spec (all samples drawn), else 0.
        journal: path of a JSONL journal; an existing one is replayed (resume) and appended to.
        seed: Monte Carlo seed of the "wmaj" estimator.
    """

    def __init__(self, budget_flops: float, strategy: str = "maj", k_max: int | None = None, patience: int = 10,
                 method: str = "exact", confidence: float | None = 0.95, min_delta: float = 0.0, mode: str = "max",
                 check_finite: bool = True, monotone_filter: bool = True,
                 filter_tolerance: float | None = None, fit_alpha: float | None = None, min_points: int = 3,
                 spec: Any = None, prompt_len: int | None = None, gen_len: int | None = None,
                 inference_flops_per_sample: float | None = None, expected_queries: float | None = None,
                 eval_flops_per_update: float | None = None, journal: str | os.PathLike | None = None,
                 convention: str = "kaplan", seed: int = 0) -> None:
        if isinstance(budget_flops, bool) or not isinstance(budget_flops, (int, float, np.integer, np.floating)) \
                or not math.isfinite(budget_flops) or budget_flops <= 0:
            raise ValueError(f"budget_flops must be a finite number > 0, got {budget_flops!r}")
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
        if k_max is not None and (isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or k_max < 1):
            raise ValueError(f"k_max must be an int >= 1 or None, got {k_max!r}")
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 0:
            raise ValueError(f"patience must be an int >= 0, got {patience!r}")
        if confidence is not None and not (0.0 < float(confidence) < 1.0):
            raise ValueError(f"confidence must be in (0, 1) or None, got {confidence!r}")
        if not math.isfinite(min_delta):
            raise ValueError(f"min_delta must be finite, got {min_delta!r}")
        if mode != "max":
            raise ValueError(f"mode must be 'max' (TTC accuracy is maximised; NaiveEarlyStopping takes 'min'), "
                             f"got {mode!r}")
        if filter_tolerance is not None and (isinstance(filter_tolerance, bool) or not isinstance(
                filter_tolerance, (int, float, np.integer, np.floating)) or not 0 <= filter_tolerance < math.inf):
            raise ValueError(f"filter_tolerance must be a finite number >= 0 or None, got {filter_tolerance!r}")
        if fit_alpha is not None and (isinstance(fit_alpha, bool) or not isinstance(
                fit_alpha, (int, float, np.integer, np.floating)) or not 0 <= fit_alpha < 1):
            raise ValueError(f"fit_alpha must be in [0, 1) or None, got {fit_alpha!r}")
        if isinstance(min_points, bool) or not isinstance(min_points, (int, np.integer)) or min_points < 3:
            raise ValueError(f"min_points must be an int >= 3 (the fit has 3 parameters), got {min_points!r}")
        if (prompt_len is None) != (gen_len is None):
            raise ValueError("prompt_len and gen_len go together")
        if prompt_len is not None and spec is None:
            raise ValueError("prompt_len/gen_len need spec (a ttc_fast.ModelSpec) to count inference FLOPs")
        if spec is not None and prompt_len is not None and inference_flops_per_sample is not None:
            raise ValueError("give either spec/prompt_len/gen_len or inference_flops_per_sample, not both")
        if inference_flops_per_sample is not None and not inference_flops_per_sample >= 0:
            raise ValueError(f"inference_flops_per_sample must be >= 0, got {inference_flops_per_sample!r}")
        if expected_queries is not None and not expected_queries >= 0:
            raise ValueError(f"expected_queries must be >= 0, got {expected_queries!r}")
        if expected_queries and spec is None and inference_flops_per_sample is None:
            raise ValueError("expected_queries needs an inference cost: spec/prompt_len/gen_len or "
                             "inference_flops_per_sample")
        if eval_flops_per_update is not None and not eval_flops_per_update >= 0:
            raise ValueError(f"eval_flops_per_update must be >= 0, got {eval_flops_per_update!r}")
        self.budget_flops = float(budget_flops)
        self.strategy = strategy
        self.method = method
        self.k_max = None if k_max is None else int(k_max)
        self.patience = int(patience)
        self.confidence = None if confidence is None else float(confidence)
        self.min_delta = float(min_delta)
        self.mode = mode
        self.check_finite = bool(check_finite)
        self.monotone_filter = bool(monotone_filter)
        exact = method == "exact"
        self.filter_tolerance = float((1.0 if exact else 0.0) if filter_tolerance is None else filter_tolerance)
        self.fit_alpha = float((0.05 if exact else 0.0) if fit_alpha is None else fit_alpha)
        self.min_points = int(min_points)
        self.spec = spec
        self.prompt_len = prompt_len
        self.gen_len = gen_len
        self.inference_flops_per_sample = inference_flops_per_sample
        self.expected_queries = expected_queries
        self.eval_flops_per_update = eval_flops_per_update
        self.convention = convention
        self.seed = int(seed)
        if self.confidence is None or self.method == "sigmoid":
            self._z = 0.0
        else:
            from scipy.stats import norm
            self._z = max(0.0, float(norm.ppf(self.confidence)))
        self.history: list[HistoryEntry] = []
        self.decision: Decision | None = None
        self._count = 0
        self._eval_total = 0.0
        self.journal = None if journal is None else os.fspath(journal)
        if self.journal is not None:
            self._open_journal()

    # -- configuration as stored in the journal header
    def _config(self) -> dict[str, Any]:
        spec = None
        if self.spec is not None:
            spec = dataclasses.asdict(self.spec) if dataclasses.is_dataclass(self.spec) else repr(self.spec)
        return {"budget_flops": self.budget_flops, "strategy": self.strategy, "method": self.method,
                "k_max": self.k_max, "patience": self.patience, "confidence": self.confidence,
                "min_delta": self.min_delta, "mode": self.mode, "check_finite": self.check_finite,
                "monotone_filter": self.monotone_filter, "filter_tolerance": self.filter_tolerance,
                "fit_alpha": self.fit_alpha, "min_points": self.min_points, "spec": spec,
                "prompt_len": self.prompt_len, "gen_len": self.gen_len,
                "inference_flops_per_sample": self.inference_flops_per_sample,
                "expected_queries": self.expected_queries, "eval_flops_per_update": self.eval_flops_per_update,
                "convention": self.convention, "seed": self.seed}

    # -- public API
    def update(self, *, step: int, train_flops: float, answers: Any = None, correct: Any = None,
               scores: Any = None, accuracy: Mapping[Any, Any] | None = None,
               accuracy_stderr: Mapping[Any, Any] | None = None) -> Decision:
        """Feeds one evaluation and returns the decision.

        Args:
            step: training step of the checkpoint (strictly increasing across updates; an update for a step
                already recorded returns the recorded decision, so a restarted run can re-send it).
            train_flops: cumulative training FLOPs at the checkpoint (non-decreasing).
            answers: int (P, N) answer cluster ids per problem and sample (-1 abstention, -2 padding for ragged
                N), or nested strings/None (clustered by equality). Optional for strategy "pass".
            correct: bool (P, N) correctness per sample.
            scores: float (P, N) verifier scores ("bok", "wmaj").
            accuracy: instead of samples, precomputed accuracy by K, ``{1: 0.31, 2: 0.42}`` or
                ``{"maj": {"1": ...}}`` (its stderr, same shape, in ``accuracy_stderr``; 0 when absent).
        """
        step = check_int(step, "step")
        if isinstance(train_flops, bool) or not isinstance(train_flops, (int, float, np.integer, np.floating)) \
                or math.isnan(train_flops) or train_flops < 0:
            raise ValueError(f"train_flops must be a number >= 0, got {train_flops!r}")
        for h in self.history:
            if h.step == step:
                assert h.decision is not None
                return h.decision
        if self.history:
            last = self.history[-1]
            if step < last.step:
                raise ValueError(f"step must increase across updates: got {step} after {last.step}")
            if train_flops < last.train_flops:
                raise ValueError(f"train_flops must not decrease: got {train_flops:g} after {last.train_flops:g}")
        entry = self._summarise(step, float(train_flops), answers, correct, scores, accuracy, accuracy_stderr)
        decision = self._ingest(entry)
        if self.journal is not None:
            append_line(self.journal, entry.to_record())
        return decision

    def recorded(self, step: int) -> Decision | None:
        """The decision already recorded for ``step`` (this run or a resumed journal), or None. Training-loop
        adapters use it to skip evaluating a checkpoint the journal already holds."""
        step = check_int(step, "step")
        for h in self.history:
            if h.step == step:
                return h.decision
        return None

    def reset(self) -> None:
        """Forgets all evaluations (the journal file is left alone)."""
        self.history.clear()
        self.decision = None
        self._count = 0
        self._eval_total = 0.0

    # -- step 1: reduce one evaluation to its TTC curve
    def _ks(self, n_min: int) -> list[int]:
        if self.method == "sigmoid":
            return [k for k in SIGMOID_KS if k <= n_min]
        top = n_min if self.k_max is None else min(n_min, self.k_max)
        return list(range(1, top + 1))

    def _summarise(self, step: int, train_flops: float, answers: Any, correct: Any, scores: Any,
                   accuracy: Mapping[Any, Any] | None, accuracy_stderr: Mapping[Any, Any] | None) -> HistoryEntry:
        if accuracy is not None:
            if correct is not None or answers is not None:
                raise ValueError("give either answers/correct/scores or accuracy, not both")
            ks, curve = accuracy_table(accuracy, self.strategy, "accuracy")
            if accuracy_stderr is not None:
                ks_se, se = accuracy_table(accuracy_stderr, self.strategy, "accuracy_stderr")
                se_map = dict(zip(ks_se.tolist(), se.tolist()))
                se = np.array([se_map.get(int(k), 0.0) for k in ks])
            else:
                se = np.zeros_like(curve)
            if self.k_max is not None:
                keep = ks <= (self.k_max if self.method == "exact" else max(SIGMOID_KS))
                ks, curve, se = ks[keep], curve[keep], se[keep]
            if self.method == "sigmoid":
                keep = np.isin(ks, SIGMOID_KS)
                ks, curve, se = ks[keep], curve[keep], se[keep]
            acc1 = float(curve[0]) if ks.size and ks[0] == 1 else float("nan")
            acc1_se = float(se[0]) if ks.size and ks[0] == 1 and accuracy_stderr is not None else float("nan")
            eval_flops = float(self.eval_flops_per_update or 0.0)
            return HistoryEntry(step, train_flops, acc1, acc1_se, ks, curve, se, eval_flops, 0)
        if correct is None:
            raise ValueError("update needs correct (and answers/scores for the strategy) or accuracy")
        corr = np.asarray(correct.detach().cpu().numpy() if hasattr(correct, "detach") else correct)
        if corr.ndim != 2:
            raise ValueError(f"correct must be 2-D (problems, samples), got shape {corr.shape}")
        if corr.dtype != np.bool_:
            if corr.size and not np.isin(corr, (0, 1)).all():
                raise ValueError("correct must be boolean (or 0/1)")
            corr = corr.astype(bool)
        ans = None
        if answers is not None:
            ans = as_answers(answers)
            if ans.shape != corr.shape:
                raise ValueError(f"answers shape {ans.shape} != correct shape {corr.shape}")
        elif self.strategy in ("maj", "wmaj"):
            raise ValueError(f"strategy {self.strategy!r} needs answers (cluster ids)")
        sc = None
        if self.strategy in ("bok", "wmaj"):
            if scores is None:
                raise ValueError(f"strategy {self.strategy!r} needs scores")
            sc = np.asarray(scores.detach().cpu().numpy() if hasattr(scores, "detach") else scores, dtype=np.float64)
            if sc.shape != corr.shape:
                raise ValueError(f"scores shape {sc.shape} != correct shape {corr.shape}")
        num_problems = corr.shape[0]
        valid = np.ones(corr.shape, dtype=bool) if ans is None else ans != -2
        n_i = valid.sum(axis=1)
        if num_problems == 0 or corr.shape[1] == 0 or n_i.min() == 0:
            nan = float("nan")
            return HistoryEntry(step, train_flops, nan, nan, np.zeros(0, np.int64), np.zeros(0), np.zeros(0),
                                float(self.eval_flops_per_update or 0.0), num_problems)
        # single-sample accuracy = pass@1 = mean correctness per problem (equal to maj@1, bok@1 and wmaj@1)
        per1 = (corr & valid).sum(axis=1) / n_i
        acc1 = float(per1.mean())
        acc1_se = float(per1.std(ddof=1) / math.sqrt(num_problems)) if num_problems > 1 else 0.0
        ks = self._ks(int(n_i.min()))
        if ks:
            curve, se = ttc_curve(self.strategy, ans, corr, sc, ks, self.seed)
        else:
            curve, se = np.zeros(0), np.zeros(0)
        return HistoryEntry(step, train_flops, acc1, acc1_se, np.asarray(ks, dtype=np.int64), curve, se,
                            self._eval_flops(n_i), num_problems)

    def _eval_flops(self, n_i: np.ndarray) -> float:
        if self.eval_flops_per_update is not None:
            return float(self.eval_flops_per_update)
        if self.spec is not None and self.prompt_len is not None:
            from ttc_fast.flops import inference_flops
            ks, counts = np.unique(n_i, return_counts=True)
            per = inference_flops(self.spec, self.prompt_len, self.gen_len, ks.astype(np.float64),
                                  convention=self.convention)
            return float(np.sum(np.asarray(per) * counts))
        if self.inference_flops_per_sample is not None:
            return float(self.inference_flops_per_sample) * float(n_i.sum())
        return 0.0

    def _extra_per_query(self, k: int) -> float:
        """ΔC(K) = C_inf(K) - C_inf(1) in FLOPs per query; nan when no inference cost is known."""
        if k <= 1:
            return 0.0
        if self.spec is not None and self.prompt_len is not None:
            from ttc_fast.flops import inference_flops
            return float(inference_flops(self.spec, self.prompt_len, self.gen_len, k, convention=self.convention)
                         - inference_flops(self.spec, self.prompt_len, self.gen_len, 1, convention=self.convention))
        if self.inference_flops_per_sample is not None:
            return (k - 1) * float(self.inference_flops_per_sample)
        return float("nan")

    # -- step 2: the rules (deterministic given the summaries: replaying the journal re-runs exactly this)
    def _ingest(self, entry: HistoryEntry) -> Decision:
        finite = math.isfinite(entry.acc1)
        self._eval_total += entry.eval_flops  # the evaluation's samples were drawn either way: charge them
        if not finite and not self.check_finite:
            entry.kept = False
            self.history.append(entry)
            decision = self._decide(entry, fit=None, qualifies=False, k=None, acc=(math.nan, math.nan),
                                    reason="non-finite single-sample accuracy: evaluation skipped "
                                           "(check_finite=False; patience unchanged)",
                                    count=self._count, stop_allowed=False)
            entry.decision = decision
            self.decision = decision
            return decision
        best = max((h for h in self.history if math.isfinite(h.acc1)), key=lambda h: h.acc1, default=None)
        if not finite or not self.monotone_filter or best is None:
            entry.kept = finite
        else:
            slack = self.filter_tolerance * math.hypot(finite_or_zero(entry.acc1_stderr),
                                                       finite_or_zero(best.acc1_stderr))
            entry.kept = entry.acc1 >= best.acc1 - slack
        self.history.append(entry)

        reason = fit_note = ""
        fit = None
        k_star = None
        acc = (math.nan, math.nan)
        if not finite:
            reason = "non-finite single-sample accuracy (check_finite): not qualifying, patience reset"
        else:
            pts = [h for h in self.history if h.kept]
            xs = np.array([h.train_flops for h in pts]) / self.budget_flops
            if len(pts) < self.min_points or np.unique(xs).size < 3:
                reason = (f"too few checkpoints for the projection ({len(pts)} kept, need {self.min_points}"
                          f" at distinct FLOPs)")
            else:
                ys = np.array([h.acc1 for h in pts])
                sig = np.array([h.acc1_stderr for h in pts])
                use_sigma = self.method == "exact" and np.all(np.isfinite(sig)) and np.any(sig > 0)
                fit, first = self._fit(xs, ys, sig if use_sigma else None)
                if fit is None:
                    reason = "saturation fit failed"
                else:
                    entry.fit = (fit.a, fit.b, fit.c)
                    entry.fit_points = len(pts) - first
                    if first:
                        fit_note = (f"projection from the last {len(pts) - first} of {len(pts)} kept points "
                                    f"(the saturation model fails the chi-square test at {self.fit_alpha:g} "
                                    f"with the earlier ones); ")
        if fit is not None:
            target = fit.projected + self.min_delta
            if entry.train_flops >= self.budget_flops:
                reason = "budget already reached: nothing left to save"
            elif self.method == "exact":
                k_star, acc, reason = self._k_star_exact(entry, target, fit.projected_stderr)
            else:
                k_star, acc, reason = self._k_star_sigmoid(entry, target)
            reason = fit_note + reason
        qualifies = False
        if k_star is not None:
            extra = self._extra_per_query(k_star)
            q = float(self.expected_queries or 0.0)
            charged = entry.train_flops + (q * extra if q else 0.0)
            if q and not math.isfinite(extra):
                reason = "FLOPs condition unknown (no inference cost)"
            elif charged < self.budget_flops:
                qualifies = True
                reason += "; FLOPs condition holds" + (
                    f" ({entry.train_flops:.3e} + {q:.3g} queries x {extra:.3e} < {self.budget_flops:.3e})"
                    if q else f" ({entry.train_flops:.3e} < {self.budget_flops:.3e})")
            else:
                reason += (f"; FLOPs condition fails ({entry.train_flops:.3e} + {q:.3g} queries x {extra:.3e}"
                           f" >= {self.budget_flops:.3e})")
        self._count = self._count + 1 if qualifies else 0
        decision = self._decide(entry, fit=fit, qualifies=qualifies, k=k_star, acc=acc, reason=reason,
                                count=self._count)
        entry.decision = decision
        self.decision = decision
        return decision

    def _fit(self, xs: np.ndarray, ys: np.ndarray, sig: np.ndarray | None) -> tuple[SaturationFit | None, int]:
        """The saturation fit over the kept points and the index of the first point it uses.

        With standard errors and ``fit_alpha`` > 0 the earliest points are dropped, one at a time, while the
        chi-square goodness-of-fit test rejects the model at level ``fit_alpha`` (learning curves often start
        with a flat phase or a jump that an exponential saturation cannot follow; fitting through it biases the
        projection). At least ``min_points`` points at 3 distinct FLOPs stay; with no residual degrees of
        freedom left the model cannot be tested and the fit through those points is used.
        """
        if sig is None or self.fit_alpha <= 0:
            return fit_saturation(xs, ys, sig), 0
        from scipy.stats import chi2
        fit, first = None, 0
        for j in range(len(xs) - self.min_points + 1):
            if np.unique(xs[j:]).size < 3:
                break
            f = fit_saturation(xs[j:], ys[j:], sig[j:])
            if f is None:
                continue
            fit, first = f, j
            dof = len(xs) - j - 3
            if dof <= 0 or chi2.sf(f.chi2, dof) >= self.fit_alpha:
                break
        return fit, first

    def _k_star_exact(self, entry: HistoryEntry, target: float, target_se: float
                      ) -> tuple[int | None, tuple[float, float], str]:
        if entry.ks.size == 0:
            return None, (math.nan, math.nan), "no TTC curve (no samples)"
        margin = self._z * np.sqrt(entry.curve_stderr ** 2 + target_se ** 2)
        lower = entry.curve - margin
        ok = np.flatnonzero(lower >= target)
        conf = "" if self._z == 0 else f" at {100 * (self.confidence or 0):g}% confidence"
        if ok.size == 0:
            i = int(np.argmax(lower))
            return None, (math.nan, math.nan), (
                f"no K <= {int(entry.ks[-1])} reaches the projected accuracy {target:.4f}{conf} "
                f"(best: {self.strategy}@{int(entry.ks[i])} = {entry.curve[i]:.4f}, lower bound {lower[i]:.4f})")
        i = int(ok[0])
        k = int(entry.ks[i])
        return k, (float(entry.curve[i]), float(entry.curve_stderr[i])), (
            f"{self.strategy}@{k} = {entry.curve[i]:.4f} (lower bound {lower[i]:.4f}) >= projected "
            f"{target:.4f}{conf}")

    def _k_star_sigmoid(self, entry: HistoryEntry, target: float
                        ) -> tuple[int | None, tuple[float, float], str]:
        if entry.ks.size < 3:
            return None, (math.nan, math.nan), "sigmoid method needs accuracy at K = 1, 2, 4 (n >= 4 samples)"
        params = fit_sigmoid(entry.ks, entry.curve)
        if params is None:
            return None, (math.nan, math.nan), "sigmoid fit over K failed"
        entry.sigmoid_fit = params
        k_max = self.k_max if self.k_max is not None else SIGMOID_K_MAX
        k = sigmoid_k_star(params, target, k_max)
        if k is None:
            return None, (math.nan, math.nan), (
                f"fitted sigmoid (L={params[0]:.4f}) stays below the projected accuracy {target:.4f} "
                f"for K <= {k_max}")
        se = float(entry.curve_stderr[list(entry.ks).index(k)]) if k in entry.ks else math.nan
        val = float(sigmoid(k, *params))
        return k, (val, se), f"fitted sigmoid {self.strategy}@{k} = {val:.4f} >= projected {target:.4f}"

    def _savings(self, train_flops: float, k: int | None) -> dict[str, float]:
        saved = max(self.budget_flops - train_flops, 0.0)
        net = saved - self._eval_total
        extra = self._extra_per_query(k) if k is not None else math.nan
        if k is None or not math.isfinite(extra):
            q = qn = math.nan
        elif extra == 0:
            q = qn = math.inf
        else:
            q, qn = saved / extra, max(net, 0.0) / extra
        return {"flops_saved": saved / self.budget_flops, "flops_saved_abs": saved,
                "net_flops_saved": net / self.budget_flops, "net_flops_saved_abs": net,
                "eval_flops": self._eval_total, "extra_inference_flops_per_query": extra,
                "break_even_queries": q, "net_break_even_queries": qn}

    def _decide(self, entry: HistoryEntry, *, fit: SaturationFit | None, qualifies: bool, k: int | None,
                acc: tuple[float, float], reason: str, count: int, stop_allowed: bool = True) -> Decision:
        need = max(self.patience, 1)
        stop = stop_allowed and qualifies and count >= need
        if qualifies:
            reason += f"; qualifying {count}/{need}" + (" -> stop" if stop else "")
        return Decision(
            should_stop=bool(stop), step=entry.step, train_flops=entry.train_flops, k=k, strategy=self.strategy,
            method=self.method, projected_accuracy=math.nan if fit is None else fit.projected,
            projected_stderr=math.nan if fit is None else fit.projected_stderr, accuracy=acc[0],
            accuracy_stderr=acc[1], accuracy_k1=entry.acc1, budget_flops=self.budget_flops,
            qualifies=bool(qualifies), patience_count=int(count), reason=reason.lstrip("; "),
            **self._savings(entry.train_flops, k))

    # -- journal
    def _open_journal(self) -> None:
        assert self.journal is not None
        records = read_journal(self.journal)
        config = json.loads(json.dumps(self._config()))  # normalised as it would be stored
        if not records:
            append_line(self.journal, {"type": "header", "version": JOURNAL_VERSION, "config": config})
            return
        header = records[0]
        if header.get("type") != "header":
            raise ValueError(f"journal {self.journal}: line 1 is not a header record")
        stored = {**JOURNAL_LEGACY, **header.get("config", {})}
        diff = [k for k in sorted(set(stored) | set(config)) if stored.get(k) != config.get(k)]
        if diff:
            k = diff[0]
            raise ValueError(f"journal {self.journal} was written with {k}={stored.get(k)!r}; this selector has "
                             f"{k}={config.get(k)!r} (use another journal path or the same settings)")
        for lineno, rec in enumerate(records[1:], start=2):
            try:
                entry = HistoryEntry(
                    step=int(rec["step"]), train_flops=float(rec["train_flops"]), acc1=float(rec["acc1"]),
                    acc1_stderr=float(rec["acc1_stderr"]), ks=np.asarray(rec["ks"], dtype=np.int64),
                    curve=np.asarray(rec["curve"], dtype=np.float64),
                    curve_stderr=np.asarray(rec["curve_stderr"], dtype=np.float64),
                    eval_flops=float(rec["eval_flops"]), num_problems=int(rec.get("num_problems", 0)))
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"journal {self.journal}: line {lineno}: bad update record ({err})") from None
            decision = self._ingest(entry)
            stored_d = rec.get("decision")
            if stored_d and (stored_d.get("should_stop") != decision.should_stop
                             or stored_d.get("k") != decision.k
                             or stored_d.get("patience_count") != decision.patience_count):
                warnings.warn(f"journal {self.journal}: line {lineno}: replayed decision differs from the "
                              f"recorded one (different library versions?)", RuntimeWarning, stacklevel=3)
