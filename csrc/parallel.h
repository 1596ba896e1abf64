// Minimal parallel-for used by every C++ loop in ttc_fast (pure C++17; no pybind11 / torch).
// OpenMP when the build found it, otherwise std::thread over contiguous chunks.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#ifdef TTC_FAST_OPENMP
#include <omp.h>
#endif

namespace ttc_fast {

// Number of worker threads: `requested` if > 0, else the hardware concurrency (at least 1).
inline int resolve_threads(int requested) {
  if (requested > 0) return requested;
#ifdef TTC_FAST_OPENMP
  return std::max(1, omp_get_max_threads());
#else
  return std::max(1u, std::thread::hardware_concurrency());
#endif
}

// Calls fn(begin, end) on disjoint chunks covering [0, n). Exceptions thrown by fn are rethrown
// (the first one) on the calling thread after all workers finish. Small n runs inline.
template <class Fn>
void parallel_for(int64_t n, int num_threads, Fn&& fn, int64_t min_chunk = 64) {
  if (n <= 0) return;
  int64_t threads = std::min<int64_t>(resolve_threads(num_threads), (n + min_chunk - 1) / min_chunk);
  if (threads <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
  // Over-decompose 4x for load balance (problems differ in cost).
  const int64_t chunks = std::min<int64_t>(n, threads * 4);
  const int64_t step = (n + chunks - 1) / chunks;
  auto run_chunk = [&](int64_t c) {
    const int64_t b = c * step, e = std::min(n, b + step);
    if (b >= e) return;
    try {
      fn(b, e);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
#ifdef TTC_FAST_OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(static_cast<int>(threads))
  for (int64_t c = 0; c < chunks; ++c) run_chunk(c);
#else
  std::vector<std::thread> pool;
  std::atomic<int64_t> next{0};
  for (int64_t t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (int64_t c = next++; c < chunks; c = next++) run_chunk(c);
    });
  for (auto& th : pool) th.join();
#endif
  if (error) std::rethrow_exception(error);
}

}  // namespace ttc_fast
