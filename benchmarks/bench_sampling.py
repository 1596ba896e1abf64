"""Token sampling: ttc_fast.sample_tokens vs torch softmax + multinomial and a sort-based top-p sampler.

impl: ttc_fast (Triton on CUDA, the torch reference on CPU), torch_multinomial (softmax + multinomial),
      torch_top_p_sort (sort + cumsum + mask + multinomial, the usual HF/vLLM-style top-p),
      flashinfer (CUDA, when installed: top_k_top_p_sampling_from_logits on logits / temperature for top-p,
      min_p_sampling_from_probs on softmax(logits / temperature) for min-p, sampling_from_logits without filters).
filter: none, top_p=0.9, min_p=0.05.
Run:  pytest benchmarks/bench_sampling.py --benchmark-json=out.json   (CI=true shrinks the grid)
"""
from __future__ import annotations

import os

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
IMPLS = ["ttc_fast", "torch_multinomial", "torch_top_p_sort", "flashinfer"]
if os.environ.get("TTC_BENCH_GRID") == "reduced" and CUDA:  # the GPU script's grid: both vocabularies, 64 and 4096
    GRID = [(64, 32000), (4096, 32000), (64, 152064), (4096, 152064)]


def torch_multinomial(logits, temperature):
    return torch.multinomial(torch.softmax(logits.float() / temperature, -1), 1)[:, 0]


def torch_top_p_sort(logits, temperature, top_p):
    probs = torch.softmax(logits.float() / temperature, -1)
    ps, idx = torch.sort(probs, -1, descending=True)
    drop = torch.cumsum(ps, -1) - ps > top_p
    ps = ps.masked_fill(drop, 0.0)
    return torch.gather(idx, 1, torch.multinomial(ps, 1))[:, 0]


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("filt", ["none", "top_p", "min_p"])
@pytest.mark.parametrize("case", GRID, ids=lambda c: f"B{c[0]}-V{c[1]}")
def test_sampling(benchmark, case, filt, impl):
    B, V = case
    if impl == "torch_multinomial" and filt != "none":
        pytest.skip("plain multinomial has no filter")
    if impl == "torch_top_p_sort" and filt != "top_p":
        pytest.skip("the sort-based sampler is measured with top_p < 1")
    g = torch.Generator(device=DEVICE).manual_seed(0)
    logits = torch.randn(B, V, generator=g, device=DEVICE) * 3
    seeds = torch.arange(B, device=DEVICE)
    kw = {"none": {}, "top_p": dict(top_p=0.9), "min_p": dict(min_p=0.05)}[filt]
    if impl == "ttc_fast":
        fn = lambda: sample_tokens(logits, temperature=0.8, seeds=seeds, offsets=1, **kw)  # noqa: E731
    elif impl == "torch_multinomial":
        fn = lambda: torch_multinomial(logits, 0.8)  # noqa: E731
    elif impl == "torch_top_p_sort":
        fn = lambda: torch_top_p_sort(logits, 0.8, 0.9)  # noqa: E731
    else:
        from _flashinfer import flashinfer_or_skip
        fs = flashinfer_or_skip().sampling
        if filt == "top_p":
            fn = lambda: fs.top_k_top_p_sampling_from_logits(logits / 0.8, V, 0.9)  # noqa: E731
        elif filt == "min_p":
            fn = lambda: fs.min_p_sampling_from_probs(torch.softmax(logits / 0.8, -1), 0.05)  # noqa: E731
        else:
            fn = lambda: fs.sampling_from_logits(logits / 0.8)  # noqa: E731
        tok = fn().long()
        assert tok.shape == (B,) and bool(((tok >= 0) & (tok < V)).all()), "FlashInfer returned invalid tokens"
    run(benchmark, fn)
    if benchmark.stats is None:  # --benchmark-disable: the code ran once, nothing to report
        return
    med = benchmark.stats.stats.median
    benchmark.extra_info.update(B=B, V=V, filter=filt, device=DEVICE, rows_per_s=B / med,
                                logits_GBps=logits.numel() * 4 / med / 1e9)
