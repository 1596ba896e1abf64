"""Majority-vote aggregation over sampled answers, deterministic and identical on every backend.

``answer_ids`` ``[P, N]`` int64 per problem: ids >= 0 are answer clusters, -1 = unparsable (an abstention, never
wins), -2 = padding (ragged N; ignored). Other negative ids are rejected.

Tie rule: the winner is the SMALLEST id among the ids with the maximal count (torch.mode breaks ties differently on
CPU and GPU, so it is not used). ``cluster_ids`` lists the distinct valid ids sorted by count descending, then id
ascending, so ``cluster_ids[:, 0] == winner`` whenever a valid answer exists.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ttc_fast.ops._backend import _C_cuda, check_tensor, resolve_backend


@dataclass(frozen=True)
class VoteResult:
    """Per-problem vote summary (all int64 tensors on the device of the input).

    winner ``[P]`` (-1 when no valid answer), winner_count ``[P]``, runner_up_count ``[P]`` (count of the second
    cluster; 0 when fewer than two), cluster_ids ``[P, N]`` (-2 padding), cluster_sizes ``[P, N]`` (0 padding),
    abstentions ``[P]`` (number of -1 entries). ``cluster_sizes`` is what ``maj_at_k_counts`` takes.
    """
    winner: torch.Tensor
    winner_count: torch.Tensor
    runner_up_count: torch.Tensor
    cluster_ids: torch.Tensor
    cluster_sizes: torch.Tensor
    abstentions: torch.Tensor


def as_answer_tensor(answer_ids) -> torch.Tensor:
    """A torch tensor as given; a numpy array or (nested, possibly ragged) list of integer ids as an int64 CPU tensor
    ``[P, N]`` (ragged rows padded with -2, as the estimators do). Ids must fit in int64 (never wrapped)."""
    if isinstance(answer_ids, torch.Tensor):
        return answer_ids
    if not isinstance(answer_ids, (np.ndarray, list, tuple)):
        raise TypeError(f"answer_ids must be a torch tensor, numpy array or list of lists of int ids, got "
                        f"{type(answer_ids).__name__}")
    x = answer_ids
    if isinstance(x, (list, tuple)) and x and all(isinstance(r, (list, tuple, np.ndarray)) for r in x):
        width = max(len(r) for r in x)
        x = [list(r) + [-2] * (width - len(r)) for r in x]  # ragged rows: -2 padding
    try:
        arr = np.asarray(x)
    except (ValueError, OverflowError) as err:
        raise ValueError(f"answer_ids must be a rectangular [P, N] array of int64 ids: {err}") from None
    if arr.dtype == object:
        big = next((v for v in arr.reshape(-1) if isinstance(v, int) and not -2**63 <= v < 2**63), None)
        if big is not None:
            raise ValueError(f"answer_ids must fit in int64 (ids < 2**63), got {big}")
        raise TypeError(f"answer_ids must be integers, got Python objects ({type(arr.reshape(-1)[0]).__name__})")
    if arr.size == 0 and arr.dtype.kind == "f":
        arr = arr.astype(np.int64)  # [] or [[]]: no ids, no dtype either
    if arr.dtype == bool or arr.dtype.kind not in "iu":
        raise TypeError(f"answer_ids must be integers, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.size and int(arr.max()) >= 2**63:
        raise ValueError(f"answer_ids must fit in int64 (ids < 2**63), got {int(arr.max())}")
    if arr.ndim != 2:
        raise ValueError(f"answer_ids must be 2-D [problems, samples], got shape {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.int64))


def _validate(answer_ids, check_values=True):
    """check_values=False when the C++ CPU path runs next (it checks the values itself, in the same words)."""
    check_tensor("answer_ids", answer_ids, ndim=2, dtypes=(torch.int64,))
    capturing = answer_ids.device.type == "cuda" and torch.cuda.is_current_stream_capturing()
    if check_values and answer_ids.numel() and not capturing:
        lo = int(answer_ids.min())
        if lo < -2:
            raise ValueError(f"answer_ids must be >= -2 (-1 unparsable, -2 padding), got {lo}")


def _vote_torch(answer_ids: torch.Tensor) -> VoteResult:
    P, N = answer_ids.shape
    dev = answer_ids.device
    abst = (answer_ids == -1).sum(1)
    # sort each row; runs of equal valid ids are clusters
    s, _ = torch.sort(answer_ids, dim=1)  # [P, N]
    valid = s >= 0
    start = valid.clone()
    start[:, 1:] &= s[:, 1:] != s[:, :-1]
    # run length at each run start: (next start position) - (this position), via a reverse cummin of positions
    pos = torch.arange(N, device=dev).expand(P, N)
    nxt = torch.where(start, pos, torch.full_like(pos, N))
    nxt = torch.cat([nxt[:, 1:], torch.full((P, 1), N, device=dev, dtype=pos.dtype)], 1)
    nxt = torch.flip(torch.cummin(torch.flip(nxt, [1]), 1).values, [1])  # first start strictly after i
    size = torch.where(start, nxt - pos, torch.zeros_like(pos))
    # order clusters: count desc, then id asc (stable sort by count of an id-ascending sequence)
    order = torch.sort(-size, dim=1, stable=True).indices
    sizes = torch.gather(size, 1, order)
    ids = torch.where(sizes > 0, torch.gather(s, 1, order), torch.full_like(s, -2))
    if N == 0:
        z = torch.zeros(P, dtype=torch.int64, device=dev)
        return VoteResult(z - 1, z, z.clone(), ids, sizes, abst)
    winner = torch.where(sizes[:, 0] > 0, ids[:, 0], torch.full_like(ids[:, 0], -1))
    runner = sizes[:, 1] if N > 1 else torch.zeros_like(sizes[:, 0])
    return VoteResult(winner, sizes[:, 0].clone(), runner.clone(), ids, sizes, abst)


def _vote_cpu(answer_ids: torch.Tensor) -> VoteResult:
    """:func:`_vote_torch` for CPU tensors in C++ (``ttc_fast._C.vote``: per-row cluster counting, a direct count
    array or a hash table, multithreaded); identical results (tests/test_vote_cpu.py checks it against
    ``_vote_torch`` and a Counter reference). No copy for a contiguous input (``.numpy()`` is a view); the outputs
    are the module's numpy arrays, wrapped without a copy."""
    from ttc_fast import _C

    out = _C.vote(answer_ids.contiguous().numpy())
    return VoteResult(*(torch.from_numpy(x) for x in out))


def _vote_reference(answer_ids: torch.Tensor) -> VoteResult:
    return _vote_cpu(answer_ids) if answer_ids.device.type == "cpu" else _vote_torch(answer_ids)


def vote_ref(answer_ids) -> VoteResult:
    """Reference of :func:`vote` (the CPU path): C++ cluster counting for CPU tensors, plain PyTorch sort + run
    lengths otherwise."""
    answer_ids = as_answer_tensor(answer_ids)
    _validate(answer_ids, check_values=answer_ids.device.type != "cpu")
    return _vote_reference(answer_ids)


def vote(answer_ids, *, backend="auto") -> VoteResult:
    """Aggregate the answers of N samples per problem into a vote.

    Args:
        answer_ids: int64 tensor ``[P, N]`` (any device); or a numpy array / list of lists of integer ids (any
            integer dtype, ragged rows padded with -2; run on the CPU). Ids >= 0 cluster answers, -1 unparsable,
            -2 padding.
        backend: ``"auto"`` (CUDA C++ kernel if built, else Triton, on CUDA; torch on CPU), ``"cuda"``
            (N <= 4096), ``"triton"`` (N <= 8192), ``"torch"``. ``auto`` moves on to the next path for longer rows.

    Returns: :class:`VoteResult`; identical on every backend (smallest id wins ties; -1 never wins).
    """
    answer_ids = as_answer_tensor(answer_ids)
    _validate(answer_ids, check_values=False)
    impl = resolve_backend(backend, answer_ids.device, op="vote", has_cuda=True)
    if not (impl == "torch" and answer_ids.device.type == "cpu"):  # else the C++ CPU path checks them
        _validate(answer_ids)
    P, N = answer_ids.shape
    if backend == "auto":  # auto may fall back when a row is too long for one block / one program
        if impl == "cuda" and N > _C_cuda.vote_max_samples:
            impl = "triton"
        if impl == "triton" and N > 8192:
            impl = "torch"
    if impl == "torch":
        return _vote_reference(answer_ids)
    a = answer_ids.contiguous()
    out = dict(
        winner=torch.empty(P, dtype=torch.int64, device=a.device),
        winner_count=torch.empty(P, dtype=torch.int64, device=a.device),
        runner_up_count=torch.empty(P, dtype=torch.int64, device=a.device),
        cluster_ids=torch.empty((P, N), dtype=torch.int64, device=a.device),
        cluster_sizes=torch.empty((P, N), dtype=torch.int64, device=a.device),
        abstentions=torch.empty(P, dtype=torch.int64, device=a.device),
    )
    if P == 0:
        return VoteResult(**out)
    if N == 0:
        return _vote_torch(a)
    if impl == "cuda":
        _C_cuda.vote(a.data_ptr(), P, N, out["winner"].data_ptr(), out["winner_count"].data_ptr(),
                     out["runner_up_count"].data_ptr(), out["cluster_ids"].data_ptr(),
                     out["cluster_sizes"].data_ptr(), out["abstentions"].data_ptr(),
                     torch.cuda.current_stream(a.device).cuda_stream)
    else:
        from ttc_fast.ops._vote_triton import vote_triton
        vote_triton(a, **out)
    return VoteResult(**out)
