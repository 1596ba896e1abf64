// Sampling thresholds without a full vocabulary sort, for CPU sample_tokens (pure C++17; no pybind11 / torch).
//
// Per row b of z (float32 [B, V], temperature-scaled) with k[b] (top-k), p[b] (top-p), lmp[b] = log(min_p),
// thr[b] is the value _thresholds_ref (ttc_fast/ops/sampling.py) computes by sorting:
//   m = max z; thr_k = the k-th largest z (the smallest z when k <= 0 or k >= V);
//   top-p (p < 1) on the top-k-restricted distribution, masses e_j = exp(z_j - m) (float32, summed in double as
//     torch's CPU cumsum does): thr_p = the largest value v with fl(mass{z_j >= max(v, thr_k)}) >= fl(p * fl(total)),
//     total = mass{z_j >= thr_k}; thr_p = thr_k when p >= 1;
//   thr = max(thr_k, thr_p, m + lmp) with torch.maximum's NaN propagation.
// Special rows, as the reference: a NaN anywhere gives NaN (torch.sort puts NaN first, so m = NaN); m = +inf gives
// m + lmp (+inf, or NaN when min-p is off); m = -inf (every z -inf) gives -inf. Rows without top-k and top-p take
// max(min z, m + lmp) with no selection at all.
//
// Selection: top-k by std::nth_element (on the values above a sampled cut, else on a copy of the row); top-p by a
// per-bin mass histogram, then an exact quickselect on (z, e) pairs of the kept tokens that accumulates the mass of
// the part above each pivot (expected O(kept tokens)). The only departure from the reference is the order of the
// double-precision sum (sorted order there) and the exp (a vectorised Cephes polynomial, std::exp below -87, instead
// of torch's; both within about an ulp): thr_p can differ only when the cumulative mass at the boundary rounds
// within an ulp of the target.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <vector>

#include "parallel.h"
#include "philox.h"  // TTC_FAST_PHILOX_CLONES

namespace ttc_fast {

namespace thr_detail {

struct Scratch {
  std::vector<float> zc;  // candidate values
  std::vector<float> ec;  // their masses
};

// torch.maximum semantics on floats: NaN if either is NaN.
inline float tmax(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<float>::quiet_NaN();
  return a > b ? a : b;
}

// The largest value v among zc[0..n) with fl(above + mass{zc >= v}) >= target (float compare after rounding the
// double sum to float32, as the reference compares its float32 cumsum); the smallest candidate if never reached
// (rounding of a differently ordered sum; the reference clamps to its last position likewise).
inline float top_p_select(float* zc, float* ec, int64_t n, float target, double above) {
  int64_t lo = 0, hi = n;  // live candidates [lo, hi)
  uint64_t rng = 0x9E3779B97F4A7C15ull;
  float last = zc[0];
  while (hi > lo) {
    // pivot: median of three pseudo-random candidates
    auto pick = [&]() {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      return lo + static_cast<int64_t>((rng >> 33) % static_cast<uint64_t>(hi - lo));
    };
    float a = zc[pick()], b = zc[pick()], c = zc[pick()];
    const float x = std::max(std::min(a, b), std::min(std::max(a, b), c));
    // three-way partition of [lo, hi): G = (> x) first, then E = (== x), then L = (< x)
    int64_t g = lo, i = lo, l = hi;  // [lo, g): G, [g, i): E, [i, l): unseen, [l, hi): L
    double mg = 0.0, me = 0.0;
    while (i < l) {
      const float v = zc[i];
      if (v > x) {
        mg += ec[i];
        std::swap(zc[i], zc[g]);
        std::swap(ec[i], ec[g]);
        ++g;
        ++i;
      } else if (v == x) {
        me += ec[i];
        ++i;
      } else {
        --l;
        std::swap(zc[i], zc[l]);
        std::swap(ec[i], ec[l]);
      }
    }
    last = x;
    if (g > lo && static_cast<float>(above + mg) >= target) {
      hi = g;  // the answer is above x
    } else if (static_cast<float>(above + mg + me) >= target) {
      return x;
    } else {
      above += mg + me;
      lo = l;  // below x
    }
  }
  return last;
}

// exp(x) for x <= 0 (Cephes expf polynomial, within ~1 ulp; std::exp below -87 where 2^n leaves the normal range);
// vectorises (no libm call in the main loop). out[i] = exp(in[i] - m) for i < n.
TTC_FAST_PHILOX_CLONES inline void exp_shifted(const float* in, float m, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    float x = in[i] - m;
    x = x < -87.0f ? -87.0f : x;  // (NaN-free here; -inf clamps too)
    const float t = x * 1.44269504088896341f + 12582912.0f;
    const float fn = t - 12582912.0f;  // round(x / ln 2)
    const float r = (x - fn * 0.693359375f) - fn * (-2.12194440e-4f);
    float y = 1.9875691500E-4f;
    y = y * r + 1.3981999507E-3f;
    y = y * r + 8.3334519073E-3f;
    y = y * r + 4.1665795894E-2f;
    y = y * r + 1.6666665459E-1f;
    y = y * r + 5.0000001201E-1f;
    y = y * (r * r) + r + 1.0f;
    const int32_t bits = (static_cast<int32_t>(fn) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    out[i] = y * scale;
  }
  for (int64_t i = 0; i < n; ++i)
    if (in[i] - m < -87.0f) out[i] = std::exp(in[i] - m);
}

// max, min and whether a NaN occurs, lane-wise (vectorises).
TTC_FAST_PHILOX_CLONES inline void row_scan(const float* zr, int64_t V, float& m_out, float& mn_out, bool& nan_out) {
  constexpr int64_t L = 16;
  float mx[L], mn[L];
  int32_t nn[L];
  for (int64_t j = 0; j < L; ++j) mx[j] = mn[j] = zr[0], nn[j] = 0;
  int64_t i = 0;
  for (; i + L <= V; i += L)
    for (int64_t j = 0; j < L; ++j) {
      const float v = zr[i + j];
      nn[j] |= (v != v);
      mx[j] = v > mx[j] ? v : mx[j];
      mn[j] = v < mn[j] ? v : mn[j];
    }
  float M = zr[0], N = zr[0];
  int32_t any = 0;
  for (; i < V; ++i) {
    const float v = zr[i];
    any |= (v != v);
    M = v > M ? v : M;
    N = v < N ? v : N;
  }
  for (int64_t j = 0; j < L; ++j) {
    any |= nn[j];
    M = mx[j] > M ? mx[j] : M;
    N = mn[j] < N ? mn[j] : N;
  }
  m_out = M, mn_out = N, nan_out = any != 0;
}

// Compacts the values >= t of zr[0..V) into out (in index order); returns their count.
inline int64_t compact_ge(const float* zr, int64_t V, float t, float* out) {
  int64_t n = 0;
  for (int64_t i = 0; i < V; ++i) {
    out[n] = zr[i];
    n += zr[i] >= t;
  }
  return n;
}

// The k-th largest of zr[0..V) (1 < k < V): a strided sample gives a value t just below it with high
// probability, the values >= t are compacted and nth_element'ed; a full nth_element on a copy otherwise.
inline float kth_largest(const float* zr, int64_t V, int64_t k, Scratch& s) {
  constexpr int64_t S = 1024;
  s.zc.resize(V);
  if (V >= 8 * S && k * 8 <= V) {
    float sample[S];
    for (int64_t j = 0; j < S; ++j) sample[j] = zr[j * V / S];
    const int64_t r = std::min<int64_t>(S - 1, (k * S) / V + (k * S) / (2 * V) + 16);
    std::nth_element(sample, sample + r, sample + S, std::greater<float>());
    const int64_t n = compact_ge(zr, V, sample[r], s.zc.data());
    if (n >= k) {
      std::nth_element(s.zc.begin(), s.zc.begin() + (k - 1), s.zc.begin() + n, std::greater<float>());
      return s.zc[k - 1];
    }
  }
  std::copy(zr, zr + V, s.zc.begin());
  std::nth_element(s.zc.begin(), s.zc.begin() + (k - 1), s.zc.end(), std::greater<float>());
  return s.zc[k - 1];
}

// thr_p for a finite-max row: masses of the kept values (>= thr_k), total in double; small kept sets go straight to
// the quickselect; large ones are first binned by (m - z) (bins ordered by value, ties in one bin) with their
// masses summed per bin, and only the bin where the cumulative mass reaches the target is selected in.
inline float top_p_threshold(const float* zr, int64_t V, float m, float thr_k, float p, Scratch& s) {
  s.zc.resize(V);
  s.ec.resize(V);
  const int64_t n = compact_ge(zr, V, thr_k, s.zc.data());
  exp_shifted(s.zc.data(), m, n, s.ec.data());
  constexpr int64_t L = 8;
  double acc[L] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int64_t j = 0; j < L; ++j) acc[j] += s.ec[i + j];
  double total = 0.0;
  for (; i < n; ++i) total += s.ec[i];
  for (int64_t j = 0; j < L; ++j) total += acc[j];
  const float target = p * static_cast<float>(total);
  constexpr int64_t kDirect = 2048, NB = 1024;
  if (n <= kDirect) return top_p_select(s.zc.data(), s.ec.data(), n, target, 0.0);
  const float range = std::min(m - thr_k, 64.0f);
  if (!(range > 0.0f)) return m;  // every kept value equals m
  const float inv_w = static_cast<float>(NB) / range;
  double hist[NB];
  std::fill(hist, hist + NB, 0.0);
  auto bin = [&](float v) {
    const float t = std::min((m - v) * inv_w, static_cast<float>(NB - 1));
    return static_cast<int32_t>(t);
  };
  for (int64_t j = 0; j < n; ++j) hist[bin(s.zc[j])] += s.ec[j];
  double above = 0.0;
  int32_t jb = 0;
  for (; jb < NB - 1; ++jb) {
    if (static_cast<float>(above + hist[jb]) >= target) break;
    above += hist[jb];
  }
  int64_t c = 0;
  for (int64_t j = 0; j < n; ++j) {
    s.zc[c] = s.zc[j];
    s.ec[c] = s.ec[j];
    c += bin(s.zc[j]) == jb;
  }
  if (c == 0) return thr_k;  // unreachable: the bin holds mass
  return top_p_select(s.zc.data(), s.ec.data(), c, target, above);
}

inline float row_threshold(const float* zr, int64_t V, int64_t k, float p, float lmp, Scratch& s) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  float m, mn;
  bool has_nan;
  row_scan(zr, V, m, mn, has_nan);
  if (has_nan) return nan;
  const float thr_min = m + lmp;
  const bool topk = k > 0 && k < V, topp = p < 1.0f;
  if (!topk && !topp) return tmax(mn, thr_min);
  if (!std::isfinite(m)) return tmax(topk ? m : mn, thr_min);  // +inf: thr_min decides; -inf: all -inf
  const float thr_k = !topk ? mn : k == 1 ? m : kth_largest(zr, V, k, s);
  const float thr_p = topp ? top_p_threshold(zr, V, m, thr_k, p, s) : thr_k;
  return tmax(tmax(thr_k, thr_p), thr_min);
}
}  // namespace thr_detail

// thr[b] for b < B (see the header comment); z: [B, V] row-major float32; k: int64 [B]; p, lmp: float32 [B].
inline void sample_thresholds(const float* z, const int64_t* k, const float* p, const float* lmp, int64_t B,
                              int64_t V, float* thr, int num_threads = 0) {
  if (B < 0 || V <= 0) throw std::invalid_argument("sample_thresholds: need B >= 0 and V >= 1");
  parallel_for(
      B, num_threads,
      [&](int64_t begin, int64_t end) {
        thr_detail::Scratch s;
        for (int64_t b = begin; b < end; ++b) poll_interrupt(), thr[b] = thr_detail::row_threshold(z + b * V, V, k[b], p[b], lmp[b], s);
      },
      /*min_chunk=*/1);
}

}  // namespace ttc_fast
