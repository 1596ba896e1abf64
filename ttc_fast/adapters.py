"""Training-loop adapters for :class:`ttc_fast.selector.TTCEarlyStopping` (each framework an optional import).

Both call a user-supplied ``evaluate_fn(model, step) -> dict(answers=..., correct=..., scores=...)`` (the same
keyword arguments :meth:`TTCEarlyStopping.update` takes: int (P, N) cluster ids, bool (P, N), optional float
(P, N) scores; or ``accuracy=``), feed the selector, keep every :class:`Decision` in ``.decisions``, log what the
selector saw to the framework's own logger, and stop training through the framework's own mechanism when the
selector says so and ``stop_training=True``:

- :class:`TTCTrainerCallback` (``transformers.TrainerCallback``): evaluates on ``on_step_end`` every
  ``eval_every`` optimizer steps (or on ``on_evaluate`` when ``eval_every`` is None), sets
  ``control.should_training_stop = True``, and logs through ``Trainer.log`` (so ``trainer.state.log_history`` and
  every ``report_to`` integration see the values) once attached to its trainer (:meth:`TTCTrainerCallback.attach`).
- :class:`TTCLightningCallback` (``lightning.pytorch.Callback``, or ``pytorch_lightning.Callback``): evaluates
  in ``on_validation_epoch_end`` (every ``eval_every`` global steps when given), logs with
  ``LightningModule.log_dict`` (TensorBoard, W&B, CSV, ... loggers and ``trainer.callback_metrics``) and sets
  ``trainer.should_stop = True``.

What is logged (``log=True``; keys start with ``log_prefix``, default ``"ttc/"``), at the evaluation's step:

- every numeric field of the :class:`Decision` under its own name (``projected_accuracy`` and
  ``projected_stderr``, the projection and its standard error; any bound the Decision carries; ``k`` = K*, nan when
  no K qualifies; ``accuracy``, ``accuracy_k1``, ``qualifies`` and ``should_stop`` as 0/1, ``patience_count``,
  ``flops_saved``, ``net_flops_saved``, ``break_even_queries``, ...; the field list is read from the dataclass, so
  fields added to Decision are logged too; ``step`` itself is the logger's x axis);
- the TTC curve's headline points ``<strategy>@<K>`` (e.g. ``ttc/maj@4``) for K = 1, the powers of two, K* and
  the largest K evaluated;
- when training ends, the final decision once more as ``<prefix>final/<field>`` (every numeric field; with
  transformers also the text fields: ``reason``, ``strategy``, ``method``, ...), so a run's summary (W&B keeps the last value of
  each key) holds the decision; Lightning loggers also get the whole decision through ``log_hyperparams``
  (``hparams.yaml`` for CSV and TensorBoard loggers) under ``<prefix>final_decision``.

Resume: a selector with a ``journal`` replays the decisions of an earlier run. The adapters start ``.decisions``
with them, do not call ``evaluate_fn`` again for a journaled step (``stopper.recorded(step)``), and act on its
recorded decision (stop when it said stop), so a run killed after the decision and restarted stops at the same step.

Training FLOPs at a step come from ``flops_fn(step)`` (cumulative FLOPs, multiply-add = 2), or from
``tokens_per_step`` and the selector's ``spec`` (``training_flops(spec, step * tokens_per_step)``, Kaplan 6N·D).
"""
from __future__ import annotations

import dataclasses
import enum
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ttc_fast.selector import Decision, TTCEarlyStopping

__all__ = ["TTCTrainerCallback", "TTCLightningCallback", "decision_metrics"]



def decision_metrics(decision: Decision, stopper: TTCEarlyStopping | None = None, *,
                     prefix: str = "ttc/") -> dict[str, float]:
    """The numbers a logger gets for one evaluation: every numeric field of ``decision`` (bools as 0/1, None as
    nan; not ``step``) and, when ``stopper`` holds the evaluation, its TTC curve at K = 1, the powers of two, K* and
    the largest K as ``<strategy>@<K>``. Keys are prefixed with ``prefix``; values are Python floats."""
    out: dict[str, float] = {}
    for f in dataclasses.fields(decision):
        if f.name == "step":
            continue
        v = getattr(decision, f.name)
        if v is None:
            v = math.nan
        if isinstance(v, (bool, int, float, np.integer, np.floating)):
            out[prefix + f.name] = float(v)
    entry = None if stopper is None else next((h for h in stopper.history if h.step == decision.step), None)
    if entry is not None and entry.ks.size:
        ks = [int(k) for k in entry.ks]
        head = {k for k in ks if k & (k - 1) == 0} | {ks[-1]}
        if decision.k is not None:
            head.add(int(decision.k))
        for i, k in enumerate(ks):
            if k in head:
                out[f"{prefix}{decision.strategy}@{k}"] = float(entry.curve[i])
    return out


def _plain(v: Any) -> Any:
    """An enum member (``Decision.reason_code``) as its value, so loggers and YAML see a plain string."""
    return v.value if isinstance(v, enum.Enum) else v


class _Driver:
    """Framework-independent part: evaluate (or take the journaled decision), update, remember."""

    def __init__(self, stopper: TTCEarlyStopping, evaluate_fn: Callable[[Any, int], Mapping[str, Any]], *,
                 flops_fn: Callable[[int], float] | None, tokens_per_step: float | None, eval_every: int | None,
                 stop_training: bool, log: bool, log_prefix: str) -> None:
        if not isinstance(stopper, TTCEarlyStopping):
            raise TypeError(f"stopper must be a ttc_fast.TTCEarlyStopping, got {type(stopper).__name__}")
        if not callable(evaluate_fn):
            raise TypeError("evaluate_fn must be callable: evaluate_fn(model, step) -> dict(answers=, correct=, ...)")
        if flops_fn is None and tokens_per_step is None:
            raise ValueError("give flops_fn(step) -> cumulative training FLOPs, or tokens_per_step (with the "
                             "selector's spec)")
        if flops_fn is None and stopper.spec is None:
            raise ValueError("tokens_per_step needs the selector's spec (TTCEarlyStopping(spec=ModelSpec...))")
        if eval_every is not None and (isinstance(eval_every, bool) or not isinstance(eval_every, int)
                                       or eval_every < 1):
            raise ValueError(f"eval_every must be an int >= 1 or None, got {eval_every!r}")
        if not isinstance(log_prefix, str):
            raise TypeError(f"log_prefix must be a string, got {type(log_prefix).__name__}")
        self.stopper = stopper
        self.evaluate_fn = evaluate_fn
        self.flops_fn = flops_fn
        self.tokens_per_step = tokens_per_step
        self.eval_every = eval_every
        self.stop_training = bool(stop_training)
        self.log = bool(log)
        self.log_prefix = log_prefix
        # every decision of the run, a journal's included (a resumed run starts with the earlier run's decisions)
        self.decisions: list[Decision] = [h.decision for h in stopper.history if h.decision is not None]
        self.evaluated_steps: list[int] = []  # steps evaluate_fn was called for by this adapter
        self._seen: set[int] = set()  # steps handled by this adapter (on_step_end and on_evaluate at one step)

    def _flops(self, step: int) -> float:
        if self.flops_fn is not None:
            return float(self.flops_fn(step))
        from ttc_fast.flops import training_flops
        return float(training_flops(self.stopper.spec, step * float(self.tokens_per_step),
                                    convention=self.stopper.convention))

    def evaluate(self, model: Any, step: int) -> Decision:
        """Calls ``evaluate_fn(model, step)`` and feeds the selector (no journal look-up: see :meth:`observe`)."""
        result = self.evaluate_fn(model, step)
        if not isinstance(result, Mapping):
            raise TypeError(f"evaluate_fn must return a dict (answers=, correct=, scores=), got "
                            f"{type(result).__name__}")
        allowed = {"answers", "correct", "scores", "accuracy", "accuracy_stderr"}
        extra = set(result) - allowed
        if extra:
            raise ValueError(f"evaluate_fn returned unknown keys {sorted(extra)}; allowed: {sorted(allowed)}")
        self.evaluated_steps.append(int(step))
        return self.stopper.update(step=int(step), train_flops=self._flops(int(step)), **result)

    def observe(self, model: Any, step: int) -> Decision | None:
        """The decision at ``step``: the journaled one when the selector already holds it (``evaluate_fn`` is not
        called), else a new evaluation. None when this adapter already handled the step."""
        step = int(step)
        if step in self._seen:
            return None
        self._seen.add(step)
        decision = self.stopper.recorded(step)
        if decision is None:
            decision = self.evaluate(model, step)
        if not any(d.step == step for d in self.decisions):
            self.decisions.append(decision)
        return decision

    def metrics(self, decision: Decision) -> dict[str, float]:
        return decision_metrics(decision, self.stopper, prefix=self.log_prefix)

    def final_metrics(self) -> dict[str, float] | None:
        d = self.decision
        if d is None:
            return None
        out = decision_metrics(d, None, prefix=f"{self.log_prefix}final/")
        out[f"{self.log_prefix}final/step"] = float(d.step)
        return out

    @property
    def decision(self) -> Decision | None:
        """The latest decision of the run (None before the first evaluation)."""
        return self.decisions[-1] if self.decisions else self.stopper.decision


try:  # transformers is optional
    from transformers import TrainerCallback as _TrainerCallbackBase
    _HAVE_TRANSFORMERS = True
except ImportError:
    _TrainerCallbackBase = object
    _HAVE_TRANSFORMERS = False


class TTCTrainerCallback(_Driver, _TrainerCallbackBase):  # type: ignore[misc, valid-type]
    """A ``transformers.TrainerCallback`` that runs the TTC-aware early stopping.

    Args:
        stopper: the :class:`TTCEarlyStopping` to feed (its journal, if any, makes a restarted run resume).
        evaluate_fn: ``evaluate_fn(model, step) -> dict(answers=, correct=, scores=)``.
        flops_fn / tokens_per_step: cumulative training FLOPs at a step (see the module docstring).
        eval_every: evaluate every that many optimizer steps (on_step_end); None: on every ``on_evaluate``.
        stop_training: set ``control.should_training_stop`` when the selector says stop (False: only record).
        log: log each evaluation and the final decision (see the module docstring).
        log_prefix: prefix of the logged keys.
        trainer: the ``transformers.Trainer`` to log through; or call :meth:`attach` once the trainer exists.
            A callback never receives its trainer from transformers, and ``Trainer.log`` is what reaches
            ``report_to``: without a trainer the values go to ``state.log_history`` only (with a warning).
    """

    def __init__(self, stopper: TTCEarlyStopping, evaluate_fn: Callable[[Any, int], Mapping[str, Any]], *,
                 flops_fn: Callable[[int], float] | None = None, tokens_per_step: float | None = None,
                 eval_every: int | None = None, stop_training: bool = True, log: bool = True,
                 log_prefix: str = "ttc/", trainer: Any = None) -> None:
        if not _HAVE_TRANSFORMERS:
            raise ImportError("TTCTrainerCallback needs transformers: pip install transformers")
        _Driver.__init__(self, stopper, evaluate_fn, flops_fn=flops_fn, tokens_per_step=tokens_per_step,
                         eval_every=eval_every, stop_training=stop_training, log=log, log_prefix=log_prefix)
        self.trainer = None
        self._warned = False
        if trainer is not None:
            self.attach(trainer)

    def attach(self, trainer: Any) -> TTCTrainerCallback:
        """Logs through ``trainer.log`` from now on and adds this callback to ``trainer`` if it is not there yet.
        Returns self: ``trainer = Trainer(...); TTCTrainerCallback(...).attach(trainer)``."""
        if not callable(getattr(trainer, "log", None)) or not hasattr(trainer, "callback_handler"):
            raise TypeError(f"attach needs a transformers.Trainer, got {type(trainer).__name__}")
        self.trainer = trainer
        if self not in trainer.callback_handler.callbacks:
            trainer.add_callback(self)
        return self

    def _log(self, state: Any, values: dict[str, Any]) -> None:
        if self.trainer is not None:
            self.trainer.log(dict(values))
            return
        if not self._warned:
            self._warned = True
            warnings.warn("TTCTrainerCallback is not attached to its Trainer: its values go to "
                          "trainer.state.log_history only, not to the report_to integrations; call "
                          "callback.attach(trainer) (or pass log=False)", UserWarning, stacklevel=3)
        state.log_history.append({**values, "step": int(state.global_step)})

    def _run(self, state: Any, control: Any, model: Any) -> Any:
        if model is None:
            raise ValueError("TTCTrainerCallback got no model from the Trainer")
        decision = self.observe(model, int(state.global_step))
        if decision is None:
            return control
        if self.log:
            self._log(state, self.metrics(decision))
        if decision.should_stop and self.stop_training:
            control.should_training_stop = True
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        if self.eval_every is not None and state.global_step > 0 and state.global_step % self.eval_every == 0:
            return self._run(state, control, model)
        return control

    def on_evaluate(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        if self.eval_every is None:
            return self._run(state, control, model)
        return control

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        final = self.final_metrics()
        if self.log and final is not None and self.decision is not None:
            text = {f"{self.log_prefix}final/{k}": _plain(v) for k, v in self.decision.to_dict().items()
                    if isinstance(v, str)}
            self._log(state, {**final, **text})
        return control


def _lightning_callback_base() -> type:
    try:
        from lightning.pytorch import Callback
        return Callback
    except ImportError:
        pass
    try:
        from pytorch_lightning import Callback
        return Callback
    except ImportError:
        return object


_LightningBase = _lightning_callback_base()


class TTCLightningCallback(_Driver, _LightningBase):  # type: ignore[misc, valid-type]
    """A Lightning ``Callback`` that runs the TTC-aware early stopping after validation.

    Args as :class:`TTCTrainerCallback` (no ``trainer``); ``eval_every`` (global steps) skips validations in
    between. Evaluates in ``on_validation_epoch_end`` (where ``LightningModule.log_dict`` is allowed; Lightning's
    own EarlyStopping checks in ``on_validation_end``, which cannot log) and stops with
    ``trainer.should_stop = True`` (Lightning then ends the fit loop, as its own EarlyStopping does).
    """

    def __init__(self, stopper: TTCEarlyStopping, evaluate_fn: Callable[[Any, int], Mapping[str, Any]], *,
                 flops_fn: Callable[[int], float] | None = None, tokens_per_step: float | None = None,
                 eval_every: int | None = None, stop_training: bool = True, log: bool = True,
                 log_prefix: str = "ttc/") -> None:
        if _LightningBase is object:
            raise ImportError("TTCLightningCallback needs Lightning: pip install lightning")
        _Driver.__init__(self, stopper, evaluate_fn, flops_fn=flops_fn, tokens_per_step=tokens_per_step,
                         eval_every=eval_every, stop_training=stop_training, log=log, log_prefix=log_prefix)

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if getattr(trainer, "sanity_checking", False):
            return
        step = int(trainer.global_step)
        if self.eval_every is not None and (step == 0 or step % self.eval_every):
            return
        decision = self.observe(pl_module, step)
        if decision is None:
            return
        if self.log:
            pl_module.log_dict(self.metrics(decision), on_step=False, on_epoch=True)
        if decision.should_stop and self.stop_training:
            trainer.should_stop = True

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        final = self.final_metrics()
        if not self.log or final is None or self.decision is None or not getattr(trainer, "is_global_zero", True):
            return
        summary = {k: _plain(v) for k, v in self.decision.to_dict().items()}
        for lg in getattr(trainer, "loggers", []) or []:
            lg.log_metrics(final, step=int(trainer.global_step))
            lg.log_hyperparams({f"{self.log_prefix}final_decision": summary})
            lg.save()
