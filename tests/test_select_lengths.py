"""ttc-fast select takes the inference cost from the prompt / generation lengths ttc-fast eval recorded."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _ttc_synth import BUDGET, run_records

from ttc_fast.cli import main
from ttc_fast.flops import ModelSpec, inference_flops


def _log(path, meta_of):
    recs = run_records(30, 8, np.linspace(0.04, 0.8, 12), seed=7)
    for i, r in enumerate(recs):
        r["meta"] = meta_of(i)
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return str(path)


def _break_even(out):
    m = re.search(r"break-even: (\S+) queries", out)
    assert m, out
    return float(m.group(1))


def _deployed(out):
    return int(re.search(r"deploy: K = (\d+)", out).group(1)), float(
        re.search(r"training FLOPs saved: \S+ \((\S+)\)", out).group(1))


ARGS = ["--budget-flops", str(BUDGET), "--strategy", "pass", "--patience", "2", "--shape", "tinyllama",
        "--no-progress"]


def test_select_uses_the_measured_lengths(tmp_path, capsys):
    # per-record means as ttc-fast eval writes them: prompt lengths are the same problems, generations vary
    log = _log(tmp_path / "log.jsonl", lambda i: {"mean_prompt_tokens": 41.25, "mean_gen_tokens": 100.0 + 10 * i})
    assert main(["select", log, *ARGS]) == 0
    out = capsys.readouterr().out
    assert "inference cost: prompt 41 tokens, 155 generated tokens per sample" in out and "over 12 record(s)" in out
    be = _break_even(out)
    k, saved = _deployed(out)
    assert k > 1 and np.isfinite(be)
    spec = ModelSpec.preset("tinyllama")
    extra = inference_flops(spec, 41, 155, k) - inference_flops(spec, 41, 155, 1)
    assert be == pytest.approx(saved / extra, rel=2e-3)  # printed to 4 significant digits
    assert main(["select", log, *ARGS, "--prompt", "41", "--gen", "155"]) == 0
    explicit = capsys.readouterr().out
    assert explicit.split("evaluations read")[1] == out.split("evaluations read")[1]


def test_select_without_lengths_still_says_nan(tmp_path, capsys):
    log = _log(tmp_path / "log.jsonl", lambda i: {"source": "lm-eval"})
    assert main(["select", log, *ARGS]) == 0
    out = capsys.readouterr().out
    assert "inference cost" not in out and "break-even: nan" in out


def test_select_takes_the_model_from_the_recorded_checkpoint(tmp_path, capsys):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32000, "hidden_size": 256,
           "intermediate_size": 512, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2}
    (ckpt / "config.json").write_text(json.dumps(cfg))
    log = _log(tmp_path / "log.jsonl", lambda i: {"checkpoint": str(ckpt), "mean_prompt_tokens": 30.0,
                                                  "mean_gen_tokens": 64.0})
    args = [a for a in ARGS if a not in ("--shape", "tinyllama")]
    assert main(["select", log, *args]) == 0
    out = capsys.readouterr().out
    assert f"inference FLOPs: model from {ckpt / 'config.json'}" in out
    k, saved = _deployed(out)
    spec = ModelSpec.from_hf_config(str(ckpt / "config.json"))
    extra = inference_flops(spec, 30, 64, k) - inference_flops(spec, 30, 64, 1)
    assert _break_even(out) == pytest.approx(saved / extra, rel=2e-3)
