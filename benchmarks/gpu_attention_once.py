"""One shared_prefix_attention decode step at the goal shape (Qwen2.5-1.5B, bf16, N = 64, P = 2048, S = 512), for a
profiler: ``ncu -k regex:_shared_prefix_partial_kernel -c 1 ... python benchmarks/gpu_attention_once.py`` reads the
DRAM bytes of the partial kernel (ncu flushes the caches before it), to set beside the unique bytes printed here and
the load counts of benchmarks/attention_traffic.py. Needs CUDA."""
import torch

from ttc_fast.ops import shared_prefix_attention

Hq, Hkv, D, N, P, S = 12, 2, 128, 64, 2048, 512
g = torch.Generator(device="cuda").manual_seed(0)
rnd = lambda *s: torch.randn(*s, generator=g, device="cuda", dtype=torch.bfloat16)  # noqa: E731
q, kp, vp, ks, vs = rnd(N, Hq, D), rnd(P, Hkv, D), rnd(P, Hkv, D), rnd(N, S, Hkv, D), rnd(N, S, Hkv, D)
i32 = dict(device="cuda", dtype=torch.int32)
args = (q, kp, vp, torch.tensor([0, P], **i32), torch.tensor([0, N], **i32), ks, vs, torch.full((N,), S, **i32))
shared_prefix_attention(*args)
torch.cuda.synchronize()
b = 2 * Hkv * D * 2
print(f"unique bytes {P * b + N * S * b + 2 * q.numel() * 2} (prefix {P * b}, suffixes {N * S * b})")
