"""Break-even grid: checkpoints x K x generation lengths, ttc_fast (C++ grid) vs what a user would write.

impl:
  ttc_fast     ttc_fast.break_even on broadcast inputs (C++ broadcast grid, parallel_for threads)
  numpy        the plain-Python reference formulas applied to broadcast numpy arrays
  python-loop  the same reference evaluated element by element in a triple loop, over the first
               LOOP_CKPT checkpoints only (a full grid takes ~30 s): compare Mcells_per_s

Run: python -m pytest benchmarks/bench_flops.py --benchmark-columns=median,rounds   (CI=true shrinks the grid)
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import ttc_fast
from ttc_fast.flops import ModelSpec, break_even_queries_ref

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
NUM_CKPT, MAX_K = (20, 64) if CI else (1000, 1024)
GENS = np.array([128.0, 512.0, 2048.0, 8192.0])
SPEC = ModelSpec.preset("tinyllama")
FULL, PROMPT = 3e12, 1024.0
CKPT = np.linspace(0.0, FULL, NUM_CKPT)
KS = np.arange(1, MAX_K + 1, dtype=np.float64)
CELLS = NUM_CKPT * MAX_K * len(GENS)
LOOP_CKPT = NUM_CKPT if CI else 50


def _ttc_fast():
    return ttc_fast.break_even(SPEC, full_tokens=FULL, checkpoint_tokens=CKPT[:, None, None], k=KS[None, :, None],
                               prompt_len=PROMPT, gen_len=GENS[None, None, :]).queries


def _numpy():
    return break_even_queries_ref(SPEC, full_tokens=FULL, checkpoint_tokens=CKPT[:, None, None],
                                  k=KS[None, :, None], prompt_len=PROMPT, gen_len=GENS[None, None, :])


def _python_loop():
    out = np.empty((LOOP_CKPT, MAX_K, len(GENS)))
    for i, c in enumerate(CKPT[:LOOP_CKPT].tolist()):
        for j, k in enumerate(KS.tolist()):
            for m, g in enumerate(GENS.tolist()):
                out[i, j, m] = break_even_queries_ref(SPEC, full_tokens=FULL, checkpoint_tokens=c, k=k,
                                                      prompt_len=PROMPT, gen_len=g)
    return out


IMPLS = {"ttc_fast": _ttc_fast, "numpy": _numpy, "python-loop": _python_loop}


@pytest.mark.parametrize("impl", list(IMPLS))
def test_break_even_grid(benchmark, impl):
    fn = IMPLS[impl]
    ckpts = LOOP_CKPT if impl == "python-loop" else NUM_CKPT
    cells = ckpts * MAX_K * len(GENS)
    benchmark.extra_info.update(cells=cells, grid=f"{ckpts} checkpoints x K 1..{MAX_K} x {len(GENS)} lengths",
                                threads=ttc_fast._C.num_threads())
    if impl == "python-loop":
        result = benchmark.pedantic(fn, rounds=1, iterations=1)
    else:
        result = benchmark(fn)
    benchmark.extra_info["Mcells_per_s"] = cells / benchmark.stats.stats.median / 1e6
    np.testing.assert_allclose(result[:, 1:], _numpy()[:ckpts, 1:], rtol=1e-12)
