// The only pybind11 file: exposes the pure C++17 headers of csrc/ as the private module ttc_fast._C.
// Conventions: arrays enter as py::array_t<T, c_style | forcecast>; std::invalid_argument arrives in
// Python as ValueError; long loops release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "flops.h"
#include <optional>
#include <stdexcept>
#include <string>

#include "estimators.h"
#include "parallel.h"
#include "philox.h"
#include "sample.h"
#include "thresholds.h"
#include "vote.h"

namespace py = pybind11;

// ---- Ctrl-C for every long loop --------------------------------------------------------------------
// interruptible(fn) runs fn with the GIL released inside a ttc_fast::InterruptScope whose check takes the
// GIL and runs PyErr_CheckSignals on this (the calling) thread, at most every 20 ms while the loops poll.
// When a signal handler raised (KeyboardInterrupt for SIGINT), the loops stop with ttc_fast::Interrupted
// and that Python exception propagates unchanged. Calls from non-main threads never see signals (Python
// runs handlers on the main thread only), so they simply run to the end.
namespace {
bool python_signal_raised(void*) {
  py::gil_scoped_acquire gil;
  return PyErr_CheckSignals() != 0;
}

template <class Fn>
void interruptible(Fn&& fn) {
  ttc_fast::InterruptScope scope(&python_signal_raised, nullptr);
  try {
    py::gil_scoped_release release;
    fn();
  } catch (const ttc_fast::Interrupted&) {
    throw py::error_already_set();  // the exception the signal handler set (the GIL is held again here)
  }
}
}  // namespace

// ---- estimators (estimators.h) -------------------------------------------------------------------
namespace est {
using I64 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
using U8 = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

void need_ndim(const py::array& a, int nd, const char* name) {
  if (a.ndim() != nd)
    throw std::invalid_argument(std::string(name) + " must be " + std::to_string(nd) + "-D, got " +
                                std::to_string(a.ndim()) + "-D");
}
void need_same_shape(const py::array& a, const py::array& b, const char* na, const char* nb) {
  if (a.ndim() != b.ndim() || !std::equal(a.shape(), a.shape() + a.ndim(), b.shape()))
    throw std::invalid_argument(std::string(nb) + " must have the shape of " + na);
}
ttc_fast::Tie tie_of(int t) {
  if (t < 0 || t > 2) throw std::invalid_argument("tie must be 0 (random), 1 (strict) or 2 (optimistic)");
  return static_cast<ttc_fast::Tie>(t);
}
ttc_fast::Abstain abstain_of(int a) {
  if (a < 0 || a > 1) throw std::invalid_argument("abstain must be 0 (exclude) or 1 (vote)");
  return static_cast<ttc_fast::Abstain>(a);
}
py::array_t<double> matrix(int64_t P, int64_t K) { return py::array_t<double>({P, K}); }

py::tuple pass_at_k(I64 n, I64 c, I64 ks, bool lenient, bool per_problem, int threads) {
  need_ndim(n, 1, "num_samples");
  need_ndim(c, 1, "num_correct");
  need_ndim(ks, 1, "ks");
  need_same_shape(n, c, "num_samples", "num_correct");
  const int64_t P = n.shape(0), K = ks.shape(0);
  py::object per = py::none();
  double* per_ptr = nullptr;
  if (per_problem) {
    auto arr = matrix(P, K);
    per_ptr = arr.mutable_data();
    per = arr;
  }
  ttc_fast::Summary s;
  interruptible([&] { s = ttc_fast::pass_at_k(n.data(), c.data(), P, ks.data(), K, lenient, per_ptr, threads); });
  return py::make_tuple(py::array_t<double>(K, s.mean.data()), py::array_t<double>(K, s.m2.data()),
                        py::array_t<int64_t>(K, s.count.data()), per);
}

ttc_fast::MajPath path_of(int p) {
  if (p < 0 || p > 3) throw std::invalid_argument("path must be 0 (auto), 1 (dp), 2 (window) or 3 (work estimate)");
  return static_cast<ttc_fast::MajPath>(p);
}

py::array_t<double> maj_at_k(I64 answers, U8 correct, I64 ks, int tie, int abstain, bool lenient, int threads,
                             int path) {
  need_ndim(answers, 2, "answers");
  need_ndim(ks, 1, "ks");
  need_same_shape(answers, correct, "answers", "correct");
  const int64_t P = answers.shape(0), N = answers.shape(1), K = ks.shape(0);
  auto out = matrix(P, K);
  double* o = out.mutable_data();
  const auto t = tie_of(tie);
  const auto a = abstain_of(abstain);
  const auto mp = path_of(path);
  interruptible([&] { ttc_fast::maj_at_k(answers.data(), correct.data(), P, N, ks.data(), K, t, a, lenient, o, threads, mp); });
  return out;
}

py::array_t<double> maj_at_k_counts(I64 sizes, U8 correct, std::optional<I64> abst, I64 ks, int tie, int abstain,
                                    bool lenient, int threads, int path) {
  need_ndim(sizes, 2, "cluster_sizes");
  need_ndim(ks, 1, "ks");
  need_same_shape(sizes, correct, "cluster_sizes", "cluster_correct");
  const int64_t P = sizes.shape(0), M = sizes.shape(1), K = ks.shape(0);
  if (abst) {
    need_ndim(*abst, 1, "abstentions");
    if (abst->shape(0) != P) throw std::invalid_argument("abstentions must have shape (num_problems,)");
  }
  auto out = matrix(P, K);
  double* o = out.mutable_data();
  const int64_t* ab = abst ? abst->data() : nullptr;
  const auto t = tie_of(tie);
  const auto a = abstain_of(abstain);
  const auto mp = path_of(path);
  interruptible([&] {
    ttc_fast::maj_at_k_counts(sizes.data(), correct.data(), ab, P, M, ks.data(), K, t, a, lenient, o, threads, mp);
  });
  return out;
}

py::array_t<double> best_of_k(F64 scores, U8 correct, std::optional<I64> lens, I64 ks, bool lenient, int threads) {
  need_ndim(scores, 2, "scores");
  need_ndim(ks, 1, "ks");
  need_same_shape(scores, correct, "scores", "correct");
  const int64_t P = scores.shape(0), N = scores.shape(1), K = ks.shape(0);
  if (lens) {
    need_ndim(*lens, 1, "lengths");
    if (lens->shape(0) != P) throw std::invalid_argument("lengths must have shape (num_problems,)");
  }
  auto out = matrix(P, K);
  double* o = out.mutable_data();
  const int64_t* ln = lens ? lens->data() : nullptr;
  interruptible([&] { ttc_fast::best_of_k(scores.data(), correct.data(), ln, P, N, ks.data(), K, lenient, o, threads); });
  return out;
}

py::tuple weighted_maj_at_k(I64 answers, F64 scores, U8 correct, I64 ks, int64_t draws, uint64_t seed,
                            bool lenient, int threads) {
  need_ndim(answers, 2, "answers");
  need_ndim(ks, 1, "ks");
  need_same_shape(answers, scores, "answers", "scores");
  need_same_shape(answers, correct, "answers", "correct");
  const int64_t P = answers.shape(0), N = answers.shape(1), K = ks.shape(0);
  auto out = matrix(P, K), var = matrix(P, K);
  double* o = out.mutable_data();
  double* v = var.mutable_data();
  interruptible([&] {
    ttc_fast::weighted_maj_at_k(answers.data(), scores.data(), correct.data(), P, N, ks.data(), K, draws, seed,
                                lenient, o, v, threads);
  });
  return py::make_tuple(out, var);
}

py::array_t<double> bootstrap_means(F64 values, int64_t b0, int64_t nb, uint64_t seed, int threads) {
  need_ndim(values, 2, "values");
  if (nb < 0) throw std::invalid_argument("bootstrap_means: count must be >= 0");
  const int64_t P = values.shape(0), K = values.shape(1);
  auto out = matrix(nb, K);
  double* o = out.mutable_data();
  interruptible([&] { ttc_fast::bootstrap_means(values.data(), P, K, b0, nb, seed, o, threads); });
  return out;
}

py::array_t<double> bootstrap_counts(int64_t P, int64_t b0, int64_t nb, uint64_t seed, int threads) {
  if (nb < 0) throw std::invalid_argument("bootstrap_counts: count must be >= 0");
  auto out = matrix(nb, P);
  double* o = out.mutable_data();
  interruptible([&] { ttc_fast::bootstrap_counts(P, b0, nb, seed, o, threads); });
  return out;
}
}  // namespace est

void bind_estimators(py::module_& m) {
  using namespace py::literals;
  m.def("pass_at_k", &est::pass_at_k, "num_samples"_a, "num_correct"_a, "ks"_a, "lenient"_a = false,
        "per_problem"_a = false, "num_threads"_a = 0,
        "pass@k for every k in ks -> (mean (K,), m2 (K,), count (K,), per_problem (P, K) or None).");
  m.def("maj_at_k", &est::maj_at_k, "answers"_a, "correct"_a, "ks"_a, "tie"_a = 0, "abstain"_a = 0,
        "lenient"_a = false, "num_threads"_a = 0, "path"_a = 0,
        "Exact maj@k per problem -> (P, K). path: 0 auto, 1 dynamic programme, 2 windowed levels (tests), 3 the work "
        "auto would do (column of the smallest k; the others 0).");
  m.def("maj_at_k_counts", &est::maj_at_k_counts, "cluster_sizes"_a, "cluster_correct"_a, "abstentions"_a, "ks"_a,
        "tie"_a = 0, "abstain"_a = 0, "lenient"_a = false, "num_threads"_a = 0, "path"_a = 0,
        "Exact maj@k per problem from cluster counts -> (P, K) (path as maj_at_k).");
  m.def("best_of_k", &est::best_of_k, "scores"_a, "correct"_a, "lengths"_a, "ks"_a, "lenient"_a = false,
        "num_threads"_a = 0, "Exact best-of-k per problem (random tie-break) -> (P, K).");
  m.def("weighted_maj_at_k", &est::weighted_maj_at_k, "answers"_a, "scores"_a, "correct"_a, "ks"_a,
        "draws"_a = 1000, "seed"_a = 0, "lenient"_a = false, "num_threads"_a = 0,
        "Reward-weighted majority by Monte Carlo -> (values (P, K), mc_variance (P, K)).");
  m.def("bootstrap_counts", &est::bootstrap_counts, "num_problems"_a, "first"_a, "count"_a, "seed"_a = 0,
        "num_threads"_a = 0,
        "Bootstrap resample counts of replicates first .. first+count-1 -> float64 (count, P); replicate b\n"
        "depends only on (seed, b).");
  m.def("bootstrap_means", &est::bootstrap_means, "values"_a, "first"_a, "count"_a, "seed"_a = 0,
        "num_threads"_a = 0,
        "Means (NaN skipped) of the bootstrap replicates first .. first+count-1 of the rows of values (P, K)\n"
        "-> (count, K), with the resample counts of bootstrap_counts.");
  m.def("max_draws", [] { return ttc_fast::kMaxDraws; }, "Largest draws weighted_maj_at_k accepts.");
}

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
          interruptible([&] { inference_flops_grid(t, shared, shape, strides, o, threads); });
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
          interruptible([&] { break_even_grid(t, conv, full_tokens, seq_len, shared, shape, strides, qo, qno, threads); });
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

// ---- Philox sampling uniforms (philox.h) ---------------------------------------------------------
namespace philox_binding {
using I64 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

void bind_philox(py::module_& m) {
  m.def(
      "philox_uniform_rows",
      [](const I64& seeds, const I64& offsets, int64_t V, std::optional<py::array> out, int num_threads) {
        if (seeds.ndim() != 1 || offsets.ndim() != 1 || seeds.shape(0) != offsets.shape(0))
          throw std::invalid_argument("philox_uniform_rows: seeds and offsets must be [B] arrays of one length");
        if (V < 0) throw std::invalid_argument("philox_uniform_rows: V must be >= 0, got " + std::to_string(V));
        const int64_t B = seeds.shape(0);
        py::array_t<float> result;
        if (out) {
          // written in place: must already be a C-contiguous, writeable float32 [B, V] array (no copy)
          if (!py::isinstance<py::array_t<float>>(*out) || !(out->flags() & py::array::c_style) ||
              !out->writeable() || out->ndim() != 2 || out->shape(0) != B || out->shape(1) != V)
            throw std::invalid_argument(
                "philox_uniform_rows: out must be a C-contiguous writeable float32 [B, V] array");
          result = py::reinterpret_borrow<py::array_t<float>>(*out);
        } else {
          result = py::array_t<float>({B, V});
        }
        const int64_t* s = seeds.data();
        const int64_t* o = offsets.data();
        float* dst = result.mutable_data();
        interruptible([&] { ttc_fast::philox_uniform_rows(s, o, B, V, dst, num_threads); });
        return result;
      },
      py::arg("seeds"), py::arg("offsets"), py::arg("V"), py::arg("out") = py::none(), py::arg("num_threads") = 0,
      "u[b, i] = triton.language.rand(seeds[b], offsets[b] * V + i) as float32 [B, V] (Philox4x32-10);\n"
      "written into out (C-contiguous float32 [B, V]) when given, else into a new array.");

  // ---- fused Gumbel-max draw (sample.h) ----
  using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;
  m.def(
      "gumbel_argmax_rows",
      [](const F32& z, const F32& thr, const I64& seeds, const I64& offsets, bool prune, int num_threads) {
        if (z.ndim() != 2) throw std::invalid_argument("gumbel_argmax_rows: z must be a float32 [B, V] array");
        const int64_t B = z.shape(0), V = z.shape(1);
        if (V < 1) throw std::invalid_argument("gumbel_argmax_rows: z must have V >= 1 columns");
        if (thr.ndim() != 1 || seeds.ndim() != 1 || offsets.ndim() != 1 || thr.shape(0) != B ||
            seeds.shape(0) != B || offsets.shape(0) != B)
          throw std::invalid_argument("gumbel_argmax_rows: thr, seeds and offsets must be [B] arrays, B = z rows");
        I64 tokens(B);
        const float *zp = z.data(), *tp = thr.data();
        const int64_t *sp = seeds.data(), *op = offsets.data();
        int64_t* out = tokens.mutable_data();
        interruptible([&] {
          ttc_fast::gumbel_argmax_rows(zp, tp, sp, op, B, V, out, ttc_fast::BatchLog{}, prune, num_threads);
        });
        return tokens;
      },
      py::arg("z"), py::arg("thr"), py::arg("seeds"), py::arg("offsets"), py::arg("prune") = true,
      py::arg("num_threads") = 0,
      "Gumbel-max token per row: argmax over z[b, i] >= thr[b] of z[b, i] - log(-log(u[b, i])), u as\n"
      "philox_uniform_rows, torch.argmax tie/NaN semantics (all -inf -> 0); int64 [B]. prune=False draws every\n"
      "kept token (the unpruned route, for tests).");
  m.def(
      "sample_thresholds",
      [](const F32& z, const I64& k, const F32& p, const F32& log_min_p, int num_threads) {
        if (z.ndim() != 2) throw std::invalid_argument("sample_thresholds: z must be a float32 [B, V] array");
        const int64_t B = z.shape(0), V = z.shape(1);
        if (V < 1) throw std::invalid_argument("sample_thresholds: z must have V >= 1 columns");
        if (k.ndim() != 1 || p.ndim() != 1 || log_min_p.ndim() != 1 || k.shape(0) != B || p.shape(0) != B ||
            log_min_p.shape(0) != B)
          throw std::invalid_argument("sample_thresholds: k, p and log_min_p must be [B] arrays, B = z rows");
        py::array_t<float> thr(B);
        const float *zp = z.data(), *pp = p.data(), *lp = log_min_p.data();
        const int64_t* kp = k.data();
        float* out = thr.mutable_data();
        interruptible([&] { ttc_fast::sample_thresholds(zp, kp, pp, lp, B, V, out, num_threads); });
        return thr;
      },
      py::arg("z"), py::arg("k"), py::arg("p"), py::arg("log_min_p"), py::arg("num_threads") = 0,
      "Per-row sampling thresholds (float32 [B]) with the semantics of _thresholds_ref (top-k, top-p on the\n"
      "top-k-restricted distribution, min-p), found by selection (nth_element, mass-accumulating quickselect)\n"
      "instead of sorting the vocabulary.");
  m.def(
      "batch_log",
      [](const F32& x) {
        if (x.ndim() != 1) throw std::invalid_argument("batch_log: x must be a 1-D float32 array");
        const int64_t n = x.shape(0);
        if (n > std::numeric_limits<int>::max()) throw std::invalid_argument("batch_log: x too long");
        py::array_t<float> out(n);
        const float* xp = x.data();
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          ttc_fast::BatchLog{}(static_cast<int>(n), xp, o);
        }
        return out;
      },
      py::arg("x"), "The log gumbel_argmax_rows uses (std::log), on a float32 vector.");
  m.def("gumbel_g_min", [] { return ttc_fast::gumbel_g_min(ttc_fast::BatchLog{}); },
        "log(-log(U_MAX)), U_MAX the largest Philox uniform: the smallest Gumbel term (pruning bound).");
  m.def("gumbel_g_lo_table", [] {
        py::array_t<float> out(int64_t{1} << ttc_fast::GumbelBounds::kBits);
        ttc_fast::gumbel_g_lo_table(ttc_fast::BatchLog{}, out.mutable_data());
        return out;
      },
      "Lower bounds of log(-log(u)) per bucket s >> 19 of the Philox integer s (u = float(s) * 4.6566127342e-10).");
}
}  // namespace philox_binding

// ---- majority vote on the CPU (vote.h) -----------------------------------------------------------
namespace vote_binding {
using I64 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

void bind_vote(py::module_& m) {
  m.def(
      "vote",
      [](const I64& answer_ids, int num_threads) {
        if (answer_ids.ndim() != 2) throw std::invalid_argument("vote: answer_ids must be [P, N]");
        const int64_t P = answer_ids.shape(0), N = answer_ids.shape(1);
        I64 winner(P), winner_count(P), runner(P), abst(P), ids({P, N}), sizes({P, N});
        const int64_t* a = answer_ids.data();
        int64_t *w = winner.mutable_data(), *wc = winner_count.mutable_data(), *r = runner.mutable_data(),
                *ab = abst.mutable_data(), *ci = ids.mutable_data(), *cs = sizes.mutable_data();
        interruptible([&] { ttc_fast::vote_rows(a, P, N, w, wc, r, ci, cs, ab, num_threads); });
        return py::make_tuple(winner, winner_count, runner, ids, sizes, abst);
      },
      py::arg("answer_ids"), py::arg("num_threads") = 0,
      "Majority vote per row of int64 [P, N] answer ids (-1 abstain, -2 pad): (winner, winner_count,\n"
      "runner_up_count, cluster_ids, cluster_sizes, abstentions), as ttc_fast.ops.vote's torch reference.");
}
}  // namespace vote_binding

PYBIND11_MODULE(_C, m) {
  m.doc() = "ttc_fast native core (private; use the ttc_fast package API)";
  m.def("num_threads", [] { return ttc_fast::resolve_threads(0); },
        "Worker threads the C++ loops use by default.");
  // ---- estimators registrations ----
  bind_estimators(m);

  // ---- FLOP registrations ----
  flops_binding::bind_flops(m);

  // ---- Philox registrations ----
  philox_binding::bind_philox(m);

  // ---- vote registrations ----
  vote_binding::bind_vote(m);
}
