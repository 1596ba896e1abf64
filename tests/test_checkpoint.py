"""ttc_fast.checkpoint: the one config.json parser (flops and runtime), presets, coordinates, identity, safetensors
checks. The reference for the parser's defaults is transformers itself: a config with the optional keys left out
is built by transformers (on the meta device) and its tensor shapes are compared with what both consumers infer."""
from __future__ import annotations

import json
import os
import shutil
import struct
import sys

import pytest
import torch
import transformers

from ttc_fast import ModelSpec
from ttc_fast.checkpoint import (PRESETS, checkpoint_coordinates, checkpoint_identity, parse_config, preset_config,
                                 safetensors_header, step_from_path)
from ttc_fast.runtime.models import ArchConfig

sys.path.insert(0, os.path.dirname(__file__))

BASE = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, vocab_size=100)
# minimal configs: every optional key left to the family's default
MINIMAL = {
    "llama": dict(BASE, model_type="llama"),
    # num_key_value_heads absent: transformers' constant defaults (8, 32, 32), hence 32 heads
    "mistral": dict(BASE, model_type="mistral", num_attention_heads=32),
    "qwen2": dict(BASE, model_type="qwen2", num_attention_heads=32),
    "qwen3": dict(BASE, model_type="qwen3", num_attention_heads=32),  # head_dim absent: 128, not 64 / 32
    "gpt_neox": dict(BASE, model_type="gpt_neox"),
}


def _meta_model(cfg: dict):
    config = transformers.AutoConfig.for_model(**cfg)
    with torch.device("meta"):
        return transformers.AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("family", list(MINIMAL))
def test_one_parser_both_consumers_agree_with_transformers_defaults(family):
    cfg = MINIMAL[family]
    model = _meta_model(cfg)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    arch = ArchConfig.from_hf(cfg)
    spec = ModelSpec.from_hf_config(cfg)
    expected = arch.weight_shapes()
    aliases = {"embed_out.weight": "lm_head.weight"}
    assert {aliases.get(k, k) for k in shapes} == set(expected)  # no tensor more, none less
    for name, shape in shapes.items():
        assert expected[aliases.get(name, name)] == shape, name
    assert spec.num_params() == sum(p.numel() for p in model.parameters())
    assert (spec.head_dim, spec.num_kv_heads, spec.d_ff) == (arch.head_dim, arch.num_kv_heads, arch.d_ff)
    if family == "qwen3":
        assert arch.head_dim == spec.head_dim == 128


BAD = [  # (edit of a llama config, the field the message must name, what it must say)
    (lambda c: c.pop("hidden_size"), "hidden_size", "missing field 'hidden_size'"),
    (lambda c: c.pop("intermediate_size"), "intermediate_size", "missing field 'intermediate_size'"),
    (lambda c: c.update(hidden_size="64"), "hidden_size", r"integer in \[1, 2\*\*31 - 1\], got '64'"),
    (lambda c: c.update(num_hidden_layers=0), "num_hidden_layers", "got 0"),
    (lambda c: c.update(vocab_size=2 ** 40), "vocab_size", "got 1099511627776"),
    (lambda c: c.update(num_attention_heads=True), "num_attention_heads", "got True"),
    (lambda c: c.update(num_key_value_heads=3), "num_key_value_heads", "must divide"),
    (lambda c: c.update(hidden_size=66), "hidden_size", "not divisible.*give 'head_dim'"),
    (lambda c: c.update(model_type="gpt2"), "model_type", "'gpt2'.* supported: "),
    (lambda c: c.update(attention_bias="yes"), "attention_bias", "true or false"),
    (lambda c: c.update(rms_norm_eps=-1), "rms_norm_eps", "finite number > 0"),
    (lambda c: c.update(rope_theta=float("nan")), "rope_theta", "finite number"),
    (lambda c: c.update(partial_rotary_factor=1.5), "partial_rotary_factor", r"\[0, 1\]"),
    (lambda c: c.update(rope_parameters=[1]), "rope_parameters", "object or null"),
]


@pytest.mark.parametrize("edit, field, what", BAD)
def test_bad_config_names_file_field_and_accepted_values(tmp_path, edit, field, what):
    cfg = dict(MINIMAL["llama"], num_key_value_heads=2)
    edit(cfg)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    for call in (ModelSpec.from_hf_config, parse_config, lambda p: ArchConfig.from_hf(cfg, source=str(p))):
        with pytest.raises(ValueError, match=rf"config.json: .*{field}.*") as err:
            call(path)
        assert field in str(err.value)
        assert __import__("re").search(what, str(err.value)), str(err.value)


def test_bad_config_files(tmp_path):
    path = tmp_path / "config.json"
    for content, match in ((b"{\"a\": ", "not valid JSON"), (b"[1, 2]", "a config must be a JSON object, got list"),
                           (b"\xff\xfe", "not valid UTF-8"), (b"[" * 100_000, "not valid JSON")):
        path.write_bytes(content)
        with pytest.raises(ValueError, match=rf"config.json: {match}"):
            ModelSpec.from_hf_config(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope"):
        ModelSpec.from_hf_config(tmp_path / "nope")
    with pytest.raises(TypeError, match="config must be a path"):
        ModelSpec.from_hf_config(3)


def test_one_preset_table():
    from ttc_fast.cli import main
    from ttc_fast.runtime.bench import shape_config
    for name in PRESETS:
        cfg = preset_config(name)
        assert shape_config(name)["hidden_size"] == cfg["hidden_size"]
        assert ModelSpec.preset(name) == ModelSpec.from_hf_config(cfg)
    assert main(["flops", "--shape", "tiny", "--tokens", "1e9"]) == 0
    with pytest.raises(ValueError, match="preset must be one of tiny, tinyllama"):
        ModelSpec.preset("gpt-5")
    with pytest.raises(ValueError, match="--shape must be one of tiny"):
        shape_config("gpt-5")


# ---- coordinates ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path, step", [
    ("run/checkpoint-1000", 1000), ("run/step-000250", 250), ("run/step_7", 7), ("run/global_step12", 12),
    ("lightning/epoch=0-step=300", 300), ("out/runs__checkpoint-40/samples_gsm8k_2024.jsonl", 40),
    ("run/checkpoint-5/hf", 5), ("run/final", None), ("run/step-3-ablation/model", None),
])
def test_step_from_path(path, step):
    assert step_from_path(path) == step


def test_coordinates_precedence_and_bad_trainer_state(tmp_path):
    d = tmp_path / "checkpoint-100"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(dict(MINIMAL["llama"])))
    c = checkpoint_coordinates(d)
    assert (c.step, c.train_tokens, c.train_flops, c.source["step"]) == (100, None, None, "path")
    (d / "trainer_state.json").write_text(json.dumps({"global_step": 90, "num_input_tokens_seen": 1e6}))
    c = checkpoint_coordinates(d)
    spec = ModelSpec.from_hf_config(d)
    assert (c.step, c.train_tokens) == (90, 1e6)
    assert c.train_flops == pytest.approx(6 * spec.num_params(non_embedding=True) * 1e6)  # Kaplan 6N·D
    assert checkpoint_coordinates(d, step=3, train_flops=5.0).step == 3
    for bad, match in (({"global_step": "90"}, "'global_step' must be a finite number"),
                       ({"global_step": 1.5}, "'global_step' must be an integer"),
                       ({"train_tokens": float("inf")}, "'train_tokens' must be a finite number"),
                       ([1], "must be a JSON object")):
        (d / "trainer_state.json").write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=match):
            checkpoint_coordinates(d)
    with pytest.raises(ValueError, match="train_tokens must be a finite number >= 0, got -1"):
        checkpoint_coordinates(d, train_tokens=-1)
    with pytest.raises(ValueError, match="step must be an integer"):
        checkpoint_coordinates(d, step=2 ** 63)
    with pytest.raises(ValueError, match="pass --step"):
        checkpoint_coordinates(tmp_path / "final")


def test_eval_and_ingest_use_the_same_coordinates(tmp_path):
    from ttc_fast.evaluate import checkpoint_info
    from ttc_fast.ingest import checkpoint_coordinates as ingest_coordinates
    d = tmp_path / "step-0042"
    d.mkdir()
    (d / "config.json").write_text(json.dumps(dict(MINIMAL["llama"])))
    (d / "trainer_state.json").write_text(json.dumps({"train_tokens": 5e6}))
    out = tmp_path / "lm_eval"
    out.mkdir()
    (out / "results_x.json").write_text(json.dumps({"config": {"model_args": f"pretrained={d},dtype=float32"}}))
    (out / "samples_t.jsonl").write_text("")
    a = checkpoint_info(d)
    b = ingest_coordinates(str(out / "samples_t.jsonl"))
    assert (a["step"], a["train_tokens"], a["train_flops"]) == (b["step"], b["train_tokens"], b["train_flops"])
    assert a["step"] == 42


# ---- safetensors and identity ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    from models import build
    path = tmp_path_factory.mktemp("ck") / "checkpoint-10"
    build("llama", path)
    return path


def test_cut_off_and_damaged_safetensors_give_named_errors(tmp_path, ckpt):
    import ttc_fast
    d = tmp_path / "cut"
    shutil.copytree(ckpt, d)
    f = d / "model.safetensors"
    data = f.read_bytes()
    for content, match in ((data[:-100], "model.safetensors: cut off: the header places tensor data up to byte"),
                           (data[:4], "model.safetensors: not a safetensors file"),
                           (struct.pack("<Q", len(data)) + data[8:], "cut off or not a safetensors file"),
                           (data[:8] + b"}" + data[9:], "header is not valid JSON")):
        f.write_bytes(content)
        with pytest.raises(ValueError, match=match):
            safetensors_header(f)
        with pytest.raises(ValueError, match=match):
            ttc_fast.load_model(d)
        with pytest.raises(ValueError, match=match):
            checkpoint_identity(d)


def test_identity_follows_weights_not_location(tmp_path, ckpt):
    from models import build
    a = checkpoint_identity(ckpt)
    copy = tmp_path / "elsewhere"
    shutil.copytree(ckpt, copy)
    os.utime(copy / "model.safetensors", (0, 0))
    assert checkpoint_identity(copy) == a
    other = tmp_path / "other"
    build("llama", other, seed=1)  # same architecture, same header sizes, other weights
    assert checkpoint_identity(other) != a
    cfg = json.loads((copy / "config.json").read_text())
    cfg["rms_norm_eps"] = 1e-3
    (copy / "config.json").write_text(json.dumps(cfg))
    assert checkpoint_identity(copy) != a


def test_report_onto_an_existing_file(tmp_path):
    from ttc_fast.report import write_report
    f = tmp_path / "report.md"
    f.write_text("x")
    with pytest.raises(ValueError, match="is an existing file, not a directory"):
        write_report([], None, f)
    with pytest.raises(ValueError, match="is an existing file"):
        write_report([], None, f / "sub")
