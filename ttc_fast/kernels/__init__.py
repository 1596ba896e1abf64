"""Triton kernels (only ``@triton.jit`` code). The launch code and validation live in ``ttc_fast.ops``."""
