// Majority vote per row on the CPU (pure C++17; no pybind11 / torch), identical to the torch reference
// ttc_fast.ops.vote._vote_torch: ids >= 0 are clusters, -1 abstains, -2 pads; clusters ordered by count
// descending then id ascending; the winner is the first cluster (-1 when none).
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "parallel.h"

namespace ttc_fast {

// answers [P, N] row-major (values >= -2, else std::invalid_argument); outputs winner, winner_count,
// runner_up_count, abstentions [P] and cluster_ids, cluster_sizes [P, N].
inline void vote_rows(const int64_t* answers, int64_t P, int64_t N, int64_t* winner, int64_t* winner_count,
                      int64_t* runner_up_count, int64_t* cluster_ids, int64_t* cluster_sizes, int64_t* abstentions,
                      int num_threads = 0) {
  int64_t lo = 0;
  for (int64_t j = 0; j < P * N; ++j) lo = std::min(lo, answers[j]);
  if (lo < -2)
    throw std::invalid_argument("answer_ids must be >= -2 (-1 unparsable, -2 padding), got " + std::to_string(lo));
  parallel_for(
      P, num_threads,
      [&](int64_t begin, int64_t end) {
        std::vector<int64_t> vals;
        std::vector<std::pair<int64_t, int64_t>> runs;  // (-count, id): ascending = count desc, id asc
        vals.reserve(static_cast<size_t>(N));
        runs.reserve(static_cast<size_t>(N));
        for (int64_t p = begin; p < end; ++p) {
          const int64_t* row = answers + p * N;
          vals.clear();
          runs.clear();
          int64_t abst = 0;
          for (int64_t j = 0; j < N; ++j) {
            if (row[j] >= 0) vals.push_back(row[j]);
            else if (row[j] == -1) ++abst;
          }
          std::sort(vals.begin(), vals.end());
          for (size_t j = 0; j < vals.size();) {
            size_t e = j + 1;
            while (e < vals.size() && vals[e] == vals[j]) ++e;
            runs.emplace_back(-static_cast<int64_t>(e - j), vals[j]);
            j = e;
          }
          std::sort(runs.begin(), runs.end());
          int64_t* ids = cluster_ids + p * N;
          int64_t* sizes = cluster_sizes + p * N;
          const int64_t m = static_cast<int64_t>(runs.size());
          for (int64_t j = 0; j < m; ++j) {
            ids[j] = runs[j].second;
            sizes[j] = -runs[j].first;
          }
          std::fill(ids + m, ids + N, int64_t{-2});
          std::fill(sizes + m, sizes + N, int64_t{0});
          winner[p] = m > 0 ? ids[0] : -1;
          winner_count[p] = m > 0 ? sizes[0] : 0;
          runner_up_count[p] = m > 1 ? sizes[1] : 0;
          abstentions[p] = abst;
        }
      },
      /*min_chunk=*/16);
}

}  // namespace ttc_fast
