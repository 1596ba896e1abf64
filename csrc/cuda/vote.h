// Launcher of the CUDA vote kernel (vote.cu). Pure C++17: raw device pointers and a stream handle, no CUDA,
// torch or pybind11 headers, so the binding file compiles with the host compiler.
#pragma once
#include <cstdint>

namespace ttc_fast {

// Largest samples-per-problem the kernel handles (one block keeps a row in shared memory: 12 bytes per sample).
constexpr int64_t kVoteMaxN = 4096;

// answer_ids [P, N] int64 row-major (ids >= 0 answers, -1 unparsable, -2 padding); all outputs int64 row-major:
// winner/winner_count/runner_up_count/abstentions [P], cluster_ids/cluster_sizes [P, N]. Same results as
// ttc_fast.ops.vote_ref (smallest id wins ties; clusters by count desc, id asc; -2 / 0 padding).
// Asynchronous on `stream` (a cudaStream_t passed as void*). Returns the cudaError_t of the launch (0 = success).
// Throws std::invalid_argument for N > kVoteMaxN or negative sizes.
int vote_cuda(const int64_t* answer_ids, int64_t num_problems, int64_t num_samples, int64_t* winner,
              int64_t* winner_count, int64_t* runner_up_count, int64_t* cluster_ids, int64_t* cluster_sizes,
              int64_t* abstentions, void* stream);

}  // namespace ttc_fast
