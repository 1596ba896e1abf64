"""Tiny random checkpoints of every supported family, built locally with transformers (no downloads).

``build(family, path)`` writes ``config.json`` + safetensors + ``tokenizer.json`` (a word-level tokenizer built in
code with ``tokenizers``) and returns the transformers model in eval mode (fp32, eager attention).
"""
from __future__ import annotations

import torch

VOCAB = 96
WORDS = ["<pad>", "<s>", "</s>"] + [f"w{i}" for i in range(VOCAB - 3)]

# family -> (config class name, kwargs); small but with every feature switched on (GQA, biases, partial rotary...)
FAMILIES: dict[str, tuple[str, dict]] = {
    "llama": ("LlamaConfig", dict(num_key_value_heads=2, rope_parameters={
        "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
        "high_freq_factor": 4.0, "original_max_position_embeddings": 64})),
    "mistral": ("MistralConfig", dict(num_key_value_heads=2, sliding_window=None)),
    "qwen2": ("Qwen2Config", dict(num_key_value_heads=2, tie_word_embeddings=True)),
    "qwen3": ("Qwen3Config", dict(num_key_value_heads=2, head_dim=16)),
    "gpt_neox": ("GPTNeoXConfig", dict(rotary_pct=0.5, use_parallel_residual=True)),
}


def hf_config(family: str, **overrides):
    import transformers

    cls_name, extra = FAMILIES[family]
    kw = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
              num_attention_heads=4, max_position_embeddings=256, bos_token_id=1, eos_token_id=2,
              pad_token_id=0, tie_word_embeddings=False)
    kw.update(extra)
    kw.update(overrides)
    cfg = getattr(transformers, cls_name)(**kw)
    cfg._attn_implementation = "eager"
    return cfg


def hf_model(family: str, seed: int = 0, **overrides):
    import transformers

    torch.manual_seed(seed)
    cfg = hf_config(family, **overrides)
    model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="eager")
    with torch.no_grad():  # larger-than-default weights so logits are spread (a harder test than near-uniform)
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.15)
            elif "norm" in name and name.endswith("weight"):
                p.uniform_(0.5, 1.5)
            else:
                p.normal_(0.0, 0.05)
    return model.eval()


def word_tokenizer():
    """A word-level ``tokenizers.Tokenizer`` over WORDS, whitespace split, decode joins with spaces."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    tok.add_special_tokens(["<pad>", "<s>", "</s>"])
    return tok


def save_tokenizer(tok, path) -> None:
    from transformers import PreTrainedTokenizerFast

    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                            pad_token="<pad>").save_pretrained(str(path))


def build(family: str, path, seed: int = 0, max_shard_size: str | None = None, **overrides):
    model = hf_model(family, seed, **overrides)
    kw = {"max_shard_size": max_shard_size} if max_shard_size else {}
    model.save_pretrained(str(path), safe_serialization=True, **kw)
    save_tokenizer(word_tokenizer(), path)
    return model


def ragged_prompts(seed: int, count: int, lo: int = 3, hi: int = 12) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    lens = torch.randint(lo, hi + 1, (count,), generator=g).tolist()
    return [torch.randint(3, VOCAB, (n,), generator=g).tolist() for n in lens]
