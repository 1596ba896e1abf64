"""Triton fused sampling kernel: one program per row, a few passes over the vocabulary, no sort.

Thresholds are found by bisection on the order-preserving int32 image of float32 (``key``), so they are exact
vocabulary values (the same the sort-based reference finds). Random numbers: ``tl.rand(seed, offset * V + i)``.
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
def _mass_at_least(base, V, t, m, kmin, BLOCK_V: tl.constexpr):
    """(count, sum exp(z - m)) over tokens with key(z) >= max(kmin, threshold key) -- one vocabulary pass."""
    offs = tl.arange(0, BLOCK_V)
    cnt = tl.zeros([BLOCK_V], dtype=tl.int32)
    tot = tl.zeros([BLOCK_V], dtype=tl.float32)
    for v0 in range(0, V, BLOCK_V):
        mask = v0 + offs < V
        x = tl.load(base + v0 + offs, mask=mask, other=float("-inf")).to(tl.float32)
        z = tl.math.div_rn(x, t) + 0.0
        keep = mask & (_key(z) >= kmin)
        cnt += keep.to(tl.int32)
        tot += tl.where(keep, tl.exp(z - m), 0.0)
    return tl.sum(cnt, axis=0), tl.sum(tot, axis=0)


@triton.jit
def _sample_tokens_kernel(
    # pointers
    logits_ptr, temp_ptr, topk_ptr, topp_ptr, logminp_ptr, seed_ptr, offset_ptr, out_ptr, thr_ptr,
    # dims
    V,
    # strides
    stride_l,
    # meta
    BLOCK_V: tl.constexpr,
):
    row = tl.program_id(0).to(tl.int64)
    base = logits_ptr + row * stride_l
    offs = tl.arange(0, BLOCK_V)
    t = tl.load(temp_ptr + row)
    best = float("-inf")
    best_i = 0
    if t == 0.0:  # greedy on the raw logits, smallest index on ties
        for v0 in range(0, V, BLOCK_V):
            mask = v0 + offs < V
            x = tl.load(base + v0 + offs, mask=mask, other=float("-inf")).to(tl.float32)
            bm = tl.max(x, axis=0)
            bi = tl.argmax(x, axis=0)
            upd = bm > best
            best_i = tl.where(upd, v0 + bi, best_i)
            best = tl.where(upd, bm, best)
        tl.store(thr_ptr + row, float("nan"))
    else:
        k = tl.load(topk_ptr + row)
        p = tl.load(topp_ptr + row)
        lmp = tl.load(logminp_ptr + row)
        seed = tl.load(seed_ptr + row)
        off = tl.load(offset_ptr + row)
        # pass 1: max and min of z = x / t
        mx = tl.full([BLOCK_V], float("-inf"), tl.float32)
        mn = tl.full([BLOCK_V], float("inf"), tl.float32)
        for v0 in range(0, V, BLOCK_V):
            mask = v0 + offs < V
            x = tl.load(base + v0 + offs, mask=mask, other=float("-inf")).to(tl.float32)
            z = tl.math.div_rn(x, t) + 0.0
            mx = tl.maximum(mx, z)
            mn = tl.minimum(mn, tl.where(mask, z, float("inf")))
        m = tl.max(mx, axis=0)
        lo = _key(tl.min(mn, axis=0))
        hi = _key(m)
        # top-k: largest key with count(key >= it) >= k (bisection, <= 32 passes)
        if k < V:
            while lo < hi:
                mid = lo + (hi - lo + 1) // 2
                c, _s = _mass_at_least(base, V, t, m, mid, BLOCK_V)
                if c >= k:
                    lo = mid
                else:
                    hi = mid - 1
        kk = lo
        # top-p on the top-k-restricted distribution: largest key with mass(key >= it) >= p * mass(top-k)
        kp = kk
        if p < 1.0:
            _c, tot = _mass_at_least(base, V, t, m, kk, BLOCK_V)
            target = p * tot
            lo = kk
            hi = _key(m)
            while lo < hi:
                mid = lo + (hi - lo + 1) // 2
                _c2, s = _mass_at_least(base, V, t, m, mid, BLOCK_V)
                if s >= target:
                    lo = mid
                else:
                    hi = mid - 1
            kp = lo
        kmin = _key(m + lmp)
        kthr = tl.maximum(tl.maximum(kk, kp), kmin)
        tl.store(thr_ptr + row, _unkey(kthr))
        # sampling pass: Gumbel-max over kept tokens
        for v0 in range(0, V, BLOCK_V):
            idx = v0 + offs
            mask = idx < V
            x = tl.load(base + idx, mask=mask, other=float("-inf")).to(tl.float32)
            z = tl.math.div_rn(x, t) + 0.0
            u = tl.rand(seed, off * V + idx.to(tl.int64))
            score = z - tl.log(-tl.log(u))
            score = tl.where(mask & (_key(z) >= kthr), score, float("-inf"))
            bm = tl.max(score, axis=0)
            bi = tl.argmax(score, axis=0)
            upd = bm > best
            best_i = tl.where(upd, v0 + bi, best_i)
            best = tl.where(upd, bm, best)
    tl.store(out_ptr + row, best_i.to(tl.int64))
