"""``generate``: n samples for every prompt, each prompt prefilled once and its KV shared by its samples.

Per batch of prompts (sized by ``batch_tokens``):

1. **prefill** all prompts of the batch packed, once each (``Samples.prefill_calls`` counts these calls,
   ``prefill_tokens`` the tokens): the prompt KV is stored once, CSR-packed, for ``shared_prefix_attention``;
2. the last-position logits of prompt p are broadcast to its n samples and the first tokens are drawn;
3. **decode** all samples of all prompts of the batch together, one token per step: each sample's new K/V goes to
   a static preallocated suffix cache ``[T, max_new_tokens - 1, Hkv, D]`` per layer, attention reads each prompt
   prefix once per step for all its samples (``ttc_fast.ops.shared_prefix_attention``), tokens come from
   ``ttc_fast.ops.sample_tokens``;
4. finished samples (EOS, a stop string, or ``max_new_tokens``) are retired; the batch is compacted when a
   quarter of its rows are finished (on CUDA: half, then the CUDA graph of the decode step is captured again).

Randomness: sample j of prompt i (i = position in ``prompts``) uses the Philox key ``derive_seed(seed, i, j)`` and
the step index as counter offset, so a sample's tokens depend only on (seed, i, j, the model, the prompt) — never on
``batch_tokens`` or on which other prompts share the batch (up to floating-point non-associativity of batched
matmuls, which can flip a near-tie).
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ttc_fast.runtime.models import DecodeCache, Model

_M64 = (1 << 64) - 1


class NonFiniteLogitsError(FloatingPointError):
    """The model produced NaN or infinite logits (a checkpoint with NaN/inf weights, or an overflow in its dtype):
    :func:`generate` refuses to sample from them rather than return empty or arbitrary generations."""


@dataclass
class Samples:
    """Generations, indexed ``[prompt][sample]``.

    ``tokens``: generated token ids (EOS included when it ended the sample; prompt excluded).
    ``texts``: decoded generations (special tokens skipped, cut before a stop string) or None without a tokenizer.
    ``logprobs``: per generated token, its natural-log probability under the model's raw distribution
    (``log_softmax(logits)``, temperature 1, before top-k/top-p/min-p).
    ``lengths``: int64 ``(num_prompts, n)`` number of generated tokens. ``finish_reasons``: "eos" | "stop" | "length".
    ``prefill_calls`` / ``prefill_tokens``: model prefill invocations and the prompt tokens they processed (each
    prompt once). ``timings``: seconds for ``prefill``, ``decode`` (model forward), ``sample``, ``total``, plus
    ``decode_steps`` and ``tokens`` (generated tokens). ``engine``: which engine drew them, "ttc_fast" or "hf"
    (:mod:`ttc_fast.runtime.hf_engine` says how its counts and timings differ).
    """
    tokens: list[list[list[int]]]
    texts: list[list[str]] | None
    logprobs: list[list[list[float]]]
    lengths: np.ndarray
    finish_reasons: list[list[str]]
    num_prompts: int
    n: int
    prefill_calls: int = 0
    prefill_tokens: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    engine: str = "ttc_fast"


def derive_seed(seed: int, prompt: int, sample: int) -> int:
    """A signed int64 Philox key for (seed, prompt index, sample index): splitmix64 of the three, chained."""
    x = seed & _M64
    for v in (prompt, sample):
        x = _splitmix64((x ^ (v * 0x9E3779B97F4A7C15)) & _M64)
    return x - (1 << 64) if x >= (1 << 63) else x


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


ENGINES = ("auto", "ttc_fast", "hf")


def generate(model: Any, prompts: str | Sequence[str] | Sequence[Sequence[int]], *, n: int,
             max_new_tokens: int, temperature: float = 0.8, top_p: float = 1.0, top_k: int | None = None,
             min_p: float | None = None, stop: str | Sequence[str] | None = None, seed: int = 0,
             batch_tokens: int | None = None, progress: bool = False, cuda_graph: bool = True,
             engine: str = "auto") -> Samples:
    """Draw ``n`` samples of up to ``max_new_tokens`` tokens for every prompt.

    Args:
        model: from :func:`ttc_fast.load_model` (a ttc_fast ``Model``), from :func:`ttc_fast.load_hf_model` (an
            ``HFModel``), or a transformers causal LM (``PreTrainedModel``; prompts then as token ids).
        engine: "ttc_fast" (this module), "hf" (transformers ``generate``, :mod:`ttc_fast.runtime.hf_engine`; any
            causal LM transformers runs) or "auto" (default): ttc_fast where it runs the architecture (weights
            shared, not copied), else hf with an :class:`~ttc_fast.runtime.hf_engine.EngineFallbackWarning` that
            says why (an unsupported architecture, or prompt + max_new_tokens beyond a sliding window). An
            explicit engine never falls back. A ttc_fast ``Model`` runs on "ttc_fast" only.
        prompts: a string, a list of strings (tokenized with ``model.tokenizer``, special tokens as its
            post-processor adds them) or a list of token-id lists.
        n: samples per prompt (>= 1). max_new_tokens: >= 1.
        temperature: >= 0 (0 = greedy); top_p in (0, 1]; top_k None/int; min_p None or [0, 1]: as in
            ``ttc_fast.ops.sample_tokens``.
        stop: string(s) that end a sample (its text is cut before the first occurrence); needs a tokenizer.
        seed: base seed; sample j of prompt i uses ``derive_seed(seed, i, j)``.
        batch_tokens: KV budget in tokens per batch: prompts are grouped so that
            ``sum(len(prompt) + n * max_new_tokens) <= batch_tokens`` (a prompt over budget runs alone).
            None: on CUDA, the tokens whose KV fills 70% of the device memory free at the call (the rest is
            left for logits, sampling and activations; see :func:`default_batch_tokens`); on CPU, all prompts
            in one batch.
        progress: tqdm bar over finished samples.
        cuda_graph: on CUDA, capture the decode step in a CUDA graph (falls back to eager with a warning).
            batch_tokens and cuda_graph belong to the ttc_fast engine (hf: one ``generate`` call per prompt).

    Returns: :class:`Samples` (``.engine`` says which engine ran).

    Raises: :class:`NonFiniteLogitsError` when the model's logits for a live sample hold a NaN or ``+inf`` or are all
    ``-inf`` (checked once per decode step on the device, CUDA-graph replays included; ttc_fast engine).
    """
    t_start = time.perf_counter()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    n = _check_int("n", n, 1)
    max_new_tokens = _check_int("max_new_tokens", max_new_tokens, 1)
    seed = _check_int("seed", seed, None)
    if batch_tokens is not None:
        batch_tokens = _check_int("batch_tokens", batch_tokens, 1)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature >= 0:
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
    if not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
        raise ValueError(f"top_p must lie in (0, 1], got {top_p!r}")
    if top_k is not None:
        top_k = _check_int("top_k", top_k, 0)
    if min_p is not None and (not isinstance(min_p, (int, float)) or not 0 <= min_p <= 1):
        raise ValueError(f"min_p must lie in [0, 1], got {min_p!r}")
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    if any(not isinstance(s, str) or not s for s in stops):
        raise ValueError(f"stop must be a non-empty string or a list of them, got {stop!r}")
    if stops and model.tokenizer is None:
        raise ValueError("stop strings need a tokenizer (load_model(..., tokenizer=...))")
    model = _as_engine_model(model, engine)
    ids = _tokenize(model, prompts)
    model = _choose_engine(model, engine, max(len(p) for p in ids) + max_new_tokens)
    if not isinstance(model, Model):
        if batch_tokens is not None:
            raise ValueError("batch_tokens applies to the ttc_fast engine; the hf engine runs one generate call "
                             "per prompt (leave batch_tokens=None)")
        from ttc_fast.runtime.hf_engine import generate_hf
        return generate_hf(model, ids, n=n, max_new_tokens=max_new_tokens, temperature=float(temperature),
                           top_p=float(top_p), top_k=top_k if top_k else None, min_p=min_p if min_p else None,
                           stops=stops, seed=seed, progress=progress)
    if batch_tokens is None and model.device.type == "cuda":
        batch_tokens = default_batch_tokens(model, torch.cuda.mem_get_info(model.device)[0])
    window = model.arch.sliding_window
    if window is not None and max(len(p) for p in ids) + max_new_tokens > window:
        raise ValueError(f"prompt + max_new_tokens exceeds the model's sliding_window={window}; sliding-window "
                         "attention is not implemented (full attention would differ from the checkpoint's): load "
                         "it with ttc_fast.load_hf_model for engine='hf' (ttc-fast eval --engine auto does)")

    P = len(ids)
    out_tokens: list[list[list[int]]] = [[[] for _ in range(n)] for _ in range(P)]
    out_lp: list[list[list[float]]] = [[[] for _ in range(n)] for _ in range(P)]
    reasons = [["length"] * n for _ in range(P)]
    timings = dict(prefill=0.0, decode=0.0, sample=0.0, decode_steps=0, tokens=0)
    stats = dict(prefill_calls=0, prefill_tokens=0)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=P * n, unit="sample", desc="generate")
    sampling = dict(temperature=float(temperature), top_p=float(top_p) if top_p < 1 else None,
                    top_k=top_k if top_k else None, min_p=min_p if min_p else None)
    try:
        for batch in _batches(ids, n, max_new_tokens, batch_tokens):
            _run_batch(model, ids, batch, n, max_new_tokens, sampling, stops, seed, cuda_graph,
                       out_tokens, out_lp, reasons, timings, stats, bar)
    finally:
        if bar is not None:
            bar.close()
    texts = None
    if model.tokenizer is not None:
        texts = [[_final_text(model, toks, stops) for toks in row] for row in out_tokens]
    timings["total"] = time.perf_counter() - t_start
    lengths = np.array([[len(t) for t in row] for row in out_tokens], dtype=np.int64).reshape(P, n)
    return Samples(tokens=out_tokens, texts=texts, logprobs=out_lp, lengths=lengths, finish_reasons=reasons,
                   num_prompts=P, n=n, prefill_calls=stats["prefill_calls"],
                   prefill_tokens=stats["prefill_tokens"], timings=timings)


# ---- engine choice -----------------------------------------------------------------------------------------
def _as_engine_model(model: Any, engine: str) -> Any:
    """A ttc_fast Model or an HFModel (a bare transformers model is wrapped, weights shared)."""
    if isinstance(model, Model):
        if engine == "hf":
            raise ValueError("engine='hf' needs a transformers model: ttc_fast.load_hf_model(path) or the "
                             "PreTrainedModel itself, not a ttc_fast Model")
        return model
    from ttc_fast.runtime.hf_engine import HFModel
    if isinstance(model, HFModel):
        return model
    if isinstance(model, torch.nn.Module) and callable(getattr(model, "generate", None)) \
            and getattr(model, "config", None) is not None:
        return HFModel(model)
    raise TypeError(f"model must be a ttc_fast Model (load_model), an HFModel (load_hf_model) or a transformers "
                    f"causal LM, got {type(model).__name__}")


def _choose_engine(model: Any, engine: str, max_len: int) -> Any:
    """Applies ``engine`` to an HFModel: the ttc_fast engine on its weights ("ttc_fast"; "auto" where it runs
    them), else the HFModel itself (with a warning saying why, for "auto")."""
    if isinstance(model, Model) or engine == "hf":
        return model
    from ttc_fast.runtime.hf_engine import engine_for, fallback
    from ttc_fast.runtime.loading import load_model
    if engine == "auto":
        chosen, why = engine_for(model.config, max_len)
        if chosen == "hf":
            fallback(f"{type(model.model).__name__}: {why}")
            return model
    wrapped = load_model(model.model, tokenizer=model.tokenizer)
    wrapped.eos_token_ids = list(model.eos_token_ids)
    return wrapped


# ---- helpers ----------------------------------------------------------------------------------------------
def kv_bytes_per_token(model: Model) -> int:
    """Bytes of K and V that one token occupies in the cache, over all layers (model dtype)."""
    a = model.arch
    return 2 * a.num_layers * a.num_kv_heads * a.head_dim * model.dtype.itemsize


def default_batch_tokens(model: Model, free_bytes: int, fraction: float = 0.7) -> int:
    """KV budget in tokens used when ``generate(batch_tokens=None)`` runs on CUDA: ``fraction`` of
    ``free_bytes`` (device memory free before the call) over :func:`kv_bytes_per_token`, at least 1."""
    return max(1, int(fraction * free_bytes) // kv_bytes_per_token(model))


def _check_int(name: str, value: Any, minimum: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _tokenize(model: Model, prompts: Any) -> list[list[int]]:
    if isinstance(prompts, str):
        prompts = [prompts]
    if not isinstance(prompts, Sequence) or len(prompts) == 0:
        raise ValueError("prompts must be a non-empty list of strings or of token-id lists")
    V = model.arch.vocab_size if isinstance(model, Model) else model.vocab_size
    out = []
    for i, p in enumerate(prompts):
        if isinstance(p, str):
            if model.tokenizer is None:
                raise ValueError("string prompts need a tokenizer; pass token ids or load_model(..., tokenizer=...)")
            toks = model.tokenizer.encode(p).ids
        elif isinstance(p, (Sequence, np.ndarray, torch.Tensor)):
            toks = [int(t) for t in p]
        else:
            raise TypeError(f"prompts[{i}] must be a string or a list of token ids, got {type(p).__name__}")
        if not toks:
            raise ValueError(f"prompts[{i}] is empty")
        if min(toks) < 0 or max(toks) >= V:
            raise ValueError(f"prompts[{i}] has token ids outside [0, vocab_size={V})")
        out.append(toks)
    return out


def _batches(ids: list[list[int]], n: int, max_new: int, budget: int | None) -> list[list[int]]:
    if budget is None:
        return [list(range(len(ids)))]
    batches: list[list[int]] = []
    cur: list[int] = []
    used = 0
    for i, p in enumerate(ids):
        cost = len(p) + n * max_new
        if cur and used + cost > budget:
            batches.append(cur)
            cur, used = [], 0
        cur.append(i)
        used += cost
    batches.append(cur)
    return batches


def _final_text(model: Model, toks: list[int], stops: list[str]) -> str:
    text = model.tokenizer.decode(toks, skip_special_tokens=True)
    cut = min((text.find(s) for s in stops if s in text), default=-1)
    return text[:cut] if cut >= 0 else text


class _Decoder:
    """Runs decode steps for a fixed row count; on CUDA replays a captured graph of ``model.decode_step``."""

    def __init__(self, model: Model, cache: DecodeCache, use_graph: bool):
        self.model, self.cache = model, cache
        self.use_graph = use_graph and model.device.type == "cuda"
        self.graph = None
        self.eager_steps = 0

    def step(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        m, c = self.model, self.cache
        if not self.use_graph:
            return m.decode_step(tokens, positions, c)
        if self.eager_steps == 0:  # the first step runs eagerly (warm-up: Triton compile, library handles), on a
            self.eager_steps += 1  # side stream as torch.cuda.graph's documentation asks before a capture
            side = torch.cuda.Stream(device=m.device)
            side.wait_stream(torch.cuda.current_stream(m.device))
            with torch.cuda.stream(side):
                out = m.decode_step(tokens, positions, c)
            torch.cuda.current_stream(m.device).wait_stream(side)
            out.record_stream(torch.cuda.current_stream(m.device))  # used there: not reused before it is done
            return out
        if self.graph is None:
            try:
                self.s_tok, self.s_pos = tokens.clone(), positions.clone()
                self.graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(self.graph):
                    self.s_out = m.decode_step(self.s_tok, self.s_pos, c)
            except Exception as e:  # noqa: BLE001 - any capture failure: eager is always correct
                warnings.warn(f"CUDA graph capture of the decode step failed ({e!r}); running eagerly",
                              RuntimeWarning, stacklevel=3)
                self.graph, self.use_graph = None, False
                torch.cuda.synchronize()
                return m.decode_step(tokens, positions, c)
        self.s_tok.copy_(tokens)
        self.s_pos.copy_(positions)
        self.graph.replay()
        return self.s_out


def new_decode_cache(model: Model, k_prefix: list[torch.Tensor], v_prefix: list[torch.Tensor],
                     prefix_indptr: torch.Tensor, n: int, max_new: int) -> DecodeCache:
    """The decode cache of a prefilled batch (``Model.prefill``'s KV): ``n`` samples per prompt, room for
    ``max_new - 1`` generated tokens each (the last token is sampled, never attended), suffix lengths 0."""
    a, dev = model.arch, model.device
    P = prefix_indptr.numel() - 1
    T = P * n
    shape = (T, max(1, max_new - 1), a.num_kv_heads, a.head_dim)
    return DecodeCache(
        k_prefix=k_prefix, v_prefix=v_prefix, prefix_indptr=prefix_indptr,
        qo_indptr=(torch.arange(P + 1, dtype=torch.int32, device=dev) * n),
        k_suffix=[torch.zeros(shape, dtype=model.dtype, device=dev) for _ in range(a.num_layers)],
        v_suffix=[torch.zeros(shape, dtype=model.dtype, device=dev) for _ in range(a.num_layers)],
        suffix_lens=torch.zeros(T, dtype=torch.int32, device=dev),
        attn_lens=torch.zeros(T, dtype=torch.int32, device=dev),
        attn_out=torch.empty((T, a.num_heads, a.head_dim), dtype=model.dtype, device=dev))


def _run_batch(model: Model, ids, batch, n, max_new, sampling, stops, seed, cuda_graph,
               out_tokens, out_lp, reasons, timings, stats, bar) -> None:
    from ttc_fast.ops import sample_tokens

    dev = model.device
    prompts = [ids[i] for i in batch]
    P = len(prompts)
    T = P * n
    t0 = time.perf_counter()
    last_logits, kp, vp, prefix_indptr = model.prefill(prompts)
    stats["prefill_calls"] += 1
    stats["prefill_tokens"] += sum(len(p) for p in prompts)
    _sync(dev)
    timings["prefill"] += time.perf_counter() - t0

    row_local = torch.arange(T, device=dev) // n  # prompt index within the batch
    plen = torch.tensor([len(p) for p in prompts], dtype=torch.int64, device=dev)
    seeds = torch.tensor([derive_seed(seed, batch[r // n], r % n) for r in range(T)], dtype=torch.int64,
                         device=dev)
    cache = new_decode_cache(model, kp, vp, prefix_indptr, n, max_new)
    decoder = _Decoder(model, cache, cuda_graph)
    eos = np.array(sorted(set(model.eos_token_ids)), dtype=np.int64)
    window = max((len(s) for s in stops), default=0) + 2
    # host buffers over the batch's original rows; `rows` maps cache rows -> original rows (compaction)
    tok_buf = np.zeros((T, max_new), dtype=np.int64)
    lp_buf = np.zeros((T, max_new), dtype=np.float32)
    length = np.zeros(T, dtype=np.int64)
    reason = np.zeros(T, dtype=np.int8)  # 0 active, 1 eos, 2 stop, 3 length
    rows = np.arange(T)

    greedy = sampling["temperature"] == 0.0
    logits = last_logits.repeat_interleave(n, dim=0)  # [T, V]: the n samples of a prompt share its last logits
    for step in range(max_new):
        t0 = time.perf_counter()
        if greedy:  # what sample_tokens does at temperature 0 (first index among ties), without drawing noise
            tok = torch.argmax(logits, dim=1)
        else:
            tok = sample_tokens(logits, seeds=seeds, offsets=step, **sampling)
        # clamp: sample_tokens gives -1 for rows without a distribution (refused below; on CUDA an index of -1
        # would be a device-side assert)
        lp = torch.log_softmax(logits, dim=-1).gather(1, tok.clamp(min=0)[:, None]).squeeze(1)
        # one reduction per step on the device (no sync per layer, graph replays included): the row maximum is NaN
        # when a logit is NaN, +inf when one is +inf, -inf when all are; read back with the tokens
        row_max = logits.amax(1).float()
        tok_h, lp_h, max_h = tok.cpu().numpy(), lp.cpu().numpy(), row_max.cpu().numpy()
        timings["sample"] += time.perf_counter() - t0
        live = reason[rows] == 0  # cache rows still generating (finished rows linger until compaction)
        r_live = rows[live]
        bad = np.flatnonzero(live & ~np.isfinite(max_h))  # cache rows
        if bad.size:
            r = int(rows[bad[0]])
            raise NonFiniteLogitsError(
                f"generate: the model's logits are not finite (row maximum {max_h[bad[0]]}) at generated "
                f"token {step} of prompt {batch[r // n]}, sample {r % n} ({model.dtype} weights; a checkpoint with "
                "NaN/inf weights, or an overflow). Refusing to sample from them; check the checkpoint")
        tok_buf[r_live, step] = tok_h[live]
        lp_buf[r_live, step] = lp_h[live]
        length[r_live] = step + 1
        timings["tokens"] += int(live.sum())
        ended = np.isin(tok_buf[r_live, step], eos)
        reason[r_live[ended]] = 1
        if stops:
            for r in r_live[~ended]:
                tail = model.tokenizer.decode(tok_buf[r, max(0, step + 1 - window): step + 1].tolist(),
                                              skip_special_tokens=True)
                if any(st in tail for st in stops):
                    reason[r] = 2
        if step + 1 == max_new:
            reason[r_live[reason[r_live] == 0]] = 3
        if bar is not None:
            bar.update(int((reason[r_live] != 0).sum()))
        live = reason[rows] == 0
        n_live = int(live.sum())
        if n_live == 0:
            break
        if n_live <= (len(rows) // 2 if decoder.use_graph else (3 * len(rows)) // 4):
            idx = torch.from_numpy(np.nonzero(live)[0]).to(dev)
            counts = torch.bincount(row_local[idx], minlength=P)
            cache.qo_indptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)]).to(torch.int32)
            cache.k_suffix = [k.index_select(0, idx) for k in cache.k_suffix]
            cache.v_suffix = [v.index_select(0, idx) for v in cache.v_suffix]
            cache.suffix_lens = cache.suffix_lens.index_select(0, idx)
            cache.attn_lens = torch.empty_like(cache.suffix_lens)
            cache.attn_out = cache.attn_out[:n_live].clone()
            rows = rows[live]
            row_local, seeds, tok = row_local[idx], seeds[idx], tok[idx]
            decoder = _Decoder(model, cache, decoder.use_graph)
        t0 = time.perf_counter()
        positions = plen[row_local] + cache.suffix_lens.long()
        logits = decoder.step(tok, positions)
        cache.suffix_lens += 1
        _sync(dev)
        timings["decode"] += time.perf_counter() - t0
        timings["decode_steps"] += 1
    names = {1: "eos", 2: "stop", 3: "length"}
    for r in range(T):
        pi, sj = batch[r // n], r % n
        out_tokens[pi][sj] = tok_buf[r, :length[r]].tolist()
        out_lp[pi][sj] = lp_buf[r, :length[r]].astype(np.float64).tolist()
        reasons[pi][sj] = names[int(reason[r])]


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
