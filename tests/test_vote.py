"""vote: against a collections.Counter brute force; identical on every backend; ties, abstentions, padding."""
import os
from collections import Counter

import pytest
import torch

from ttc_fast.ops import vote, vote_ref

BACKENDS = ["torch", pytest.param("triton", marks=pytest.mark.interpreter)]


# The Triton backend runs on CUDA when a GPU is present, else on CPU tensors in the interpreter (conftest).
_INTERPRET = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
KERNEL_DEVICE = "cuda" if torch.cuda.is_available() and not _INTERPRET else "cpu"


def dev(backend):
    return KERNEL_DEVICE if backend == "triton" else "cpu"


def brute(row):
    c = Counter(x for x in row if x >= 0)
    clusters = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))
    n = len(row)
    ids = [k for k, _ in clusters] + [-2] * (n - len(clusters))
    sizes = [v for _, v in clusters] + [0] * (n - len(clusters))
    winner = clusters[0][0] if clusters else -1
    return winner, sizes[0] if clusters else 0, sizes[1] if len(clusters) > 1 else 0, ids, sizes, row.count(-1)


def check(res, a):
    for p, row in enumerate(a.tolist()):
        w, wc, ru, ids, sizes, ab = brute(row)
        assert res.winner[p] == w and res.winner_count[p] == wc and res.runner_up_count[p] == ru, (p, row)
        assert res.cluster_ids[p].tolist() == ids and res.cluster_sizes[p].tolist() == sizes, (p, row)
        assert res.abstentions[p] == ab


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(40, 9), (7, 1), (5, 33), (3, 64)], ids=str)  # N = 1, odd, block+1, pow2
def test_vs_counter(shape, backend):
    g = torch.Generator().manual_seed(shape[0] * 100 + shape[1])
    a = torch.randint(-2, 5, shape, generator=g)  # small id range -> many ties
    a[0] = torch.randint(0, 10**12, (shape[1],), generator=g)  # large ids
    check(vote(a.to(dev(backend)), backend=backend), a)


@pytest.mark.interpreter
@pytest.mark.parametrize("shape", [(6, 20), (3, 16)], ids=str)
def test_triton_position_blocks(shape):
    # rows longer than one block of positions (BLOCK_I = 8: a partial last block; block-aligned N)
    from ttc_fast.ops._vote_triton import vote_triton
    g = torch.Generator().manual_seed(shape[1])
    a = torch.randint(-2, 6, shape, generator=g)
    P, N = shape
    out = dict(winner=torch.empty(P, dtype=torch.int64), winner_count=torch.empty(P, dtype=torch.int64),
               runner_up_count=torch.empty(P, dtype=torch.int64), cluster_ids=torch.empty(P, N, dtype=torch.int64),
               cluster_sizes=torch.empty(P, N, dtype=torch.int64), abstentions=torch.empty(P, dtype=torch.int64))
    out = {k: v.to(KERNEL_DEVICE) for k, v in out.items()}
    vote_triton(a.to(KERNEL_DEVICE), **out, config=dict(BLOCK_I=8, CHUNK=8, num_warps=1))
    check(type(vote_ref(a))(**{k: v.cpu() for k, v in out.items()}), a)


@pytest.mark.parametrize("backend", BACKENDS)
def test_edge_rows(backend):
    a = torch.tensor([
        [2, 1, 1, 2, 7, -1],       # tie 2-2: smallest id (1) wins, runner-up 2
        [-1, -1, -1, -1, -1, -1],  # all unparsable: winner -1, counts 0
        [-2, -2, -2, -2, -2, -2],  # all padding
        [5, -2, 5, -2, -1, 3],     # padding ignored
        [0, 0, 0, 0, 0, 0],        # one cluster: runner-up 0
    ])
    r = vote(a.to(dev(backend)), backend=backend)
    assert r.winner.tolist() == [1, -1, -1, 5, 0]
    assert r.winner_count.tolist() == [2, 0, 0, 2, 6]
    assert r.runner_up_count.tolist() == [2, 0, 0, 1, 0]
    assert r.abstentions.tolist() == [1, 6, 0, 1, 0]
    check(r, a)


@pytest.mark.interpreter
def test_deterministic_and_identical_across_backends():
    g = torch.Generator().manual_seed(5)
    a = torch.randint(-2, 4, (16, 24), generator=g)
    ak = a.to(KERNEL_DEVICE)
    r1, r2, r3 = vote(ak, backend="triton"), vote(ak, backend="triton"), vote_ref(a)
    perm = torch.randperm(24, generator=g)
    r4 = vote_ref(a[:, perm])  # order of samples does not matter
    for f in r1.__dataclass_fields__:
        x = getattr(r1, f).cpu()
        assert torch.equal(x, getattr(r2, f).cpu())
        assert torch.equal(x, getattr(r3, f)) and torch.equal(x, getattr(r4, f))


def test_bad_inputs():
    with pytest.raises(ValueError, match=">= -2"):
        vote(torch.tensor([[0, -3]]))
    with pytest.raises(TypeError, match="answer_ids"):
        vote(torch.tensor([[0, 1]], dtype=torch.int32))
    with pytest.raises(ValueError, match="answer_ids"):
        vote(torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="backend"):
        vote(torch.tensor([[0, 1]]), backend="mode")
    with pytest.raises((ValueError, RuntimeError), match="cuda"):
        vote(torch.tensor([[0, 1]]), backend="cuda")  # CPU tensor (or module not built): never a silent fallback


def test_empty():
    r = vote(torch.zeros((0, 5), dtype=torch.int64))
    assert r.winner.shape == (0,) and r.cluster_ids.shape == (0, 5)
    r = vote(torch.zeros((3, 0), dtype=torch.int64))
    assert r.winner.tolist() == [-1, -1, -1] and r.cluster_ids.shape == (3, 0)


@pytest.mark.gpu
@pytest.mark.parametrize("backend", ["cuda", "triton"])
def test_gpu_vs_ref(backend):
    if backend == "cuda":
        pytest.importorskip("ttc_fast._C_cuda")
    g = torch.Generator().manual_seed(6)
    a = torch.randint(-2, 20, (1000, 256), generator=g)
    r_gpu, r_cpu = vote(a.cuda(), backend=backend), vote_ref(a)
    for f in r_cpu.__dataclass_fields__:
        assert torch.equal(getattr(r_gpu, f).cpu(), getattr(r_cpu, f)), f


def test_numpy_and_lists_like_the_estimators():
    import numpy as np
    rows = [[3, 1, 3, -1], [7, 7], []]  # ragged: padded with -2
    r = vote(rows)
    assert r.winner.tolist() == [3, 7, -1] and r.winner_count.tolist() == [2, 2, 0]
    assert r.abstentions.tolist() == [1, 0, 0] and r.cluster_sizes.shape == (3, 4)
    a = np.array([[5, 5, 2], [0, 1, 1]], dtype=np.uint32)
    for x in (a, a.astype(np.int16), a.tolist()):
        assert torch.equal(vote(x).winner, torch.tensor([5, 1])) and torch.equal(vote_ref(x).winner, vote(x).winner)
    with pytest.raises(ValueError, match="2\\*\\*63.*9223372036854775808"):
        vote(np.array([[2**63, 1]], dtype=np.uint64))  # never wrapped to a negative id
    with pytest.raises(ValueError, match="2\\*\\*63.*18446744073709551616"):
        vote([[2**64, 1]])
    with pytest.raises(TypeError, match="integers"):
        vote(np.array([[0.5, 1.0]]))
    with pytest.raises(TypeError, match="answer_ids"):
        vote("1 2 3")
    with pytest.raises(ValueError, match="2-D"):
        vote(np.array([1, 2]))


def test_ops_reachable_after_import_ttc_fast_without_importing_torch():
    import subprocess
    import sys
    code = ("import sys, ttc_fast; assert 'torch' not in sys.modules, 'import ttc_fast imported torch'; "
            "assert 'ops' in dir(ttc_fast); r = ttc_fast.ops.vote([[1, 1, 2]]); assert r.winner.tolist() == [1]; "
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
