"""Launch code for the Triton vote kernel (validation happens in ttc_fast.ops.vote)."""
from __future__ import annotations

import torch
import triton

from ttc_fast.kernels.vote import _vote_kernel

MAX_N = 8192  # one program holds a row in registers


def vote_triton(a: torch.Tensor, *, winner, winner_count, runner_up_count, cluster_ids, cluster_sizes, abstentions):
    P, N = a.shape  # [P, N] int64, contiguous
    if N > MAX_N:
        raise ValueError(f"vote(backend='triton') supports N <= {MAX_N} samples per problem, got N={N}")
    block_n = triton.next_power_of_2(N)
    chunk = min(block_n, 32, max(2, 16384 // block_n))  # [BLOCK_N, CHUNK] compare tile <= 16k elements
    scratch = torch.empty((P, N), dtype=torch.int32, device=a.device)
    _vote_kernel[(P,)](a, winner, winner_count, runner_up_count, cluster_ids, cluster_sizes, abstentions, scratch,
                       N, a.stride(0), cluster_ids.stride(0), BLOCK_N=block_n, CHUNK=chunk,
                       num_warps=4 if block_n <= 256 else 8)
