"""Token sampling: ttc_fast.sample_tokens vs torch softmax + multinomial and a sort-based top-p sampler.

impl: ttc_fast (Triton on CUDA, the torch reference on CPU), torch_multinomial (softmax + multinomial),
      torch_top_p_sort (sort + cumsum + mask + multinomial, the usual HF/vLLM-style top-p).
Run:  pytest benchmarks/bench_sampling.py --benchmark-json=out.json   (CI=true shrinks the grid)
"""
from __future__ import annotations

import pytest
import torch

from _common import CI, CUDA, DEVICE, run
from ttc_fast.ops import sample_tokens

if CUDA:
    GRID = [(64, 32000), (1024, 32000), (4096, 32000), (64, 152064), (1024, 152064), (4096, 152064)]
    if CI:
        GRID = GRID[:2]
else:
    GRID = [(64, 32000)] if CI else [(64, 32000), (16, 152064)]
IMPLS = ["ttc_fast", "torch_multinomial", "torch_top_p_sort"]


def torch_multinomial(logits, temperature):
    return torch.multinomial(torch.softmax(logits.float() / temperature, -1), 1)[:, 0]


def torch_top_p_sort(logits, temperature, top_p):
    probs = torch.softmax(logits.float() / temperature, -1)
    ps, idx = torch.sort(probs, -1, descending=True)
    drop = torch.cumsum(ps, -1) - ps > top_p
    ps = ps.masked_fill(drop, 0.0)
    return torch.gather(idx, 1, torch.multinomial(ps, 1))[:, 0]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("top_p", [1.0, 0.9])
@pytest.mark.parametrize("case", GRID, ids=lambda c: f"B{c[0]}-V{c[1]}")
def test_sampling(benchmark, case, top_p, impl):
    B, V = case
    if impl == "torch_multinomial" and top_p < 1:
        pytest.skip("plain multinomial has no top-p")
    if impl == "torch_top_p_sort" and top_p == 1:
        pytest.skip("top-p sampler measured with top_p < 1")
    g = torch.Generator(device=DEVICE).manual_seed(0)
    logits = torch.randn(B, V, generator=g, device=DEVICE) * 3
    seeds = torch.arange(B, device=DEVICE)
    if impl == "ttc_fast":
        fn = lambda: sample_tokens(logits, temperature=0.8, top_p=top_p, seeds=seeds, offsets=1)  # noqa: E731
    elif impl == "torch_multinomial":
        fn = lambda: torch_multinomial(logits, 0.8)  # noqa: E731
    else:
        fn = lambda: torch_top_p_sort(logits, 0.8, top_p)  # noqa: E731
    run(benchmark, fn)
    if benchmark.stats is None:  # --benchmark-disable: the code ran once, nothing to report
        return
    med = benchmark.stats.stats.median
    benchmark.extra_info.update(B=B, V=V, top_p=top_p, device=DEVICE, rows_per_s=B / med,
                                logits_GBps=logits.numel() * 4 / med / 1e9)
