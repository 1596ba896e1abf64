"""Fused, seeded token sampling: temperature, top-k, top-p, min-p; greedy at temperature 0.

Algorithm (identical in the reference and the Triton kernel, so one seed gives one token on both, up to ties):

1. ``z = (logits - max(logits)) / temperature`` (float32 subtraction, then float32 division; ``-0.0`` normalised
   to ``+0.0``), so ``max(z) = 0``: a tiny temperature sends the other tokens towards ``-inf`` and never overflows
   to ``+inf`` (``logits / temperature`` did, at ``|logit| / temperature > 3.4e38``). ``m = max(z) = 0``.
2. top-k (``0 < k < V``): ``thr_k`` = the k-th largest ``z`` (ties at the threshold are all kept).
3. top-p (``0 < p < 1``) on the top-k-restricted distribution: ``thr_p`` = the largest value ``v`` with
   ``sum_{z_j >= max(v, thr_k)} exp(z_j - m) >= p * sum_{z_j >= thr_k} exp(z_j - m)``.
4. min-p (``0 < min_p <= 1``): ``thr_min = m + log(min_p)`` (keep ``prob >= min_p * max prob``).
5. keep ``z_i >= max(thr_k, thr_p, thr_min)``; draw ``argmax_i z_i - log(-log(u_i))`` over kept tokens (Gumbel-max,
   equivalently the exponential race ``argmax exp(z_i) / E_i``), the smallest kept index winning exact ties (a
   score of ``-inf``, from ``u_i = 0``, ties too).

Rows without a finite distribution (the same on every backend and at every temperature):

- a NaN logit, or every logit ``-inf``: no distribution; the token is **-1** (callers must check: ``generate``
  raises :class:`ttc_fast.runtime.generate.NonFiniteLogitsError` before sampling such a row).
- ``+inf`` logits (no NaN): the limit of the softmax puts all mass on them, uniformly: ``z = 0`` at the ``+inf``
  tokens and ``-inf`` elsewhere, so the seeded draw picks one of the ``+inf`` tokens; at temperature 0 the first.

Random numbers: ``u_i = philox_uniform(seed_b, offset_b * V + i)``: Philox4x32-10 with key = the 64-bit seed
(low, high words) and counter = (low, high words of the 64-bit offset, 0, 0), first output word mapped to [0, 1)
exactly as ``triton.language.rand`` does. The reference reimplements it in int64 torch arithmetic (any device) and
in C++ (``csrc/philox.h``, used for CPU tensors); the tests check both bit for bit against ``tl.rand`` in the
interpreter and against each other. CPU tensors draw in C++ (``csrc/sample.h``, :func:`_sample_cpu`): one pass per row
fusing Philox, the Gumbel term and the argmax, drawing uniforms only for tokens that can still win (the noise
``-log(-log(u))`` is bounded since ``u < 1``), with torch's float32 ops and ``std::log``; that log is within an
ulp of torch's (MKL) log, so the tokens are ``sample_tokens_ref``'s but for rows whose two best scores lie within
an ulp (none of 120,192 test rows). CPU thresholds come from C++ too (``csrc/thresholds.h``,
:func:`_thresholds_cpu`): nth_element for top-k, a mass-accumulating quickselect (after a per-bin mass histogram)
for top-p, masses summed in double like torch's CPU cumsum but in another order, so they differ from the reference
only where the cumulative mass at the top-p boundary rounds within an ulp of ``p * total`` (none of 15,360
measured rows). The kernel finds thresholds by bisection on the order-preserving integer image of float32 (one
pass over the vocabulary per step, at most 32 steps), never sorting the vocabulary; the reference sorts
(independent route to the same thresholds).
"""
from __future__ import annotations

import torch

from ttc_fast.ops._backend import check_tensor, resolve_backend

_FLOAT = (torch.float32, torch.float16, torch.bfloat16)
_M32 = 0xFFFFFFFF


def _umul32(a: torch.Tensor, b: int):
    """(hi, lo) 32-bit words of a * b for a in [0, 2^32) (int64 tensor) and a 32-bit constant b.

    The int64 product wraps modulo 2^64 (two's complement), so its 64 bits are those of the exact unsigned
    product: the high word is (prod >> 32) & 0xffffffff, the low word prod & 0xffffffff.
    """
    prod = a * b
    return (prod >> 32) & _M32, prod & _M32


def philox_uniform(seed: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Uniform float32 in [0, 1) bit-identical to ``triton.language.rand(seed, offset)`` with int64 ``offset``.

    ``seed`` and ``offset`` are int64 tensors (broadcast together). Philox4x32-10, counter
    ``(offset & 0xffffffff, offset >> 32, 0, 0)``, key ``(seed & 0xffffffff, seed >> 32)``.
    """
    seed, offset = torch.broadcast_tensors(seed.long(), offset.long())
    c0 = offset & _M32
    c1 = (offset >> 32) & _M32
    c2 = torch.zeros_like(c0)
    c3 = torch.zeros_like(c0)
    k0 = seed & _M32
    k1 = (seed >> 32) & _M32
    for _ in range(10):
        hi_b, lo_b = _umul32(c2, 0xCD9E8D57)
        hi_a, lo_a = _umul32(c0, 0xD2511F53)
        c0, c1, c2, c3 = hi_b ^ c1 ^ k0, lo_b, hi_a ^ c3 ^ k1, lo_a
        k0 = (k0 + 0x9E3779B9) & _M32
        k1 = (k1 + 0xBB67AE85) & _M32
    x = torch.where(c0 >= 2**31, c0 - 2**32, c0)  # bitcast to int32 value
    x = torch.where(x < 0, -x - 1, x)  # ~x for negatives
    return x.to(torch.int32).to(torch.float32) * torch.tensor(4.6566127342e-10, dtype=torch.float32)


def _as_row_tensor(name, x, B, dtype, device, allow_none=True):
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        if x.dim() == 0:
            x = x.reshape(1)
        if x.dim() != 1 or x.shape[0] not in (1, B):
            raise ValueError(f"{name} must be a scalar or a [B={B}] tensor, got shape {tuple(x.shape)}")
        if x.device != device:
            raise ValueError(f"{name} must be on device {device}, got {x.device}")
        return x.to(dtype).expand(B).contiguous()
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{name} must be a number or a tensor, got {type(x).__name__}")
    return torch.full((B,), x, dtype=dtype, device=device)


def _prepare(logits, temperature, top_k, top_p, min_p, seeds, offsets):
    """Validate and turn every per-row parameter into a [B] tensor (the same for reference and kernel)."""
    check_tensor("logits", logits, ndim=2, dtypes=_FLOAT)
    B, V = logits.shape
    dev = logits.device
    if V == 0:
        raise ValueError("logits must have a non-empty vocabulary dimension")
    if not isinstance(seeds, torch.Tensor):
        raise TypeError(f"seeds must be an int64 tensor [B], got {type(seeds).__name__}")
    check_tensor("seeds", seeds, ndim=1, dtypes=(torch.int64,), device=dev)
    if seeds.shape[0] != B:
        raise ValueError(f"seeds must have B={B} entries, got {seeds.shape[0]}")
    if offsets is None:
        offsets = 0
    if isinstance(offsets, torch.Tensor):
        check_tensor("offsets", offsets, ndim=1, dtypes=(torch.int64,), device=dev)
        if offsets.shape[0] != B:
            raise ValueError(f"offsets must have B={B} entries, got {offsets.shape[0]}")
    elif isinstance(offsets, bool) or not isinstance(offsets, int):
        raise TypeError(f"offsets must be an int or an int64 tensor [B], got {type(offsets).__name__}")
    offsets = _as_row_tensor("offsets", offsets, B, torch.int64, dev)
    temp = _as_row_tensor("temperature", temperature, B, torch.float32, dev)
    if temp is None:
        raise TypeError("temperature is required (0 means greedy)")
    k = _as_row_tensor("top_k", top_k, B, torch.int64, dev)
    p = _as_row_tensor("top_p", top_p, B, torch.float32, dev)
    mp = _as_row_tensor("min_p", min_p, B, torch.float32, dev)
    if B and not (dev.type == "cuda" and torch.cuda.is_current_stream_capturing()):
        if bool((temp < 0).any()) or not bool(torch.isfinite(temp).all()):
            raise ValueError(f"temperature must be finite and >= 0, got {temp.tolist()[:8]}")
        if p is not None and (bool((p <= 0).any()) or bool((p > 1).any())):
            raise ValueError(f"top_p must lie in (0, 1], got {p.tolist()[:8]}")
        if mp is not None and (bool((mp < 0).any()) or bool((mp > 1).any())):
            raise ValueError(f"min_p must lie in [0, 1], got {mp.tolist()[:8]}")
    # canonical per-row parameters: k in [1, V] (V = off), p in (0, 1] (1 = off), log_min_p (-inf = off)
    k = torch.full((B,), V, dtype=torch.int64, device=dev) if k is None else torch.where(
        (k <= 0) | (k > V), torch.full_like(k, V), k)
    p = torch.ones(B, dtype=torch.float32, device=dev) if p is None else p
    log_min_p = (torch.full((B,), float("-inf"), dtype=torch.float32, device=dev) if mp is None
                 else torch.log(mp))  # log(0) = -inf = off
    return temp, k, p, log_min_p, seeds, offsets


def _thresholds_ref(z: torch.Tensor, k: torch.Tensor, p: torch.Tensor, log_min_p: torch.Tensor) -> torch.Tensor:
    """Sort-based thresholds: the smallest kept value of z per row (float32 [B])."""
    B, V = z.shape
    if bool((k >= V).all()) and bool((p >= 1).all()):  # no top-k / top-p: no sort needed
        m = z.amax(1)
        return torch.maximum(z.amin(1), m + log_min_p)
    zs, _ = torch.sort(z, dim=1, descending=True)  # [B, V]
    rows = torch.arange(B, device=z.device)
    m = zs[:, 0]
    thr_k = zs[rows, k - 1]
    e = torch.exp(zs - m[:, None])
    e = torch.where(zs >= thr_k[:, None], e, torch.zeros_like(e))
    cum = torch.cumsum(e, dim=1)
    target = p * cum[:, -1]
    first = torch.searchsorted(cum, target[:, None]).squeeze(1).clamp(max=V - 1)  # first j with cum_j >= target
    thr_p = torch.where(p < 1, zs[rows, first], thr_k)
    thr_min = m + log_min_p
    return torch.maximum(torch.maximum(thr_k, thr_p), thr_min)


def _thresholds_cpu(z: torch.Tensor, k: torch.Tensor, p: torch.Tensor, log_min_p: torch.Tensor) -> torch.Tensor:
    """:func:`_thresholds_ref` for CPU tensors without sorting the vocabulary (``_C.sample_thresholds``,
    ``csrc/thresholds.h``): nth_element for top-k, a mass-accumulating quickselect for top-p. Same values but where
    the cumulative mass at the top-p boundary rounds within an ulp of ``p * total`` (the sums run in another order)."""
    from ttc_fast import _C

    if bool((k >= z.shape[1]).all()) and bool((p >= 1).all()):  # nothing to select: the reference's sort-free path
        return _thresholds_ref(z, k, p, log_min_p)
    return torch.from_numpy(_C.sample_thresholds(
        z.contiguous().numpy(), k.contiguous().numpy(), p.float().contiguous().numpy(),
        log_min_p.float().contiguous().numpy(), num_threads=torch.get_num_threads()))


def _scaled_logits(logits: torch.Tensor, temp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(z ``[B, V]``, invalid ``[B]``): step 1 of the module docstring; ``invalid`` marks rows with a NaN logit or
    only ``-inf`` logits (their z is NaN throughout, so no token is kept)."""
    safe_t = torch.where(temp > 0, temp, torch.ones_like(temp))
    x = logits.float()
    m = x.amax(1, keepdim=True)  # NaN when the row holds a NaN (amax propagates it)
    z = (x - m).div_(safe_t[:, None])  # a new tensor; x - m <= 0, so no overflow to +inf
    pinf = torch.isposinf(m)  # [B, 1]: rows with +inf logits: z = 0 there, -inf elsewhere (x - m is NaN there)
    if logits.device.type != "cpu" or bool(pinf.any()):  # no host sync on devices (graph capture)
        z = torch.where(pinf, torch.where(torch.isposinf(x), 0.0, float("-inf")), z)
    invalid = torch.isnan(m[:, 0]) | torch.isneginf(m[:, 0])
    return z.add_(0.0), invalid  # + 0.0 turns -0.0 into +0.0 (the kernel orders -0 < +0)


def _first_kept_argmax(score: torch.Tensor, kept: torch.Tensor | None) -> torch.Tensor:
    """The token of step 5: argmax of ``score`` (non-kept entries already -inf), ties to the smallest index, with
    rows whose best score is -inf falling back to their first kept token, and -1 where nothing is kept."""
    tok = torch.argmax(score, dim=1)  # first index among exact ties; NaN wins (torch.argmax)
    best = score.gather(1, tok[:, None])[:, 0]
    if kept is None:  # every token kept
        return tok
    low = torch.isneginf(best)
    if score.device.type == "cpu" and not bool(low.any()):
        return tok
    first = torch.argmax(kept.to(torch.uint8), dim=1)
    fallback = torch.where(kept.any(1), first, torch.full_like(first, -1))
    return torch.where(low, fallback, tok)


def _row_uniforms(seeds: torch.Tensor, offsets: torch.Tensor, V: int) -> torch.Tensor:
    """float32 ``[B, V]``: ``u[b, i] = philox_uniform(seeds[b], offsets[b] * V + i)``.

    CPU tensors use the multithreaded C++ Philox (``ttc_fast._C.philox_uniform_rows``, bit-identical, written
    straight into the torch tensor's memory); other devices the int64 torch arithmetic of :func:`philox_uniform`.
    """
    B = seeds.shape[0]
    if seeds.device.type == "cpu" and offsets.device.type == "cpu":
        from ttc_fast import _C

        u = torch.empty((B, V), dtype=torch.float32)
        _C.philox_uniform_rows(seeds.contiguous().numpy(), offsets.contiguous().numpy(), V, out=u.numpy())
        return u
    idx = torch.arange(V, device=seeds.device, dtype=torch.int64)
    return philox_uniform(seeds[:, None], offsets[:, None] * V + idx[None, :])


def _greedy(logits: torch.Tensor, invalid: torch.Tensor) -> torch.Tensor:
    """Temperature 0: argmax of the raw logits (smallest index among ties), -1 for rows without a distribution."""
    tok = torch.argmax(logits.float(), dim=1)
    return torch.where(invalid, torch.full_like(tok, -1), tok)


def _sample_torch(logits, temp, k, p, log_min_p, seeds, offsets, return_threshold=False):
    B, V = logits.shape
    z, invalid = _scaled_logits(logits, temp)
    thr = _thresholds_ref(z, k, p, log_min_p)
    # Gumbel noise -log(-log(u)) computed in place on the fresh uniforms (same float ops as out of place)
    g = _row_uniforms(seeds, offsets, V).log_().neg_().log_()  # [B, V]: log(-log(u))
    score = torch.sub(z, g, out=g)  # z - log(-log(u))
    # drop tokens below the threshold (and NaN z); a row whose threshold is <= its smallest z (amin is NaN when z
    # holds a NaN, failing the test) keeps every token, so the mask pass is skipped when no row filters anything
    kept = None
    if logits.device.type != "cpu" or not bool((thr <= z.amin(1)).all()):
        kept = z.ge(thr[:, None])
        score.masked_fill_(kept.logical_not(), float("-inf"))
    tok = _first_kept_argmax(score, kept)
    if logits.device.type != "cpu" or bool((temp == 0).any()):  # no host sync on devices (graph capture)
        tok = torch.where(temp == 0, _greedy(logits, invalid), tok)
    return (tok, thr) if return_threshold else tok


def _sample_cpu(logits, temp, k, p, log_min_p, seeds, offsets):
    """:func:`_sample_torch` for CPU tensors with the final draw fused in C++ (``_C.gumbel_argmax_rows``): same
    z, thresholds, random numbers, float32 ops and argmax semantics, the log within an ulp of torch's (module
    docstring), without the [B, V] uniform and score tensors."""
    from ttc_fast import _C

    z, invalid = _scaled_logits(logits.detach(), temp)
    thr = _thresholds_cpu(z, k, p, log_min_p)
    tok = torch.from_numpy(_C.gumbel_argmax_rows(
        z.numpy(), thr.contiguous().numpy(), seeds.contiguous().numpy(), offsets.contiguous().numpy(),
        num_threads=torch.get_num_threads()))
    if bool((temp == 0).any()):
        tok = torch.where(temp == 0, _greedy(logits.detach(), invalid), tok)
    return tok


def sample_tokens_ref(logits, *, temperature, top_k=None, top_p=None, min_p=None, seeds, offsets=None):
    """Plain-PyTorch reference of :func:`sample_tokens` (sorts the vocabulary; same random numbers as the kernel)."""
    args = _prepare(logits, temperature, top_k, top_p, min_p, seeds, offsets)
    return _sample_torch(logits, *args)


def sample_tokens(logits, *, temperature, top_k=None, top_p=None, min_p=None, seeds, offsets=None, backend="auto"):
    """Draw one token per row from ``softmax(logits / temperature)`` restricted by top-k, top-p and min-p.

    Args:
        logits: ``[B, V]`` float32/fp16/bf16.
        temperature: float or ``[B]`` tensor, >= 0; 0 means greedy (argmax of the raw logits, smallest index on ties).
        top_k: None, int or ``[B]`` int tensor; values <= 0 or >= V mean no top-k.
        top_p: None, float or ``[B]`` tensor in (0, 1]; 1 means off. Applied to the top-k-restricted distribution.
        min_p: None, float or ``[B]`` tensor in [0, 1]; keep tokens with prob >= min_p * max prob (0 = off).
        seeds: int64 ``[B]``: one Philox key per row (e.g. per sample), so draws are reproducible per sample.
        offsets: int64 ``[B]`` or int (the decode step); the counter is ``offset * V + token``.
        backend: ``"auto"`` (Triton on CUDA, torch on CPU), ``"triton"``, ``"torch"`` (on CPU tensors the fused C++
            draw of :func:`_sample_cpu`: the reference's tokens but for near-ties, see the module docstring).

    Returns: int64 ``[B]`` token ids, **-1** for a row without a distribution (a NaN logit, or every logit
    ``-inf``); a row with ``+inf`` logits draws among those tokens. Same seed and offset -> same token on the
    reference and the kernel, up to floating-point near-ties. See the module docstring for the exact algorithm.
    """
    args = _prepare(logits, temperature, top_k, top_p, min_p, seeds, offsets)
    impl = resolve_backend(backend, logits.device, op="sample_tokens")
    if impl == "torch":
        return (_sample_cpu if logits.device.type == "cpu" else _sample_torch)(logits, *args)
    from ttc_fast.ops._sampling_triton import sample_triton
    return sample_triton(logits, *args)
