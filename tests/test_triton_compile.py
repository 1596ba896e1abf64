"""Every Triton kernel compiles to a cubin for sm_80 (no GPU needed: triton's bundled ptxas); sm_90a cubins (and
their register spills) are checked by tests/test_kernel_resources.py.

The interpreter executes Python semantics and misses compile-time errors (e.g. an if/else whose branches give a
variable two types), so this catches what the CPU tests cannot before a GPU sees the code. The compile runs in a
subprocess with TRITON_INTERPRET=0 (under the interpreter @triton.jit returns an interpreted function).
"""
import os
import subprocess
import sys

import pytest

CC = [80]  # sm_90a: tests/test_kernel_resources.py compiles every kernel for it (and checks spills)


def _attention_types(dt):
    return [f"*{dt}"] * 5 + ["*i32"] * 5 + ["*fp32"] * 2 + ["i32"] * 4 + ["fp32"] + ["i32"] * 17 + [None] * 8


def _compile(fn, types, constexprs, cc, **options):
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    sig = {n: ("constexpr" if n in constexprs else t) for n, t in zip(fn.arg_names, types)}
    k = triton.compile(ASTSource(fn=fn, signature=sig, constexprs=constexprs), target=GPUTarget("cuda", cc, 32),
                       options=options)
    assert k.asm["cubin"], "no cubin"


def _run_case(case, cc):
    """The launch configurations used on CUDA (see ttc_fast/ops/_*_triton.py)."""
    from ttc_fast.kernels.attention import (_append_suffix_kv_kernel, _merge_partials_kernel,
                                            _shared_prefix_partial_kernel)
    from ttc_fast.kernels.sampling import _sample_tokens_kernel
    from ttc_fast.kernels.vote import _vote_kernel
    if case.startswith("attention"):
        _, dt, D, G = case.split("-")
        D, G = int(D), int(G)
        import torch

        from ttc_fast.ops._attention_triton import cuda_config
        cfg = cuda_config(G, D, {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dt])
        _compile(_shared_prefix_partial_kernel, _attention_types(dt),
                 dict(G=G, SPLITS=2, SUFFIX_SPLITS=2, BLOCK_M=cfg["BLOCK_M"], BLOCK_G=16, BLOCK_N=cfg["BLOCK_N"],
                      BLOCK_D=D, IEEE=dt == "fp32"), cc, num_warps=cfg["num_warps"], num_stages=cfg["num_stages"])
        _compile(_merge_partials_kernel, ["*fp32", "*fp32", f"*{dt}", "*fp32"] + ["i32"] * 9 + [None] * 4,
                 dict(NUM_PARTS=3, BLOCK_S=4, BLOCK_D=D, WRITE_LSE=True), cc, num_warps=2)
        _compile(_append_suffix_kv_kernel, [f"*{dt}"] * 2 + ["*i32"] + [f"*{dt}"] * 2 + ["i32"] * 12 + [None],
                 dict(BLOCK_D=D), cc, num_warps=1)
    else:
        _compile(_sample_tokens_kernel, ["*bf16", "*fp32", "*i64", "*fp32", "*fp32", "*i64", "*i64", "*i64",
                                         "*fp32", "i32", "i32", None, None, None],
                 dict(BLOCK_V=4096, SEARCH_BLOCK_V=1024, FANOUT=16), cc, num_warps=8)
        from ttc_fast.ops._vote_triton import launch_config
        cfg = launch_config(256)
        nw = cfg.pop("num_warps")
        _compile(_vote_kernel, ["*i64"] * 7 + ["*i32", "i32", "i32", "i32", None, None], cfg, cc, num_warps=nw)


def _check(case, cc):
    pytest.importorskip("triton.backends.nvidia")
    env = dict(os.environ, TRITON_INTERPRET="0", TRITON_DEFAULT_FP_FUSION="1")
    r = subprocess.run([sys.executable, __file__, case, str(cc)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


@pytest.mark.parametrize("cc", CC)
def test_triton_kernels_compile(cc):
    # attention in bf16 (Qwen-like G = 6, D = 128) and fp16 (MHA, D = 64), sampling, vote: one subprocess per arch
    _check("attention-bf16-128-6,attention-fp16-64-1,sampling-vote", cc)


@pytest.mark.slow
@pytest.mark.parametrize("cc", CC)
def test_attention_fp32_ieee_compiles(cc):
    _check("attention-fp32-128-4", cc)


if __name__ == "__main__":
    for c in sys.argv[1].split(","):
        _run_case(c, int(sys.argv[2]))
