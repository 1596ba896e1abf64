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
