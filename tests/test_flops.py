"""FLOP accounting (ttc_fast.flops / csrc/flops.h) against independent references.

References: transformers models built from the same configs (sum of p.numel()), torch's FlopCounterMode
on those models (eager attention, eager experts), HF KV caches, published formulas written out term by
term (Kaplan, PaLM, Chinchilla App. F, Megatron-LM), brute-force sums over decode positions, and exact
rationals for the paper's closed form. Multiply-add = 2 FLOPs throughout.
"""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

import ttc_fast
from ttc_fast.flops import CONVENTIONS, PRESETS, SUPPORTED_MODEL_TYPES, ModelSpec

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

SEQ = 64
VOCAB = 101  # prime, so a vocab/d_model mix-up cannot cancel


def _small_configs() -> dict[str, dict]:
    """Tiny configs of every supported family; each exercises a different parameter-count branch."""
    base = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, vocab_size=VOCAB)
    return {
        "llama": dict(base, model_type="llama", num_key_value_heads=2),  # GQA 4:2, untied
        # biases on q/k/v/o and gate/up/down, tied embeddings
        "llama-bias-tied": dict(base, model_type="llama", num_key_value_heads=2, attention_bias=True,
                                mlp_bias=True, tie_word_embeddings=True),
        # head_dim != d_model / heads (24 * 4 = 96 != 64), multi-query attention
        "mistral": dict(base, model_type="mistral", num_key_value_heads=1, head_dim=24),
        # non-gated MLP, LayerNorm (weight + bias), fused QKV with bias, untied embed_out, partial rotary
        "gpt_neox": dict(base, model_type="gpt_neox", intermediate_size=256, rotary_pct=0.25,
                         use_parallel_residual=True),
        "qwen2": dict(base, model_type="qwen2", num_key_value_heads=2),  # q/k/v bias, no o bias
        "qwen3": dict(base, model_type="qwen3", num_key_value_heads=2, head_dim=32),  # q/k norm
        # 3 layers, layer 1 dense via mlp_only_layers: 2 MoE layers with 2 of 8 experts active
        "qwen3_moe": dict(base, model_type="qwen3_moe", num_hidden_layers=3, num_key_value_heads=2, head_dim=16,
                          num_experts=8, num_experts_per_tok=2, moe_intermediate_size=32, mlp_only_layers=[1]),
    }


def _build(cfg: dict, attn: str = "eager"):
    config = transformers.AutoConfig.for_model(**cfg)
    kwargs = {"attn_implementation": attn}
    if cfg["model_type"] == "qwen3_moe":
        # The default "grouped_mm" experts kernel is invisible to FlopCounterMode; the eager loop is not.
        kwargs["experts_implementation"] = "eager"
    torch.manual_seed(0)
    return transformers.AutoModelForCausalLM.from_config(config, **kwargs).eval()


@pytest.fixture(scope="module")
def small_models():
    return {name: (cfg, _build(cfg)) for name, cfg in _small_configs().items()}


def _count(model, *args, **kwargs) -> tuple[int, object]:
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        out = model(*args, **kwargs)
    return fc.get_total_flops(), out


def test_every_family_is_covered():
    assert {c["model_type"] for c in _small_configs().values()} == set(SUPPORTED_MODEL_TYPES)


# ---- parameter counts ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(_small_configs()))
def test_num_params_matches_transformers(small_models, name):
    cfg, model = small_models[name]
    spec = ModelSpec.from_hf_config(cfg)
    assert spec.num_params() == sum(p.numel() for p in model.parameters())  # tied weights counted once
    embed = model.get_input_embeddings().weight.numel()
    out = model.get_output_embeddings().weight
    untied = 0 if out is model.get_input_embeddings().weight else out.numel()
    assert spec.num_params(non_embedding=True) == spec.num_params() - embed - untied


def test_moe_active_params_count_routed_experts_only(small_models):
    cfg, model = small_models["qwen3_moe"]
    spec = ModelSpec.from_hf_config(cfg)
    experts = [m for n, m in model.named_modules() if n.endswith("mlp.experts")]
    assert len(experts) == 2 == spec.moe_layers  # layer 1 is dense (mlp_only_layers)
    per_layer_all = sum(p.numel() for p in experts[0].parameters())
    inactive = len(experts) * per_layer_all * (8 - 2) // 8
    assert spec.num_active_params() == spec.num_params() - inactive
    assert spec.num_active_params(non_embedding=True) == spec.num_params(non_embedding=True) - inactive


@pytest.mark.parametrize("preset", list(PRESETS))
def test_preset_params_match_transformers_on_meta(preset):
    """Full-size architectures (TinyLlama: 22 layers, d_model 2048, 32 heads, 4 kv heads, d_ff 5632,
    vocab 32000) built on the meta device: no memory, exact numel."""
    config = transformers.AutoConfig.for_model(**PRESETS[preset])
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    spec = ModelSpec.preset(preset)
    assert spec.num_params() == sum(p.numel() for p in model.parameters())
    if preset == "tinyllama":
        assert (spec.num_layers, spec.d_model, spec.num_heads, spec.num_kv_heads, spec.d_ff, spec.vocab_size) \
            == (22, 2048, 32, 4, 5632, 32000)
        assert spec.num_params() == 1_100_048_384  # "1.1B"


def test_from_hf_config_reads_files_and_directories(tmp_path):
    cfg = _small_configs()["qwen2"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert ModelSpec.from_hf_config(tmp_path) == ModelSpec.from_hf_config(tmp_path / "config.json") \
        == ModelSpec.from_hf_config(cfg)


# ---- forward FLOPs vs FlopCounterMode -----------------------------------------------------------
@pytest.mark.parametrize("name", list(_small_configs()))
def test_forward_matmul_flops_match_flop_counter(small_models, name):
    cfg, model = small_models[name]
    spec = ModelSpec.from_hf_config(cfg)
    measured, _ = _count(model, torch.randint(0, VOCAB, (1, SEQ)))
    assert forward_flops(spec) == pytest.approx(measured, rel=0.01)
    assert forward_flops(spec) == measured  # in fact exact: both count the same matmuls


def forward_flops(spec: ModelSpec) -> float:
    return ttc_fast.forward_flops(spec, SEQ, convention="matmul")


def test_sdpa_attention_is_invisible_to_flop_counter_on_cpu():
    """Pitfall: with attn_implementation="sdpa" on CPU, FlopCounterMode counts attention (QK^T, AV)
    as zero, so it reports exactly the matmul count minus 4·L·H·head_dim·S² ."""
    cfg = _small_configs()["llama"]
    spec = ModelSpec.from_hf_config(cfg)
    measured, _ = _count(_build(cfg, attn="sdpa"), torch.randint(0, VOCAB, (1, SEQ)))
    attention = 4 * spec.num_layers * spec.num_heads * spec.head_dim * SEQ**2
    assert measured == forward_flops(spec) - attention


def test_kv_cache_and_decode_step_against_transformers(small_models):
    """Prefill builds the cache (our prefill + the one logits row HF computes with logits_to_keep=1);
    the cache holds exactly kv_cache_bytes; one decode step at position t costs our decode_flops plus
    4·L·H·hd: HF also scores the new token's own key (t + 1 keys), the closed form counts t."""
    cfg, model = small_models["llama"]
    spec = ModelSpec.from_hf_config(cfg)
    shape = spec._shape()
    P = 10
    flops, out = _count(model, torch.randint(0, VOCAB, (1, P)), use_cache=True, logits_to_keep=1)
    assert flops == ttc_fast._C.prefill_flops(shape, "matmul", P) + 2 * spec.d_model * spec.vocab_size
    cache = out.past_key_values
    nbytes = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert nbytes == ttc_fast.kv_cache_bytes(spec, P, bytes_per_elem=4)  # fp32 model
    flops, _ = _count(model, torch.tensor([[7]]), past_key_values=cache, use_cache=True)
    own_key = 4 * spec.num_layers * spec.num_heads * spec.head_dim
    assert flops == ttc_fast._C.decode_flops(shape, "matmul", P, 1) + own_key


# ---- published conventions written out term by term ---------------------------------------------
def _chinchilla_arch() -> ModelSpec:
    """Chinchilla 70B's published architecture (Hoffmann et al. 2022, Table 4): 80 layers, d_model 8192,
    64 heads of 128, d_ff 32768 (non-gated), vocab 32000 (tied; RMSNorm)."""
    return ModelSpec(num_layers=80, d_model=8192, num_heads=64, num_kv_heads=64, head_dim=128, d_ff=32768,
                     vocab_size=32000, gated_mlp=False, tied_embeddings=True)


def test_chinchilla_70b_six_n_d():
    N, D = 70e9, 1.4e12
    spec = _chinchilla_arch()
    n_computed = spec.num_params(non_embedding=True)
    # independent: 80 x (4·d² attention + 2·d·d_ff MLP + 2 RMSNorms) + final norm
    assert n_computed == 80 * (4 * 8192**2 + 2 * 8192 * 32768 + 2 * 8192) + 8192
    flops = ttc_fast.training_flops(spec, D)  # kaplan: 6·N·D
    assert flops == pytest.approx(6 * n_computed * D, rel=1e-12)
    # with the advertised N = 70e9 the same count is the published 5.9e23 (6ND = 5.88e23)
    assert flops * N / n_computed == pytest.approx(5.88e23, rel=1e-12)
    assert round(flops * N / n_computed / 1e23, 1) == 5.9
    # the architecture gives 64.4e9 non-embedding (64.7e9 with the tied embedding): 8% below "70B"
    deviation = n_computed / N - 1
    assert -0.09 < deviation < -0.07
    assert spec.num_params() == n_computed + 32000 * 8192


def test_chinchilla_convention_matches_appendix_f():
    spec, S = _chinchilla_arch(), 2048
    d, V, L, H, kq, ff = 8192, 32000, 80, 64, 128, 32768
    embeddings = 2 * S * V * d
    attention = (2 * 3 * S * d * (kq * H) + 2 * S * S * (kq * H) + 3 * H * S * S + 2 * S * S * (kq * H)
                 + 2 * S * (kq * H) * d)
    dense = 2 * S * (d * ff + d * ff)
    logits = 2 * S * d * V
    forward = embeddings + L * (attention + dense) + logits
    assert ttc_fast.forward_flops(spec, S, convention="chinchilla") == pytest.approx(forward, rel=1e-12)
    assert ttc_fast.training_flops(spec, 10 * S, seq_len=S, convention="chinchilla") \
        == pytest.approx(10 * 3 * forward, rel=1e-12)


def test_megatron_convention_matches_megatron_lm_formula():
    """megatron/training/training.py num_floating_point_operations (GQA, SwiGLU, causal attention)."""
    spec = ModelSpec.preset("llama-3-8b")
    B, S, L, h, H, g, kv_ch, ffn, V = 3, 8192, 32, 4096, 32, 8, 128, 14336, 128256
    ratio = kv_ch * H / h
    expected = 12 * B * S * L * h * h * ((1 + g / H + S / h * 0.5) * ratio + ffn / h * 1.5 + V / (2 * L * h))
    assert ttc_fast.training_flops(spec, B * S, seq_len=S, convention="megatron") == pytest.approx(expected,
                                                                                                   rel=1e-12)


def test_palm_and_kaplan_formulas():
    spec = ModelSpec.preset("pythia-2.8b")
    N = spec.num_params(non_embedding=True)
    L, H, Q, T, D = 32, 32, 80, 2048, 1e9
    assert ttc_fast.training_flops(spec, D, seq_len=T, convention="palm") \
        == pytest.approx((6 * N + 12 * L * H * Q * T) * D, rel=1e-12)
    assert ttc_fast.training_flops(spec, D) == pytest.approx(6 * N * D, rel=1e-12)
    assert ttc_fast.training_flops(spec, D, seq_len=T) == pytest.approx((6 * N + 6 * L * T * H * Q) * D,
                                                                       rel=1e-12)


def test_moe_uses_active_parameters():
    dense = ModelSpec(num_layers=4, d_model=64, num_heads=4, num_kv_heads=4, head_dim=16, d_ff=32, vocab_size=VOCAB)
    moe = ModelSpec(num_layers=4, d_model=64, num_heads=4, num_kv_heads=4, head_dim=16, d_ff=999, vocab_size=VOCAB,
                    num_experts=16, experts_per_token=2, moe_d_ff=16)
    # 2 active experts of width 16 = one dense MLP of width 32, plus the router (64 x 16 per layer)
    assert moe.num_active_params(non_embedding=True) == dense.num_params(non_embedding=True) + 4 * 64 * 16
    assert ttc_fast.forward_flops(moe, SEQ) == ttc_fast.forward_flops(dense, SEQ) + SEQ * 4 * 2 * 64 * 16


# ---- inference ----------------------------------------------------------------------------------
def _brute_inference(spec: ModelSpec, P: int, T: int, K: int, shared: bool, convention: str) -> float:
    """Token by token: prefill scores P·P (or P·P/2 causal) pairs; each decoded token at position t
    scores t cached keys, pays the per-token weights and (where counted) its logits."""
    terms = ttc_fast._C.flop_terms(spec._shape(), convention)
    prefill = sum(terms.linear + terms.embed + terms.attn * P * (0.5 if terms.causal else 1.0) for _ in range(P))
    decode = 0.0
    for t in range(P, P + T):
        decode += terms.linear + terms.embed + terms.logits + terms.attn * t
    return prefill + K * decode if shared else K * (prefill + decode)


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("P,T,K", [(0, 5, 1), (7, 1, 3), (13, 29, 8), (100, 1, 1)])
def test_inference_closed_form_equals_brute_force(convention, P, T, K):
    spec = ModelSpec.preset("qwen2.5-1.5b")
    for shared in (True, False):
        ours = ttc_fast.inference_flops(spec, P, T, K, shared_prefix=shared, convention=convention)
        assert ours == pytest.approx(_brute_inference(spec, P, T, K, shared, convention), rel=1e-12)


def test_inference_terms_against_hand_derivation():
    """kaplan/matmul per docs/flops.md: prefill 2NP + 2·L·d_q·P² (causal) / 4·L·d_q·P² (non-causal);
    decode 2NT + 2·L·d_q·T·(2P + T - 1) (+ 2·d·V per token for matmul)."""
    spec = ModelSpec.preset("tinyllama")
    N, L, dq, d, V = spec.num_params(non_embedding=True), 22, 2048, 2048, 32000
    P, T, K = 1024, 512, 8
    prefill = 2 * N * P + 2 * L * dq * P**2
    decode = 2 * N * T + 2 * L * dq * T * (2 * P + T - 1)
    assert ttc_fast.inference_flops(spec, P, T, K) == pytest.approx(prefill + K * decode, rel=1e-12)
    nm = (spec.num_params(non_embedding=True) - (2 * 22 + 1) * d)  # matmul weights: no norms
    prefill_m = 2 * nm * P + 4 * L * dq * P**2
    decode_m = 2 * nm * T + 2 * d * V * T + 2 * L * dq * T * (2 * P + T - 1)
    assert ttc_fast.inference_flops(spec, P, T, K, convention="matmul") \
        == pytest.approx(prefill_m + K * decode_m, rel=1e-12)


def test_shared_vs_unshared_prefix():
    spec = ModelSpec.preset("llama-3-8b")
    P, T = 2000, 300
    one = ttc_fast.inference_flops(spec, P, T, 1)
    prefill = ttc_fast._C.prefill_flops(spec._shape(), "kaplan", P)
    decode = one - prefill
    for K in (1, 2, 7, 64):
        unshared = ttc_fast.inference_flops(spec, P, T, K, shared_prefix=False)
        shared = ttc_fast.inference_flops(spec, P, T, K)
        assert unshared == pytest.approx(K * (prefill + decode), rel=1e-12)
        assert shared == pytest.approx(prefill + K * decode, rel=1e-12)
        assert unshared - shared == pytest.approx((K - 1) * prefill, rel=1e-9, abs=1.0)
    assert ttc_fast.inference_flops(spec, P, T, 1, shared_prefix=False) == one


def test_kv_cache_bytes():
    spec = ModelSpec.preset("llama-3-8b")  # 32 layers x 8 kv heads x 128: 128 KiB per token in bf16
    assert ttc_fast.kv_cache_bytes(spec, 1) == 2 * 32 * 8 * 128 * 2 == 131072
    np.testing.assert_array_equal(ttc_fast.kv_cache_bytes(spec, np.array([0, 3, 1024])),
                                  np.array([0, 3, 1024]) * 131072)
    assert ttc_fast.kv_cache_bytes(spec, 10, bytes_per_elem=1) == 10 * 65536


# ---- vectorisation ------------------------------------------------------------------------------
def test_vectorised_equals_scalar_loop():
    rng = np.random.default_rng(0)
    spec = ModelSpec.preset("pythia-2.8b")
    P = rng.integers(0, 4096, size=(5, 1, 1))
    T = rng.integers(1, 2048, size=(1, 1, 3))
    ks = np.array([1, 2, 5, 16])[None, :, None]
    for convention in CONVENTIONS:
        for shared in (True, False):
            grid = ttc_fast.inference_flops(spec, P, T, ks, shared_prefix=shared, convention=convention)
            assert grid.shape == (5, 4, 3)
            for i, j, m in np.ndindex(grid.shape):
                assert grid[i, j, m] == ttc_fast.inference_flops(
                    spec, int(P[i, 0, 0]), int(T[0, 0, m]), int(ks[0, j, 0]), shared_prefix=shared,
                    convention=convention)
    tokens = rng.uniform(0, 1e12, size=7)
    vec = ttc_fast.training_flops(spec, tokens, seq_len=2048, convention="chinchilla")
    assert vec.shape == (7,)
    np.testing.assert_array_equal(vec, [ttc_fast.training_flops(spec, float(x), seq_len=2048,
                                                                 convention="chinchilla") for x in tokens])


def test_large_grid_is_threaded_and_exact():
    """A grid large enough to use several C++ chunks (odometer across chunk boundaries)."""
    spec = ModelSpec.preset("tinyllama")
    ckpt = np.linspace(0, 3e12, 37)[:, None, None]
    ks = np.arange(1, 129, dtype=np.float64)[None, :, None]
    gens = np.array([128.0, 512.0, 1000.0])[None, None, :]
    be = ttc_fast.break_even(spec, full_tokens=3e12, checkpoint_tokens=ckpt, k=ks, prompt_len=700, gen_len=gens,
                             eval_flops=1e18)
    assert be.queries.shape == (37, 128, 3)
    saved = 6 * spec.num_params(non_embedding=True) * (3e12 - ckpt)
    extra = (ttc_fast.inference_flops(spec, 700, gens, ks) - ttc_fast.inference_flops(spec, 700, gens, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.broadcast_to(saved / extra, be.queries.shape)
        expected_net = (saved - 1e18) / extra
    np.testing.assert_allclose(be.queries[:, 1:], expected[:, 1:], rtol=1e-12)
    np.testing.assert_allclose(be.net_queries[:, 1:], np.broadcast_to(expected_net, be.queries.shape)[:, 1:],
                               rtol=1e-12)
    assert np.all(np.isinf(be.queries[:-1, 0]))  # K == 1: nothing extra spent
    assert be.queries[-1, 0, 0] == np.inf  # full model itself: saved 0, extra 0


# ---- break-even ---------------------------------------------------------------------------------
def test_paper_example():
    """r = 0.2, lambda = 1.2, D = 3e12, L_out = 1024: 6·0.8·3e12/(0.2·1024) = 7.03125e10 samples."""
    exact = Fraction(6) * (1 - Fraction(1, 5)) * Fraction(3 * 10**12) / ((Fraction(6, 5) - 1) * 1024)
    ours = ttc_fast.paper_break_even(0.2, 1.2, 3e12, 1024)
    assert ours == pytest.approx(float(exact), rel=1e-12)
    assert round(ours / 1e10, 2) == 7.03
    half = ttc_fast.paper_break_even(0.2, 1.2, 3e12, 1024, train_to_infer=3)  # the 6N / 2N convention
    assert half == pytest.approx(ours / 2, rel=1e-12)
    assert round(half / 1e10, 1) == 3.5


def test_break_even_in_ttc_terms():
    spec = ModelSpec.preset("tinyllama")
    P, T, K = 512, 256, 4
    be = ttc_fast.break_even(spec, full_tokens=2e12, checkpoint_tokens=5e11, k=K, prompt_len=P, gen_len=T,
                             eval_flops=3e19)
    n = spec.num_params(non_embedding=True)
    decode = 2 * n * T + 2 * 22 * 2048 * T * (2 * P + T - 1)
    assert be.train_flops_full == pytest.approx(6 * n * 2e12, rel=1e-12)
    assert be.flops_saved == pytest.approx(6 * n * 1.5e12, rel=1e-12)
    assert be.flops_saved_fraction == pytest.approx(0.75, rel=1e-12)
    assert be.extra_inference_flops_per_query == pytest.approx((K - 1) * decode, rel=1e-12)  # prefill cancels
    assert be.queries == pytest.approx(6 * n * 1.5e12 / ((K - 1) * decode), rel=1e-12)
    assert be.net_flops_saved == pytest.approx(6 * n * 1.5e12 - 3e19, rel=1e-12)
    assert be.net_queries == pytest.approx((6 * n * 1.5e12 - 3e19) / ((K - 1) * decode), rel=1e-12)
    unshared = ttc_fast.break_even(spec, full_tokens=2e12, checkpoint_tokens=5e11, k=K, prompt_len=P, gen_len=T,
                                   shared_prefix=False)
    assert unshared.queries < be.queries  # without sharing every sample pays the prefill
    assert ttc_fast.break_even(spec, full_tokens=2e12, checkpoint_tokens=5e11, k=1, prompt_len=P,
                               gen_len=T).queries == np.inf


# ---- bad input ----------------------------------------------------------------------------------
def _tiny(**kw) -> ModelSpec:
    args = dict(num_layers=2, d_model=64, num_heads=4, num_kv_heads=2, head_dim=16, d_ff=96, vocab_size=VOCAB)
    args.update(kw)
    return ModelSpec(**args)


@pytest.mark.parametrize("call,match", [
    (lambda s: ttc_fast.training_flops(s, -1.0), "tokens.*-1"),
    (lambda s: ttc_fast.training_flops(s, [1e9, -5.0]), "tokens.*-5"),
    (lambda s: ttc_fast.training_flops(s, 1e9, convention="gpt3"), "convention.*gpt3"),
    (lambda s: ttc_fast.training_flops(s, 1e9, convention="palm"), "seq_len.*palm"),
    (lambda s: ttc_fast.forward_flops(s, 0), "seq_len.*0"),
    (lambda s: ttc_fast.inference_flops(s, 10, 10, 0), "k.*0"),
    (lambda s: ttc_fast.inference_flops(s, 10, 10, [1, 0.5]), "k.*0.5"),
    (lambda s: ttc_fast.inference_flops(s, -3, 10), "prompt_len.*-3"),
    (lambda s: ttc_fast.inference_flops(s, 10, np.nan), "gen_len"),
    (lambda s: ttc_fast.inference_flops(s, 10, 10, convention="Kaplan"), "convention.*Kaplan"),
    (lambda s: ttc_fast.kv_cache_bytes(s, -1), "tokens.*-1"),
    (lambda s: ttc_fast.kv_cache_bytes(s, 1, bytes_per_elem=0), "bytes_per_elem.*0"),
    (lambda s: ttc_fast.break_even(s, full_tokens=1e9, checkpoint_tokens=2e9, k=2, prompt_len=1, gen_len=1),
     "checkpoint_tokens"),
    (lambda s: ttc_fast.paper_break_even(0.2, 1.0, 3e12, 1024), "lam.*1"),
    (lambda s: ttc_fast.paper_break_even(1.5, 1.2, 3e12, 1024), "r must"),
    (lambda s: ttc_fast.paper_break_even(0.2, 1.2, -1.0, 1024), "train_tokens"),
])
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call(_tiny())


def test_bad_specs():
    with pytest.raises(ValueError, match="num_layers must be >= 1, got 0"):
        _tiny(num_layers=0)
    with pytest.raises(ValueError, match="num_kv_heads must divide"):
        _tiny(num_kv_heads=3)
    with pytest.raises(ValueError, match="experts_per_token"):
        _tiny(num_experts=4, experts_per_token=5, moe_d_ff=8)
    with pytest.raises(TypeError, match="d_model"):
        _tiny(d_model=64.0)
    with pytest.raises(TypeError, match="spec"):
        ttc_fast.training_flops({"num_layers": 2}, 1e9)
    with pytest.raises(ValueError, match="model_type 'gpt2' is not supported.*llama.*gpt_neox.*qwen3_moe"):
        ModelSpec.from_hf_config({"model_type": "gpt2", "hidden_size": 64})
    with pytest.raises(ValueError, match="preset.*gpt-4"):
        ModelSpec.preset("gpt-4")


def test_flops_module_does_not_import_torch():
    import subprocess
    import sys
    code = ("import sys, ttc_fast; ttc_fast.training_flops(ttc_fast.ModelSpec.preset('tinyllama'), 1e9); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_cpp_equals_python_reference(convention):
    """csrc/flops.h against the plain-Python formulas (a second implementation), MoE with a shared expert."""
    spec = ModelSpec(num_layers=6, d_model=96, num_heads=6, num_kv_heads=2, head_dim=24, d_ff=200, vocab_size=VOCAB,
                     num_experts=8, experts_per_token=3, moe_d_ff=40, moe_layers=4, shared_expert_d_ff=64)
    terms = ttc_fast._C.flop_terms(spec._shape(), convention)
    ref = ttc_fast.flops.flop_terms_ref(spec, convention)
    for name in ("linear", "logits", "embed", "attn", "causal"):
        assert getattr(terms, name) == pytest.approx(ref[name], rel=1e-14)
    P, T = np.array([0.0, 5.0, 300.0])[:, None, None], np.array([1.0, 77.0])[None, :, None]
    ks = np.array([1.0, 2.0, 9.0])[None, None, :]
    seq = None if convention == "kaplan" else 512
    for shared in (True, False):
        np.testing.assert_allclose(
            ttc_fast.inference_flops(spec, P, T, ks, shared_prefix=shared, convention=convention),
            ttc_fast.flops.inference_flops_ref(spec, P, T, ks, shared_prefix=shared, convention=convention),
            rtol=1e-13)
        be = ttc_fast.break_even(spec, full_tokens=1e9, checkpoint_tokens=np.array([0, 4e8])[:, None, None, None],
                                 k=ks, prompt_len=P, gen_len=T, shared_prefix=shared, convention=convention,
                                 eval_flops=1e12, seq_len=seq)
        ref_q = ttc_fast.flops.break_even_queries_ref(
            spec, full_tokens=1e9, checkpoint_tokens=np.array([0, 4e8])[:, None, None, None], k=ks, prompt_len=P,
            gen_len=T, shared_prefix=shared, convention=convention, eval_flops=1e12, seq_len=seq)
        np.testing.assert_allclose(be.net_queries, ref_q, rtol=1e-12)


def test_edge_shapes():
    spec = ModelSpec.preset("tinyllama")
    # empty grids: no work, right shape
    assert ttc_fast.inference_flops(spec, [], 10).shape == (0,)
    assert ttc_fast.training_flops(spec, np.zeros((0, 3))).shape == (0, 3)
    assert ttc_fast.break_even(spec, full_tokens=1e9, checkpoint_tokens=[], k=2, prompt_len=1,
                               gen_len=1).queries.shape == (0,)
    # one grid axis of length 1 and 0-d numpy scalars mixed with lists
    grid = ttc_fast.inference_flops(spec, np.int64(5), [3, 4], [[1], [2]])
    assert grid.shape == (2, 2) and grid[1, 0] == ttc_fast.inference_flops(spec, 5, 3, 2)
    # zero tokens: nothing trained, nothing generated
    assert ttc_fast.training_flops(spec, 0) == 0.0
    assert ttc_fast.inference_flops(spec, 0, 0, 8) == 0.0


def test_native_grid_validates_its_inputs():
    """The C++ layer throws std::invalid_argument (ValueError) itself when called directly."""
    spec = ModelSpec.preset("tinyllama")
    arrays = np.broadcast_arrays(*(np.array([v]) for v in (-1.0, 2.0, 1.0, 1.0, 0.0)))
    with pytest.raises(ValueError, match="must be >= 0"):
        ttc_fast._C.break_even_grid(spec._shape(), "kaplan", 1e9, 0.0, True, *arrays)
    with pytest.raises(ValueError, match="k must be >= 1"):
        ttc_fast._C.inference_flops_grid(spec._shape(), "kaplan", np.array([1.0]), np.array([1.0]),
                                         np.array([0.0]), True)
