"""Memory traffic of the shared-prefix attention kernels, counted from the kernel code itself (no GPU).

The Triton interpreter executes every ``tl.load`` / ``tl.store`` of a kernel through two builder methods
(``create_masked_load`` / ``create_masked_store`` of ``triton.runtime.interpreter.interpreter_builder``).
:func:`count_traffic` wraps them, and the interpreter's grid launcher, for the duration of a ``with`` block: each
launch maps its tensor arguments to their storage's address range, and each load/store adds the addresses its mask
lets through (masked-off lanes move no memory) to a per-element access count of the storage they fall in. From the
counts: bytes moved per tensor, the unique bytes (elements touched at least once), and the largest number of
times one element was read. Nothing in the package's hot path changes; the counting lives only here.

What the table shows (:func:`design_grid`): the prefix KV of a prompt is read by each of its query tiles (a tile
is ``BLOCK_M // G`` samples x the G heads of one KV head, see ttc_fast/kernels/attention.py), so the kernel's
loads of it are ``ceil(N / (BLOCK_M // G))`` x its unique bytes, against N x for per-sample attention; split-K
cuts the prefix into disjoint chunks (no extra KV reads) but every split writes an fp32 partial output that the
merge kernel reads back (``o_part``/``lse_part`` rows). Whether the re-reads of one prefix chunk by the tiles of
one prompt hit L2 (they run within a few CTA waves of each other) is a GPU measurement (ncu, pending).

Run:  python benchmarks/attention_traffic.py [--quick] [--json out.json]   (fp32 tensors under the interpreter
with the CUDA launch configuration of bf16 and the H200's split counts; bytes are reported at bf16 for q/KV/out and
fp32 for the partials, i.e. element counts x the element size the GPU run uses.)
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field

os.environ.setdefault("TRITON_INTERPRET", "1")  # counting needs the interpreter; set before triton is imported
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402

H200_SMS = 132


@dataclass
class _Storage:
    base: int  # address of the storage's first byte
    nbytes: int
    esize: int
    names: set = field(default_factory=set)  # "kernel.arg" names it was passed as
    reads: np.ndarray | None = None  # per element
    writes: np.ndarray | None = None


class TrafficCounter:
    """Per-storage element access counts of every load/store executed by the interpreter inside the block."""

    def __init__(self):
        self.storages: dict[int, _Storage] = {}
        self.launches: list[str] = []
        self._current: list[_Storage] = []

    def _register(self, kernel: str, arg_names, args) -> None:
        self._current = []
        for name, a in zip(arg_names, args):
            if not isinstance(a, torch.Tensor):
                continue
            st = a.untyped_storage()
            key = st.data_ptr()
            s = self.storages.get(key)
            if s is None:
                s = self.storages[key] = _Storage(key, st.nbytes(), a.element_size())
            s.names.add(f"{kernel}.{name}")
            self._current.append(s)
        self.launches.append(kernel)

    def _add(self, kind: str, addr: np.ndarray, mask: np.ndarray, esize: int) -> None:
        a = np.asarray(addr).reshape(-1).astype(np.uint64)
        m = np.broadcast_to(np.asarray(mask), np.asarray(addr).shape).reshape(-1)
        a = a[m]
        if a.size == 0:
            return
        for s in self._current:
            inside = (a >= s.base) & (a < s.base + s.nbytes)
            if not inside.any():
                continue
            if s.esize != esize:
                raise RuntimeError(f"{sorted(s.names)}: accessed with element size {esize}, stored as {s.esize}")
            idx = ((a[inside] - s.base) // s.esize).astype(np.int64)
            arr = getattr(s, kind)
            if arr is None:
                arr = np.zeros(s.nbytes // s.esize, dtype=np.int64)
                setattr(s, kind, arr)
            lo, hi = int(idx.min()), int(idx.max())
            arr[lo:hi + 1] += np.bincount(idx - lo, minlength=hi - lo + 1)
            a = a[~inside]
            if a.size == 0:
                return
        raise RuntimeError(f"{a.size} accesses outside every tensor argument (first at {int(a[0]):#x})")

    def summary(self, storage: torch.Tensor | int) -> dict:
        """Element counts for one tensor's storage: read/written element accesses, unique elements, max reads."""
        key = storage.untyped_storage().data_ptr() if isinstance(storage, torch.Tensor) else storage
        s = self.storages.get(key)
        if s is None:
            return dict(read=0, written=0, unique_read=0, unique_written=0, max_reads=0)
        r = s.reads if s.reads is not None else np.zeros(1, np.int64)
        w = s.writes if s.writes is not None else np.zeros(1, np.int64)
        return dict(read=int(r.sum()), written=int(w.sum()), unique_read=int((r > 0).sum()),
                    unique_written=int((w > 0).sum()), max_reads=int(r.max()), names=sorted(s.names))


@contextlib.contextmanager
def count_traffic():
    """Count every interpreted ``tl.load``/``tl.store`` inside the block (needs TRITON_INTERPRET=1 at import)."""
    from triton.runtime import interpreter as interp

    counter = TrafficCounter()
    builder = interp.interpreter_builder
    orig_load, orig_store = builder.create_masked_load, builder.create_masked_store
    orig_call = interp.GridExecutor.__call__

    def esize_of(ptrs):
        return ptrs.get_element_ty().primitive_bitwidth // 8

    def load(ptrs, mask, other, cache_policy, is_volatile):
        counter._add("reads", ptrs.data, mask.data, esize_of(ptrs))
        return orig_load(ptrs, mask, other, cache_policy, is_volatile)

    def store(ptrs, value, mask, cache_policy):
        counter._add("writes", ptrs.data, mask.data, esize_of(ptrs))
        return orig_store(ptrs, value, mask, cache_policy)

    def call(self, *args, **kwargs):
        counter._register(self.fn.__name__, self.arg_names, args)
        return orig_call(self, *args, **kwargs)

    builder.create_masked_load, builder.create_masked_store = load, store
    interp.GridExecutor.__call__ = call
    try:
        yield counter
    finally:
        builder.create_masked_load, builder.create_masked_store = orig_load, orig_store
        interp.GridExecutor.__call__ = orig_call


def attention_traffic(Hq: int, Hkv: int, D: int, ns: list[int], Ls: list[int], S: int, *, splits: int | None = None,
                      suffix_splits: int | None = None, config: dict | None = None, sms: int = H200_SMS,
                      suffix_lens: list[int] | None = None, seed: int = 0) -> dict:
    """Run one decode step of ``shared_prefix_attention`` (Triton, interpreter) with its traffic counted.

    ``ns`` samples and ``Ls`` prefix tokens per prompt, suffix cache ``S`` tokens, each suffix ``S`` tokens long
    unless ``suffix_lens`` (one per sample) says otherwise. ``config``
    defaults to the CUDA configuration for bf16, ``splits``/``suffix_splits`` to what an H200 (``sms``) would use.
    Returns element counts per tensor plus the configuration, and checks the output against the torch reference.
    """
    from ttc_fast.ops._attention_triton import attention_triton, cuda_config, num_splits
    from ttc_fast.ops.attention import shared_prefix_attention_ref

    G = Hq // Hkv
    cfg = dict(config or cuda_config(G, D, torch.bfloat16))
    T, L = sum(ns), sum(Ls)
    block_t = cfg["BLOCK_M"] // G
    max_tiles = -(-T // block_t) + len(ns)
    auto = num_splits(sms, 2, max_tiles, T, Hkv, Hq, D, L, len(ns), S, cfg["BLOCK_N"])
    splits = auto[0] if splits is None else splits
    suffix_splits = auto[1] if suffix_splits is None else suffix_splits
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(T, Hq, D, generator=g)
    kp, vp = torch.randn(L, Hkv, D, generator=g), torch.randn(L, Hkv, D, generator=g)
    ks, vs = torch.randn(T, S, Hkv, D, generator=g), torch.randn(T, S, Hkv, D, generator=g)
    pi = torch.tensor([0] + np.cumsum(Ls).tolist(), dtype=torch.int32)
    qi = torch.tensor([0] + np.cumsum(ns).tolist(), dtype=torch.int32)
    sl = torch.full((T,), S, dtype=torch.int32) if suffix_lens is None else torch.tensor(suffix_lens, dtype=torch.int32)
    out = torch.empty_like(q)
    args = (q, kp, vp, pi, qi, ks, vs, sl)
    with count_traffic() as c:
        res, lse = attention_triton(*args, None, True, out, num_splits=splits, num_suffix_splits=suffix_splits,
                                    config=cfg)
    ref = shared_prefix_attention_ref(*args)
    torch.testing.assert_close(res, ref, atol=1e-4, rtol=1e-4)
    part = next((k for k, s in c.storages.items() if any(n.endswith("o_part_ptr") for n in s.names)), None)
    lpart = next((k for k, s in c.storages.items() if any(n.endswith("lse_part_ptr") for n in s.names)), None)
    return dict(
        Hq=Hq, Hkv=Hkv, D=D, ns=list(ns), Ls=list(Ls), S=S, G=G, config=cfg, splits=splits,
        suffix_splits=suffix_splits, tile_samples=block_t, launches=list(c.launches),
        q=c.summary(q), k_prefix=c.summary(kp), v_prefix=c.summary(vp), k_suffix=c.summary(ks),
        v_suffix=c.summary(vs), out=c.summary(out), lse=c.summary(lse),
        o_part=c.summary(part) if part else None, lse_part=c.summary(lpart) if lpart else None)


# qwen2.5-1.5b: Hq 12, Hkv 2, D 128 (the design notes' goal shape)
DESIGN_SHAPE = (12, 2, 128)


def design_grid(quick: bool = False) -> list[dict]:
    """One prompt per case, N samples, prefix P tokens, suffix S = 64; with the H200 split counts and without."""
    Ns = (8, 64) if quick else (8, 64, 256)
    Ps = (128, 2048) if quick else (128, 512, 2048, 8192)
    rows = []
    Hq, Hkv, D = DESIGN_SHAPE
    for N in Ns:
        for P in Ps:
            for split in ("h200", "none"):
                kw = dict(splits=1, suffix_splits=1) if split == "none" else {}
                t0 = time.perf_counter()
                r = attention_traffic(Hq, Hkv, D, [N], [P], 64, **kw)
                r["seconds"] = time.perf_counter() - t0
                rows.append(r)
    return rows


def _bytes(r: dict) -> dict:
    """Bytes at the GPU run's element sizes (bf16 q/KV/out, fp32 partials and lse) for one result row."""
    b16, f32 = 2, 4
    kv_read = (r["k_prefix"]["read"] + r["v_prefix"]["read"]) * b16
    kv_unique = (r["k_prefix"]["unique_read"] + r["v_prefix"]["unique_read"]) * b16
    suf = (r["k_suffix"]["read"] + r["v_suffix"]["read"]) * b16
    suf_unique = (r["k_suffix"]["unique_read"] + r["v_suffix"]["unique_read"]) * b16
    part = 0
    for name in ("o_part", "lse_part"):
        if r[name]:
            part += (r[name]["read"] + r[name]["written"]) * f32
    qo = (r["q"]["read"] + r["out"]["written"]) * b16 + r["lse"]["written"] * f32
    qo_unique = (r["q"]["unique_read"] + r["out"]["unique_written"]) * b16 + r["lse"]["unique_written"] * f32
    ideal = kv_unique + suf_unique + qo_unique
    N = sum(r["ns"])
    naive = N * kv_unique + suf_unique + qo_unique  # per-sample attention: every sample reads the prefix
    total = kv_read + suf + part + qo
    return dict(prefix_read=kv_read, prefix_unique=kv_unique, prefix_ratio=kv_read / max(kv_unique, 1),
                suffix_ratio=suf / max(suf_unique, 1), partial_bytes=part, qo_bytes=qo, total=total, ideal=ideal,
                naive=naive, total_over_ideal=total / ideal, naive_over_total=naive / total)


def markdown(rows: list[dict]) -> str:
    lines = ["| N | P | splits (prefix+suffix) | tile samples | prefix loads / unique | max reads of an element | "
             "suffix loads / unique | split-K partials (MB) | all loads+stores / ideal | per-sample attention / "
             "this |", "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        b = _bytes(r)
        lines.append(f"| {r['ns'][0]} | {r['Ls'][0]} | {r['splits']}+{r['suffix_splits']} | {r['tile_samples']} | "
                     f"{b['prefix_ratio']:.2f} | {r['k_prefix']['max_reads']} | {b['suffix_ratio']:.2f} | "
                     f"{b['partial_bytes'] / 1e6:.2f} | {b['total_over_ideal']:.2f} | {b['naive_over_total']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="N in (8, 64), P in (128, 2048)")
    ap.add_argument("--json", help="write every count here")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    rows = design_grid(args.quick)
    print(markdown(rows))
    Hq, Hkv, D = DESIGN_SHAPE
    print(f"\n(Hq={Hq}, Hkv={Hkv}, D={D}, one prompt, suffix 64 tokens; {time.perf_counter() - t0:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([dict(r, bytes=_bytes(r)) for r in rows], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
