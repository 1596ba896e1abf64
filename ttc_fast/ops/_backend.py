"""Backend selection shared by the ops: validate the ``backend`` argument, never fall back silently.

``auto``  -> the kernel for CUDA tensors (Triton; CUDA C++ where an op has it), the torch reference otherwise.
``triton`` -> the Triton kernel; needs CUDA tensors, or CPU tensors with ``TRITON_INTERPRET=1`` (the interpreter).
``cuda``  -> the CUDA C++ kernel of ``ttc_fast._C_cuda`` (only ops that have one); needs CUDA tensors.
``torch`` -> the plain PyTorch reference (``<op>_ref``).
"""
from __future__ import annotations

import os

import torch

BACKENDS = ("auto", "triton", "cuda", "torch")

try:  # the optional CUDA module, built when nvcc is found at install time
    from ttc_fast import _C_cuda  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the build
    _C_cuda = None


def interpreter_enabled() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def resolve_backend(backend: str, device: torch.device, *, op: str, has_cuda: bool = False) -> str:
    """Return the concrete backend (``"triton"``, ``"cuda"`` or ``"torch"``) for tensors on ``device``."""
    if backend not in BACKENDS:
        raise ValueError(f"{op}: backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        if device.type == "cuda":
            return "cuda" if (has_cuda and _C_cuda is not None) else "triton"
        return "torch"
    if backend == "torch":
        return "torch"
    if backend == "triton":
        if device.type != "cuda" and not interpreter_enabled():
            raise ValueError(f"{op}: backend='triton' needs CUDA tensors (got device {device}); "
                             "set TRITON_INTERPRET=1 before importing triton to run the kernel on CPU")
        try:
            import triton  # noqa: F401
        except ImportError as e:  # pragma: no cover
            raise RuntimeError(f"{op}: backend='triton' needs the triton package (pip install triton)") from e
        return "triton"
    # backend == "cuda"
    if not has_cuda:
        raise ValueError(f"{op}: has no CUDA C++ kernel; use backend='triton' or 'torch'")
    if _C_cuda is None:
        raise RuntimeError(f"{op}: backend='cuda' needs the optional module ttc_fast._C_cuda, which was not built. "
                           "Install with nvcc on PATH (CUDA toolkit >= 12) and the CMake option on: "
                           "pip install --no-build-isolation -e . -Ccmake.define.TTC_FAST_CUDA=ON")
    if device.type != "cuda":
        raise ValueError(f"{op}: backend='cuda' needs CUDA tensors, got device {device}")
    return "cuda"


def check_tensor(name: str, x, *, ndim: int | None = None, dtypes=None, device: torch.device | None = None):
    """Type/shape/dtype/device validation with errors that name the argument."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    if dtypes is not None and x.dtype not in dtypes:
        raise TypeError(f"{name} must have dtype in {[str(d) for d in dtypes]}, got {x.dtype}")
    if device is not None and x.device != device:
        raise ValueError(f"{name} must be on device {device}, got {x.device}")


def capturing(device: torch.device) -> bool:
    """True while a CUDA graph is being captured (value checks that need a host sync are skipped then)."""
    return device.type == "cuda" and torch.cuda.is_current_stream_capturing()
