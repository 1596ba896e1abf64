"""The built-in example of ``ttc-fast demo``: a synthetic task, a training loop, and the end-to-end run.

Importing this package pins the CPU numerics the demo's checkpoints depend on, unless the environment already
sets them: MKL's conditional numerical reproducibility on its AVX2 code path in strict mode
(``MKL_CBWR=AVX2,STRICT``: a matrix product no longer depends on the thread count) and ATen's AVX2 kernels
(``ATEN_CPU_CAPABILITY=avx2``, not the AVX-512 ones a newer CPU would pick). Both are read at torch's first
operation, so they hold when the demo is imported before anything runs on torch, as ``ttc-fast demo`` does; then
a seed trains the same checkpoints, bit for bit, at any thread count (tests/test_demo.py), and the same kernels
run on any x86 CPU with AVX2.
"""
import os

CPU_NUMERICS = {"MKL_CBWR": "AVX2,STRICT", "ATEN_CPU_CAPABILITY": "avx2"}
for _name, _value in CPU_NUMERICS.items():
    os.environ.setdefault(_name, _value)
