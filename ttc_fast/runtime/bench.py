"""Sampling-throughput benchmark shared by ``ttc-fast bench-sampling`` and ``benchmarks/bench_generate.py``.

A workload is P random prompts of ``prompt_len`` tokens, n samples each, exactly ``new_tokens`` generated tokens
per sample (EOS off). The physical limit of one decode step is the larger of two floors, at the mean suffix length
``new_tokens / 2``: memory, ``(weight bytes + KV bytes read) / bandwidth`` with the KV of each prompt read once
(the shared-prefix ideal), bandwidth measured with a large copy on the device (read + write bytes / time); and
compute, :func:`step_flops` over the rate of a large matmul measured on the device in the model's dtype. With
thousands of samples per step the compute floor is the larger one (a decode step is then a batched GEMM).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ttc_fast.runtime.generate import generate, kv_bytes_per_token
from ttc_fast.runtime.models import Model

def shape_config(shape: str) -> dict:
    """HF-style config dict of a named shape from the one preset table, ``ttc_fast.checkpoint.PRESETS`` (``tiny``
    is a ~20M-parameter Llama: 6 layers, d 256, GQA 8/4, vocab 32000)."""
    from ttc_fast.checkpoint import preset_config

    try:
        cfg = preset_config(shape)
    except ValueError:
        from ttc_fast.checkpoint import PRESETS
        raise ValueError(f"--shape must be one of {', '.join(PRESETS)}, got {shape!r}") from None
    cfg.setdefault("max_position_embeddings", 32768)
    return cfg


def hf_model_from_config(cfg: dict, *, dtype: torch.dtype, device: str, seed: int = 0):
    """A transformers model with random weights (std 0.02) built directly on ``device`` in ``dtype``."""
    import transformers
    torch.manual_seed(seed)
    kw = {k: v for k, v in cfg.items() if k not in ("architectures", "model_type")}
    config = transformers.AutoConfig.for_model(cfg["model_type"], **kw)
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype)
    return model.eval()


def random_prompts(P: int, length: int, vocab: int, seed: int = 0) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(10, vocab, (P, length), generator=g).tolist()


def measure_bandwidth(device: torch.device, nbytes: int = 1 << 28) -> float:
    """Bytes/s of a large device copy (counting the read and the write), best of 5."""
    a = torch.empty(nbytes // 4, dtype=torch.float32, device=device).fill_(1.0)
    b = torch.empty_like(a)
    best = float("inf")
    for _ in range(5):
        _sync(device)
        t = time.perf_counter()
        b.copy_(a)
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * nbytes / best


def step_bytes(model: Model, P: int, n: int, prompt_len: int, new_tokens: int) -> tuple[int, int]:
    """(ideal, naive) bytes read by one average decode step: weights + KV (prefix once vs once per sample)."""
    per_tok = kv_bytes_per_token(model)
    s_mean = new_tokens / 2
    ideal = model.weight_bytes() + per_tok * (P * prompt_len + P * n * s_mean)
    naive = model.weight_bytes() + per_tok * P * n * (prompt_len + s_mean)
    return int(ideal), int(naive)


def step_flops(model: Model, P: int, n: int, prompt_len: int, suffix_len: float) -> float:
    """FLOPs of one decode step of ``P * n`` samples whose suffix holds ``suffix_len`` tokens (multiply-add = 2):
    the weight matmuls, 2 FLOPs per matmul parameter per sample (every 2-D weight but an untied input embedding,
    which is a lookup), plus attention, 4·Hq·D FLOPs per layer per attended position (scores and values) over
    ``prompt_len + suffix_len + 1`` positions (the new token included)."""
    a = model.arch
    mats = {t.data_ptr(): t.numel() for t in model.weights.values() if t.dim() == 2}
    matmul_params = sum(mats.values()) - (0 if a.tied_embeddings else model.embed.numel())
    T = P * n
    attn = 4 * a.num_layers * a.num_heads * a.head_dim * (prompt_len + suffix_len + 1)
    return float(T * (2 * matmul_params + attn))


def measure_matmul_rate(device: torch.device, dtype: torch.dtype) -> float:
    """FLOP/s of a large square matmul in ``dtype`` on ``device`` (8192 on CUDA, 1024 on CPU), best of 5."""
    size = 8192 if torch.device(device).type == "cuda" else 1024
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    a @ b  # warm-up (library handles, kernel selection)
    best = float("inf")
    for _ in range(5):
        _sync(device)
        t = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * size ** 3 / best


@dataclass
class StepLimit:
    """The physical limit of one average decode step on a device (see the module docstring)."""
    bytes_ideal: int        # weights + each prompt's KV once + every suffix
    bytes_naive: int        # weights + a KV copy of the prompt per sample
    flops: float            # step_flops at the mean suffix length
    bandwidth: float        # bytes/s, measured copy
    matmul_rate: float      # FLOP/s, measured matmul in the model's dtype

    @property
    def memory_s(self) -> float:
        return self.bytes_ideal / self.bandwidth

    @property
    def compute_s(self) -> float:
        return self.flops / self.matmul_rate

    @property
    def seconds(self) -> float:
        return max(self.memory_s, self.compute_s)


def step_limit(model: Model, P: int, n: int, prompt_len: int, new_tokens: int) -> StepLimit:
    """Measures the device's copy bandwidth and matmul rate and returns the workload's per-step limit."""
    ideal, naive = step_bytes(model, P, n, prompt_len, new_tokens)
    return StepLimit(ideal, naive, step_flops(model, P, n, prompt_len, new_tokens / 2),
                     measure_bandwidth(model.device), measure_matmul_rate(model.device, model.dtype))


@dataclass
class Result:
    impl: str
    seconds: float          # whole generate call
    prefill_s: float
    step_s: float           # mean time of one decode step (all samples): model forward + sampling
    tokens: int             # generated tokens
    sample_s: float = float("nan")  # of which: token sampling per step (ttc_fast only)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds


def run_ttc_fast(model: Model, prompts, n: int, new_tokens: int, *, temperature: float = 0.8,
                 seed: int = 0, batch_tokens: int | None = None) -> Result:
    eos, model.eos_token_ids = model.eos_token_ids, []
    try:
        s = generate(model, prompts, n=n, max_new_tokens=new_tokens, temperature=temperature, seed=seed,
                     batch_tokens=batch_tokens)
    finally:
        model.eos_token_ids = eos
    t = s.timings
    steps = max(1, t["decode_steps"])
    return Result("ttc_fast", t["total"], t["prefill"], (t["decode"] + t["sample"]) / steps, int(t["tokens"]),
                  sample_s=t["sample"] / steps)


def run_hf(hf, prompts, n: int, new_tokens: int, *, temperature: float = 0.8, seed: int = 0,
           measure_step: bool = True) -> Result:
    """``hf.generate(num_return_sequences=n, do_sample=True)``; the step time is (T(new) - T(1)) / (new - 1)."""
    dev = next(hf.parameters()).device
    ids = torch.tensor(prompts, device=dev)

    def go(k: int) -> float:
        torch.manual_seed(seed)
        _sync(dev)
        t = time.perf_counter()
        with torch.inference_mode():
            hf.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True, num_return_sequences=n,
                        max_new_tokens=k, min_new_tokens=k, temperature=temperature, top_p=1.0, top_k=0,
                        pad_token_id=0, eos_token_id=None)
        _sync(dev)
        return time.perf_counter() - t

    total = go(new_tokens)
    first = go(1) if (measure_step and new_tokens > 1) else float("nan")
    step = (total - first) / (new_tokens - 1) if new_tokens > 1 else float("nan")
    return Result("hf", total, first, step, len(prompts) * n * new_tokens)


def run_hf_prefill_once(hf, prompts, n: int, new_tokens: int, *, temperature: float = 0.8,
                        seed: int = 0) -> Result:
    """The strongest plain-transformers loop (design note B5): prefill each prompt once, repeat its KV cache n
    times (``DynamicCache.batch_repeat_interleave``), then decode all samples with ``torch.multinomial``."""
    dev = next(hf.parameters()).device
    ids = torch.tensor(prompts, device=dev)
    gen = torch.Generator(device=dev).manual_seed(seed)
    _sync(dev)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = hf(ids, use_cache=True, logits_to_keep=1)
        cache = out.past_key_values
        cache.batch_repeat_interleave(n)
        logits = out.logits[:, -1].float().repeat_interleave(n, dim=0)
        _sync(dev)
        t_prefill = time.perf_counter() - t0
        pos = ids.shape[1]
        for step in range(new_tokens):
            tok = torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1, generator=gen)  # [B, 1]
            if step + 1 == new_tokens:
                break
            position_ids = torch.full_like(tok, pos + step)
            logits = hf(tok, past_key_values=cache, use_cache=True, position_ids=position_ids).logits[:, -1].float()
    _sync(dev)
    total = time.perf_counter() - t0
    step = (total - t_prefill) / max(1, new_tokens - 1)
    return Result("hf-prefill-once", total, t_prefill, step, len(prompts) * n * new_tokens)


def _sync(dev) -> None:
    if torch.device(dev).type == "cuda":
        torch.cuda.synchronize()
