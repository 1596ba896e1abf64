"""Registers, spills, stack frame and shared memory of every Triton launch configuration used on CUDA (no GPU).

Each configuration that ``ttc_fast/ops/_*_triton.py`` launches on CUDA (the meta-parameters come from the launchers'
own config functions, so this list cannot drift from them) is compiled with ``triton.compile`` for the target
(default sm_90a, the H200) and the PTX it emits is assembled again with ``ptxas -v`` and the flags Triton itself
passes (``-lineinfo --regAllocOptLevel=2``), whose report gives registers, spill stores/loads and the stack frame.
Triton's ``ptxas`` for older targets rejects the PTX of this Triton (ISA 9.x); its ``ptxas-blackwell`` reads it, and
is what Triton itself runs for cc >= 90. Shared memory is Triton's own figure (``metadata.shared``, bytes of
dynamic shared memory per program).

Run (as a script: it sets TRITON_INTERPRET=0 before importing triton):
    python benchmarks/kernel_resources.py                  # the full table (markdown), ~2 min on 2 cores
    python benchmarks/kernel_resources.py --subset fast --check   # the test's subset; exit 1 on any spill
    python benchmarks/kernel_resources.py --json out.json --arch sm_90a
Exit codes: 0 fine, 1 a configuration spills (with --check), 3 no usable ptxas (the message says why).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

ATT_DTYPES = ("bf16", "fp16", "fp32")


@dataclass
class Case:
    name: str  # e.g. "attention bf16 D=128 G=6"
    kernel: str  # kernel function name
    types: list  # Triton signature types per argument (None for constexprs)
    constexprs: dict
    options: dict  # num_warps, num_stages
    resources: dict = field(default_factory=dict)


def find_ptxas() -> str | None:
    """Triton's ptxas-blackwell (reads Triton's PTX for sm_90a), else $TTC_PTXAS, else None."""
    if os.environ.get("TTC_PTXAS"):
        return os.environ["TTC_PTXAS"]
    try:
        import triton
    except ImportError:
        return None
    p = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "ptxas-blackwell")
    return p if os.path.exists(p) and os.access(p, os.X_OK) else None


def _attention_types(dt):
    return [f"*{dt}"] * 5 + ["*i32"] * 5 + ["*fp32"] * 2 + ["i32"] * 4 + ["fp32"] + ["i32"] * 17 + [None] * 8


def cases(subset: str = "full") -> list[Case]:
    """Every CUDA launch configuration (``full``) or one per distinct tile shape (``fast``, for the test)."""
    import torch
    import triton

    from ttc_fast.ops._attention_triton import cuda_config, merge_num_warps
    from ttc_fast.ops._sampling_triton import launch_config as sampling_config
    from ttc_fast.ops._vote_triton import launch_config as vote_config

    out: list[Case] = []
    if subset == "full":
        att = [(dt, D, G) for dt in ATT_DTYPES for D in (64, 128, 256) for G in (1, 2, 3, 4, 5, 6, 7, 8, 16)]
    else:  # the configurations closest to a spill in the full table (most registers, or spilled before a fix)
        att = [("bf16", 64, 6), ("bf16", 128, 6), ("bf16", 256, 1), ("fp32", 64, 6), ("fp32", 128, 5)]
    for dt, D, G in att:
        cfg = cuda_config(G, D, {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dt])
        meta = dict(G=G, SPLITS=2, SUFFIX_SPLITS=2, BLOCK_M=cfg["BLOCK_M"], BLOCK_G=max(16, triton.next_power_of_2(G)),
                    BLOCK_N=cfg["BLOCK_N"], BLOCK_D=triton.next_power_of_2(D), IEEE=dt == "fp32")
        out.append(Case(f"attention {dt} D={D} G={G}", "_shared_prefix_partial_kernel", _attention_types(dt), meta,
                        dict(num_warps=cfg["num_warps"], num_stages=cfg["num_stages"])))
    for D in (64, 128, 256):
        if subset == "fast" and D != 256:
            continue
        for parts in ((2, 32) if subset == "full" else (32,)):  # BLOCK_S = next_pow2(splits + suffix splits) <= 32
            out.append(Case(f"merge D={D} parts<={parts}", "_merge_partials_kernel",
                            ["*fp32", "*fp32", "*bf16", "*fp32"] + ["i32"] * 9 + [None] * 4,
                            dict(NUM_PARTS=parts, BLOCK_S=parts, BLOCK_D=D, WRITE_LSE=True),
                            dict(num_warps=merge_num_warps(D))))
        out.append(Case(f"append D={D}", "_append_suffix_kv_kernel",
                        ["*bf16"] * 2 + ["*i32"] + ["*bf16"] * 2 + ["i32"] * 12 + [None], dict(BLOCK_D=D),
                        dict(num_warps=1)))
    for dt in (("bf16", "fp16", "fp32") if subset == "full" else ("bf16",)):
        for V in ((1000, 32000, 152064) if subset == "full" else (152064,)):
            cfg = sampling_config(V)
            nw = cfg.pop("num_warps")
            out.append(Case(f"sampling {dt} V={V}", "_sample_tokens_kernel",
                            [f"*{dt}", "*fp32", "*i64", "*fp32", "*fp32", "*i64", "*i64", "*i64", "*fp32", "i32", "i32",
                             None, None, None], cfg, dict(num_warps=nw)))
    for N in ((8, 64, 256, 1024, 4096, 8192) if subset == "full" else (8192,)):
        cfg = vote_config(N)
        nw = cfg.pop("num_warps")
        out.append(Case(f"vote N={N}", "_vote_kernel", ["*i64"] * 7 + ["*i32", "i32", "i32", "i32", None, None], cfg,
                        dict(num_warps=nw)))
    return out


_KERNEL_MODULES = {"_shared_prefix_partial_kernel": "attention", "_merge_partials_kernel": "attention",
                   "_append_suffix_kv_kernel": "attention", "_sample_tokens_kernel": "sampling",
                   "_vote_kernel": "vote"}


def parse_ptxas(log: str) -> dict:
    """registers, spill_stores, spill_loads, stack (bytes) from a ``ptxas -v`` log of one entry function."""
    regs = re.search(r"Used (\d+) registers", log)
    frame = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", log)
    if regs is None or frame is None:
        raise RuntimeError(f"unexpected ptxas -v output:\n{log}")
    return dict(registers=int(regs.group(1)), stack=int(frame.group(1)), spill_stores=int(frame.group(2)),
                spill_loads=int(frame.group(3)))


def measure(case: Case, ptxas: str, arch: str) -> dict:
    import importlib

    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    fn = getattr(importlib.import_module(f"ttc_fast.kernels.{_KERNEL_MODULES[case.kernel]}"), case.kernel)
    sig = {n: ("constexpr" if n in case.constexprs else t) for n, t in zip(fn.arg_names, case.types)}
    cc = int(re.sub(r"\D", "", arch))
    # a fresh compile prints Triton's own ptxas -v log (same target and flags); a cache hit prints none
    buf = io.StringIO()
    knobs = getattr(getattr(triton, "knobs", None), "nvidia", None)  # older Tritons: no knob, ptxas runs below
    old = getattr(knobs, "dump_ptxas_log", None)
    if knobs is not None:
        knobs.dump_ptxas_log = True
    try:
        with contextlib.redirect_stdout(buf):
            k = triton.compile(ASTSource(fn=fn, signature=sig, constexprs=case.constexprs),
                               target=GPUTarget("cuda", cc, 32), options=case.options)
    finally:
        if knobs is not None:
            knobs.dump_ptxas_log = old
    if arch == f"sm_{cc}a" and cc >= 90 and "Used " in buf.getvalue():  # Triton assembles cc 90 as sm_90a
        res = parse_ptxas(buf.getvalue())
        res["shared"] = int(getattr(k.metadata, "shared", 0))
        return res
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "k.ptx")
        with open(src, "w") as f:
            f.write(k.asm["ptx"])
        r = subprocess.run([ptxas, "-lineinfo", "-v", "--regAllocOptLevel=2", f"--gpu-name={arch}", src, "-o",
                            os.path.join(d, "k.o")], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"{case.name}: ptxas failed ({r.returncode}):\n{r.stderr[-2000:]}")
    res = parse_ptxas(r.stderr)
    res["shared"] = int(getattr(k.metadata, "shared", 0))
    return res


def cuda_cpp_resources(arch: str) -> list[Case]:
    """The CUDA C++ kernels (csrc/cuda/*.cu) through ``nvcc -Xptxas -v`` for the same target; [] without nvcc."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        return []
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "csrc", "cuda")
    out = []
    for src in sorted(f for f in os.listdir(root) if f.endswith(".cu")):
        with tempfile.TemporaryDirectory() as d:
            cc = re.sub(r"\D", "", arch) + ("a" if arch.endswith("a") else "")
            r = subprocess.run([nvcc, "-std=c++17", "-O2", "-lineinfo", f"-gencode=arch=compute_{cc},code=sm_{cc}",
                                "-Xptxas", "-v", "-I", root, "-c", os.path.join(root, src), "-o",
                                os.path.join(d, "k.o")], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"nvcc failed on {src}:\n{r.stderr[-2000:]}")
        for block in r.stderr.split("Compiling entry function '")[1:]:
            name = block.split("'", 1)[0]
            res = parse_ptxas(block)
            smem = re.search(r"(\d+) bytes smem", block)
            res["shared"] = int(smem.group(1)) if smem else 0  # static; the row buffer is dynamic (16 B x N)
            short = re.sub(r"^_ZN.*?(\d+)([a-z_]+)E.*$", r"\2", name)
            out.append(Case(f"CUDA C++ {src}: {short}", name, [], {}, dict(num_warps=8), res))
    return out


def markdown(rows: list[Case], arch: str) -> str:
    lines = [f"| configuration | meta-parameters | warps | registers | spill stores / loads (B) | stack (B) | "
             f"shared (B) |", "|---|---|---:|---:|---:|---:|---:|"]
    for c in rows:
        r = c.resources
        meta = ", ".join(f"{k}={v}" for k, v in c.constexprs.items() if k.startswith(("BLOCK", "CHUNK", "FANOUT")))
        meta += f", stages={c.options['num_stages']}" if "num_stages" in c.options else ""
        lines.append(f"| {c.name} | {meta} | {c.options['num_warps']} | {r['registers']} | "
                     f"{r['spill_stores']} / {r['spill_loads']} | {r['stack']} | {r['shared']} |")
    return "\n".join(lines) + f"\n\n({arch}, {len(rows)} configurations)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subset", choices=("full", "fast"), default="full")
    ap.add_argument("--arch", default="sm_90a")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--check", action="store_true", help="exit 1 when any configuration spills")
    args = ap.parse_args(argv)
    ptxas = find_ptxas()
    if ptxas is None:
        print("no usable ptxas: needs triton's backends/nvidia/bin/ptxas-blackwell (or TTC_PTXAS=path)")
        return 3
    try:
        import triton.backends.nvidia  # noqa: F401
    except ImportError as e:
        print(f"no usable ptxas: triton's NVIDIA backend is missing ({e})")
        return 3
    t0 = time.perf_counter()
    rows = cases(args.subset)
    for c in rows:
        c.resources = measure(c, ptxas, args.arch)
    if args.subset == "full":
        rows += cuda_cpp_resources(args.arch)
    print(markdown(rows, args.arch))
    print(f"({time.perf_counter() - t0:.0f} s, {ptxas})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(arch=args.arch, ptxas=ptxas, cases=[
                dict(name=c.name, kernel=c.kernel, constexprs=c.constexprs, options=c.options, **c.resources)
                for c in rows]), f, indent=1)
    bad = [c.name for c in rows if c.resources["spill_stores"] or c.resources["spill_loads"]]
    if bad:
        print("SPILLS: " + "; ".join(bad))
        if args.check:
            return 1
    return 0


if __name__ == "__main__":
    # before triton is imported (only here: importing this module, as the test does, must not switch the
    # interpreter off for the importing process): @triton.jit must give a JITFunction, not an interpreted one
    os.environ["TRITON_INTERPRET"] = "0"
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    sys.exit(main())
