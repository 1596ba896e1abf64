// Minimal parallel-for used by every C++ loop in ttc_fast, and the cooperative interrupt that lets a
// caller stop a long loop (pure C++17; no pybind11 / torch). OpenMP when the build found it, otherwise
// std::thread over contiguous chunks.
//
// Interrupts, designed once for every loop:
//  - A caller opens an InterruptScope on its own thread with a `check` callback (the binding layer passes
//    one that takes the GIL and calls PyErr_CheckSignals). Without a scope nothing below costs anything.
//  - Long loops call poll_interrupt() at points microseconds to milliseconds apart. On the thread that
//    opened the scope it calls `check` at most every `interval` (20 ms by default); once `check` reports
//    a stop, or once any thread has seen one, poll_interrupt throws Interrupted on every thread.
//  - parallel_for hands the scope to its workers, skips chunks not started yet once a stop is requested,
//    and keeps polling on the calling thread while it waits for the other workers, so a stop is seen even
//    when the calling thread has no work left. The first exception (Interrupted or an error) is rethrown
//    on the calling thread after every worker has returned.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#ifdef TTC_FAST_OPENMP
#include <omp.h>
#endif

namespace ttc_fast {

// Thrown by poll_interrupt() when the scope's check asked to stop. Not a std::invalid_argument, so it
// never turns into a ValueError by accident; the binding layer converts it into the pending Python error.
struct Interrupted : std::exception {
  const char* what() const noexcept override { return "ttc_fast: interrupted"; }
};

namespace interrupt_detail {
struct State {
  bool (*check)(void*) = nullptr;  // called on the owner thread only; true = stop
  void* ctx = nullptr;
  std::chrono::steady_clock::duration interval{};
  std::chrono::steady_clock::time_point next_check{};
  std::atomic<bool> stop{false};
};
inline thread_local State* tl_state = nullptr;  // the scope this thread works for (nullptr: none)
inline thread_local bool tl_owner = false;      // this thread opened it (only it may call `check`)

// Binds a worker thread to the caller's scope for the duration of a chunk (no-op on the owner thread).
class WorkerBinding {
 public:
  explicit WorkerBinding(State* s) : prev_state_(tl_state), prev_owner_(tl_owner), rebind_(s != tl_state) {
    if (rebind_) {
      tl_state = s;
      tl_owner = false;
    }
  }
  ~WorkerBinding() {
    if (rebind_) {
      tl_state = prev_state_;
      tl_owner = prev_owner_;
    }
  }
  WorkerBinding(const WorkerBinding&) = delete;
  WorkerBinding& operator=(const WorkerBinding&) = delete;

 private:
  State* prev_state_;
  bool prev_owner_, rebind_;
};
}  // namespace interrupt_detail

// Opens an interrupt scope on the current thread (nestable; the innermost one is active).
class InterruptScope {
 public:
  InterruptScope(bool (*check)(void*), void* ctx,
                 std::chrono::milliseconds interval = std::chrono::milliseconds(20))
      : prev_state_(interrupt_detail::tl_state), prev_owner_(interrupt_detail::tl_owner) {
    state_.check = check;
    state_.ctx = ctx;
    state_.interval = interval;
    state_.next_check = std::chrono::steady_clock::now() + interval;
    interrupt_detail::tl_state = &state_;
    interrupt_detail::tl_owner = true;
  }
  ~InterruptScope() {
    interrupt_detail::tl_state = prev_state_;
    interrupt_detail::tl_owner = prev_owner_;
  }
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
  bool stopped() const { return state_.stop.load(std::memory_order_relaxed); }

 private:
  interrupt_detail::State state_;
  interrupt_detail::State* prev_state_;
  bool prev_owner_;
};

// Cheap enough for loops whose iterations take a microsecond or more (a TLS read and, on the owner
// thread, a clock read). Throws Interrupted once a stop was requested.
inline void poll_interrupt() {
  interrupt_detail::State* s = interrupt_detail::tl_state;
  if (s == nullptr) return;
  if (s->stop.load(std::memory_order_relaxed)) throw Interrupted();
  if (!interrupt_detail::tl_owner) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < s->next_check) return;
  const bool stop = s->check != nullptr && s->check(s->ctx);
  s->next_check = std::chrono::steady_clock::now() + s->interval;
  if (stop) {
    s->stop.store(true, std::memory_order_relaxed);
    throw Interrupted();
  }
}

// True once a stop was requested in the current scope (for loops that want to stop without throwing).
inline bool interrupt_requested() {
  const interrupt_detail::State* s = interrupt_detail::tl_state;
  return s != nullptr && s->stop.load(std::memory_order_relaxed);
}

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
  interrupt_detail::State* const scope = interrupt_detail::tl_state;
  int64_t threads = std::min<int64_t>(resolve_threads(num_threads), (n + min_chunk - 1) / min_chunk);
  if (threads <= 1) {
    poll_interrupt();
    fn(int64_t{0}, n);
    return;
  }
  std::exception_ptr error;
  std::mutex mutex;  // guards `error` and `running`
  std::condition_variable done;
  // Over-decompose 4x for load balance (problems differ in cost).
  const int64_t chunks = std::min<int64_t>(n, threads * 4);
  const int64_t step = (n + chunks - 1) / chunks;
  std::atomic<int64_t> next{0};
  int64_t running = threads;
  auto record = [&](std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!error) error = e;
  };
  auto work = [&] {  // one worker: take chunks until none is left (or a stop / an error)
    interrupt_detail::WorkerBinding bind(scope);
    for (int64_t c = next++; c < chunks; c = next++) {
      const int64_t b = c * step, e = std::min(n, b + step);
      if (b >= e) continue;
      if (scope != nullptr && scope->stop.load(std::memory_order_relaxed)) break;
      try {
        poll_interrupt();
        fn(b, e);
      } catch (...) {
        record(std::current_exception());
        next = chunks;  // skip the chunks not started yet
      }
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (--running == 0) done.notify_all();
  };
  // The calling thread works too; when it runs out of chunks it keeps polling until the others finish.
  auto wait_polling = [&] {
    std::unique_lock<std::mutex> lock(mutex);
    while (running > 0) {
      done.wait_for(lock, std::chrono::milliseconds(5));
      if (running == 0 || scope == nullptr) continue;
      lock.unlock();
      try {
        poll_interrupt();
      } catch (...) {
        record(std::current_exception());
        next = chunks;
      }
      lock.lock();
    }
  };
#ifdef TTC_FAST_OPENMP
  const std::thread::id caller = std::this_thread::get_id();
#pragma omp parallel num_threads(static_cast<int>(threads))
  {
#pragma omp single
    running = omp_get_num_threads();  // the team may be smaller than asked (nesting, thread limits)
    work();
    if (std::this_thread::get_id() == caller) wait_polling();
  }
#else
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  wait_polling();
  for (auto& th : pool) th.join();
#endif
  if (error) std::rethrow_exception(error);
}

}  // namespace ttc_fast
