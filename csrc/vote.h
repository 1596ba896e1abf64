// Majority vote per row on the CPU (pure C++17; no pybind11 / torch), identical to the torch reference
// ttc_fast.ops.vote._vote_torch: ids >= 0 are clusters, -1 abstains, -2 pads; clusters ordered by count
// descending then id ascending; the winner is the first cluster (-1 when none).
//
// Per row, no sort of the N samples: one scan (valid-id range, abstentions, the smallest value for the >= -2
// check), then a count of each cluster, then an ordering of the m distinct clusters only (m is usually small).
//  * dense rows (max - min of the valid ids < 2N + 64: small ids, or huge ones close together): a direct count
//    array indexed by id - min, read back in id order, so the clusters come out id-ascending;
//  * other rows (sparse / huge ids): an open-addressing hash table (power-of-two capacity >= 4N, linear
//    probing), cleared through its touched slots only; its distinct ids are then sorted (sort_by_id).
// The clusters, id-ascending, are then put in a stable order by count (emit). All tables live per thread (per
// parallel_for chunk), are reused across rows and are all-zero / empty between rows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "parallel.h"

namespace ttc_fast {
namespace vote_detail {

constexpr int kMaxBucketBits = 12;  // sort_by_id: at most 4096 buckets

inline uint64_t hash_slot(int64_t id, int shift) {
  return (static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ull) >> shift;  // Fibonacci hashing: high bits
}

struct Cluster {
  int64_t id;
  int64_t count;
};

// Per-thread scratch for rows of N samples; the tables are all-zero / empty between rows.
struct Scratch {
  // direct counting: counts[id - lo] for ids in [lo, lo + dense_cap); counts[dense_cap] is the sink of non-ids
  std::vector<uint32_t> counts;
  int64_t dense_cap = 0;
  // hash table, linear probing, load <= 1/4; key -1 = empty (valid ids are >= 0)
  std::vector<Cluster> table;
  int shift = 64;
  uint64_t mask = 0;
  std::vector<uint64_t> touched;  // occupied slots of the current row
  // the distinct clusters of the current row, and a second buffer for sort_by_id
  std::vector<Cluster> cl, tmp;
  std::vector<int64_t> by_count;  // counting sort by count: [0, N + 2)
  std::vector<uint32_t> hist;     // sort_by_id's buckets

  explicit Scratch(int64_t N) {
    dense_cap = 2 * N + 64;
    counts.assign(static_cast<size_t>(dense_cap + 1), 0u);
    int bits = 4;
    while ((int64_t{1} << bits) < 4 * N) ++bits;
    table.assign(size_t{1} << bits, Cluster{-1, 0});
    shift = 64 - bits;
    mask = (uint64_t{1} << bits) - 1;
    touched.resize(static_cast<size_t>(N));
    cl.resize(static_cast<size_t>(N));
    tmp.resize(static_cast<size_t>(N));
    by_count.assign(static_cast<size_t>(N + 2), 0);
    hist.assign(size_t{1} << kMaxBucketBits, 0u);
  }
};

inline void insertion_sort_by_id(Cluster* c, int64_t m) {
  for (int64_t i = 1; i < m; ++i) {
    const Cluster k = c[i];
    int64_t j = i;
    for (; j > 0 && k.id < c[j - 1].id; --j) c[j] = c[j - 1];
    c[j] = k;
  }
}

// Sort c[0, m) by id ascending (ids in [lo, hi]; distinct). A few: insertion sort. Else one MSD bucket pass on
// the top bits of id - lo (a power-of-two number of buckets >= 2m, at most 2^kMaxBucketBits), so that for
// spread ids the result is nearly sorted and one insertion sort finishes it; when some bucket is large (clustered
// ids) each bucket is sorted on its own (std::sort above 48). tmp: the second buffer; hist: 2^kMaxBucketBits
// zeros, left zero. Returns the sorted buffer (tmp).
inline Cluster* sort_by_id(Cluster* c, Cluster* tmp, int64_t m, int64_t lo, int64_t hi, uint32_t* hist) {
  if (m <= 32) {
    insertion_sort_by_id(c, m);
    return c;
  }
  int bbits = 5;
  while (bbits < kMaxBucketBits && (int64_t{1} << bbits) < 2 * m) ++bbits;
  int span_bits = 0;
  while (span_bits < 64 && (static_cast<uint64_t>(hi - lo) >> span_bits) != 0) ++span_bits;
  const int shift = std::max(0, span_bits - bbits);
  const int64_t nb = int64_t{1} << bbits;
  for (int64_t i = 0; i < m; ++i) ++hist[static_cast<uint64_t>(c[i].id - lo) >> shift];
  uint32_t sum = 0;
  for (int64_t d = 0; d < nb; ++d) {
    const uint32_t n = hist[d];
    hist[d] = sum;
    sum += n;
  }
  for (int64_t i = 0; i < m; ++i) tmp[hist[static_cast<uint64_t>(c[i].id - lo) >> shift]++] = c[i];
  // hist[d] is now the end of bucket d
  uint32_t begin = 0, largest = 0;
  for (int64_t d = 0; d < nb; ++d) {
    largest = std::max(largest, hist[d] - begin);
    begin = hist[d];
  }
  if (largest <= 16) {  // the usual case (spread ids): one insertion sort over the nearly sorted whole
    std::fill(hist, hist + nb, 0u);
    insertion_sort_by_id(tmp, m);
    return tmp;
  }
  begin = 0;
  for (int64_t d = 0; d < nb; ++d) {
    const uint32_t e = hist[d];
    hist[d] = 0;
    if (e - begin > 48)
      std::sort(tmp + begin, tmp + e, [](const Cluster& x, const Cluster& y) { return x.id < y.id; });
    else
      insertion_sort_by_id(tmp + begin, e - begin);
    begin = e;
  }
  return tmp;
}

// c[0, m): the clusters, id ascending, largest count maxc. Writes them ordered by count descending, then id
// ascending (a stable order by count) to ids / sizes. by_count: N + 2 zeros, left zero.
inline void emit(const Cluster* c, int64_t m, int64_t maxc, int64_t* by_count, int64_t* ids, int64_t* sizes) {
  if (maxc <= 1) {
    for (int64_t j = 0; j < m; ++j) ids[j] = c[j].id, sizes[j] = 1;
  } else if (m * m <= 4 * (maxc + 2 * m)) {  // few clusters: stable insertion sort by count
    for (int64_t i = 0; i < m; ++i) {
      const Cluster k = c[i];
      int64_t j = i;
      for (; j > 0 && k.count > sizes[j - 1]; --j) ids[j] = ids[j - 1], sizes[j] = sizes[j - 1];
      ids[j] = k.id;
      sizes[j] = k.count;
    }
  } else {  // counting sort by count, O(m + maxc)
    for (int64_t j = 0; j < m; ++j) ++by_count[c[j].count];
    int64_t pos = 0;
    for (int64_t k = maxc; k >= 1; --k) {
      const int64_t n = by_count[k];
      by_count[k] = pos;
      pos += n;
    }
    for (int64_t j = 0; j < m; ++j) {
      const int64_t k = by_count[c[j].count]++;
      ids[k] = c[j].id;
      sizes[k] = c[j].count;
    }
    std::fill(by_count, by_count + maxc + 1, int64_t{0});
  }
}

}  // namespace vote_detail

// answers [P, N] row-major (values >= -2, else std::invalid_argument); outputs winner, winner_count,
// runner_up_count, abstentions [P] and cluster_ids, cluster_sizes [P, N].
inline void vote_rows(const int64_t* answers, int64_t P, int64_t N, int64_t* winner, int64_t* winner_count,
                      int64_t* runner_up_count, int64_t* cluster_ids, int64_t* cluster_sizes, int64_t* abstentions,
                      int num_threads = 0) {
  if (P <= 0) return;
  if (N <= 0) {
    for (int64_t p = 0; p < P; ++p) winner[p] = -1, winner_count[p] = runner_up_count[p] = abstentions[p] = 0;
    return;
  }
  const bool dense_ok = N < (int64_t{1} << 30);  // uint32 counts
  // The >= -2 check runs inside the row scan: the smallest value of each chunk is merged here, and on a bad
  // value the error (naming the overall minimum) is thrown after the loop; the outputs are garbage then.
  std::mutex lo_mutex;
  int64_t lo_all = 0;
  parallel_for(
      P, num_threads,
      [&](int64_t begin, int64_t end) {
        vote_detail::Scratch s(N);
        vote_detail::Cluster* cl = s.cl.data();
        int64_t lo_chunk = 0;
        for (int64_t p = begin; p < end; ++p) {
          poll_interrupt();
          const int64_t* row = answers + p * N;
          int64_t* ids = cluster_ids + p * N;
          int64_t* sizes = cluster_sizes + p * N;
          // scan: abstentions, smallest value, range of the valid ids
          int64_t abst = 0, lo_row = 0, vmin = std::numeric_limits<int64_t>::max(), vmax = -1;
          for (int64_t j = 0; j < N; ++j) {
            const int64_t x = row[j];
            abst += x == -1;
            lo_row = std::min(lo_row, x);
            vmin = std::min(vmin, x < 0 ? std::numeric_limits<int64_t>::max() : x);
            vmax = std::max(vmax, x);
          }
          lo_chunk = std::min(lo_chunk, lo_row);
          int64_t m = 0, maxc = 0;
          if (vmax < 0) {  // no valid id
          } else if (dense_ok && vmax - vmin < s.dense_cap) {
            // direct count by id - vmin; read back in id order
            uint32_t* cnt = s.counts.data();
            const int64_t sink = s.dense_cap, range = vmax - vmin + 1;
            for (int64_t j = 0; j < N; ++j) {
              const int64_t x = row[j];
              ++cnt[x >= 0 ? x - vmin : sink];
            }
            cnt[sink] = 0;
            for (int64_t o = 0; o < range; ++o) {
              const int64_t c = cnt[o];
              if (c) {
                cl[m++] = {vmin + o, c};
                maxc = std::max(maxc, c);
                cnt[o] = 0;
              }
            }
            vote_detail::emit(cl, m, maxc, s.by_count.data(), ids, sizes);
          } else {
            // hash count, then sort the distinct ids
            vote_detail::Cluster* t = s.table.data();
            uint64_t* touched = s.touched.data();
            for (int64_t j = 0; j < N; ++j) {
              const int64_t x = row[j];
              if (x < 0) continue;
              uint64_t h = vote_detail::hash_slot(x, s.shift);
              while (t[h].id != x && t[h].id != -1) h = (h + 1) & s.mask;
              if (t[h].id == -1) {
                t[h].id = x;
                touched[m++] = h;
              }
              ++t[h].count;
            }
            for (int64_t j = 0; j < m; ++j) {
              vote_detail::Cluster& e = t[touched[j]];
              cl[j] = e;
              maxc = std::max(maxc, e.count);
              e = {-1, 0};
            }
            const vote_detail::Cluster* sorted =
                vote_detail::sort_by_id(cl, s.tmp.data(), m, vmin, vmax, s.hist.data());
            vote_detail::emit(sorted, m, maxc, s.by_count.data(), ids, sizes);
          }
          std::fill(ids + m, ids + N, int64_t{-2});
          std::fill(sizes + m, sizes + N, int64_t{0});
          winner[p] = m > 0 ? ids[0] : -1;
          winner_count[p] = m > 0 ? sizes[0] : 0;
          runner_up_count[p] = m > 1 ? sizes[1] : 0;
          abstentions[p] = abst;
        }
        if (lo_chunk < -2) {
          std::lock_guard<std::mutex> lock(lo_mutex);
          lo_all = std::min(lo_all, lo_chunk);
        }
      },
      /*min_chunk=*/16);
  if (lo_all < -2)
    throw std::invalid_argument("answer_ids must be >= -2 (-1 unparsable, -2 padding), got " + std::to_string(lo_all));
}

}  // namespace ttc_fast
