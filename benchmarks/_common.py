"""Shared helpers of the kernel benchmarks: device choice, cold-L2 timing, measured copy bandwidth."""
from __future__ import annotations

import functools
import os

import torch

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CUDA = torch.cuda.is_available()
DEVICE = "cuda" if CUDA else "cpu"


@functools.lru_cache(maxsize=1)
def _flush_buffer():
    return torch.empty(256 * 1024 * 1024, dtype=torch.uint8, device="cuda")  # > 50 MB L2 of an H200


def flush_l2():
    """Cold-L2 setup between repetitions (GPU only): overwrite a buffer 5x the L2."""
    if CUDA:
        _flush_buffer().zero_()
        torch.cuda.synchronize()


@functools.lru_cache(maxsize=1)
def measured_bandwidth() -> float:
    """Device copy bandwidth in bytes/s (read + write of a 1 GiB buffer), the 'measured HBM' of the reports."""
    if not CUDA:
        return float("nan")
    n = 1 << 30
    a = torch.empty(n, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(10):
        b.copy_(a)
    end.record()
    torch.cuda.synchronize()
    return 2 * n * 10 / (start.elapsed_time(end) / 1e3)


def run(benchmark, fn, rounds=None):
    """Time fn: on GPU cold L2, synchronised, median over many rounds; on CPU a few rounds."""
    if CUDA:
        def call():
            fn()
            torch.cuda.synchronize()
        fn()  # warm-up (compilation)
        torch.cuda.synchronize()
        return benchmark.pedantic(call, setup=flush_l2, rounds=rounds or (20 if CI else 100), iterations=1)
    fn()  # warm-up
    return benchmark.pedantic(fn, rounds=rounds or (3 if CI else 7), iterations=1)
