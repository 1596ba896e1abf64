// Exact test-time-compute estimators: pass@k, maj@k, best-of-k (exact, every k) and reward-weighted
// majority (seeded Monte Carlo). Pure C++17, namespace ttc_fast, no pybind11. The math is in
// shared/design/estimators.md; each function documents its layout. All arrays are row-major.
//
// Every exact estimator is the average over the uniformly random k-subsets of the n samples of one
// problem. Combinatorial weights never form C(n, k) in floating point: they are hypergeometric
// probabilities exp(lC + lC - lC) from a log-factorial table, or multiplicative recurrences of ratios,
// so every intermediate is a probability in [0, 1] and nothing overflows.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
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
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

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
  // Hypergeometric pmf: P(i of s draws come from pool 1) with pools r1, r2 (no replacement).
  double hyp(int64_t i, int64_t r1, int64_t r2, int64_t s) const {
    if (i < 0 || i > r1 || s - i < 0 || s - i > r2) return 0.0;
    return std::exp(lchoose(r1, i) + lchoose(r2, s - i) - lchoose(r1 + r2, s));
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
// pass@k = 1 - C(n-c, k)/C(n, k) = 1 - prod_{j<k} (1 - c/(n-j)); summed in log space with log1p and
// finished with -expm1, so tiny values keep full relative precision. The dataset mean depends only on
// the histogram of (n, c) pairs, so each distinct pair is evaluated once (O(n) for all k).
// n, c: (P,); ks: (K,); per_problem: (P, K) or nullptr. k > n: error, or NaN when lenient.
inline Summary pass_at_k(const int64_t* n, const int64_t* c, int64_t P, const int64_t* ks, int64_t K,
                         bool lenient, double* per_problem, int num_threads) {
  if (P < 1) throw std::invalid_argument("num_samples must not be empty");
  check_ks(ks, K);
  const int64_t kmax = *std::max_element(ks, ks + K);
  std::vector<std::pair<int64_t, int64_t>> keys(P);
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
    keys[p] = {n[p], c[p]};
  }
  std::vector<std::pair<int64_t, int64_t>> uniq(keys);
  std::sort(uniq.begin(), uniq.end());
  uniq.erase(std::unique(uniq.begin(), uniq.end()), uniq.end());
  const int64_t U = static_cast<int64_t>(uniq.size());
  std::vector<double> vals(U * K);
  parallel_for(U, num_threads, [&](int64_t b, int64_t e) {
    std::vector<double> logq;
    for (int64_t u = b; u < e; ++u) {
      const int64_t nn = uniq[u].first, cc = uniq[u].second, top = std::min(nn, kmax);
      logq.assign(top + 1, 0.0);  // logq[k] = log C(n-c, k)/C(n, k)
      for (int64_t j = 0; j < top; ++j)  // q_k = 0 once k > n - c
        logq[j + 1] = j >= nn - cc ? kNegInf
                                   : logq[j] + std::log1p(-static_cast<double>(cc) / static_cast<double>(nn - j));
      for (int64_t j = 0; j < K; ++j) vals[u * K + j] = ks[j] > nn ? kNaN : -std::expm1(logq[ks[j]]);
    }
  }, std::max<int64_t>(16, 500000 / (kmax + K)));  // threads only pay off above ~0.5M log1p per chunk
  // counts of each distinct pair
  std::vector<int64_t> where(P), mult(U, 0);
  for (int64_t p = 0; p < P; ++p) {
    where[p] = std::lower_bound(uniq.begin(), uniq.end(), keys[p]) - uniq.begin();
    ++mult[where[p]];
  }
  Summary s{std::vector<int64_t>(K, 0), std::vector<double>(K, 0.0), std::vector<double>(K, 0.0)};
  for (int64_t u = 0; u < U; ++u)
    for (int64_t j = 0; j < K; ++j) {
      const double v = vals[u * K + j];
      if (!std::isnan(v)) { s.count[j] += mult[u]; s.mean[j] += mult[u] * v; }
    }
  for (int64_t j = 0; j < K; ++j) s.mean[j] = s.count[j] ? s.mean[j] / s.count[j] : kNaN;
  for (int64_t u = 0; u < U; ++u)
    for (int64_t j = 0; j < K; ++j) {
      const double v = vals[u * K + j];
      if (!std::isnan(v)) s.m2[j] += mult[u] * (v - s.mean[j]) * (v - s.mean[j]);
    }
  if (per_problem) {
    parallel_for(P, num_threads, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p)
        std::copy(vals.begin() + where[p] * K, vals.begin() + (where[p] + 1) * K, per_problem + p * K);
    }, 1024);
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

// Adds to acc[j] (j over needed ks) the probability that target cluster (size c) wins the k-subset
// vote, credited g(t). Sum over x = correct draws: h_k(x) * Cond_x(k - x), where Cond_x(s) is the
// g-weighted probability that s uniform draws from the other R = n - c samples keep every competitor
// <= x. Cond_x is built by merging normalised probability vectors (each entry in [0, 1]) with
// hypergeometric weights; competitors with size < x are unconstrained and join the free pool.
inline void maj_target(int64_t n, int64_t c, const std::vector<Competitor>& comps, int64_t free_pool, Tie tie,
                       const std::vector<int64_t>& kneed, const LogFactorial& lf, double* acc) {
  const int64_t R = n - c;
  const size_t NK = kneed.size();
  std::vector<double> gl_x, gl_w, vec, next, row, win, cond(NK);
  // ---- x = 1: competitors with tie_u take at most one draw (each such draw is a tie), the others
  // none. E_j = e_j(sizes) / C(Rle, j) by the normalised elementary-symmetric recurrence.
  {
    int64_t rle = 0;
    std::vector<double> E(1, 1.0);
    for (const auto& cp : comps) {
      if (!cp.tie_u) continue;
      const int64_t r1 = rle, w = cp.size;
      std::vector<double> En(E.size() + 1, 0.0);
      // r[j] = C(r1, j)/C(r1+w, j)
      double r = 1.0, r_prev = 0.0;
      for (size_t j = 0; j < En.size(); ++j) {
        // term1: E_j * C(r1,j)/C(r1+w,j); term2: E_{j-1} * w*C(r1,j-1)/C(r1+w,j)
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
    // free pool (abstentions under "exclude"); clusters that may not tie (not tie_u) receive no draw at x = 1
    const int64_t rf = free_pool;
    for (size_t j = 0; j < NK; ++j) {
      const int64_t k = kneed[j], s = k - 1;
      if (s < 0 || s > R || c < 1) continue;
      // P(t of the s draws from the tie-capable pool, s - t from the free pool) * E_t * g(t);
      // strict clusters (not tie_u) receive no draw, so the weights use the pools rle and rf out of R.
      double v = 0.0;
      const int64_t lo = std::max<int64_t>(0, s - rf), hi = std::min<int64_t>(s, static_cast<int64_t>(E.size()) - 1);
      if (hi >= lo) {
        row.resize(hi - lo + 1);
        lf.hyp_row(rle, rf, s, lo, hi, row.data());
        const double scale = std::exp(lf.lchoose(rle + rf, s) - lf.lchoose(R, s));
        for (int64_t t = lo; t <= hi; ++t) {
          const double g = tie == Tie::Random ? 1.0 / (t + 1.0) : (tie == Tie::Strict ? (t == 0) : 1.0);
          v += g * E[t] * row[t - lo];
        }
        v *= scale;
      }
      acc[j] += lf.hyp(1, c, R, k) * std::min(1.0, v);
    }
  }
  // ---- x >= 2
  for (int64_t x = 2; x <= c; ++x) {
    int64_t rbig = 0, m_u = 0;
    std::vector<const Competitor*> big;
    for (const auto& cp : comps)
      if (cp.size >= x) { big.push_back(&cp); rbig += cp.size; m_u += cp.tie_u; }
    const int64_t rf = R - rbig;
    if (big.empty()) {
      for (size_t j = 0; j < NK; ++j) acc[j] += lf.hyp(x, c, R, kneed[j]);
      continue;
    }
    int q = 1;
    if (tie == Tie::Random) q = static_cast<int>(m_u / 2 + 1);
    if (tie == Tie::Random) gauss_legendre01(q, gl_x, gl_w);
    std::fill(cond.begin(), cond.end(), 0.0);
    for (int node = 0; node < q; ++node) {
      const double u = tie == Tie::Random ? gl_x[node] : (tie == Tie::Strict ? 0.0 : 1.0);
      const double wn = tie == Tie::Random ? gl_w[node] : 1.0;
      int64_t r1 = 0;
      vec.assign(1, 1.0);
      for (const Competitor* cp : big) {
        // the cluster's own normalised vector: 1 for y < x, u (or 0) at y = x
        const double top = cp->tie_u ? u : 0.0;
        const int64_t w = cp->size, L1 = static_cast<int64_t>(vec.size());
        next.assign(L1 + x, 0.0);
        for (int64_t s = 0; s < L1 + x; ++s) {
          // i = draws from the merged pool (weight vec[i]), s - i <= x from this cluster
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
      //          Every update adds non-negative terms, so it is as stable as the direct sums.
      const int64_t L = static_cast<int64_t>(vec.size());
      int64_t n_direct = 0, smax = -1;
      for (size_t j = 0; j < NK; ++j) {
        const int64_t s = kneed[j] - x;
        if (s >= 0 && s <= R) { ++n_direct; smax = s; }
      }
      if (n_direct * L <= (smax + 1) * (L - x + 2)) {
        for (size_t j = 0; j < NK; ++j) {
          const int64_t s = kneed[j] - x;
          if (s < 0 || s > R) continue;
          const int64_t lo = std::max<int64_t>(0, s - rf), hi = std::min<int64_t>(s, L - 1);
          double v = 0.0;
          if (hi >= lo) {
            row.resize(hi - lo + 1);
            lf.hyp_row(rbig, rf, s, lo, hi, row.data());
            for (int64_t i = lo; i <= hi; ++i) v += row[i - lo] * vec[i];
          }
          cond[j] += wn * std::min(1.0, v);
        }
      } else {
        const int64_t W = L - x;  // window i = x .. L-1 (W >= 1)
        win.assign(W, 0.0);       // s = 0: I_0 = 0 < x
        double tail = 0.0;        // P(I_s >= x)
        size_t j = 0;
        while (j < NK && kneed[j] - x < 0) ++j;
        for (int64_t s = 0; s <= smax; ++s) {
          if (j < NK && kneed[j] - x == s) {
            double v = 1.0 - tail;
            for (int64_t w = 0; w < W; ++w) v += win[w] * vec[x + w];
            cond[j++] += wn * std::min(1.0, std::max(0.0, v));
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
    for (size_t j = 0; j < NK; ++j) {
      const int64_t s = kneed[j] - x;
      if (s < 0 || s > R) continue;
      acc[j] += lf.hyp(x, c, R, kneed[j]) * std::min(1.0, cond[j]);
    }
  }
}

// maj@k of one problem for the ks (out[j], NaN when k > n). sizes/correct: the clusters (size > 0),
// abst: abstentions (votes as one more wrong cluster when abstain == Vote, else never drawn into the vote).
inline void maj_problem(const std::vector<int64_t>& sizes, const std::vector<uint8_t>& correct, int64_t abst,
                        Tie tie, Abstain abstain, const int64_t* ks, int64_t K, const LogFactorial& lf,
                        double* out) {
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
    maj_target(n, sz[t], comps, free_pool, tie, kneed, lf, acc.data());
  }
  for (int64_t j = 0; j < K; ++j) {
    if (ks[j] > n) { out[j] = kNaN; continue; }
    const size_t idx = std::lower_bound(kneed.begin(), kneed.end(), ks[j]) - kneed.begin();
    out[j] = std::min(1.0, std::max(0.0, acc[idx]));
  }
}

// maj@k from cluster counts. sizes: (P, M) zero-padded, correct: (P, M), abst: (P,) or nullptr.
// out: (P, K).
inline void maj_at_k_counts(const int64_t* sizes, const uint8_t* correct, const int64_t* abst, int64_t P,
                            int64_t M, const int64_t* ks, int64_t K, Tie tie, Abstain abstain, bool lenient,
                            double* out, int num_threads) {
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
    for (int64_t p = b; p < e; ++p) {
      sz.clear();
      cr.clear();
      for (int64_t m = 0; m < M; ++m)
        if (sizes[p * M + m] > 0) { sz.push_back(sizes[p * M + m]); cr.push_back(correct[p * M + m] != 0); }
      maj_problem(sz, cr, abst ? abst[p] : 0, tie, abstain, ks, K, lf, out + p * K);
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
                     int64_t K, Tie tie, Abstain abstain, bool lenient, double* out, int num_threads) {
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
    for (int64_t p = b; p < e; ++p) {
      cluster_row(answers + p * N, correct + p * N, N, p, buf, sz, cr, ab);
      maj_problem(sz, cr, ab, tie, abstain, ks, K, lf, out + p * K);
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
  if (draws < 1) throw std::invalid_argument("draws must be >= 1, got " + std::to_string(draws));
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
        if (answers[p * N + i] != -2 && !std::isfinite(scores[p * N + i]))
          throw std::invalid_argument("scores must be finite, got " + std::to_string(scores[p * N + i]) +
                                      " at [" + std::to_string(p) + ", " + std::to_string(i) + "]");
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

}  // namespace ttc_fast
