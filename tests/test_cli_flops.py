"""`ttc-fast flops` and `ttc-fast breakeven`: the printed tables agree with the Python API."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

import ttc_fast
from ttc_fast.cli import main
from ttc_fast.flops import ModelSpec


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _sci(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d\.\d{3}e[+-]\d+", text)]


def _row(out: str, first: str) -> list[str]:
    for line in out.splitlines():
        cells = line.split()
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row starting with {first!r} in\n{out}")


def test_flops_shape_training_and_inference(capsys):
    rc, out, _ = _run(capsys, "flops", "--shape", "tinyllama", "--tokens", "3e12", "--prompt", "1024", "--gen",
                      "512", "--k", "1,2,4,8")
    assert rc == 0
    spec = ModelSpec.preset("tinyllama")
    assert "convention: kaplan" in out
    assert f"{spec.num_params():,}" in out
    assert float(_row(out, "training")[2]) == pytest.approx(ttc_fast.training_flops(spec, 3e12), rel=1e-3)
    for k in (1, 2, 4, 8):
        cells = _row(out, str(k))
        assert float(cells[1]) == pytest.approx(ttc_fast.inference_flops(spec, 1024, 512, k), rel=1e-3)
        kv = ttc_fast.kv_cache_bytes(spec, 1024 + k * 512) / 2**20
        assert float(cells[4].replace(",", "")) == pytest.approx(kv, abs=0.05)


def test_flops_config_file_convention_and_no_sharing(tmp_path, capsys):
    cfg = dict(model_type="qwen3", hidden_size=64, intermediate_size=96, num_hidden_layers=2,
               num_attention_heads=4, num_key_value_heads=2, head_dim=32, vocab_size=101)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    rc, out, _ = _run(capsys, "flops", "--config", str(path), "--tokens", "1e9", "--seq-len", "64",
                      "--convention", "matmul", "--prompt", "16", "--gen", "8", "--k", "3", "--no-shared-prefix")
    assert rc == 0 and "convention: matmul" in out and "no sharing" in out
    spec = ModelSpec.from_hf_config(cfg)
    assert float(_row(out, "training")[2]) == pytest.approx(
        ttc_fast.training_flops(spec, 1e9, seq_len=64, convention="matmul"), rel=1e-3)
    assert float(_row(out, "forward,")[-2]) == pytest.approx(ttc_fast.forward_flops(spec, 64), rel=1e-3)
    assert float(_row(out, "3")[1]) == pytest.approx(
        ttc_fast.inference_flops(spec, 16, 8, 3, shared_prefix=False, convention="matmul"), rel=1e-3)


def test_breakeven_paper_form(capsys):
    rc, out, _ = _run(capsys, "breakeven", "--r", "0.2", "--lam", "1.2", "--train-tokens", "3e12", "--out-len",
                      "1024")
    assert rc == 0
    values = _sci(out.split("break-even samples")[1])
    assert values == [7.031e10, 3.516e10]  # paper's ratio 6, then the 6N/2N ratio 3


def test_breakeven_ttc_terms(capsys):
    rc, out, _ = _run(capsys, "breakeven", "--shape", "pythia-2.8b", "--full-tokens", "3e11",
                      "--checkpoint-tokens", "1e11,2e11", "--k", "2,8", "--prompt", "256", "--gen", "128",
                      "--eval-flops", "1e19")
    assert rc == 0 and "convention: kaplan" in out
    spec = ModelSpec.preset("pythia-2.8b")
    be = ttc_fast.break_even(spec, full_tokens=3e11, checkpoint_tokens=np.array([1e11, 2e11])[:, None],
                             k=np.array([2, 8])[None, :], prompt_len=256, gen_len=128, eval_flops=1e19)
    rows = [line.split() for line in out.splitlines() if re.match(r"\s*\d\.\d{3}e\+11\s", line)]
    assert len(rows) == 4
    for r, (i, j) in zip(rows, np.ndindex(2, 2)):
        assert float(r[5]) == pytest.approx(be.queries[i, j], rel=1e-3)
        assert float(r[6]) == pytest.approx(be.net_queries[i, j], rel=1e-3)


@pytest.mark.parametrize("argv,match", [
    (["flops", "--shape", "tinyllama"], "--tokens"),
    (["flops", "--shape", "tinyllama", "--tokens", "1e9", "--convention", "palm"], "seq_len"),
    (["flops", "--shape", "tinyllama", "--tokens", "-1"], "tokens"),
    (["flops", "--shape", "tinyllama", "--prompt", "10"], "--prompt and --gen"),
    (["breakeven", "--r", "0.2", "--lam", "1.2"], "--train-tokens"),
    (["breakeven", "--r", "0.2", "--lam", "1.0", "--train-tokens", "1e9", "--out-len", "10"], "lam"),
    (["breakeven", "--shape", "tinyllama", "--full-tokens", "1e9"], "--checkpoint-tokens"),
])
def test_cli_errors_exit_2(capsys, argv, match):
    rc, _, err = _run(capsys, *argv)
    assert rc == 2
    assert re.search(match, err)


def test_unknown_model_type_from_config(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    rc, _, err = _run(capsys, "flops", "--config", str(tmp_path), "--tokens", "1e9")
    assert rc == 2 and "bert" in err and "qwen3_moe" in err
