"""Sampling-throughput benchmark shared by ``ttc-fast bench-sampling`` and ``benchmarks/bench_generate.py``.

A workload is P random prompts of ``prompt_len`` tokens, n samples each, exactly ``new_tokens`` generated tokens
per sample (EOS off). The physical limit of one decode step is the larger of two floors, at the mean suffix length
``new_tokens / 2``: memory, ``(weight bytes + KV bytes read) / bandwidth`` with the KV of each prompt read once
(the shared-prefix ideal), bandwidth measured with a large copy on the device (read + write bytes / time); and
compute, :func:`step_flops` over the rate of a large matmul measured on the device in the model's dtype. With
thousands of samples per step the compute floor is the larger one (a decode step is then a batched GEMM).

Before anything is allocated, :func:`plan` checks every size against its bound (:data:`LIMITS`, the model's
``max_position_embeddings``), estimates the memory the run needs (:class:`MemoryNeed`) against what the device has
(:func:`available_memory`) and a lower bound on its duration (the whole run's matmul FLOPs at the measured matmul
rate), and refuses what cannot fit or cannot finish within ``max_seconds``. Each implementation is warmed up
(a short run of the same shapes: kernel compilation, CUDA-graph capture, allocator) and then timed ``repeats``
times; :class:`Repeated` reports the median and the spread.
"""
from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass

import torch

from ttc_fast.runtime.generate import generate, kv_bytes_per_token
from ttc_fast.runtime.models import Model

# upper bounds of the size arguments (beyond them the run is meaningless here or overflows int32 kernels' indexing)
LIMITS = {"prompts": 65536, "n": 65536, "samples": 1 << 22, "new_tokens": 1 << 20, "repeats": 100, "warmup": 10}
FIT_FRACTION = 0.9  # refuse a run whose estimate exceeds this fraction of the available memory


def _gb(x: float) -> str:
    return f"{x / 1e9:.2f} GB"


@dataclass(frozen=True)
class MemoryNeed:
    """Estimated peak bytes of a bench-sampling run: the weights plus the largest of the phases (they run one
    after the other). ttc_fast: each prompt's KV once + every sample's suffix KV (preallocated), fp32 logits and
    the sampling temporaries of one step, the prefill's activations; hf: the prompt's KV copied n times per
    sample (grown by concatenation: counted twice) and the prefill of n expanded copies; hf-prefill-once: the
    copied KV. An estimate of the large tensors only (allocator slack, the framework and Python come on top)."""
    weights: int
    ttc_fast: int
    hf: int = 0
    hf_prefill_once: int = 0

    @property
    def total(self) -> int:
        return self.weights + max(self.ttc_fast, self.hf, self.hf_prefill_once)

    def describe(self) -> str:
        parts = [f"weights {_gb(self.weights)}", f"ttc_fast {_gb(self.ttc_fast)}"]
        parts += [f"hf {_gb(self.hf)}"] if self.hf else []
        parts += [f"hf-prefill-once {_gb(self.hf_prefill_once)}"] if self.hf_prefill_once else []
        return f"about {_gb(self.total)} ({', '.join(parts)}; phases run one after the other)"


def memory_need(cfg, *, prompts: int, n: int, prompt_len: int, new_tokens: int, elem_bytes: int,
                baselines: tuple[str, ...] = (), baseline_prompts: int | None = None,
                kv_cap: int | None = None) -> MemoryNeed:
    """:class:`MemoryNeed` of a workload on the model of ``cfg`` (a :class:`ttc_fast.checkpoint.HFConfig`).
    ``kv_cap``: bytes generate's batching limits its KV to (CUDA, ``batch_tokens=None``)."""
    from ttc_fast.flops import ModelSpec

    spec = ModelSpec.from_parsed(cfg)
    kv_tok = 2 * cfg.num_layers * cfg.num_kv_heads * cfg.head_dim * elem_bytes
    weights = spec.num_params() * elem_bytes
    samples = prompts * n
    kv = kv_tok * (prompts * prompt_len + samples * new_tokens)
    if kv_cap is not None:
        kv = min(kv, kv_cap)
    logits = 3 * samples * cfg.vocab_size * 4  # fp32 logits + probabilities + sampling noise of one step
    act_tok = (3 * cfg.d_ff + 4 * cfg.d_model + (cfg.num_heads + 2 * cfg.num_kv_heads) * cfg.head_dim) * elem_bytes
    prefill = prompts * prompt_len * act_tok + cfg.num_heads * prompt_len * prompt_len * 4
    ttc = kv + logits + max(prefill, samples * act_tok)
    m = prompts if baseline_prompts is None else baseline_prompts
    hf = hfp = 0
    copies = m * n * (prompt_len + new_tokens) * kv_tok
    if "hf" in baselines:
        hf = 2 * copies + logits * m // max(1, prompts) + m * n * prompt_len * act_tok \
            + m * n * cfg.num_heads * prompt_len * prompt_len * elem_bytes
    if "hf-prefill-once" in baselines:
        hfp = copies + logits * m // max(1, prompts) + m * prompt_len * act_tok
    return MemoryNeed(int(weights), int(ttc), int(hf), int(hfp))


def available_memory(device: torch.device | str) -> tuple[int, str]:
    """``(bytes, how it was measured)`` a new allocation can use on ``device``: CUDA free memory; on CPU the
    kernel's MemAvailable, capped by a cgroup memory limit (containers)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return int(torch.cuda.mem_get_info(dev)[0]), "free CUDA memory"
    avail, how = None, "MemAvailable"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except OSError:
        pass
    if avail is None:
        avail, how = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free physical pages"
    for limit_f, usage_f in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                             ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                              "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_f) as f:
                text = f.read().strip()
            with open(usage_f) as f:
                used = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if text.isdigit() and int(text) - used < avail:
            avail, how = int(text) - used, "cgroup memory limit"
        break
    return int(avail), how


def run_flops(cfg, *, prompts: int, n: int, prompt_len: int, new_tokens: int, shared_prefix: bool = True) -> float:
    """Matmul FLOPs of generating the workload (``ttc_fast.inference_flops``, convention "matmul"): the compute a
    device must at least perform."""
    from ttc_fast.flops import ModelSpec, inference_flops

    spec = ModelSpec.from_parsed(cfg)
    return prompts * float(inference_flops(spec, prompt_len, new_tokens, n, shared_prefix=shared_prefix,
                                           convention="matmul"))


@dataclass(frozen=True)
class Plan:
    """What :func:`plan` decided: the memory estimate, the memory available, the FLOP rate and time floor."""
    need: MemoryNeed
    available: int
    available_how: str
    matmul_rate: float
    seconds_floor: float

    def describe(self) -> str:
        return (f"memory: needs {self.need.describe()}; available {_gb(self.available)} ({self.available_how})\n"
                f"time: at least {self.seconds_floor:.1f} s for all runs (their matmul FLOPs at the measured "
                f"{self.matmul_rate / 1e9:.1f} GFLOP/s; a CPU run typically takes several times longer)")


def _bounded(name: str, v, lo: int, hi: int | None) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
        rng = f">= {lo}" if hi is None else f">= {lo} and <= {hi}"
        raise ValueError(f"--{name.replace('_', '-')} must be {rng} (an integer), got {v!r}")


def plan(cfg, *, device: torch.device | str, dtype: torch.dtype, prompts: int, n: int, prompt_len: int,
         new_tokens: int, baselines: tuple[str, ...] = (), baseline_prompts: int | None = None,
         repeats: int = 3, warmup: int = 1, batch_tokens: int | None = None, max_seconds: float | None = None,
         max_positions: int | None = None) -> Plan:
    """Checks a workload before anything is allocated; ValueError naming the argument and its bound, or the
    memory / time it needs against what there is. ``max_positions``: the model's ``max_position_embeddings``."""
    _bounded("prompts", prompts, 1, LIMITS["prompts"])
    _bounded("n", n, 1, LIMITS["n"])
    _bounded("new_tokens", new_tokens, 1, LIMITS["new_tokens"])
    _bounded("prompt_len", prompt_len, 1, max(1, (max_positions or (1 << 20)) - new_tokens))
    _bounded("repeats", repeats, 1, LIMITS["repeats"])
    _bounded("warmup", warmup, 0, LIMITS["warmup"])
    if baseline_prompts is not None:
        _bounded("baseline_prompts", baseline_prompts, 1, prompts)
    if batch_tokens is not None:
        _bounded("batch_tokens", batch_tokens, 1, None)
    if prompts * n > LIMITS["samples"]:
        raise ValueError(f"--prompts x --n = {prompts * n} samples per step; at most {LIMITS['samples']}")
    if max_seconds is not None and not (isinstance(max_seconds, (int, float)) and max_seconds > 0):
        raise ValueError(f"--max-seconds must be a number > 0, got {max_seconds!r}")
    dev = torch.device(device)
    elem = torch.empty(0, dtype=dtype).element_size()
    available, how = available_memory(dev)
    cap = None
    if dev.type == "cuda" and batch_tokens is None:
        cap = int(0.7 * available)  # generate's own batching rule (default_batch_tokens)
    elif batch_tokens is not None:
        cap = batch_tokens * 2 * cfg.num_layers * cfg.num_kv_heads * cfg.head_dim * elem
    need = memory_need(cfg, prompts=prompts, n=n, prompt_len=prompt_len, new_tokens=new_tokens, elem_bytes=elem,
                       baselines=baselines, baseline_prompts=baseline_prompts, kv_cap=cap)
    rate = measure_matmul_rate(dev, dtype)
    m = prompts if baseline_prompts is None else baseline_prompts
    work = run_flops(cfg, prompts=prompts, n=n, prompt_len=prompt_len, new_tokens=new_tokens)
    base = 0.0
    if "hf" in baselines:  # generate(new) and generate(1) per repeat, n copies of the prompt each
        base += 2 * run_flops(cfg, prompts=m, n=n, prompt_len=prompt_len, new_tokens=new_tokens, shared_prefix=False)
    if "hf-prefill-once" in baselines:
        base += run_flops(cfg, prompts=m, n=n, prompt_len=prompt_len, new_tokens=new_tokens)
    short = min(new_tokens, _WARMUP_TOKENS) / new_tokens
    seconds = (repeats + warmup * short) * (work + base) / rate
    p = Plan(need, available, how, rate, seconds)
    if need.total > FIT_FRACTION * available:
        raise ValueError(f"this run needs {need.describe()}, more than {FIT_FRACTION:.0%} of the "
                         f"{_gb(available)} available ({how}) on {dev}: lower --prompts, --n, --prompt-len, "
                         f"--new-tokens or --baseline-prompts, or use a smaller --shape / --dtype")
    if max_seconds is not None and seconds > max_seconds:
        raise ValueError(f"this run needs at least {seconds:.0f} s ({repeats} repeats + {warmup} warm-up of "
                         f"{(work + base) / 1e12:.2f} TFLOP at the measured {rate / 1e9:.1f} GFLOP/s), more than "
                         f"--max-seconds {max_seconds:g}: shrink the workload or raise --max-seconds")
    return p


_WARMUP_TOKENS = 4

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
    """The strongest plain-transformers loop (docs/sampling.md, baseline B5): prefill each prompt once, repeat its KV cache n
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


# ---- repeated timing ------------------------------------------------------------------------------------------
@dataclass
class Repeated:
    """``runs`` timed runs of one implementation (after its warm-up): medians and the spread."""
    impl: str
    runs: list[Result]

    @property
    def tokens_per_s(self) -> float:
        return statistics.median(r.tokens_per_s for r in self.runs)

    def median(self, field: str) -> float:
        vals = [getattr(r, field) for r in self.runs]
        vals = [v for v in vals if not math.isnan(v)]
        return statistics.median(vals) if vals else float("nan")

    def spread(self, field: str = "tokens_per_s") -> float:
        """(max - min) / median over the runs, a fraction (0 with one run)."""
        vals = [getattr(r, field) for r in self.runs]
        med = statistics.median(vals)
        return (max(vals) - min(vals)) / med if med else float("nan")

    def step_range(self) -> tuple[float, float]:
        return min(r.step_s for r in self.runs), max(r.step_s for r in self.runs)


def repeat(impl: str, run, *, repeats: int, warmup: int, new_tokens: int, log=None) -> Repeated:
    """Calls ``run(new_tokens)`` ``warmup`` times with a short length (same shapes otherwise: it compiles
    kernels, captures graphs and grows the allocator) and then ``repeats`` times with ``new_tokens``. ``log``:
    receives the warm-up's duration and, after the first timed run, the time the remaining runs will take."""
    short = min(new_tokens, _WARMUP_TOKENS)
    t = time.perf_counter()
    for _ in range(warmup):
        run(short)
    if log is not None and warmup:
        log(f"{impl}: warm-up ({warmup} x {short} token(s)) took {time.perf_counter() - t:.1f} s")
    runs = []
    for i in range(repeats):
        runs.append(run(new_tokens))
        if log is not None and i == 0 and repeats > 1:
            log(f"{impl}: one timed run took {runs[0].seconds:.1f} s; {repeats - 1} more: about "
                f"{(repeats - 1) * runs[0].seconds:.0f} s")
    return Repeated(impl, runs)

