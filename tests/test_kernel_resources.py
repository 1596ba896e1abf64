"""No Triton launch configuration used on CUDA spills registers on sm_90a (no GPU needed).

benchmarks/kernel_resources.py compiles the configurations the launchers choose (ttc_fast/ops/_*_triton.py) with
``triton.compile`` for sm_90a and reads registers, spills and stack from ``ptxas -v`` (Triton's ptxas-blackwell,
the one that reads its PTX). The fast subset holds the configurations closest to a spill in the full table
(BENCHMARKS.md); ``-m slow`` checks every configuration. Each run compiles in a subprocess with
TRITON_INTERPRET=0 (under the interpreter @triton.jit gives an interpreted function).
"""
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "kernel_resources.py")


def _run(subset):
    pytest.importorskip("triton.backends.nvidia")
    before = os.environ.get("TRITON_INTERPRET")
    sys.path.insert(0, os.path.dirname(SCRIPT))
    try:
        import kernel_resources
    finally:
        sys.path.pop(0)
    assert os.environ.get("TRITON_INTERPRET") == before  # importing the harness leaves the interpreter alone
    if kernel_resources.find_ptxas() is None:
        pytest.skip("no ptxas that reads Triton's PTX (triton's backends/nvidia/bin/ptxas-blackwell, or TTC_PTXAS)")
    env = dict(os.environ, TRITON_INTERPRET="0")
    r = subprocess.run([sys.executable, SCRIPT, "--subset", subset, "--check"], capture_output=True, text=True,
                       env=env, timeout=900)
    if r.returncode == 3:
        pytest.skip(r.stdout.strip())
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    rows = [line for line in r.stdout.splitlines() if line.startswith("| ") and "configuration" not in line]
    assert rows and all(row.split("|")[5].strip() == "0 / 0" for row in rows), r.stdout
    return rows


def test_no_spills_fast_subset():
    rows = _run("fast")
    assert any("attention bf16 D=128 G=6" in row for row in rows)  # the Qwen2.5-1.5B configuration


@pytest.mark.slow
def test_no_spills_every_configuration():
    _run("full")


def test_parse_ptxas_log():
    sys.path.insert(0, os.path.dirname(SCRIPT))
    try:
        from kernel_resources import parse_ptxas
    finally:
        sys.path.pop(0)
    log = ("ptxas info    : Function properties for k\n    72 bytes stack frame, 100 bytes spill stores, 84 bytes "
           "spill loads\nptxas info    : Used 255 registers, used 1 barriers, 72 bytes cumulative stack size\n")
    assert parse_ptxas(log) == dict(registers=255, stack=72, spill_stores=100, spill_loads=84)
    with pytest.raises(RuntimeError, match="unexpected"):
        parse_ptxas("nothing here")
