"""Training loop of the demo: a small Llama (``transformers.LlamaForCausalLM``) trained from scratch on
:class:`ttc_fast.demo.task.ChainTask`, with real Hugging Face checkpoints at regular intervals.

FLOP accounting: ``train_tokens`` counts every position of every batch the model ran forward and backward; batches
are padded to the task's fixed ``max_len``, so a step is exactly ``batch_size x max_len`` tokens and the budget of
the whole run is known before it starts (:func:`total_train_tokens`); ``train_flops = ttc_fast.training_flops(spec, train_tokens,
seq_len=task.max_len)`` with ``spec = ModelSpec.from_hf_config(config)`` (Kaplan convention: 6 x non-embedding
parameters per token plus the causal attention term; a multiply-add = 2 FLOPs).

Each checkpoint directory ``<out>/step-<step:06d>/`` holds ``config.json`` + ``model.safetensors``
(``save_pretrained``), ``generation_config.json``, ``tokenizer.json`` (+ ``tokenizer_config.json``) and
``trainer_state.json`` with ``global_step``, ``num_input_tokens_seen`` (the names transformers' Trainer uses),
``train_tokens``, ``train_flops``, ``loss`` and ``flops_convention``.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ttc_fast.demo.task import BOS_ID, EOS_ID, PAD_ID, ChainTask, Problem, build_tokenizer, save_tokenizer

# model shapes (Llama, SwiGLU, RoPE, GQA); "tiny" is what --quick and the tests train
MODEL_SIZES: dict[str, dict[str, int]] = {
    "tiny": dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 intermediate_size=128),
    "small": dict(hidden_size=96, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                  intermediate_size=256),
    "base": dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=4,
                 intermediate_size=352),
}


@dataclass
class TrainConfig:
    """``steps`` optimizer steps of ``batch_size`` problems; a checkpoint every ``checkpoint_every`` steps (and at
    the last step); AdamW at peak ``lr`` with ``warmup`` linear steps then cosine decay to ``lr * min_lr_frac``."""
    steps: int = 1500
    batch_size: int = 64
    checkpoint_every: int = 100
    lr: float = 3e-3
    warmup: int = 50
    min_lr_frac: float = 0.1
    weight_decay: float = 0.01
    model_size: str = "small"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.model_size not in MODEL_SIZES:
            raise ValueError(f"model_size must be one of {', '.join(MODEL_SIZES)}; got {self.model_size!r}")
        for name in ("steps", "batch_size", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}")


@dataclass(frozen=True)
class Checkpoint:
    """A saved checkpoint: directory, optimizer ``step``, cumulative ``train_tokens`` and ``train_flops``
    (FLOPs, Kaplan convention), the mean training ``loss`` since the previous checkpoint."""
    path: str
    step: int
    train_tokens: int
    train_flops: float
    loss: float


def llama_config(task: ChainTask, model_size: str):
    """The ``transformers.LlamaConfig`` of a demo model for ``task`` (vocab = the character tokenizer's)."""
    from transformers import LlamaConfig

    vocab_size = build_tokenizer().get_vocab_size()
    return LlamaConfig(vocab_size=vocab_size, max_position_embeddings=max(64, task.max_len),
                       bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=PAD_ID, tie_word_embeddings=False,
                       rope_theta=10000.0, rms_norm_eps=1e-5, hidden_act="silu", **MODEL_SIZES[model_size])


def encode_batch(tokenizer, problems: list[Problem], width: int | None = None):
    """``(input_ids, labels)`` int64 tensors ``(B, T)``, T = ``width`` (default: the longest sequence in the
    batch); ``<bos>`` prompt answer ``<eos>``, right-padded with ``<pad>``. Labels are -100 except on the answer tokens and ``<eos>``: the
    prompt digits are random, so only the completion (running values) is learnable."""
    import torch

    rows, masks = [], []
    for p in problems:
        prompt = tokenizer.encode(p.prompt).ids                       # starts with <bos>
        answer = tokenizer.encode(p.completion, add_special_tokens=False).ids + [EOS_ID]
        rows.append(prompt + answer)
        masks.append([False] * len(prompt) + [True] * len(answer))
    longest = max(len(r) for r in rows)
    width = longest if width is None else width
    if longest > width:
        raise ValueError(f"width must be >= the longest sequence ({longest}); got {width}")
    ids = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, (r, m) in enumerate(zip(rows, masks)):
        ids[i, :len(r)] = torch.tensor(r)
        labels[i, :len(r)] = torch.where(torch.tensor(m), torch.tensor(r), torch.tensor(-100))
    return ids, labels


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimizer step ``step`` (0-based): linear warmup then cosine to ``min_lr_frac``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def checkpoint_steps(cfg: TrainConfig) -> list[int]:
    """Steps at which a checkpoint is saved: every ``checkpoint_every`` steps and the last step."""
    steps = list(range(cfg.checkpoint_every, cfg.steps + 1, cfg.checkpoint_every))
    if not steps or steps[-1] != cfg.steps:
        steps.append(cfg.steps)
    return steps


def total_train_tokens(task: ChainTask, cfg: TrainConfig) -> int:
    """Tokens the full run processes: every batch is padded to ``task.max_len``."""
    return cfg.steps * cfg.batch_size * task.max_len


def train(task: ChainTask, cfg: TrainConfig, out_dir: str | os.PathLike, *,
          on_checkpoint: Callable[[Checkpoint, object], None] | None = None, progress: bool = True,
          ) -> list[Checkpoint]:
    """Trains from scratch and saves checkpoints under ``out_dir``; returns them in order.

    ``on_checkpoint(ckpt, model)`` runs right after each save with the live ``LlamaForCausalLM`` (in eval mode;
    training resumes afterwards), which is where the demo evaluates and feeds the selector.
    """
    import torch
    from tqdm.auto import tqdm

    from ttc_fast.flops import ModelSpec, training_flops

    torch.manual_seed(cfg.seed)
    from transformers import LlamaForCausalLM

    config = llama_config(task, cfg.model_size)
    model = LlamaForCausalLM(config)
    model.generation_config.do_sample = True
    spec = ModelSpec.from_hf_config(config.to_dict())
    tokenizer = build_tokenizer()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.98))
    os.makedirs(out_dir, exist_ok=True)
    save_at = set(checkpoint_steps(cfg))
    checkpoints: list[Checkpoint] = []
    tokens, loss_sum, loss_n = 0, 0.0, 0
    bar = tqdm(total=cfg.steps, desc="train", unit="step", disable=not progress, dynamic_ncols=True)
    model.train()
    t0 = time.perf_counter()
    for step in range(cfg.steps):
        ids, labels = encode_batch(tokenizer, task.train_batch(cfg.batch_size), task.max_len)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        loss = model(input_ids=ids, attention_mask=(ids != PAD_ID).long(), labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens += ids.numel()
        loss_sum, loss_n = loss_sum + loss.item(), loss_n + 1
        bar.update(1)
        if (step + 1) % 20 == 0:
            bar.set_postfix(loss=f"{loss_sum / loss_n:.3f}")
        if step + 1 in save_at:
            flops = float(training_flops(spec, tokens, seq_len=task.max_len))
            ckpt = Checkpoint(os.path.join(os.fspath(out_dir), f"step-{step + 1:06d}"), step + 1, tokens, flops,
                              loss_sum / loss_n)
            save_checkpoint(model, tokenizer, ckpt, cfg, elapsed=time.perf_counter() - t0)
            checkpoints.append(ckpt)
            loss_sum, loss_n = 0.0, 0
            if on_checkpoint is not None:
                model.eval()
                with torch.no_grad():
                    on_checkpoint(ckpt, model)
                model.train()
    bar.close()
    return checkpoints


def save_checkpoint(model, tokenizer, ckpt: Checkpoint, cfg: TrainConfig, *, elapsed: float = 0.0) -> None:
    """Writes the checkpoint directory (weights via ``save_pretrained`` in safetensors, tokenizer, trainer state).
    The trainer state is written last, through a rename, so a directory with it is complete."""
    from transformers.utils import logging as hf_logging

    os.makedirs(ckpt.path, exist_ok=True)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()      # one "Writing model shards" bar per checkpoint is noise
    try:
        model.save_pretrained(ckpt.path, safe_serialization=True)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    save_tokenizer(tokenizer, ckpt.path)
    state = {"global_step": ckpt.step, "num_input_tokens_seen": ckpt.train_tokens,
             "train_tokens": ckpt.train_tokens, "train_flops": ckpt.train_flops,
             "flops_convention": "kaplan (6N non-embedding + causal attention at seq_len=max_len)",
             "loss": ckpt.loss, "train_seconds": elapsed, "config": asdict(cfg)}
    tmp = os.path.join(ckpt.path, "trainer_state.json.tmp")
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, os.path.join(ckpt.path, "trainer_state.json"))
