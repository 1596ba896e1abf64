"""shared_prefix_attention: Triton kernel (interpreter) and torch reference vs SDPA over a materialised prefix copy.

Tolerances (stated): fp32 inputs, atol = rtol = 1e-5 against the fp32 SDPA oracle (the kernel uses IEEE fp32 dots);
fp16 inputs, atol = rtol = 5e-3 against the fp32 oracle on the fp16-rounded inputs (the kernel rounds the
probabilities to fp16 before the PV matmul, as flash-attention does). bf16 is not supported by the interpreter's
numpy dot, so bf16 runs only in the `gpu` test.
"""
import math
import os

import pytest
import torch
import torch.nn.functional as F

from ttc_fast.ops import append_suffix_kv, shared_prefix_attention, shared_prefix_attention_ref

BACKENDS = ["torch", pytest.param("triton", marks=pytest.mark.interpreter)]


# The Triton backend runs on CUDA when a GPU is present, else on CPU tensors in the interpreter (conftest).
_INTERPRET = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
KERNEL_DEVICE = "cuda" if torch.cuda.is_available() and not _INTERPRET else "cpu"


def dev(backend):
    return KERNEL_DEVICE if backend == "triton" else "cpu"


def make_case(ns, Ls, Hkv, G, D, S, *, lens=None, dtype=torch.float32, device="cpu", seed=0):
    g = torch.Generator().manual_seed(seed)
    T, Hq = sum(ns), Hkv * G

    def rnd(*shape):
        return torch.randn(*shape, generator=g).to(dtype).to(device)

    q, kp, vp = rnd(T, Hq, D), rnd(sum(Ls), Hkv, D), rnd(sum(Ls), Hkv, D)
    ks, vs = rnd(T, S, Hkv, D), rnd(T, S, Hkv, D)
    sl = torch.randint(0, S + 1, (T,), generator=g) if lens is None else torch.tensor(lens)
    pi = torch.tensor([0] + torch.tensor(Ls).cumsum(0).tolist())
    qi = torch.tensor([0] + torch.tensor(ns).cumsum(0).tolist())
    return q, kp, vp, pi.to(device), qi.to(device), ks, vs, sl.to(torch.int32).to(device)


def sdpa_oracle(q, kp, vp, pi, qi, ks, vs, sl, scale=None):
    """Per sample: SDPA over a materialised copy prefix ++ suffix (fp32), plus the natural-log LSE."""
    T, Hq, D = q.shape
    G = Hq // kp.shape[1]
    scale = 1 / math.sqrt(D) if scale is None else scale
    out = torch.zeros(T, Hq, D)
    lse = torch.full((T, Hq), float("-inf"))
    for t in range(T):
        p = int(torch.searchsorted(qi, torch.tensor(t), right=True)) - 1
        K = torch.cat([kp[pi[p]:pi[p + 1]], ks[t, :sl[t]]]).float().repeat_interleave(G, 1)  # [L+S, Hq, D]
        V = torch.cat([vp[pi[p]:pi[p + 1]], vs[t, :sl[t]]]).float().repeat_interleave(G, 1)
        if K.shape[0] == 0:
            continue  # no keys: o = 0, lse = -inf by convention
        qt = q[t].float()[:, None, :]  # [Hq, 1, D]
        out[t] = F.scaled_dot_product_attention(qt, K.transpose(0, 1), V.transpose(0, 1), scale=scale)[:, 0]
        lse[t] = torch.logsumexp(torch.einsum("hd,lhd->hl", q[t].float(), K) * scale, -1)
    return out, lse


# (ns samples per prompt, Ls prefix lengths, Hkv, G, D, S_max) -- what each exercises
CASES = [
    ([1], [5], 1, 1, 64, 3),                # N = 1, MHA, prefix shorter than a tile
    ([3, 2, 4], [17, 16, 15], 2, 2, 64, 4),  # ragged prompts, prefix = tile +1 / tile / tile -1 (tile 16)
    ([5, 1], [33, 0], 1, 4, 64, 5),          # GQA 4, an empty prefix, prefix not a multiple of the tile
    ([9], [20], 1, 8, 128, 2),               # GQA 8 (tile of 16 rows = 2 samples x 8 heads), head_dim 128
    ([2, 3], [7, 12], 3, 1, 64, 3),          # odd head count (3 MHA heads)
    ([4], [10], 1, 3, 64, 3),                # odd GQA group (3 query heads per kv head)
    ([1, 0, 2], [4, 6, 9], 5, 1, 64, 2),     # a prompt with no samples, 5 heads
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"n{c[0]}-L{c[1]}-hkv{c[2]}-g{c[3]}-d{c[4]}")
def test_matches_sdpa_fp32(case, backend):
    args = make_case(*case, device=dev(backend))
    out, lse = shared_prefix_attention(*args, return_lse=True, backend=backend)
    out, lse = out.cpu(), lse.cpu()
    ref_o, ref_lse = sdpa_oracle(*[a.cpu() for a in args])
    torch.testing.assert_close(out, ref_o, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(lse, ref_lse, atol=1e-5, rtol=1e-5)


@pytest.mark.interpreter
@pytest.mark.parametrize("splits,ssplits", [(2, 1), (3, 2), (1, 3)])
def test_split_k_matches_ref(splits, ssplits):
    # flash-decoding split of prefix and suffix: chunks rounded to the tile, trailing splits empty for short ones
    from ttc_fast.ops._attention_triton import attention_triton
    args = make_case([3, 2], [41, 9], 2, 2, 64, 37, seed=1, device=KERNEL_DEVICE)
    out, lse = attention_triton(*args, None, True, None, num_splits=splits, num_suffix_splits=ssplits)
    out, lse = out.cpu(), lse.cpu()
    ref_o, ref_lse = shared_prefix_attention_ref(*[a.cpu() for a in args], return_lse=True)
    torch.testing.assert_close(out, ref_o, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(lse, ref_lse, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_suffix_and_no_keys_give_no_nan(backend):
    # suffix_lens all 0 (first decode step) and a prompt with an empty prefix: o = 0, lse = -inf, no NaN
    args = make_case([2, 2], [6, 0], 1, 2, 64, 3, lens=[0, 0, 0, 0], device=dev(backend))
    out, lse = shared_prefix_attention(*args, return_lse=True, backend=backend)
    out, lse, args = out.cpu(), lse.cpu(), [a.cpu() for a in args]
    assert not torch.isnan(out).any() and not torch.isnan(lse).any()
    assert torch.equal(out[2:], torch.zeros_like(out[2:])) and torch.isneginf(lse[2:]).all()
    ref_o, ref_lse = sdpa_oracle(*args)
    torch.testing.assert_close(out, ref_o, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(lse, ref_lse, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fp16_and_out_buffer_and_scale(backend):
    args = make_case([3, 2], [19, 8], 2, 2, 64, 4, dtype=torch.float16, seed=2, device=dev(backend))
    out = torch.empty_like(args[0])
    res = shared_prefix_attention(*args, sm_scale=0.2, out=out, backend=backend)
    assert res is out and out.dtype == torch.float16
    ref_o, _ = sdpa_oracle(*[a.cpu() for a in args], scale=0.2)
    torch.testing.assert_close(out.float().cpu(), ref_o, atol=5e-3, rtol=5e-3)


def test_ref_equals_kernel_random_ragged():
    # seeded random ragged batch, both paths against each other (the interpreter is exact to ~1e-6)
    pytest.importorskip("triton")
    args = make_case([1, 4, 2], [23, 31, 1], 2, 4, 64, 6, seed=3, device=KERNEL_DEVICE)
    a = shared_prefix_attention(*args, backend="triton").cpu()
    b = shared_prefix_attention_ref(*[x.cpu() for x in args])
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_append_suffix_kv_then_attend(backend):
    args = list(make_case([2, 1], [5, 3], 1, 2, 64, 4, lens=[0, 2, 3], device=dev(backend)))
    ks, vs, sl = args[5], args[6], args[7]
    k_new, v_new = torch.randn(3, 1, 64).to(ks.device), torch.randn(3, 1, 64).to(ks.device)
    before = ks.clone()
    append_suffix_kv(ks, vs, sl, k_new, v_new, backend=backend)
    for t, pos in enumerate(sl.tolist()):
        assert torch.equal(ks[t, pos], k_new[t]) and torch.equal(vs[t, pos], v_new[t])
        keep = [s for s in range(4) if s != pos]
        assert torch.equal(ks[t, keep], before[t, keep])
    sl += 1
    cpu_args = [a.cpu() for a in args]
    torch.testing.assert_close(shared_prefix_attention_ref(*cpu_args), sdpa_oracle(*cpu_args)[0], atol=1e-5,
                               rtol=1e-5)
    with pytest.raises(ValueError, match="suffix_lens"):
        append_suffix_kv(ks, vs, torch.tensor([4, 0, 0], dtype=torch.int32, device=ks.device), k_new, v_new,
                         backend=backend)


def test_bad_inputs_raise_before_launch():
    args = make_case([2, 1], [5, 3], 1, 2, 64, 4)
    q, kp, vp, pi, qi, ks, vs, sl = args

    def call(**kw):
        a = dict(zip(["q", "k_prefix", "v_prefix", "prefix_indptr", "qo_indptr", "k_suffix", "v_suffix",
                      "suffix_lens"], args))
        a.update(kw)
        return shared_prefix_attention(**a, backend="torch")

    with pytest.raises(ValueError, match="prefix_indptr"):
        call(prefix_indptr=torch.tensor([0, 6, 5]))  # not monotone / wrong end
    with pytest.raises(ValueError, match="qo_indptr"):
        call(qo_indptr=torch.tensor([0, 3]))  # wrong length
    with pytest.raises(ValueError, match="suffix_lens"):
        call(suffix_lens=torch.tensor([0, 5, 1], dtype=torch.int32))  # beyond the cache (S_max = 4)
    with pytest.raises(TypeError, match="k_prefix"):
        call(k_prefix=kp.half())  # dtype mismatch
    with pytest.raises(TypeError, match="suffix_lens"):
        call(suffix_lens=sl.float())
    with pytest.raises(ValueError, match="multiple"):
        a2 = make_case([2, 1], [5, 3], 2, 1, 64, 4)
        shared_prefix_attention(torch.randn(3, 3, 64), *a2[1:], backend="torch")  # 3 q heads, 2 kv heads
    with pytest.raises(ValueError, match="k_suffix"):
        call(k_suffix=ks[:, :, :, :32])
    with pytest.raises(ValueError, match="backend"):
        call_backend = dict(zip(["q", "k_prefix", "v_prefix", "prefix_indptr", "qo_indptr", "k_suffix",
                                 "v_suffix", "suffix_lens"], args))
        shared_prefix_attention(**call_backend, backend="flash")
    with pytest.raises(ValueError, match="no CUDA C"):
        shared_prefix_attention(*args, backend="cuda")


def test_validate_false_skips_only_the_value_checks():
    args = make_case([2, 1], [5, 3], 1, 2, 64, 4)
    q, kp, vp, pi, qi, ks, vs, sl = args
    ref = shared_prefix_attention(*args, backend="torch")
    torch.testing.assert_close(shared_prefix_attention(*args, backend="torch", validate=False), ref, atol=0, rtol=0)
    bad_order = torch.tensor([0, 6, 5])  # a value error: only the (host-syncing) value checks see it
    with pytest.raises(ValueError, match="prefix_indptr"):
        shared_prefix_attention(q, kp, vp, bad_order, qi, ks, vs, sl, backend="torch")
    with pytest.raises(ValueError, match="qo_indptr"):  # shape errors are still caught without validate
        shared_prefix_attention(q, kp, vp, pi, torch.tensor([0, 3]), ks, vs, sl, backend="torch", validate=False)
    with pytest.raises(TypeError, match="k_prefix"):
        shared_prefix_attention(q, kp.half(), vp, pi, qi, ks, vs, sl, backend="torch", validate=False)
    k_new, v_new = torch.randn(3, 1, 64), torch.randn(3, 1, 64)
    with pytest.raises(ValueError, match="suffix_lens"):
        append_suffix_kv(ks, vs, torch.tensor([4, 0, 0], dtype=torch.int32), k_new, v_new)
    with pytest.raises(ValueError, match="k_new"):
        append_suffix_kv(ks, vs, sl, k_new[:2], v_new, validate=False)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_gpu_kernel_vs_ref(dtype):
    args = make_case([64, 3], [2048, 130], 2, 6, 128, 100, dtype=dtype, device="cuda")
    out, lse = shared_prefix_attention(*args, return_lse=True)
    ref_o, ref_lse = shared_prefix_attention_ref(*args, return_lse=True)
    torch.testing.assert_close(out.float(), ref_o.float(), atol=2e-2, rtol=2e-2)
    torch.testing.assert_close(lse, ref_lse, atol=1e-2, rtol=1e-3)


@pytest.mark.gpu
def test_gpu_cuda_graph_capture():
    args = make_case([8, 8], [300, 500], 2, 4, 64, 16, dtype=torch.float16, device="cuda")
    out = torch.empty_like(args[0])
    shared_prefix_attention(*args, out=out)  # warm-up compiles the kernels
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        shared_prefix_attention(*args, out=out)
    args[0].mul_(0.5)
    graph.replay()
    torch.testing.assert_close(out.float(), shared_prefix_attention_ref(*args).float(), atol=2e-2, rtol=2e-2)
