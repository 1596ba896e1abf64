"""The hf engine (transformers generate) on tiny random Mixtral, Qwen3-MoE and sliding-window Mistral checkpoints
saved locally in HF format: tokens and logprobs against a teacher-forced forward of the same model (no cache),
the sampled distribution against softmax(logits / T), seeding, stops, engine choice, loading safety, and
`ttc-fast eval --engine hf` end to end."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import models as M  # noqa: E402

import ttc_fast  # noqa: E402
from ttc_fast.runtime.hf_engine import (EngineFallbackWarning, HFModel, PickleCheckpointError,  # noqa: E402
                                        RemoteCodeError, load_hf_model)

WINDOW = 6  # the Mistral's sliding window: prompts + new tokens below run past it
_BASE = dict(vocab_size=M.VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=256, bos_token_id=1, eos_token_id=2, pad_token_id=0)
CONFIGS = {
    "mixtral": lambda: transformers.MixtralConfig(num_local_experts=4, num_experts_per_tok=2, **_BASE),
    "qwen3_moe": lambda: transformers.Qwen3MoeConfig(num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                                                     head_dim=16, **_BASE),
    "mistral_sw": lambda: transformers.MistralConfig(sliding_window=WINDOW, **_BASE),
    "llama": lambda: transformers.LlamaConfig(**_BASE),
}
PROMPTS = ["w5 w6 w7 w8", "w9", "w10 w11 w12 w13 w14"]


def _spread(model, seed):
    """Larger-than-default random weights (as tests/models.py): spread logits, so argmax ties are not an issue."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * 0.15)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return model


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf_ckpts")
    out = {}
    for i, (name, make) in enumerate(CONFIGS.items()):
        cfg = make()
        model = _spread(transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="eager"), i)
        model.save_pretrained(str(root / name))
        M.save_tokenizer(M.word_tokenizer(), root / name)
        out[name] = root / name
    return out


@functools.lru_cache(maxsize=None)
def _reference(path: str):
    return transformers.AutoModelForCausalLM.from_pretrained(path, attn_implementation="eager").eval()


def _teacher_forced(hf: HFModel, prompt: list[int], gen: list[int]) -> torch.Tensor:
    """log_softmax of a plain full forward (no cache, eager attention with the model's own masks; the checkpoint
    loaded separately) at the positions that predicted each generated token: ``[len(gen), vocab]``."""
    ref = _reference(hf.source)
    ids = torch.tensor([prompt + gen])
    with torch.no_grad():
        logits = ref(ids).logits[0].float()
    return torch.log_softmax(logits[len(prompt) - 1:len(prompt) + len(gen) - 1], dim=-1)


@pytest.mark.parametrize("name", ["mixtral", "qwen3_moe", "mistral_sw"])
def test_greedy_and_logprobs_match_a_teacher_forced_forward(ckpts, name):
    hf = load_hf_model(ckpts[name])
    assert hf.tokenizer is not None and hf.eos_token_ids == [2]
    s = ttc_fast.generate(hf, PROMPTS, n=2, max_new_tokens=10, temperature=0.0, engine="hf")
    assert s.engine == "hf" and s.lengths.shape == (3, 2)
    for i, p in enumerate(PROMPTS):
        prompt = hf.tokenizer.encode(p).ids
        assert s.tokens[i][0] == s.tokens[i][1]  # greedy: both samples equal
        gen = s.tokens[i][0]
        if name == "mistral_sw":
            assert len(prompt) + len(gen) > WINDOW or s.finish_reasons[i][0] == "eos"
        lp = _teacher_forced(hf, prompt, gen)
        assert gen == lp.argmax(dim=-1).tolist()  # the cached decode agrees with the full forward
        want = lp.gather(1, torch.tensor(gen)[:, None]).squeeze(1).numpy()
        np.testing.assert_allclose(s.logprobs[i][0], want, atol=1e-4)
        if s.finish_reasons[i][0] == "eos":
            assert gen[-1] == 2 and 2 not in gen[:-1]
        else:
            assert s.finish_reasons[i][0] == "length" and len(gen) == 10 and 2 not in gen


def test_sampled_tokens_obey_top_k_and_logprobs_are_raw(ckpts):
    hf = load_hf_model(ckpts["mixtral"])
    s = ttc_fast.generate(hf, PROMPTS[:2], n=4, max_new_tokens=6, temperature=0.7, top_k=3, seed=5, engine="hf")
    for i, p in enumerate(PROMPTS[:2]):
        prompt = hf.tokenizer.encode(p).ids
        for gen, lps in zip(s.tokens[i], s.logprobs[i]):
            lp = _teacher_forced(hf, prompt, gen)
            top3 = lp.topk(3, dim=-1).indices
            assert all(t in top3[j].tolist() for j, t in enumerate(gen))
            want = lp.gather(1, torch.tensor(gen)[:, None]).squeeze(1).numpy()
            np.testing.assert_allclose(lps, want, atol=1e-4)  # temperature 1, before top-k
    assert len({tuple(t) for t in s.tokens[0]}) > 1


def test_first_token_distribution_is_softmax_of_logits_over_t(ckpts):
    """4000 first tokens of one prompt against softmax(logits / 0.8): chi-square, bins of expected count >= 5."""
    from scipy.stats import chisquare
    hf = load_hf_model(ckpts["qwen3_moe"])
    n, T = 4000, 0.8
    s = ttc_fast.generate(hf, [PROMPTS[0]], n=n, max_new_tokens=1, temperature=T, seed=11, engine="hf")
    prompt = hf.tokenizer.encode(PROMPTS[0]).ids
    with torch.no_grad():
        logits = hf.model(torch.tensor([prompt])).logits[0, -1].double()
    p = torch.softmax(logits / T, dim=-1).numpy()
    counts = np.bincount([t[0] for t in s.tokens[0]], minlength=p.size)
    big = p * n >= 5
    obs = np.append(counts[big], counts[~big].sum())
    exp = np.append(p[big] * n, p[~big].sum() * n)
    assert chisquare(obs, exp).pvalue > 1e-3
    assert counts[p < 1e-9].sum() == 0


def test_reproducible_per_prompt_and_leaves_the_callers_rng_alone(ckpts):
    hf = load_hf_model(ckpts["mistral_sw"])
    kw = dict(n=3, max_new_tokens=8, temperature=1.0, seed=3, engine="hf")
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = ttc_fast.generate(hf, PROMPTS[:2], **kw)
    assert torch.equal(torch.get_rng_state(), before)
    b = ttc_fast.generate(hf, PROMPTS[:2], **kw)
    assert a.tokens == b.tokens and a.logprobs == b.logprobs
    assert ttc_fast.generate(hf, [PROMPTS[0]], **kw).tokens[0] == a.tokens[0]  # same index 0, other prompts absent
    other = ttc_fast.generate(hf, PROMPTS[:2], **{**kw, "seed": 4})
    assert other.tokens != a.tokens


def test_checkpoint_generation_config_does_not_change_sampling(ckpts, tmp_path):
    """A generation_config.json that would make every sample greedy (top_k=1) and penalise repeats is ignored:
    the samples are those of the same checkpoint without it."""
    import shutil
    d = tmp_path / "gc"
    shutil.copytree(ckpts["mixtral"], d)
    (d / "generation_config.json").write_text(json.dumps({"top_k": 1, "repetition_penalty": 3.0, "do_sample": False,
                                                          "eos_token_id": 2}))
    kw = dict(n=6, max_new_tokens=6, temperature=1.0, seed=2, engine="hf")
    a = ttc_fast.generate(load_hf_model(d), PROMPTS[:1], **kw)
    b = ttc_fast.generate(load_hf_model(ckpts["mixtral"]), PROMPTS[:1], **kw)
    assert a.tokens == b.tokens and len({tuple(t) for t in a.tokens[0]}) > 1


def test_stop_strings_and_eos_cut_samples(ckpts):
    hf = load_hf_model(ckpts["qwen3_moe"])
    kw = dict(n=4, max_new_tokens=10, temperature=1.0, seed=9, engine="hf")
    free = ttc_fast.generate(hf, PROMPTS[:1], **kw)
    row = next(r for r, t in enumerate(free.tokens[0]) if len(t) >= 4)
    tok = free.tokens[0][row][2]
    word = hf.tokenizer.decode([tok])
    stopped = ttc_fast.generate(hf, PROMPTS[:1], stop=[word], **kw)
    for r in range(4):
        toks = free.tokens[0][r]
        words = [hf.tokenizer.decode([t]) for t in toks]
        if word in words:
            j = words.index(word)
            assert stopped.finish_reasons[0][r] == "stop" and stopped.tokens[0][r] == toks[:j + 1]
            assert word not in stopped.texts[0][r].split()
        else:
            assert stopped.tokens[0][r] == toks and stopped.finish_reasons[0][r] == free.finish_reasons[0][r]
    hf.eos_token_ids = [tok]
    eos = ttc_fast.generate(hf, PROMPTS[:1], **kw)
    j = free.tokens[0][row].index(tok)
    assert eos.tokens[0][row] == free.tokens[0][row][:j + 1] and eos.finish_reasons[0][row] == "eos"
    assert eos.lengths[0, row] == j + 1


def test_auto_engine_choice_and_explicit_engines(ckpts):
    hf = load_hf_model(ckpts["mixtral"])
    with pytest.warns(EngineFallbackWarning, match="unsupported architecture"):
        s = ttc_fast.generate(hf, PROMPTS[:1], n=2, max_new_tokens=4)
    assert s.engine == "hf"
    with pytest.raises(ValueError, match="unsupported architecture"):
        ttc_fast.generate(hf, PROMPTS[:1], n=2, max_new_tokens=4, engine="ttc_fast")
    sw = load_hf_model(ckpts["mistral_sw"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ttc_fast.generate(sw, ["w5"], n=2, max_new_tokens=3).engine == "ttc_fast"  # 4 tokens <= window
    with pytest.warns(EngineFallbackWarning, match="sliding_window=6"):
        assert ttc_fast.generate(sw, ["w5"], n=2, max_new_tokens=8).engine == "hf"
    with pytest.raises(ValueError, match="batch_tokens"):
        ttc_fast.generate(hf, PROMPTS[:1], n=2, max_new_tokens=4, engine="hf", batch_tokens=100)
    ours = ttc_fast.load_model(ckpts["llama"])
    with pytest.raises(ValueError, match="load_hf_model"):
        ttc_fast.generate(ours, PROMPTS[:1], n=2, max_new_tokens=4, engine="hf")
    with pytest.raises(ValueError, match="engine must be"):
        ttc_fast.generate(ours, PROMPTS[:1], n=2, max_new_tokens=4, engine="vllm")


def test_two_engines_agree_greedily_on_a_supported_architecture(ckpts):
    """A second implementation as the reference: on a Llama both engines give the same greedy tokens."""
    hf = load_hf_model(ckpts["llama"])
    a = ttc_fast.generate(hf, PROMPTS, n=1, max_new_tokens=8, temperature=0.0, engine="hf")
    b = ttc_fast.generate(hf, PROMPTS, n=1, max_new_tokens=8, temperature=0.0)  # auto: the ttc_fast engine
    assert a.engine == "hf" and b.engine == "ttc_fast"
    assert a.tokens == b.tokens and a.finish_reasons == b.finish_reasons
    np.testing.assert_allclose(np.concatenate([x[0] for x in a.logprobs]),
                               np.concatenate([x[0] for x in b.logprobs]), atol=1e-4)


def test_in_memory_model_is_used_as_is(ckpts):
    module = transformers.AutoModelForCausalLM.from_pretrained(str(ckpts["mixtral"])).train()
    hf = load_hf_model(module, tokenizer=M.word_tokenizer())
    assert hf.model is module
    ref = ttc_fast.generate(load_hf_model(ckpts["mixtral"]), PROMPTS[:1], n=3, max_new_tokens=5, engine="hf",
                            seed=1)
    s = ttc_fast.generate(hf, PROMPTS[:1], n=3, max_new_tokens=5, engine="hf", seed=1)
    assert s.tokens == ref.tokens and module.training  # eval mode during generation only
    ids = [M.word_tokenizer().encode(PROMPTS[0]).ids]
    assert ttc_fast.generate(module, ids, n=3, max_new_tokens=5, engine="hf", seed=1).tokens == ref.tokens
    with pytest.raises(ValueError, match="as is"):
        load_hf_model(module, dtype="float16")


def test_pickle_only_checkpoint_is_refused(tmp_path):
    model = transformers.AutoModelForCausalLM.from_config(CONFIGS["llama"]())
    model.config.save_pretrained(str(tmp_path / "bin"))  # transformers 5 writes safetensors only: pickle by hand
    torch.save(model.state_dict(), tmp_path / "bin" / "pytorch_model.bin")
    with pytest.raises(PickleCheckpointError, match="pickle weights only"):
        load_hf_model(tmp_path / "bin")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="no safetensors"):
        load_hf_model(tmp_path / "empty")


_REMOTE = """
import os, sys, ttc_fast
from ttc_fast.runtime.hf_engine import load_hf_model, RemoteCodeError
try:
    load_hf_model(sys.argv[1])
    print("loaded without trust")
except RemoteCodeError as e:
    print("refused", os.path.exists(os.environ["TTC_MARKER"]))
hf = load_hf_model(sys.argv[1], trust_remote_code=True)
print(type(hf.model).__name__, os.path.exists(os.environ["TTC_MARKER"]))
"""


def test_shipped_code_runs_only_with_trust_remote_code(ckpts, tmp_path):
    d = tmp_path / "remote"
    model = transformers.AutoModelForCausalLM.from_config(CONFIGS["llama"]())
    model.save_pretrained(str(d))
    marker = tmp_path / "code_ran"
    (d / "configuration_evil.py").write_text(
        "import os, pathlib\npathlib.Path(os.environ['TTC_MARKER']).write_text('ran')\n"
        "from transformers import LlamaConfig\n\nclass EvilConfig(LlamaConfig):\n    model_type = 'evil_llama'\n")
    (d / "modeling_evil.py").write_text(
        "from transformers import LlamaForCausalLM\nfrom .configuration_evil import EvilConfig\n\n"
        "class EvilForCausalLM(LlamaForCausalLM):\n    config_class = EvilConfig\n")
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(model_type="evil_llama", architectures=["EvilForCausalLM"],
               auto_map={"AutoConfig": "configuration_evil.EvilConfig",
                         "AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"})
    (d / "config.json").write_text(json.dumps(cfg))
    env = dict(os.environ, TTC_MARKER=str(marker), HF_MODULES_CACHE=str(tmp_path / "modules"), HF_HUB_OFFLINE="1")
    r = subprocess.run([sys.executable, "-c", _REMOTE, str(d)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split("\n")[:2] == ["refused False", "EvilForCausalLM True"]
    with pytest.raises(RemoteCodeError, match="trust_remote_code"):
        from ttc_fast.evaluate import plan_engine
        plan_engine(d, "auto", ["w1"], 4)


def _problems(path, n=5):
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"q{i}", "prompt": " ".join(f"w{3 + (7 * i + j) % 90}" for j in range(3)),
                                "answer": str(10 + i)}) + "\n")
    return path


def test_cli_eval_engine_hf_end_to_end(ckpts, tmp_path, capsys):
    """`ttc-fast eval --engine hf` on the Mixtral: the log is the hf engine's samples regraded independently,
    reproducible, and `--engine auto` falls back to the same log with a message."""
    import re

    from ttc_fast.cli import main
    from ttc_fast.evallog import read_log
    from ttc_fast.evaluate import chunk_seed
    data = _problems(tmp_path / "problems.jsonl")
    args = [str(ckpts["mixtral"]), "--data", str(data), "--n", "3", "--max-new-tokens", "6", "--step", "100",
            "--train-flops", "1e15", "--chunk-size", "2", "--seed", "4", "--no-progress"]
    assert main(["eval", *args, "--out", str(tmp_path / "hf.jsonl"), "--engine", "hf"]) == 0
    (rec,) = read_log(tmp_path / "hf.jsonl")
    assert rec["meta"]["engine"] == "hf" and rec["step"] == 100 and rec["num_samples"] == 3
    hf = load_hf_model(ckpts["mixtral"])
    probs = [json.loads(line) for line in open(data)]
    texts, gen_lens = [], []
    for c in range(3):
        part = [p["prompt"] for p in probs[2 * c:2 * c + 2]]
        s = ttc_fast.generate(hf, part, n=3, max_new_tokens=6, temperature=0.8, seed=chunk_seed(4, 100, c),
                              engine="hf")
        texts += s.texts
        gen_lens += s.lengths.ravel().tolist()
    for p, row, t in zip(probs, rec["problems"], texts):
        ans = [(re.findall(r"-?\d+", x) or [None])[-1] for x in t]
        assert row["correct"] == [a == p["answer"] for a in ans]
        assert [a == -1 for a in row["answers"]] == [a is None for a in ans]
    assert rec["meta"]["mean_gen_tokens"] == pytest.approx(np.mean(gen_lens))
    assert rec["meta"]["mean_prompt_tokens"] == pytest.approx(np.mean([len(p["prompt"].split()) for p in probs]))
    capsys.readouterr()
    assert main(["eval", *args, "--out", str(tmp_path / "auto.jsonl")]) == 0
    assert "unsupported architecture" in capsys.readouterr().out
    (auto,) = read_log(tmp_path / "auto.jsonl")
    assert auto["problems"] == rec["problems"] and auto["meta"]["engine"] == "hf"
    assert main(["eval", *args, "--out", str(tmp_path / "x.jsonl"), "--engine", "ttc_fast"]) == 2
    assert "unsupported architecture" in capsys.readouterr().err
    assert main(["eval", *args, "--out", str(tmp_path / "y.jsonl"), "--engine", "hf", "--batch-tokens", "64"]) == 2
    assert "batch_tokens" in capsys.readouterr().err
