// CUDA vote kernel: one block per problem; the row lives in shared memory; every thread owns positions i and
// counts equal ids over the row (O(N^2 / threads) compares -- N is at most a few thousand samples), keeps the
// first occurrence of each id as its cluster's representative, ranks clusters by (count desc, id asc) and
// scatters them. No sort, no atomics on global memory, deterministic.
#include <cuda_runtime.h>

#include <climits>
#include <stdexcept>
#include <string>

#include "vote.h"

namespace ttc_fast {
namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads) vote_kernel(const int64_t* __restrict__ ans, int64_t n,
                                                        int64_t* __restrict__ winner,
                                                        int64_t* __restrict__ winner_count,
                                                        int64_t* __restrict__ runner_up_count,
                                                        int64_t* __restrict__ cluster_ids,
                                                        int64_t* __restrict__ cluster_sizes,
                                                        int64_t* __restrict__ abstentions) {
  extern __shared__ int64_t smem[];
  int64_t* ids = smem;                                   // [n]
  int* size = reinterpret_cast<int*>(smem + n);          // [n]: cluster size at its first occurrence, else 0
  __shared__ int s_max, s_clusters, s_abst, s_runner;
  __shared__ unsigned long long s_winner;
  const int64_t row = blockIdx.x;
  const int64_t* a = ans + row * n;
  if (threadIdx.x == 0) {
    s_max = 0; s_clusters = 0; s_abst = 0; s_runner = 0; s_winner = ULLONG_MAX;
  }
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) ids[i] = a[i];
  __syncthreads();
  int local_abst = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const int64_t x = ids[i];
    int cnt = 0;
    bool first = x >= 0;
    for (int64_t j = 0; j < n; ++j) {
      const bool eq = ids[j] == x;
      cnt += eq;
      first &= !(eq && j < i);
    }
    size[i] = first ? cnt : 0;
    local_abst += (x == -1);
  }
  atomicAdd(&s_abst, local_abst);
  __syncthreads();
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const int c = size[i];
    if (c == 0) continue;
    const int64_t x = ids[i];
    int rank = 0;
    for (int64_t j = 0; j < n; ++j) {
      const int cj = size[j];
      rank += (cj > c) || (cj == c && cj > 0 && ids[j] < x);
    }
    cluster_ids[row * n + rank] = x;
    cluster_sizes[row * n + rank] = c;
    atomicAdd(&s_clusters, 1);
    atomicMax(&s_max, c);
    if (rank == 1) s_runner = c;
  }
  __syncthreads();
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {  // smallest id among the max-count clusters
    if (size[i] > 0 && size[i] == s_max) atomicMin(&s_winner, static_cast<unsigned long long>(ids[i]));
  }
  __syncthreads();
  for (int64_t i = s_clusters + threadIdx.x; i < n; i += blockDim.x) {  // padding after the clusters
    cluster_ids[row * n + i] = -2;
    cluster_sizes[row * n + i] = 0;
  }
  if (threadIdx.x == 0) {
    winner[row] = s_max > 0 ? static_cast<int64_t>(s_winner) : -1;
    winner_count[row] = s_max;
    runner_up_count[row] = s_runner;
    abstentions[row] = s_abst;
  }
}

}  // namespace

int vote_cuda(const int64_t* answer_ids, int64_t num_problems, int64_t num_samples, int64_t* winner,
              int64_t* winner_count, int64_t* runner_up_count, int64_t* cluster_ids, int64_t* cluster_sizes,
              int64_t* abstentions, void* stream) {
  if (num_problems < 0 || num_samples < 0)
    throw std::invalid_argument("vote_cuda: negative shape");
  if (num_samples > kVoteMaxN)
    throw std::invalid_argument("vote_cuda: at most " + std::to_string(kVoteMaxN) +
                                " samples per problem, got " + std::to_string(num_samples));
  if (num_problems == 0 || num_samples == 0) return 0;
  if (num_problems > INT_MAX) throw std::invalid_argument("vote_cuda: too many problems for one grid");
  const size_t smem = static_cast<size_t>(num_samples) * (sizeof(int64_t) + sizeof(int));
  vote_kernel<<<static_cast<unsigned>(num_problems), kThreads, smem, static_cast<cudaStream_t>(stream)>>>(
      answer_ids, num_samples, winner, winner_count, runner_up_count, cluster_ids, cluster_sizes, abstentions);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace ttc_fast
