"""Launch code for the Triton vote kernel (validation happens in ttc_fast.ops.vote)."""
from __future__ import annotations

import torch
import triton

from ttc_fast.kernels.vote import _vote_kernel

MAX_N = 8192  # one program per row, O(N^2) compares: longer rows go to the sort-based torch path


def launch_config(N: int) -> dict:
    """Meta-parameters of the vote kernel for N samples per problem (sm_90a resources: BENCHMARKS.md)."""
    block_i = min(triton.next_power_of_2(N), 256)  # positions per block; the row is walked block by block
    return dict(BLOCK_I=block_i, CHUNK=min(block_i, 16), num_warps=4)  # [256, 16] compare tile


def vote_triton(a: torch.Tensor, *, winner, winner_count, runner_up_count, cluster_ids, cluster_sizes, abstentions,
                config: dict | None = None):
    P, N = a.shape  # [P, N] int64, contiguous
    if N > MAX_N:
        raise ValueError(f"vote(backend='triton') supports N <= {MAX_N} samples per problem, got N={N}")
    scratch = torch.empty((P, N), dtype=torch.int32, device=a.device)
    _vote_kernel[(P,)](a, winner, winner_count, runner_up_count, cluster_ids, cluster_sizes, abstentions, scratch,
                       N, a.stride(0), cluster_ids.stride(0), **(config or launch_config(N)))
