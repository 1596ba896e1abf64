// Fused Gumbel-max draw for CPU sample_tokens (pure C++17; no pybind11 / torch).
//
// Per row b of z (float32 [B, V], already temperature-scaled) with threshold thr[b]:
//   token = argmax over kept i (z_i >= thr, so NaN z is never kept) of  z_i - log(-log(u_i)),
//   u_i = tl.rand(seeds[b], offsets[b] * V + i)  (philox.h),
// over the kept tokens only: the first kept index among exact ties (a score of -inf, from u_i = 0, ties too),
// the first NaN score wins as in torch.argmax (a NaN score needs z_i = +inf and u_i = 0), and a row with no kept
// token (a NaN threshold, a row of NaN) gives -1. These are exactly the semantics of _sample_torch in
// ttc_fast/ops/sampling.py (score masked_fill'ed to -inf where z < thr, torch.argmax, the first kept token where
// the best score is -inf, -1 where nothing is kept), without materialising [B, V] uniforms or scores.
//
// Float math per element is torch's: u (Philox float), a = -log(u), g = log(a), score = z - g, all float32.
// The log is std::log (glibc logf). torch's CPU log (MKL vmsLn on MKL builds) differs from it by 1 ulp on ~5% of
// the values: that can flip a token only where the two best scores of a row are within an ulp (a near-tie, the
// same caveat as the GPU kernel's libdevice log); none of 120,192 test rows differed.
//
// Exact pruning, two stages. (1) u <= U_MAX = fl(2^31 * 4.6566127342e-10) < 1 (the largest Philox float), so
// g >= G_MIN = log(-log(U_MAX)) and score_i <= fl(z_i - G_MIN) (float subtraction is monotone): a token whose bound is
// below a drawn score cannot win or tie, and gets no uniform. (2) For the rest the Philox integer s is drawn and a
// 4096-entry table of per-bucket lower bounds of g (GumbelBounds) gives score_i <= fl(z_i - g_lo[s >> 19]) without
// a log: on near-flat rows almost every token falls there (only u within ~2^-12 of 1 can push a token near the
// top), so logs are taken for a handful of tokens per row. The drawn score starts as that of the first maximal
// kept token and rises to the running best. Candidates are compacted branch-free in index order (ties keep the
// first index) and drawn lane-parallel (vectorised Philox on gathered counters).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "parallel.h"
#include "philox.h"

namespace ttc_fast {

// Batch natural log: out[i] = std::log(in[i]) for i < n (in place allowed).
struct BatchLog {
  void operator()(int n, const float* in, float* out) const {
    for (int i = 0; i < n; ++i) out[i] = std::log(in[i]);
  }
};

// The largest Philox uniform: s = 2^31 - 1 converts to the float 2^31 (uint32_to_uniform), times the constant.
constexpr float kPhiloxUniformMax = 2147483648.0f * 4.6566127342e-10f;

// G_MIN = log(-log(U_MAX)) with the given log: the smallest Gumbel term g (so -G_MIN bounds the noise -g).
inline float gumbel_g_min(const BatchLog& log_fn) {
  float u = kPhiloxUniformMax, a, g;
  log_fn(1, &u, &a);
  a = -a;
  log_fn(1, &a, &g);
  return g;
}

// Philox integer -> the non-negative int32 s of uint32_to_uniform (u = float(s) * 4.6566127342e-10f).
inline int32_t philox_s(uint32_t x) {
  int32_t s = static_cast<int32_t>(x);
  return s < 0 ? -s - 1 : s;
}

// out[j] = philox_s(first Philox word for seed words (k0, k1), counter base + idx[j]) for j < n (counters modulo
// 2^64): the rounds of philox_uniform_fill on gathered counters (lane-parallel, vectorised).
TTC_FAST_PHILOX_CLONES inline void philox_s_gather(uint64_t base, const int64_t* idx, int64_t n, uint32_t k0_in,
                                                   uint32_t k1_in, int32_t* out) {
  constexpr int64_t L = 64;
  alignas(64) uint32_t c0[L], c1[L], c2[L], c3[L];
  for (int64_t s = 0; s < n; s += L) {
    const int64_t m = std::min(L, n - s);
    for (int64_t j = 0; j < L; ++j) {
      const uint64_t o = base + static_cast<uint64_t>(idx[s + (j < m ? j : 0)]);
      c0[j] = static_cast<uint32_t>(o);
      c1[j] = static_cast<uint32_t>(o >> 32);
      c2[j] = 0;
      c3[j] = 0;
    }
    philox_rounds<L>(c0, c1, c2, c3, k0_in, k1_in);
    for (int64_t j = 0; j < m; ++j) out[s + j] = philox_s(c0[j]);
  }
}

// Bounds on the Gumbel term g = log(-log(u)) (non-increasing in u, u non-decreasing in s):
//   g_min: g at U_MAX with the given log (exact; tests check it is the minimum over every reachable u);
//   g_lo[k]: a lower bound of g over the bucket s in [k << kShift, (k + 1) << kShift): g at the bucket's largest u
//     with 2 ulps of slack after each log (valid for any log within 1 ulp, monotone or not; tests check it
//     exhaustively too). A drawn s then bounds the score z - g <= fl(z - g_lo[s >> kShift]) without any log.
struct GumbelBounds {
  static constexpr int kBits = 12, kShift = 31 - kBits;
  float g_min;
  float g_lo[1 << kBits];
  explicit GumbelBounds(const BatchLog& log_fn) {
    constexpr int K = 1 << kBits;
    g_min = gumbel_g_min(log_fn);
    std::vector<float> a(K);
    for (int k = 0; k < K; ++k)
      a[k] = static_cast<float>((static_cast<int64_t>(k + 1) << kShift) - 1) * 4.6566127342e-10f;
    log_fn(K, a.data(), a.data());
    for (int k = 0; k < K; ++k) {
      const float x = -a[k];  // > 0
      a[k] = std::nextafter(std::nextafter(x, 0.0f), 0.0f);
    }
    log_fn(K, a.data(), g_lo);
    const float ninf = -std::numeric_limits<float>::infinity();
    for (int k = 0; k < K; ++k) g_lo[k] = std::nextafter(std::nextafter(g_lo[k], ninf), ninf);
  }
};

namespace sample_detail {
constexpr int64_t kCap1 = 256;           // stage-1 candidates (Philox) per batch
constexpr int64_t kCap2 = 4 * kCap1;     // stage-2 candidates (logs) buffered

// Argmax over the pushed (kept) candidates with torch.argmax semantics (the smallest index among maximal scores,
// -inf included; NaN above everything, the smallest NaN index first) whatever order they come in; idx = -1 until
// the first push.
struct ArgMax {
  float best = -std::numeric_limits<float>::infinity();
  int64_t idx = -1;
  void push(float s, int64_t i) {
    const bool sn = std::isnan(s), bn = std::isnan(best);
    const bool take = idx < 0 || (sn ? (!bn || i < idx) : (!bn && (s > best || (s == best && i < idx))));
    if (take) {
      best = s;
      idx = i;
    }
  }
};

struct RowScratch {
  int64_t idx1[kCap1];
  int32_t s1[kCap1];
  int64_t idx2[kCap2];
  alignas(64) float u2[kCap2];
};

// Exact scores of the buffered stage-2 candidates (index order) into am: g = log(-log(u)), score = z - g.
inline void flush_exact(const float* zr, RowScratch& w, int64_t& n2, const BatchLog& log_fn, ArgMax& am) {
  float* buf = w.u2;
  log_fn(static_cast<int>(n2), buf, buf);  // log(u)
  for (int64_t j = 0; j < n2; ++j) buf[j] = -buf[j];
  log_fn(static_cast<int>(n2), buf, buf);  // g
  for (int64_t j = 0; j < n2; ++j) am.push(zr[w.idx2[j]] - buf[j], w.idx2[j]);
  n2 = 0;
}
}  // namespace sample_detail

constexpr int64_t kBlock = 64;  // tokens per dense block

// Stage-1 candidates among z[0..kBlock): kept and fl(z - g_min) >= cut (NaN bound: kept as candidate).
TTC_FAST_PHILOX_CLONES inline int block_count(const float* z, float thr, float g_min, float cut) {
  int cnt = 0;
  for (int64_t j = 0; j < kBlock; ++j) cnt += (z[j] >= thr) & !((z[j] - g_min) < cut);
  return cnt;
}

// A dense block of kBlock tokens (counters counter + j): Philox s for every lane and the stage-2 test
// pass[j] = kept and fl(z - g_lo[s >> kShift]) >= cut; returns the number of passing lanes.
TTC_FAST_PHILOX_CLONES inline int dense_block(const float* z, uint64_t counter, uint32_t k0_in, uint32_t k1_in,
                                              float thr, const float* g_lo, float cut, int32_t* s_out,
                                              uint8_t* pass) {
  constexpr int64_t L = kBlock;
  alignas(64) uint32_t c0[L], c1[L], c2[L], c3[L];
  for (int64_t j = 0; j < L; ++j) {
    const uint64_t o = counter + static_cast<uint64_t>(j);
    c0[j] = static_cast<uint32_t>(o);
    c1[j] = static_cast<uint32_t>(o >> 32);
    c2[j] = 0;
    c3[j] = 0;
  }
  philox_rounds<L>(c0, c1, c2, c3, k0_in, k1_in);
  int cnt = 0;
  for (int64_t j = 0; j < L; ++j) {
    const int32_t sj = philox_s(c0[j]);
    s_out[j] = sj;
    const int p = (z[j] >= thr) & !((z[j] - g_lo[sj >> GumbelBounds::kShift]) < cut);
    pass[j] = static_cast<uint8_t>(p);
    cnt += p;
  }
  return cnt;
}

// The largest kept value max{z_i : z_i >= thr} of a row, NaN when nothing is kept. Lane-wise partial maxima
// (vectorisable without -ffast-math); the result is one of the kept values (any one of equal +0/-0).
TTC_FAST_PHILOX_CLONES inline float kept_max(const float* zr, int64_t V, float thr) {
  constexpr int64_t L = 16;
  const float ninf = -std::numeric_limits<float>::infinity();
  float acc[L];
  int32_t cnt[L];
  for (int64_t j = 0; j < L; ++j) acc[j] = ninf, cnt[j] = 0;
  int64_t i = 0;
  for (; i + L <= V; i += L)
    for (int64_t j = 0; j < L; ++j) {
      const float v = zr[i + j];
      const bool keep = v >= thr;
      cnt[j] |= keep;
      acc[j] = (keep && v > acc[j]) ? v : acc[j];
    }
  float m = ninf;
  int32_t any = 0;
  for (; i < V; ++i) {
    const float v = zr[i];
    const bool keep = v >= thr;
    any |= keep;
    m = (keep && v > m) ? v : m;
  }
  for (int64_t j = 0; j < L; ++j) {
    any |= cnt[j];
    m = acc[j] > m ? acc[j] : m;
  }
  return any ? m : std::numeric_limits<float>::quiet_NaN();
}

// One row: see the header comment. Stage 1 keeps tokens with fl(z - g_min) >= cut (no Philox for the rest);
// stage 2 draws their Philox integers s and keeps those with fl(z - g_lo[s >> kShift]) >= cut (no log for the rest);
// survivors get the exact score (the argmax is order-free). cut is a drawn score (first the first maximal kept
// token's, then the running best), so a dropped token scores strictly below the winner. NaN bounds never drop a
// token. prune=false: cut stays -inf and every kept token gets its exact score (the unpruned path, for tests).
inline int64_t gumbel_argmax_row(const float* zr, int64_t V, float thr, int64_t seed, int64_t offset,
                                 const BatchLog& log_fn, const GumbelBounds& gb, bool prune,
                                 sample_detail::RowScratch& w) {
  using namespace sample_detail;
  constexpr float C = 4.6566127342e-10f;
  const float ninf = -std::numeric_limits<float>::infinity();
  const uint64_t sd = static_cast<uint64_t>(seed);
  const uint32_t k0 = static_cast<uint32_t>(sd), k1 = static_cast<uint32_t>(sd >> 32);
  const uint64_t base = static_cast<uint64_t>(offset) * static_cast<uint64_t>(V);
  const float g_min = gb.g_min;
  ArgMax am;
  float cut = ninf;
  int64_t n1 = 0, n2 = 0;
  if (prune) {
    const float m = kept_max(zr, V, thr);
    if (std::isnan(m)) return -1;  // nothing kept: no distribution
    if (std::isfinite(m)) {
      int64_t j = 0;
      while (!(zr[j] == m && zr[j] >= thr)) ++j;  // the first kept maximal token
      w.idx1[0] = j;
      philox_s_gather(base, w.idx1, 1, k0, k1, w.s1);
      w.idx2[0] = j;
      w.u2[0] = static_cast<float>(w.s1[0]) * C;
      n2 = 1;
      ArgMax first;
      flush_exact(zr, w, n2, log_fn, first);
      cut = first.best;  // a real score, so the winner's is >= cut; -inf when u_j = 0 (then nothing is pruned)
    }
    // m = +inf (scores may be +inf or NaN) or m = -inf (every score -inf): no pruning
  }
  auto stage2 = [&]() {
    if (n2 + n1 > kCap2) {
      flush_exact(zr, w, n2, log_fn, am);
      if (prune && am.best > cut) cut = am.best;
    }
    philox_s_gather(base, w.idx1, n1, k0, k1, w.s1);
    for (int64_t j = 0; j < n1; ++j) {
      const int32_t s = w.s1[j];
      const int64_t i = w.idx1[j];
      w.idx2[n2] = i;
      w.u2[n2] = static_cast<float>(s) * C;
      n2 += !((zr[i] - gb.g_lo[s >> GumbelBounds::kShift]) < cut);
    }
    n1 = 0;
    if (n2 > kCap2 - kCap1) {
      flush_exact(zr, w, n2, log_fn, am);
      if (prune && am.best > cut) cut = am.best;  // tighter: a later token must beat the running best
    }
  };
  alignas(64) int32_t sb[kBlock];
  alignas(64) uint8_t pass[kBlock];
  int64_t i0 = 0;
  for (; i0 + kBlock <= V; i0 += kBlock) {
    const float* zb = zr + i0;
    const int cnt = block_count(zb, thr, g_min, cut);
    if (cnt == 0) continue;  // long tails: most blocks end here, without a uniform
    if (2 * cnt < kBlock) {  // sparse: compact the candidates, Philox on gathered counters later
      for (int64_t j = 0; j < kBlock; ++j) {
        w.idx1[n1] = i0 + j;
        n1 += (zb[j] >= thr) & !((zb[j] - g_min) < cut);
      }
      if (n1 > kCap1 - kBlock) stage2();
      continue;
    }
    // dense (near-flat rows): Philox for the whole block, the stage-2 test vectorised, logs for survivors only
    if (dense_block(zb, base + static_cast<uint64_t>(i0), k0, k1, thr, gb.g_lo, cut, sb, pass) == 0) continue;
    if (n2 > kCap2 - kBlock) {
      flush_exact(zr, w, n2, log_fn, am);
      if (prune && am.best > cut) cut = am.best;
    }
    for (int64_t j = 0; j < kBlock; ++j) {
      w.idx2[n2] = i0 + j;
      w.u2[n2] = static_cast<float>(sb[j]) * C;
      n2 += pass[j];
    }
  }
  for (int64_t i = i0; i < V; ++i) {  // the tail, compacted
    const float v = zr[i];
    w.idx1[n1] = i;
    n1 += (v >= thr) & !((v - g_min) < cut);
  }
  stage2();
  flush_exact(zr, w, n2, log_fn, am);
  return am.idx;  // -1 when nothing was kept (no candidate pushed)
}

// tokens[b] for b < B (see the header comment); z: [B, V] row-major float32; thr, seeds, offsets: [B].
inline void gumbel_argmax_rows(const float* z, const float* thr, const int64_t* seeds, const int64_t* offsets,
                               int64_t B, int64_t V, int64_t* tokens, const BatchLog& log_fn, bool prune = true,
                               int num_threads = 0) {
  if (B < 0 || V <= 0) throw std::invalid_argument("gumbel_argmax_rows: need B >= 0 and V >= 1");
  if (B == 0) return;
  const GumbelBounds gb(log_fn);
  parallel_for(
      B, num_threads,
      [&](int64_t begin, int64_t end) {
        sample_detail::RowScratch w;
        for (int64_t b = begin; b < end; ++b)
          poll_interrupt(), tokens[b] = gumbel_argmax_row(z + b * V, V, thr[b], seeds[b], offsets[b], log_fn, gb, prune, w);
      },
      /*min_chunk=*/1);
}

// The stage-2 bound table (tests check it against every reachable uniform).
inline void gumbel_g_lo_table(const BatchLog& log_fn, float* out) {
  const GumbelBounds gb(log_fn);
  std::copy(gb.g_lo, gb.g_lo + (1 << GumbelBounds::kBits), out);
}

}  // namespace ttc_fast
