"""Triton vote kernel: one program per problem, O(N^2 / CHUNK) equality compares, no sort needed."""
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
    BLOCK_N: tl.constexpr, CHUNK: tl.constexpr,
):
    row = tl.program_id(0).to(tl.int64)
    i = tl.arange(0, BLOCK_N)  # [BLOCK_N] positions of this row
    mi = i < N
    a = tl.load(ans_ptr + row * stride_a + i, mask=mi, other=-2)
    valid = (a >= 0) & mi
    cnt = tl.zeros([BLOCK_N], dtype=tl.int32)
    before = tl.zeros([BLOCK_N], dtype=tl.int32)
    for j0 in range(0, N, CHUNK):  # count equal ids, and equal ids at earlier positions
        j = j0 + tl.arange(0, CHUNK)
        mj = j < N
        b = tl.load(ans_ptr + row * stride_a + j, mask=mj, other=-2)
        eq = (a[:, None] == b[None, :]) & mj[None, :]  # [BLOCK_N, CHUNK]
        cnt += tl.sum(eq.to(tl.int32), axis=1)
        before += tl.sum((eq & (j[None, :] < i[:, None])).to(tl.int32), axis=1)
    first = valid & (before == 0)  # one representative per cluster
    size = tl.where(first, cnt, 0)
    tl.store(scratch_ptr + row * N + i, size, mask=mi)
    tl.debug_barrier()  # the rank loop reads the sizes other threads wrote
    rank = tl.zeros([BLOCK_N], dtype=tl.int32)
    for j0 in range(0, N, CHUNK):  # rank = clusters before me in (count desc, id asc) order
        j = j0 + tl.arange(0, CHUNK)
        mj = j < N
        b = tl.load(ans_ptr + row * stride_a + j, mask=mj, other=-2)
        sb = tl.load(scratch_ptr + row * N + j, mask=mj, other=0)
        prec = (sb[None, :] > size[:, None]) | ((sb[None, :] == size[:, None]) & (b[None, :] < a[:, None]))
        rank += tl.sum((prec & (sb[None, :] > 0)).to(tl.int32), axis=1)
    num_clusters = tl.sum(first.to(tl.int32), axis=0)
    # padding at positions >= num_clusters, clusters scattered to their rank (disjoint addresses)
    pad = mi & (i >= num_clusters)
    tl.store(cids_ptr + row * stride_c + i, tl.full([BLOCK_N], -2, tl.int64), mask=pad)
    tl.store(csizes_ptr + row * stride_c + i, tl.zeros([BLOCK_N], dtype=tl.int64), mask=pad)
    tl.store(cids_ptr + row * stride_c + rank, a, mask=first)
    tl.store(csizes_ptr + row * stride_c + rank, size.to(tl.int64), mask=first)
    wc = tl.max(size, axis=0)
    big = tl.full([BLOCK_N], 9223372036854775807, tl.int64)
    w = tl.min(tl.where(first & (size == wc), a, big), axis=0)
    w = tl.where(wc > 0, w, -1)
    ru = tl.max(tl.where(first & (rank == 1), size, 0), axis=0)
    ab = tl.sum((a == -1).to(tl.int32), axis=0)
    tl.store(winner_ptr + row, w.to(tl.int64))
    tl.store(wcount_ptr + row, wc.to(tl.int64))
    tl.store(runner_ptr + row, ru.to(tl.int64))
    tl.store(abst_ptr + row, ab.to(tl.int64))
