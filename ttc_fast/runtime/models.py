"""One compact decoder for the dense architectures the TTC paper used, weights addressed by their HF names.

Families (``ARCHITECTURES``): Llama (TinyLlama, Llama 3 with ``rope_type="llama3"``, Mistral), Qwen2 (q/k/v bias),
Qwen3 (per-head q/k RMSNorm) and GPT-NeoX (Pythia: LayerNorm with bias, fused per-head ``[q|k|v]`` projection,
partial rotary, parallel residual, non-gated GELU MLP). One forward covers all of them; the differences are a few
flags in :class:`ArchConfig`.

Layout conventions: token-major packed activations. ``x`` ``[N, d_model]`` for N tokens (any mix of prompts),
``q`` ``[N, Hq, D]``, ``k``/``v`` ``[N, Hkv, D]``; rotary embeddings in the HF "rotate half" convention on the first
``rotary_dim`` channels of each head. The model holds plain tensors (views of the checkpoint or of a live
``transformers`` model's parameters, never copies unless a dtype/device change asks for one).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

# HF ``architectures[0]`` / ``model_type`` -> family
ARCHITECTURES: dict[str, str] = {
    "LlamaForCausalLM": "llama", "MistralForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2",
    "Qwen3ForCausalLM": "qwen3", "GPTNeoXForCausalLM": "gpt_neox",
}
MODEL_TYPES: dict[str, str] = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3",
                               "gpt_neox": "gpt_neox"}

_ACTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "silu": F.silu, "swish": F.silu, "gelu": F.gelu, "relu": F.relu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"), "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_fast": lambda x: F.gelu(x, approximate="tanh"),
}


def supported_architectures() -> list[str]:
    return sorted(ARCHITECTURES)


@dataclass(frozen=True)
class ArchConfig:
    """What the forward needs from an HF ``config.json`` (normalised across families and transformers versions)."""
    family: str                 # "llama" | "qwen2" | "qwen3" | "gpt_neox"
    vocab_size: int
    d_model: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    d_ff: int
    norm_eps: float
    rope_theta: float
    rotary_dim: int             # channels per head that rotate (partial rotary: GPT-NeoX rotary_pct)
    rope_scaling: dict = field(default_factory=dict)
    act: str = "silu"
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    qk_norm: bool = False
    tied_embeddings: bool = False
    parallel_residual: bool = False
    sliding_window: int | None = None
    parsed: Any = field(default=None, compare=False, repr=False)  # the ttc_fast.checkpoint.HFConfig it came from

    @classmethod
    def from_hf(cls, cfg: Mapping[str, Any], source: str | None = None) -> ArchConfig:
        """From an HF config dict, through the one parser :func:`ttc_fast.checkpoint.parse_config` (the same
        fields and defaults as ``ttc_fast.ModelSpec``); ValueError naming ``source`` (the file), the field and
        what is accepted, also for what this runtime does not implement (MoE, a rope_type, an activation)."""
        from ttc_fast.checkpoint import parse_config

        src = source or "config"
        archs = cfg.get("architectures") or []
        archs = list(archs) if isinstance(archs, (list, tuple)) else [archs]
        family = MODEL_TYPES.get(str(cfg.get("model_type"))) if cfg.get("model_type") is not None else \
            next((ARCHITECTURES[a] for a in archs if isinstance(a, str) and a in ARCHITECTURES), None)
        c = parse_config(cfg, source=src) if family is not None else None
        if c is None or c.num_experts:
            raise ValueError(f"{src}: unsupported architecture {archs or cfg.get('model_type')!r} for "
                             f"the ttc_fast runtime; supported: {', '.join(supported_architectures())} (model_type "
                             f"{', '.join(sorted(MODEL_TYPES))})")
        rope_type = c.rope_scaling.get("rope_type", "default")
        if rope_type not in ("default", "llama3", "linear"):
            raise ValueError(f"{src}: field 'rope_type': rope_type {rope_type!r} is not supported (default, linear, "
                             f"llama3)")
        if c.act not in _ACTS:
            raise ValueError(f"{src}: field 'hidden_act': hidden_act {c.act!r} is not supported; supported: "
                             f"{', '.join(sorted(_ACTS))}")
        return cls(
            family=family, vocab_size=c.vocab_size, d_model=c.d_model, num_layers=c.num_layers,
            num_heads=c.num_heads, num_kv_heads=c.num_kv_heads, head_dim=c.head_dim, d_ff=c.d_ff,
            norm_eps=c.norm_eps, rope_theta=c.rope_theta, rotary_dim=int(c.head_dim * c.rotary_pct),
            rope_scaling=dict(c.rope_scaling), act=c.act, qkv_bias=c.qkv_bias, o_bias=c.o_bias,
            mlp_bias=c.mlp_bias, qk_norm=c.qk_norm, tied_embeddings=c.tied_embeddings,
            parallel_residual=c.parallel_residual, sliding_window=c.sliding_window, parsed=c)

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every tensor the forward reads, by its HF checkpoint name, with its expected shape."""
        d, D, f, V = self.d_model, self.head_dim, self.d_ff, self.vocab_size
        hq, hkv = self.num_heads * D, self.num_kv_heads * D
        s: dict[str, tuple[int, ...]] = {}
        if self.family == "gpt_neox":
            s["gpt_neox.embed_in.weight"] = (V, d)
            for i in range(self.num_layers):
                p = f"gpt_neox.layers.{i}."
                for ln in ("input_layernorm", "post_attention_layernorm"):
                    s[p + ln + ".weight"] = s[p + ln + ".bias"] = (d,)
                s[p + "attention.query_key_value.weight"] = (3 * hq, d)
                s[p + "attention.dense.weight"] = (d, hq)
                if self.qkv_bias:
                    s[p + "attention.query_key_value.bias"] = (3 * hq,)
                    s[p + "attention.dense.bias"] = (d,)
                s[p + "mlp.dense_h_to_4h.weight"], s[p + "mlp.dense_h_to_4h.bias"] = (f, d), (f,)
                s[p + "mlp.dense_4h_to_h.weight"], s[p + "mlp.dense_4h_to_h.bias"] = (d, f), (d,)
            s["gpt_neox.final_layer_norm.weight"] = s["gpt_neox.final_layer_norm.bias"] = (d,)
            if not self.tied_embeddings:
                s["lm_head.weight"] = (V, d)  # "embed_out.weight" in older checkpoints (aliased on load)
            return s
        s["model.embed_tokens.weight"] = (V, d)
        for i in range(self.num_layers):
            p = f"model.layers.{i}."
            s[p + "input_layernorm.weight"] = s[p + "post_attention_layernorm.weight"] = (d,)
            for name, rows in (("q", hq), ("k", hkv), ("v", hkv)):
                s[p + f"self_attn.{name}_proj.weight"] = (rows, d)
                if self.qkv_bias:
                    s[p + f"self_attn.{name}_proj.bias"] = (rows,)
            s[p + "self_attn.o_proj.weight"] = (d, hq)
            if self.o_bias:
                s[p + "self_attn.o_proj.bias"] = (d,)
            if self.qk_norm:
                s[p + "self_attn.q_norm.weight"] = s[p + "self_attn.k_norm.weight"] = (D,)
            for name, shape in (("gate", (f, d)), ("up", (f, d)), ("down", (d, f))):
                s[p + f"mlp.{name}_proj.weight"] = shape
                if self.mlp_bias:
                    s[p + f"mlp.{name}_proj.bias"] = (shape[0],)
        s["model.norm.weight"] = (d,)
        if not self.tied_embeddings:
            s["lm_head.weight"] = (V, d)
        return s


# checkpoint names that mean the same tensor under another transformers version
WEIGHT_ALIASES = {"embed_out.weight": "lm_head.weight"}


def inv_freq(cfg: ArchConfig, device: torch.device | None = None) -> torch.Tensor:
    """Rotary inverse frequencies ``[rotary_dim / 2]`` float32, exactly as transformers computes them."""
    dim = cfg.rotary_dim
    inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64, device=device).float() / dim))
    rs = cfg.rope_scaling
    if rs.get("rope_type") == "linear":
        inv = inv / float(rs["factor"])
    elif rs.get("rope_type") == "llama3":
        factor, lo, hi = float(rs["factor"]), float(rs["low_freq_factor"]), float(rs["high_freq_factor"])
        old = float(rs["original_max_position_embeddings"])
        lo_wav, hi_wav = old / lo, old / hi
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > lo_wav, inv / factor, inv)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < hi_wav) * ~(wavelen > lo_wav)
        inv = torch.where(medium, smoothed, scaled)
    return inv


class Model:
    """A causal decoder over named weight tensors. Not an ``nn.Module``: it owns no parameters, only references.

    Attributes: ``config`` (the HF config dict), ``arch`` (:class:`ArchConfig`), ``spec`` (``ttc_fast.ModelSpec``
    or None), ``tokenizer`` (``tokenizers.Tokenizer`` or None), ``device``, ``dtype``, ``eos_token_ids`` (list[int]),
    ``weights`` (name -> tensor). The forward entry points are :meth:`forward` (rectangular batch, all logits),
    :meth:`prefill` (ragged prompts packed, KV returned) and :meth:`decode_step` (one token per sample with a
    shared-prefix KV cache); all run under ``torch.inference_mode``.
    """

    def __init__(self, config: Mapping[str, Any], weights: Mapping[str, torch.Tensor], *, tokenizer=None,
                 eos_token_ids: list[int] | None = None):
        self.config = dict(config)
        self.arch = ArchConfig.from_hf(self.config)
        self.weights = dict(weights)
        self.tokenizer = tokenizer
        first = self.weights[next(iter(self.arch.weight_shapes()))]
        self.device, self.dtype = first.device, first.dtype
        self.eos_token_ids = list(eos_token_ids or [])
        from ttc_fast.flops import ModelSpec
        # the same parsed config as the forward's: no second parser whose errors would need swallowing
        self.spec = (ModelSpec.from_parsed(self.arch.parsed) if self.arch.parsed is not None
                     else ModelSpec.from_hf_config(self.config))
        self._inv_freq = inv_freq(self.arch, self.device)
        self._act = _ACTS[self.arch.act]
        self._build_layers()

    # ---- weights ------------------------------------------------------------------------------------
    def _build_layers(self) -> None:
        a, w = self.arch, self.weights
        g = w.get
        self.layers: list[dict[str, torch.Tensor | None]] = []
        for i in range(a.num_layers):
            if a.family == "gpt_neox":
                p = f"gpt_neox.layers.{i}."
                self.layers.append(dict(
                    ln1=w[p + "input_layernorm.weight"], ln1_b=w[p + "input_layernorm.bias"],
                    ln2=w[p + "post_attention_layernorm.weight"], ln2_b=w[p + "post_attention_layernorm.bias"],
                    qkv=w[p + "attention.query_key_value.weight"], qkv_b=g(p + "attention.query_key_value.bias"),
                    o=w[p + "attention.dense.weight"], o_b=g(p + "attention.dense.bias"),
                    up=w[p + "mlp.dense_h_to_4h.weight"], up_b=w[p + "mlp.dense_h_to_4h.bias"],
                    down=w[p + "mlp.dense_4h_to_h.weight"], down_b=w[p + "mlp.dense_4h_to_h.bias"]))
            else:
                p = f"model.layers.{i}."
                at, ml = p + "self_attn.", p + "mlp."
                self.layers.append(dict(
                    ln1=w[p + "input_layernorm.weight"], ln2=w[p + "post_attention_layernorm.weight"],
                    q=w[at + "q_proj.weight"], q_b=g(at + "q_proj.bias"),
                    k=w[at + "k_proj.weight"], k_b=g(at + "k_proj.bias"),
                    v=w[at + "v_proj.weight"], v_b=g(at + "v_proj.bias"),
                    o=w[at + "o_proj.weight"], o_b=g(at + "o_proj.bias"),
                    q_norm=g(at + "q_norm.weight"), k_norm=g(at + "k_norm.weight"),
                    gate=w[ml + "gate_proj.weight"], gate_b=g(ml + "gate_proj.bias"),
                    up=w[ml + "up_proj.weight"], up_b=g(ml + "up_proj.bias"),
                    down=w[ml + "down_proj.weight"], down_b=g(ml + "down_proj.bias")))
        if a.family == "gpt_neox":
            self.embed = w["gpt_neox.embed_in.weight"]
            self.norm_w, self.norm_b = w["gpt_neox.final_layer_norm.weight"], w["gpt_neox.final_layer_norm.bias"]
        else:
            self.embed = w["model.embed_tokens.weight"]
            self.norm_w, self.norm_b = w["model.norm.weight"], None
        self.lm_head = self.embed if a.tied_embeddings else w["lm_head.weight"]

    def num_parameters(self) -> int:
        seen = {t.data_ptr(): t.numel() for t in self.weights.values()}
        return sum(seen.values())

    def weight_bytes(self) -> int:
        seen = {t.data_ptr(): t.numel() * t.element_size() for t in self.weights.values()}
        return sum(seen.values())

    # ---- building blocks ----------------------------------------------------------------------------
    def _norm(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        if self.arch.family == "gpt_neox":
            return F.layer_norm(x, (x.shape[-1],), w, b, self.arch.norm_eps)
        return _rms_norm(x, w, self.arch.norm_eps)

    def _rope(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        freqs = positions.float()[:, None] * self._inv_freq[None, :]  # [N, rotary_dim/2]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(self.dtype)[:, None, :], emb.sin().to(self.dtype)[:, None, :]  # [N, 1, rotary_dim]

    def _qkv(self, L: dict, h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
        a = self.arch
        N, D = h.shape[0], a.head_dim
        if a.family == "gpt_neox":  # fused projection, per-head [q | k | v] interleave
            qkv = F.linear(h, L["qkv"], L["qkv_b"]).view(N, a.num_heads, 3 * D)
            q, k, v = qkv.split(D, dim=-1)
        else:
            q = F.linear(h, L["q"], L["q_b"]).view(N, a.num_heads, D)
            k = F.linear(h, L["k"], L["k_b"]).view(N, a.num_kv_heads, D)
            v = F.linear(h, L["v"], L["v_b"]).view(N, a.num_kv_heads, D)
            if a.qk_norm:
                q, k = _rms_norm(q, L["q_norm"], a.norm_eps), _rms_norm(k, L["k_norm"], a.norm_eps)
        return _apply_rope(q, cos, sin), _apply_rope(k, cos, sin), v.contiguous()

    def _mlp(self, L: dict, h: torch.Tensor) -> torch.Tensor:
        if self.arch.family == "gpt_neox":
            return F.linear(self._act(F.linear(h, L["up"], L["up_b"])), L["down"], L["down_b"])
        gate = self._act(F.linear(h, L["gate"], L["gate_b"]))
        return F.linear(gate * F.linear(h, L["up"], L["up_b"]), L["down"], L["down_b"])

    def _run(self, x: torch.Tensor, positions: torch.Tensor, attend) -> torch.Tensor:
        """All layers over packed tokens ``x`` ``[N, d]``; ``attend(layer, q, k, v) -> [N, Hq, D]``."""
        a = self.arch
        cos, sin = self._rope(positions)
        for i, L in enumerate(self.layers):
            h = self._norm(x, L["ln1"], L.get("ln1_b"))
            q, k, v = self._qkv(L, h, cos, sin)
            att = F.linear(attend(i, q, k, v).reshape(x.shape[0], -1), L["o"], L["o_b"])
            if a.parallel_residual:
                x = x + att + self._mlp(L, self._norm(x, L["ln2"], L.get("ln2_b")))
            else:
                x = x + att
                x = x + self._mlp(L, self._norm(x, L["ln2"], L.get("ln2_b")))
        return self._norm(x, self.norm_w, self.norm_b)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Final hidden states ``[N, d]`` -> logits ``[N, V]`` float32."""
        return F.linear(h, self.lm_head).float()

    # ---- entry points -------------------------------------------------------------------------------
    @torch.inference_mode()
    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Logits ``[B, L, V]`` float32 of a rectangular batch ``input_ids`` ``[B, L]`` (no padding), causal."""
        ids = torch.as_tensor(input_ids, dtype=torch.int64, device=self.device)
        if ids.dim() != 2:
            raise ValueError(f"input_ids must be [batch, length], got shape {tuple(ids.shape)}")
        B, S = ids.shape
        h, _, _ = self._prefill_hidden(ids.reshape(-1), [S] * B, keep_kv=False)
        return self.logits(h).view(B, S, -1)

    __call__ = forward

    def _prefill_hidden(self, tokens: torch.Tensor, lengths: list[int], keep_kv: bool):
        a = self.arch
        positions = torch.cat([torch.arange(n, device=self.device) for n in lengths])
        starts = [0]
        for n in lengths:
            starts.append(starts[-1] + n)
        ks: list[torch.Tensor] = []
        vs: list[torch.Tensor] = []
        G = a.num_heads // a.num_kv_heads

        def attend(i, q, k, v):
            if keep_kv:
                ks.append(k)
                vs.append(v)
            out = torch.empty_like(q)
            for s, e in zip(starts[:-1], starts[1:]):  # causal attention within each prompt
                qh, kh, vh = (t[s:e].transpose(0, 1).unsqueeze(0) for t in (q, k, v))  # [1, H, n, D]
                if G > 1:
                    kh, vh = kh.repeat_interleave(G, dim=1), vh.repeat_interleave(G, dim=1)
                o = F.scaled_dot_product_attention(qh, kh, vh, is_causal=True)
                out[s:e] = o[0].transpose(0, 1)
            return out

        x = F.embedding(tokens, self.embed)
        return self._run(x, positions, attend), ks, vs

    @torch.inference_mode()
    def prefill(self, prompts: list[list[int]]):
        """Runs each prompt once, packed. Returns ``(last_logits [P, V] float32, k_prefix, v_prefix, prefix_indptr)``:
        ``k_prefix[l]``/``v_prefix[l]`` ``[sum(len), Hkv, D]`` (CSR over prompts, the layout of
        ``ttc_fast.ops.shared_prefix_attention``), ``prefix_indptr`` int32 ``[P+1]``."""
        lengths = [len(p) for p in prompts]
        if not prompts or min(lengths) == 0:
            raise ValueError("prefill needs at least one prompt and no empty prompt")
        tokens = torch.tensor([t for p in prompts for t in p], dtype=torch.int64, device=self.device)
        h, ks, vs = self._prefill_hidden(tokens, lengths, keep_kv=True)
        indptr = torch.tensor([0] + lengths, dtype=torch.int64).cumsum(0)
        last = self.logits(h[indptr[1:] - 1])
        return last, ks, vs, indptr.to(torch.int32).to(self.device)

    def decode_step(self, tokens: torch.Tensor, positions: torch.Tensor, cache: DecodeCache,
                    out_logits: torch.Tensor | None = None) -> torch.Tensor:
        """One token per sample. ``tokens``/``positions`` int64 ``[T]``; the new K/V are appended to each sample's
        suffix at ``cache.suffix_lens`` (incremented by the caller after the step) and attention reads the prompt
        prefix once per prompt through ``ttc_fast.ops.shared_prefix_attention``. Returns logits ``[T, V]`` float32.
        Graph-safe on CUDA: no host syncs when ``cache`` and the inputs are static buffers."""
        from ttc_fast.ops import append_suffix_kv, shared_prefix_attention

        def attend(i, q, k, v):  # the index values are the same in every layer: checked (host sync) in layer 0
            append_suffix_kv(cache.k_suffix[i], cache.v_suffix[i], cache.suffix_lens, k, v, validate=i == 0)
            return shared_prefix_attention(q, cache.k_prefix[i], cache.v_prefix[i], cache.prefix_indptr,
                                           cache.qo_indptr, cache.k_suffix[i], cache.v_suffix[i],
                                           cache.attn_lens, out=cache.attn_out, validate=i == 0)

        with torch.inference_mode():
            torch.add(cache.suffix_lens, 1, out=cache.attn_lens)
            h = self._run(F.embedding(tokens, self.embed), positions, attend)
            logits = self.logits(h)
            if out_logits is not None:
                out_logits.copy_(logits)
                return out_logits
            return logits


@dataclass
class DecodeCache:
    """KV for a decode batch: each prompt's KV once (``k_prefix[l]`` ``[sum P_p, Hkv, D]``, CSR ``prefix_indptr``),
    each sample's generated KV in a static ``[T, S_max, Hkv, D]`` buffer per layer; ``suffix_lens`` int32 ``[T]``
    rows already written; ``attn_lens = suffix_lens + 1`` during a step; ``attn_out`` ``[T, Hq, D]`` scratch."""
    k_prefix: list[torch.Tensor]
    v_prefix: list[torch.Tensor]
    prefix_indptr: torch.Tensor
    qo_indptr: torch.Tensor
    k_suffix: list[torch.Tensor]
    v_suffix: list[torch.Tensor]
    suffix_lens: torch.Tensor
    attn_lens: torch.Tensor
    attn_out: torch.Tensor


def _rms_norm(x: torch.Tensor, w: torch.Tensor, eps: float) -> torch.Tensor:
    xf = x.float()
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return w * xf.to(x.dtype)


def _apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """``x`` ``[N, H, D]``; rotates the first ``rd = cos.shape[-1]`` channels (rotate-half convention)."""
    rd = cos.shape[-1]
    if rd == 0:
        return x.contiguous()
    xr, xp = x[..., :rd], x[..., rd:]
    x1, x2 = xr[..., : rd // 2], xr[..., rd // 2:]
    rot = xr * cos + torch.cat((-x2, x1), dim=-1) * sin
    return torch.cat((rot, xp), dim=-1) if xp.shape[-1] else rot.contiguous()
