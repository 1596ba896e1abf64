"""Triton vote kernel: one program per problem, O(N^2 / CHUNK) equality compares, no sort needed.

The row is walked in blocks of BLOCK_I positions (outer loop) against blocks of CHUNK positions (inner loop), so
the registers a program needs do not grow with N (a whole row of 8192 int64 ids held in registers spilled; see
the sm_90a resource table in BENCHMARKS.md). Pass 1 counts each position's id and the equal ids before it (the
first occurrence represents the cluster) and writes the cluster sizes to ``scratch``; pass 2 ranks the clusters
(count descending, id ascending) against those sizes and scatters them to their rank.
"""
import triton
import triton.language as tl


@triton.jit
def _vote_kernel(
    # pointers
    ans_ptr, winner_ptr, wcount_ptr, runner_ptr, cids_ptr, csizes_ptr, abst_ptr, scratch_ptr,
    # dims
    N,
    # strides (rows; columns are contiguous)
    stride_a, stride_c,
    # meta
    BLOCK_I: tl.constexpr, CHUNK: tl.constexpr,
):
    row = tl.program_id(0).to(tl.int64)
    arow = ans_ptr + row * stride_a
    srow = scratch_ptr + row * N
    # pass 1: cluster sizes at each cluster's first position (0 elsewhere), the cluster count, the winner's count
    num_clusters = 0
    wc = 0
    ab = 0
    for i0 in range(0, N, BLOCK_I):
        i = i0 + tl.arange(0, BLOCK_I)  # [BLOCK_I] positions of this block
        mi = i < N
        a = tl.load(arow + i, mask=mi, other=-2)
        cnt = tl.zeros([BLOCK_I], dtype=tl.int32)
        before = tl.zeros([BLOCK_I], dtype=tl.int32)
        for j0 in range(0, N, CHUNK):  # count equal ids, and equal ids at earlier positions
            j = j0 + tl.arange(0, CHUNK)
            mj = j < N
            b = tl.load(arow + j, mask=mj, other=-3)
            eq = a[:, None] == b[None, :]  # [BLOCK_I, CHUNK]
            cnt += tl.sum(eq.to(tl.int32), axis=1)
            before += tl.sum((eq & (j[None, :] < i[:, None])).to(tl.int32), axis=1)
        first = (a >= 0) & mi & (before == 0)  # one representative per cluster
        size = tl.where(first, cnt, 0)
        tl.store(srow + i, size, mask=mi)
        num_clusters += tl.sum(first.to(tl.int32), axis=0)
        wc = tl.maximum(wc, tl.max(size, axis=0))
        ab += tl.sum((a == -1).to(tl.int32), axis=0)
    tl.debug_barrier()  # pass 2 reads the sizes other threads wrote
    # pass 2: rank = clusters before me in (count desc, id asc) order; scatter clusters to their rank
    big = 9223372036854775807
    w = tl.full([], big, tl.int64)
    ru = 0
    for i0 in range(0, N, BLOCK_I):
        i = i0 + tl.arange(0, BLOCK_I)
        mi = i < N
        a = tl.load(arow + i, mask=mi, other=-2)
        size = tl.load(srow + i, mask=mi, other=0)
        first = size > 0
        rank = tl.zeros([BLOCK_I], dtype=tl.int32)
        for j0 in range(0, N, CHUNK):
            j = j0 + tl.arange(0, CHUNK)
            mj = j < N
            b = tl.load(arow + j, mask=mj, other=-2)
            sb = tl.load(srow + j, mask=mj, other=0)
            prec = (sb[None, :] > size[:, None]) | ((sb[None, :] == size[:, None]) & (b[None, :] < a[:, None]))
            rank += tl.sum((prec & (sb[None, :] > 0)).to(tl.int32), axis=1)
        # padding at positions >= num_clusters, clusters at their rank (< num_clusters): disjoint addresses
        pad = mi & (i >= num_clusters)
        tl.store(cids_ptr + row * stride_c + i, tl.full([BLOCK_I], -2, tl.int64), mask=pad)
        tl.store(csizes_ptr + row * stride_c + i, tl.zeros([BLOCK_I], dtype=tl.int64), mask=pad)
        tl.store(cids_ptr + row * stride_c + rank, a, mask=first)
        tl.store(csizes_ptr + row * stride_c + rank, size.to(tl.int64), mask=first)
        w = tl.minimum(w, tl.min(tl.where(first & (size == wc), a, big), axis=0))
        ru = tl.maximum(ru, tl.max(tl.where(first & (rank == 1), size, 0), axis=0))
    w = tl.where(wc > 0, w, -1)
    tl.store(winner_ptr + row, w.to(tl.int64))
    tl.store(wcount_ptr + row, wc.to(tl.int64))
    tl.store(runner_ptr + row, ru.to(tl.int64))
    tl.store(abst_ptr + row, ab.to(tl.int64))
