#!/usr/bin/env bash
# Download, on the CPU machine (it has the package registry; the GPU machine has none), the wheels the GPU suite
# installs there: FlashInfer and the one dependency its import needs that the device image lacks (apache-tvm-ffi;
# torch, numpy, ninja, einops, click, requests, tabulate, tqdm, nvidia-ml-py are on the image). Into .whl/ at the
# repository root, ignored by git (.git/info/exclude); carry ".whl" in the device call (~10 MB of the 64 MiB limit).
# FlashInfer 0.5.3 is pinned: its wheel is 7 MB and imports with apache-tvm-ffi alone; 0.7.x is 101 MB (over the
# carry limit) and pulls more binary dependencies. Python 3.12 x86-64 is the image's interpreter.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
EXCLUDE="$(git rev-parse --git-common-dir)/info/exclude"; mkdir -p "$(dirname "$EXCLUDE")"
grep -qx '/.whl/' "$EXCLUDE" 2>/dev/null || echo '/.whl/' >> "$EXCLUDE"
mkdir -p .whl
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d .whl flashinfer-python==0.5.3 "apache-tvm-ffi==0.1.15.post2"
ls -la .whl
du -sh .whl
