// The only pybind11 file: exposes the pure C++17 headers of csrc/ as the private module ttc_fast._C.
// Conventions: arrays enter as py::array_t<T, c_style | forcecast>; std::invalid_argument arrives in
// Python as ValueError; long loops release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "parallel.h"

namespace py = pybind11;

// ---- estimators (estimators.h) -------------------------------------------------------------------
// (bind_estimators is defined below by the estimators section)

// ---- FLOP accounting (flops.h) -------------------------------------------------------------------
// (bind_flops is defined below by the FLOP section)

PYBIND11_MODULE(_C, m) {
  m.doc() = "ttc_fast native core (private; use the ttc_fast package API)";
  m.def("num_threads", [] { return ttc_fast::resolve_threads(0); },
        "Worker threads the C++ loops use by default.");
  // ---- estimators registrations ----

  // ---- FLOP registrations ----
}
