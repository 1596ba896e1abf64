"""FLOP accounting for training and for test-time compute (K samples that share a prompt).

Units: FLOPs (one multiply-add = 2 FLOPs everywhere) and tokens. Every function names its ``convention``; the
formulas live in ``csrc/flops.h`` (pure C++), this module validates and dispatches. Design notes: docs/flops.md.

Conventions (forward per token; training = forward + 2x backward = 3x forward under all of them):

==============  ==================================================================================
``kaplan``      2N, N = active non-embedding parameters (norms and biases included); attention term
                2·L·n_ctx·d_attn per token (the causal average) only when ``seq_len`` is given, so
                training is 6N·D without it. No embedding, no logits.
``palm``        2N + 4·L·H·Q·T per token (training 6N + 12·L·H·Q·T), same N, attention non-causal.
``chinchilla``  Hoffmann et al. (2022) App. F, exact: embeddings (2·V·d), QKV, QK^T, softmax
                (3 per score), AV, output projection, MLP, logits (2·d·V); attention non-causal.
``megatron``    exact weight matmuls (GQA, gated MLP, active MoE experts + router) + logits;
                attention QK^T + AV halved by the causal mask. No embedding.
``matmul``      every matrix multiply: weight matmuls, QK^T and AV *without* causal masking, and the
                unembedding; no embedding lookup, no elementwise work (norms, softmax, rotary). This
                is exactly what ``torch.utils.flop_counter.FlopCounterMode`` counts on a model with
                ``attn_implementation="eager"`` (with SDPA on CPU it counts attention as zero).
==============  ==================================================================================

Inference (P prompt tokens, T generated tokens per sample, K samples):
prefill (once per prompt with a shared prefix) builds the KV cache, without logits; each generated
token is one decode forward at position t = P..P+T-1 that attends to all t cached keys (no causal
halving, GQA does not reduce it) and pays its logits where the convention counts them.
Shared prefix: prefill + K·decode; without sharing: K·(prefill + decode).
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from ttc_fast import _C
from ttc_fast.checkpoint import MODEL_TYPES as _MODEL_TYPES
from ttc_fast.checkpoint import PRESETS as _PRESETS

__all__ = ["ModelSpec", "training_flops", "forward_flops", "inference_flops", "kv_cache_bytes",
           "break_even", "BreakEven", "paper_break_even", "CONVENTIONS", "SUPPORTED_MODEL_TYPES"]

CONVENTIONS = ("kaplan", "palm", "chinchilla", "megatron", "matmul")
SUPPORTED_MODEL_TYPES = tuple(_MODEL_TYPES)

ArrayLike = Union[float, int, np.ndarray, list, tuple]


@dataclass(frozen=True)
class ModelSpec:
    """A decoder-only transformer's shape, enough to count its parameters and FLOPs.

    ``head_dim`` is per head (query and key/value heads alike); ``d_ff`` is the dense MLP width
    (per gate/up matrix when ``gated_mlp``, i.e. SwiGLU with three matrices, otherwise two).
    MoE: ``num_experts`` experts of width ``moe_d_ff`` (always gated) of which ``experts_per_token``
    are active, a router ``d_model x num_experts``, optionally a shared expert of width
    ``shared_expert_d_ff`` (with its 1-output gate), in ``moe_layers`` of the layers (``None``: all);
    the other layers use a dense MLP of width ``d_ff``.
    Family details: ``qkv_bias`` / ``out_bias`` / ``mlp_bias`` (bias vectors), ``norm``
    ("rmsnorm": d params, "layernorm": 2d), ``qk_norm`` (per-head RMSNorm on q and k, Qwen3),
    ``parallel_residual`` and ``rotary_pct`` (GPT-NeoX; they change neither parameters nor FLOPs
    under these conventions: rotary is elementwise).
    """

    num_layers: int
    d_model: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    d_ff: int
    vocab_size: int
    gated_mlp: bool = True
    tied_embeddings: bool = False
    num_experts: int = 0
    experts_per_token: int = 0
    moe_d_ff: int | None = None
    moe_layers: int | None = None
    shared_expert_d_ff: int = 0
    qkv_bias: bool = False
    out_bias: bool = False
    mlp_bias: bool = False
    norm: str = "rmsnorm"
    qk_norm: bool = False
    parallel_residual: bool = False
    rotary_pct: float = 1.0
    model_type: str | None = None

    def __post_init__(self) -> None:
        for name in ("num_layers", "d_model", "num_heads", "num_kv_heads", "head_dim", "vocab_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {value!r}")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        for name in ("d_ff", "num_experts", "experts_per_token", "shared_expert_d_ff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_kv_heads must divide num_heads, got {self.num_kv_heads} and {self.num_heads}")
        if self.num_experts:
            if not 1 <= self.experts_per_token <= self.num_experts:
                raise ValueError(f"experts_per_token must be in [1, num_experts={self.num_experts}], "
                                 f"got {self.experts_per_token}")
            if self.moe_d_ff is None or self.moe_d_ff < 1:
                raise ValueError(f"moe_d_ff must be >= 1 with num_experts > 0, got {self.moe_d_ff!r}")
            if self.moe_layers is not None and not 0 <= self.moe_layers <= self.num_layers:
                raise ValueError(f"moe_layers must be in [0, num_layers], got {self.moe_layers}")
        if self.norm not in ("rmsnorm", "layernorm"):
            raise ValueError(f"norm must be 'rmsnorm' or 'layernorm', got {self.norm!r}")
        if not 0.0 <= self.rotary_pct <= 1.0:
            raise ValueError(f"rotary_pct must be in [0, 1], got {self.rotary_pct}")

    # ---- construction ----------------------------------------------------------------------------
    @classmethod
    def from_hf_config(cls, path_or_dict: str | os.PathLike | Mapping[str, Any]) -> ModelSpec:
        """Reads a Hugging Face ``config.json`` (a path to the file or its directory, or the dict) with the one
        parser the runtime also uses (:func:`ttc_fast.checkpoint.parse_config`: required fields, the transformers
        defaults of each family, ValueError naming the file, the field and what is accepted).

        Supported ``model_type``: llama (TinyLlama, Llama 3), mistral, gpt_neox (Pythia: LayerNorm
        with bias, fused QKV with bias, non-gated MLP with bias, untied ``embed_out``, parallel residual,
        ``rotary_pct``), qwen2 (q/k/v bias), qwen3 (q/k RMSNorm), qwen3_moe (``num_experts_per_tok`` of
        ``num_experts`` experts of ``moe_intermediate_size`` + router; layers in ``mlp_only_layers`` or off
        ``decoder_sparse_step`` are dense with ``intermediate_size``; Qwen3-MoE has no shared expert, as in
        transformers).
        """
        from ttc_fast.checkpoint import parse_config

        return cls.from_parsed(parse_config(path_or_dict))

    @classmethod
    def from_parsed(cls, c: Any) -> ModelSpec:
        """From a :class:`ttc_fast.checkpoint.HFConfig`."""
        return cls(num_layers=c.num_layers, d_model=c.d_model, num_heads=c.num_heads, num_kv_heads=c.num_kv_heads,
                   head_dim=c.head_dim, d_ff=c.d_ff, vocab_size=c.vocab_size, gated_mlp=c.model_type != "gpt_neox",
                   tied_embeddings=c.tied_embeddings, num_experts=c.num_experts,
                   experts_per_token=c.experts_per_token, moe_d_ff=c.moe_d_ff, moe_layers=c.moe_layers,
                   qkv_bias=c.qkv_bias, out_bias=c.o_bias, mlp_bias=c.mlp_bias, norm=c.norm, qk_norm=c.qk_norm,
                   parallel_residual=c.parallel_residual, rotary_pct=c.rotary_pct, model_type=c.model_type)

    @classmethod
    def preset(cls, name: str) -> ModelSpec:
        """A built-in architecture (``ttc_fast.checkpoint.PRESETS``): ``tiny``, ``tinyllama``, ``llama-3-8b``,
        ``qwen2.5-1.5b``, ``pythia-2.8b``."""
        from ttc_fast.checkpoint import preset_config

        return cls.from_hf_config(preset_config(name))

    # ---- parameter counts ------------------------------------------------------------------------
    def _n_moe_layers(self) -> int:
        if not self.num_experts:
            return 0
        return self.num_layers if self.moe_layers is None else self.moe_layers

    def _counts(self, active: bool) -> tuple[int, int]:
        """(non-embedding parameters, embedding + untied unembedding parameters)."""
        d, q, kv = self.d_model, self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        norm = 2 * d if self.norm == "layernorm" else d
        attn = d * (q + 2 * kv) + q * d
        attn += (q + 2 * kv if self.qkv_bias else 0) + (d if self.out_bias else 0)
        attn += 2 * self.head_dim if self.qk_norm else 0
        mats = 3 if self.gated_mlp else 2
        dense = mats * d * self.d_ff
        if self.mlp_bias:
            dense += (2 * self.d_ff if self.gated_mlp else self.d_ff) + d
        n_moe = self._n_moe_layers()
        moe = 0
        if n_moe:
            experts = self.experts_per_token if active else self.num_experts
            moe = experts * 3 * d * int(self.moe_d_ff or 0) + d * self.num_experts
            if self.shared_expert_d_ff:
                moe += 3 * d * self.shared_expert_d_ff + d
        body = (self.num_layers * (attn + 2 * norm) + (self.num_layers - n_moe) * dense + n_moe * moe + norm)
        embed = self.vocab_size * d * (1 if self.tied_embeddings else 2)
        return body, embed

    def num_params(self, non_embedding: bool = False) -> int:
        """Total parameters; ``non_embedding=True`` leaves out the embedding and an untied unembedding."""
        body, embed = self._counts(active=False)
        return body if non_embedding else body + embed

    def num_active_params(self, non_embedding: bool = False) -> int:
        """Parameters one token touches: ``experts_per_token`` of ``num_experts`` experts (+ router)."""
        body, embed = self._counts(active=True)
        return body if non_embedding else body + embed

    def _shape(self) -> _C.ModelShape:
        s = _C.ModelShape()
        for name in ("num_layers", "d_model", "num_heads", "num_kv_heads", "head_dim", "d_ff", "vocab_size",
                     "gated_mlp", "num_experts", "experts_per_token", "shared_expert_d_ff"):
            setattr(s, name, getattr(self, name))
        s.moe_d_ff = int(self.moe_d_ff or 0)
        s.moe_layers = self._n_moe_layers()
        s.active_non_embedding_params = float(self.num_active_params(non_embedding=True))
        return s


# Published config.json values (the fields from_hf_config reads).
PRESETS = _PRESETS  # the one preset table lives in ttc_fast.checkpoint


# ---- validation helpers -------------------------------------------------------------------------
def _check_spec(spec: Any) -> ModelSpec:
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a ttc_fast.ModelSpec, got {type(spec).__name__}")
    return spec


def _check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {', '.join(CONVENTIONS)}; got {convention!r}")
    return convention


def _as_float_array(value: ArrayLike, name: str, *, minimum: float = 0.0) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr < minimum)):
        bad = arr[~(np.isfinite(arr) & (arr >= minimum))].ravel()[0]
        raise ValueError(f"{name} must be finite and >= {minimum:g}, got {bad:g}")
    return arr


def _check_seq_len(seq_len: float | None, convention: str) -> float:
    if seq_len is None:
        if convention != "kaplan":
            raise ValueError(f"seq_len is required for convention {convention!r} (only kaplan's 6N has none)")
        return 0.0
    if isinstance(seq_len, bool) or not isinstance(seq_len, (int, float, np.integer, np.floating)) \
            or not seq_len >= 1 or not math.isfinite(seq_len):
        raise ValueError(f"seq_len must be a number >= 1, got {seq_len!r}")
    return float(seq_len)


def _out(arr: np.ndarray) -> float | np.ndarray:
    return float(arr) if arr.ndim == 0 else arr


# ---- public API ---------------------------------------------------------------------------------
def training_flops(spec: ModelSpec, tokens: ArrayLike, *, seq_len: float | None = None,
                   convention: str = "kaplan") -> float | np.ndarray:
    """Training FLOPs for ``tokens`` training tokens (forward + 2x backward).

    ``kaplan`` without ``seq_len`` is 6·N·tokens (N = active non-embedding parameters); with
    ``seq_len`` it adds 6·L·seq_len·d_attn per token. Other conventions need ``seq_len`` (the
    training sequence length) and give 3·forward_flops(spec, seq_len)/seq_len per token.
    ``tokens`` may be an array (one per checkpoint); the result has its shape (float for scalars).
    """
    spec, convention = _check_spec(spec), _check_convention(convention)
    s = _check_seq_len(seq_len, convention)
    toks = _as_float_array(tokens, "tokens")
    per_token = _C.training_flops(spec._shape(), convention, 1.0, s)
    return _out(toks * per_token)


def forward_flops(spec: ModelSpec, seq_len: int, *, convention: str = "matmul") -> float:
    """FLOPs of one forward pass over ``seq_len`` tokens with logits at every position (one
    training sequence's forward). ``matmul`` equals torch FlopCounterMode on an eager-attention model."""
    spec, convention = _check_spec(spec), _check_convention(convention)
    if seq_len is None:
        raise ValueError("seq_len must be a number >= 1, got None")
    return float(_C.forward_flops(spec._shape(), convention, _check_seq_len(seq_len, convention)))


def inference_flops(spec: ModelSpec, prompt_len: ArrayLike, gen_len: ArrayLike, k: ArrayLike = 1, *,
                    shared_prefix: bool = True, convention: str = "kaplan") -> float | np.ndarray:
    """FLOPs to draw ``k`` samples of ``gen_len`` tokens each from one ``prompt_len``-token prompt.

    Shared prefix: prefill(P) + k·decode(P, T); otherwise k·(prefill + decode). Prefill builds the KV
    cache (attention P² halved under the causal conventions kaplan/megatron, full under palm/
    chinchilla/matmul; no logits); decode position t attends to all t cached keys (4·L·H·head_dim·t,
    never halved) and pays its logits where the convention counts them. ``prompt_len``, ``gen_len``
    and ``k`` broadcast against each other (numpy rules); grids are evaluated in C++.
    """
    spec, convention = _check_spec(spec), _check_convention(convention)
    p = _as_float_array(prompt_len, "prompt_len")
    g = _as_float_array(gen_len, "gen_len")
    kk = _as_float_array(k, "k", minimum=1.0)
    if p.ndim == g.ndim == kk.ndim == 0:
        return float(_C.inference_flops(spec._shape(), convention, float(p), float(g), float(kk),
                                        bool(shared_prefix)))
    p, g, kk = np.broadcast_arrays(p, g, kk)  # zero-copy views; C++ reads them by stride
    return _C.inference_flops_grid(spec._shape(), convention, p, g, kk, bool(shared_prefix))


def kv_cache_bytes(spec: ModelSpec, tokens: ArrayLike, *, bytes_per_elem: int = 2) -> int | np.ndarray:
    """Bytes of KV cache for ``tokens`` cached tokens: 2 (K and V)·L·num_kv_heads·head_dim·bytes.

    For K samples with a shared prefix pass ``P + K·T`` tokens (the prompt is stored once); without
    sharing ``K·(P + T)``. ``bytes_per_elem``: 2 for bf16/fp16, 1 for fp8, 4 for fp32.
    """
    spec = _check_spec(spec)
    if isinstance(bytes_per_elem, bool) or not isinstance(bytes_per_elem, (int, np.integer)) or bytes_per_elem < 1:
        raise ValueError(f"bytes_per_elem must be an int >= 1, got {bytes_per_elem!r}")
    toks = _as_float_array(tokens, "tokens")
    if np.any(toks != np.floor(toks)):
        raise ValueError(f"tokens must be whole numbers, got {tokens!r}")
    per_token = 2 * spec.num_layers * spec.num_kv_heads * spec.head_dim * int(bytes_per_elem)
    if toks.ndim == 0:
        return int(toks) * per_token
    return toks.astype(np.int64) * per_token


@dataclass(frozen=True)
class BreakEven:
    """Break-even of a TTC checkpoint against the fully trained model served with one sample.

    All FLOPs under one ``convention``. ``queries`` = Q* = flops_saved / extra_inference_flops_per_query,
    the number of queries served (each with K samples instead of 1) before the training FLOPs saved
    are used up (inf when K == 1); ``net_*`` charge ``eval_flops`` (the evaluation samples drawn
    during training) against the saving. Fields are floats, or arrays of the broadcast shape.
    """

    convention: str
    train_flops_full: float
    train_flops_checkpoint: float | np.ndarray
    flops_saved: float | np.ndarray
    flops_saved_fraction: float | np.ndarray
    extra_inference_flops_per_query: float | np.ndarray
    queries: float | np.ndarray
    net_flops_saved: float | np.ndarray
    net_queries: float | np.ndarray


def break_even(spec: ModelSpec, *, full_tokens: float, checkpoint_tokens: ArrayLike, k: ArrayLike,
               prompt_len: ArrayLike, gen_len: ArrayLike, shared_prefix: bool = True, convention: str = "kaplan",
               eval_flops: ArrayLike = 0.0, seq_len: float | None = None) -> BreakEven:
    """Break-even in ttc_fast's own FLOP terms (see :class:`BreakEven`).

    Q* = [C_train(full_tokens) - C_train(checkpoint_tokens)] / [C_inf(K) - C_inf(1)], with C_inf from
    :func:`inference_flops` (with sharing the prefill cancels, leaving (K-1)·decode) and C_train from
    :func:`training_flops`. ``checkpoint_tokens``, ``k``, ``prompt_len``, ``gen_len`` and
    ``eval_flops`` broadcast (e.g. checkpoints[:, None, None] x ks[None, :, None] x lengths); the
    grid is evaluated in C++ (multithreaded).
    """
    spec, convention = _check_spec(spec), _check_convention(convention)
    s = _check_seq_len(seq_len, convention)
    full = float(_as_float_array(full_tokens, "full_tokens"))
    ckpt = _as_float_array(checkpoint_tokens, "checkpoint_tokens")
    if np.any(ckpt > full):
        raise ValueError(f"checkpoint_tokens must be <= full_tokens={full:g}, got {ckpt.max():g}")
    kk = _as_float_array(k, "k", minimum=1.0)
    p = _as_float_array(prompt_len, "prompt_len")
    g = _as_float_array(gen_len, "gen_len")
    ev = _as_float_array(eval_flops, "eval_flops")
    shape = spec._shape()
    arrays = np.broadcast_arrays(ckpt, kk, p, g, ev)
    q, qn = _C.break_even_grid(shape, convention, full, s, bool(shared_prefix), *arrays, bool(np.any(ev)))
    per_token = _C.training_flops(shape, convention, 1.0, s)
    train_full = per_token * full
    train_ckpt = per_token * ckpt
    saved = train_full - train_ckpt
    extra = (inference_flops(spec, p, g, kk, shared_prefix=shared_prefix, convention=convention)
             - inference_flops(spec, p, g, 1, shared_prefix=shared_prefix, convention=convention))

    def full_shape(x: Any) -> float | np.ndarray:  # read-only broadcast view: no grid-sized copies
        return _out(np.broadcast_to(np.asarray(x, dtype=np.float64), q.shape))

    return BreakEven(
        convention=convention, train_flops_full=float(train_full), train_flops_checkpoint=full_shape(train_ckpt),
        flops_saved=full_shape(saved), flops_saved_fraction=full_shape(saved / train_full if train_full else 0.0),
        extra_inference_flops_per_query=full_shape(extra), queries=_out(q),
        net_flops_saved=full_shape(saved - ev),
        net_queries=_out(qn))


def paper_break_even(r: float, lam: float, train_tokens: float, out_len: float,
                     train_to_infer: float = 6.0) -> float:
    """The source paper's closed form, in samples: N_infer = train_to_infer·(1-r)·D_train / ((lam-1)·L_out).

    r: fraction of the full training compute at the checkpoint, in [0, 1]; lam (> 1): factor by which
    TTC multiplies serving cost; train_tokens: D_train; out_len: L_out tokens per sample;
    train_to_infer: training FLOPs per token / inference FLOPs per token. The paper uses 6 (the
    reason its example gives 7.03e10 samples); with the 6N / 2N convention it is 3 (about 3.5e10).
    """
    for name, value in (("r", r), ("lam", lam), ("train_tokens", train_tokens), ("out_len", out_len),
                        ("train_to_infer", train_to_infer)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a number, got {value!r}")
    return float(_C.paper_break_even(float(r), float(lam), float(train_tokens), float(out_len),
                                     float(train_to_infer)))



# ---- plain-Python references (test oracle and benchmark baseline) --------------------------------
# The same formulas as csrc/flops.h written with Python arithmetic, so they work on floats (one
# element at a time, as a user's loop would) and on numpy arrays (broadcasting).
def flop_terms_ref(spec: ModelSpec, convention: str) -> dict[str, float]:
    """Per-token forward coefficients {linear, logits, embed, attn, causal} (see csrc/flops.h)."""
    _check_convention(convention)
    d, L, H, hd = spec.d_model, spec.num_layers, spec.num_heads, spec.head_dim
    q, kv = H * hd, spec.num_kv_heads * hd
    mats = 3 if spec.gated_mlp else 2
    n_moe = spec._n_moe_layers()
    moe = 0.0
    if n_moe:
        moe = 2.0 * d * spec.num_experts + 2.0 * mats * d * (spec.moe_d_ff or 0) * spec.experts_per_token
        if spec.shared_expert_d_ff:
            moe += 2.0 * mats * d * spec.shared_expert_d_ff + 2.0 * d
    matmul = L * (2.0 * d * (q + 2 * kv) + 2.0 * q * d) + (L - n_moe) * 2.0 * mats * d * spec.d_ff + n_moe * moe
    unembed = 2.0 * d * spec.vocab_size
    n2 = 2.0 * spec.num_active_params(non_embedding=True)
    attn = 4.0 * L * H * hd
    return {
        "kaplan": dict(linear=n2, logits=0.0, embed=0.0, attn=attn, causal=True),
        "palm": dict(linear=n2, logits=0.0, embed=0.0, attn=attn, causal=False),
        "chinchilla": dict(linear=matmul, logits=unembed, embed=unembed, attn=attn + 3.0 * L * H, causal=False),
        "megatron": dict(linear=matmul, logits=unembed, embed=0.0, attn=attn, causal=True),
        "matmul": dict(linear=matmul, logits=unembed, embed=0.0, attn=attn, causal=False),
    }[convention]


def inference_flops_ref(spec: ModelSpec, prompt_len: Any, gen_len: Any, k: Any = 1, *, shared_prefix: bool = True,
                        convention: str = "kaplan") -> Any:
    """Plain-Python :func:`inference_flops` (no validation): prefill + k·decode, or k·(prefill + decode)."""
    t = flop_terms_ref(spec, convention)
    half = 0.5 if t["causal"] else 1.0
    prefill = prompt_len * (t["linear"] + t["embed"]) + t["attn"] * prompt_len * prompt_len * half
    decode = (gen_len * (t["linear"] + t["embed"] + t["logits"])
              + t["attn"] * gen_len * (2.0 * prompt_len + gen_len - 1.0) * 0.5)
    return prefill + k * decode if shared_prefix else k * (prefill + decode)


def break_even_queries_ref(spec: ModelSpec, *, full_tokens: float, checkpoint_tokens: Any, k: Any, prompt_len: Any,
                           gen_len: Any, shared_prefix: bool = True, convention: str = "kaplan",
                           eval_flops: Any = 0.0, seq_len: float | None = None) -> Any:
    """Plain-Python Q* of :func:`break_even` (net of ``eval_flops``; inf where K == 1)."""
    t = flop_terms_ref(spec, convention)
    if seq_len is None:
        per_token = 3.0 * t["linear"]
    else:
        per_token = 3.0 * (t["linear"] + t["embed"] + t["logits"]
                           + t["attn"] * seq_len * (0.5 if t["causal"] else 1.0))
    saved = per_token * full_tokens - per_token * checkpoint_tokens - eval_flops
    extra = (inference_flops_ref(spec, prompt_len, gen_len, k, shared_prefix=shared_prefix, convention=convention)
             - inference_flops_ref(spec, prompt_len, gen_len, 1, shared_prefix=shared_prefix, convention=convention))
    if isinstance(extra, np.ndarray) or isinstance(saved, np.ndarray):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(extra > 0, saved / np.where(extra > 0, extra, 1.0), np.where(saved >= 0, np.inf, -np.inf))
    return saved / extra if extra > 0 else (math.inf if saved >= 0 else -math.inf)
