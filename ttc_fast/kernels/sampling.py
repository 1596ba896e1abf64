"""Triton fused sampling kernel: one program per row, a few passes over the vocabulary, no sort.

Scaled logits ``z = (x - max x) / t`` (``_z``; rows with ``+inf`` logits: 0 there, ``-inf`` elsewhere), so the row's
maximum is 0; rows with a NaN logit or only ``-inf`` logits give token -1 (see ttc_fast/ops/sampling.py).
Thresholds are found by a FANOUT-ary search (16 candidate thresholds per vocabulary pass, so at most 8 passes
for the 2^32 keys) on the order-preserving int32 image of float32 (``key``); they are therefore exact vocabulary
values, the same the sort-based reference finds. Random numbers: ``tl.rand(seed, offset * V + i)``.
"""
import triton
import triton.language as tl


@triton.jit
def _key(z):
    """Monotone map float32 -> int32 (as int64): a < b  <=>  key(a) < key(b) (with -0.0 < +0.0)."""
    b = z.to(tl.int32, bitcast=True)
    return tl.where(b >= 0, b, b ^ 0x7FFFFFFF).to(tl.int64)


@triton.jit
def _unkey(k):
    b = k.to(tl.int32)
    return tl.where(b >= 0, b, b ^ 0x7FFFFFFF).to(tl.float32, bitcast=True)


@triton.jit
def _z(x, mx, t):
    """Scaled logits z = (x - mx) / t (+0.0 for -0.0); rows with mx = +inf: 0 at the +inf tokens, -inf elsewhere."""
    z = tl.math.div_rn(x - mx, t) + 0.0
    return tl.where(mx == float("inf"), tl.where(x == float("inf"), 0.0, float("-inf")), z)


@triton.jit
def _mass_at_least(base, V, t, mx, m, kmin, BLOCK_V: tl.constexpr):
    """(count, sum exp(z - m)) over tokens with key(z) >= max(kmin, threshold key) -- one vocabulary pass."""
    offs = tl.arange(0, BLOCK_V)
    cnt = tl.zeros([BLOCK_V], dtype=tl.int32)
    tot = tl.zeros([BLOCK_V], dtype=tl.float32)
    for v0 in range(0, V, BLOCK_V):
        mask = v0 + offs < V
        x = tl.load(base + v0 + offs, mask=mask, other=float("-inf")).to(tl.float32)
        z = _z(x, mx, t)
        keep = mask & (_key(z) >= kmin)
        cnt += keep.to(tl.int32)
        tot += tl.where(keep, tl.exp(z - m), 0.0)
    return tl.sum(cnt, axis=0), tl.sum(tot, axis=0)


@triton.jit
def _largest_key_at_least(base, V, t, mx, m, lo, hi, need, USE_MASS: tl.constexpr, BLOCK_V: tl.constexpr,
                          FANOUT: tl.constexpr):
    """Largest key K in [lo, hi] with count(key(z) >= K) >= need (USE_MASS: sum exp(z - m) >= need).

    The predicate must hold at lo and is monotone, so each pass tests FANOUT evenly spaced candidates at once and
    keeps the sub-range between the last true and the first false one.
    """
    jj = tl.arange(0, FANOUT).to(tl.int64)
    offs = tl.arange(0, BLOCK_V)
    while lo < hi:
        cand = lo + ((hi - lo + 1) * jj) // FANOUT  # [FANOUT], cand[0] == lo, non-decreasing
        acc = tl.zeros([FANOUT], dtype=tl.float32)
        for v0 in range(0, V, BLOCK_V):
            mask = v0 + offs < V
            x = tl.load(base + v0 + offs, mask=mask, other=float("-inf")).to(tl.float32)
            z = _z(x, mx, t)
            ge = (_key(z)[None, :] >= cand[:, None]) & mask[None, :]  # [FANOUT, BLOCK_V]
            if USE_MASS:
                w = tl.exp(z - m)
            else:
                w = tl.full([BLOCK_V], 1.0, tl.float32)
            acc += tl.sum(tl.where(ge, w[None, :], 0.0), axis=1)
        ok = acc >= need
        j = tl.maximum(tl.sum(ok.to(tl.int32), axis=0) - 1, 0)  # last candidate that passes
        new_lo = tl.sum(tl.where(jj == j, cand, 0), axis=0)
        new_hi = tl.where(j + 1 < FANOUT, tl.sum(tl.where(jj == j + 1, cand, 0), axis=0) - 1, hi)
        lo = new_lo
        hi = new_hi
    return lo


@triton.jit
def _sample_tokens_kernel(
    # pointers
    logits_ptr, temp_ptr, topk_ptr, topp_ptr, logminp_ptr, seed_ptr, offset_ptr, out_ptr, thr_ptr,
    # dims
    V,
    # strides
    stride_l,
    # meta
    BLOCK_V: tl.constexpr, SEARCH_BLOCK_V: tl.constexpr, FANOUT: tl.constexpr,
):
    row = tl.program_id(0).to(tl.int64)
    base = logits_ptr + row * stride_l
    offs = tl.arange(0, BLOCK_V)
    t = tl.load(temp_ptr + row)
    # pass 1: NaN count, max and min of the logits (NaN left out), the first index of the max (the greedy token)
    nan = tl.zeros([BLOCK_V], dtype=tl.int32)
    mxv = tl.full([BLOCK_V], float("-inf"), tl.float32)
    mnv = tl.full([BLOCK_V], float("inf"), tl.float32)
    best = float("-inf")
    best_i = 0
    for v0 in range(0, V, BLOCK_V):
        mask = v0 + offs < V
        x = tl.load(base + v0 + offs, mask=mask, other=float("-inf")).to(tl.float32)
        isnan = x != x
        nan += isnan.to(tl.int32)
        x = tl.where(isnan, float("-inf"), x)
        mxv = tl.maximum(mxv, x)
        mnv = tl.minimum(mnv, tl.where(mask, x, float("inf")))
        bm = tl.max(x, axis=0)
        bi = tl.argmax(x, axis=0)
        upd = bm > best
        best_i = tl.where(upd, v0 + bi, best_i)
        best = tl.where(upd, bm, best)
    mx = tl.max(mxv, axis=0)
    invalid = (tl.sum(nan, axis=0) > 0) | (mx == float("-inf"))  # no distribution: token -1
    if invalid:
        tl.store(thr_ptr + row, float("nan"))
        best_i = -1
    elif t == 0.0:  # greedy on the raw logits, smallest index on ties
        tl.store(thr_ptr + row, float("nan"))
    else:
        k = tl.load(topk_ptr + row)
        p = tl.load(topp_ptr + row)
        lmp = tl.load(logminp_ptr + row)
        seed = tl.load(seed_ptr + row)
        off = tl.load(offset_ptr + row)
        m = 0.0  # max z = _z(mx, mx, t); z is monotone in x, so min z = _z(min x, mx, t)
        lo = _key(_z(tl.min(mnv, axis=0), mx, t))
        hi = _key(_z(mx, mx, t))
        # top-k: largest key with count(key >= it) >= k (<= 8 passes with FANOUT 16)
        if k < V:
            lo = _largest_key_at_least(base, V, t, mx, m, lo, hi, k.to(tl.float32), False, SEARCH_BLOCK_V, FANOUT)
        kk = lo
        # top-p on the top-k-restricted distribution: largest key with mass(key >= it) >= p * mass(top-k)
        kp = kk
        if p < 1.0:
            _c, tot = _mass_at_least(base, V, t, mx, m, kk, BLOCK_V)
            kp = _largest_key_at_least(base, V, t, mx, m, kk, hi, p * tot, True, SEARCH_BLOCK_V, FANOUT)
        kmin = _key(m + lmp)
        kthr = tl.maximum(tl.maximum(kk, kp), kmin)
        tl.store(thr_ptr + row, _unkey(kthr))
        # sampling pass: Gumbel-max over kept tokens; the first kept token where every kept score is -inf
        best = float("-inf")
        best_i = -1
        first_kept = V
        for v0 in range(0, V, BLOCK_V):
            idx = v0 + offs
            mask = idx < V
            x = tl.load(base + idx, mask=mask, other=float("-inf")).to(tl.float32)
            z = _z(x, mx, t)
            u = tl.rand(seed, off * V + idx.to(tl.int64))
            kept = mask & (_key(z) >= kthr)
            first_kept = tl.minimum(first_kept, tl.min(tl.where(kept, idx, V), axis=0))
            score = tl.where(kept, z - tl.log(-tl.log(u)), float("-inf"))
            bm = tl.max(score, axis=0)
            bi = tl.argmax(score, axis=0)
            upd = bm > best
            best_i = tl.where(upd, v0 + bi, best_i)
            best = tl.where(upd, bm, best)
        best_i = tl.where(best == float("-inf"), tl.where(first_kept < V, first_kept, -1), best_i)
    tl.store(out_ptr + row, best_i.to(tl.int64))
