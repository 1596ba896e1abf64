"""Triton shared-prefix (cascade) decode attention.

One launch computes partial (o, lse) pairs, a tiny second launch merges them:

* prefix programs, grid slot (tile, kv head, split): a tile is up to BLOCK_M // G samples of ONE prompt; their
  queries times the G heads of the kv head form the M side ``[BLOCK_M, D]`` of ``tl.dot`` against prefix tiles
  ``[BLOCK_N, D]`` -- the prompt's prefix is read once per tile instead of once per sample. The prefix of a prompt is
  cut into SPLITS equal chunks (flash-decoding split-K) so few-prompt batches still fill the GPU.
* suffix programs, grid slot (sample, kv head, suffix split): the G heads of one sample (padded to BLOCK_G >= 16
  rows) against a chunk of that sample's own suffix, masked by its length (SUFFIX_SPLITS chunks for long suffixes
  with few samples).
* the merge kernel combines the SPLITS + SUFFIX_SPLITS partials of each (sample, head) through their natural-log
  LSE.

Softmax runs in base 2 internally (exp2, scale folded with log2(e)); the LSE written out is natural log.
Partials with no keys carry lse = -inf and o = 0, so empty prefixes and empty suffixes never make NaN.
"""
import triton
import triton.language as tl

LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453


@triton.jit
def _partial_attention(q, k_base, v_base, stride_kn, stride_vn, n_start, n_end, offs_d, mask_d,
                       qk_scale, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
                       IEEE: tl.constexpr):
    """Online softmax of q [BLOCK_M, BLOCK_D] over keys n_start..n_end; returns (acc/l, lse natural)."""
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    offs_n = tl.arange(0, BLOCK_N)
    for n0 in range(n_start, n_end, BLOCK_N):
        cols = n0 + offs_n
        mask_n = cols < n_end
        kv_mask = mask_n[:, None] & mask_d[None, :]
        k = tl.load(k_base + cols[:, None].to(tl.int64) * stride_kn + offs_d[None, :], mask=kv_mask, other=0.0)
        v = tl.load(v_base + cols[:, None].to(tl.int64) * stride_vn + offs_d[None, :], mask=kv_mask, other=0.0)
        if IEEE:
            s = tl.dot(q, tl.trans(k), input_precision="ieee")
        else:
            s = tl.dot(q, tl.trans(k))
        s = tl.where(mask_n[None, :], s * qk_scale, float("-inf"))  # [BLOCK_M, BLOCK_N], base-2 logits
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        if IEEE:
            acc = acc * alpha[:, None] + tl.dot(p, v.to(tl.float32), input_precision="ieee")
        else:
            acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new
    has = l_i > 0.0
    o = acc / tl.where(has, l_i, 1.0)[:, None]
    lse = tl.where(has, (m_i + tl.log2(tl.where(has, l_i, 1.0))) * 0.6931471805599453, float("-inf"))
    return o, lse


@triton.jit
def _prefix_program(pid, q_ptr, kp_ptr, vp_ptr, prefix_indptr_ptr, qo_indptr_ptr, tile_prompt_ptr, tile_start_ptr,
                    o_part_ptr, lse_part_ptr, HKV, D, qk_scale,
                    stride_qt, stride_qh, stride_kpn, stride_kph, stride_vpn, stride_vph,
                    stride_os, stride_ot, stride_oh, stride_ls, stride_lt,
                    G: tl.constexpr, SPLITS: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                    BLOCK_D: tl.constexpr, IEEE: tl.constexpr):
    """(tile, kv head, split): the tile's samples x G heads as the M side against one chunk of the prefix."""
    offs_d = tl.arange(0, BLOCK_D)
    mask_d = offs_d < D
    split = pid % SPLITS
    hkv = (pid // SPLITS) % HKV
    tile = pid // (SPLITS * HKV)
    prompt = tl.load(tile_prompt_ptr + tile)  # -1 for unused tiles
    t0 = tl.load(tile_start_ptr + tile)
    ok = prompt >= 0
    pr = tl.where(ok, prompt, 0)
    t_end = tl.where(ok, tl.load(qo_indptr_ptr + pr + 1), 0)
    a = tl.load(prefix_indptr_ptr + pr)
    b = tl.where(ok, tl.load(prefix_indptr_ptr + pr + 1), a)
    chunk = tl.cdiv(tl.cdiv(b - a, SPLITS), BLOCK_N) * BLOCK_N
    n_start = tl.minimum(a + split * chunk, b)
    n_end = tl.minimum(n_start + chunk, b)
    r = tl.arange(0, BLOCK_M)  # M side: sample t0 + r // G, head hkv * G + r % G
    ts = t0 + r // G
    hs = hkv * G + r % G
    row_ok = (r < (BLOCK_M // G) * G) & (ts < t_end)
    ts64 = ts.to(tl.int64)
    q = tl.load(q_ptr + ts64[:, None] * stride_qt + hs[:, None] * stride_qh + offs_d[None, :],
                mask=row_ok[:, None] & mask_d[None, :], other=0.0)  # [BLOCK_M, BLOCK_D]
    o, lse = _partial_attention(q, kp_ptr + hkv * stride_kph, vp_ptr + hkv * stride_vph, stride_kpn, stride_vpn,
                                n_start, n_end, offs_d, mask_d, qk_scale, BLOCK_M, BLOCK_N, BLOCK_D, IEEE)
    tl.store(o_part_ptr + split * stride_os + ts64[:, None] * stride_ot + hs[:, None] * stride_oh + offs_d[None, :],
             o, mask=row_ok[:, None] & mask_d[None, :])
    tl.store(lse_part_ptr + split * stride_ls + ts64 * stride_lt + hs, lse, mask=row_ok)


@triton.jit
def _suffix_program(sp, q_ptr, ks_ptr, vs_ptr, suffix_lens_ptr, o_part_ptr, lse_part_ptr, HKV, D, qk_scale,
                    stride_qt, stride_qh, stride_kst, stride_ksn, stride_ksh, stride_vst, stride_vsn, stride_vsh,
                    stride_os, stride_ot, stride_oh, stride_ls, stride_lt,
                    G: tl.constexpr, SPLITS: tl.constexpr, SUFFIX_SPLITS: tl.constexpr, BLOCK_G: tl.constexpr,
                    BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, IEEE: tl.constexpr):
    """(sample, kv head, suffix split): the G heads (padded to BLOCK_G rows) against a chunk of the own suffix."""
    offs_d = tl.arange(0, BLOCK_D)
    mask_d = offs_d < D
    ssplit = sp % SUFFIX_SPLITS
    hkv = (sp // SUFFIX_SPLITS) % HKV
    t = (sp // (SUFFIX_SPLITS * HKV)).to(tl.int64)
    slen = tl.load(suffix_lens_ptr + t)
    chunk = tl.cdiv(tl.cdiv(slen, SUFFIX_SPLITS), BLOCK_N) * BLOCK_N
    n_start = tl.minimum(ssplit * chunk, slen)
    n_end = tl.minimum(n_start + chunk, slen)
    g = tl.arange(0, BLOCK_G)
    hs = hkv * G + g
    row_ok = g < G
    q = tl.load(q_ptr + t * stride_qt + hs[:, None] * stride_qh + offs_d[None, :],
                mask=row_ok[:, None] & mask_d[None, :], other=0.0)  # [BLOCK_G, BLOCK_D]
    o, lse = _partial_attention(q, ks_ptr + t * stride_kst + hkv * stride_ksh,
                                vs_ptr + t * stride_vst + hkv * stride_vsh, stride_ksn, stride_vsn,
                                n_start, n_end, offs_d, mask_d, qk_scale, BLOCK_G, BLOCK_N, BLOCK_D, IEEE)
    slot = SPLITS + ssplit
    tl.store(o_part_ptr + slot * stride_os + t * stride_ot + hs[:, None] * stride_oh + offs_d[None, :],
             o, mask=row_ok[:, None] & mask_d[None, :])
    tl.store(lse_part_ptr + slot * stride_ls + t * stride_lt + hs, lse, mask=row_ok)


@triton.jit
def _shared_prefix_partial_kernel(
    # pointers
    q_ptr, kp_ptr, vp_ptr, ks_ptr, vs_ptr, prefix_indptr_ptr, qo_indptr_ptr, suffix_lens_ptr,
    tile_prompt_ptr, tile_start_ptr, o_part_ptr, lse_part_ptr,
    # dims
    T, HKV, NUM_TILES, D, qk_scale,
    # strides
    stride_qt, stride_qh, stride_kpn, stride_kph, stride_vpn, stride_vph,
    stride_kst, stride_ksn, stride_ksh, stride_vst, stride_vsn, stride_vsh,
    stride_os, stride_ot, stride_oh, stride_ls, stride_lt,
    # meta
    G: tl.constexpr, SPLITS: tl.constexpr, SUFFIX_SPLITS: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_G: tl.constexpr,
    BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, IEEE: tl.constexpr,
):
    """One launch: programs [0, NUM_TILES*HKV*SPLITS) do prefix chunks, the rest do suffix chunks."""
    pid = tl.program_id(0)
    num_prefix_programs = NUM_TILES * HKV * SPLITS
    if pid < num_prefix_programs:
        _prefix_program(pid, q_ptr, kp_ptr, vp_ptr, prefix_indptr_ptr, qo_indptr_ptr, tile_prompt_ptr,
                        tile_start_ptr, o_part_ptr, lse_part_ptr, HKV, D, qk_scale,
                        stride_qt, stride_qh, stride_kpn, stride_kph, stride_vpn, stride_vph,
                        stride_os, stride_ot, stride_oh, stride_ls, stride_lt,
                        G, SPLITS, BLOCK_M, BLOCK_N, BLOCK_D, IEEE)
    else:
        _suffix_program(pid - num_prefix_programs, q_ptr, ks_ptr, vs_ptr, suffix_lens_ptr, o_part_ptr, lse_part_ptr,
                        HKV, D, qk_scale, stride_qt, stride_qh, stride_kst, stride_ksn, stride_ksh,
                        stride_vst, stride_vsn, stride_vsh, stride_os, stride_ot, stride_oh, stride_ls, stride_lt,
                        G, SPLITS, SUFFIX_SPLITS, BLOCK_G, BLOCK_N, BLOCK_D, IEEE)


@triton.jit
def _merge_partials_kernel(
    # pointers
    o_part_ptr, lse_part_ptr, out_ptr, lse_ptr,
    # dims
    HQ, D,
    # strides
    stride_os, stride_ot, stride_oh, stride_ls, stride_lt, stride_out_t, stride_out_h,
    # meta
    NUM_PARTS: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_D: tl.constexpr, WRITE_LSE: tl.constexpr,
):
    pid = tl.program_id(0)
    t = (pid // HQ).to(tl.int64)
    h = pid % HQ
    s = tl.arange(0, BLOCK_S)
    d = tl.arange(0, BLOCK_D)
    ms = s < NUM_PARTS
    md = d < D
    lse = tl.load(lse_part_ptr + s * stride_ls + t * stride_lt + h, mask=ms, other=float("-inf"))  # [BLOCK_S]
    m = tl.max(lse, axis=0)
    m_safe = tl.where(m == float("-inf"), 0.0, m)
    w = tl.where(ms, tl.exp(lse - m_safe), 0.0)  # 0 for empty partials
    den = tl.sum(w, axis=0)
    o = tl.load(o_part_ptr + s[:, None] * stride_os + t * stride_ot + h * stride_oh + d[None, :],
                mask=ms[:, None] & md[None, :], other=0.0)
    acc = tl.sum(o * w[:, None], axis=0) / tl.where(den > 0.0, den, 1.0)
    tl.store(out_ptr + t * stride_out_t + h * stride_out_h + d, acc.to(out_ptr.dtype.element_ty), mask=md)
    if WRITE_LSE:
        safe_den = tl.where(den > 0.0, den, 1.0)
        tl.store(lse_ptr + t * HQ + h, tl.where(den > 0.0, m_safe + tl.log(safe_den), float("-inf")))


@triton.jit
def _append_suffix_kv_kernel(
    # pointers
    ks_ptr, vs_ptr, lens_ptr, kn_ptr, vn_ptr,
    # dims
    HKV, D,
    # strides
    stride_kst, stride_ksn, stride_ksh, stride_vst, stride_vsn, stride_vsh,
    stride_knt, stride_knh, stride_vnt, stride_vnh,
    # meta
    BLOCK_D: tl.constexpr,
):
    pid = tl.program_id(0)  # one program per (sample, kv head)
    t = (pid // HKV).to(tl.int64)
    h = pid % HKV
    pos = tl.load(lens_ptr + t).to(tl.int64)
    d = tl.arange(0, BLOCK_D)
    md = d < D
    k = tl.load(kn_ptr + t * stride_knt + h * stride_knh + d, mask=md, other=0.0)
    v = tl.load(vn_ptr + t * stride_vnt + h * stride_vnh + d, mask=md, other=0.0)
    tl.store(ks_ptr + t * stride_kst + pos * stride_ksn + h * stride_ksh + d, k.to(ks_ptr.dtype.element_ty), mask=md)
    tl.store(vs_ptr + t * stride_vst + pos * stride_vsn + h * stride_vsh + d, v.to(vs_ptr.dtype.element_ty), mask=md)
