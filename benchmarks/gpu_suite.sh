#!/usr/bin/env bash
# The GPU run (H200) in ONE device command of at most ~8 minutes: build, the GPU tests, the kernel benchmarks on a
# reduced grid (ttc_fast beside FlashInfer and, with time left, the torch baselines), one bench-sampling workload. Everything lands
# in $OUT as at most 8 files (the device tool brings back 8), flat:
#   summary.md  env, per-stage rc/seconds, the benchmark tables     tests.log   pytest -rs of the GPU tests
#   bench_attention.json  bench_sampling.json  bench_vote.json     generate.txt  bench-sampling output
#   resources.json  registers/spills on the machine's Triton         logs.txt    build, FlashInfer JIT, ncu logs
#
# Usage:  bash benchmarks/gpu_suite.sh [--dry-run] [STAGE ...]
#   stages, in order (default: all): env wheels build tests bench generate extras
#   --dry-run prints each stage's commands and time bound and checks that the files they use exist (no GPU needed;
#   tests/test_gpu_suite.py runs it in CI). A rerun after a fix: the same command, or only the stages that failed.
# Time: each stage runs under `timeout` with its own bound, clipped to what is left of TTC_GPU_BUDGET_S (default
# 450 s); a stage that no longer fits is skipped with a note. The FlashInfer JIT compile (benchmarks/
# flashinfer_warmup.py) runs in the background from the start, bounded by TTC_FLASHINFER_JIT_S (default 200 s);
# when it has not finished by the bench stage, FlashInfer is skipped with that message.
# FlashInfer and its missing dependency travel as wheels in .whl/ (benchmarks/fetch_wheels.sh, run on the CPU
# machine first; carry ".whl"): installed with pip --no-index --target /tmp/site.
set -uo pipefail
DRY=0
if [ "${1:-}" = "--dry-run" ]; then DRY=1; shift; fi
ALL=(env wheels build tests bench generate extras)
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=("${ALL[@]}")
for s in "${stages[@]}"; do
  case " ${ALL[*]} " in *" $s "*) ;; *) echo "unknown stage '$s'; stages: ${ALL[*]}" >&2; exit 2;; esac
done
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu_out}"
PY="${PYTHON:-python3}"
BUDGET="${TTC_GPU_BUDGET_S:-450}"
FI_BOUND="${TTC_FLASHINFER_JIT_S:-200}"
mkdir -p "$OUT"
T0=$(date +%s)
SUMMARY="$OUT/summary.md"
LOGS="$OUT/logs.txt"
has() { local s; for s in "${stages[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
note() { if [ $DRY = 1 ]; then echo "$*"; else echo "$*" | tee -a "$SUMMARY"; fi; }
need() {  # files a stage uses must exist (checked in the dry run too)
  local f; for f in "$@"; do [ -e "$f" ] || { note "MISSING $f"; return 1; }; done
}
# run NAME MAX_S MIN_S LOGFILE CMD...: under timeout min(MAX_S, left - 5), skipped when less than MIN_S is left
run() {
  local name=$1 max=$2 min=$3 log=$4; shift 4
  local budget; budget=$(left); budget=$(( budget - 5 < max ? budget - 5 : max ))
  if [ $DRY = 1 ]; then echo "[dry-run] $name (<= ${max}s): $*"; return 0; fi
  if [ "$budget" -lt "$min" ]; then note "| $name | skipped: ${budget}s left of the ${BUDGET}s budget |"; return 0; fi
  local t=$(date +%s)
  echo "===== $name: $* (timeout ${budget}s)" >> "$log"
  timeout --kill-after=10 "$budget" "$@" >> "$log" 2>&1
  local rc=$?
  note "| $name | rc $rc$([ $rc = 124 ] && echo ' (timed out)') | $(( $(date +%s) - t )) s |"
  return $rc
}

[ $DRY = 1 ] || { : > "$SUMMARY"; : > "$LOGS"; echo "# GPU suite $(date -u +%FT%TZ)" >> "$SUMMARY"; }

if has env; then
  if [ $DRY = 1 ]; then echo "[dry-run] env: nvidia-smi, versions, measured copy bandwidth"; else
    {
      echo '```'
      nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1
      "$PY" -c "import sys, torch, triton; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__)" 2>&1
      nvcc --version 2>&1 | tail -1
      (cd benchmarks && "$PY" -c "from _common import measured_bandwidth as m; print('copy bandwidth %.0f GB/s' % (m() / 1e9))" 2>&1)
      echo '```'
    } >> "$SUMMARY"
  fi
fi

if has wheels; then  # FlashInfer + apache-tvm-ffi (everything else it imports is on the image)
  if ls .whl/*.whl > /dev/null 2>&1; then
    run wheels 60 5 "$LOGS" "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl && export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
  else
    note "| wheels | none in .whl/: FlashInfer baselines will be skipped (benchmarks/fetch_wheels.sh) |"
  fi
  need benchmarks/flashinfer_warmup.py benchmarks/_flashinfer.py || true
  if [ $DRY = 1 ]; then echo "[dry-run] flashinfer-jit (background, <= ${FI_BOUND}s): $PY benchmarks/flashinfer_warmup.py"
  else  # in the background: nvcc is CPU-bound and the build and the tests leave cores free
    ( export MAX_JOBS=8 FLASHINFER_CUDA_ARCH_LIST="9.0a"; t=$(date +%s)
      timeout --kill-after=10 "$FI_BOUND" "$PY" benchmarks/flashinfer_warmup.py > "$OUT/.fi.log" 2>&1
      echo "rc $? after $(( $(date +%s) - t )) s" >> "$OUT/.fi.log" ) &
    FI_PID=$!
  fi
fi

if has build; then  # the CPU module and the CUDA module (sm_90 only: the H200), editable so tests see the build
  need pyproject.toml CMakeLists.txt csrc/cuda/vote.cu || exit 1
  export CMAKE_BUILD_PARALLEL_LEVEL=8
  run build 180 60 "$LOGS" "$PY" -m pip install --no-build-isolation --no-deps -e . \
    -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90 -Ccmake.define.TTC_FAST_CUDA=ON
  [ $DRY = 1 ] || "$PY" -c "import ttc_fast._C_cuda as m; print('| _C_cuda | built |', m.__file__)" >> "$SUMMARY" 2>&1
fi

if has tests; then  # the kernels on the GPU (conftest leaves TRITON_INTERPRET unset where nvidia-smi exists)
  TESTS=(tests/test_attention.py tests/test_sampling.py tests/test_vote.py tests/test_cuda_build.py
         tests/test_gpu_runtime.py)
  need "${TESTS[@]}" || exit 1
  XDIST=(); "$PY" -c "import xdist" 2> /dev/null && XDIST=(-n 6)
  run tests 150 60 "$OUT/tests.log" "$PY" -m pytest "${TESTS[@]}" -q -rs -p no:cacheprovider "${XDIST[@]}"
  [ $DRY = 1 ] || tail -3 "$OUT/tests.log" | tee -a "$SUMMARY"
  # registers/spills with the machine's own Triton (its ptxas), next to the CPU figures in BENCHMARKS.md
  need benchmarks/kernel_resources.py || exit 1
  run resources 60 20 "$LOGS" "$PY" benchmarks/kernel_resources.py --subset fast --json "$OUT/resources.json"
fi

if has bench; then  # cold L2, medians; reduced grids (TTC_BENCH_GRID=reduced), CI=true for fewer rounds
  need benchmarks/bench_attention.py benchmarks/bench_sampling.py benchmarks/bench_vote.py benchmarks/summarize.py \
    || exit 1
  if [ $DRY = 0 ] && [ -n "${FI_PID:-}" ]; then
    wait "$FI_PID"; cat "$OUT/.fi.log" >> "$LOGS"
    fi_rc=$(sed -n 's/^rc \([0-9]*\) after.*/\1/p' "$OUT/.fi.log")
    note "| flashinfer JIT | $(grep -c '^jit ' "$OUT/.fi.log") modules | $(tail -1 "$OUT/.fi.log") |"
    if [ "$fi_rc" != 0 ]; then
      export TTC_FLASHINFER=0
      export TTC_FLASHINFER_SKIP="FlashInfer's JIT compile did not finish within ${FI_BOUND}s here (rc $fi_rc)"
    fi
    rm -f "$OUT/.fi.log"
  fi
  B=(-q -p no:cacheprovider --benchmark-columns=median,iqr,rounds -rs)
  export TTC_BENCH_GRID=reduced
  (cd benchmarks && export CI=true && run bench_attention 120 40 "$LOGS" "$PY" -m pytest bench_attention.py "${B[@]}" \
     -k "ttc_fast or flashinfer" --benchmark-json="$OUT/bench_attention.json")
  (cd benchmarks && export CI=true && run bench_sampling 70 30 "$LOGS" "$PY" -m pytest bench_sampling.py "${B[@]}" \
     --benchmark-json="$OUT/bench_sampling.json")
  (cd benchmarks && run bench_vote 60 30 "$LOGS" "$PY" -m pytest bench_vote.py "${B[@]}" \
     --benchmark-json="$OUT/bench_vote.json")  # not CI: the goal's 10,000 problems x N = 256
fi

# issue 6's few-shot workload: Qwen2.5-1.5B shape, random bf16 weights, 64 prompts x n = 64, 1,000-token prompts,
# 256 new tokens, beside transformers generate and the prefill-once HF loop on 2 prompts (their KV copies)
if has generate; then
  run generate 150 60 "$OUT/generate.txt" "$PY" -m ttc_fast.cli bench-sampling --shape qwen2.5-1.5b --prompts 64 \
    --n 64 --prompt-len 1000 --new-tokens 256 --baseline all --baseline-prompts 2
  [ $DRY = 1 ] || tail -8 "$OUT/generate.txt" | tee -a "$SUMMARY"
fi

if has extras; then  # with the time left: the torch attention baselines (torch.compile per shape: slow to warm
  # up; merged into bench_attention.json), then the DRAM bytes of one attention launch at the goal shape (ncu)
  (cd benchmarks && export CI=true TTC_BENCH_GRID=reduced && run bench_attention_torch 120 45 "$LOGS" "$PY" -m pytest \
     bench_attention.py -q -p no:cacheprovider --benchmark-columns=median,iqr,rounds -rs \
     -k "not ttc_fast and not flashinfer" --benchmark-json="$OUT/.bench_attention_torch.json")
  if [ $DRY = 0 ]; then
    "$PY" - "$OUT/bench_attention.json" "$OUT/.bench_attention_torch.json" <<'EOF' >> "$LOGS" 2>&1
import json, os, sys
main, extra = sys.argv[1:3]
if os.path.exists(extra):
    e = json.load(open(extra))
    m = json.load(open(main)) if os.path.exists(main) else dict(e, benchmarks=[])
    m["benchmarks"] += e["benchmarks"]
    json.dump(m, open(main, "w"))
    os.remove(extra)
EOF
  fi
  need benchmarks/gpu_attention_once.py || exit 1
  if [ $DRY = 1 ] || command -v ncu > /dev/null; then
    run ncu 60 30 "$LOGS" ncu --clock-control none -k regex:_shared_prefix_partial_kernel -c 1 \
      --metrics dram__bytes_read.sum,dram__bytes_write.sum,lts__t_bytes.sum "$PY" benchmarks/gpu_attention_once.py
  else
    note "| ncu | not on PATH |"
  fi
fi
if [ $DRY = 0 ] && ls "$OUT"/bench_*.json > /dev/null 2>&1; then  # the tables last: the reply shows the tail
  "$PY" benchmarks/summarize.py "$OUT"/bench_*.json >> "$SUMMARY" 2>&1
  "$PY" benchmarks/summarize.py "$OUT"/bench_*.json 2>&1 | tail -40
fi
if [ $DRY = 0 ] && [ -f "$OUT/.fi.log" ]; then cat "$OUT/.fi.log" >> "$LOGS"; rm -f "$OUT/.fi.log"; fi
[ $DRY = 1 ] || note "total $(( $(date +%s) - T0 )) s of the ${BUDGET}s budget"
exit 0
