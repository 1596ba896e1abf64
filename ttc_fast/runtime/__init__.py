"""Model runtime: load a checkpoint (or wrap a live transformers model) and draw n samples per prompt fast."""
from ttc_fast.runtime.generate import Samples, generate
from ttc_fast.runtime.loading import load_model
from ttc_fast.runtime.models import Model

__all__ = ["Model", "Samples", "generate", "load_model"]
