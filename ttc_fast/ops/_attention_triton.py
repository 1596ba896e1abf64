"""Launch code for the Triton shared-prefix attention (validation happens in ttc_fast.ops.attention).

Everything here is sync-free: the tile -> (prompt, first sample) map is built with device-side torch ops from
``qo_indptr``, and the grid size only depends on host-known sizes (T, P, Hkv, the split count), so the call can be
captured in a CUDA graph.
"""
from __future__ import annotations

import math

import torch
import triton

from ttc_fast.kernels.attention import (LOG2E, _append_suffix_kv_kernel, _merge_partials_kernel,
                                       _shared_prefix_partial_kernel)


def cuda_config(G: int, D: int, dtype: torch.dtype = torch.bfloat16) -> dict:
    """Launch configuration of the partial kernel on CUDA for GQA group ``G``, head_dim ``D`` and input dtype.

    Chosen by the sm_90a resource figures of ``ptxas -v`` (benchmarks/kernel_resources.py; the table is in
    BENCHMARKS.md): no configuration may spill registers. At BLOCK_D = 128 the 64 x 64 tile on four warps spilled
    (255 registers, 100 bytes of spill stores at G = 6); on eight warps it takes 189 registers. A 128-row query tile
    (BLOCK_N 32, 244 registers, no spill) halves the prefix re-reads per prompt; which of the two is faster is a GPU
    measurement (benchmarks/gpu_suite.sh sweeps both), so the 64-row tile stays until then. fp32 inputs take the
    IEEE (non-tensor-core) dot, whose operands need several times the registers: smaller tiles.
    """
    block_d = triton.next_power_of_2(D)
    if dtype == torch.float32:
        bm, bn, warps = (32, 16, 4) if block_d <= 64 else (16, 32, 8) if block_d <= 128 else (16, 16, 8)
    elif block_d <= 64:
        bm, bn, warps = 64, 64, 4
    elif block_d <= 128:
        bm, bn, warps = 64, 64, 8
    else:
        bm, bn, warps = 32, 32, 8
    return dict(BLOCK_M=max(bm, triton.next_power_of_2(G)), BLOCK_N=bn, num_warps=warps, num_stages=2)


def merge_num_warps(D: int) -> int:
    return 1 if triton.next_power_of_2(D) <= 64 else 2


def _config(q: torch.Tensor, G: int):
    if q.is_cuda:
        return cuda_config(G, q.shape[-1], q.dtype)
    return dict(BLOCK_M=max(16, triton.next_power_of_2(G)), BLOCK_N=16, num_warps=1, num_stages=1)


def num_splits(sms, esize, max_tiles, T, Hkv, Hq, D, total_prefix, P, S_max, block_n):
    """(prefix splits, suffix splits) on a GPU of ``sms`` multiprocessors for inputs of ``esize`` bytes per element:
    enough CTAs for ~2 waves, balanced per-CTA key counts, and the fp32 partial traffic (each split writes and the
    merge reads T*Hq*D*4 bytes) kept below ~25% of the unique KV bytes."""
    kv_bytes = (total_prefix + T * S_max) * 2 * Hkv * D * esize
    part_bytes = 2 * T * Hq * D * 4
    budget = max(1, int(0.25 * kv_bytes // part_bytes))  # total partial slots affordable (>= 2 always used)
    ssplits = max(1, min(-(-2 * sms // max(1, T * Hkv)), -(-S_max // (4 * block_n)), 16))
    keys_per_suffix_cta = max(block_n, S_max // ssplits)
    avg_prefix = total_prefix / max(P, 1)
    free_ctas = max(0, 2 * sms - T * Hkv * ssplits)
    splits = max(1, min(-(-free_ctas // max(1, max_tiles * Hkv)), int(avg_prefix // keys_per_suffix_cta) or 1, 16))
    while splits + ssplits > max(2, budget) and (splits > 1 or ssplits > 1):
        if splits >= ssplits:
            splits -= 1
        else:
            ssplits -= 1
    return int(splits), int(ssplits)


def tile_map(qo_indptr: torch.Tensor, block_t: int, max_tiles: int):
    """(tile_prompt, tile_start) int32 [max_tiles]: prompt of each tile (-1 unused) and its first sample row."""
    qo = qo_indptr.to(torch.int32)
    P = qo.numel() - 1
    n = qo[1:] - qo[:-1]
    ends = torch.cumsum((n + block_t - 1) // block_t, 0)  # [P] tile_indptr[1:]
    i = torch.arange(max_tiles, device=qo.device, dtype=ends.dtype)
    pr = torch.searchsorted(ends, i, right=True)  # [max_tiles], P when beyond the last tile
    prc = pr.clamp(max=P - 1)
    first_tile = ends[prc] - (n[prc] + block_t - 1) // block_t
    start = qo[prc] + (i - first_tile) * block_t
    prompt = torch.where(pr < P, pr, torch.full_like(pr, -1))
    return prompt.to(torch.int32), start.to(torch.int32)


def attention_triton(q, k_prefix, v_prefix, prefix_indptr, qo_indptr, k_suffix, v_suffix, suffix_lens,
                     sm_scale, return_lse, out, *, num_splits=None, num_suffix_splits=None, config=None):
    T, Hq, D = q.shape  # q [T, Hq, D]; k_prefix [L, Hkv, D]; k_suffix [T, S, Hkv, D]
    Hkv = k_prefix.shape[1]
    G = Hq // Hkv
    P = qo_indptr.numel() - 1
    dev = q.device
    if out is None:
        out = torch.empty_like(q)
    lse = torch.empty((T, Hq), dtype=torch.float32, device=dev) if return_lse else out.new_empty(1)
    if T == 0:
        return (out, lse) if return_lse else out
    cfg = dict(_config(q, G), **(config or {}))
    block_m, block_n = cfg["BLOCK_M"], cfg["BLOCK_N"]
    if block_m < G:
        raise ValueError(f"BLOCK_M={block_m} must be >= the GQA group size {G}")
    block_t = block_m // G
    max_tiles = -(-T // block_t) + P
    S_max = k_suffix.shape[1]
    splits, ssplits = 1, 1
    if q.is_cuda:
        sms = torch.cuda.get_device_properties(q.device).multi_processor_count
        splits, ssplits = num_splits(sms, q.element_size(), max_tiles, T, Hkv, Hq, D, k_prefix.shape[0], P, S_max,
                                     block_n)
    splits, ssplits = num_splits or splits, num_suffix_splits or ssplits
    tile_prompt, tile_start = tile_map(qo_indptr, block_t, max_tiles)
    # every feature dimension must be contiguous for the pointer arithmetic below
    q, k_prefix, v_prefix = (x if x.stride(-1) == 1 else x.contiguous() for x in (q, k_prefix, v_prefix))
    k_suffix, v_suffix = (x if x.stride(-1) == 1 else x.contiguous() for x in (k_suffix, v_suffix))
    parts = splits + ssplits
    o_part = torch.empty((parts, T, Hq, D), dtype=torch.float32, device=dev)  # fp32 partial outputs
    lse_part = torch.empty((parts, T, Hq), dtype=torch.float32, device=dev)
    scale = (1.0 / math.sqrt(D) if sm_scale is None else float(sm_scale)) * LOG2E
    block_d = triton.next_power_of_2(D)
    grid = (max_tiles * Hkv * splits + T * Hkv * ssplits,)
    _shared_prefix_partial_kernel[grid](
        q, k_prefix, v_prefix, k_suffix, v_suffix, prefix_indptr.to(torch.int32), qo_indptr.to(torch.int32),
        suffix_lens.to(torch.int32), tile_prompt, tile_start, o_part, lse_part,
        T, Hkv, max_tiles, D, scale,
        q.stride(0), q.stride(1), k_prefix.stride(0), k_prefix.stride(1), v_prefix.stride(0), v_prefix.stride(1),
        k_suffix.stride(0), k_suffix.stride(1), k_suffix.stride(2),
        v_suffix.stride(0), v_suffix.stride(1), v_suffix.stride(2),
        o_part.stride(0), o_part.stride(1), o_part.stride(2), lse_part.stride(0), lse_part.stride(1),
        G=G, SPLITS=splits, SUFFIX_SPLITS=ssplits, BLOCK_M=block_m,
        BLOCK_G=max(16, triton.next_power_of_2(G)), BLOCK_N=block_n,
        BLOCK_D=block_d, IEEE=q.dtype == torch.float32, num_warps=cfg["num_warps"], num_stages=cfg["num_stages"])
    if out.stride(-1) != 1:
        raise ValueError("out must have a contiguous last dimension")
    _merge_partials_kernel[(T * Hq,)](
        o_part, lse_part, out, lse, Hq, D,
        o_part.stride(0), o_part.stride(1), o_part.stride(2), lse_part.stride(0), lse_part.stride(1),
        out.stride(0), out.stride(1),
        NUM_PARTS=parts, BLOCK_S=triton.next_power_of_2(parts), BLOCK_D=block_d,
        WRITE_LSE=return_lse, num_warps=merge_num_warps(D))
    return (out, lse) if return_lse else out


def append_triton(k_suffix, v_suffix, suffix_lens, k_new, v_new):
    T, S, Hkv, D = k_suffix.shape  # cache [T, S, Hkv, D]; new [T, Hkv, D]
    if T == 0:
        return
    if k_suffix.stride(-1) != 1 or v_suffix.stride(-1) != 1:
        raise ValueError("k_suffix / v_suffix must have a contiguous last dimension")
    k_new, v_new = k_new.contiguous(), v_new.contiguous()
    _append_suffix_kv_kernel[(T * Hkv,)](
        k_suffix, v_suffix, suffix_lens, k_new, v_new, Hkv, D,
        k_suffix.stride(0), k_suffix.stride(1), k_suffix.stride(2),
        v_suffix.stride(0), v_suffix.stride(1), v_suffix.stride(2),
        k_new.stride(0), k_new.stride(1), v_new.stride(0), v_new.stride(1),
        BLOCK_D=triton.next_power_of_2(D), num_warps=1)
