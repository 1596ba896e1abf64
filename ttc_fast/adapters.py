"""Training-loop adapters for :class:`ttc_fast.selector.TTCEarlyStopping` (optional imports).

Both call a user-supplied ``evaluate_fn(model, step) -> dict(answers=..., correct=..., scores=...)`` (the same
keyword arguments :meth:`TTCEarlyStopping.update` takes: int (P, N) cluster ids, bool (P, N), optional float
(P, N) scores; or ``accuracy=``), feed the selector, keep every :class:`Decision` in ``.decisions``, and stop
training through the framework's own mechanism when the selector says so and ``stop_training=True``:

- :class:`TTCTrainerCallback` (``transformers.TrainerCallback``): evaluates on ``on_step_end`` every
  ``eval_every`` optimizer steps (or on ``on_evaluate`` when ``eval_every`` is None) and sets
  ``control.should_training_stop = True``.
- :class:`TTCLightningCallback` (``lightning.pytorch.Callback``, or ``pytorch_lightning.Callback``): evaluates
  on ``on_validation_end`` (every ``eval_every`` global steps when given) and sets ``trainer.should_stop = True``.

Training FLOPs at a step come from ``flops_fn(step)`` (cumulative FLOPs, multiply-add = 2), or from
``tokens_per_step`` and the selector's ``spec`` (``training_flops(spec, step * tokens_per_step)``, Kaplan 6N·D).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ttc_fast.selector import Decision, TTCEarlyStopping

__all__ = ["TTCTrainerCallback", "TTCLightningCallback"]


class _Driver:
    """Framework-independent part: evaluate, update, remember."""

    def __init__(self, stopper: TTCEarlyStopping, evaluate_fn: Callable[[Any, int], Mapping[str, Any]], *,
                 flops_fn: Callable[[int], float] | None, tokens_per_step: float | None, eval_every: int | None,
                 stop_training: bool) -> None:
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
        self.stopper = stopper
        self.evaluate_fn = evaluate_fn
        self.flops_fn = flops_fn
        self.tokens_per_step = tokens_per_step
        self.eval_every = eval_every
        self.stop_training = bool(stop_training)
        self.decisions: list[Decision] = []

    def _flops(self, step: int) -> float:
        if self.flops_fn is not None:
            return float(self.flops_fn(step))
        from ttc_fast.flops import training_flops
        return float(training_flops(self.stopper.spec, step * float(self.tokens_per_step),
                                    convention=self.stopper.convention))

    def evaluate(self, model: Any, step: int) -> Decision:
        result = self.evaluate_fn(model, step)
        if not isinstance(result, Mapping):
            raise TypeError(f"evaluate_fn must return a dict (answers=, correct=, scores=), got "
                            f"{type(result).__name__}")
        allowed = {"answers", "correct", "scores", "accuracy", "accuracy_stderr"}
        extra = set(result) - allowed
        if extra:
            raise ValueError(f"evaluate_fn returned unknown keys {sorted(extra)}; allowed: {sorted(allowed)}")
        decision = self.stopper.update(step=int(step), train_flops=self._flops(int(step)), **result)
        self.decisions.append(decision)
        return decision

    @property
    def decision(self) -> Decision | None:
        return self.stopper.decision


try:  # transformers is optional
    from transformers import TrainerCallback as _TrainerCallbackBase
    _HAVE_TRANSFORMERS = True
except ImportError:  # pragma: no cover - exercised only without transformers
    _TrainerCallbackBase = object
    _HAVE_TRANSFORMERS = False


class TTCTrainerCallback(_TrainerCallbackBase, _Driver):  # type: ignore[misc, valid-type]
    """A ``transformers.TrainerCallback`` that runs the TTC-aware early stopping.

    Args:
        stopper: the :class:`TTCEarlyStopping` to feed (its journal, if any, makes a restarted run resume).
        evaluate_fn: ``evaluate_fn(model, step) -> dict(answers=, correct=, scores=)``.
        flops_fn / tokens_per_step: cumulative training FLOPs at a step (see the module docstring).
        eval_every: evaluate every that many optimizer steps (on_step_end); None: on every ``on_evaluate``.
        stop_training: set ``control.should_training_stop`` when the selector says stop (False: only record).
    """

    def __init__(self, stopper: TTCEarlyStopping, evaluate_fn: Callable[[Any, int], Mapping[str, Any]], *,
                 flops_fn: Callable[[int], float] | None = None, tokens_per_step: float | None = None,
                 eval_every: int | None = None, stop_training: bool = True) -> None:
        if not _HAVE_TRANSFORMERS:
            raise ImportError("TTCTrainerCallback needs transformers: pip install transformers")
        _Driver.__init__(self, stopper, evaluate_fn, flops_fn=flops_fn, tokens_per_step=tokens_per_step,
                         eval_every=eval_every, stop_training=stop_training)

    def _run(self, state: Any, control: Any, model: Any) -> Any:
        if model is None:
            raise ValueError("TTCTrainerCallback got no model from the Trainer")
        step = int(state.global_step)
        if self.stopper.history and self.stopper.history[-1].step == step:
            return control  # this step was already evaluated (on_step_end and on_evaluate at the same step)
        decision = self.evaluate(model, step)
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


class TTCLightningCallback(_LightningBase, _Driver):  # type: ignore[misc, valid-type]
    """A Lightning ``Callback`` that runs the TTC-aware early stopping after validation.

    Args as :class:`TTCTrainerCallback`; ``eval_every`` (global steps) skips validations in between.
    Stops with ``trainer.should_stop = True`` (Lightning then ends the fit loop, as its own EarlyStopping does).
    """

    def __init__(self, stopper: TTCEarlyStopping, evaluate_fn: Callable[[Any, int], Mapping[str, Any]], *,
                 flops_fn: Callable[[int], float] | None = None, tokens_per_step: float | None = None,
                 eval_every: int | None = None, stop_training: bool = True) -> None:
        if _LightningBase is object:
            raise ImportError("TTCLightningCallback needs Lightning: pip install lightning")
        _Driver.__init__(self, stopper, evaluate_fn, flops_fn=flops_fn, tokens_per_step=tokens_per_step,
                         eval_every=eval_every, stop_training=stop_training)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if getattr(trainer, "sanity_checking", False):
            return
        step = int(trainer.global_step)
        if self.eval_every is not None and (step == 0 or step % self.eval_every):
            return
        if self.stopper.history and self.stopper.history[-1].step == step:
            return
        decision = self.evaluate(pl_module, step)
        if decision.should_stop and self.stop_training:
            trainer.should_stop = True
