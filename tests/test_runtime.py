"""Model runtime: every family against transformers (fp32), sharded loading, in-memory wrapping, error messages."""
from __future__ import annotations

import json
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
import models as M  # noqa: E402  (tests/models.py: tiny local checkpoints)

import ttc_fast  # noqa: E402

# fp32 everywhere; logits have magnitude ~5, summation-order differences are ~1e-6
ATOL, RTOL = 1e-4, 1e-4


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    out = {}
    for fam in M.FAMILIES:
        path = tmp_path_factory.mktemp(fam)
        out[fam] = (path, M.build(fam, path, seed=1))
    return out


@pytest.mark.parametrize("family", list(M.FAMILIES))
def test_logits_match_transformers(checkpoints, family):
    path, hf = checkpoints[family]
    model = ttc_fast.load_model(path)
    assert model.arch.family == ("llama" if family == "mistral" else family)
    ids = torch.tensor(M.ragged_prompts(2, 3, 9, 9))  # rectangular batch of 3 x 9
    with torch.no_grad():
        ref = hf(ids).logits
    torch.testing.assert_close(model.forward(ids), ref, atol=ATOL, rtol=RTOL)
    # ragged prompts packed in one prefill: the last-position logits of each prompt, and its KV rows
    prompts = M.ragged_prompts(3, 4, 1, 13)  # includes lengths 1 (a single token) and up to 13
    last, kp, vp, indptr = model.prefill(prompts)
    assert indptr.tolist() == [0] + torch.tensor([len(p) for p in prompts]).cumsum(0).tolist()
    assert len(kp) == model.arch.num_layers and kp[0].shape == (indptr[-1], model.arch.num_kv_heads,
                                                                 model.arch.head_dim)
    for i, p in enumerate(prompts):
        with torch.no_grad():
            r = hf(torch.tensor([p])).logits[0, -1]
        torch.testing.assert_close(last[i], r, atol=ATOL, rtol=RTOL)


def test_spec_tokenizer_eos(checkpoints):
    path, _ = checkpoints["llama"]
    model = ttc_fast.load_model(path)
    assert model.eos_token_ids == [2]
    assert model.tokenizer.encode("w1 w2").ids == [4, 5]
    assert model.dtype == torch.float32 and model.device.type == "cpu"
    if model.spec is not None:  # flops branch merged
        assert model.spec.num_layers == 2 and model.spec.num_kv_heads == 2


def test_sharded_checkpoint(tmp_path, checkpoints):
    hf = M.build("qwen3", tmp_path, seed=1, max_shard_size="40KB")
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 2  # really sharded
    ids = torch.tensor([M.ragged_prompts(4, 1, 7, 7)[0]])
    with torch.no_grad():
        ref = hf(ids).logits
    torch.testing.assert_close(ttc_fast.load_model(tmp_path).forward(ids), ref, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("family", ["llama", "gpt_neox", "qwen2"])  # qwen2: tied embeddings
def test_wrap_in_memory_model_shares_storage(checkpoints, family):
    _, hf = checkpoints[family]
    model = ttc_fast.load_model(hf, tokenizer=M.word_tokenizer())
    params = dict(hf.named_parameters())
    shared = 0
    for name, t in model.weights.items():
        if name in params:
            assert t.data_ptr() == params[name].data_ptr(), name
            shared += 1
    assert shared == len(params)  # every parameter is used, none copied
    ids = torch.tensor(M.ragged_prompts(5, 2, 6, 6))
    with torch.no_grad():
        torch.testing.assert_close(model.forward(ids), hf(ids).logits, atol=ATOL, rtol=RTOL)
        # a training step updates the parameters in place: the wrapper sees the new weights without reloading
        emb = next(p for n, p in params.items() if "emb" in n)
        before = model.forward(ids)
        emb.mul_(1.5)
        after, ref_after = model.forward(ids), hf(ids).logits
        emb.div_(1.5)
    assert not torch.allclose(before, after, atol=1e-2)
    torch.testing.assert_close(after, ref_after, atol=ATOL, rtol=RTOL)


def test_dtype_conversion_and_bf16(checkpoints):
    path, _ = checkpoints["llama"]
    model = ttc_fast.load_model(path, dtype="bfloat16")
    assert model.dtype == torch.bfloat16
    ref = ttc_fast.load_model(path).forward(torch.tensor([[3, 4, 5, 6]]))
    out = model.forward(torch.tensor([[3, 4, 5, 6]]))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, atol=0.25, rtol=0.05)  # bf16 weights: ~3 significant digits


# ---- error cases: each names what is wrong -----------------------------------------------------------------
def test_error_paths(tmp_path, checkpoints):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ttc_fast.load_model(tmp_path / "nope")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        ttc_fast.load_model(tmp_path / "file.txt")
    with pytest.raises(FileNotFoundError, match="no config.json"):
        ttc_fast.load_model(tmp_path)
    with pytest.raises(TypeError, match="path_or_model"):
        ttc_fast.load_model(42)


def _copy(src, dst):
    import shutil
    shutil.copytree(src, dst)
    return dst


def test_error_missing_and_mismatched_shards(tmp_path):
    M.build("llama", tmp_path / "a", seed=2, max_shard_size="40KB")
    index = json.loads((tmp_path / "a" / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    (tmp_path / "a" / shards[1]).unlink()
    with pytest.raises(FileNotFoundError, match=f"shard '{shards[1]}'"):
        ttc_fast.load_model(tmp_path / "a")
    # a shard from another checkpoint: the index assigns tensors to it that it does not hold
    M.build("llama", tmp_path / "b", seed=2, max_shard_size="40KB")
    index_b = json.loads((tmp_path / "b" / "model.safetensors.index.json").read_text())
    sb = sorted(set(index_b["weight_map"].values()))
    import shutil
    shutil.copyfile(tmp_path / "b" / sb[0], tmp_path / "b" / sb[1])
    with pytest.raises(ValueError, match="mismatched shard"):
        ttc_fast.load_model(tmp_path / "b")


def test_error_missing_tensor_and_shape(tmp_path):
    from safetensors.torch import load_file, save_file
    M.build("qwen2", tmp_path, seed=3)
    f = tmp_path / "model.safetensors"
    tensors = load_file(str(f))
    name = "model.layers.1.self_attn.k_proj.bias"
    save_file({k: v for k, v in tensors.items() if k != name}, str(f))
    with pytest.raises(ValueError, match=r"lacks 1 tensor.*k_proj\.bias"):
        ttc_fast.load_model(tmp_path)
    save_file(tensors, str(f))
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["intermediate_size"] = 100
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"gate_proj.weight.*shape \(96, 64\).*\(100, 64\)"):
        ttc_fast.load_model(tmp_path)


def test_error_tokenizer_vocab_and_dtype_and_arch(tmp_path, checkpoints):
    from tokenizers import Tokenizer, models, pre_tokenizers
    path, _ = checkpoints["gpt_neox"]
    big = Tokenizer(models.WordLevel({f"t{i}": i for i in range(M.VOCAB + 10)}, unk_token="t0"))
    big.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    with pytest.raises(ValueError, match=rf"{M.VOCAB + 10} tokens.*vocab_size={M.VOCAB}"):
        ttc_fast.load_model(path, tokenizer=big)
    with pytest.raises(ValueError, match="not supported by the runtime"):
        ttc_fast.load_model(path, dtype=torch.float64)
    with pytest.raises(ValueError, match="floating-point"):
        ttc_fast.load_model(path, dtype=torch.int8)
    with pytest.raises(ValueError, match="dtype must be"):
        ttc_fast.load_model(path, dtype="float8")
    d = _copy(path, tmp_path / "bert")
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(architectures=["BertForMaskedLM"], model_type="bert")
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"unsupported architecture.*GPTNeoXForCausalLM.*LlamaForCausalLM.*Qwen3"):
        ttc_fast.load_model(d)
    os.remove(d / "model.safetensors")
    (d / "pytorch_model.bin").write_bytes(b"")
    cfg.update(architectures=["LlamaForCausalLM"], model_type="llama")
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(FileNotFoundError, match="no safetensors.*pytorch_model.bin"):
        ttc_fast.load_model(d)
