"""Model runtime: load a checkpoint (or wrap a live transformers model) and draw n samples per prompt fast.

Two engines behind one ``generate``: ttc_fast's own (:mod:`~ttc_fast.runtime.generate`, the families of
:mod:`~ttc_fast.runtime.models`) and transformers ``generate`` (:mod:`~ttc_fast.runtime.hf_engine`, any causal LM).
"""
from ttc_fast.runtime.generate import Samples, generate
from ttc_fast.runtime.hf_engine import HFModel, load_hf_model
from ttc_fast.runtime.loading import load_model
from ttc_fast.runtime.models import Model

__all__ = ["HFModel", "Model", "Samples", "generate", "load_hf_model", "load_model"]
