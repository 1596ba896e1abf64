// Exact test-time-compute estimators: pass@k, maj@k, best-of-k (exact, every k) and reward-weighted
// majority (seeded Monte Carlo). Pure C++17, namespace ttc_fast, no pybind11. The math is in
// docs/estimators.md; each function documents its layout. All arrays are row-major.
//
// Every exact estimator is the average over the uniformly random k-subsets of the n samples of one
// problem. Combinatorial weights never form C(n, k) in floating point: they are hypergeometric
// probabilities exp(lC + lC - lC) from a log-factorial table, or multiplicative recurrences of ratios,
// so every intermediate is a probability in [0, 1] and nothing overflows.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "parallel.h"

namespace ttc_fast {

// Size limits that keep tables bounded (pass@k: O(n) memory per distinct pair; maj@k: O(n) tables, ~O(n^2) work).
constexpr int64_t kMaxPassSamples = int64_t{100} * 1000 * 1000;
constexpr int64_t kMaxVoteSamples = int64_t{10} * 1000 * 1000;
// Monte Carlo draws per problem and k of weighted_maj_at_k (its Monte Carlo error is <= 0.5/sqrt(draws)).
constexpr int64_t kMaxDraws = int64_t{10} * 1000 * 1000;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Loader (2000), "Fast and accurate computation of binomial probabilities": the Stirling remainder
// stirlerr(n) = log(n!) - log(sqrt(2 pi n) (n / e)^n) and the deviance bd0(x, m) = x log(x / m) + m - x.
inline double stirlerr(int64_t n) {
  constexpr double S0 = 1.0 / 12, S1 = 1.0 / 360, S2 = 1.0 / 1260, S3 = 1.0 / 1680, S4 = 1.0 / 1188;
  if (n <= 0) return 0.0;
  const double x = static_cast<double>(n);
  if (n <= 15) return std::lgamma(x + 1.0) - (x + 0.5) * std::log(x) + x - 0.91893853320467274178;
  const double x2 = x * x;
  if (n > 500) return (S0 - S1 / x2) / x;
  if (n > 80) return (S0 - (S1 - S2 / x2) / x2) / x;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / x2) / x2) / x2) / x;
  return (S0 - (S1 - (S2 - (S3 - S4 / x2) / x2) / x2) / x2) / x;
}
inline double bd0(double x, double m) {
  if (std::fabs(x - m) < 0.1 * (x + m)) {
    double v = (x - m) / (x + m), sum = (x - m) * v, ej = 2.0 * x * v;
    v *= v;
    for (int j = 1; j < 1000; ++j) {
      ej *= v;
      const double next = sum + ej / (2 * j + 1);
      if (next == sum) return next;
      sum = next;
    }
    return sum;
  }
  return x * std::log(x / m) + m - x;
}
// log of the binomial pmf b(x; n, p) (q = 1 - p given separately, both > 0 here).
inline double log_binom(int64_t x, int64_t n, double p, double q) {
  const double nn = static_cast<double>(n);
  if (x == 0) return n == 0 ? 0.0 : (p < 0.1 ? -bd0(nn, nn * q) - nn * p : nn * std::log(q));
  if (x == n) return q < 0.1 ? -bd0(nn, nn * p) - nn * q : nn * std::log(p);
  const double xx = static_cast<double>(x);
  const double lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(xx, nn * p) - bd0(nn - xx, nn * q);
  return lc - 0.5 * (1.83787706640934548356 + std::log(xx) + std::log1p(-xx / nn));  // 1/sqrt(2 pi x (n-x)/n)
}

// log(i!) for i = 0..n, and log C(a, b) from it (-inf outside 0 <= b <= a).
class LogFactorial {
 public:
  explicit LogFactorial(int64_t n) : t_(static_cast<size_t>(std::max<int64_t>(n, 1) + 1)) {
    for (size_t i = 0; i < t_.size(); ++i) t_[i] = std::lgamma(static_cast<double>(i) + 1.0);
  }
  double lchoose(int64_t a, int64_t b) const {
    if (b < 0 || b > a || a < 0) return kNegInf;
    return t_[a] - t_[b] - t_[a - b];
  }
  // Hypergeometric pmf: P(i of s draws come from pool 1) with pools r1, r2 (no replacement), to ~1e-15
  // relative: hyp = b(i; r1, p) b(s - i; r2, p) / b(s; r1 + r2, p) with p = s / (r1 + r2), each binomial pmf by
  // Loader's saddle-point form (the deviance bd0 and the Stirling remainder, no cancelling log-factorials);
  // the lgamma differences of lchoose lose ~1e-16 x log(n!) (1e-12 at n = 10,000).
  double hyp(int64_t i, int64_t r1, int64_t r2, int64_t s) const {
    if (i < 0 || i > r1 || s - i < 0 || s - i > r2) return 0.0;
    const int64_t N = r1 + r2;
    if (s == 0 || s == N) return 1.0;
    const double p = static_cast<double>(s) / static_cast<double>(N);
    const double q = static_cast<double>(N - s) / static_cast<double>(N);
    return std::exp(log_binom(i, r1, p, q) + log_binom(s - i, r2, p, q) - log_binom(s, N, p, q));
  }

  // out[i - lo] = hyp(i; r1, r2, s) for i in [lo, hi] (caller keeps lo..hi inside the support): one exp at
  // the (clamped) mode, then the ratio recurrence outwards; the pmf is unimodal, so tails that underflow
  // are below 1e-308 of the anchor's scale.
  void hyp_row(int64_t r1, int64_t r2, int64_t s, int64_t lo, int64_t hi, double* out) const {
    if (hi < lo) return;
    int64_t mode = static_cast<int64_t>((static_cast<double>(s) + 1.0) * (r1 + 1.0) / (r1 + r2 + 2.0));
    mode = std::min(hi, std::max(lo, mode));
    out[mode - lo] = hyp(mode, r1, r2, s);
    for (int64_t i = mode; i < hi; ++i)  // hyp(i+1)/hyp(i) = (r1-i)(s-i) / ((i+1)(r2-s+i+1))
      out[i + 1 - lo] = out[i - lo] * (static_cast<double>(r1 - i) * static_cast<double>(s - i)) /
                        (static_cast<double>(i + 1) * static_cast<double>(r2 - s + i + 1));
    for (int64_t i = mode; i > lo; --i)
      out[i - 1 - lo] = out[i - lo] * (static_cast<double>(i) * static_cast<double>(r2 - s + i)) /
                        (static_cast<double>(r1 - i + 1) * static_cast<double>(s - i + 1));
  }

  // The significant part of hyp(.; r1, r2, s) inside [lo, hi] (clipped to the support): the values >= eps
  // for i = first..last go to out (resized); returns {first, last}, first > last when none reaches eps.
  // One exp at the clamped mode, then ratio recurrences outwards while the values stay >= eps (the pmf
  // is unimodal, so everything left out is below eps). tmp: scratch.
  std::pair<int64_t, int64_t> hyp_window(int64_t r1, int64_t r2, int64_t s, int64_t lo, int64_t hi, double eps,
                                         std::vector<double>& out, std::vector<double>& tmp) const {
    lo = std::max(lo, std::max<int64_t>(0, s - r2));
    hi = std::min(hi, std::min(r1, s));
    out.clear();
    if (hi < lo) return {1, 0};
    int64_t mode = static_cast<int64_t>((static_cast<double>(s) + 1.0) * (r1 + 1.0) / (r1 + r2 + 2.0));
    mode = std::min(hi, std::max(lo, mode));
    const double v0 = hyp(mode, r1, r2, s);
    if (!(v0 >= eps)) return {1, 0};
    tmp.clear();  // below the mode, nearest first
    double v = v0;
    int64_t first = mode;
    for (int64_t i = mode; i > lo; --i) {
      v *= (static_cast<double>(i) * static_cast<double>(r2 - s + i)) /
           (static_cast<double>(r1 - i + 1) * static_cast<double>(s - i + 1));
      if (!(v >= eps)) break;
      tmp.push_back(v);
      first = i - 1;
    }
    out.assign(tmp.rbegin(), tmp.rend());
    out.push_back(v0);
    v = v0;
    int64_t last = mode;
    for (int64_t i = mode; i < hi; ++i) {
      v *= (static_cast<double>(r1 - i) * static_cast<double>(s - i)) /
           (static_cast<double>(i + 1) * static_cast<double>(r2 - s + i + 1));
      if (!(v >= eps)) break;
      out.push_back(v);
      last = i + 1;
    }
    return {first, last};
  }
  // Bounds of hyp_window without the values.
  std::pair<int64_t, int64_t> hyp_bounds(int64_t r1, int64_t r2, int64_t s, int64_t lo, int64_t hi,
                                         double eps) const {
    lo = std::max(lo, std::max<int64_t>(0, s - r2));
    hi = std::min(hi, std::min(r1, s));
    if (hi < lo) return {1, 0};
    int64_t mode = static_cast<int64_t>((static_cast<double>(s) + 1.0) * (r1 + 1.0) / (r1 + r2 + 2.0));
    mode = std::min(hi, std::max(lo, mode));
    const double v0 = hyp(mode, r1, r2, s);
    if (!(v0 >= eps)) return {1, 0};
    double v = v0;
    int64_t first = mode, last = mode;
    for (int64_t i = mode; i > lo; --i) {
      v *= (static_cast<double>(i) * static_cast<double>(r2 - s + i)) /
           (static_cast<double>(r1 - i + 1) * static_cast<double>(s - i + 1));
      if (!(v >= eps)) break;
      first = i - 1;
    }
    v = v0;
    for (int64_t i = mode; i < hi; ++i) {
      v *= (static_cast<double>(r1 - i) * static_cast<double>(s - i)) /
           (static_cast<double>(i + 1) * static_cast<double>(r2 - s + i + 1));
      if (!(v >= eps)) break;
      last = i + 1;
    }
    return {first, last};
  }

 private:
  std::vector<double> t_;
};

// Dataset summary per k over problems whose value is not NaN: count, mean and the centred sum of
// squares m2 (stderr = sqrt(m2 / (count - 1) / count)).
struct Summary {
  std::vector<int64_t> count;
  std::vector<double> mean, m2;
};

// values: (P, K) row-major; NaN entries (lenient k > n) are skipped.
inline Summary summarize(const double* values, int64_t P, int64_t K) {
  Summary s{std::vector<int64_t>(K, 0), std::vector<double>(K, 0.0), std::vector<double>(K, 0.0)};
  for (int64_t p = 0; p < P; ++p)
    for (int64_t j = 0; j < K; ++j) {
      const double v = values[p * K + j];
      if (!std::isnan(v)) { ++s.count[j]; s.mean[j] += v; }
    }
  for (int64_t j = 0; j < K; ++j) s.mean[j] = s.count[j] ? s.mean[j] / s.count[j] : kNaN;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t j = 0; j < K; ++j) {
      const double v = values[p * K + j];
      if (!std::isnan(v)) s.m2[j] += (v - s.mean[j]) * (v - s.mean[j]);
    }
  return s;
}

inline void check_ks(const int64_t* ks, int64_t K) {
  if (K < 1) throw std::invalid_argument("ks must not be empty");
  for (int64_t j = 0; j < K; ++j)
    if (ks[j] < 1) throw std::invalid_argument("ks must be >= 1, got k=" + std::to_string(ks[j]));
}

inline void check_k_le_n(int64_t k, int64_t n, int64_t p, bool lenient, const char* what) {
  if (k > n && !lenient)
    throw std::invalid_argument("k=" + std::to_string(k) + " exceeds " + what + "=" + std::to_string(n) +
                                " of problem " + std::to_string(p) + " (pass lenient=True for NaN)");
}

// ---- pass@k ------------------------------------------------------------------------------------
// pass@k = 1 - C(n-c, k)/C(n, k). With q_k = C(n-c, k)/C(n, k) the curve for every k comes from two
// multiplicative recurrences with no transcendental function:
//   t_j = q_j * c / (n - j),   pass_{j+1} = pass_j + t_j,   q_{j+1} = q_j * (n - c - j) / (n - j),
// pass_0 = 0, q_0 = 1. pass is a sum of non-negative terms, so it is monotone in k and small values keep
// their relative precision (pass@1 = c/n to half an ulp); the rounding error grows at most linearly in k
// (~k ulp). Once q < 2^-54, 1 - q rounds to 1 and the curve is set to exactly 1 (no subnormal arithmetic).
// The dataset mean depends only on the histogram of (n, c) pairs: each distinct pair is evaluated once,
// pairs with the same n side by side so the loop over c vectorises. Cost: (distinct pairs) x (largest k).
// n, c: (P,); ks: (K,); per_problem: (P, K) or nullptr. k > n: error, or NaN when lenient.
namespace pass_detail {
// Distinct (n, c) pairs sorted by (n, c): uniq, the index of each problem's pair, and the multiplicities.
struct Pairs {
  std::vector<int64_t> un, uc, mult, where;
};

inline Pairs group_pairs(const int64_t* n, const int64_t* c, int64_t P) {
  Pairs g;
  g.where.resize(P);
  const int64_t nmin = *std::min_element(n, n + P), nmax = *std::max_element(n, n + P);
  // dense tables when the n range and the c tables are small (the common case: one or a few n values)
  if (nmax - nmin <= 4 * P + 1024) {
    std::vector<int64_t> first(nmax - nmin + 1, -1);  // offset of n's c table, -1 = absent
    for (int64_t p = 0; p < P; ++p) first[n[p] - nmin] = 0;
    int64_t total = 0;
    for (int64_t v = 0; v <= nmax - nmin; ++v)
      if (first[v] == 0) {
        first[v] = total;
        total += nmin + v + 1;
        if (total > 8 * P + (int64_t{1} << 20)) break;
      } else {
        first[v] = -1;
      }
    if (total <= 8 * P + (int64_t{1} << 20)) {
      std::vector<int64_t> slot(total, 0);  // count, then the pair index
      for (int64_t p = 0; p < P; ++p) ++slot[first[n[p] - nmin] + c[p]];
      for (int64_t v = 0; v <= nmax - nmin; ++v) {
        if (first[v] < 0) continue;
        for (int64_t cc = 0; cc <= nmin + v; ++cc) {
          int64_t& e = slot[first[v] + cc];
          if (e == 0) { e = -1; continue; }
          g.un.push_back(nmin + v);
          g.uc.push_back(cc);
          g.mult.push_back(e);
          e = static_cast<int64_t>(g.un.size()) - 1;
        }
      }
      for (int64_t p = 0; p < P; ++p) g.where[p] = slot[first[n[p] - nmin] + c[p]];
      return g;
    }
  }
  std::vector<std::pair<int64_t, int64_t>> keys(P);
  for (int64_t p = 0; p < P; ++p) keys[p] = {n[p], c[p]};
  std::vector<std::pair<int64_t, int64_t>> uniq(keys);
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  g.mult.assign(uniq.size(), 0);
  for (const auto& u : uniq) { g.un.push_back(u.first); g.uc.push_back(u.second); }
  for (int64_t p = 0; p < P; ++p) {
    g.where[p] = std::lower_bound(uniq.begin(), uniq.end(), keys[p]) - uniq.begin();
    ++g.mult[g.where[p]];
  }
  return g;
}
}  // namespace pass_detail

inline Summary pass_at_k(const int64_t* n, const int64_t* c, int64_t P, const int64_t* ks, int64_t K,
                         bool lenient, double* per_problem, int num_threads) {
  if (P < 1) throw std::invalid_argument("num_samples must not be empty");
  check_ks(ks, K);
  const int64_t kmax = *std::max_element(ks, ks + K);
  for (int64_t p = 0; p < P; ++p) {
    if (n[p] < 0) throw std::invalid_argument("num_samples must be >= 0, got " + std::to_string(n[p]) +
                                              " for problem " + std::to_string(p));
    if (c[p] < 0 || c[p] > n[p])
      throw std::invalid_argument("num_correct must be in [0, num_samples], got c=" + std::to_string(c[p]) +
                                  " with n=" + std::to_string(n[p]) + " for problem " + std::to_string(p));
    if (n[p] > kMaxPassSamples)
      throw std::invalid_argument("num_samples must be <= " + std::to_string(kMaxPassSamples) + ", got " +
                                  std::to_string(n[p]) + " for problem " + std::to_string(p));
    if (kmax > n[p]) check_k_le_n(kmax, n[p], p, lenient, "num_samples");
  }
  const pass_detail::Pairs g = pass_detail::group_pairs(n, c, P);
  const int64_t U = static_cast<int64_t>(g.un.size());
  // the distinct ks in increasing order; kidx[j] = row of ks[j]
  std::vector<int64_t> kk(ks, ks + K);
  std::sort(kk.begin(), kk.end());
  kk.erase(std::unique(kk.begin(), kk.end()), kk.end());
  const int64_t KU = static_cast<int64_t>(kk.size());
  std::vector<int64_t> kidx(K);
  for (int64_t j = 0; j < K; ++j) kidx[j] = std::lower_bound(kk.begin(), kk.end(), ks[j]) - kk.begin();
  // blocks of at most 256 pairs with one n each
  std::vector<std::pair<int64_t, int64_t>> blocks;
  for (int64_t b = 0; b < U;) {
    int64_t e = b + 1;
    while (e < U && e - b < 256 && g.un[e] == g.un[b]) ++e;
    blocks.push_back({b, e});
    b = e;
  }
  // Each block summarises its pairs at every needed k (count, mean and centred sum of squares, weighted by the
  // multiplicities); the blocks are merged in order with the pairwise update of Chan, Golub & LeVeque, so the
  // result does not depend on the threads. Groups of blocks bound the scratch memory (~32 MB); the (K, U) table
  // of values exists only when per_problem values are asked for.
  if (per_problem && static_cast<double>(KU) * static_cast<double>(U) > 2.5e8)
    throw std::invalid_argument("per-problem pass@k needs distinct (n, c) pairs x ks <= 2.5e8, got " +
                                std::to_string(U) + " x " + std::to_string(KU));
  std::vector<double> vals(per_problem ? static_cast<size_t>(KU) * U : 0);  // vals[r * U + u]
  const int64_t NB = static_cast<int64_t>(blocks.size());
  const int64_t group = std::max<int64_t>(1, (int64_t{4} << 20) / (3 * KU));
  std::vector<double> bw, bmean, bm2, gw(KU, 0.0), gmean(KU, 0.0), gm2(KU, 0.0);
  for (int64_t g0 = 0; g0 < NB; g0 += group) {
    const int64_t gn = std::min(group, NB - g0);
    bw.assign(static_cast<size_t>(gn) * KU, 0.0);
    bmean.assign(static_cast<size_t>(gn) * KU, 0.0);
    bm2.assign(static_cast<size_t>(gn) * KU, 0.0);
    parallel_for(gn, num_threads, [&](int64_t bb, int64_t be) {
      std::vector<double> q, pv, cc, nc, wt;
      for (int64_t gi = bb; gi < be; ++gi) {
        const int64_t bi = g0 + gi;
        const int64_t b = blocks[bi].first, m = blocks[bi].second - b, nn = g.un[b];
        q.assign(m, 1.0);
        pv.assign(m, 0.0);
        cc.resize(m);
        nc.resize(m);
        wt.resize(m);
        double W = 0.0;
        for (int64_t i = 0; i < m; ++i) {
          cc[i] = static_cast<double>(g.uc[b + i]);
          nc[i] = static_cast<double>(nn - g.uc[b + i]);
          wt[i] = static_cast<double>(g.mult[b + i]);
          W += wt[i];
        }
        double* qp = q.data();
        double* pp = pv.data();
        const double* cp = cc.data();
        const double* ncp = nc.data();
        const double* wp = wt.data();
        int64_t r = 0;
        const int64_t top = std::min(kmax, nn);
        auto emit = [&](int64_t row) {
          double sum = 0.0;
          for (int64_t i = 0; i < m; ++i) sum += wp[i] * pp[i];
          const double mu = sum / W;
          double ss = 0.0;
          for (int64_t i = 0; i < m; ++i) ss += wp[i] * (pp[i] - mu) * (pp[i] - mu);
          bw[gi * KU + row] = W;
          bmean[gi * KU + row] = mu;
          bm2[gi * KU + row] = ss;
          if (per_problem) std::copy(pp, pp + m, vals.begin() + row * U + b);
        };
        for (int64_t j = 0; j < top; ++j) {
          if ((j & 63) == 63) poll_interrupt();
          const double inv = 1.0 / static_cast<double>(nn - j), jd = static_cast<double>(j);
          for (int64_t i = 0; i < m; ++i) {
            const double t = qp[i] * cp[i] * inv;
            const double qn = qp[i] * ((ncp[i] - jd) * inv);
            const bool done = qn < 0x1p-54;
            pp[i] = done ? 1.0 : pp[i] + t;
            qp[i] = done ? 0.0 : qn;
          }
          while (r < KU && kk[r] == j + 1) emit(r++);
        }
        if (per_problem)  // k > n: NaN (lenient); the block's weight stays 0 there
          for (; r < KU; ++r) std::fill(vals.begin() + r * U + b, vals.begin() + r * U + b + m, kNaN);
      }
    }, std::max<int64_t>(1, 2000000 / (256 * (kmax + 1))));  // threads pay off above ~2M updates per chunk
    for (int64_t gi = 0; gi < gn; ++gi)  // merge in block order
      for (int64_t r = 0; r < KU; ++r) {
        const double wb = bw[gi * KU + r];
        if (wb == 0.0) continue;
        const double wa = gw[r], tot = wa + wb, d = bmean[gi * KU + r] - gmean[r];
        gmean[r] += d * wb / tot;
        gm2[r] += bm2[gi * KU + r] + d * d * wa * wb / tot;
        gw[r] = tot;
      }
  }
  Summary s{std::vector<int64_t>(K), std::vector<double>(K), std::vector<double>(K)};
  for (int64_t j = 0; j < K; ++j) {
    const int64_t r = kidx[j];
    s.count[j] = static_cast<int64_t>(gw[r]);
    s.mean[j] = gw[r] > 0.0 ? gmean[r] : kNaN;
    s.m2[j] = gm2[r];
  }
  if (per_problem) {
    parallel_for(P, num_threads, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        if ((p & 1023) == 0) poll_interrupt();
        const int64_t u = g.where[p];
        for (int64_t j = 0; j < K; ++j) per_problem[p * K + j] = vals[kidx[j] * U + u];
      }
    }, std::max<int64_t>(1024, (int64_t{1} << 20) / K));  // threads only for > 1M copied values each
  }
  return s;
}

// ---- maj@k -------------------------------------------------------------------------------------
enum class Tie { Random = 0, Strict = 1, Optimistic = 2 };
enum class Abstain { Exclude = 0, Vote = 1 };

// Gauss-Legendre nodes/weights on [0, 1] (weights sum to 1); exact for polynomials of degree 2q-1.
inline void gauss_legendre01(int q, std::vector<double>& x, std::vector<double>& w) {
  x.assign(q, 0.0);
  w.assign(q, 0.0);
  const double pi = 3.14159265358979323846;
  for (int i = 0; i < (q + 1) / 2; ++i) {
    double z = std::cos(pi * (i + 0.75) / (q + 0.5)), dp = 1.0;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1.0, p1 = z;
      for (int j = 2; j <= q; ++j) {
        const double p2 = ((2.0 * j - 1.0) * z * p1 - (j - 1.0) * p0) / j;
        p0 = p1;
        p1 = p2;
      }
      if (q == 1) p0 = 1.0;
      dp = q * (z * p1 - p0) / (z * z - 1.0);
      const double dz = p1 / dp;
      z -= dz;
      if (std::fabs(dz) < 1e-16) break;
    }
    {  // recompute derivative at the converged node
      double p0 = 1.0, p1 = z;
      for (int j = 2; j <= q; ++j) {
        const double p2 = ((2.0 * j - 1.0) * z * p1 - (j - 1.0) * p0) / j;
        p0 = p1;
        p1 = p2;
      }
      if (q == 1) p0 = 1.0;
      dp = q * (z * p1 - p0) / (z * z - 1.0);
    }
    const double wt = 2.0 / ((1.0 - z * z) * dp * dp);
    x[i] = 0.5 * (1.0 - z);
    x[q - 1 - i] = 0.5 * (1.0 + z);
    w[i] = w[q - 1 - i] = 0.5 * wt;
  }
}

// One competitor cluster of the target: `tie_u` = a draw of exactly x ties (credit via u); otherwise
// it must stay strictly below x (an earlier correct cluster under the optimistic rule).
struct Competitor {
  int64_t size;
  bool tie_u;
};

// Probabilities below kMajEps are left out of the maj@k sums: the hypergeometric pmfs are unimodal and
// log-concave, so every dropped tail is below ~1e-19 in total and the result is exact to ~1e-15 (plus the
// rounding of the log-factorial table, ~1e-16 x log(n!) relative). Clusters whose chance to reach x is
// below kMajEps (a Chernoff bound) are treated as unconstrained.
constexpr double kMajEps = 1e-21;

// Which algorithm computes Cond_x (see maj_target); Auto picks the cheaper one per x from a cost model.
// Estimate: no maj@k at all; out[0] of each problem is the work the Auto path would do (in dynamic-programme
// operations; the windowed path's counts divided by kWindowBias), so callers can refuse a call before it runs.
enum class MajPath { Auto = 0, Dp = 1, Window = 2, Estimate = 3 };
// The windowed path runs at a higher rate per counted operation than the dynamic programme (contiguous rows,
// cached across x), so Auto prefers it unless its operation count is kWindowBias times larger (measured on
// realistic, near-tie and flat structures, n = 64 .. 10,000).
#ifndef TTC_FAST_WINDOW_BIAS
#define TTC_FAST_WINDOW_BIAS 32.0
#endif
constexpr double kWindowBias = TTC_FAST_WINDOW_BIAS;

namespace maj_detail {

// KL(a || b) of two Bernoulli laws (0 < b < 1).
inline double kl_bernoulli(double a, double b) {
  double v = 0.0;
  if (a > 0.0) v += a * std::log(a / b);
  if (a < 1.0) v += (1.0 - a) * std::log((1.0 - a) / (1.0 - b));
  return v;
}
// Upper bounds on P(Y >= x) and P(Y <= x) for Y ~ Hypergeometric(s draws, w marked of pop): the
// binomial Chernoff bound exp(-s KL(x/s || w/pop)), valid without replacement (Hoeffding 1963, Thm. 4).
inline double bound_ge(int64_t x, int64_t w, int64_t pop, int64_t s) {
  if (x <= 0) return 1.0;
  if (x > std::min(w, s)) return 0.0;
  const double q = static_cast<double>(w) / static_cast<double>(pop), a = static_cast<double>(x) / s;
  return a <= q ? 1.0 : std::exp(-static_cast<double>(s) * kl_bernoulli(a, q));
}
inline double bound_le(int64_t x, int64_t w, int64_t pop, int64_t s) {
  if (x >= std::min(w, s)) return 1.0;
  if (x < s - (pop - w)) return 0.0;
  const double q = static_cast<double>(w) / static_cast<double>(pop), a = static_cast<double>(x) / s;
  return a >= q ? 1.0 : std::exp(-static_cast<double>(s) * kl_bernoulli(a, q));
}

// hyp(.; w, below, s) rows of one level for a range of s, kept while (w, below) stays the same.
struct RowCache {
  struct Row {
    int64_t lo = 1, hi = 0;  // significant y window (lo > hi: none)
    bool done = false;
    std::vector<double> v;
  };
  int64_t w = -1, below = -1, base = 0;  // rows[s - base]
  std::deque<Row> rows;
  int64_t stored = 0;  // doubles held

  void configure(int64_t w_, int64_t below_) {
    if (w_ == w && below_ == below) return;
    w = w_;
    below = below_;
    rows.clear();
    stored = 0;
  }
  const Row& get(int64_t s, const LogFactorial& lf, std::vector<double>& tmp) {
    if (rows.empty()) base = s;
    while (s < base) { rows.emplace_front(); --base; }
    while (s >= base + static_cast<int64_t>(rows.size())) rows.emplace_back();
    Row& r = rows[s - base];
    if (!r.done) {
      const auto wdw = lf.hyp_window(w, below, s, 0, w, kMajEps, r.v, tmp);
      r.lo = wdw.first;
      r.hi = wdw.second;
      r.done = true;
      stored += static_cast<int64_t>(r.v.size());
    }
    return r;
  }
  void evict_below(int64_t s, int64_t budget) {  // drop rows below s; everything when over budget
    while (!rows.empty() && (base < s || stored > budget)) {
      stored -= static_cast<int64_t>(rows.front().v.size());
      rows.pop_front();
      ++base;
    }
  }
};

constexpr int64_t kRowCacheDoubles = int64_t{4} << 20;  // 32 MB of cached rows per level at most

// Reused buffers of one thread.
struct Scratch {
  std::vector<double> vec, next, row, win, tmp, g_cur, g_nxt;
  std::vector<RowCache> caches;                       // per level of cond_window
  std::vector<std::vector<const RowCache::Row*>> rowp;  // the rows of the current x, per level
};

// ---- x = 1 --------------------------------------------------------------------------------------
// Only clusters that may tie (tie_u) can take a draw, at most one each (each such draw ties); E_j =
// e_j(sizes) / C(rle, j) by the normalised elementary-symmetric recurrence, truncated at the largest
// s needed. Cond(s) = sum_t P(t of s draws tie-capable, s - t free) * E_t * g(t).
inline void cond_x1(const std::vector<Competitor>& comps, int64_t free_pool, int64_t R, Tie tie,
                    const std::vector<int64_t>& svals, const LogFactorial& lf, Scratch& sc, double* out) {
  const int64_t smax = svals.back();
  int64_t rle = 0;
  std::vector<double>& E = sc.vec;
  std::vector<double>& En = sc.next;
  E.assign(1, 1.0);
  int64_t cnt = 0;
  for (const auto& cp : comps) {
    if (!cp.tie_u) continue;
    if ((++cnt & 255) == 0) poll_interrupt();
    const int64_t r1 = rle, w = cp.size;
    const size_t len = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(E.size()) + 1, smax + 1));
    En.assign(len, 0.0);
    double r = 1.0, r_prev = 0.0;  // r = C(r1, j) / C(r1 + w, j)
    for (size_t j = 0; j < len; ++j) {
      double v = 0.0;
      if (j < E.size()) v += E[j] * r;
      if (j >= 1)  // w C(r1, j-1) / C(r1+w, j) = r_{j-1} * w j / (r1 + w - j + 1)
        v += E[j - 1] * r_prev * static_cast<double>(w) * j / static_cast<double>(r1 + w - j + 1);
      En[j] = std::min(1.0, v);
      r_prev = r;
      if (static_cast<int64_t>(j) < r1) r *= static_cast<double>(r1 - j) / static_cast<double>(r1 + w - j);
      else r = 0.0;
    }
    E.swap(En);
    rle += w;
  }
  const int64_t rf = free_pool;
  for (size_t i = 0; i < svals.size(); ++i) {
    const int64_t s = svals[i];
    double v = 0.0;
    const int64_t lo = std::max<int64_t>(0, s - rf), hi = std::min<int64_t>(s, static_cast<int64_t>(E.size()) - 1);
    if (hi >= lo) {
      sc.row.resize(hi - lo + 1);
      lf.hyp_row(rle, rf, s, lo, hi, sc.row.data());
      const double scale = std::exp(lf.lchoose(rle + rf, s) - lf.lchoose(R, s));
      for (int64_t t = lo; t <= hi; ++t) {
        const double g = tie == Tie::Random ? 1.0 / (t + 1.0) : (tie == Tie::Strict ? (t == 0) : 1.0);
        v += g * E[t] * sc.row[t - lo];
      }
      v *= scale;
    }
    out[i] = std::min(1.0, v);
  }
}

// ---- x >= 2, dynamic programme over the whole support ---------------------------------------------
// vec[i] = P(every competitor so far <= x (ties credited u) | i draws from their union), merged one
// cluster at a time with hypergeometric weights (every entry a probability), then merged with the free
// pool rf for each needed s. Cost ~ q * sum_j L_j * x with L_j <= sum of min(w, x): cheap for small x.
inline void cond_dp(int64_t x, const std::vector<Competitor>& big, int64_t R, Tie tie,
                    const std::vector<int64_t>& svals, const LogFactorial& lf, Scratch& sc, double* out) {
  const size_t S = svals.size();
  int64_t rbig = 0, m_u = 0;
  for (const auto& cp : big) { rbig += cp.size; m_u += cp.tie_u; }
  const int64_t rf = R - rbig;
  std::vector<double> gl_x, gl_w;
  int q = 1;
  if (tie == Tie::Random) {
    q = static_cast<int>(m_u / 2 + 1);
    gauss_legendre01(q, gl_x, gl_w);
  }
  std::fill(out, out + S, 0.0);
  std::vector<double>& vec = sc.vec;
  std::vector<double>& next = sc.next;
  std::vector<double>& row = sc.row;
  std::vector<double>& win = sc.win;
  for (int node = 0; node < q; ++node) {
    const double u = tie == Tie::Random ? gl_x[node] : (tie == Tie::Strict ? 0.0 : 1.0);
    const double wn = tie == Tie::Random ? gl_w[node] : 1.0;
    int64_t r1 = 0;
    vec.assign(1, 1.0);
    for (const Competitor& cp : big) {
      poll_interrupt();
      const double top = cp.tie_u ? u : 0.0;  // the cluster's own vector: 1 for y < x, u (or 0) at y = x
      const int64_t w = cp.size, L1 = static_cast<int64_t>(vec.size());
      next.assign(L1 + x, 0.0);
      for (int64_t s = 0; s < L1 + x; ++s) {
        const int64_t lo = std::max<int64_t>(0, s - x), hi = std::min<int64_t>(L1 - 1, s);
        if (hi < lo) continue;
        row.resize(hi - lo + 1);
        lf.hyp_row(r1, w, s, lo, hi, row.data());
        double v = 0.0;
        for (int64_t i = lo; i <= hi; ++i) v += row[i - lo] * vec[i];
        if (s - lo == x) v -= (1.0 - top) * row[0] * vec[lo];  // the y = x term carries u (or 0)
        next[s] = std::min(1.0, std::max(0.0, v));
      }
      vec.swap(next);
      r1 += w;
    }
    // Merge with the free pool: Cond(s) = E[vec[I_s]], I_s ~ Hypergeom(s draws; rbig of R). Two exact ways:
    //  direct: one hypergeometric row per needed s, O(#s * L);
    //  chain:  walk s = 0, 1, ... with the forward Markov chain of I_s, tracking only the window i in
    //          [x, L) where vec[i] < 1 (vec[i] = 1 for i < x) and t_s = P(I_s >= x), O(smax * (L - x)).
    const int64_t L = static_cast<int64_t>(vec.size()), smax = svals.back();
    if (static_cast<int64_t>(S) * L <= (smax + 1) * (L - x + 2)) {
      for (size_t j = 0; j < S; ++j) {
        const int64_t s = svals[j];
        const int64_t lo = std::max<int64_t>(0, s - rf), hi = std::min<int64_t>(s, L - 1);
        double v = 0.0;
        if (hi >= lo) {
          row.resize(hi - lo + 1);
          lf.hyp_row(rbig, rf, s, lo, hi, row.data());
          for (int64_t i = lo; i <= hi; ++i) v += row[i - lo] * vec[i];
        }
        out[j] += wn * std::min(1.0, v);
      }
    } else {
      const int64_t W = L - x;  // window i = x .. L-1 (W >= 1)
      win.assign(W, 0.0);       // s = 0: I_0 = 0 < x
      double tail = 0.0;        // P(I_s >= x)
      size_t j = 0;
      for (int64_t s = 0; s <= smax; ++s) {
        if ((s & 255) == 255) poll_interrupt();
        if (j < S && svals[j] == s) {
          double v = 1.0 - tail;
          for (int64_t w = 0; w < W; ++w) v += win[w] * vec[x + w];
          out[j++] += wn * std::min(1.0, std::max(0.0, v));
        }
        if (s == smax || s >= R) break;
        const double inv = 1.0 / static_cast<double>(R - s);
        const double pm1 = lf.hyp(x - 1, rbig, rf, s);  // P(I_s = x - 1)
        tail += pm1 * std::max<double>(0.0, static_cast<double>(rbig - x + 1)) * inv;
        for (int64_t w = W - 1; w >= 0; --w) {
          const int64_t i = x + w;
          const double stay = std::max<double>(0.0, static_cast<double>(rf - (s - i))) * inv;
          const double move = std::max<double>(0.0, static_cast<double>(rbig - i + 1)) * inv;
          win[w] = win[w] * stay + (w > 0 ? win[w - 1] : pm1) * move;
        }
      }
    }
  }
  for (size_t j = 0; j < S; ++j) out[j] = std::min(1.0, std::max(0.0, out[j]));
}

// ---- x >= 2, windowed levels ---------------------------------------------------------------------
// Conditioning on one competitor at a time: with lv[0..m) the competitors and f the free pool,
//   G_j(s) = sum_y hyp(y; w_j, B_j, s) phi_j(y) G_{j+1}(s - y),   B_j = w_{j+1} + ... + w_{m-1} + f,
// phi_j(y) = 1 for y < x, u (tie-capable) or 0 at y = x, 0 above; G_m = 1 and Cond_x(s) = G_0(s).
// Only the significant part of each pmf row enters (values >= kMajEps: O(sqrt(s)) terms), only the s
// reachable from the needed ones are evaluated, and the last level is a hypergeometric CDF advanced in
// O(1) per s: F(s+1) = F(s) - P(Y_s = x-1) (w - x + 1) / (w + f - s). The rows do not depend on x, so
// each level keeps them across x (RowCache); every tie-breaking node u is carried through the same rows.
// Cost ~ q * (#s needed + window) * window per level above the last, ~#s for the last.

inline void cond_window(int64_t x, const std::vector<Competitor>& lv, int64_t f, Tie tie,
                        const std::vector<int64_t>& svals, const LogFactorial& lf, Scratch& sc, double* out) {
  const int64_t m = static_cast<int64_t>(lv.size());
  const size_t S = svals.size();
  int64_t m_u = 0;
  for (const auto& cp : lv) m_u += cp.tie_u;
  std::vector<double> us, ws;
  int q = 1;
  if (tie == Tie::Random) {
    q = static_cast<int>(m_u / 2 + 1);
    gauss_legendre01(q, us, ws);
  } else {
    us.assign(1, tie == Tie::Strict ? 0.0 : 1.0);
    ws.assign(1, 1.0);
  }
  std::vector<int64_t> below(m, f);
  for (int64_t j = m - 2; j >= 0; --j) below[j] = below[j + 1] + lv[j + 1].size;
  if (static_cast<int64_t>(sc.caches.size()) < m) sc.caches.resize(m);
  if (static_cast<int64_t>(sc.rowp.size()) < m) sc.rowp.resize(m);
  for (int64_t j = 0; j + 1 < m; ++j) sc.caches[j].configure(lv[j].size, below[j]);
  // evaluation points of each level: level 0 the needed s; deeper levels an interval [a_j, a_j + len_j)
  std::vector<int64_t> a(m, 0), len(m, 0);
  auto point = [&](int64_t j, int64_t i) { return j == 0 ? svals[i] : a[j] + i; };
  len[0] = static_cast<int64_t>(S);
  for (int64_t j = 0; j + 1 < m; ++j) {  // top-down: the rows of level j, then the interval of level j + 1
    RowCache& cache = sc.caches[j];
    cache.evict_below(point(j, 0), kRowCacheDoubles);
    std::vector<const RowCache::Row*>& rowp = sc.rowp[j];
    rowp.resize(len[j]);
    int64_t amin = std::numeric_limits<int64_t>::max(), amax = std::numeric_limits<int64_t>::min();
    for (int64_t i = 0; i < len[j]; ++i) {
      if ((i & 255) == 255) poll_interrupt();
      const int64_t s = point(j, i);
      const RowCache::Row& r = cache.get(s, lf, sc.tmp);
      rowp[i] = &r;
      if (r.lo > std::min(r.hi, x)) continue;
      amin = std::min(amin, s - std::min(r.hi, x));
      amax = std::max(amax, s - r.lo);
    }
    if (amin > amax) {  // every level-j point is (almost surely) lost: Cond = 0
      std::fill(out, out + S, 0.0);
      return;
    }
    a[j + 1] = amin;
    len[j + 1] = amax - amin + 1;
  }
  // the last level over its points (contiguous for m >= 2; for m == 1 the span of the needed s)
  const int64_t jl = m - 1, w = lv[jl].size, fb = below[jl], N = w + fb;
  const int64_t s0 = jl == 0 ? svals.front() : a[jl], s1 = jl == 0 ? svals.back() : a[jl] + len[jl] - 1;
  std::vector<double>& g_last = sc.g_cur;
  g_last.assign(static_cast<size_t>(s1 - s0 + 1) * q, 0.0);
  {
    double F = 0.0;  // P(Y_s <= x - 1) at s = s0, summed over its significant window
    const auto wdw = lf.hyp_window(w, fb, s0, 0, x - 1, kMajEps, sc.row, sc.tmp);
    for (int64_t y = wdw.first; y <= wdw.second; ++y) F += sc.row[y - wdw.first];
    const double tu = lv[jl].tie_u ? 1.0 : 0.0;
    double pm = 0.0;  // P(Y_s = x - 1): ratio recurrence in s, re-anchored every 64 steps and near 0
    for (int64_t s = s0; s <= s1; ++s) {
      if (((s - s0) & 1023) == 1023) poll_interrupt();
      if (((s - s0) & 63) == 0 || !(pm > 1e-280)) pm = lf.hyp(x - 1, w, fb, s);
      // P(Y_s = x) = pm * (w - x + 1)(s - x + 1) / (x (fb - s + x))
      double px = 0.0;
      if (s >= x && fb - s + x >= 0) {
        px = pm > 0.0 && fb - s + x > 0
                 ? pm * (static_cast<double>(w - x + 1) * static_cast<double>(s - x + 1)) /
                       (static_cast<double>(x) * static_cast<double>(fb - s + x))
                 : lf.hyp(x, w, fb, s);
      }
      const double Fc = std::min(1.0, std::max(0.0, F));
      for (int node = 0; node < q; ++node) g_last[(s - s0) * q + node] = Fc + tu * us[node] * px;
      if (s < s1 && N - s > 0) {
        F -= pm * static_cast<double>(w - x + 1) / static_cast<double>(N - s);
        // pm(s + 1) = pm(s) (fb - s + x - 1)(s + 1) / ((s + 2 - x)(N - s))
        if (pm > 0.0 && s + 2 - x > 0 && fb - s + x - 1 > 0)
          pm *= (static_cast<double>(fb - s + x - 1) * static_cast<double>(s + 1)) /
                (static_cast<double>(s + 2 - x) * static_cast<double>(N - s));
        else
          pm = 0.0;  // recomputed directly at the next step
      }
    }
  }
  // bottom-up through the rows
  std::vector<double>* g_below = &sc.g_cur;
  std::vector<double>* g_here = &sc.g_nxt;
  double acc[4][64];
  for (int64_t j = m - 2; j >= 0; --j) {
    const int64_t ab = a[j + 1];
    const double tu = lv[j].tie_u ? 1.0 : 0.0;
    g_here->assign(static_cast<size_t>(len[j]) * q, 0.0);
    const double* gb = g_below->data();
    for (int64_t i = 0; i < len[j]; ++i) {
      if ((i & 255) == 255) poll_interrupt();
      const RowCache::Row& row = *sc.rowp[j][i];
      const int64_t ylo = row.lo, yhi = std::min(row.hi, x);
      if (ylo > yhi) continue;
      const int64_t s = point(j, i);
      const double* r = row.v.data() - ylo;  // r[y]
      const int64_t ytop = std::min(yhi, x - 1);
      double* gh = g_here->data() + i * q;
      if (q == 1) {
        // sum_y r[y] g[s - y]: four independent sums (the reduction is latency-bound otherwise)
        const double* g = gb + (s - ab);  // g[-y]
        double v0 = 0.0, v1 = 0.0, v2 = 0.0, v3 = 0.0;
        int64_t y = ylo;
        for (; y + 3 <= ytop; y += 4) {
          v0 += r[y] * g[-y];
          v1 += r[y + 1] * g[-y - 1];
          v2 += r[y + 2] * g[-y - 2];
          v3 += r[y + 3] * g[-y - 3];
        }
        for (; y <= ytop; ++y) v0 += r[y] * g[-y];
        double v = (v0 + v1) + (v2 + v3);
        if (yhi == x) v += r[x] * tu * us[0] * g[-x];
        gh[0] = v;
      } else if (q <= 64) {
        for (int node = 0; node < q; ++node) acc[0][node] = acc[1][node] = 0.0;
        int64_t y = ylo;
        for (; y + 1 <= ytop; y += 2) {
          const double r0 = r[y], r1 = r[y + 1];
          const double* g0 = gb + (s - y - ab) * q;
          const double* g1 = g0 - q;
          for (int node = 0; node < q; ++node) {
            acc[0][node] += r0 * g0[node];
            acc[1][node] += r1 * g1[node];
          }
        }
        for (; y <= ytop; ++y) {
          const double* g0 = gb + (s - y - ab) * q;
          for (int node = 0; node < q; ++node) acc[0][node] += r[y] * g0[node];
        }
        for (int node = 0; node < q; ++node) gh[node] = acc[0][node] + acc[1][node];
        if (yhi == x) {
          const double rv = r[x] * tu;
          const double* g0 = gb + (s - x - ab) * q;
          for (int node = 0; node < q; ++node) gh[node] += rv * us[node] * g0[node];
        }
      } else {
        for (int64_t y = ylo; y <= yhi; ++y) {
          const double rv = r[y] * (y == x ? tu : 1.0);
          const double* g0 = gb + (s - y - ab) * q;
          for (int node = 0; node < q; ++node) gh[node] += rv * (y == x ? us[node] : 1.0) * g0[node];
        }
      }
    }
    std::swap(g_below, g_here);
  }
  // g_below now holds level 0 at its points (svals for m >= 2; the span s0..s1 for m == 1)
  for (size_t i = 0; i < S; ++i) {
    const int64_t idx = m == 1 ? svals[i] - s0 : static_cast<int64_t>(i);
    double v = 0.0;
    for (int node = 0; node < q; ++node) v += ws[node] * (*g_below)[idx * q + node];
    out[i] = std::min(1.0, std::max(0.0, v));
  }
}

// Rough operation counts of the two x >= 2 algorithms (for MajPath::Auto).
inline double cost_dp(int64_t x, const std::vector<Competitor>& big, int64_t R, int q, int64_t S, int64_t smax) {
  double L = 1.0, cost = 0.0;
  for (const auto& cp : big) {
    L = std::min<double>(static_cast<double>(R + 1), L + static_cast<double>(std::min(cp.size, x)));
    cost += L * static_cast<double>(x + 1) * 3.0;  // hyp_row and the dot product
  }
  cost += std::min(static_cast<double>(S) * L, static_cast<double>(smax + 1) * (L - x + 2.0) * 3.0);
  return q * cost;
}
inline double cost_window(int64_t x, const std::vector<Competitor>& lv, int64_t f, int q, int64_t S,
                          int64_t smin, int64_t smax) {
  const int64_t m = static_cast<int64_t>(lv.size());
  int64_t pop = f;
  for (const auto& cp : lv) pop += cp.size;
  double pts = static_cast<double>(S), span = static_cast<double>(smax - smin + 1), cost = 0.0;
  const double smid = 0.5 * static_cast<double>(smin + smax);
  for (int64_t j = 0; j + 1 < m; ++j) {
    const double p = static_cast<double>(lv[j].size) / static_cast<double>(pop);
    const double sd = std::sqrt(smid * p * (1.0 - p) * std::max(0.0, 1.0 - smid / pop) + 1.0);
    const double width = std::min(static_cast<double>(x + 1), 22.0 * sd + 1.0);
    cost += pts * width * (4.0 + q);  // the row (ratio recurrence) and q dot products
    span += width;
    pts = span;
    pop -= lv[j].size;
  }
  return cost + (m == 1 ? span : pts) * (40.0 + q);  // the last level: two pmf values per s
}
}  // namespace maj_detail

// Adds to acc[j] (j over needed ks, ascending) the probability that the target cluster (size c) wins the
// k-subset vote, credited g(t). maj = sum over x = correct draws of h_k(x) * Cond_x(k - x), where h_k is the
// hypergeometric pmf of x and Cond_x(s) the g-weighted probability that s uniform draws from the other
// R = n - c samples keep every competitor <= x. Only the x with h_k(x) >= kMajEps for some needed k are
// visited, and each only for those k (so the cost follows the ks asked for); per x, competitors that
// cannot reach x are unconstrained (free pool), an x where some competitor (almost surely) exceeds x is
// skipped, and Cond_x comes from cond_x1 (x = 1), cond_dp or cond_window (x >= 2, the cheaper one).
inline void maj_target(int64_t n, int64_t c, const std::vector<Competitor>& comps, int64_t free_pool, Tie tie,
                       const std::vector<int64_t>& kneed, const LogFactorial& lf, double* acc,
                       maj_detail::Scratch& sc, MajPath path = MajPath::Auto) {
  const int64_t R = n - c;
  const int64_t NK = static_cast<int64_t>(kneed.size());
  // significant x window of each k
  std::vector<int64_t> xlo(NK, 1), xhi(NK, 0), order;
  for (int64_t j = 0; j < NK; ++j) {
    const int64_t k = kneed[j];
    const auto wdw = lf.hyp_bounds(c, R, k, std::max<int64_t>(1, k - R), std::min(c, k), kMajEps);
    if (wdw.first > wdw.second) continue;
    xlo[j] = wdw.first;
    xhi[j] = wdw.second;
    order.push_back(j);
  }
  std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) { return xlo[p] < xlo[q]; });
  // competitors by size, largest first: those that can reach x are a prefix
  std::vector<Competitor> bysize(comps);
  std::stable_sort(bysize.begin(), bysize.end(), [](const Competitor& p, const Competitor& q) {
    return p.size > q.size;
  });
  std::vector<int64_t> active, svals, hx(NK, -2);
  std::vector<double> cond, hprev(NK, 0.0);
  std::vector<Competitor> competitive;
  size_t next = 0;
  int64_t x = order.empty() ? 0 : xlo[order[0]];
  while (true) {
    if (active.empty()) {
      if (next == order.size()) break;
      x = std::max(x, xlo[order[next]]);
    }
    while (next < order.size() && xlo[order[next]] <= x) active.push_back(order[next++]);
    active.erase(std::remove_if(active.begin(), active.end(), [&](int64_t j) { return xhi[j] < x; }),
                 active.end());
    if (active.empty()) continue;
    poll_interrupt();
    std::sort(active.begin(), active.end());
    svals.resize(active.size());
    for (size_t i = 0; i < active.size(); ++i) svals[i] = kneed[active[i]] - x;
    cond.assign(active.size(), 0.0);
    bool skip = false;
    if (x == 1 && path == MajPath::Estimate) {
      acc[0] += static_cast<double>(svals.size()) * static_cast<double>(comps.size() + 1);
      skip = true;
    } else if (x == 1) {
      maj_detail::cond_x1(comps, free_pool, R, tie, svals, lf, sc, cond.data());
    } else {
      const int64_t smin = svals.front(), smax = svals.back();
      competitive.clear();
      int64_t rcomp = 0, m_u = 0;
      for (const auto& cp : bysize) {
        if (cp.size < x) break;
        if (maj_detail::bound_ge(x, cp.size, R, smax) < kMajEps) continue;  // never reaches x: free
        if (maj_detail::bound_le(x, cp.size, R, smin) < kMajEps) { skip = true; break; }  // always above x
        competitive.push_back(cp);
        rcomp += cp.size;
        m_u += cp.tie_u;
      }
      if (!skip) {
        if (competitive.empty()) {
          std::fill(cond.begin(), cond.end(), 1.0);
        } else {
          std::reverse(competitive.begin(), competitive.end());  // smallest first: the largest is the O(1) level
          const int q = tie == Tie::Random ? static_cast<int>(m_u / 2 + 1) : 1;
          const int64_t S = static_cast<int64_t>(svals.size());
          bool window = path == MajPath::Window;
          if (path == MajPath::Auto || path == MajPath::Estimate) {
            const double cw = maj_detail::cost_window(x, competitive, R - rcomp, q, S, smin, smax);
            const double cd = maj_detail::cost_dp(x, competitive, R, q, S, smax);
            window = cw < kWindowBias * cd;
            if (path == MajPath::Estimate) {
              acc[0] += std::min(cw / kWindowBias, cd);
              skip = true;
            }
          }
          if (path != MajPath::Estimate) {
            if (window) maj_detail::cond_window(x, competitive, R - rcomp, tie, svals, lf, sc, cond.data());
            else maj_detail::cond_dp(x, competitive, R, tie, svals, lf, sc, cond.data());
          }
        }
      }
    }
    if (!skip && path != MajPath::Estimate)
      for (size_t i = 0; i < active.size(); ++i) {
        // h_k(x) from h_k(x - 1) by the ratio (c - x + 1)(k - x + 1) / (x (R - k + x)), re-anchored every 32 steps
        const int64_t j = active[i], k = kneed[j];
        double& h = hprev[j];
        if (hx[j] == x - 1 && ((x - xlo[j]) & 31) != 0 && h > 1e-280)
          h *= (static_cast<double>(c - x + 1) * static_cast<double>(k - x + 1)) /
               (static_cast<double>(x) * static_cast<double>(R - k + x));
        else
          h = lf.hyp(x, c, R, k);
        hx[j] = x;
        acc[j] += h * cond[i];
      }
    ++x;
  }
}

// maj@k of one problem for the ks (out[j], NaN when k > n). sizes/correct: the clusters (size > 0),
// abst: abstentions (votes as one more wrong cluster when abstain == Vote, else never drawn into the vote).
inline void maj_problem(const std::vector<int64_t>& sizes, const std::vector<uint8_t>& correct, int64_t abst,
                        Tie tie, Abstain abstain, const int64_t* ks, int64_t K, const LogFactorial& lf,
                        double* out, maj_detail::Scratch& sc, MajPath path = MajPath::Auto) {
  std::vector<int64_t> sz(sizes);
  std::vector<uint8_t> cr(correct);
  int64_t n = abst, free_pool = 0;
  for (int64_t s : sizes) n += s;
  if (abst > 0) {
    if (abstain == Abstain::Vote) { sz.push_back(abst); cr.push_back(0); }
    else free_pool = abst;
  }
  std::vector<int64_t> kneed;
  for (int64_t j = 0; j < K; ++j) if (ks[j] <= n) kneed.push_back(ks[j]);
  std::sort(kneed.begin(), kneed.end());
  kneed.erase(std::unique(kneed.begin(), kneed.end()), kneed.end());
  std::vector<double> acc(kneed.size(), 0.0);
  std::vector<Competitor> comps;
  for (size_t t = 0; t < sz.size(); ++t) {
    if (!cr[t] || sz[t] <= 0) continue;
    comps.clear();
    for (size_t o = 0; o < sz.size(); ++o) {
      if (o == t || sz[o] <= 0) continue;
      // optimistic: among tied correct clusters only the first one is credited
      const bool tie_u = !(tie == Tie::Optimistic && cr[o] && o < t);
      comps.push_back({sz[o], tie_u});
    }
    maj_target(n, sz[t], comps, free_pool, tie, kneed, lf, acc.data(), sc, path);
  }
  for (int64_t j = 0; j < K; ++j) {
    if (ks[j] > n) { out[j] = kNaN; continue; }
    const size_t idx = std::lower_bound(kneed.begin(), kneed.end(), ks[j]) - kneed.begin();
    out[j] = path == MajPath::Estimate ? (idx == 0 ? acc[0] : 0.0) : std::min(1.0, std::max(0.0, acc[idx]));
  }
}

// maj@k from cluster counts. sizes: (P, M) zero-padded, correct: (P, M), abst: (P,) or nullptr.
// out: (P, K).
inline void maj_at_k_counts(const int64_t* sizes, const uint8_t* correct, const int64_t* abst, int64_t P,
                            int64_t M, const int64_t* ks, int64_t K, Tie tie, Abstain abstain, bool lenient,
                            double* out, int num_threads, MajPath path = MajPath::Auto) {
  if (P < 1) throw std::invalid_argument("cluster_sizes must not be empty");
  check_ks(ks, K);
  const int64_t kmax = *std::max_element(ks, ks + K);
  int64_t nmax = 1;
  for (int64_t p = 0; p < P; ++p) {
    int64_t n = abst ? abst[p] : 0;
    if (abst && abst[p] < 0)
      throw std::invalid_argument("abstentions must be >= 0, got " + std::to_string(abst[p]) + " for problem " +
                                  std::to_string(p));
    for (int64_t m = 0; m < M; ++m) {
      const int64_t s = sizes[p * M + m];
      if (s < 0)
        throw std::invalid_argument("cluster_sizes must be >= 0, got " + std::to_string(s) + " at [" +
                                    std::to_string(p) + ", " + std::to_string(m) + "]");
      n += s;
    }
    if (n > kMaxVoteSamples)
      throw std::invalid_argument("maj@k supports at most " + std::to_string(kMaxVoteSamples) +
                                  " samples per problem, got " + std::to_string(n) + " in problem " +
                                  std::to_string(p));
    check_k_le_n(kmax, n, p, lenient, "num_samples");
    nmax = std::max(nmax, n);
  }
  const LogFactorial lf(nmax);
  parallel_for(P, num_threads, [&](int64_t b, int64_t e) {
    std::vector<int64_t> sz;
    std::vector<uint8_t> cr;
    maj_detail::Scratch sc;
    for (int64_t p = b; p < e; ++p) {
      poll_interrupt();
      sz.clear();
      cr.clear();
      for (int64_t m = 0; m < M; ++m)
        if (sizes[p * M + m] > 0) { sz.push_back(sizes[p * M + m]); cr.push_back(correct[p * M + m] != 0); }
      maj_problem(sz, cr, abst ? abst[p] : 0, tie, abstain, ks, K, lf, out + p * K, sc, path);
    }
  }, 1);
}

// Clusters one row of answer ids (-1 abstain, -2 padding; ids >= 0). Throws when a cluster is marked
// both correct and wrong. Returns n (non-padding samples).
inline int64_t cluster_row(const int64_t* ans, const uint8_t* cor, int64_t N, int64_t p,
                           std::vector<std::pair<int64_t, uint8_t>>& buf, std::vector<int64_t>& sizes,
                           std::vector<uint8_t>& correct, int64_t& abst) {
  buf.clear();
  sizes.clear();
  correct.clear();
  abst = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < N; ++i) {
    const int64_t a = ans[i];
    if (a == -2) continue;
    ++n;
    if (a == -1) { ++abst; continue; }
    if (a < -2)
      throw std::invalid_argument("answers must be >= 0, -1 (abstain) or -2 (padding), got " + std::to_string(a) +
                                  " at [" + std::to_string(p) + ", " + std::to_string(i) + "]");
    buf.push_back({a, cor[i] != 0});
  }
  std::sort(buf.begin(), buf.end());
  for (size_t i = 0; i < buf.size();) {
    size_t j = i;
    while (j < buf.size() && buf[j].first == buf[i].first) ++j;
    if (buf[j - 1].second != buf[i].second)
      throw std::invalid_argument("answer cluster " + std::to_string(buf[i].first) + " of problem " +
                                  std::to_string(p) + " is marked both correct and wrong");
    sizes.push_back(static_cast<int64_t>(j - i));
    correct.push_back(buf[i].second);
    i = j;
  }
  return n;
}

// maj@k from answer ids. answers: (P, N) int64, correct: (P, N) uint8; out: (P, K).
inline void maj_at_k(const int64_t* answers, const uint8_t* correct, int64_t P, int64_t N, const int64_t* ks,
                     int64_t K, Tie tie, Abstain abstain, bool lenient, double* out, int num_threads,
                     MajPath path = MajPath::Auto) {
  if (P < 1 || N < 1) throw std::invalid_argument("answers must not be empty");
  check_ks(ks, K);
  const int64_t kmax = *std::max_element(ks, ks + K);
  std::vector<int64_t> ns(P);
  {
    std::vector<std::pair<int64_t, uint8_t>> buf;
    std::vector<int64_t> sz;
    std::vector<uint8_t> cr;
    int64_t ab;
    for (int64_t p = 0; p < P; ++p) {
      if ((p & 255) == 255) poll_interrupt();
      ns[p] = cluster_row(answers + p * N, correct + p * N, N, p, buf, sz, cr, ab);
      check_k_le_n(kmax, ns[p], p, lenient, "num_samples");
    }
  }
  const LogFactorial lf(N);
  parallel_for(P, num_threads, [&](int64_t b, int64_t e) {
    std::vector<std::pair<int64_t, uint8_t>> buf;
    std::vector<int64_t> sz;
    std::vector<uint8_t> cr;
    int64_t ab;
    maj_detail::Scratch sc;
    for (int64_t p = b; p < e; ++p) {
      poll_interrupt();
      cluster_row(answers + p * N, correct + p * N, N, p, buf, sz, cr, ab);
      maj_problem(sz, cr, ab, tie, abstain, ks, K, lf, out + p * K, sc, path);
    }
  }, 1);
}

// ---- best-of-k ---------------------------------------------------------------------------------
// BoN@k = sum_g [C(n-A_g, k) - C(n-A_g-m_g, k)] / C(n, k) * mu_g over groups of equal score (sorted
// descending; A_g = samples scored strictly higher, m_g = group size, mu_g = mean correctness; ties
// broken uniformly at random). scores: (P, N) float64, NaN = padding (Python maps padding; real NaN
// scores are rejected there); correct: (P, N) uint8; out: (P, K).
inline void best_of_k(const double* scores, const uint8_t* correct, const int64_t* lens, int64_t P, int64_t N,
                      const int64_t* ks, int64_t K, bool lenient, double* out, int num_threads) {
  if (P < 1 || N < 1) throw std::invalid_argument("scores must not be empty");
  check_ks(ks, K);
  const int64_t kmax = *std::max_element(ks, ks + K);
  for (int64_t p = 0; p < P; ++p) {
    const int64_t n = lens ? lens[p] : N;
    if (n < 0 || n > N)
      throw std::invalid_argument("lengths must be in [0, " + std::to_string(N) + "], got " + std::to_string(n));
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(scores[p * N + i]))
        throw std::invalid_argument("scores must be finite, got " + std::to_string(scores[p * N + i]) + " at [" +
                                    std::to_string(p) + ", " + std::to_string(i) + "]");
    check_k_le_n(kmax, n, p, lenient, "num_samples");
  }
  parallel_for(P, num_threads, [&](int64_t b, int64_t e) {
    std::vector<std::pair<double, uint8_t>> row;
    for (int64_t p = b; p < e; ++p) {
      poll_interrupt();
      const int64_t n = lens ? lens[p] : N;
      row.clear();
      for (int64_t i = 0; i < n; ++i) row.push_back({scores[p * N + i], correct[p * N + i] != 0});
      std::sort(row.begin(), row.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      for (int64_t j = 0; j < K; ++j) {
        const int64_t k = ks[j];
        if (k > n) { out[p * K + j] = kNaN; continue; }
        // r(A) = C(n-A, k)/C(n, k), r(0) = 1, r(A+1) = r(A) (n-A-k)/(n-A): products only (no lgamma error)
        double v = 0.0, r = 1.0;
        for (int64_t a = 0; a < n;) {
          int64_t g = a, hits = 0;
          while (g < n && row[g].first == row[a].first) hits += row[g++].second;
          if (n - a < k) break;  // this and later groups are never the top of a k-subset
          const double hi = r;
          for (int64_t A = a; A < g; ++A)
            r = n - A - k > 0 ? r * static_cast<double>(n - A - k) / static_cast<double>(n - A) : 0.0;
          if (hits) v += (hi - r) * static_cast<double>(hits) / static_cast<double>(g - a);
          a = g;
        }
        out[p * K + j] = std::min(1.0, std::max(0.0, v));
      }
    }
  }, 1);
}

// ---- reward-weighted majority (Monte Carlo) ------------------------------------------------------
// splitmix64: seeds an independent stream per (seed, problem, k), so results do not depend on threads.
inline uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
inline uint64_t bounded(uint64_t& s, uint64_t m) {  // uniform in [0, m)
  __extension__ typedef unsigned __int128 u128;  // GCC/Clang: Lemire's multiply-shift
  return static_cast<uint64_t>((static_cast<u128>(splitmix64(s)) * m) >> 64);
}

// Each draw: a uniform k-subset; each non-abstaining sample votes for its cluster with weight = its
// score; the cluster with the largest score sum wins (exact ties at random); credit = winner correct
// (0 when every drawn sample abstains). answers: (P, N) int64 (-1 abstain, -2 pad), scores (P, N),
// correct (P, N) uint8. out, mc_var: (P, K) mean credit and its Monte Carlo variance (var / draws).
inline void weighted_maj_at_k(const int64_t* answers, const double* scores, const uint8_t* correct, int64_t P,
                              int64_t N, const int64_t* ks, int64_t K, int64_t draws, uint64_t seed, bool lenient,
                              double* out, double* mc_var, int num_threads) {
  if (P < 1 || N < 1) throw std::invalid_argument("answers must not be empty");
  if (draws < 1 || draws > kMaxDraws)
    throw std::invalid_argument("draws must be in [1, " + std::to_string(kMaxDraws) + "], got " +
                                std::to_string(draws));
  check_ks(ks, K);
  const int64_t kmax = *std::max_element(ks, ks + K);
  {
    std::vector<std::pair<int64_t, uint8_t>> buf;
    std::vector<int64_t> sz;
    std::vector<uint8_t> cr;
    int64_t ab;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t n = cluster_row(answers + p * N, correct + p * N, N, p, buf, sz, cr, ab);
      check_k_le_n(kmax, n, p, lenient, "num_samples");
      for (int64_t i = 0; i < N; ++i)
        if (answers[p * N + i] != -2 && !(std::isfinite(scores[p * N + i]) && scores[p * N + i] >= 0.0))
          throw std::invalid_argument("scores must be finite and >= 0 (vote weights), got " +
                                      std::to_string(scores[p * N + i]) + " at [" + std::to_string(p) + ", " +
                                      std::to_string(i) + "]");
    }
  }
  parallel_for(P, num_threads, [&](int64_t b, int64_t e) {
    std::vector<int64_t> cid, perm, touched, mark;
    std::vector<double> sc, sums;
    std::vector<uint8_t> ccor;
    std::vector<std::pair<int64_t, int64_t>> order;  // (answer id, row position)
    for (int64_t p = b; p < e; ++p) {
      order.clear();
      for (int64_t i = 0; i < N; ++i)
        if (answers[p * N + i] != -2) order.push_back({answers[p * N + i], i});
      const int64_t n = static_cast<int64_t>(order.size());
      cid.assign(n, -1);
      sc.resize(n);
      for (int64_t i = 0; i < n; ++i) sc[i] = scores[p * N + order[i].second];
      // dense cluster ids: sort sample indices by answer id
      perm.resize(n);
      std::iota(perm.begin(), perm.end(), 0);
      std::sort(perm.begin(), perm.end(), [&](int64_t a, int64_t c2) { return order[a].first < order[c2].first; });
      ccor.clear();
      int64_t M = 0;
      for (int64_t r = 0; r < n; ++r) {
        const int64_t i = perm[r];
        if (order[i].first < 0) continue;
        if (r == 0 || order[perm[r - 1]].first != order[i].first) {
          ++M;
          ccor.push_back(correct[p * N + order[i].second] != 0);
        }
        cid[i] = M - 1;
      }
      sums.assign(M, 0.0);
      mark.assign(M, -1);
      for (int64_t j = 0; j < K; ++j) {
        const int64_t k = ks[j];
        if (k > n) { out[p * K + j] = kNaN; mc_var[p * K + j] = kNaN; continue; }
        uint64_t st = seed;
        splitmix64(st);
        st ^= 0xD1B54A32D192ED03ull * static_cast<uint64_t>(p + 1);
        splitmix64(st);
        st ^= 0x8CB92BA72F3D8DD7ull * static_cast<uint64_t>(k);
        std::iota(perm.begin(), perm.end(), 0);
        std::fill(mark.begin(), mark.end(), -1);
        int64_t wins = 0;
        for (int64_t d = 0; d < draws; ++d) {
          if ((d & 1023) == 1023) poll_interrupt();
          touched.clear();
          for (int64_t t = 0; t < k; ++t) {  // partial Fisher-Yates: perm[0..k) is a uniform k-subset
            const int64_t r = t + static_cast<int64_t>(bounded(st, static_cast<uint64_t>(n - t)));
            std::swap(perm[t], perm[r]);
            const int64_t cl = cid[perm[t]];
            if (cl < 0) continue;
            if (mark[cl] != d) { mark[cl] = d; sums[cl] = 0.0; touched.push_back(cl); }
            sums[cl] += sc[perm[t]];
          }
          // winner: max score sum among drawn clusters; exact ties at random (reservoir sampling)
          int64_t best = -1, nties = 0;
          double bestv = 0.0;
          for (int64_t cl : touched) {
            const double v = sums[cl];
            if (best < 0 || v > bestv) { best = cl; bestv = v; nties = 1; }
            else if (v == bestv && bounded(st, static_cast<uint64_t>(++nties)) == 0) best = cl;
          }
          if (best >= 0 && ccor[best]) ++wins;
        }
        const double pm = static_cast<double>(wins) / static_cast<double>(draws);
        out[p * K + j] = pm;
        mc_var[p * K + j] = draws > 1 ? pm * (1.0 - pm) / static_cast<double>(draws - 1) : 0.0;
      }
    }
  }, 1);
}

// ---- bootstrap over problems ----------------------------------------------------------------------
// Resample counts of B0 .. B0 + nb - 1 bootstrap replicates over P problems: row b holds how often each
// problem is drawn among P uniform draws with replacement (a multinomial(P, 1/P) vector, as float64 so it
// feeds a matrix product). Replicate b's draws come from its own splitmix64 stream keyed by (seed, b), so
// any split of the replicates into chunks and threads gives the same counts. out: (nb, P).
inline void bootstrap_counts(int64_t P, int64_t b0, int64_t nb, uint64_t seed, double* out, int num_threads) {
  if (P < 1) throw std::invalid_argument("bootstrap needs >= 1 problem, got " + std::to_string(P));
  if (nb < 0 || b0 < 0) throw std::invalid_argument("bootstrap replicate range must be non-negative");
  parallel_for(nb, num_threads, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      poll_interrupt();
      double* row = out + r * P;
      std::fill(row, row + P, 0.0);
      uint64_t st = seed;
      splitmix64(st);
      st ^= 0xA0761D6478BD642Full * static_cast<uint64_t>(b0 + r + 1);
      splitmix64(st);
      for (int64_t i = 0; i < P; ++i) row[bounded(st, static_cast<uint64_t>(P))] += 1.0;
    }
  }, std::max<int64_t>(1, (int64_t{1} << 22) / P));  // threads only for > 4M draws each
}

// Means of the same replicates directly: out[r, j] = sum_p count[r, p] v[p, j] / sum_p count[r, p] [v[p, j] not
// NaN] (NaN entries skipped), for small problems where a matrix product's thread start-up costs more than the
// work. values: (P, K) row-major; out: (nb, K).
inline void bootstrap_means(const double* values, int64_t P, int64_t K, int64_t b0, int64_t nb, uint64_t seed,
                            double* out, int num_threads) {
  if (P < 1 || K < 1) throw std::invalid_argument("bootstrap needs a non-empty (problems, ks) matrix");
  bool has_nan = false;
  for (int64_t i = 0; i < P * K && !has_nan; ++i) has_nan = std::isnan(values[i]);
  parallel_for(nb, num_threads, [&](int64_t b, int64_t e) {
    std::vector<double> cnt(P), okc(has_nan ? K : 0);
    for (int64_t r = b; r < e; ++r) {
      poll_interrupt();
      bootstrap_counts(P, b0 + r, 1, seed, cnt.data(), 1);
      double* o = out + r * K;
      std::fill(o, o + K, 0.0);
      if (has_nan) std::fill(okc.begin(), okc.end(), 0.0);
      for (int64_t p = 0; p < P; ++p) {
        const double w = cnt[p];
        if (w == 0.0) continue;
        const double* v = values + p * K;
        if (!has_nan) {
          for (int64_t j = 0; j < K; ++j) o[j] += w * v[j];
        } else {
          for (int64_t j = 0; j < K; ++j)
            if (!std::isnan(v[j])) { o[j] += w * v[j]; okc[j] += w; }
        }
      }
      for (int64_t j = 0; j < K; ++j) o[j] = has_nan ? (okc[j] > 0.0 ? o[j] / okc[j] : kNaN) : o[j] / P;
    }
  }, std::max<int64_t>(1, (int64_t{1} << 22) / (P * K)));
}

}  // namespace ttc_fast
