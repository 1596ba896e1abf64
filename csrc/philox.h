// Philox4x32-10 uniforms bit-identical to triton.language.rand(seed, offset) (pure C++17; no pybind11 / torch).
// Key = (seed low word, seed high word) of the int64 seed; counter = (offset low word, offset high word, 0, 0);
// the first output word is bitcast to int32, negatives mapped to -x - 1 (= ~x), converted to float32 and
// multiplied by the float32 constant 4.6566127342e-10 (Triton's uint_to_uniform_float), so u lies in [0, 1).
// Reference: torch philox_uniform in ttc_fast/ops/sampling.py (the test oracle).
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "parallel.h"

namespace ttc_fast {

// First output word of Philox4x32-10 for key (k0, k1) and counter (c0, c1, 0, 0).
inline uint32_t philox4x32_10_first(uint32_t c0, uint32_t c1, uint32_t k0, uint32_t k1) {
  uint32_t c2 = 0, c3 = 0;
  for (int r = 0; r < 10; ++r) {
    const uint64_t prod_b = static_cast<uint64_t>(c2) * 0xCD9E8D57u;
    const uint64_t prod_a = static_cast<uint64_t>(c0) * 0xD2511F53u;
    const uint32_t hi_b = static_cast<uint32_t>(prod_b >> 32), lo_b = static_cast<uint32_t>(prod_b);
    const uint32_t hi_a = static_cast<uint32_t>(prod_a >> 32), lo_a = static_cast<uint32_t>(prod_a);
    const uint32_t n0 = hi_b ^ c1 ^ k0, n2 = hi_a ^ c3 ^ k1;
    c0 = n0;
    c1 = lo_b;
    c2 = n2;
    c3 = lo_a;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c0;
}

// uint32 -> float32 in [0, 1) exactly as Triton's uint_to_uniform_float.
inline float uint32_to_uniform(uint32_t x) {
  int32_t s = static_cast<int32_t>(x);  // two's-complement bitcast (defined since C++20, universal in practice)
  if (s < 0) s = -s - 1;                // = ~s, never overflows
  return static_cast<float>(s) * 4.6566127342e-10f;
}

// tl.rand(seed, offset) for int64 seed and offset.
inline float philox_uniform(int64_t seed, int64_t offset) {
  const uint64_t s = static_cast<uint64_t>(seed), o = static_cast<uint64_t>(offset);
  return uint32_to_uniform(philox4x32_10_first(static_cast<uint32_t>(o), static_cast<uint32_t>(o >> 32),
                                               static_cast<uint32_t>(s), static_cast<uint32_t>(s >> 32)));
}

// The 10 rounds of philox4x32_10_first on L lanes at once (structure of arrays: the loop over lanes vectorises),
// counters c0..c3 in place, key (k0, k1). Always inlined, so each target clone below compiles it for its own ISA.
#if defined(__GNUC__)
#define TTC_FAST_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define TTC_FAST_ALWAYS_INLINE inline
#endif
template <int64_t L>
TTC_FAST_ALWAYS_INLINE void philox_rounds(uint32_t* c0, uint32_t* c1, uint32_t* c2, uint32_t* c3, uint32_t k0,
                                          uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    for (int64_t j = 0; j < L; ++j) {
      const uint64_t prod_b = static_cast<uint64_t>(c2[j]) * 0xCD9E8D57u;
      const uint64_t prod_a = static_cast<uint64_t>(c0[j]) * 0xD2511F53u;
      const uint32_t n0 = static_cast<uint32_t>(prod_b >> 32) ^ c1[j] ^ k0;
      const uint32_t n2 = static_cast<uint32_t>(prod_a >> 32) ^ c3[j] ^ k1;
      c1[j] = static_cast<uint32_t>(prod_b);
      c3[j] = static_cast<uint32_t>(prod_a);
      c0[j] = n0;
      c2[j] = n2;
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

// The block loop below auto-vectorises (32x32->64-bit multiplies); GCC on x86-64 Linux also emits an x86-64-v4
// (AVX-512 F/BW/DQ/VL) clone picked at load time: 2x faster than the default clone on the 2-core AMD EPYC dev box
// (4.1 M uniforms: 11.4 vs 23.4 ms, one thread). An "avx512f"-only clone is no faster than the default: without
// AVX-512VL/DQ GCC does not vectorise the 64-bit products. Same integer ops and the same float32 convert-and-
// multiply in every clone, so results are bit-identical.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define TTC_FAST_PHILOX_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define TTC_FAST_PHILOX_CLONES
#endif

// out[j] = tl.rand(seed with words (k0, k1), counter + j) for j in [0, n), counters modulo 2^64.
TTC_FAST_PHILOX_CLONES inline void philox_uniform_fill(uint64_t counter, uint32_t k0_in, uint32_t k1_in, int64_t n,
                                                       float* out) {
  constexpr int64_t L = 64;  // lanes per block (structure of arrays, so the round loop vectorises)
  alignas(64) uint32_t c0[L], c1[L], c2[L], c3[L];
  alignas(64) float u[L];
  for (int64_t s = 0; s < n; s += L) {
    for (int64_t j = 0; j < L; ++j) {
      const uint64_t o = counter + static_cast<uint64_t>(s + j);
      c0[j] = static_cast<uint32_t>(o);
      c1[j] = static_cast<uint32_t>(o >> 32);
      c2[j] = 0;
      c3[j] = 0;
    }
    philox_rounds<L>(c0, c1, c2, c3, k0_in, k1_in);
    for (int64_t j = 0; j < L; ++j) u[j] = uint32_to_uniform(c0[j]);
    const int64_t m = std::min(L, n - s);
    for (int64_t j = 0; j < m; ++j) out[s + j] = u[j];
  }
}

// out[b * V + i] = tl.rand(seeds[b], offsets[b] * V + i), the counter computed modulo 2^64 like int64 torch/Triton
// arithmetic. seeds, offsets: [B]; out: [B, V] row-major float32.
inline void philox_uniform_rows(const int64_t* seeds, const int64_t* offsets, int64_t B, int64_t V, float* out,
                                int num_threads = 0) {
  if (B < 0 || V < 0) throw std::invalid_argument("philox_uniform_rows: B and V must be >= 0");
  parallel_for(
      B * V, num_threads,
      [&](int64_t begin, int64_t end) {  // flat range [begin, end) of [B, V], possibly splitting rows
        while (begin < end) {
          poll_interrupt();
          const int64_t b = begin / V, i = begin - b * V, stop = std::min({end, (b + 1) * V, begin + (int64_t{1} << 20)});
          const uint64_t s = static_cast<uint64_t>(seeds[b]);
          const uint64_t counter =
              static_cast<uint64_t>(offsets[b]) * static_cast<uint64_t>(V) + static_cast<uint64_t>(i);
          philox_uniform_fill(counter, static_cast<uint32_t>(s), static_cast<uint32_t>(s >> 32), stop - begin,
                              out + begin);
          begin = stop;
        }
      },
      /*min_chunk=*/4096);
}

}  // namespace ttc_fast
