"""FlashInfer's first-use JIT compile, measured: build the modules the benchmarks use, once, and time each.

FlashInfer compiles its CUDA kernels on first use (nvcc; cached under its JIT directory for the rest of the
machine's life). benchmarks/gpu_suite.sh runs this under a time bound before the benchmarks: when it does not finish,
the benchmarks skip FlashInfer with that message instead of spending the lease on compiles. Prints one line per
module: ``jit <name> <first call s> <second call s>`` (the JIT time is the difference), then ``ok``.
Run: python benchmarks/flashinfer_warmup.py     (needs CUDA and flashinfer)
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402


def timed(fn) -> float:
    torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - t


def main() -> int:
    import flashinfer

    from _flashinfer import cascade_attention_fn
    print("flashinfer", flashinfer.__version__, "torch", torch.__version__, flush=True)
    dev = "cuda"
    for name, (Hq, Hkv, D) in (("cascade_bf16_d128_g6", (12, 2, 128)), ("cascade_bf16_d128_g4", (32, 8, 128))):
        q = torch.randn(4, Hq, D, device=dev, dtype=torch.bfloat16)
        kp, vp = (torch.randn(40, Hkv, D, device=dev, dtype=torch.bfloat16) for _ in range(2))
        ks, vs = (torch.randn(4, 20, Hkv, D, device=dev, dtype=torch.bfloat16) for _ in range(2))
        t0 = time.perf_counter()
        fn = cascade_attention_fn(flashinfer, q, kp, vp, ks, vs, 20)  # plan() may compile too
        first = time.perf_counter() - t0 + timed(fn)
        print(f"jit {name} {first:.1f} {timed(fn):.4f}", flush=True)
    logits = torch.randn(8, 32000, device=dev)
    for name, fn in (("sampling_from_logits", lambda: flashinfer.sampling.sampling_from_logits(logits)),
                     ("top_k_top_p_sampling_from_logits",
                      lambda: flashinfer.sampling.top_k_top_p_sampling_from_logits(logits, 32000, 0.9)),
                     ("min_p_sampling_from_probs",
                      lambda: flashinfer.sampling.min_p_sampling_from_probs(torch.softmax(logits, -1), 0.05))):
        print(f"jit {name} {timed(fn):.1f} {timed(fn):.4f}", flush=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
