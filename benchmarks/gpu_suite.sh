#!/usr/bin/env bash
# One command for a session with a GPU (H200): build with nvcc, run the GPU tests, run every kernel benchmark,
# and write everything under $OUT (default ./gpu_out). Usage:  bash benchmarks/gpu_suite.sh
set -uo pipefail
OUT="${OUT:-$PWD/gpu_out}"
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
{
  date -u +%FT%TZ; nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  "$PY" -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__)"
  nvcc --version | tail -2
} > "$OUT/env.txt" 2>&1
# 1. build (the CUDA module needs nvcc on PATH); record the build time
start=$(date +%s)
"$PY" -m pip install --no-build-isolation --no-deps -e . > "$OUT/build.log" 2>&1 || echo "BUILD FAILED" >> "$OUT/env.txt"
echo "build_seconds $(( $(date +%s) - start ))" >> "$OUT/env.txt"
"$PY" -c "import ttc_fast._C_cuda as m; print('C_cuda ok', m.__file__)" >> "$OUT/env.txt" 2>&1
# 2. tests of the kernels on the GPU (no interpreter: TRITON_INTERPRET unset when nvidia-smi exists)
"$PY" -m pytest tests/test_attention.py tests/test_sampling.py tests/test_vote.py tests/test_cuda_build.py \
  -q -rs --junitxml="$OUT/tests.xml" > "$OUT/tests.log" 2>&1
echo "tests_rc $?" >> "$OUT/env.txt"
# 3. benchmarks (cold L2, median of many rounds); JSON per topic
for topic in attention sampling vote; do
  (cd benchmarks && "$PY" -m pytest "bench_$topic.py" -q -p no:cacheprovider \
     --benchmark-json="$OUT/bench_$topic.json" --benchmark-columns=median,iqr,rounds \
     > "$OUT/bench_$topic.log" 2>&1)
  echo "bench_${topic}_rc $?" >> "$OUT/env.txt"
done
"$PY" benchmarks/summarize.py "$OUT"/bench_*.json > "$OUT/summary.md" 2>&1
cat "$OUT/env.txt" "$OUT/summary.md"
