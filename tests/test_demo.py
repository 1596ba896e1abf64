"""The quick demo end to end: a real training run, real checkpoints, real sampling, real decisions; the report's
numbers are checked against the eval logs with the estimators, the selectors replayed offline, the checkpoints
loaded back."""
import json
import math
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ttc_fast.cli import main  # noqa: E402
from ttc_fast.evallog import read_log, record_arrays  # noqa: E402


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    t0 = time.perf_counter()
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    wall = time.perf_counter() - t0
    with open(out / "summary.json") as f:
        summary = json.load(f)
    return out, summary, wall


def test_quick_demo_is_quick_and_writes_everything(demo):
    out, s, wall = demo
    # < 2 min on 2 idle cores (about 45 s measured); the bound only catches a runaway on a loaded machine
    assert wall < 600, wall
    for name in ("REPORT.md", "summary.json", "eval_log.jsonl", "test_eval_log.jsonl", "selector_journal.jsonl",
                 "report/test_accuracy.png", "data/val.jsonl", "data/test.jsonl"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert s["config"]["quick"] is True
    steps = [c["step"] for c in s["checkpoints"]]
    assert steps == sorted(steps) and len(steps) == s["num_checkpoints"] >= 5
    assert [r["step"] for r in read_log(out / "eval_log.jsonl")] == steps
    assert [r["step"] for r in read_log(out / "test_eval_log.jsonl")] == steps


def test_checkpoints_load_back_and_match_transformers(demo):
    import ttc_fast
    from transformers import LlamaForCausalLM
    from ttc_fast.demo.task import build_tokenizer
    out, s, _ = demo
    ck = out / "checkpoints" / f"step-{s['final']['step']:06d}"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "trainer_state.json"):
        assert (ck / name).is_file()
    model = ttc_fast.load_model(str(ck))
    assert model.tokenizer is not None and 2 in model.eos_token_ids
    ids = build_tokenizer().encode("Q:3+4*2-5+1=A:7>4").ids
    ref = LlamaForCausalLM.from_pretrained(str(ck)).eval()
    with torch.no_grad():
        want = ref(input_ids=torch.tensor([ids])).logits[0]
        got = model.forward(torch.tensor([ids]))
    got = got[0] if got.dim() == 3 else got
    torch.testing.assert_close(got.float(), want.float(), atol=1e-4, rtol=1e-4)
    state = json.loads((ck / "trainer_state.json").read_text())
    assert state["global_step"] == s["final"]["step"]


def test_flops_and_tokens_are_the_flop_model(demo):
    from ttc_fast.flops import ModelSpec, training_flops
    out, s, _ = demo
    cfg = s["config"]
    max_len = 1 + 2 + 1 + 2 * cfg["num_ops"] + 3 + (2 * cfg["num_ops"] - 1) + 1
    first = out / "checkpoints" / f"step-{s['checkpoints'][0]['step']:06d}"
    spec = ModelSpec.from_hf_config(str(first / "config.json"))
    assert spec.num_params() == s["model_params"]
    for c in s["checkpoints"]:
        assert c["train_tokens"] == c["step"] * cfg["batch_size"] * max_len
        assert c["train_flops"] == pytest.approx(float(training_flops(spec, c["train_tokens"], seq_len=max_len)),
                                                 rel=1e-12)
    assert s["budget_flops"] == pytest.approx(s["checkpoints"][-1]["train_flops"], rel=1e-12)


def test_report_numbers_recomputed_from_the_test_log(demo):
    from ttc_fast.estimators import maj_at_k, pass_at_k
    out, s, _ = demo
    test = {r["step"]: r for r in read_log(out / "test_eval_log.jsonl")}
    n_test = s["config"]["n_test"]
    ks = list(range(1, n_test + 1))
    for c in s["checkpoints"]:
        a, corr = record_arrays(test[c["step"]])
        assert a.shape[1] == n_test
        np.testing.assert_allclose(c["test_maj"], maj_at_k(a, corr, ks).mean, rtol=0, atol=1e-12)
        np.testing.assert_allclose(c["test_pass"], pass_at_k(np.full(len(a), n_test), corr.sum(1), ks).mean,
                                   rtol=0, atol=1e-12)
    a, corr = record_arrays(test[s["final"]["step"]])
    assert s["final"]["test_acc1"] == pytest.approx(corr.mean(), abs=1e-12)   # single-sample = mean correctness
    report = (out / "REPORT.md").read_text()
    assert f"{100 * s['final']['test_acc1']:.1f}%" in report
    for name, r in s["rules"].items():
        a, corr = record_arrays(test[r["test_step"]])
        res = maj_at_k(a, corr, [r["test_k"]], per_problem=True)
        assert r["test_acc"] == pytest.approx(res.mean[0], abs=1e-12)
        fin = record_arrays(test[s["final"]["step"]])[1].mean(axis=1)
        assert r["diff_vs_final_acc1"] == pytest.approx(float(np.mean(res.per_problem[:, 0] - fin)), abs=1e-12)
        assert r["verdict"] in ("right", "within noise", "wrong", "no stop")
        assert f"{100 * r['test_acc']:.1f}%" in report
        if r["stopped"]:
            assert f"**{r['verdict']}**" in report
            saved = (s["budget_flops"] - r["train_flops"]) / s["budget_flops"]
            assert r["flops_saved"] == pytest.approx(saved, abs=1e-12)
            assert r["net_flops_saved"] == pytest.approx(saved - r["eval_flops"] / s["budget_flops"], abs=1e-12)
            assert r["net_flops_saved"] < r["flops_saved"]
            if name != "naive":   # the selector's own accounting agrees with the demo's
                sf = r["selector_fields"]
                assert sf["flops_saved"] == pytest.approx(r["flops_saved"], abs=1e-12)
                assert sf["eval_flops"] == pytest.approx(r["eval_flops"], rel=1e-9)
                assert sf["net_flops_saved"] == pytest.approx(r["net_flops_saved"], abs=1e-9)
                if r["k"] > 1:
                    assert sf["break_even_queries"] == pytest.approx(r["break_even_queries"], rel=1e-9)
        else:
            assert "never" in report
    # the best stop in hindsight: an independent scan of the test log
    target = s["final"]["test_acc1"]
    scan = next(((c["step"], k) for c in s["checkpoints"] for k in ks if c["test_maj"][k - 1] >= target), None)
    assert scan is not None and (s["oracle"]["step"], s["oracle"]["k"]) == scan
    assert "Best stop in hindsight" in report


def test_selectors_replayed_offline_give_the_online_decisions(demo):
    from ttc_fast.flops import ModelSpec
    from ttc_fast.selector import TTCEarlyStopping, select
    out, s, _ = demo
    cfg = s["config"]
    spec = ModelSpec.from_hf_config(str(out / "checkpoints" / f"step-{s['final']['step']:06d}" / "config.json"))
    kw = dict(budget_flops=s["budget_flops"], strategy=cfg["strategy"], patience=cfg["patience"], spec=spec,
              prompt_len=s["prompt_len"], gen_len=s["gen_len"])
    for name, method in (("ttc_exact", "exact"), ("ttc_sigmoid", "sigmoid")):
        extra = {"confidence": cfg["confidence"]} if method == "exact" else {}
        d = select(str(out / "eval_log.jsonl"), method=method, **kw, **extra)
        r = s["rules"][name]
        assert d.should_stop == r["stopped"]
        if r["stopped"]:
            assert (d.step, d.k) == (r["step"], r["k"])
    # the online journal resumes to the same last decision
    log = read_log(out / "eval_log.jsonl")
    resumed = TTCEarlyStopping(s["budget_flops"], method="exact", confidence=cfg["confidence"],
                               journal=str(out / "selector_journal.jsonl"), **{k: v for k, v in kw.items()
                                                                              if k != "budget_flops"})
    assert [h.step for h in resumed.history] == [r["step"] for r in log]


def test_validation_log_is_the_select_cli_input(demo, capsys):
    out, s, _ = demo
    code = main(["select", str(out / "eval_log.jsonl"), "--budget-flops", repr(s["budget_flops"]), "--config",
                 str(out / "checkpoints" / f"step-{s['final']['step']:06d}"), "--patience",
                 str(s["config"]["patience"])])
    assert code == 0
    assert "decision" in capsys.readouterr().out.lower()


def test_the_report_fingerprints_the_final_weights(demo):
    import hashlib
    out, s, _ = demo
    path = out / "checkpoints" / f"step-{s['final']['step']:06d}" / "model.safetensors"
    assert s["numerics"]["weights_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert s["numerics"]["MKL_CBWR"] == "COMPATIBLE,STRICT"
    assert s["numerics"]["weights_sha256"] in (out / "REPORT.md").read_text()


def test_sampling_helps_and_final_model_is_imperfect(demo):
    """The task's promise, on this run's held-out measurements (quick run: a weak statement)."""
    out, s, _ = demo
    fin = s["checkpoints"][-1]
    assert fin["test_maj"][0] < 0.95                         # clearly below 100% single-sample
    assert fin["test_pass"][-1] > fin["test_pass"][0] + 0.2  # pass@n far above pass@1
    assert not math.isnan(s["final"]["test_acc1_stderr"])


_REPRO = """
import hashlib, os, sys, torch
torch.set_num_threads(int(sys.argv[2]))
from ttc_fast.demo.run import DemoConfig
from ttc_fast.demo.train import train
import ttc_fast
cfg = DemoConfig.preset(quick=True, steps=40, checkpoint_every=20)
ckpts = train(cfg.task(), cfg.train_config(), sys.argv[1], progress=False)
for c in ckpts:
    with open(os.path.join(c.path, "model.safetensors"), "rb") as f:
        print(c.step, hashlib.sha256(f.read()).hexdigest())
model = ttc_fast.load_model(ckpts[-1].path)
s = ttc_fast.generate(model, [p.prompt for p in cfg.task().val[:4]], n=8, max_new_tokens=24, seed=0)
print("samples", hashlib.sha256(repr(s.tokens).encode()).hexdigest())
print("numerics", os.environ["MKL_CBWR"], torch.backends.cpu.get_cpu_capability())
"""


def test_training_and_sampling_are_the_same_at_1_and_2_threads(tmp_path):
    # the demo's checkpoints (bit for bit) and its samples for a seed do not depend on the thread count: importing
    # ttc_fast.demo pins MKL's vendor-independent reproducible path and ATen's AVX2 kernels (without the pin, on an
    # AVX-512 CPU, the checkpoints after 20 steps differed between 1 and 2 threads)
    import subprocess
    import sys
    outs = []
    for threads in (1, 2):
        env = dict(__import__("os").environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        r = subprocess.run([sys.executable, "-c", _REPRO, str(tmp_path / f"t{threads}"), str(threads)],
                           capture_output=True, text=True, timeout=900, env=env)
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append(r.stdout.splitlines())
    assert len(outs[0]) == 4 and outs[0] == outs[1]
    _, cbwr, capability = outs[0][-1].split()
    assert cbwr == "COMPATIBLE,STRICT" and capability in ("AVX2", "DEFAULT")   # DEFAULT: a CPU without AVX2
