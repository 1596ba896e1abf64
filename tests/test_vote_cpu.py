"""The C++ CPU vote (csrc/vote.h, ``ttc_fast._C.vote``) == the plain-torch reference ``_vote_torch``, exactly.

(tests/test_vote.py checks both against a collections.Counter brute force; this one covers many rows, so the C++
loop runs on several threads, and the dtype/layout of what comes back.)
"""
import dataclasses

import pytest
import torch

from ttc_fast.ops import vote_ref
from ttc_fast.ops.vote import _vote_cpu, _vote_torch


def assert_same(a, b):
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype == torch.int64 and x.shape == y.shape, f.name
        assert torch.equal(x, y), f.name


# N = 1 (one sample), 7 (odd), 256 (the benchmark width); id ranges: many ties (4) / few ties (10^12)
@pytest.mark.parametrize("N", [1, 7, 256])
@pytest.mark.parametrize("hi", [4, 10**12])
def test_cpu_equals_torch(N, hi):
    g = torch.Generator().manual_seed(N + hi % 1000)
    a = torch.randint(0, hi, (300, N), generator=g)
    a[torch.rand(a.shape, generator=g) < 0.2] = -1  # abstentions
    a[torch.rand(a.shape, generator=g) < 0.1] = -2  # padding
    assert_same(_vote_cpu(a), _vote_torch(a))
    t = a.t().contiguous().t()  # non-contiguous input (copied first)
    assert_same(vote_ref(t), _vote_torch(t))


def test_cpu_empty():
    for shape in [(0, 5), (3, 0), (0, 0)]:
        a = torch.zeros(shape, dtype=torch.int64)
        assert_same(_vote_cpu(a), _vote_torch(a))


def test_cpu_rejects_ids_below_minus_two():
    # the C++ path checks the values itself (vote/vote_ref skip the Python min scan on CPU)
    a = torch.zeros((50, 7), dtype=torch.int64)
    a[31, 4] = -5
    with pytest.raises(ValueError, match=r">= -2 .*got -5"):
        vote_ref(a)
    with pytest.raises(ValueError, match=r">= -2 .*got -5"):
        _vote_cpu(a)


# ---- the C++ counting paths (direct count array / hash table + bucket sort) vs an independent Counter reference

def counter_ref(a):
    """VoteResult fields as lists, from collections.Counter (no sort of the samples, no torch)."""
    from collections import Counter

    rows = a.tolist()
    n = a.shape[1]
    out = {"winner": [], "winner_count": [], "runner_up_count": [], "cluster_ids": [], "cluster_sizes": [],
           "abstentions": []}
    for row in rows:
        clusters = sorted(Counter(x for x in row if x >= 0).items(), key=lambda kv: (-kv[1], kv[0]))
        sizes = [c for _, c in clusters]
        out["winner"].append(clusters[0][0] if clusters else -1)
        out["winner_count"].append(sizes[0] if sizes else 0)
        out["runner_up_count"].append(sizes[1] if len(sizes) > 1 else 0)
        out["cluster_ids"].append([k for k, _ in clusters] + [-2] * (n - len(clusters)))
        out["cluster_sizes"].append(sizes + [0] * (n - len(clusters)))
        out["abstentions"].append(row.count(-1))
    return out


def assert_counter(a):
    res, ref = _vote_cpu(a), counter_ref(a)
    for name, want in ref.items():
        got = getattr(res, name)
        assert got.dtype == torch.int64, name
        assert got.tolist() == want, name


def adversarial_rows(N, g):
    """[R, N] rows that hit each path and corner of csrc/vote.h."""
    big = 2**62
    rows = [
        torch.arange(N),                                         # all distinct, dense
        torch.arange(N).flip(0) * 7 + 3,                         # all distinct, dense-ish stride
        torch.randperm(N, generator=g) * (big // max(N, 1)),     # all distinct, spread to 2**62 (hash, buckets)
        torch.randint(0, big, (N,), generator=g),                # random huge ids (hash)
        torch.full((N,), 5),                                     # all equal
        torch.full((N,), big),                                   # all equal, huge
        torch.full((N,), -1),                                    # all abstain
        torch.full((N,), -2),                                    # all padding
        torch.randint(-2, 0, (N,), generator=g),                 # mixed -1 / -2 only
        torch.arange(N) % 2 * big,                               # two huge clusters, tied (id 0 vs 2**62)
        torch.arange(N) % 3 + big - 3,                           # three ties just below 2**62 (dense, huge offset)
        torch.arange(N) % max(N // 4, 1) * 1000003,              # many 4-way ties, sparse (hash, maxc > 1)
        torch.arange(N) // 2,                                    # all pairs: ties of 2 (dense, counting sort)
        torch.tensor([big - 1, 0] * (N // 2) + [7] * (N % 2)),   # extremes of the range
        (torch.arange(N) % 64) * (2**40) + (torch.arange(N) % 3),  # clustered huge ids: large MSD buckets
        torch.cat([torch.arange(N // 2) * 2**50, torch.full((N - N // 2,), 3)]),  # one big cluster + sparse
        torch.cat([torch.tensor([big]), torch.arange(N) * 1001]),  # one outlier: one large MSD bucket (std::sort)
        torch.cat([torch.arange(40) * 1001, torch.randint(0, big, (N,), generator=g)]),  # a bucket of ~40
    ]
    a = torch.stack([r.to(torch.int64)[:N] for r in rows])
    # plus random rows with ragged padding (a random tail of -2) and scattered -1
    rnd = torch.randint(0, 6, (24, N), generator=g)
    rnd[8:16] = torch.randint(0, 10**12, (8, N), generator=g)
    rnd[16:] = torch.randint(0, 3 * N, (8, N), generator=g)  # around the dense/hash threshold
    rnd[torch.rand(rnd.shape, generator=g) < 0.15] = -1
    keep = torch.randint(0, N + 1, (24, 1), generator=g)
    rnd[torch.arange(N).expand(24, N) >= keep] = -2
    return torch.cat([a, rnd])


@pytest.mark.parametrize("N", [1, 2, 3, 33, 256, 4096])
def test_cpu_vs_counter_adversarial(N):
    g = torch.Generator().manual_seed(N)
    a = adversarial_rows(N, g)
    assert_counter(a)
    assert_counter(a[torch.randperm(a.shape[0], generator=g)].repeat(4, 1))  # many rows: several threads
    perm = torch.randperm(N, generator=g)
    assert_counter(a[:, perm].contiguous())  # sample order does not matter


def test_cpu_dense_hash_threshold():
    # valid-id spans just below / at / above the direct-count limit (2N + 64) give the same answers
    N = 50
    g = torch.Generator().manual_seed(3)
    rows = []
    for span in [2 * N + 62, 2 * N + 63, 2 * N + 64, 2 * N + 65, 4 * N]:
        r = torch.randint(0, span, (N,), generator=g)
        r[0], r[1] = 10**9, 10**9 + span  # span exactly, at a large offset
        rows.append(r)
    assert_counter(torch.stack(rows))


def test_cpu_rejects_low_values_anywhere():
    # the check runs inside the threaded row loop: the message names the smallest value of the whole input
    a = torch.randint(0, 10**12, (4000, 64), generator=torch.Generator().manual_seed(1))
    a[17, 3], a[3999, 63], a[2000, 0] = -3, -7, -2**63
    with pytest.raises(ValueError, match=r">= -2 .*got -9223372036854775808"):
        _vote_cpu(a)
    b = torch.zeros((100, 8), dtype=torch.int64)
    b[99, 7] = -3
    with pytest.raises(ValueError, match=r">= -2 .*got -3$"):
        _vote_cpu(b)


@pytest.mark.parametrize("N", [1, 5, 64])
def test_cpu_vs_counter_property(N):
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    # per row one id distribution: dense small ids, a wider range, huge ids, mixed edge values
    ids = [st.integers(-2, 6), st.integers(-2, 200), st.integers(-2, 2**63 - 1),
           st.sampled_from([0, 1, 2**62, 2**62 + 1, 2**63 - 1, -1, -2])]
    row = st.one_of(*(st.lists(x, min_size=N, max_size=N) for x in ids))

    @hypothesis.settings(max_examples=150, deadline=None, derandomize=True)
    @hypothesis.given(st.lists(row, min_size=1, max_size=20))
    def check(rows):
        assert_counter(torch.tensor(rows, dtype=torch.int64))

    check()
