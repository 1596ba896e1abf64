"""``load_model``: a Hugging Face checkpoint directory (or a live ``transformers`` model) -> :class:`Model`.

Reads ``config.json``, ``model.safetensors`` or the shards listed in ``model.safetensors.index.json``,
``tokenizer.json`` (via ``tokenizers``) and the EOS ids of ``config.json`` / ``generation_config.json``. Every
failure names the file or tensor at fault: wrong path, missing or mismatched shard, missing tensor, shape mismatch,
a tokenizer larger than the embedding, a dtype the device cannot run, an unsupported architecture.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ttc_fast.runtime.models import WEIGHT_ALIASES, ArchConfig, Model

_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
           "half": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def load_model(path_or_model: Any, *, tokenizer: Any = None, dtype: torch.dtype | str | None = None,
               device: torch.device | str | None = None) -> Model:
    """Load a checkpoint directory, or wrap an in-memory ``transformers`` causal LM without copying its weights.

    Args:
        path_or_model: a directory with ``config.json`` + safetensors weights (single file or sharded with
            ``model.safetensors.index.json``) and optionally ``tokenizer.json``; or a ``transformers``
            ``PreTrainedModel`` of a supported architecture (its parameter tensors are shared, not copied, as long
            as ``dtype``/``device`` do not ask for a conversion: evaluation during training sees the live weights).
        tokenizer: overrides the directory's tokenizer: a ``tokenizers.Tokenizer``, a ``transformers`` fast
            tokenizer (its ``backend_tokenizer`` is used) or a path to a ``tokenizer.json``.
        dtype: ``torch.float32``/``float16``/``bfloat16`` or their names. None: the checkpoint's dtype, except
            that half-precision checkpoints run in float32 on CPU.
        device: default ``"cpu"`` for directories, the model's own device for in-memory models.

    Returns: :class:`Model`. Raises FileNotFoundError (paths, shards), ValueError (config, tensors, shapes,
    tokenizer, dtype, architecture), TypeError (argument types).
    """
    dt = _parse_dtype(dtype)
    if isinstance(path_or_model, torch.nn.Module):
        return _wrap_module(path_or_model, tokenizer=tokenizer, dtype=dt, device=device)
    if not isinstance(path_or_model, (str, os.PathLike)):
        raise TypeError(f"path_or_model must be a directory path or a transformers model, "
                        f"got {type(path_or_model).__name__}")
    root = Path(path_or_model)
    if not root.exists():
        raise FileNotFoundError(f"model path {str(root)!r} does not exist")
    if not root.is_dir():
        raise FileNotFoundError(f"model path {str(root)!r} is not a directory (expected a checkpoint directory "
                                "with config.json and *.safetensors)")
    cfg_path = root / "config.json"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"no config.json in {str(root)!r}")
    from ttc_fast.checkpoint import read_config
    config, _ = read_config(cfg_path)  # not JSON / not an object -> ValueError naming the file
    arch = ArchConfig.from_hf(config, source=str(cfg_path))  # bad field, unsupported architecture -> ValueError
    dev = torch.device(device if device is not None else "cpu")
    expected = arch.weight_shapes()
    raw = _read_safetensors(root, set(expected), dev)
    stored = next((raw[n].dtype for n in expected if n in raw), torch.float32)
    target = dt or (torch.float32 if (dev.type == "cpu" and stored in (torch.float16, torch.bfloat16))
                    else stored)
    _check_dtype_runs(target, dev)
    weights = _check_weights(raw, expected, target, str(root))
    tok = _load_tokenizer(tokenizer if tokenizer is not None else root / "tokenizer.json",
                          required=tokenizer is not None)
    _check_tokenizer(tok, arch)
    return Model(config, weights, tokenizer=tok, eos_token_ids=_eos_ids(config, root))


# ---- pieces ---------------------------------------------------------------------------------------------
def _parse_dtype(dtype: Any) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        if dtype is not None and not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating-point dtype, got {dtype}")
        return dtype
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    raise ValueError(f"dtype must be a torch dtype or one of {sorted(_DTYPES)}, got {dtype!r}")


def _check_dtype_runs(dtype: torch.dtype, device: torch.device) -> None:
    """A tiny matmul + softmax probe: raises ValueError when ``device`` cannot run ``dtype``."""
    if dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise ValueError(f"dtype {dtype} is not supported by the runtime (float32, float16, bfloat16)")
    if device.type == "cuda" and dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        raise ValueError(f"dtype bfloat16 cannot run on {device} (compute capability < 8.0); use float16")
    try:
        a = torch.ones(4, 4, dtype=dtype, device=device)
        torch.softmax(a @ a, dim=-1)
    except (RuntimeError, NotImplementedError, AssertionError) as e:
        raise ValueError(f"dtype {dtype} cannot run on device {device}: {e}") from None


def _read_safetensors(root: Path, wanted: set[str], device: torch.device) -> dict[str, torch.Tensor]:
    from safetensors import safe_open

    index = root / "model.safetensors.index.json"
    single = root / "model.safetensors"
    if index.is_file():
        from ttc_fast.checkpoint import read_config
        weight_map = read_config(index)[0].get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map or \
                not all(isinstance(v, str) for v in weight_map.values()):
            raise ValueError(f"{index}: field 'weight_map' must be a non-empty object {{tensor name: shard file}}")
        files = sorted(set(weight_map.values()))
        for f in files:
            if not (root / f).is_file():
                raise FileNotFoundError(f"shard {f!r} listed in {index.name} is missing from {str(root)!r}")
    elif single.is_file():
        files, weight_map = ["model.safetensors"], None
    else:
        others = sorted(p.name for p in root.glob("*.safetensors"))
        if others:
            raise FileNotFoundError(f"{str(root)!r} has {others} but neither model.safetensors nor "
                                    "model.safetensors.index.json")
        bins = sorted(p.name for p in root.glob("*.bin"))
        hint = f" (found {bins}; convert to safetensors)" if bins else ""
        raise FileNotFoundError(f"no safetensors weights in {str(root)!r}{hint}")
    from safetensors import SafetensorError

    from ttc_fast.checkpoint import safetensors_header
    out: dict[str, torch.Tensor] = {}
    dev = "cpu" if device.type == "cpu" else str(device)
    for f in files:
        safetensors_header(root / f)  # a cut-off or damaged file -> ValueError naming it and what is wrong
        try:
            out.update(_read_one(root, f, weight_map, wanted, dev, safe_open))
        except SafetensorError as err:
            raise ValueError(f"{root / f}: damaged safetensors file ({err})") from None
    return out


def _read_one(root: Path, f: str, weight_map: dict[str, str] | None, wanted: set[str], dev: str,
              safe_open) -> dict[str, torch.Tensor]:
    """The tensors of shard ``f`` that the model needs (names through ``WEIGHT_ALIASES``)."""
    out: dict[str, torch.Tensor] = {}
    with safe_open(str(root / f), framework="pt", device=dev) as sf:
        keys = set(sf.keys())
        if weight_map is not None:
            listed = {k for k, v in weight_map.items() if v == f}
            absent = sorted(listed - keys)
            if absent:
                raise ValueError(f"shard {f!r} does not hold tensors the index assigns to it "
                                 f"(mismatched shard?): {absent[:5]}")
        for k in keys:
            name = WEIGHT_ALIASES.get(k, k)
            if name in wanted:
                out[name] = sf.get_tensor(k)
    return out


def _check_weights(raw: Mapping[str, torch.Tensor], expected: Mapping[str, tuple[int, ...]],
                   dtype: torch.dtype, where: str) -> dict[str, torch.Tensor]:
    missing = [n for n in expected if n not in raw]
    if missing:
        raise ValueError(f"checkpoint {where!r} lacks {len(missing)} tensor(s) the model needs: {missing[:5]}")
    out = {}
    for name, shape in expected.items():
        t = raw[name]
        if tuple(t.shape) != tuple(shape):
            raise ValueError(f"tensor {name!r} in {where!r} has shape {tuple(t.shape)}, config.json implies {shape}")
        out[name] = t if t.dtype == dtype else t.to(dtype)
    return out


def _load_tokenizer(tok: Any, *, required: bool):
    if tok is None:
        return None
    if isinstance(tok, (str, os.PathLike)):
        p = Path(tok)
        if p.is_dir():
            p = p / "tokenizer.json"
        if not p.is_file():
            if required:
                raise FileNotFoundError(f"tokenizer file {str(p)!r} does not exist")
            return None
        from tokenizers import Tokenizer
        try:
            return Tokenizer.from_file(str(p))
        except Exception as err:  # tokenizers raises a bare Exception for a file it cannot parse
            raise ValueError(f"{p}: not a tokenizers tokenizer.json ({str(err)[:200]})") from None
    backend = getattr(tok, "backend_tokenizer", None)  # transformers fast tokenizer
    if backend is not None:
        return backend
    if hasattr(tok, "encode") and hasattr(tok, "decode") and hasattr(tok, "get_vocab_size"):
        return tok
    raise TypeError(f"tokenizer must be a tokenizers.Tokenizer, a transformers fast tokenizer or a path, "
                    f"got {type(tok).__name__}")


def _check_tokenizer(tok: Any, arch: ArchConfig) -> None:
    if tok is None:
        return
    n = tok.get_vocab_size(with_added_tokens=True)
    if n > arch.vocab_size:
        raise ValueError(f"tokenizer has {n} tokens but the model's embedding has only vocab_size="
                         f"{arch.vocab_size} rows: tokenizer and checkpoint do not match")


def _eos_ids(config: Mapping[str, Any], root: Path | None) -> list[int]:
    ids: list[int] = []
    sources = [config]
    if root is not None and (root / "generation_config.json").is_file():
        from ttc_fast.checkpoint import read_config
        sources.append(read_config(root / "generation_config.json")[0])
    for src in sources:
        e = src.get("eos_token_id")
        for v in (e if isinstance(e, list) else [e]):
            if isinstance(v, int) and v not in ids:
                ids.append(v)
    return ids


def _wrap_module(module: torch.nn.Module, *, tokenizer: Any, dtype: torch.dtype | None, device: Any) -> Model:
    cfg_obj = getattr(module, "config", None)
    if cfg_obj is None or not hasattr(cfg_obj, "to_dict"):
        raise TypeError(f"an in-memory model must be a transformers PreTrainedModel, got {type(module).__name__}")
    config = cfg_obj.to_dict()
    if not config.get("architectures"):
        config["architectures"] = [type(module).__name__]
    arch = ArchConfig.from_hf(config)
    expected = arch.weight_shapes()
    raw = {WEIGHT_ALIASES.get(k, k): v.detach() for k, v in module.state_dict(keep_vars=True).items()}
    if arch.tied_embeddings is False and "lm_head.weight" not in raw:
        out_emb = module.get_output_embeddings() if hasattr(module, "get_output_embeddings") else None
        if out_emb is not None:
            raw["lm_head.weight"] = out_emb.weight.detach()
    first = raw.get(next(iter(expected)))
    dev = torch.device(device) if device is not None else (first.device if first is not None else torch.device("cpu"))
    target = dtype or (first.dtype if first is not None else torch.float32)
    _check_dtype_runs(target, dev)
    raw = {k: (v if (v.dtype == target and v.device == dev) else v.to(device=dev, dtype=target))
           for k, v in raw.items() if k in expected}
    weights = _check_weights(raw, expected, target, type(module).__name__)
    tok = _load_tokenizer(tokenizer, required=True) if tokenizer is not None else None
    _check_tokenizer(tok, arch)
    gen = getattr(module, "generation_config", None)
    gen_eos = {"eos_token_id": getattr(gen, "eos_token_id", None)} if gen is not None else {}
    eos = _eos_ids(config, None)
    eos += [i for i in _eos_ids(gen_eos, None) if i not in eos]
    return Model(config, weights, tokenizer=tok, eos_token_ids=eos)
