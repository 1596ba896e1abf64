"""Vote aggregation at 10,000 problems x N = 256: ttc_fast.vote vs Counter, torch.mode, sort + unique_consecutive.

impl: ttc_fast (CUDA C++ kernel when built, else Triton, on CUDA; C++ counting vote on CPU), ttc_fast_triton (GPU),
      counter (collections.Counter per problem), torch_mode (winner only; its tie rule differs CPU vs GPU),
      sort_unique (per-problem torch.unique(return_counts)).
Run:  pytest benchmarks/bench_vote.py --benchmark-json=out.json   (CI=true: 1,000 problems)
"""
from __future__ import annotations

from collections import Counter

import pytest
import torch

from _common import CI, CUDA, DEVICE, run
from ttc_fast.ops import vote

P, N = (1000 if CI else 10000), 256
IMPLS = ["ttc_fast", "counter", "torch_mode", "sort_unique"] + (["ttc_fast_triton"] if CUDA else [])


def counter_vote(rows):
    out = []
    for row in rows:
        c = Counter(x for x in row if x >= 0)
        out.append(min(c.items(), key=lambda kv: (-kv[1], kv[0])) if c else (-1, 0))
    return out


def sort_unique(a):
    return [torch.unique(r[r >= 0], return_counts=True) for r in a]


@pytest.mark.parametrize("impl", IMPLS)
def test_vote(benchmark, impl):
    g = torch.Generator().manual_seed(0)
    a = torch.randint(-1, 32, (P, N), generator=g)
    if impl == "counter":
        rows = a.tolist()  # conversion outside the timing (a user's lists)
        fn = lambda: counter_vote(rows)  # noqa: E731
    else:
        a = a.to(DEVICE)
        fn = {"ttc_fast": lambda: vote(a), "ttc_fast_triton": lambda: vote(a, backend="triton"),
              "torch_mode": lambda: torch.mode(a, 1), "sort_unique": lambda: sort_unique(a)}[impl]
    run(benchmark, fn, rounds=3 if impl in ("counter", "sort_unique") else None)
    if benchmark.stats is None:  # --benchmark-disable: the code ran once, nothing to report
        return
    benchmark.extra_info.update(P=P, N=N, device=DEVICE, problems_per_s=P / benchmark.stats.stats.median)
