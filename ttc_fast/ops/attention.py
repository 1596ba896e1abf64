"""Shared-prefix (cascade) decode attention: one decode step for all samples of all prompts.

Layout (mirrors FlashInfer's cascade / flash-attn varlen conventions):

- ``q``            ``[T, Hq, D]``: one query per sample; samples are grouped by prompt,
  the samples of prompt ``p`` are rows ``qo_indptr[p]:qo_indptr[p+1]``.
- ``k_prefix``, ``v_prefix`` ``[total_prefix_tokens, Hkv, D]``: each prompt's KV stored ONCE,
  packed (CSR ``prefix_indptr``).
- ``k_suffix``, ``v_suffix`` ``[T, S_max, Hkv, D]``: per-sample generated KV; sample ``t`` attends
  ``suffix_lens[t]`` rows.
- ``Hq = G * Hkv`` (GQA group G); query head ``h`` reads KV head ``h // G``.

The attention of sample t is softmax over (its prompt's prefix ++ its own suffix). It is computed as two partial
attentions merged through their log-sum-exp: ``lse = logaddexp(lse_prefix, lse_suffix)`` and
``o = o_prefix * exp(lse_prefix - lse) + o_suffix * exp(lse_suffix - lse)``.

LSE convention: NATURAL log of sum(exp(sm_scale * q.k)), float32, ``[T, Hq]``. (FlashInfer returns base-2 LSE,
``lse2 = lse / ln 2``; convert before mixing the two.) A sample with no keys at all (empty prefix and empty suffix)
gets ``o = 0`` and ``lse = -inf``, never NaN.
"""
from __future__ import annotations

import math

import torch

from ttc_fast.ops._backend import capturing, check_tensor, resolve_backend

_FLOAT = (torch.float32, torch.float16, torch.bfloat16)
_INDEX = (torch.int32, torch.int64)


def _validate(q, k_prefix, v_prefix, prefix_indptr, qo_indptr, k_suffix, v_suffix, suffix_lens, out, values=True):
    check_tensor("q", q, ndim=3, dtypes=_FLOAT)
    dev = q.device
    check_tensor("k_prefix", k_prefix, ndim=3, dtypes=(q.dtype,), device=dev)
    check_tensor("v_prefix", v_prefix, ndim=3, dtypes=(q.dtype,), device=dev)
    check_tensor("k_suffix", k_suffix, ndim=4, dtypes=(q.dtype,), device=dev)
    check_tensor("v_suffix", v_suffix, ndim=4, dtypes=(q.dtype,), device=dev)
    check_tensor("prefix_indptr", prefix_indptr, ndim=1, dtypes=_INDEX, device=dev)
    check_tensor("qo_indptr", qo_indptr, ndim=1, dtypes=_INDEX, device=dev)
    check_tensor("suffix_lens", suffix_lens, ndim=1, dtypes=_INDEX, device=dev)
    T, Hq, D = q.shape
    L, Hkv, Dk = k_prefix.shape
    if v_prefix.shape != k_prefix.shape:
        raise ValueError(f"v_prefix shape {tuple(v_prefix.shape)} != k_prefix shape {tuple(k_prefix.shape)}")
    if Dk != D:
        raise ValueError(f"k_prefix head_dim {Dk} != q head_dim {D}")
    if Hkv == 0 or Hq % Hkv != 0:
        raise ValueError(f"q heads ({Hq}) must be a multiple of kv heads ({Hkv})")
    if k_suffix.shape[0] != T or k_suffix.shape[2] != Hkv or k_suffix.shape[3] != D:
        raise ValueError(f"k_suffix must be [T={T}, S_max, Hkv={Hkv}, D={D}], got {tuple(k_suffix.shape)}")
    if v_suffix.shape != k_suffix.shape:
        raise ValueError(f"v_suffix shape {tuple(v_suffix.shape)} != k_suffix shape {tuple(k_suffix.shape)}")
    if suffix_lens.shape[0] != T:
        raise ValueError(f"suffix_lens must have T={T} entries, got {suffix_lens.shape[0]}")
    if prefix_indptr.shape[0] < 1 or qo_indptr.shape != prefix_indptr.shape:
        raise ValueError(f"prefix_indptr {tuple(prefix_indptr.shape)} and qo_indptr {tuple(qo_indptr.shape)} "
                         "must both be [P+1] with P >= 0")
    if out is not None:
        check_tensor("out", out, ndim=3, dtypes=_FLOAT, device=dev)
        if out.shape != q.shape:
            raise ValueError(f"out shape {tuple(out.shape)} != q shape {tuple(q.shape)}")
    if not values or capturing(dev):  # value checks need a host sync; skipped while a CUDA graph is captured
        return
    for name, ptr, end in (("prefix_indptr", prefix_indptr, L), ("qo_indptr", qo_indptr, T)):
        if int(ptr[0]) != 0 or int(ptr[-1]) != end:
            raise ValueError(f"{name} must start at 0 and end at {end}, got {ptr[0].item()}..{ptr[-1].item()}")
        if ptr.numel() > 1 and bool((ptr[1:] < ptr[:-1]).any()):
            raise ValueError(f"{name} must be non-decreasing, got {ptr.tolist()[:16]}")
    if T and (bool((suffix_lens < 0).any()) or bool((suffix_lens > k_suffix.shape[1]).any())):
        raise ValueError(f"suffix_lens must lie in [0, S_max={k_suffix.shape[1]}], got "
                         f"min {int(suffix_lens.min())} max {int(suffix_lens.max())}")


def _merge(o_a, lse_a, o_b, lse_b):
    """Merge two partial attentions (fp32) through natural-log LSE; -inf on both sides gives o = 0, lse = -inf."""
    lse = torch.logaddexp(lse_a, lse_b)
    safe = torch.where(torch.isfinite(lse), lse, torch.zeros_like(lse))
    w_a = torch.exp(lse_a - safe).unsqueeze(-1)
    w_b = torch.exp(lse_b - safe).unsqueeze(-1)
    return o_a * w_a + o_b * w_b, lse


def shared_prefix_attention_ref(q, k_prefix, v_prefix, prefix_indptr, qo_indptr, k_suffix, v_suffix, suffix_lens,
                                *, sm_scale=None, return_lse=False, out=None):
    """Plain-PyTorch reference of :func:`shared_prefix_attention` (fp32 accumulation; the CPU path).

    Per prompt, the ``n_p * G`` queries of each KV head are the M side of ONE matmul against that prompt's prefix
    keys (no per-sample copy of the prefix); the suffix is attended per sample with a length mask; the two are merged
    through the natural-log LSE. Returns ``out`` ``[T, Hq, D]`` (dtype of ``q`` unless ``out`` is given) and,
    with ``return_lse``, ``lse`` ``[T, Hq]`` float32.
    """
    _validate(q, k_prefix, v_prefix, prefix_indptr, qo_indptr, k_suffix, v_suffix, suffix_lens, out)
    return _attention_torch(q, k_prefix, v_prefix, prefix_indptr, qo_indptr, k_suffix, v_suffix, suffix_lens,
                            sm_scale, return_lse, out)


def _attention_torch(q, k_prefix, v_prefix, prefix_indptr, qo_indptr, k_suffix, v_suffix, suffix_lens,
                     sm_scale, return_lse, out):
    T, Hq, D = q.shape
    Hkv = k_prefix.shape[1]
    G = Hq // Hkv
    scale = 1.0 / math.sqrt(D) if sm_scale is None else float(sm_scale)
    qf = q.float() * scale  # [T, Hq, D]
    o_pre = q.new_zeros((T, Hq, D), dtype=torch.float32)
    lse_pre = q.new_full((T, Hq), float("-inf"), dtype=torch.float32)
    pi, qi = prefix_indptr.tolist(), qo_indptr.tolist()
    for p in range(len(pi) - 1):
        a, b, t0, t1 = pi[p], pi[p + 1], qi[p], qi[p + 1]
        n = t1 - t0
        if n == 0 or b == a:
            continue
        # M side: the n samples x G heads of each kv head -> [Hkv, n*G, D]
        qp = qf[t0:t1].view(n, Hkv, G, D).permute(1, 0, 2, 3).reshape(Hkv, n * G, D)
        kp = k_prefix[a:b].float().permute(1, 2, 0)  # [Hkv, D, L]
        vp = v_prefix[a:b].float().permute(1, 0, 2)  # [Hkv, L, D]
        s = torch.bmm(qp, kp)  # [Hkv, n*G, L]
        m = s.amax(-1, keepdim=True)
        e = torch.exp(s - m)
        den = e.sum(-1, keepdim=True)
        o = torch.bmm(e, vp) / den  # [Hkv, n*G, D]
        lse = (m + torch.log(den)).squeeze(-1)  # [Hkv, n*G]
        o_pre[t0:t1] = o.view(Hkv, n, G, D).permute(1, 0, 2, 3).reshape(n, Hq, D)
        lse_pre[t0:t1] = lse.view(Hkv, n, G).permute(1, 0, 2).reshape(n, Hq)
    # suffix: per sample, masked by its length, over the written part of the buffer only (S_max may be 0); one
    # batched matmul over samples per kv head reads the [T, S, Hkv, D] cache through strided views (no copy)
    S = min(k_suffix.shape[1], int(suffix_lens.max())) if T > 0 else 0
    if S > 0:
        qs = qf.view(T, Hkv, G, D)
        ks, vs = k_suffix[:, :S].float(), v_suffix[:, :S].float()
        s = torch.stack([torch.bmm(qs[:, h], ks[:, :, h].transpose(1, 2)) for h in range(Hkv)], 1)  # [T,Hkv,G,S]
        valid = torch.arange(S, device=q.device)[None, :] < suffix_lens[:, None]  # [T, S]
        s = s.masked_fill(~valid[:, None, None, :], float("-inf"))
        m = s.amax(-1, keepdim=True)
        m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
        e = torch.exp(s - m)
        den = e.sum(-1, keepdim=True)
        o_suf = torch.stack([torch.bmm(e[:, h], vs[:, :, h]) for h in range(Hkv)], 1) / den.clamp_min(1e-30)
        lse_suf = torch.where(den > 0, m + torch.log(den), torch.full_like(den, float("-inf")))
        o, lse = _merge(o_pre, lse_pre, o_suf.reshape(T, Hq, D), lse_suf.reshape(T, Hq))
    else:
        o, lse = o_pre, lse_pre
    if out is None:
        out = o.to(q.dtype)
    else:
        out.copy_(o)
    return (out, lse) if return_lse else out


def shared_prefix_attention(q, k_prefix, v_prefix, prefix_indptr, qo_indptr, k_suffix, v_suffix, suffix_lens,
                            *, sm_scale=None, return_lse=False, out=None, backend="auto", validate=True):
    """One decode step of attention for all samples, the prompt's KV read once for all of its samples.

    Args:
        q: ``[T, Hq, D]`` fp32/fp16/bf16, one query per sample, grouped by prompt.
        k_prefix, v_prefix: ``[total_prefix_tokens, Hkv, D]``, same dtype, each prompt's KV once (CSR packed).
        prefix_indptr: ``[P+1]`` int32/int64, non-decreasing, ``0 .. total_prefix_tokens``.
        qo_indptr: ``[P+1]`` int32/int64, non-decreasing, ``0 .. T``: prompt p owns rows
            ``qo_indptr[p]:qo_indptr[p+1]``.
        k_suffix, v_suffix: ``[T, S_max, Hkv, D]`` per-sample suffix cache.
        suffix_lens: ``[T]`` int32/int64 in ``[0, S_max]`` (0 allowed).
        sm_scale: softmax scale, default ``1/sqrt(D)``.
        return_lse: also return ``lse`` ``[T, Hq]`` float32, natural log (FlashInfer uses base 2).
        out: optional preallocated ``[T, Hq, D]`` output (CUDA graphs).
        backend: ``"auto"`` (Triton on CUDA, torch on CPU), ``"triton"``, ``"torch"``. No CUDA C++ kernel.
        validate: check the index values (indptr bounds and order, suffix lengths); each check reads the device
            and so synchronises the host with it. ``False`` keeps only the shape/dtype/device checks: for callers
            that checked the same indices once already (ttc_fast's runtime checks them in the first layer only).

    Returns: ``out`` or ``(out, lse)``. Fully asynchronous on CUDA (value checks are skipped while a graph is
    being captured); accumulation in fp32.
    """
    _validate(q, k_prefix, v_prefix, prefix_indptr, qo_indptr, k_suffix, v_suffix, suffix_lens, out, validate)
    impl = resolve_backend(backend, q.device, op="shared_prefix_attention")
    if impl == "torch":
        return _attention_torch(q, k_prefix, v_prefix, prefix_indptr, qo_indptr, k_suffix, v_suffix, suffix_lens,
                                sm_scale, return_lse, out)
    from ttc_fast.ops._attention_triton import attention_triton
    return attention_triton(q, k_prefix, v_prefix, prefix_indptr, qo_indptr, k_suffix, v_suffix, suffix_lens,
                            sm_scale, return_lse, out)


def append_suffix_kv(k_suffix, v_suffix, suffix_lens, k_new, v_new, *, backend="auto", validate=True):
    """Write this step's K/V ``[T, Hkv, D]`` into the suffix cache at row ``suffix_lens[t]`` of each sample, in place.

    ``suffix_lens`` is NOT incremented (the caller does ``suffix_lens += 1`` after the step). Requires
    ``suffix_lens < S_max`` (checked unless a CUDA graph is being captured). Sync-free on CUDA.
    ``backend``: ``"auto"`` (Triton on CUDA, an indexed torch write on CPU), ``"triton"``, ``"torch"``.
    ``validate=False`` skips the ``suffix_lens`` range check (a host sync), as in :func:`shared_prefix_attention`.
    """
    check_tensor("k_suffix", k_suffix, ndim=4, dtypes=_FLOAT)
    dev = k_suffix.device
    check_tensor("v_suffix", v_suffix, ndim=4, dtypes=(k_suffix.dtype,), device=dev)
    check_tensor("suffix_lens", suffix_lens, ndim=1, dtypes=_INDEX, device=dev)
    check_tensor("k_new", k_new, ndim=3, device=dev)
    check_tensor("v_new", v_new, ndim=3, device=dev)
    T, S, Hkv, D = k_suffix.shape
    if v_suffix.shape != k_suffix.shape:
        raise ValueError(f"v_suffix shape {tuple(v_suffix.shape)} != k_suffix shape {tuple(k_suffix.shape)}")
    for name, x in (("k_new", k_new), ("v_new", v_new)):
        if tuple(x.shape) != (T, Hkv, D):
            raise ValueError(f"{name} must be [T={T}, Hkv={Hkv}, D={D}], got {tuple(x.shape)}")
    if suffix_lens.shape[0] != T:
        raise ValueError(f"suffix_lens must have T={T} entries, got {suffix_lens.shape[0]}")
    if validate and not capturing(dev) and T and (bool((suffix_lens < 0).any()) or bool((suffix_lens >= S).any())):
        raise ValueError(f"suffix_lens must lie in [0, S_max={S}) to append, got max {int(suffix_lens.max())}")
    if resolve_backend(backend, dev, op="append_suffix_kv") == "triton":
        from ttc_fast.ops._attention_triton import append_triton
        append_triton(k_suffix, v_suffix, suffix_lens, k_new, v_new)
        return
    rows = torch.arange(T, device=dev)
    idx = suffix_lens.long()
    k_suffix[rows, idx] = k_new.to(k_suffix.dtype)
    v_suffix[rows, idx] = v_new.to(v_suffix.dtype)
