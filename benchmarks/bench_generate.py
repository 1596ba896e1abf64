"""n samples per prompt on CPU: ttc_fast.generate vs transformers generate(num_return_sequences=n, do_sample=True)
and vs a plain-transformers loop that prefills each prompt once (``hf-prefill-once``).

Workload (issue 6): a ~20M-parameter Llama-shaped model with random weights (fp32), 8 prompts x n = 16,
256-token prompts, 64 new tokens per sample (EOS off, so both generate exactly 8 * 16 * 64 tokens); both
implementations run on the SAME weight tensors (ttc_fast wraps the transformers model without copying).
CI=true shrinks it to 2 prompts x n = 4, 32-token prompts, 8 new tokens.

    OMP_NUM_THREADS=1 python -m pytest benchmarks/bench_generate.py --benchmark-only \
        --benchmark-columns=median,min,max,rounds

extra_info holds tokens/s, the decode-step time and the physical-limit fraction; the ratio is
median(hf) / median(ttc_fast).
"""
from __future__ import annotations

import os

import pytest
import torch

from ttc_fast.runtime import bench, load_model

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
P, N, PROMPT_LEN, NEW = (2, 4, 32, 8) if CI else (8, 16, 256, 64)
ROUNDS = 1 if CI else 3


@pytest.fixture(scope="module")
def models():
    hf = bench.hf_model_from_config(bench.shape_config("tiny"), dtype=torch.float32, device="cpu", seed=0)
    return hf, load_model(hf)


@pytest.mark.parametrize("impl", ["ttc_fast", "hf", "hf-prefill-once"])
def test_generate(benchmark, models, impl):
    hf, model = models
    prompts = bench.random_prompts(P, PROMPT_LEN, model.arch.vocab_size, seed=0)
    results = []

    def run():
        if impl == "ttc_fast":
            results.append(bench.run_ttc_fast(model, prompts, N, NEW))
        elif impl == "hf":
            results.append(bench.run_hf(hf, prompts, N, NEW, measure_step=False))
        else:
            results.append(bench.run_hf_prefill_once(hf, prompts, N, NEW))

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    r = sorted(results, key=lambda x: x.seconds)[len(results) // 2]
    limit = bench.step_limit(model, P, N, PROMPT_LEN, NEW).seconds
    benchmark.extra_info.update(
        tokens=r.tokens, tokens_per_s=round(r.tokens_per_s, 2), params_m=round(model.num_parameters() / 1e6, 1),
        threads=torch.get_num_threads(), workload=f"{P}x{N} prompt {PROMPT_LEN} new {NEW}",
        limit_step_ms=round(limit * 1e3, 3))
    if impl != "hf":
        benchmark.extra_info.update(step_ms=round(r.step_s * 1e3, 2), prefill_s=round(r.prefill_s, 3),
                                    sampling_ms=round(r.sample_s * 1e3, 2), fraction_of_limit=round(limit / r.step_s, 4))
    assert r.tokens == P * N * NEW
