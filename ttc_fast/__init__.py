"""ttc_fast: test-time-compute-aware early stopping for LLM training.

Exact pass@k / maj@k / best-of-k estimators (C++), FLOP accounting for training and for K samples
that share a prompt, the TTC-aware early-stopping selector, and fast shared-prefix sampling kernels.

The public names below are imported on first use, so ``import ttc_fast`` is cheap and works
without torch; the GPU ops and the model runtime need torch (and triton for the kernels).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> submodule that defines it (the whole public API, in one place)
_EXPORTS: dict[str, str] = {
    # estimators (csrc/estimators.h)
    "EstimateResult": "estimators",
    "pass_at_k": "estimators",
    "maj_at_k": "estimators",
    "maj_at_k_counts": "estimators",
    "best_of_k": "estimators",
    "weighted_maj_at_k": "estimators",
    "cluster_answers": "estimators",
    # paired comparisons and extrapolation beyond n (ttc_fast/comparison.py, ttc_fast/extrapolation.py)
    "compare": "comparison",
    "CompareResult": "comparison",
    "extrapolate": "extrapolation",
    "ExtrapolationResult": "extrapolation",
    # FLOP accounting (csrc/flops.h)
    "ModelSpec": "flops",
    "training_flops": "flops",
    "forward_flops": "flops",
    "inference_flops": "flops",
    "kv_cache_bytes": "flops",
    "break_even": "flops",
    "BreakEven": "flops",
    "paper_break_even": "flops",
    # selector
    "Decision": "selector",
    "TTCEarlyStopping": "selector",
    "NaiveEarlyStopping": "selector",
    "select": "selector",
    # runtime (needs torch)
    "load_model": "runtime",
    "load_hf_model": "runtime",
    "generate": "runtime",
    "Samples": "runtime",
    "extract": "answers",
    "grade": "answers",
}

# subpackages reachable as attributes after a plain ``import ttc_fast`` (imported on first access: ops needs torch)
_SUBPACKAGES = ("ops",)

__all__ = sorted(_EXPORTS) + ["__version__"]


def _missing_native_module() -> ImportError:
    """The compiled core ``ttc_fast._C`` is not next to this file: say why that usually happens and what to do."""
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    msg = f"ttc_fast's compiled module _C is missing from {here}."
    if os.path.isfile(os.path.join(root, "pyproject.toml")) and os.path.isdir(os.path.join(root, "csrc")):
        msg += (f" This is the source checkout ({root}), which shadows an installed ttc_fast when Python runs from "
                f"its root (the current directory comes first on sys.path). Either install it editable, which "
                f"builds _C for this checkout: pip install -e \".[test]\" (or \".[demo]\"); or run from another "
                f"directory.")
    else:
        msg += " Reinstall the package (pip install --force-reinstall ttc_fast) so that the C++ core is built."
    return ImportError(msg)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"ttc_fast.{name}")  # the import binds it as an attribute of ttc_fast
    if name == "_C":  # `from ttc_fast import _C` looks the attribute up before importing the submodule
        try:
            return importlib.import_module("ttc_fast._C")
        except ModuleNotFoundError as err:
            if err.name != "ttc_fast._C":
                raise
            raise _missing_native_module() from None
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ttc_fast' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ttc_fast.{module}"), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return __all__ + list(_SUBPACKAGES)


if TYPE_CHECKING:  # static checkers see the real definitions
    from ttc_fast.estimators import (EstimateResult, best_of_k, cluster_answers, maj_at_k,
                                     maj_at_k_counts, pass_at_k, weighted_maj_at_k)
    from ttc_fast.answers import extract, grade
    from ttc_fast.comparison import CompareResult, compare
    from ttc_fast.extrapolation import ExtrapolationResult, extrapolate
    from ttc_fast.flops import (BreakEven, ModelSpec, break_even, forward_flops, inference_flops,
                                kv_cache_bytes, paper_break_even, training_flops)
    from ttc_fast.runtime import Samples, generate, load_hf_model, load_model
    from ttc_fast.selector import Decision, NaiveEarlyStopping, TTCEarlyStopping, select
