"""ttc-fast bench-sampling: bounds, the memory estimate (against flops.kv_cache_bytes and transformers' own
parameter count), refusal before allocation, warm-up + repeats with medians and spread."""
from __future__ import annotations

import statistics

import pytest
import torch
import transformers

import ttc_fast
from ttc_fast.checkpoint import parse_config
from ttc_fast.cli import main
from ttc_fast.runtime import bench


@pytest.mark.parametrize("shape", ["tiny", "tinyllama", "qwen2.5-1.5b", "pythia-2.8b"])
def test_memory_estimate_against_independent_counts(shape):
    raw = bench.shape_config(shape)
    cfg = parse_config(raw)
    need = bench.memory_need(cfg, prompts=3, n=5, prompt_len=70, new_tokens=11, elem_bytes=2)
    config = transformers.AutoConfig.for_model(**{k: v for k, v in raw.items() if k != "architectures"})
    with torch.device("meta"):
        hf = transformers.AutoModelForCausalLM.from_config(config)
    assert need.weights == 2 * sum(p.numel() for p in hf.parameters())
    spec = ttc_fast.ModelSpec.from_hf_config(raw)
    kv = ttc_fast.kv_cache_bytes(spec, 3 * 70 + 15 * 11, bytes_per_elem=2)  # shared prefix: P + K·T per prompt
    assert kv < need.ttc_fast < kv + 3 * 15 * cfg.vocab_size * 4 + 3 * 70 * 40 * cfg.d_ff * 2 + 10 ** 8
    capped = bench.memory_need(cfg, prompts=3, n=5, prompt_len=70, new_tokens=11, elem_bytes=2, kv_cap=0)
    assert capped.ttc_fast == need.ttc_fast - kv
    both = bench.memory_need(cfg, prompts=3, n=5, prompt_len=70, new_tokens=11, elem_bytes=2,
                             baselines=("hf", "hf-prefill-once"))
    # hf copies the prompt's KV for every sample: at least n copies of prompt + suffix
    assert both.hf >= ttc_fast.kv_cache_bytes(spec, 15 * (70 + 11), bytes_per_elem=2)
    assert both.total == both.weights + max(both.ttc_fast, both.hf, both.hf_prefill_once)


def test_plan_bounds_and_refusals(monkeypatch):
    cfg = parse_config(bench.shape_config("tiny"))
    kw = dict(device="cpu", dtype=torch.float32, prompts=2, n=3, prompt_len=10, new_tokens=4)
    for change, match in ((dict(prompt_len=10 ** 9), r"--prompt-len must be >= 1 and <= 4092"),
                          (dict(prompts=0), "--prompts must be >= 1"), (dict(n=10 ** 6), "--n must be"),
                          (dict(new_tokens=True), "--new-tokens"), (dict(prompts=65536, n=65536), "samples per step"),
                          (dict(baseline_prompts=3), r"--baseline-prompts must be >= 1 and <= 2"),
                          (dict(repeats=0), "--repeats"), (dict(warmup=-1), "--warmup"),
                          (dict(batch_tokens=0), "--batch-tokens"), (dict(max_seconds=-1), "--max-seconds")):
        with pytest.raises(ValueError, match=match):
            bench.plan(cfg, **{**kw, **change}, max_positions=4096)
    p = bench.plan(cfg, **kw)
    assert p.need.total < p.available and p.seconds_floor > 0
    monkeypatch.setattr(bench, "available_memory", lambda dev: (p.need.total, "test"))
    with pytest.raises(ValueError, match=r"needs about .* more than 90% of the .* available \(test\) on cpu: lower"):
        bench.plan(cfg, **kw)
    monkeypatch.undo()
    with pytest.raises(ValueError, match=r"needs at least .* more than --max-seconds 1e-06"):
        bench.plan(cfg, **kw, max_seconds=1e-6)


def test_available_memory_is_plausible():
    avail, how = bench.available_memory("cpu")
    assert 10 ** 7 < avail and how


def test_repeat_warms_up_then_times_and_reports_median_and_spread():
    calls, logs = [], []

    def run(t):
        calls.append(t)
        return bench.Result("x", seconds=float(len(calls)), prefill_s=0.1, step_s=0.01 * len(calls), tokens=100)

    r = bench.repeat("x", run, repeats=3, warmup=2, new_tokens=16, log=logs.append)
    assert calls == [4, 4, 16, 16, 16]  # two short warm-ups (same shapes), then the timed runs
    assert [x.seconds for x in r.runs] == [3.0, 4.0, 5.0]
    tps = [100 / 3, 100 / 4, 100 / 5]
    assert r.tokens_per_s == pytest.approx(statistics.median(tps))
    assert r.spread() == pytest.approx((max(tps) - min(tps)) / statistics.median(tps))
    assert r.median("step_s") == pytest.approx(0.04) and r.step_range() == pytest.approx((0.03, 0.05))
    assert "warm-up (2 x 4 token(s))" in logs[0] and "2 more: about 6 s" in logs[1]


def test_cli_prints_the_plan_before_allocating_and_medians(capsys):
    assert main(["bench-sampling", "--shape", "tiny", "--prompts", "1", "--n", "2", "--prompt-len", "4",
                 "--new-tokens", "3", "--repeats", "2", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("workload: 1 prompts x n=2") and "1 warm-up + 2 timed run(s)" in lines[0]
    assert lines[1].startswith("memory: needs about") and lines[2].startswith("time: at least")
    assert "medians of 2 run(s)" in out
    row = next(line.split() for line in lines if line.startswith("ttc_fast "))
    assert float(row[1]) > 0 and row[2].endswith("%")
    assert main(["bench-sampling", "--shape", "llama-3-8b", "--prompt-len", "100000"]) == 2
    assert "--prompt-len must be >= 1 and <=" in capsys.readouterr().err
