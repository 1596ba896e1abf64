"""Launch code for the Triton sampling kernel (validation happens in ttc_fast.ops.sampling)."""
from __future__ import annotations

import torch
import triton

from ttc_fast.kernels.sampling import _sample_tokens_kernel


def launch_config(V: int, cuda: bool = True, block_v: int | None = None) -> dict:
    """Meta-parameters of the sampling kernel for vocabulary size ``V`` (sm_90a resources: BENCHMARKS.md)."""
    if block_v is None:
        block_v = min(triton.next_power_of_2(V), 4096 if cuda else 1024)
    return dict(BLOCK_V=block_v, SEARCH_BLOCK_V=max(16, block_v // 4), FANOUT=16,
                num_warps=8 if block_v >= 2048 else 4)


def sample_triton(logits, temp, k, p, log_min_p, seeds, offsets, return_threshold=False, block_v=None):
    B, V = logits.shape  # [B, V]
    if logits.stride(1) != 1:
        logits = logits.contiguous()
    out = torch.empty(B, dtype=torch.int64, device=logits.device)
    thr = torch.empty(B, dtype=torch.float32, device=logits.device)
    if B:
        cfg = launch_config(V, logits.is_cuda, block_v)
        _sample_tokens_kernel[(B,)](logits, temp.contiguous(), k.contiguous(), p.contiguous(),
                                    log_min_p.contiguous(), seeds.contiguous(), offsets.contiguous(), out, thr,
                                    V, logits.stride(0), **cfg)
    return (out, thr) if return_threshold else out
