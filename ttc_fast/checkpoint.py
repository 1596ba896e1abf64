"""A Hugging Face checkpoint directory as ttc_fast reads it, without torch: the one ``config.json`` parser (used by
``ttc_fast.flops`` and ``ttc_fast.runtime``), the one table of model presets, the one function for a checkpoint's
coordinates (step, training tokens, training FLOPs) and a cheap identity of its weights (``ttc-fast eval``'s
resume key). Formats and rules: docs/formats.md ("Checkpoint directories").

Every error names the file, the field and what is accepted (ValueError; FileNotFoundError for missing paths).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MODEL_TYPES", "ARCHITECTURES", "PRESETS", "HFConfig", "read_config", "parse_config", "preset_config",
           "Coordinates", "checkpoint_coordinates", "step_from_path", "safetensors_header", "checkpoint_identity"]

# model_type -> the transformers class name (config.json "architectures")
MODEL_TYPES: dict[str, str] = {
    "llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "gpt_neox": "GPTNeoXForCausalLM",
    "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM", "qwen3_moe": "Qwen3MoeForCausalLM",
}
ARCHITECTURES: dict[str, str] = {arch: mt for mt, arch in MODEL_TYPES.items()}

# The one preset table: HF-style config dicts (what ``ModelSpec.preset``, ``ttc-fast flops --shape`` and
# ``ttc-fast bench-sampling --shape`` build). "tiny" is the ~20M-parameter Llama the CPU benchmarks use.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(model_type="llama", hidden_size=256, num_hidden_layers=6, num_attention_heads=8,
                 num_key_value_heads=4, intermediate_size=704, vocab_size=32000, tie_word_embeddings=False,
                 rms_norm_eps=1e-5, rope_theta=10000.0, max_position_embeddings=4096),
    "tinyllama": dict(model_type="llama", hidden_size=2048, num_hidden_layers=22, num_attention_heads=32,
                      num_key_value_heads=4, intermediate_size=5632, vocab_size=32000,
                      tie_word_embeddings=False),
    "llama-3-8b": dict(model_type="llama", hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
                       num_key_value_heads=8, intermediate_size=14336, vocab_size=128256,
                       tie_word_embeddings=False),
    "qwen2.5-1.5b": dict(model_type="qwen2", hidden_size=1536, num_hidden_layers=28, num_attention_heads=12,
                         num_key_value_heads=2, intermediate_size=8960, vocab_size=151936,
                         tie_word_embeddings=True),
    "pythia-2.8b": dict(model_type="gpt_neox", hidden_size=2560, num_hidden_layers=32, num_attention_heads=32,
                        intermediate_size=10240, vocab_size=50304, rotary_pct=0.25, use_parallel_residual=True,
                        tie_word_embeddings=False),
}

# transformers' default num_key_value_heads where it is a constant, not num_attention_heads
_KV_DEFAULT = {"mistral": 8, "qwen2": 32, "qwen3": 32, "qwen3_moe": 4}
_SIZE_MAX = 2 ** 31 - 1  # any size field of a real model is far below; beyond it int32 kernels and memory fail
_REQUIRED = object()


def preset_config(name: str) -> dict[str, Any]:
    """A copy of ``PRESETS[name]`` with ``architectures`` filled in; ValueError listing the names otherwise."""
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {name!r}")
    cfg = dict(PRESETS[name])
    cfg.setdefault("architectures", [MODEL_TYPES[cfg["model_type"]]])
    return cfg


# ---- config.json ---------------------------------------------------------------------------------------------
def read_config(path_or_dict: str | os.PathLike | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """``(config dict, source)`` from a ``config.json`` path, its directory, or a dict (source "config")."""
    if isinstance(path_or_dict, Mapping):
        return dict(path_or_dict), "config"
    if not isinstance(path_or_dict, (str, os.PathLike)):
        raise TypeError(f"config must be a path to config.json, its directory or a dict, got "
                        f"{type(path_or_dict).__name__}")
    path = os.fspath(path_or_dict)
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"config file {path!r} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not valid UTF-8 ({err.reason} at byte {err.start})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    except RecursionError:
        raise ValueError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: a config must be a JSON object, got {type(cfg).__name__}")
    return cfg, path


@dataclass(frozen=True)
class HFConfig:
    """A decoder's shape and family flags, normalised across families and transformers versions.

    Sizes are counts (``head_dim`` per head, ``d_ff`` the dense MLP width, per matrix); ``norm`` is "rmsnorm" or
    "layernorm"; ``rotary_pct`` the fraction of each head's channels that rotate; MoE: ``num_experts`` experts of
    width ``moe_d_ff``, ``experts_per_token`` active, in ``moe_layers`` of the layers (0 experts: dense).
    """
    source: str
    model_type: str
    vocab_size: int
    d_model: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    d_ff: int
    tied_embeddings: bool
    norm: str
    norm_eps: float
    act: str
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool
    qk_norm: bool
    parallel_residual: bool
    rope_theta: float
    rotary_pct: float
    rope_scaling: dict = field(default_factory=dict, compare=False)
    sliding_window: int | None = None
    num_experts: int = 0
    experts_per_token: int = 0
    moe_d_ff: int | None = None
    moe_layers: int | None = None


def _get(cfg: Mapping[str, Any], keys: tuple[str, ...], default: Any) -> tuple[str, Any]:
    for k in keys:
        if cfg.get(k) is not None:
            return k, cfg[k]
    return keys[0], default


def _int(cfg, src, keys, *, lo=1, default=_REQUIRED, why=""):
    keys = (keys,) if isinstance(keys, str) else keys
    k, v = _get(cfg, keys, default)
    if v is _REQUIRED:
        raise ValueError(f"{src}: missing field {k!r} (an integer >= {lo}{why})")
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= _SIZE_MAX:
        raise ValueError(f"{src}: field {k!r} must be an integer in [{lo}, 2**31 - 1], got {v!r}")
    return v


def _bool(cfg, src, key, default):
    v = cfg.get(key)
    if v is None:
        return default
    if not isinstance(v, bool):
        raise ValueError(f"{src}: field {key!r} must be true or false, got {v!r}")
    return v


def _float(cfg, src, keys, default, *, lo=0.0, hi=math.inf, lo_open=True):
    keys = (keys,) if isinstance(keys, str) else keys
    k, v = _get(cfg, keys, default)
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v <= hi \
        and (v > lo if lo_open else v >= lo)
    if not ok:
        rng = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]" if math.isfinite(hi) else f"> {lo:g}"
        raise ValueError(f"{src}: field {k!r} must be a finite number {rng}, got {v!r}")
    return float(v)


def parse_config(path_or_dict: str | os.PathLike | Mapping[str, Any], *, source: str | None = None) -> HFConfig:
    """Parses a Hugging Face ``config.json`` (a path, its directory, or the dict) into :class:`HFConfig`.

    ``model_type`` (else ``architectures[0]``) must be one of :data:`MODEL_TYPES`. Required: ``hidden_size``,
    ``num_hidden_layers``, ``num_attention_heads``, ``vocab_size``, ``intermediate_size`` (except MoE models
    whose every layer is sparse). Optional keys take the transformers defaults of the family: ``head_dim``
    (``hidden_size / num_attention_heads``; 128 for qwen3, as ``Qwen3Config``), ``num_key_value_heads``
    (= heads for llama; 8 mistral, 32 qwen2 and qwen3, 4 qwen3_moe, as their transformers configs), norms' eps (1e-6 RMSNorm, 1e-5 GPT-NeoX LayerNorm), ``rope_theta`` 10000 (also read from
    ``rope_parameters``/``rope_scaling`` and GPT-NeoX ``rotary_emb_base``), partial rotary (``rope_parameters``
    ``partial_rotary_factor``, else ``partial_rotary_factor``, else ``rotary_pct``; 0.25 for GPT-NeoX, else 1),
    biases (``attention_bias``: False, GPT-NeoX True; Qwen2 always has q/k/v biases), ``tie_word_embeddings``
    False. Sliding window: ``sliding_window`` when ``use_sliding_window`` is true (default true for mistral).
    ValueError naming the source (``source``, else the file, else "config"), the field and what is accepted.
    """
    cfg, src = read_config(path_or_dict)
    src = source or src
    mt = cfg.get("model_type")
    if mt is None:
        archs = cfg.get("architectures") or []
        archs = archs if isinstance(archs, list) else [archs]
        mt = next((ARCHITECTURES[a] for a in archs if isinstance(a, str) and a in ARCHITECTURES), None)
        if mt is None:
            raise ValueError(f"{src}: missing field 'model_type' (one of {', '.join(MODEL_TYPES)}; or "
                             f"'architectures' naming {', '.join(ARCHITECTURES)}), architectures={archs!r}")
    if not isinstance(mt, str) or mt not in MODEL_TYPES:
        raise ValueError(f"{src}: field 'model_type': model_type {mt!r} is not supported; supported: "
                         f"{', '.join(MODEL_TYPES)}")
    neox = mt == "gpt_neox"
    d = _int(cfg, src, "hidden_size")
    heads = _int(cfg, src, "num_attention_heads")
    layers = _int(cfg, src, "num_hidden_layers")
    vocab = _int(cfg, src, "vocab_size")
    kv = heads if neox else _int(cfg, src, "num_key_value_heads", default=_KV_DEFAULT.get(mt, heads))
    if heads % kv:
        raise ValueError(f"{src}: field 'num_key_value_heads' ({kv}) must divide num_attention_heads ({heads})")
    if cfg.get("head_dim") is not None and not neox:
        head_dim = _int(cfg, src, "head_dim")
    elif mt == "qwen3":
        head_dim = 128  # Qwen3Config's default
    else:
        if d % heads:
            raise ValueError(f"{src}: field 'hidden_size' ({d}) is not divisible by num_attention_heads ({heads}): "
                             f"give 'head_dim'")
        head_dim = d // heads
    rope = cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}
    if not isinstance(rope, Mapping):
        raise ValueError(f"{src}: field 'rope_parameters' / 'rope_scaling' must be an object or null, got {rope!r}")
    rope = dict(rope)
    theta = _float({**cfg, **{k: v for k, v in rope.items() if k == "rope_theta"}}, src,
                   ("rope_theta", "rotary_emb_base"), 10000.0)
    rot_keys = ("partial_rotary_factor", "rotary_pct")
    rotary = _float({**cfg, **({"partial_rotary_factor": rope["partial_rotary_factor"]}
                              if rope.get("partial_rotary_factor") is not None else {})},
                    src, rot_keys, 0.25 if neox else 1.0, hi=1.0, lo_open=False)
    rope_type = rope.get("rope_type", rope.get("type", "default"))
    if not isinstance(rope_type, str):
        raise ValueError(f"{src}: field 'rope_type' must be a string, got {rope_type!r}")
    act = cfg.get("hidden_act", "gelu" if neox else "silu")
    if not isinstance(act, str):
        raise ValueError(f"{src}: field 'hidden_act' must be a string, got {act!r}")
    attn_bias = _bool(cfg, src, "attention_bias", neox)
    experts = 0
    if mt == "qwen3_moe":
        experts = _int(cfg, src, ("num_experts", "num_local_experts"), lo=0, default=0)
    sparse_step = _int(cfg, src, "decoder_sparse_step", default=1) if experts else 1
    dense_only = cfg.get("mlp_only_layers") or []
    if experts and (not isinstance(dense_only, list) or any(isinstance(i, bool) or not isinstance(i, int)
                                                           for i in dense_only)):
        raise ValueError(f"{src}: field 'mlp_only_layers' must be a list of layer indices, got {dense_only!r}")
    moe_layers = sum(1 for i in range(layers) if i not in set(dense_only) and (i + 1) % sparse_step == 0) \
        if experts else None
    all_sparse = experts and moe_layers == layers
    d_ff = _int(cfg, src, "intermediate_size", lo=0 if all_sparse else 1, default=0 if all_sparse else _REQUIRED,
                why=" (the MLP width)")
    per_token = _int(cfg, src, "num_experts_per_tok") if experts else 0
    if per_token > experts:
        raise ValueError(f"{src}: field 'num_experts_per_tok' ({per_token}) must be at most num_experts ({experts})")
    window = None
    if cfg.get("sliding_window") is not None and _bool(cfg, src, "use_sliding_window", mt == "mistral"):
        window = _int(cfg, src, "sliding_window")
    return HFConfig(
        source=src, model_type=mt, vocab_size=vocab, d_model=d, num_layers=layers, num_heads=heads,
        num_kv_heads=kv, head_dim=head_dim, d_ff=d_ff, tied_embeddings=_bool(cfg, src, "tie_word_embeddings", False),
        norm="layernorm" if neox else "rmsnorm",
        norm_eps=_float(cfg, src, "layer_norm_eps" if neox else "rms_norm_eps", 1e-5 if neox else 1e-6),
        act=act, qkv_bias=attn_bias or mt == "qwen2", o_bias=attn_bias,
        mlp_bias=neox or _bool(cfg, src, "mlp_bias", False), qk_norm=mt in ("qwen3", "qwen3_moe"),
        parallel_residual=neox and _bool(cfg, src, "use_parallel_residual", True), rope_theta=theta,
        rotary_pct=rotary, rope_scaling={**rope, "rope_type": rope_type}, sliding_window=window,
        num_experts=experts,
        experts_per_token=per_token,
        moe_d_ff=_int(cfg, src, "moe_intermediate_size") if experts else None, moe_layers=moe_layers)


# ---- coordinates ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coordinates:
    """Where a checkpoint lies on the training axis: ``step``, ``train_tokens`` and ``train_flops`` (None when not
    known), and ``source`` saying where each came from ("argument", "trainer_state.json", "path", "config.json")."""
    step: int | None
    train_tokens: float | None
    train_flops: float | None
    source: dict = field(default_factory=dict, compare=False)


_STEP_RE = re.compile(r"(?:checkpoint|step)[-_=]?0*(\d+)$", re.IGNORECASE)


def step_from_path(path: str | os.PathLike) -> int | None:
    """The step in a checkpoint path: the deepest component ending in ``checkpoint-N``, ``step-N``, ``step_N``,
    ``stepN``, ``step=N`` or ``global_stepN`` (a file's extension is ignored), or None."""
    parts = os.path.normpath(os.fspath(path)).split(os.sep)
    for part in reversed(parts):
        m = _STEP_RE.search(part) or _STEP_RE.search(os.path.splitext(part)[0])
        if m:
            return int(m.group(1))
    return None


def _number(state: Mapping[str, Any], keys: tuple[str, ...], where: str) -> tuple[str, float] | None:
    for k in keys:
        v = state.get(k)
        if v is None:
            continue
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        try:
            ok = ok and 0 <= float(v) < math.inf
        except OverflowError:
            ok = False
        if not ok:
            raise ValueError(f"{where}: field {k!r} must be a finite number >= 0, got {v!r}")
        return k, float(v)
    return None


def _check_arg(name: str, v: Any, integer: bool = False) -> Any:
    if v is None:
        return None
    if integer:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v > 2 ** 63 - 1:
            raise ValueError(f"{name} must be an integer in [0, 2**63 - 1], got {v!r}")
        return v
    try:
        ok = not isinstance(v, bool) and 0 <= float(v) < math.inf
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    return float(v)


def checkpoint_coordinates(path: str | os.PathLike, *, step: int | None = None, train_tokens: float | None = None,
                           train_flops: float | None = None, seq_len: int | None = None,
                           require_step: bool = True) -> Coordinates:
    """Step, training tokens and training FLOPs of the checkpoint at ``path`` (a directory, which need not exist
    locally, or a file inside one).

    Each value: the argument if given; else ``trainer_state.json`` in the directory (``global_step`` or ``step``;
    ``train_tokens`` or ``num_input_tokens_seen``; ``train_flops``; transformers' ``total_flos`` is not used: its
    convention counts embeddings); else the step from the path (:func:`step_from_path`). Missing FLOPs with known
    tokens are computed from the directory's ``config.json``: ``training_flops(ModelSpec, tokens, seq_len=...)``
    (Kaplan, 6N per token without ``seq_len``). ``require_step``: ValueError ("pass --step") when no step is known.
    """
    name = os.fspath(path)
    step = _check_arg("step", step, integer=True)
    train_tokens = _check_arg("train_tokens", train_tokens)
    train_flops = _check_arg("train_flops", train_flops)
    directory = name if os.path.isdir(name) else os.path.dirname(name)
    src = {k: "argument" for k, v in (("step", step), ("train_tokens", train_tokens), ("train_flops", train_flops))
           if v is not None}
    state: dict[str, Any] = {}
    sp = os.path.join(directory, "trainer_state.json")
    if directory and os.path.isfile(sp):
        state, _ = read_config(sp)
    if step is None and (got := _number(state, ("global_step", "step"), sp)) is not None:
        if not float(got[1]).is_integer():
            raise ValueError(f"{sp}: field {got[0]!r} must be an integer, got {state[got[0]]!r}")
        step, src["step"] = int(got[1]), "trainer_state.json"
    if step is None and (step := step_from_path(name)) is not None:
        src["step"] = "path"
    if step is None and require_step:
        raise ValueError(f"cannot tell the training step of {name!r} (no trainer_state.json global_step, no "
                         f"checkpoint-N / step-N in its path): pass --step")
    if train_tokens is None and (got := _number(state, ("train_tokens", "num_input_tokens_seen"), sp)):
        train_tokens, src["train_tokens"] = got[1], "trainer_state.json"
    if train_flops is None and (got := _number(state, ("train_flops",), sp)):
        train_flops, src["train_flops"] = got[1], "trainer_state.json"
    cfg = os.path.join(directory, "config.json")
    if train_flops is None and train_tokens is not None and directory and os.path.isfile(cfg):
        from ttc_fast.flops import ModelSpec, training_flops
        train_flops = float(training_flops(ModelSpec.from_hf_config(cfg), train_tokens, seq_len=seq_len))
        src["train_flops"] = "config.json"
    return Coordinates(step, train_tokens, train_flops, src)


# ---- safetensors headers and the checkpoint's identity -------------------------------------------------------
_HEADER_MAX = 100 * 2 ** 20  # the safetensors library's own limit on a header


def safetensors_header(path: str | os.PathLike) -> tuple[dict[str, Any], int, int]:
    """``(header, data_start, file_size)`` of a safetensors file, checked against the file's size: ValueError
    naming the file and what is wrong (too short, a header length past the end, a header that is not JSON, a
    tensor whose byte range lies past the end: a cut-off download or copy)."""
    name = os.fspath(path)
    size = os.path.getsize(name)
    with open(name, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{name}: not a safetensors file ({size} bytes; the format starts with an 8-byte "
                             f"header length)")
        (n,) = struct.unpack("<Q", head)
        if n > _HEADER_MAX or 8 + n > size:
            raise ValueError(f"{name}: cut off or not a safetensors file: the header length says {n} bytes, the "
                             f"file holds {size - 8} after the length field")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValueError(f"{name}: damaged safetensors file: its {n}-byte header is not valid JSON") from None
    if not isinstance(header, dict):
        raise ValueError(f"{name}: damaged safetensors file: its header is not a JSON object")
    end = 0
    for k, t in header.items():
        if k == "__metadata__":
            continue
        offs = t.get("data_offsets") if isinstance(t, dict) else None
        if not (isinstance(offs, list) and len(offs) == 2 and all(isinstance(o, int) for o in offs)
                and 0 <= offs[0] <= offs[1]):
            raise ValueError(f"{name}: damaged safetensors file: tensor {k!r} has no valid data_offsets")
        end = max(end, offs[1])
    data = size - 8 - n
    if end > data:
        raise ValueError(f"{name}: cut off: the header places tensor data up to byte {end} of the data section, "
                         f"the file holds {data} bytes of data (an interrupted download or copy?)")
    return header, 8 + n, size


def checkpoint_identity(path: str | os.PathLike, *, blocks: int = 16, block_bytes: int = 4096) -> str:
    """A short hash that changes when a checkpoint's architecture or weights change, cheap to compute: the bytes
    of ``config.json``, and for every ``*.safetensors`` file its name, size, header and ``blocks`` blocks of
    ``block_bytes`` spread evenly over its tensor data (training changes every weight, so any block differs;
    ~64 KiB read per file). Identical copies of a checkpoint have the same identity wherever they live."""
    root = os.fspath(path)
    h = hashlib.sha256()
    cfg = os.path.join(root, "config.json")
    with open(cfg, "rb") as f:
        h.update(b"config.json\0" + f.read())
    files = sorted(f for f in os.listdir(root) if f.endswith(".safetensors"))
    for fn in files:
        full = os.path.join(root, fn)
        _, start, size = safetensors_header(full)
        h.update(f"\0{fn}\0{size}\0".encode())
        with open(full, "rb") as f:
            h.update(f.read(start))
            span = size - start
            for i in range(blocks):
                f.seek(start + (span - block_bytes) * i // max(1, blocks - 1) if span > block_bytes else start)
                h.update(f.read(block_bytes))
    return "sha256:" + h.hexdigest()[:32]
