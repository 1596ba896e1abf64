"""ttc_fast.generate: greedy == transformers, seeded sampling reproducible and batch-independent, the sampled
distribution matches softmax of the reference logits (chi-square), one prefill per prompt, EOS / stop retirement."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))
import models as M  # noqa: E402

import ttc_fast  # noqa: E402
from ttc_fast.runtime.generate import derive_seed  # noqa: E402


pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    out = {}
    for fam in M.FAMILIES:
        path = tmp_path_factory.mktemp(fam)
        hf = M.build(fam, path, seed=7)
        out[fam] = (ttc_fast.load_model(path), hf)
    return out


def _hf_greedy(hf, prompt, steps):
    out = hf.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=steps, min_new_tokens=steps,
                      pad_token_id=0, eos_token_id=None)
    return out[0, len(prompt):].tolist()


@pytest.mark.parametrize("family", list(M.FAMILIES))
def test_greedy_matches_transformers(checkpoints, family):
    model, hf = checkpoints[family]
    model.eos_token_ids = []  # run the full 32 steps (HF is told eos_token_id=None too)
    prompts = M.ragged_prompts(11, 3, 1, 12)  # ragged lengths; prompt decoded together, 2 samples each
    s = ttc_fast.generate(model, prompts, n=2, max_new_tokens=32, temperature=0.0)
    for i, p in enumerate(prompts):
        ref = _hf_greedy(hf, p, 32)
        assert s.tokens[i][0] == ref and s.tokens[i][1] == ref
    assert s.lengths.tolist() == [[32, 32]] * 3 and s.finish_reasons == [["length"] * 2] * 3
    # logprob of the first token = log_softmax of the reference logits at the prompt's last position
    with torch.no_grad():
        ref_lp = torch.log_softmax(hf(torch.tensor([prompts[0]])).logits[0, -1], -1)[s.tokens[0][0][0]]
    assert abs(s.logprobs[0][0][0] - ref_lp.item()) < 1e-4
    model.eos_token_ids = [2]


def test_sampling_reproducible_and_batch_independent(checkpoints):
    model, _ = checkpoints["qwen3"]
    prompts = M.ragged_prompts(12, 4, 2, 10)
    kw = dict(max_new_tokens=12, temperature=1.0, top_p=0.95, seed=123)
    a = ttc_fast.generate(model, prompts, n=4, **kw)
    b = ttc_fast.generate(model, prompts, n=4, **kw)
    assert a.tokens == b.tokens and np.allclose(np.concatenate([np.concatenate(x) for x in a.logprobs]),
                                                np.concatenate([np.concatenate(x) for x in b.logprobs]))
    # one prompt per batch: same samples (seeds depend on (seed, prompt index, sample index) only)
    c = ttc_fast.generate(model, prompts, n=4, batch_tokens=1, **kw)
    assert c.prefill_calls == 4 and c.tokens == a.tokens
    # more samples per prompt: the first 4 are unchanged
    d = ttc_fast.generate(model, prompts, n=6, **kw)
    assert [row[:4] for row in d.tokens] == a.tokens
    e = ttc_fast.generate(model, prompts, n=4, **{**kw, "seed": 124})
    assert e.tokens != a.tokens
    assert len({tuple(t) for t in a.tokens[0]}) > 1  # samples of one prompt differ
    assert derive_seed(0, 1, 2) != derive_seed(0, 2, 1)


@pytest.mark.parametrize("temperature,top_k", [(1.0, None), (0.7, 5)])
def test_next_token_distribution_chi_square(checkpoints, temperature, top_k):
    """4000 first tokens of one prompt vs softmax(reference logits / T) (restricted to the top-k): chi-square
    goodness of fit at level 1e-3 (bins with expected count < 5 merged). Seeded, so the outcome is fixed."""
    from scipy.stats import chisquare
    model, hf = checkpoints["llama"]
    prompt = M.ragged_prompts(13, 1, 6, 6)[0]
    N = 4000
    s = ttc_fast.generate(model, [prompt], n=N, max_new_tokens=1, temperature=temperature, top_k=top_k, seed=5)
    first = np.array([t[0] for t in s.tokens[0]])
    with torch.no_grad():
        logits = hf(torch.tensor([prompt])).logits[0, -1].double() / temperature
    if top_k is not None:
        kth = torch.topk(logits, top_k).values[-1]
        logits = torch.where(logits >= kth, logits, torch.tensor(float("-inf"), dtype=torch.float64))
    p = torch.softmax(logits, -1).numpy()
    assert p[first].min() > 0  # never a token outside the support
    counts = np.bincount(first, minlength=p.size).astype(float)
    exp = p * N
    big = exp >= 5
    obs = np.append(counts[big], counts[~big].sum())
    ex = np.append(exp[big], exp[~big].sum())
    if ex[-1] < 5:  # fold a tiny remainder into the largest bin
        obs[np.argmax(ex[:-1])] += obs[-1]
        ex[np.argmax(ex[:-1])] += ex[-1]
        obs, ex = obs[:-1], ex[:-1]
    assert big.sum() >= 5  # the test has power: several bins
    assert chisquare(obs, ex).pvalue > 1e-3


def test_each_prompt_prefilled_once(checkpoints, monkeypatch):
    model, _ = checkpoints["gpt_neox"]
    calls = []
    orig = model._prefill_hidden

    def spy(tokens, lengths, keep_kv):
        calls.append(list(lengths))
        return orig(tokens, lengths, keep_kv)
    monkeypatch.setattr(model, "_prefill_hidden", spy)
    prompts = M.ragged_prompts(14, 3, 4, 9)
    s = ttc_fast.generate(model, prompts, n=16, max_new_tokens=4)
    assert s.prefill_calls == 1 and calls == [[len(p) for p in prompts]]
    assert s.prefill_tokens == sum(len(p) for p in prompts)  # not 16x
    calls.clear()
    budget = len(prompts[0]) + 16 * 4 + 1  # room for one prompt per batch
    s = ttc_fast.generate(model, prompts, n=16, max_new_tokens=4, batch_tokens=budget)
    assert s.prefill_calls == 3 and calls == [[len(p)] for p in prompts]


def test_index_values_checked_once_per_decode_step_not_per_layer(checkpoints, monkeypatch):
    # each value check reads the device (a host sync on CUDA): the runtime checks the cache in layer 0 only
    import ttc_fast.ops.attention as att
    model, _ = checkpoints["llama"]
    checks = []
    orig = att.capturing  # consulted exactly when the value checks are about to run
    monkeypatch.setattr(att, "capturing", lambda dev: checks.append(1) or orig(dev))
    s = ttc_fast.generate(model, [[3, 4, 5]], n=2, max_new_tokens=5, temperature=0.0)
    steps = int(s.timings["decode_steps"])
    assert model.arch.num_layers > 1 and steps == 4
    assert len(checks) == 2 * steps  # append + attention, layer 0 only


@pytest.mark.parametrize("family", ["llama", "gpt_neox"])
def test_default_batch_tokens_from_free_memory(checkpoints, family):
    from ttc_fast.runtime.generate import _batches, default_batch_tokens, kv_bytes_per_token
    model, hf = checkpoints[family]
    # reference: the bytes transformers' own KV cache holds per token
    L = 7
    with torch.inference_mode():
        cache = hf(torch.arange(3, 3 + L)[None], use_cache=True).past_key_values
    held = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert kv_bytes_per_token(model) == held // L
    free = 1000 * kv_bytes_per_token(model) * 10 // 7  # a budget of about 1000 tokens: ~12 of the 40 prompts
    budget = default_batch_tokens(model, free)
    prompts = M.ragged_prompts(3, 40, 5, 30)
    n, max_new = 4, 16
    for batch in _batches(prompts, n, max_new, budget):
        tokens = sum(len(prompts[i]) + n * max_new for i in batch)
        assert tokens * kv_bytes_per_token(model) <= 0.7 * free or len(batch) == 1
    assert len(_batches(prompts, n, max_new, budget)) > 1  # the budget binds in this test
    assert default_batch_tokens(model, 0) == 1


@pytest.mark.parametrize("family", ["llama", "qwen2", "gpt_neox"])
def test_step_flops_match_torch_flop_counter(checkpoints, family):
    # the compute floor of bench-sampling: FLOPs of one decode step against torch's FlopCounterMode
    from torch.utils.flop_counter import FlopCounterMode

    from ttc_fast.runtime.bench import step_flops
    from ttc_fast.runtime.generate import new_decode_cache
    model, _ = checkpoints[family]
    P, n, L, s = 2, 3, 9, 4
    prompts = [list(range(3, 3 + L)), list(range(20, 20 + L))]
    _, kp, vp, indptr = model.prefill(prompts)
    # s generated tokens already in every suffix, and the static suffix buffer exactly full after this step (the CPU
    # reference attends the whole buffer under a length mask, the GPU kernel only the written positions)
    cache = new_decode_cache(model, kp, vp, indptr, n, max_new=s + 2)
    cache.suffix_lens.fill_(s)
    tokens = torch.full((P * n,), 5, dtype=torch.int64)
    with FlopCounterMode(display=False) as counter:
        model.decode_step(tokens, torch.full((P * n,), L + s, dtype=torch.int64), cache)
    assert step_flops(model, P, n, L, s) == counter.get_total_flops()


@pytest.mark.interpreter
@pytest.mark.skipif(torch.cuda.is_available(), reason="the CUDA path runs these kernels by default")
@pytest.mark.parametrize("family", ["qwen3", "gpt_neox"])
def test_generate_through_the_triton_kernels_matches_the_torch_path(checkpoints, family, monkeypatch):
    # the integration the GPU path uses (the runtime's layouts, strides and dtypes handed to the Triton attention,
    # KV-append and sampling kernels), run here on CPU tensors in the Triton interpreter: same tokens and
    # logprobs as the torch reference path, greedy and sampled, with ragged prompts and compaction
    import ttc_fast.ops._backend as backend
    model, _ = checkpoints[family]
    prompts = M.ragged_prompts(5, 3, 3, 8)
    kw = dict(n=3, max_new_tokens=5, seed=11)
    ref_greedy = ttc_fast.generate(model, prompts, temperature=0.0, **kw)
    ref_sampled = ttc_fast.generate(model, prompts, temperature=0.9, top_p=0.9, **kw)
    orig = backend.resolve_backend
    used = []

    def triton_on_cpu(name, device, *, op, has_cuda=False):
        if name == "auto" and op in ("shared_prefix_attention", "append_suffix_kv", "sample_tokens"):
            used.append(op)
            return "triton"
        return orig(name, device, op=op, has_cuda=has_cuda)
    for mod in ("attention", "sampling"):
        monkeypatch.setattr(f"ttc_fast.ops.{mod}.resolve_backend", triton_on_cpu)
    got_greedy = ttc_fast.generate(model, prompts, temperature=0.0, **kw)
    got_sampled = ttc_fast.generate(model, prompts, temperature=0.9, top_p=0.9, **kw)
    assert {"shared_prefix_attention", "append_suffix_kv", "sample_tokens"} <= set(used)
    for got, ref in ((got_greedy, ref_greedy), (got_sampled, ref_sampled)):
        assert got.tokens == ref.tokens
        for a, b in zip(got.logprobs, ref.logprobs):
            for x, y in zip(a, b):
                np.testing.assert_allclose(x, y, atol=1e-4)  # fp32, the kernel's summation order differs


def test_eos_retires_samples_and_compaction_keeps_them_exact(checkpoints):
    """With EOS = a frequent token, samples end at different steps (rows get compacted); each sample must equal the
    same sample drawn without EOS, cut after its first EOS."""
    model, _ = checkpoints["mistral"]
    prompts = M.ragged_prompts(15, 2, 3, 8)
    kw = dict(n=12, max_new_tokens=16, temperature=1.5, seed=9)
    model.eos_token_ids = []
    free = ttc_fast.generate(model, prompts, **kw)
    flat = [t for row in free.tokens for s in row for t in s[:6]]
    eos = int(np.bincount(flat).argmax())
    model.eos_token_ids = [eos]
    try:
        s = ttc_fast.generate(model, prompts, **kw)
    finally:
        model.eos_token_ids = [2]
    ended = 0
    for i in range(2):
        for j in range(12):
            ref = free.tokens[i][j]
            if eos in ref:
                k = ref.index(eos) + 1
                assert s.tokens[i][j] == ref[:k] and s.finish_reasons[i][j] == "eos"
                ended += 1
            else:
                assert s.tokens[i][j] == ref and s.finish_reasons[i][j] == "length"
    assert ended >= 6  # enough retirements to trigger compaction
    assert s.lengths[0, 0] == len(s.tokens[0][0])


def test_stop_strings_and_text_prompts(checkpoints):
    model, _ = checkpoints["qwen2"]
    model.eos_token_ids = []
    try:
        free = ttc_fast.generate(model, "w1 w2 w3", n=3, max_new_tokens=10, temperature=0.0)
        toks = free.tokens[0][0]
        word = M.WORDS[toks[3]]
        k = toks.index(toks[3])
        s = ttc_fast.generate(model, "w1 w2 w3", n=3, max_new_tokens=10, temperature=0.0, stop=[word, "zz"])
    finally:
        model.eos_token_ids = [2]
    assert free.texts[0][0] == " ".join(M.WORDS[t] for t in toks)
    assert s.tokens[0][0] == toks[:k + 1] and s.finish_reasons[0] == ["stop"] * 3
    assert s.texts[0][0] == " ".join(M.WORDS[t] for t in toks[:k]) + (" " if k else "")


def test_generate_errors(checkpoints):
    model, _ = checkpoints["llama"]
    with pytest.raises(ValueError, match="n must be >= 1"):
        ttc_fast.generate(model, [[3, 4]], n=0, max_new_tokens=2)
    with pytest.raises(TypeError, match="max_new_tokens must be an int"):
        ttc_fast.generate(model, [[3, 4]], n=1, max_new_tokens=2.5)
    with pytest.raises(ValueError, match="temperature"):
        ttc_fast.generate(model, [[3, 4]], n=1, max_new_tokens=2, temperature=-1)
    with pytest.raises(ValueError, match="top_p"):
        ttc_fast.generate(model, [[3, 4]], n=1, max_new_tokens=2, top_p=0)
    with pytest.raises(ValueError, match=r"prompts\[1\] is empty"):
        ttc_fast.generate(model, [[3], []], n=1, max_new_tokens=2)
    with pytest.raises(ValueError, match=r"prompts\[0\] has token ids outside"):
        ttc_fast.generate(model, [[3, M.VOCAB]], n=1, max_new_tokens=2)
    with pytest.raises(TypeError, match="ttc_fast Model"):
        ttc_fast.generate("model", [[3]], n=1, max_new_tokens=2)
    bare = ttc_fast.load_model(checkpoints["llama"][1])  # in-memory, no tokenizer
    with pytest.raises(ValueError, match="string prompts need a tokenizer"):
        ttc_fast.generate(bare, ["w1"], n=1, max_new_tokens=2)
    with pytest.raises(ValueError, match="stop strings need a tokenizer"):
        ttc_fast.generate(bare, [[3]], n=1, max_new_tokens=2, stop="x")
    s = ttc_fast.generate(bare, [[3]], n=2, max_new_tokens=2, progress=True)
    assert s.texts is None and s.num_prompts == 1 and s.n == 2


def test_cli_bench_sampling(tmp_path, capsys):
    from ttc_fast.cli import main
    M.build("llama", tmp_path, seed=3)
    rc = main(["bench-sampling", "--model", str(tmp_path), "--prompts", "2", "--n", "3", "--prompt-len", "5",
               "--new-tokens", "4", "--baseline", "all", "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "2 prompts x n=3, prompt 5 tokens, 4 new tokens" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("ttc_fast ", "hf ", "hf-prefill-once "))}
    assert set(rows) == {"ttc_fast", "hf", "hf-prefill-once"}
    assert float(rows["ttc_fast"][1]) > 0 and float(rows["hf"][1]) > 0  # tokens/s
    rc = main(["bench-sampling", "--model", str(tmp_path), "--prompts", "3", "--n", "2", "--prompt-len", "5",
               "--new-tokens", "3", "--baseline", "hf", "--baseline-prompts", "1", "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0 and "baselines on the first 1 prompts" in out
    hf_row = next(line.split() for line in out.splitlines() if line.startswith("hf "))
    assert float(hf_row[1]) > 0  # tokens/s of the baseline on its subset
    assert main(["bench-sampling", "--model", str(tmp_path), "--prompts", "0"]) == 2  # named error, exit 2
    assert "--prompts must be >= 1" in capsys.readouterr().err
    assert main(["bench-sampling", "--model", str(tmp_path), "--baseline-prompts", "0"]) == 2
    assert "--baseline-prompts must be >= 1" in capsys.readouterr().err


def test_sliding_window_limit(tmp_path):
    M.build("mistral", tmp_path, seed=4, sliding_window=8)
    model = ttc_fast.load_model(tmp_path)
    assert model.arch.sliding_window == 8
    ttc_fast.generate(model, [[3, 4, 5]], n=1, max_new_tokens=5)  # 3 + 5 <= 8: full attention is exact
    with pytest.raises(ValueError, match="sliding_window=8"):
        ttc_fast.generate(model, [[3, 4, 5]], n=1, max_new_tokens=6)


def test_non_finite_logits_raise_a_named_error(tmp_path, monkeypatch):
    # a checkpoint with NaN weights must not evaluate to empty texts; overflow to inf neither; the decode path too
    from ttc_fast.runtime.generate import NonFiniteLogitsError
    M.build("llama", tmp_path, seed=5)
    model = ttc_fast.load_model(tmp_path)
    prompts = M.ragged_prompts(2, 2, 3, 6)
    ok = ttc_fast.generate(model, prompts, n=2, max_new_tokens=4, temperature=0.8)
    assert all(len(t) for row in ok.tokens for t in row)
    name = next(k for k in model.weights if "mlp" in k and "layers.0." in k)
    saved = model.weights[name].clone()
    model.weights[name][0, 0] = float("nan")  # in place: the runtime holds the same tensors
    for temp in (0.0, 0.8):
        with pytest.raises(NonFiniteLogitsError, match=r"not finite .* generated token 0 of prompt 0"):
            ttc_fast.generate(model, prompts, n=2, max_new_tokens=4, temperature=temp)
    model.weights[name].copy_(saved)
    row5 = model.lm_head[5].clone()
    model.lm_head[5].fill_(3e38)  # float32 overflow: the logit of token 5 is +-inf (or NaN where they meet)
    with pytest.raises(NonFiniteLogitsError, match="row maximum (inf|nan)"):
        ttc_fast.generate(model, prompts, n=2, max_new_tokens=4, temperature=0.8)
    model.lm_head[5].copy_(row5)
    orig = model.decode_step
    calls = []

    def nan_at_third_step(tokens, positions, cache, *args, **kw):
        out = orig(tokens, positions, cache, *args, **kw)
        calls.append(1)
        return torch.full_like(out, float("nan")) if len(calls) == 3 else out
    monkeypatch.setattr(model, "decode_step", nan_at_third_step)
    with pytest.raises(NonFiniteLogitsError, match="generated token 3 of prompt 0, sample 0"):
        ttc_fast.generate(model, prompts, n=2, max_new_tokens=6, temperature=0.8)
