"""Ctrl-C stops the long C++ loops: each call runs in a subprocess that is sent SIGINT while inside the call; the
child must report KeyboardInterrupt within LATENCY seconds of the signal (the loops poll every 20 ms; the bound
leaves room for the 2 shared cores of CI).

The estimator loops are compute-bound and need little memory, so they run by default. The memory-bound loops
(vote, Philox uniforms, sampling thresholds, the fused Gumbel draw, the FLOP grids) only run long on inputs of
~0.5-1 GB, so those tests are marked slow; they time one uninterrupted call first and require the interrupted
one to stop within LATENCY and well before the full duration.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

LATENCY = 1.0  # seconds from SIGINT to KeyboardInterrupt in the child

_CHILD = r"""
import signal, sys, time
# a shell that starts a job in the background hands it SIGINT ignored, and children inherit that: restore
# Python's own handler so the test measures ttc_fast, not how the suite was launched
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
from ttc_fast import _C
{setup}
call = lambda: {call}
if {measure}:
    t = time.perf_counter(); call(); full = time.perf_counter() - t
else:
    full = -1.0
print("go", full, flush=True)
t = time.perf_counter()
try:
    call()
    print("finished", time.perf_counter() - t, flush=True)
except KeyboardInterrupt:
    print("interrupted", time.perf_counter() - t, flush=True)
"""


def _interrupt(setup: str, call: str, wait: float = 0.3, measure: bool = False, timeout: float = 120.0):
    """Runs ``call`` in a child, sends SIGINT ``wait`` s after it starts; returns (status, seconds from the signal
    to the child's report, the uninterrupted duration or -1)."""
    code = _CHILD.format(setup=setup, call=call, measure=measure)
    env = dict(os.environ, OMP_NUM_THREADS="2")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        line = proc.stdout.readline().split()
        assert line and line[0] == "go", proc.stderr.read()
        full = float(line[1])
        time.sleep(wait)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        report = proc.stdout.readline().split()
        latency = time.perf_counter() - sent
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return (report[0] if report else "no report: " + proc.stderr.read()), latency, full


# long calls with small inputs (each runs for minutes uninterrupted)
ESTIMATOR_CALLS = {
    "pass_at_k": ("n = np.full(20000, 100000, dtype=np.int64); c = np.arange(20000, dtype=np.int64) * 3",
                  "_C.pass_at_k(n, c, np.arange(1, 100001, dtype=np.int64), False, False, 0)"),
    "maj_at_k_counts": ("s = np.full((1, 3000), 2, dtype=np.int64); k = np.zeros((1, 3000), dtype=np.uint8); "
                        "k[0, 0] = 1",
                        "_C.maj_at_k_counts(s, k, None, np.arange(1, 6001, dtype=np.int64), 0, 0, False, 0, 1)"),
    "maj_at_k": ("a = np.repeat(np.arange(3000, dtype=np.int64), 2)[None]; k = (a == 0).astype(np.uint8)",
                 "_C.maj_at_k(a, k, np.arange(1, 6001, dtype=np.int64), 0, 0, False, 0, 1)"),
    "best_of_k": ("rng = np.random.default_rng(0); s = rng.random((1500, 3000)); k = (s > 0.5).astype(np.uint8)",
                  "_C.best_of_k(s, k, None, np.arange(1, 3001, dtype=np.int64), False, 0)"),
    "weighted_maj_at_k": ("rng = np.random.default_rng(0); a = rng.integers(0, 5, (50, 64)); "
                          "s = rng.random((50, 64)); k = (a == 0).astype(np.uint8)",
                          "_C.weighted_maj_at_k(a, s, k, np.arange(1, 65, dtype=np.int64), 10**7, 0, False, 0)"),
    "bootstrap": ("import ttc_fast; rng = np.random.default_rng(0); c = rng.integers(0, 65, 50000)",
                  "ttc_fast.pass_at_k(np.full(50000, 64), c, np.arange(1, 41), bootstrap=10**6)"),
}


@pytest.mark.parametrize("name", sorted(ESTIMATOR_CALLS))
def test_estimator_loops_stop_on_sigint(name):
    setup, call = ESTIMATOR_CALLS[name]
    status, latency, _ = _interrupt(setup, call)
    assert status == "interrupted", status
    assert latency < LATENCY, f"{name}: KeyboardInterrupt {latency:.2f} s after SIGINT"


def test_interrupt_from_a_single_thread_call():
    # num_threads=1: the loop runs inline on the calling thread (no worker pool), which polls itself
    status, latency, _ = _interrupt("n = np.full(20000, 100000, dtype=np.int64); c = np.arange(20000) * 3",
                                    "_C.pass_at_k(n, c, np.arange(1, 100001, dtype=np.int64), False, False, 1)")
    assert status == "interrupted" and latency < LATENCY, (status, latency)


def test_a_finished_call_is_unaffected():
    # a scope that saw no signal leaves results and later calls untouched
    import numpy as np

    from ttc_fast import _C
    mean = _C.pass_at_k(np.array([10, 10]), np.array([3, 0]), np.array([2]), False, False, 0)[0]
    assert abs(mean[0] - (8 / 15) / 2) < 1e-15


# memory-bound loops: ~1 GB inputs, one thread so that a call lasts long enough to be interrupted
MEMORY_CALLS = {
    "vote": ("a = np.random.default_rng(0).integers(0, 1 << 40, (4000, 20000))",
             "_C.vote(a, 1)"),
    "philox_uniform_rows": ("seeds = np.arange(4, dtype=np.int64); off = np.zeros(4, dtype=np.int64)",
                            "_C.philox_uniform_rows(seeds, off, 150_000_000, None, 1)"),
    "sample_thresholds": ("z = np.random.default_rng(0).standard_normal((2000, 150000), dtype=np.float32); "
                          "B = z.shape[0]",
                          "_C.sample_thresholds(z, np.zeros(B, np.int64), np.full(B, 0.9, np.float32), "
                          "np.full(B, -np.inf, np.float32), 1)"),
    "gumbel_argmax_rows": ("z = np.random.default_rng(0).standard_normal((2000, 150000), dtype=np.float32); "
                           "B = z.shape[0]",
                           "_C.gumbel_argmax_rows(z, np.full(B, -np.inf, np.float32), np.arange(B), "
                           "np.zeros(B, np.int64), False, 1)"),
    "inference_flops_grid": ("from ttc_fast.flops import ModelSpec; sh = ModelSpec.preset('tinyllama')._shape(); "
                             "p, g, k = np.broadcast_arrays(np.ones((1, 1)), np.ones((1, 1)), "
                             "np.arange(1.0, 1.5e8)[None])",
                             "_C.inference_flops_grid(sh, 'megatron', p, g, k, True, 1)"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MEMORY_CALLS))
def test_memory_bound_loops_stop_on_sigint(name):
    setup, call = MEMORY_CALLS[name]
    status, latency, full = _interrupt(setup, call, wait=0.2, measure=True, timeout=600)
    assert status == "interrupted", (status, full)
    assert latency < LATENCY and latency < 0.5 * full, (name, latency, full)
