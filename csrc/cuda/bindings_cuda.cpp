// pybind11 glue of the optional CUDA module ttc_fast._C_cuda. It is a separate file from csrc/bindings.cpp
// because that is the CPU module's only pybind11 file and must build without CUDA; this one is compiled by the
// host compiler (no CUDA headers) and linked with the nvcc-compiled kernels. Pointers arrive as integers
// (tensor.data_ptr()) and the stream as torch.cuda.current_stream().cuda_stream: no torch headers.
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "vote.h"

namespace py = pybind11;

namespace {

template <typename T>
T* ptr(std::uintptr_t p) { return reinterpret_cast<T*>(p); }

void vote(std::uintptr_t answer_ids, int64_t num_problems, int64_t num_samples, std::uintptr_t winner,
          std::uintptr_t winner_count, std::uintptr_t runner_up_count, std::uintptr_t cluster_ids,
          std::uintptr_t cluster_sizes, std::uintptr_t abstentions, std::uintptr_t stream) {
  const int err = ttc_fast::vote_cuda(ptr<const int64_t>(answer_ids), num_problems, num_samples,
                                      ptr<int64_t>(winner), ptr<int64_t>(winner_count),
                                      ptr<int64_t>(runner_up_count), ptr<int64_t>(cluster_ids),
                                      ptr<int64_t>(cluster_sizes), ptr<int64_t>(abstentions),
                                      reinterpret_cast<void*>(stream));
  if (err != 0) throw std::runtime_error("vote_cuda: kernel launch failed (cudaError " + std::to_string(err) + ")");
}

}  // namespace

PYBIND11_MODULE(_C_cuda, m) {
  m.doc() = "ttc_fast CUDA kernels (private; use ttc_fast.ops)";
  m.attr("vote_max_samples") = ttc_fast::kVoteMaxN;
  m.def("vote", &vote, py::arg("answer_ids"), py::arg("num_problems"), py::arg("num_samples"), py::arg("winner"),
        py::arg("winner_count"), py::arg("runner_up_count"), py::arg("cluster_ids"), py::arg("cluster_sizes"),
        py::arg("abstentions"), py::arg("stream"),
        "Vote over answer ids [P, N] int64 (device pointers) into preallocated int64 outputs, async on stream.");
}
