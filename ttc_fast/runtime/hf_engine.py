"""The ``hf`` engine: n samples per prompt with transformers ``generate(num_return_sequences=n)``, for any causal
LM transformers can load (mixture-of-experts, sliding-window attention, architectures the ttc_fast engine lacks).

It returns the same :class:`~ttc_fast.runtime.generate.Samples` as the ttc_fast engine, with the same conventions:

- **Seeding**: prompt i runs in its own ``generate`` call under ``torch.manual_seed(derive_seed(seed, i, 0))``
  inside ``torch.random.fork_rng`` (the caller's RNG state is left as it was), so its n samples depend only on
  (seed, i, the model, the prompt): reproducible for a seed, independent of the other prompts. They are not the
  ttc_fast engine's samples for the same seed (another sampler, another random stream).
- **Sampling**: exactly the arguments given. The checkpoint's ``generation_config.json`` sampling defaults
  (transformers' ``top_k=50``, a repetition penalty, ...) are not applied: ``generate`` runs with a fresh
  ``GenerationConfig``; temperature, top-k, top-p and min-p are transformers' own warpers, in that order.
- **logprobs**: log_softmax of the raw logits (temperature 1, before the warpers), recorded by a logits processor
  that runs before them; one ``(n, vocab)`` row set at a time, not the whole ``output_logits`` history.
- **Stops**: EOS ids from ``config.json`` / ``generation_config.json`` (as the ttc_fast engine reads them) and stop
  strings (the decoded tail of each sample, as the ttc_fast engine checks it) end a sample; ``lengths`` include
  the EOS token; ``texts`` are cut before the stop string.
- **Costs**: ``generate`` expands each prompt n times before its prefill, so ``prefill_tokens`` is
  ``n * len(prompt)`` per prompt (the ttc_fast engine prefills each prompt once; at temperature 0 one greedy
  sequence is generated and repeated n times); ``prefill_calls`` counts the ``generate`` calls. ``timings`` has ``total``, ``generate`` (seconds in transformers), ``tokens`` and
  ``decode_steps``; ``prefill``/``decode``/``sample`` are nan (transformers does not separate them).

Loading (:func:`load_hf_model`) follows the ttc_fast loader's rules: safetensors weights only (a checkpoint with
pickle weights alone -- ``*.bin``, ``*.pt``, ``*.pth``, ``*.ckpt`` -- raises :class:`PickleCheckpointError`:
unpickling can run arbitrary code), local files only, and code shipped with a checkpoint (``auto_map`` in
``config.json``) never runs unless ``trust_remote_code=True`` (:class:`RemoteCodeError` otherwise).

:func:`engine_for` is the ``engine="auto"`` rule: the ttc_fast engine where it runs the architecture, else this one.
"""
from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ttc_fast.runtime.generate import Samples, derive_seed

__all__ = ["HFModel", "load_hf_model", "generate_hf", "engine_for", "check_hf_checkpoint",
           "PickleCheckpointError", "RemoteCodeError", "EngineFallbackWarning"]

_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
_M63 = (1 << 63) - 1


class PickleCheckpointError(ValueError):
    """A checkpoint has pickle weights only; the hf engine loads safetensors (unpickling can run code)."""


class RemoteCodeError(ValueError):
    """A checkpoint ships its own model code (``auto_map``) and ``trust_remote_code`` was not given."""


class EngineFallbackWarning(UserWarning):
    """``engine="auto"`` runs the hf engine because the ttc_fast engine cannot run this model (the message says why)."""


class HFModel:
    """A transformers causal LM ready for :func:`generate_hf` (and ``ttc_fast.generate``).

    Attributes: ``model`` (the ``PreTrainedModel``), ``tokenizer`` (``tokenizers.Tokenizer``-like: ``encode(text)
    .ids``, ``decode(ids, skip_special_tokens=)``; or None), ``config`` (the HF config as a dict), ``eos_token_ids``,
    ``device``, ``dtype``, ``vocab_size`` (rows of the input embedding), ``spec`` (``ttc_fast.ModelSpec`` or None),
    ``source`` (the directory, or None for an in-memory model).
    """

    def __init__(self, model: Any, *, tokenizer: Any = None, eos_token_ids: Sequence[int] | None = None,
                 source: str | None = None) -> None:
        if not isinstance(model, torch.nn.Module) or not callable(getattr(model, "generate", None)) \
                or getattr(model, "config", None) is None:
            raise TypeError(f"model must be a transformers causal LM (a PreTrainedModel with generate), "
                            f"got {type(model).__name__}")
        self.model = model
        self.tokenizer = tokenizer
        self.config: dict[str, Any] = model.config.to_dict()
        if not self.config.get("architectures"):
            self.config["architectures"] = [type(model).__name__]
        first = next(iter(model.parameters()))
        self.device, self.dtype = first.device, first.dtype
        self.vocab_size = int(model.get_input_embeddings().num_embeddings)
        self.eos_token_ids = list(eos_token_ids if eos_token_ids is not None else _module_eos(model))
        self.source = source
        self.spec = None
        try:
            from ttc_fast.flops import ModelSpec
            self.spec = ModelSpec.from_hf_config(self.config)
        except (ImportError, ValueError, KeyError, TypeError):  # an architecture the FLOP model cannot read
            pass

    def __repr__(self) -> str:
        return (f"HFModel({type(self.model).__name__}, {self.dtype} on {self.device}, vocab {self.vocab_size}"
                f"{', ' + self.source if self.source else ''})")


# ---- checks and loading ----------------------------------------------------------------------------------
def check_hf_checkpoint(path: str | os.PathLike, *, trust_remote_code: bool = False) -> dict[str, Any]:
    """Validates a checkpoint directory for the hf engine without loading weights; returns its ``config.json``.

    Raises FileNotFoundError (no directory, no config.json, no weights), :class:`PickleCheckpointError` (pickle
    weights only), :class:`RemoteCodeError` (``auto_map`` code for an architecture transformers does not have,
    without ``trust_remote_code=True``), ValueError (config.json not JSON)."""
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"model path {str(root)!r} is not a directory (expected a checkpoint directory "
                                "with config.json and *.safetensors)")
    cfg_path = root / "config.json"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"no config.json in {str(root)!r}")
    from ttc_fast.checkpoint import read_config
    config, _ = read_config(cfg_path)  # not JSON / not an object -> ValueError naming the file
    safetensors = sorted(p.name for p in root.glob("*.safetensors"))
    if not safetensors:
        pickles = sorted(p.name for p in root.iterdir() if p.suffix in _PICKLE_SUFFIXES)
        if pickles:
            raise PickleCheckpointError(
                f"checkpoint {str(root)!r} has pickle weights only ({', '.join(pickles[:4])}); the hf engine loads "
                f"safetensors only (unpickling can run arbitrary code). Convert once where you trust the file: "
                f"AutoModelForCausalLM.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)")
        raise FileNotFoundError(f"no safetensors weights in {str(root)!r}")
    if config.get("auto_map") and not trust_remote_code:
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING
        if config.get("model_type") not in CONFIG_MAPPING:
            raise RemoteCodeError(
                f"checkpoint {str(root)!r} ships its own model code (config.json auto_map: "
                f"{sorted(config['auto_map'])}) for model_type {config.get('model_type')!r}, which transformers "
                f"does not have; running it needs trust_remote_code=True (CLI --trust-remote-code), only for code "
                f"you have read")
    return config


def load_hf_model(path_or_model: Any, *, tokenizer: Any = None, dtype: torch.dtype | str | None = None,
                  device: torch.device | str | None = None, trust_remote_code: bool = False) -> HFModel:
    """Load a checkpoint directory with transformers (``AutoModelForCausalLM``), or wrap an in-memory model.

    Args:
        path_or_model: a local directory with ``config.json`` + safetensors (see :func:`check_hf_checkpoint`), or a
            transformers ``PreTrainedModel`` (used as is: not copied, not moved; ``dtype``/``device`` must be None).
        tokenizer: overrides the directory's: a ``tokenizers.Tokenizer``, a transformers tokenizer, or a path.
            Default: ``tokenizer.json`` (read with ``tokenizers``, as the ttc_fast engine does), else the
            directory's transformers tokenizer files, else none (prompts must be token ids).
        dtype: a torch floating dtype or its name; None: the checkpoint's (``config.json`` ``dtype``), except that
            half precision runs in float32 on CPU.
        device: default ``"cpu"``.
        trust_remote_code: run code shipped with the checkpoint (``auto_map``); default False.

    Returns: :class:`HFModel` (in eval mode, gradients off).
    """
    from ttc_fast.runtime.loading import _DTYPES, _check_dtype_runs, _eos_ids, _load_tokenizer, _parse_dtype

    if not isinstance(trust_remote_code, bool):
        raise TypeError(f"trust_remote_code must be True or False, got {trust_remote_code!r}")
    dt = _parse_dtype(dtype)
    if isinstance(path_or_model, torch.nn.Module):
        if dt is not None or device is not None:
            raise ValueError("an in-memory model is used as is: convert it yourself (model.to(...)) instead of "
                             "passing dtype/device")
        tok = _load_tokenizer(tokenizer, required=True) if tokenizer is not None else None
        hf = HFModel(path_or_model, tokenizer=tok)
        _check_vocab(hf)
        return hf
    if not isinstance(path_or_model, (str, os.PathLike)):
        raise TypeError(f"path_or_model must be a directory path or a transformers model, "
                        f"got {type(path_or_model).__name__}")
    root = Path(path_or_model)
    if not root.exists():
        raise FileNotFoundError(f"model path {str(root)!r} does not exist")
    config = check_hf_checkpoint(root, trust_remote_code=trust_remote_code)
    dev = torch.device(device if device is not None else "cpu")
    stored = _DTYPES.get(str(config.get("dtype") or config.get("torch_dtype") or "float32").replace("torch.", ""),
                         torch.float32)
    target = dt or (torch.float32 if (dev.type == "cpu" and stored in (torch.float16, torch.bfloat16)) else stored)
    _check_dtype_runs(target, dev)
    import transformers
    model = transformers.AutoModelForCausalLM.from_pretrained(
        str(root), use_safetensors=True, trust_remote_code=trust_remote_code, local_files_only=True, dtype=target)
    model = model.to(dev).eval()
    model.requires_grad_(False)
    if tokenizer is not None:
        tok = _load_tokenizer(tokenizer, required=True)
    elif (root / "tokenizer.json").is_file():
        tok = _load_tokenizer(root / "tokenizer.json", required=True)
    elif any((root / f).is_file() for f in ("tokenizer_config.json", "tokenizer.model", "vocab.json")):
        hf_tok = transformers.AutoTokenizer.from_pretrained(str(root), trust_remote_code=trust_remote_code,
                                                            local_files_only=True)
        tok = _load_tokenizer(hf_tok, required=True) if hasattr(hf_tok, "backend_tokenizer") \
            else _SlowTokenizer(hf_tok)
    else:
        tok = None
    hf = HFModel(model, tokenizer=tok, eos_token_ids=_eos_ids(config, root), source=str(root))
    _check_vocab(hf)
    return hf


class _SlowTokenizer:
    """A transformers (slow) tokenizer behind the ``tokenizers.Tokenizer`` calls the runtime makes."""

    class _Enc:
        def __init__(self, ids: list[int]) -> None:
            self.ids = ids

    def __init__(self, tok: Any) -> None:
        self.tok = tok

    def encode(self, text: str) -> _SlowTokenizer._Enc:
        return self._Enc(list(self.tok(text)["input_ids"]))

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return self.tok.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def get_vocab_size(self, with_added_tokens: bool = True) -> int:
        return len(self.tok)


def _check_vocab(hf: HFModel) -> None:
    if hf.tokenizer is None:
        return
    n = hf.tokenizer.get_vocab_size(with_added_tokens=True)
    if n > hf.vocab_size:
        raise ValueError(f"tokenizer has {n} tokens but the model's embedding has only {hf.vocab_size} rows: "
                         "tokenizer and checkpoint do not match")


def _module_eos(model: Any) -> list[int]:
    from ttc_fast.runtime.loading import _eos_ids
    gen = getattr(model, "generation_config", None)
    eos = _eos_ids(model.config.to_dict(), None)
    eos += [i for i in _eos_ids({"eos_token_id": getattr(gen, "eos_token_id", None)}, None) if i not in eos]
    return eos


def engine_for(config: Mapping[str, Any], max_len: int | None = None) -> tuple[str, str | None]:
    """The ``engine="auto"`` rule: ``("ttc_fast", None)`` when the ttc_fast engine runs this HF config for
    sequences of ``max_len`` tokens (prompt + new tokens; None: not checked), else ``("hf", why)``."""
    from ttc_fast.runtime.models import ArchConfig
    try:
        arch = ArchConfig.from_hf(config)
    except ValueError as err:
        return "hf", f"the ttc_fast engine does not run this model: {err}"
    if arch.sliding_window is not None and max_len is not None and max_len > arch.sliding_window:
        return "hf", (f"prompt + max_new_tokens = {max_len} tokens exceeds the model's sliding_window="
                      f"{arch.sliding_window}, which the ttc_fast engine does not implement")
    return "ttc_fast", None


# ---- generation -------------------------------------------------------------------------------------------
class _Recorder:
    """Logits processor run before the warpers: keeps log_softmax of the raw logits of the current step and, at
    the next step, the log-probability of the token that was drawn from it."""

    def __init__(self, rows: int, max_new: int, prompt_len: int) -> None:
        self.lp = np.zeros((rows, max_new), dtype=np.float64)
        self.prompt_len = prompt_len
        self.prev: torch.Tensor | None = None
        self.prev_step = -1

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        t = input_ids.shape[1] - self.prompt_len  # tokens generated before this step
        if self.prev is not None and 0 < t <= self.lp.shape[1]:
            self.lp[:, t - 1] = self.prev.gather(1, input_ids[:, -1:]).squeeze(1).double().cpu().numpy()
        self.prev = torch.log_softmax(scores.float(), dim=-1)
        self.prev_step = t
        return scores

    def finish(self, generated: torch.Tensor) -> None:
        """The last drawn token has no next step: take its log-probability from the last kept row set."""
        T = generated.shape[1]
        if self.prev is not None and 0 <= self.prev_step < T and self.prev_step < self.lp.shape[1]:
            tok = generated[:, self.prev_step:self.prev_step + 1]
            self.lp[:, self.prev_step] = self.prev.gather(1, tok).squeeze(1).double().cpu().numpy()
        self.prev = None


class _Ends:
    """Stopping criterion: the first EOS or stop string of every row (the same tail check as the ttc_fast
    engine: the last len(longest stop) + 2 tokens decoded)."""

    def __init__(self, rows: int, prompt_len: int, eos: Sequence[int], stops: Sequence[str], tokenizer: Any) -> None:
        self.prompt_len = prompt_len
        self.eos = set(int(e) for e in eos)
        self.stops = list(stops)
        self.tokenizer = tokenizer
        self.window = max((len(s) for s in stops), default=0) + 2
        self.length = np.zeros(rows, dtype=np.int64)   # 0: still running
        self.reason = ["length"] * rows

    def __call__(self, input_ids: torch.Tensor, scores: Any = None, **kwargs: Any) -> torch.Tensor:
        t = input_ids.shape[1] - self.prompt_len
        last = input_ids[:, -1].tolist()
        for r, tok in enumerate(last):
            if self.length[r]:
                continue
            if tok in self.eos:
                self.length[r], self.reason[r] = t, "eos"
            elif self.stops:
                gen = input_ids[r, self.prompt_len:]
                tail = self.tokenizer.decode(gen[max(0, t - self.window):t].tolist(), skip_special_tokens=True)
                if any(s in tail for s in self.stops):
                    self.length[r], self.reason[r] = t, "stop"
        return torch.from_numpy(self.length > 0).to(input_ids.device)


def generate_hf(model: HFModel, ids: list[list[int]], *, n: int, max_new_tokens: int, temperature: float,
                top_p: float, top_k: int | None, min_p: float | None, stops: Sequence[str], seed: int,
                progress: bool = False) -> Samples:
    """The hf engine behind ``ttc_fast.generate(..., engine="hf")`` (arguments validated there; ``ids``: the
    tokenized prompts). See the module docstring for seeding, sampling and logprob conventions."""
    import transformers
    from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

    t_start = time.perf_counter()
    hf = model.model
    dev = model.device
    greedy = temperature == 0.0
    warpers: list[Any] = []
    if not greedy:
        if temperature != 1.0:
            warpers.append(transformers.TemperatureLogitsWarper(float(temperature)))
        if top_k:
            warpers.append(transformers.TopKLogitsWarper(top_k=int(top_k)))
        if top_p < 1.0:
            warpers.append(transformers.TopPLogitsWarper(top_p=float(top_p)))
        if min_p:
            warpers.append(transformers.MinPLogitsWarper(min_p=float(min_p)))
    eos = sorted(set(model.eos_token_ids))
    pad = _pad_id(model, eos)
    P = len(ids)
    out_tokens: list[list[list[int]]] = []
    out_lp: list[list[list[float]]] = []
    reasons: list[list[str]] = []
    timings: dict[str, float] = dict(prefill=float("nan"), decode=float("nan"), sample=float("nan"), generate=0.0,
                                     decode_steps=0, tokens=0)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=P * n, unit="sample", desc="generate (hf)")
    was_training = hf.training
    saved_gen_config = getattr(hf, "generation_config", None)
    cuda = dev.type == "cuda"
    try:
        hf.eval()
        hf.generation_config = GenerationConfig()  # the checkpoint's sampling defaults do not apply
        for i, prompt in enumerate(ids):
            L = len(prompt)
            rows = 1 if greedy else n  # greedy: one sequence, repeated n times (transformers refuses n > 1)
            rec = _Recorder(rows, max_new_tokens, L)
            ends = _Ends(rows, L, eos, stops, model.tokenizer)
            cfg = GenerationConfig(do_sample=not greedy, temperature=1.0, top_k=0, top_p=1.0,
                                   max_new_tokens=max_new_tokens, num_return_sequences=rows,
                                   eos_token_id=eos or None, pad_token_id=pad, use_cache=True)
            inp = torch.tensor([prompt], dtype=torch.long, device=dev)
            t0 = time.perf_counter()
            with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if cuda else []), \
                    torch.inference_mode():
                torch.manual_seed(derive_seed(seed, i, 0) & _M63)
                seq = hf.generate(inp, attention_mask=torch.ones_like(inp), generation_config=cfg,
                                  logits_processor=LogitsProcessorList([rec, *warpers]),
                                  stopping_criteria=StoppingCriteriaList([ends]))
            timings["generate"] += time.perf_counter() - t0
            gen = seq[:, L:]
            rec.finish(gen)
            gen_h = gen.cpu().numpy()
            timings["decode_steps"] += int(gen.shape[1])
            rows_t, rows_lp, rows_r = [], [], []
            for j in range(n):
                r = 0 if greedy else j
                length = int(ends.length[r]) or min(int(gen.shape[1]), max_new_tokens)
                rows_t.append(gen_h[r, :length].astype(np.int64).tolist())
                rows_lp.append(rec.lp[r, :length].tolist())
                rows_r.append(ends.reason[r])
                timings["tokens"] += length
            out_tokens.append(rows_t)
            out_lp.append(rows_lp)
            reasons.append(rows_r)
            if bar is not None:
                bar.update(n)
    finally:
        if saved_gen_config is not None:
            hf.generation_config = saved_gen_config
        hf.train(was_training)
        if bar is not None:
            bar.close()
    texts = None
    if model.tokenizer is not None:
        texts = [[_final_text(model.tokenizer, toks, stops) for toks in row] for row in out_tokens]
    timings["total"] = time.perf_counter() - t_start
    lengths = np.array([[len(t) for t in row] for row in out_tokens], dtype=np.int64).reshape(P, n)
    return Samples(tokens=out_tokens, texts=texts, logprobs=out_lp, lengths=lengths, finish_reasons=reasons,
                   num_prompts=P, n=n, prefill_calls=P,
                   prefill_tokens=(1 if greedy else n) * sum(len(p) for p in ids),
                   timings=timings, engine="hf")


def _final_text(tokenizer: Any, toks: list[int], stops: Sequence[str]) -> str:
    text = tokenizer.decode(toks, skip_special_tokens=True)
    cut = min((text.find(s) for s in stops if s in text), default=-1)
    return text[:cut] if cut >= 0 else text


def _pad_id(model: HFModel, eos: Sequence[int]) -> int:
    pad = model.config.get("pad_token_id")
    if isinstance(pad, int) and 0 <= pad < model.vocab_size:
        return pad
    return int(eos[0]) if eos else 0


def fallback(reason: str) -> None:
    """Says that ``engine="auto"`` runs the hf engine, and why."""
    warnings.warn(f"{reason}; running it with engine='hf' (transformers generate)", EngineFallbackWarning,
                  stacklevel=4)
