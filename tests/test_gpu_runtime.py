"""On a GPU: generate through the CUDA graph equals eager, the same seed draws the same tokens on CPU and GPU, and
non-finite logits raise on the graph path too. Skipped without CUDA (benchmarks/gpu_suite.sh runs them)."""
from __future__ import annotations

import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
import models as M  # noqa: E402

import ttc_fast  # noqa: E402

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    path = tmp_path_factory.mktemp("llama")
    M.build("llama", path, seed=9)
    return path


def _same_fraction(a, b):
    pairs = [(x, y) for ra, rb in zip(a.tokens, b.tokens) for x, y in zip(ra, rb)]
    return sum(x == y for x, y in pairs) / len(pairs)


def test_cuda_graph_equals_eager_and_cpu_equals_gpu(llama):
    cpu = ttc_fast.load_model(llama, dtype=torch.float32, device="cpu")
    gpu = ttc_fast.load_model(llama, dtype=torch.float32, device="cuda")
    prompts = M.ragged_prompts(3, 6, 3, 12)
    for temp, kw in ((0.0, {}), (0.9, dict(top_p=0.95)), (1.0, dict(min_p=0.05, top_k=20))):
        args = dict(n=8, max_new_tokens=24, temperature=temp, seed=21, **kw)
        graph = ttc_fast.generate(gpu, prompts, cuda_graph=True, **args)
        eager = ttc_fast.generate(gpu, prompts, cuda_graph=False, **args)
        host = ttc_fast.generate(cpu, prompts, **args)
        assert graph.tokens == eager.tokens  # the same kernels, replayed: bit-identical
        # CPU vs GPU: fp32 logits agree to ~1e-6, so a sample can only diverge at a sampling near-tie; the first
        # token comes from the same prefill logits, and nearly every whole sequence must match (stated: >= 90%)
        assert all(a[0] == b[0] for ra, rb in zip(graph.tokens, host.tokens) for a, b in zip(ra, rb))
        assert _same_fraction(graph, host) >= 0.9, (temp, _same_fraction(graph, host))


def test_non_finite_logits_raise_on_the_graph_path(llama):
    from ttc_fast.runtime.generate import NonFiniteLogitsError
    gpu = ttc_fast.load_model(llama, dtype=torch.float32, device="cuda")
    name = next(k for k in gpu.weights if "mlp" in k and "layers.0." in k)
    gpu.weights[name][0, 0] = float("nan")
    with pytest.raises(NonFiniteLogitsError):
        ttc_fast.generate(gpu, M.ragged_prompts(4, 2), n=4, max_new_tokens=8, temperature=0.8, cuda_graph=True)


def test_sample_tokens_nonfinite_rows_on_gpu():
    rows = torch.randn(4, 1000)
    rows[0, 3] = float("nan")
    rows[1] = float("-inf")
    rows[2, 17] = float("inf")
    for temp in (0.0, 1e-3, 0.8):
        a = ttc_fast.ops.sample_tokens(rows.cuda(), temperature=temp, seeds=torch.arange(4).cuda(), top_p=0.9)
        b = ttc_fast.ops.sample_tokens(rows, temperature=temp, seeds=torch.arange(4), top_p=0.9)
        assert a.cpu()[:3].tolist() == [-1, -1, 17] and torch.equal(a.cpu(), b)
