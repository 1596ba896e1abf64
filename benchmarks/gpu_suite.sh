#!/usr/bin/env bash
# The GPU session's script (H200): build with nvcc, run the GPU tests, run every GPU benchmark, all output under
# $OUT (default ./gpu_out). Stages, so that each device call stays under its 10-minute limit:
#   bash benchmarks/gpu_suite.sh build tests kernels     # ~5 min: build, kernel tests, attention/sampling/vote
#   bash benchmarks/gpu_suite.sh generate                # ~5 min: ttc-fast bench-sampling, few-shot workload
#   bash benchmarks/gpu_suite.sh reasoning               # ~6 min: ttc-fast bench-sampling, reasoning workload
# With no argument every stage runs. The device image has python3 with torch, triton, transformers,
# scikit-build-core, pybind11, cmake and ninja, and no network: everything builds from the working tree.
set -uo pipefail
OUT="${OUT:-$PWD/gpu_out}"
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(build tests kernels generate reasoning)
has() { local s; for s in "${stages[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
note() { echo "$*" | tee -a "$OUT/env.txt"; }

if [ ! -s "$OUT/env.txt" ]; then
  {
    date -u +%FT%TZ; nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
    "$PY" -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__)"
    nvcc --version | tail -2
  } > "$OUT/env.txt" 2>&1
fi

if has build; then  # the CUDA module needs nvcc on PATH; editable so that tests and benchmarks see the build
  start=$(date +%s)
  "$PY" -m pip install --no-build-isolation --no-deps -e . > "$OUT/build.log" 2>&1 || note "BUILD FAILED"
  note "build_seconds $(( $(date +%s) - start ))"
  "$PY" -c "import ttc_fast._C_cuda as m; print('C_cuda ok', m.__file__)" >> "$OUT/env.txt" 2>&1
fi

if has tests; then  # the kernels on the GPU (conftest leaves TRITON_INTERPRET unset when nvidia-smi exists)
  "$PY" -m pytest tests/test_attention.py tests/test_sampling.py tests/test_vote.py tests/test_cuda_build.py \
    tests/test_generate.py -q -rs -x --junitxml="$OUT/tests.xml" > "$OUT/tests.log" 2>&1
  note "tests_rc $?"
  tail -3 "$OUT/tests.log"
fi

if has kernels; then  # cold L2, median of many rounds; one JSON per topic
  for topic in attention sampling vote; do
    (cd benchmarks && "$PY" -m pytest "bench_$topic.py" -q -p no:cacheprovider \
       --benchmark-json="$OUT/bench_$topic.json" --benchmark-columns=median,iqr,rounds \
       > "$OUT/bench_$topic.log" 2>&1)
    note "bench_${topic}_rc $?"
  done
  "$PY" benchmarks/summarize.py "$OUT"/bench_*.json > "$OUT/summary.md" 2>&1
  cat "$OUT/summary.md"
fi

# issue 6's GPU workloads: Qwen2.5-1.5B shape, random weights, bf16, 64 prompts x n = 64, against transformers
# generate and the prefill-once HF loop (on as many prompts as their KV copies fit; tokens/s compared per token)
if has generate; then
  "$PY" -m ttc_fast.cli bench-sampling --shape qwen2.5-1.5b --prompts 64 --n 64 --prompt-len 1000 \
    --new-tokens 256 --baseline all > "$OUT/generate_fewshot.txt" 2>&1
  note "generate_fewshot_rc $?"
  cat "$OUT/generate_fewshot.txt"
fi
if has reasoning; then
  "$PY" -m ttc_fast.cli bench-sampling --shape qwen2.5-1.5b --prompts 64 --n 64 --prompt-len 200 \
    --new-tokens 2048 --baseline all > "$OUT/generate_reasoning.txt" 2>&1
  note "generate_reasoning_rc $?"
  cat "$OUT/generate_reasoning.txt"
fi
