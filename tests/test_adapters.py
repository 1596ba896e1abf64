"""Adapters: a real (tiny, CPU) transformers Trainer run and a Lightning fit stop where the selector says."""
from __future__ import annotations

import numpy as np
import pytest
from _ttc_synth import BUDGET, acc_curve, sample_checkpoint, weights

from ttc_fast.selector import TTCEarlyStopping

torch = pytest.importorskip("torch")

KW = dict(budget_flops=BUDGET, strategy="pass", patience=2)
X_PER_STEP = 0.05  # normalised training FLOPs per optimizer step


def _evaluate(model, step):
    """Stands in for sampling the model: synthetic answers whose quality follows the step (seeded by step)."""
    assert isinstance(model, torch.nn.Module)
    p = np.clip(weights(40) * acc_curve(step * X_PER_STEP), 0, 1)
    answers, correct = sample_checkpoint(p, 8, np.random.default_rng(step))
    return {"answers": answers, "correct": correct}


def _flops(step):
    return step * X_PER_STEP * BUDGET


def _expected_stop(every, max_steps, **kw):
    st = TTCEarlyStopping(**{**KW, **kw})
    for step in range(every, max_steps + 1, every):
        d = st.update(step=step, train_flops=_flops(step), **_evaluate(torch.nn.Linear(1, 1), step))
        if d.should_stop:
            return step
    return None


def _tiny_trainer(tmp_path, callback, max_steps, attach=True):
    transformers = pytest.importorskip("transformers")
    cfg = transformers.LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                   num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=32)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(cfg)
    g = torch.Generator().manual_seed(0)
    data = [{"input_ids": ids, "labels": ids} for ids in torch.randint(0, 32, (64, 8), generator=g)]
    args = transformers.TrainingArguments(output_dir=str(tmp_path), max_steps=max_steps,
                                          per_device_train_batch_size=2, learning_rate=1e-3, report_to="none",
                                          save_strategy="no", logging_strategy="no", use_cpu=True,
                                          disable_tqdm=True)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[callback])
    if attach:
        callback.attach(trainer)
    return trainer


@pytest.mark.parametrize("stop_training", [True, False])
def test_transformers_trainer_stops_at_the_selectors_step(tmp_path, stop_training):
    from ttc_fast.adapters import TTCTrainerCallback
    every, max_steps = 1, 18
    expected = _expected_stop(every, max_steps)
    assert expected is not None and expected < max_steps
    cb = TTCTrainerCallback(TTCEarlyStopping(**KW), _evaluate, flops_fn=_flops, eval_every=every,
                            stop_training=stop_training)
    trainer = _tiny_trainer(tmp_path, cb, max_steps)
    trainer.train()
    if stop_training:
        assert trainer.state.global_step == expected
        assert cb.decisions[-1].should_stop and cb.decisions[-1].step == expected
        assert sum(d.should_stop for d in cb.decisions) == 1
    else:
        assert trainer.state.global_step == max_steps
        assert len(cb.decisions) == max_steps


def test_trainer_callback_validation():
    from ttc_fast.adapters import TTCTrainerCallback
    with pytest.raises(ValueError, match="flops_fn"):
        TTCTrainerCallback(TTCEarlyStopping(**KW), _evaluate)
    with pytest.raises(ValueError, match="spec"):
        TTCTrainerCallback(TTCEarlyStopping(**KW), _evaluate, tokens_per_step=1000)
    with pytest.raises(TypeError, match="stopper"):
        TTCTrainerCallback(object(), _evaluate, flops_fn=_flops)


def test_lightning_fit_stops_at_the_selectors_step():
    pl, module, loader = _lightning_module()
    from ttc_fast.adapters import TTCLightningCallback

    max_steps = 18
    expected = _expected_stop(1, max_steps)
    cb = TTCLightningCallback(TTCEarlyStopping(**KW), _evaluate, flops_fn=_flops)
    trainer = pl.Trainer(max_steps=max_steps, val_check_interval=1, limit_val_batches=1, num_sanity_val_steps=0,
                         enable_progress_bar=False, logger=False, enable_checkpointing=False,
                         enable_model_summary=False, accelerator="cpu", callbacks=[cb])
    trainer.fit(module, loader, loader)
    assert trainer.global_step == expected
    assert cb.decisions[-1].should_stop and [d.step for d in cb.decisions] == list(range(1, expected + 1))


# ---- logging through the framework, resume from a journal, optional imports (issues 15 and 11) ----------------
def _pass_at(answers_correct, k):
    """pass@k of a (P, n) correctness matrix by the closed form 1 - C(n-c, k) / C(n, k), plain Python."""
    from math import comb
    correct = answers_correct
    n = correct.shape[1]
    return float(np.mean([1 - comb(n - int(c), k) / comb(n, k) for c in correct.sum(axis=1)]))


def _check_logged(values, decision, step, prefix="ttc/"):
    """The logged numbers equal the decision's fields and an independent pass@K of the step's samples."""
    import dataclasses
    import math
    for f in dataclasses.fields(decision):
        v = getattr(decision, f.name)
        if f.name == "step" or isinstance(v, str):
            continue
        want = math.nan if v is None else float(v)
        got = float(values[prefix + f.name])
        assert (math.isnan(want) and math.isnan(got)) or got == pytest.approx(want, rel=1e-6, abs=1e-9), f.name
    correct = _evaluate(torch.nn.Linear(1, 1), step)["correct"]
    for k in (1, 2, 4, 8):
        assert float(values[f"{prefix}pass@{k}"]) == pytest.approx(_pass_at(correct, k), abs=1e-6)
    assert f"{prefix}pass@3" not in values  # headline points only (powers of two, K*, the largest K)


def test_trainer_logs_every_evaluation_to_log_history(tmp_path):
    from ttc_fast.adapters import TTCTrainerCallback
    cb = TTCTrainerCallback(TTCEarlyStopping(**KW), _evaluate, flops_fn=_flops, eval_every=1)
    trainer = _tiny_trainer(tmp_path, cb, 18, attach=False)
    assert cb.attach(trainer) is cb and trainer.callback_handler.callbacks.count(cb) == 1  # already there: once
    trainer.train()
    hist = trainer.state.log_history
    per_eval = [h for h in hist if "ttc/k" in h]
    assert [h["step"] for h in per_eval] == [d.step for d in cb.decisions] == list(range(1, trainer.state.global_step + 1))
    for h, d in zip(per_eval, cb.decisions):
        _check_logged(h, d, d.step)
    final = [h for h in hist if "ttc/final/k" in h]
    assert len(final) == 1
    last = cb.decisions[-1]
    assert final[0]["ttc/final/step"] == last.step and final[0]["ttc/final/should_stop"] == 1.0
    assert final[0]["ttc/final/reason"] == last.reason and final[0]["ttc/final/k"] == float(last.k)


def test_trainer_without_attach_warns_and_fills_log_history(tmp_path):
    from ttc_fast.adapters import TTCTrainerCallback
    cb = TTCTrainerCallback(TTCEarlyStopping(**KW), _evaluate, flops_fn=_flops, eval_every=3)
    trainer = _tiny_trainer(tmp_path, cb, 6, attach=False)
    with pytest.warns(UserWarning, match="attach"):
        trainer.train()
    assert [h["step"] for h in trainer.state.log_history if "ttc/k" in h] == [3, 6]
    with pytest.raises(TypeError, match="Trainer"):
        cb.attach(object())


def _lightning_module():
    pl = pytest.importorskip("lightning.pytorch")

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 1)

        def training_step(self, batch, _):
            return torch.nn.functional.mse_loss(self.lin(batch[0]), batch[1])

        def validation_step(self, batch, _):
            return torch.nn.functional.mse_loss(self.lin(batch[0]), batch[1])

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    g = torch.Generator().manual_seed(0)
    ds = torch.utils.data.TensorDataset(torch.randn(64, 4, generator=g), torch.randn(64, 1, generator=g))
    return pl, Tiny(), torch.utils.data.DataLoader(ds, batch_size=2)


def _lightning_fit(cb, max_steps, logger=False, **kw):
    pl, module, loader = _lightning_module()
    trainer = pl.Trainer(max_steps=max_steps, val_check_interval=1, limit_val_batches=1, num_sanity_val_steps=0,
                         enable_progress_bar=False, logger=logger, enable_checkpointing=False,
                         enable_model_summary=False, accelerator="cpu", callbacks=[cb], **kw)
    trainer.fit(module, loader, loader)
    return trainer


def test_lightning_logs_to_a_csv_logger(tmp_path):
    import csv
    pytest.importorskip("lightning.pytorch")
    from lightning.pytorch.loggers import CSVLogger

    from ttc_fast.adapters import TTCLightningCallback
    import yaml
    logger = CSVLogger(str(tmp_path), name="run")
    cb = TTCLightningCallback(TTCEarlyStopping(**KW), _evaluate, flops_fn=_flops)
    trainer = _lightning_fit(cb, 18, logger=logger)
    with open(f"{logger.log_dir}/metrics.csv") as f:
        rows = list(csv.DictReader(f))
    per_eval = [r for r in rows if r.get("ttc/k")]
    assert len(per_eval) == len(cb.decisions) == trainer.global_step
    # Lightning logs an evaluation at the step the validation ran after (global_step - 1 in its step column)
    for r, d in zip(per_eval, cb.decisions):
        _check_logged({k: float(v) for k, v in r.items() if v != ""}, d, d.step)
    assert trainer.callback_metrics["ttc/patience_count"] == cb.decisions[-1].patience_count
    final = [r for r in rows if r.get("ttc/final/k")]
    assert len(final) == 1 and float(final[0]["ttc/final/step"]) == cb.decisions[-1].step
    with open(f"{logger.log_dir}/hparams.yaml") as f:
        hp = yaml.safe_load(f)
    assert hp["ttc/final_decision"]["reason"] == cb.decisions[-1].reason
    assert hp["ttc/final_decision"]["should_stop"] is True and hp["ttc/final_decision"]["k"] == cb.decisions[-1].k


def _counting(calls):
    def fn(model, step):
        calls.append(step)
        return _evaluate(model, step)
    return fn


def test_trainer_resume_from_journal_skips_journaled_steps(tmp_path):
    """A run killed after step 7 (last checkpoint at step 6) and resumed: steps 1..7 come from the journal without
    calling evaluate_fn again, every step is kept, and the run stops where an uninterrupted one does."""
    from ttc_fast.adapters import TTCTrainerCallback
    kw = dict(KW, patience=8, patience_mode="count")
    expected = _expected_stop(1, 18, **kw)
    assert expected > 8
    journal = tmp_path / "journal.jsonl"
    calls1: list[int] = []
    cb1 = TTCTrainerCallback(TTCEarlyStopping(**kw, journal=journal), _counting(calls1), flops_fn=_flops,
                             eval_every=1, log=False)
    t1 = _tiny_trainer(tmp_path / "a", cb1, 7, attach=False)
    t1.args.save_strategy, t1.args.save_steps = "steps", 3
    t1.train()
    assert calls1 == list(range(1, 8)) and (tmp_path / "a" / "checkpoint-6").is_dir()
    calls2: list[int] = []
    cb2 = TTCTrainerCallback(TTCEarlyStopping(**kw, journal=journal), _counting(calls2), flops_fn=_flops,
                             eval_every=1)
    assert [d.step for d in cb2.decisions] == list(range(1, 8))
    t2 = _tiny_trainer(tmp_path / "b", cb2, 18)
    t2.train(resume_from_checkpoint=str(tmp_path / "a" / "checkpoint-6"))
    assert calls2 == list(range(8, expected + 1))  # step 7 was journaled: not evaluated again
    assert [d.step for d in cb2.decisions] == list(range(1, expected + 1))
    assert t2.state.global_step == expected and cb2.decisions[-1].should_stop
    assert sum(d.should_stop for d in cb2.decisions) == 1
    logged = [h["step"] for h in t2.state.log_history if "ttc/k" in h]
    assert logged == list(range(7, expected + 1))  # the journaled step the resumed run passed is logged too
    lines = [line for line in journal.read_text().splitlines() if '"update"' in line]
    assert len(lines) == expected  # each step once


def test_lightning_restart_acts_on_a_journaled_stop(tmp_path):
    """The journal holds the stopping decision (the earlier run died right after it): a restarted run replays
    every step from the journal, calls evaluate_fn for none of them and stops at the journaled step."""
    from ttc_fast.adapters import TTCLightningCallback
    expected = _expected_stop(1, 18)
    journal = tmp_path / "journal.jsonl"
    st = TTCEarlyStopping(**KW, journal=journal)
    for step in range(1, expected + 1):
        st.update(step=step, train_flops=_flops(step), **_evaluate(torch.nn.Linear(1, 1), step))
    assert st.decision.should_stop
    calls: list[int] = []
    cb = TTCLightningCallback(TTCEarlyStopping(**KW, journal=journal), _counting(calls), flops_fn=_flops)
    trainer = _lightning_fit(cb, 18)
    assert calls == [] and trainer.global_step == expected
    assert [d.step for d in cb.decisions] == list(range(1, expected + 1))


# a package "not installed": its imports fail and its distribution metadata is gone (libraries such as torchmetrics
# probe the metadata before importing)
_BLOCKER = """
import importlib.abc, importlib.metadata as md, sys
BLOCK = set({blocked!r})
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCK:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None
sys.meta_path.insert(0, Blocker())
_dist, _dists = md.distribution, md.distributions
def _norm(name):
    return (name or "").replace("-", "_").lower()
def distribution(name):
    if _norm(name) in BLOCK:
        raise md.PackageNotFoundError(name)
    return _dist(name)
md.distribution = distribution
md.distributions = lambda **kw: (d for d in _dists(**kw) if _norm(d.metadata["Name"]) not in BLOCK)
import ttc_fast.adapters as a
from ttc_fast.selector import TTCEarlyStopping
st = TTCEarlyStopping(budget_flops=1e20, strategy="pass")
ok = []
for cls in (a.TTCTrainerCallback, a.TTCLightningCallback):
    try:
        cb = cls(st, lambda m, s: {{}}, flops_fn=float)
        ok.append(type(cb).__mro__[2].__module__.split(".")[0])
    except ImportError as e:
        ok.append("ImportError: " + str(e))
print(ok)
"""


@pytest.mark.parametrize("blocked, want", [
    (["transformers"], ["ImportError: TTCTrainerCallback needs transformers: pip install transformers", "lightning"]),
    (["lightning", "pytorch_lightning"], ["transformers", "ImportError: TTCLightningCallback needs Lightning: "
                                                         "pip install lightning"]),
    (["transformers", "lightning", "pytorch_lightning"], [
        "ImportError: TTCTrainerCallback needs transformers: pip install transformers",
        "ImportError: TTCLightningCallback needs Lightning: pip install lightning"]),
])
def test_adapters_import_without_either_framework(blocked, want):
    import subprocess
    import sys
    pytest.importorskip("transformers")
    pytest.importorskip("lightning")
    r = subprocess.run([sys.executable, "-c", _BLOCKER.format(blocked=blocked)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == repr(want)
