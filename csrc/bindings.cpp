// The only pybind11 file: exposes the pure C++17 headers of csrc/ as the private module ttc_fast._C.
// Conventions: arrays enter as py::array_t<T, c_style | forcecast>; std::invalid_argument arrives in
// Python as ValueError; long loops release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "flops.h"
#include "parallel.h"

namespace py = pybind11;

// ---- estimators (estimators.h) -------------------------------------------------------------------
// (bind_estimators is defined below by the estimators section)

// ---- FLOP accounting (flops.h) -------------------------------------------------------------------
// (bind_flops is defined below by the FLOP section)
namespace flops_binding {
using DArray = py::array_t<double, py::array::forcecast>;  // any strides: broadcast views stay zero-copy

// Inputs already broadcast to one shape (np.broadcast_arrays); strides converted to elements.
std::vector<int64_t> common_shape(const std::vector<DArray>& arrays) {
  std::vector<int64_t> shape(arrays.at(0).shape(), arrays.at(0).shape() + arrays.at(0).ndim());
  for (const auto& a : arrays) {
    if (a.ndim() != int64_t(shape.size()) ||
        !std::equal(shape.begin(), shape.end(), a.shape()))
      throw std::invalid_argument("grid inputs must be broadcast to one shape");
  }
  return shape;
}

std::vector<ttc_fast::StridedInput> strided(const std::vector<DArray>& arrays) {
  std::vector<ttc_fast::StridedInput> out;
  for (const auto& a : arrays) {
    ttc_fast::StridedInput s;
    s.data = a.data();
    for (py::ssize_t d = 0; d < a.ndim(); ++d) s.strides.push_back(a.strides(d) / py::ssize_t(sizeof(double)));
    out.push_back(std::move(s));
  }
  return out;
}

void bind_flops(py::module_& m) {
  using namespace ttc_fast;
  py::class_<ModelShape>(m, "ModelShape", "Shape facts the FLOP formulas need (built by ttc_fast.ModelSpec).")
      .def(py::init<>())
      .def_readwrite("num_layers", &ModelShape::num_layers)
      .def_readwrite("d_model", &ModelShape::d_model)
      .def_readwrite("num_heads", &ModelShape::num_heads)
      .def_readwrite("num_kv_heads", &ModelShape::num_kv_heads)
      .def_readwrite("head_dim", &ModelShape::head_dim)
      .def_readwrite("d_ff", &ModelShape::d_ff)
      .def_readwrite("vocab_size", &ModelShape::vocab_size)
      .def_readwrite("gated_mlp", &ModelShape::gated_mlp)
      .def_readwrite("num_experts", &ModelShape::num_experts)
      .def_readwrite("experts_per_token", &ModelShape::experts_per_token)
      .def_readwrite("moe_d_ff", &ModelShape::moe_d_ff)
      .def_readwrite("moe_layers", &ModelShape::moe_layers)
      .def_readwrite("shared_expert_d_ff", &ModelShape::shared_expert_d_ff)
      .def_readwrite("active_non_embedding_params", &ModelShape::active_non_embedding_params);
  py::class_<FlopTerms>(m, "FlopTerms", "Per-token forward FLOP coefficients of one convention.")
      .def_readonly("linear", &FlopTerms::linear)
      .def_readonly("logits", &FlopTerms::logits)
      .def_readonly("embed", &FlopTerms::embed)
      .def_readonly("attn", &FlopTerms::attn)
      .def_readonly("causal", &FlopTerms::causal);
  m.def("flop_terms", [](const ModelShape& s, const std::string& c) { return flop_terms(s, parse_convention(c)); },
        py::arg("shape"), py::arg("convention"));
  m.def("forward_flops",
        [](const ModelShape& s, const std::string& c, double seq_len) {
          return forward_flops(flop_terms(s, parse_convention(c)), seq_len);
        },
        py::arg("shape"), py::arg("convention"), py::arg("seq_len"));
  m.def("training_flops",
        [](const ModelShape& s, const std::string& c, double tokens, double seq_len) {
          const Convention conv = parse_convention(c);
          return training_flops(flop_terms(s, conv), conv, tokens, seq_len);
        },
        py::arg("shape"), py::arg("convention"), py::arg("tokens"), py::arg("seq_len"));
  m.def("prefill_flops",
        [](const ModelShape& s, const std::string& c, double p) {
          return prefill_flops(flop_terms(s, parse_convention(c)), p);
        },
        py::arg("shape"), py::arg("convention"), py::arg("prompt_len"));
  m.def("decode_flops",
        [](const ModelShape& s, const std::string& c, double p, double g) {
          return decode_flops(flop_terms(s, parse_convention(c)), p, g);
        },
        py::arg("shape"), py::arg("convention"), py::arg("prompt_len"), py::arg("gen_len"));
  m.def("inference_flops",
        [](const ModelShape& s, const std::string& c, double p, double g, double k, bool shared) {
          return inference_flops(flop_terms(s, parse_convention(c)), p, g, k, shared);
        },
        py::arg("shape"), py::arg("convention"), py::arg("prompt_len"), py::arg("gen_len"), py::arg("k"),
        py::arg("shared_prefix"));
  m.def("kv_cache_bytes", &kv_cache_bytes, py::arg("shape"), py::arg("tokens"), py::arg("bytes_per_elem"));
  m.def("paper_break_even", &paper_break_even, py::arg("r"), py::arg("lam"), py::arg("train_tokens"),
        py::arg("out_len"), py::arg("train_to_infer"));
  m.def("inference_flops_grid",
        [](const ModelShape& s, const std::string& c, DArray p, DArray g, DArray k, bool shared, int threads) {
          const FlopTerms t = flop_terms(s, parse_convention(c));
          std::vector<DArray> in{p, g, k};
          const auto shape = common_shape(in);
          py::array_t<double> out(std::vector<py::ssize_t>(shape.begin(), shape.end()));
          const auto strides = strided(in);
          double* o = out.mutable_data();
          {
            py::gil_scoped_release release;
            inference_flops_grid(t, shared, shape, strides, o, threads);
          }
          return out;
        },
        py::arg("shape"), py::arg("convention"), py::arg("prompt_len"), py::arg("gen_len"), py::arg("k"),
        py::arg("shared_prefix"), py::arg("num_threads") = 0,
        "Inference FLOPs over inputs broadcast to one shape (np.broadcast_arrays); returns that shape.");
  m.def("break_even_grid",
        [](const ModelShape& s, const std::string& c, double full_tokens, double seq_len, bool shared,
           DArray ckpt, DArray k, DArray p, DArray g, DArray eval_flops, bool net, int threads) {
          const Convention conv = parse_convention(c);
          const FlopTerms t = flop_terms(s, conv);
          std::vector<DArray> in{ckpt, k, p, g, eval_flops};
          const auto shape = common_shape(in);
          std::vector<py::ssize_t> pshape(shape.begin(), shape.end());
          py::array_t<double> q(pshape);
          py::array_t<double> qn(net ? pshape : std::vector<py::ssize_t>(pshape.size(), 0));
          const auto strides = strided(in);
          double *qo = q.mutable_data(), *qno = net ? qn.mutable_data() : nullptr;
          {
            py::gil_scoped_release release;
            break_even_grid(t, conv, full_tokens, seq_len, shared, shape, strides, qo, qno, threads);
          }
          if (!net) return py::make_tuple(q, q);
          return py::make_tuple(q, qn);
        },
        py::arg("shape"), py::arg("convention"), py::arg("full_tokens"), py::arg("seq_len"),
        py::arg("shared_prefix"), py::arg("checkpoint_tokens"), py::arg("k"), py::arg("prompt_len"),
        py::arg("gen_len"), py::arg("eval_flops"), py::arg("net") = true, py::arg("num_threads") = 0,
        "Break-even queries (Q*, net Q*) over inputs broadcast to one shape; seq_len <= 0: none.\n"
        "net=False skips net Q* (returns Q* twice; for eval_flops == 0).");
}
}  // namespace flops_binding

PYBIND11_MODULE(_C, m) {
  m.doc() = "ttc_fast native core (private; use the ttc_fast package API)";
  m.def("num_threads", [] { return ttc_fast::resolve_threads(0); },
        "Worker threads the C++ loops use by default.");
  // ---- estimators registrations ----

  // ---- FLOP registrations ----
  flops_binding::bind_flops(m);
}
