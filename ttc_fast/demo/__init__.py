"""The built-in example of ``ttc-fast demo``: a synthetic task, a training loop, and the end-to-end run.

Importing this package pins the CPU numerics the demo's checkpoints depend on, unless the environment already
sets them: MKL's conditional numerical reproducibility on its vendor-independent code path in strict mode
(``MKL_CBWR=COMPATIBLE,STRICT``: a matrix product depends neither on the thread count nor, as MKL documents it,
on the CPU's vendor; its AVX2 branch is Intel's only, an AMD CPU runs the automatic one instead) and ATen's
AVX2 kernels (``ATEN_CPU_CAPABILITY=avx2``, not the AVX-512 ones a newer CPU would pick). Both are read at
torch's first operation, so they hold when the demo is imported before anything runs on torch, as ``ttc-fast
demo`` does; then a seed trains the same checkpoints, bit for bit, at any thread count (tests/test_demo.py). The
report prints the final weights' sha256: the same fingerprint on two machines means the same checkpoints.
"""
import os

CPU_NUMERICS = {"MKL_CBWR": "COMPATIBLE,STRICT", "ATEN_CPU_CAPABILITY": "avx2"}
for _name, _value in CPU_NUMERICS.items():
    os.environ.setdefault(_name, _value)
