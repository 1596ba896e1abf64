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


def _expected_stop(every, max_steps):
    st = TTCEarlyStopping(**KW)
    for step in range(every, max_steps + 1, every):
        d = st.update(step=step, train_flops=_flops(step), **_evaluate(torch.nn.Linear(1, 1), step))
        if d.should_stop:
            return step
    return None


def _tiny_trainer(tmp_path, callback, max_steps):
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
    return transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[callback])


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
    pl = pytest.importorskip("lightning.pytorch")
    from ttc_fast.adapters import TTCLightningCallback

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
    loader = torch.utils.data.DataLoader(ds, batch_size=2)
    max_steps = 18
    expected = _expected_stop(1, max_steps)
    cb = TTCLightningCallback(TTCEarlyStopping(**KW), _evaluate, flops_fn=_flops)
    trainer = pl.Trainer(max_steps=max_steps, val_check_interval=1, limit_val_batches=1, num_sanity_val_steps=0,
                         enable_progress_bar=False, logger=False, enable_checkpointing=False,
                         enable_model_summary=False, accelerator="cpu", callbacks=[cb])
    trainer.fit(Tiny(), loader, loader)
    assert trainer.global_step == expected
    assert cb.decisions[-1].should_stop and [d.step for d in cb.decisions] == list(range(1, expected + 1))
