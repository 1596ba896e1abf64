"""FlashInfer as a side-by-side baseline, when it is installed (the GPU script carries it as a wheel).

Imported only through :func:`flashinfer_or_skip`, so the benchmarks run without it. ``TTC_FLASHINFER=0`` switches it
off (benchmarks/gpu_suite.sh sets it when FlashInfer's first-use JIT compile did not finish within its bound), and
``TTC_FLASHINFER_SKIP`` carries the reason into the skip message. API used (FlashInfer's documentation):
``MultiLevelCascadeAttentionWrapper`` (two levels over one paged KV table: the shared prefix, then each sample's
own suffix) and ``flashinfer.sampling`` (``top_k_top_p_sampling_from_logits``, ``min_p_sampling_from_probs``).
"""
from __future__ import annotations

import os

import pytest
import torch


def flashinfer_or_skip():
    """The flashinfer module, or pytest.skip with the reason it is not used."""
    if not torch.cuda.is_available():
        pytest.skip("FlashInfer runs on CUDA only")
    if os.environ.get("TTC_FLASHINFER", "1") == "0":
        pytest.skip(os.environ.get("TTC_FLASHINFER_SKIP", "FlashInfer switched off (TTC_FLASHINFER=0)"))
    try:
        import flashinfer
    except Exception as e:  # noqa: BLE001 - not installed, or its import fails on this machine: say which
        pytest.skip(f"FlashInfer not importable: {type(e).__name__}: {e}"[:300])
    return flashinfer


def cascade_attention_fn(flashinfer, q, kp, vp, ks, vs, suffix_len: int, page_size: int = 16):
    """FlashInfer two-level cascade for ONE prompt: level 0 = the prefix (all N queries), level 1 = each sample's
    suffix. Builds the paged KV table [pages, 2, page_size, Hkv, D] (prefix pages, then N x suffix pages) outside the
    timing; returns the callable that runs one decode step (``wrapper.run``)."""
    N, Hq, D = q.shape
    P, Hkv, _ = kp.shape
    dev = q.device
    if suffix_len < 1 or P < 1:
        raise ValueError(f"the cascade baseline needs a non-empty prefix and suffix, got P={P}, S={suffix_len}")

    def pages(k, v):  # [L, Hkv, D] x 2 -> [ceil(L / page), 2, page, Hkv, D], zero-padded
        L = k.shape[0]
        n = max(1, -(-L // page_size))
        out = torch.zeros(n, 2, page_size, Hkv, D, dtype=k.dtype, device=dev)
        out[:, 0].view(-1, Hkv, D)[:L] = k
        out[:, 1].view(-1, Hkv, D)[:L] = v
        return out, n, L - (n - 1) * page_size if L else page_size

    pre, n_pre, last_pre = pages(kp, vp)
    suf = [pages(ks[i, :suffix_len], vs[i, :suffix_len]) for i in range(N)]
    cache = torch.cat([pre] + [s[0] for s in suf])
    i32 = dict(dtype=torch.int32, device=dev)
    n_suf = torch.tensor([s[1] for s in suf], **i32)
    suf_indptr = torch.cat([torch.zeros(1, **i32), n_suf.cumsum(0).to(torch.int32)])
    workspace = torch.empty(256 * 1024 * 1024, dtype=torch.uint8, device=dev)
    w = flashinfer.MultiLevelCascadeAttentionWrapper(2, workspace, "NHD")
    w.plan([torch.tensor([0, N], **i32), torch.arange(N + 1, **i32)],
           [torch.tensor([0, n_pre], **i32), suf_indptr],
           [torch.arange(n_pre, **i32), torch.arange(n_pre, n_pre + int(n_suf.sum()), **i32)],
           [torch.tensor([last_pre], **i32), torch.tensor([s[2] for s in suf], **i32)],
           Hq, Hkv, D, page_size, causal=False, q_data_type=q.dtype, kv_data_type=kp.dtype)
    return lambda: w.run(q, cache)
