// FLOP accounting for decoder-only transformers: training, one forward pass, and inference with K
// samples that share a prompt, under five named conventions; the break-even point of the
// TTC-aware early-stopping trade. Pure C++17 (no pybind11 / torch).
//
// Units: FLOPs, with one multiply-add = 2 FLOPs everywhere; lengths and token counts in tokens.
//
// Every convention reduces to four per-token forward coefficients (FlopTerms):
//   linear  weight matmuls per token (or 2 x the parameters the convention names), no embedding/logits
//   logits  unembedding per token, 2 * d_model * vocab (0 where the convention leaves it out)
//   embed   embedding per token (Chinchilla only: 2 * d_model * vocab)
//   attn    cost of one (query, key) pair summed over layers: QK^T + AV = 4 * L * H * head_dim
//           (+ softmax 3 * L * H for Chinchilla)
// and one flag `causal`: whether a full-sequence forward halves the S^2 term (causal mask) or not.
//
//   forward(S)   = S * (linear + embed + logits) + attn * S^2 * (causal ? 1/2 : 1)
//   training(D)  = 3 * forward(S) / S * D          (backward = 2 x forward; kaplan without S: 6N * D)
//   prefill(P)   = P * (linear + embed) + attn * P^2 * (causal ? 1/2 : 1)     (builds the KV cache)
//   decode(P, T) = T * (linear + embed + logits) + attn * sum_{t=P}^{P+T-1} t
//                = T * (linear + embed + logits) + attn * T * (2P + T - 1) / 2
//     (a decoded token at position t attends to all t cached keys: no causal halving; GQA does not
//      reduce it; each of the T generated tokens pays its logits)
//   inference(P, T, K) = prefill + K * decode        (shared prefix: the prompt is prefilled once)
//                      = K * (prefill + decode)      (no sharing: K independent copies)
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "parallel.h"

namespace ttc_fast {

enum class Convention { kaplan, palm, chinchilla, megatron, matmul };

inline Convention parse_convention(const std::string& name) {
  if (name == "kaplan") return Convention::kaplan;
  if (name == "palm") return Convention::palm;
  if (name == "chinchilla") return Convention::chinchilla;
  if (name == "megatron") return Convention::megatron;
  if (name == "matmul") return Convention::matmul;
  throw std::invalid_argument("convention must be one of kaplan, palm, chinchilla, megatron, matmul; got '" +
                              name + "'");
}

// The shape facts FLOP formulas need (the Python ModelSpec computes the parameter count).
struct ModelShape {
  int64_t num_layers = 0, d_model = 0, num_heads = 0, num_kv_heads = 0, head_dim = 0, d_ff = 0;
  int64_t vocab_size = 0;
  bool gated_mlp = true;
  int64_t num_experts = 0, experts_per_token = 0, moe_d_ff = 0;
  int64_t moe_layers = 0;          // layers whose MLP is the MoE block (the others are dense, d_ff)
  int64_t shared_expert_d_ff = 0;  // always-on shared expert in MoE layers (0: none)
  // Kaplan's N: active non-embedding parameters (norms and biases included), one token's worth.
  double active_non_embedding_params = 0.0;
};

struct FlopTerms {
  double linear = 0.0, logits = 0.0, embed = 0.0, attn = 0.0;
  bool causal = false;
};

inline void validate(const ModelShape& s) {
  auto pos = [](int64_t v, const char* name) {
    if (v < 1) throw std::invalid_argument(std::string(name) + " must be >= 1, got " + std::to_string(v));
  };
  pos(s.num_layers, "num_layers");
  pos(s.d_model, "d_model");
  pos(s.num_heads, "num_heads");
  pos(s.num_kv_heads, "num_kv_heads");
  pos(s.head_dim, "head_dim");
  pos(s.vocab_size, "vocab_size");
  if (s.d_ff < 0 || s.num_experts < 0 || s.moe_d_ff < 0 || s.shared_expert_d_ff < 0)
    throw std::invalid_argument("d_ff, num_experts, moe_d_ff, shared_expert_d_ff must be >= 0");
  if (s.num_experts > 0 && (s.experts_per_token < 1 || s.experts_per_token > s.num_experts))
    throw std::invalid_argument("experts_per_token must be in [1, num_experts], got " +
                                std::to_string(s.experts_per_token));
  if (s.moe_layers < 0 || s.moe_layers > s.num_layers)
    throw std::invalid_argument("moe_layers must be in [0, num_layers], got " + std::to_string(s.moe_layers));
}

// Weight-matmul FLOPs per token (2 per multiply-add), active experts only, router included; no
// embedding lookup and no unembedding.
inline double linear_matmul_flops_per_token(const ModelShape& s) {
  const double d = double(s.d_model);
  const double q = double(s.num_heads) * s.head_dim, kv = double(s.num_kv_heads) * s.head_dim;
  const double mlp_mats = s.gated_mlp ? 3.0 : 2.0;
  const double attn = 2.0 * d * (q + 2.0 * kv) + 2.0 * q * d;  // QKV + output projection
  const double dense = 2.0 * mlp_mats * d * s.d_ff;
  double moe = 0.0;
  if (s.moe_layers > 0) {
    moe = 2.0 * d * s.num_experts                                           // router
          + 2.0 * mlp_mats * d * double(s.moe_d_ff) * s.experts_per_token;  // routed experts
    if (s.shared_expert_d_ff > 0) moe += 2.0 * mlp_mats * d * s.shared_expert_d_ff + 2.0 * d;  // + its gate
  }
  return s.num_layers * attn + double(s.num_layers - s.moe_layers) * dense + double(s.moe_layers) * moe;
}

inline FlopTerms flop_terms(const ModelShape& s, Convention c) {
  validate(s);
  const double L = double(s.num_layers), H = double(s.num_heads), hd = double(s.head_dim);
  const double unembed = 2.0 * double(s.d_model) * double(s.vocab_size);
  FlopTerms t;
  t.attn = 4.0 * L * H * hd;  // QK^T and AV, per (query, key) pair
  switch (c) {
    case Convention::kaplan:  // C_fwd = 2N + 2 L n_ctx d_attn (the causal average)
      t.linear = 2.0 * s.active_non_embedding_params;
      t.causal = true;
      break;
    case Convention::palm:  // 6N + 12 L H Q T for training = 3 x (2N + 4 L H Q T)
      t.linear = 2.0 * s.active_non_embedding_params;
      t.causal = false;
      break;
    case Convention::chinchilla:  // Hoffmann et al. 2022, App. F; softmax 3 FLOPs per score
      t.linear = linear_matmul_flops_per_token(s);
      t.logits = unembed;
      t.embed = unembed;
      t.attn += 3.0 * L * H;
      t.causal = false;
      break;
    case Convention::megatron:  // exact matmuls, causal attention halved
      t.linear = linear_matmul_flops_per_token(s);
      t.logits = unembed;
      t.causal = true;
      break;
    case Convention::matmul:  // torch FlopCounterMode on an eager-attention model
      t.linear = linear_matmul_flops_per_token(s);
      t.logits = unembed;
      t.causal = false;
      break;
  }
  return t;
}

inline void check_nonneg(double v, const char* name) {
  if (!(v >= 0.0) || !std::isfinite(v))
    throw std::invalid_argument(std::string(name) + " must be finite and >= 0, got " + std::to_string(v));
}

// One forward pass over `seq_len` tokens with logits at every position.
inline double forward_flops(const FlopTerms& t, double seq_len) {
  check_nonneg(seq_len, "seq_len");
  const double pairs = seq_len * seq_len * (t.causal ? 0.5 : 1.0);
  return seq_len * (t.linear + t.embed + t.logits) + t.attn * pairs;
}

// Training FLOPs for `tokens` tokens in sequences of `seq_len` (forward + 2x backward).
// seq_len <= 0 means "no attention term" (Kaplan's 6N D); other conventions need seq_len > 0.
inline double training_flops(const FlopTerms& t, Convention c, double tokens, double seq_len) {
  check_nonneg(tokens, "tokens");
  if (seq_len <= 0.0) {
    if (c != Convention::kaplan)
      throw std::invalid_argument("seq_len is required (> 0) for every convention but kaplan");
    return 3.0 * t.linear * tokens;
  }
  return 3.0 * forward_flops(t, seq_len) / seq_len * tokens;
}

// Prefill of a P-token prompt: builds the KV cache; no logits.
inline double prefill_flops(const FlopTerms& t, double prompt_len) {
  check_nonneg(prompt_len, "prompt_len");
  const double pairs = prompt_len * prompt_len * (t.causal ? 0.5 : 1.0);
  return prompt_len * (t.linear + t.embed) + t.attn * pairs;
}

// One sample's T decode steps after a P-token context (position t attends to t cached keys).
inline double decode_flops(const FlopTerms& t, double prompt_len, double gen_len) {
  check_nonneg(prompt_len, "prompt_len");
  check_nonneg(gen_len, "gen_len");
  return gen_len * (t.linear + t.embed + t.logits) + t.attn * gen_len * (2.0 * prompt_len + gen_len - 1.0) * 0.5;
}

inline double inference_flops(const FlopTerms& t, double prompt_len, double gen_len, double k, bool shared) {
  if (!(k >= 1.0)) throw std::invalid_argument("k must be >= 1, got " + std::to_string(k));
  const double pre = prefill_flops(t, prompt_len), dec = decode_flops(t, prompt_len, gen_len);
  return shared ? pre + k * dec : k * (pre + dec);
}

// KV-cache bytes for `tokens` cached tokens: K and V, every layer, kv heads only.
inline double kv_cache_bytes(const ModelShape& s, double tokens, double bytes_per_elem) {
  check_nonneg(tokens, "tokens");
  return 2.0 * s.num_layers * double(s.num_kv_heads) * s.head_dim * bytes_per_elem * tokens;
}

// The source paper's closed form: samples served before the saved training compute is used up,
// N_infer = train_to_infer * (1 - r) * D_train / ((lam - 1) * L_out).
inline double paper_break_even(double r, double lam, double train_tokens, double out_len, double train_to_infer) {
  if (!(r >= 0.0 && r <= 1.0)) throw std::invalid_argument("r must be in [0, 1], got " + std::to_string(r));
  if (!(lam > 1.0)) throw std::invalid_argument("lam must be > 1, got " + std::to_string(lam));
  if (!(out_len > 0.0)) throw std::invalid_argument("out_len must be > 0, got " + std::to_string(out_len));
  if (!(train_to_infer > 0.0))
    throw std::invalid_argument("train_to_infer must be > 0, got " + std::to_string(train_to_infer));
  check_nonneg(train_tokens, "train_tokens");
  return train_to_infer * (1.0 - r) * train_tokens / ((lam - 1.0) * out_len);
}

// ---- broadcast grids ----------------------------------------------------------------------------
// An elementwise map over inputs already broadcast to one shape (strides in elements, 0 where an
// input is broadcast), so grids such as checkpoints x K x lengths are never materialised. Rows (all
// dimensions but the last) are split across threads; the last dimension is a tight strided loop.
struct StridedInput {
  const double* data = nullptr;
  std::vector<int64_t> strides;  // one per output dimension, in elements
};

template <size_t NIN, size_t NOUT, class Fn>
void broadcast_map(const std::vector<int64_t>& shape, const std::vector<StridedInput>& inputs,
                   const std::array<double*, NOUT>& outs, int num_threads, Fn&& fn) {
  if (inputs.size() != NIN) throw std::invalid_argument("broadcast_map: wrong number of inputs");
  std::vector<int64_t> full = shape.empty() ? std::vector<int64_t>{1} : shape;  // 0-d: one element
  const int64_t ndim = int64_t(full.size());
  std::array<std::vector<int64_t>, NIN> strides;
  for (size_t i = 0; i < NIN; ++i)
    strides[i] = shape.empty() ? std::vector<int64_t>{0} : inputs[i].strides;
  const int64_t inner = full[ndim - 1];
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < ndim; ++d) rows *= full[d];
  if (rows == 0 || inner == 0) return;
  parallel_for(
      rows, num_threads,
      [&](int64_t row_begin, int64_t row_end) {
        // pointers at row_begin (div/mod once per chunk), then an odometer over the outer dimensions
        std::vector<int64_t> idx(std::max<int64_t>(ndim - 1, 1), 0);
        std::array<const double*, NIN> ptr;
        for (size_t i = 0; i < NIN; ++i) ptr[i] = inputs[i].data;
        int64_t rem = row_begin;
        for (int64_t d = ndim - 2; d >= 0; --d) {
          idx[d] = rem % full[d];
          rem /= full[d];
          for (size_t i = 0; i < NIN; ++i) ptr[i] += idx[d] * strides[i][d];
        }
        for (int64_t row = row_begin; row < row_end; ++row) {
          std::array<int64_t, NIN> step;
          for (size_t i = 0; i < NIN; ++i) step[i] = strides[i][ndim - 1];
          double* o[NOUT];
          for (size_t j = 0; j < NOUT; ++j) o[j] = outs[j] + row * inner;
          double v[NIN];
          double r[NOUT];
          for (int64_t e = 0; e < inner; ++e) {
            if ((e & 65535) == 0) poll_interrupt();
            for (size_t i = 0; i < NIN; ++i) v[i] = ptr[i][e * step[i]];
            fn(v, r);
            for (size_t j = 0; j < NOUT; ++j) o[j][e] = r[j];
          }
          for (int64_t d = ndim - 2; d >= 0; --d) {  // next row
            ++idx[d];
            for (size_t i = 0; i < NIN; ++i) ptr[i] += strides[i][d];
            if (idx[d] < full[d]) break;
            for (size_t i = 0; i < NIN; ++i) ptr[i] -= idx[d] * strides[i][d];
            idx[d] = 0;
          }
        }
      },
      /*min_chunk=*/std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)));
}

// Grid of inference FLOPs: inputs (prompt_len, gen_len, k) broadcast to `shape`.
inline void inference_flops_grid(const FlopTerms& t, bool shared, const std::vector<int64_t>& shape,
                                 const std::vector<StridedInput>& pgk, double* out, int num_threads) {
  broadcast_map<3, 1>(shape, pgk, {out}, num_threads, [&](const double* v, double* r) {
    r[0] = inference_flops(t, v[0], v[1], v[2], shared);
  });
}

// Grid of break-even query counts Q* = [C_train(full) - C_train(ckpt)] / [C_inf(K) - C_inf(1)] and
// the net version charging eval_flops: inputs (checkpoint_tokens, k, prompt_len, gen_len,
// eval_flops) broadcast to `shape`; out_queries and out_net_queries are filled (+-inf when K == 1;
// out_net_queries may be null: then only Q* is written).
// C_inf(K) - C_inf(1) = (K - 1) * decode (shared prefix) or (K - 1) * (prefill + decode).
inline void break_even_grid(const FlopTerms& t, Convention c, double full_tokens, double seq_len, bool shared,
                            const std::vector<int64_t>& shape, const std::vector<StridedInput>& in,
                            double* out_queries, double* out_net_queries, int num_threads) {
  const double per_token = training_flops(t, c, 1.0, seq_len);
  check_nonneg(full_tokens, "full_tokens");
  const double full = per_token * full_tokens;
  const double inf = std::numeric_limits<double>::infinity();
  auto cell = [&](const double* v, double* r) {
    const double ckpt = v[0], k = v[1], p = v[2], g = v[3], eval = v[4];
    if (!(ckpt >= 0.0) || !(k >= 1.0) || !(p >= 0.0) || !(g >= 0.0) || !(eval >= 0.0))
      throw std::invalid_argument("break_even_grid: checkpoint_tokens, prompt_len, gen_len, eval_flops must be "
                                  ">= 0 and k >= 1");
    const double per_query = shared ? decode_flops(t, p, g) : prefill_flops(t, p) + decode_flops(t, p, g);
    const double extra = (k - 1.0) * per_query;
    const double saved = full - per_token * ckpt;
    if (extra > 0.0) {
      const double inv = 1.0 / extra;  // one division per cell
      r[0] = saved * inv;
      r[1] = (saved - eval) * inv;
    } else {
      r[0] = saved >= 0.0 ? inf : -inf;
      r[1] = saved - eval >= 0.0 ? inf : -inf;
    }
  };
  if (out_net_queries == nullptr) {  // eval_flops == 0 everywhere: one output (the grid is memory-bound)
    broadcast_map<5, 1>(shape, in, {out_queries}, num_threads, [&](const double* v, double* r) {
      double both[2];
      cell(v, both);
      r[0] = both[0];
    });
  } else {
    broadcast_map<5, 2>(shape, in, {out_queries, out_net_queries}, num_threads, cell);
  }
}

}  // namespace ttc_fast
