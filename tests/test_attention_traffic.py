"""Memory traffic of the shared-prefix attention kernels, counted load by load in the Triton interpreter.

benchmarks/attention_traffic.py wraps the interpreter's load/store builders and counts the elements each tensor
has read/written. Checked here against the traffic the kernel's design implies, written out independently:
each prompt's prefix KV is read once per query tile of that prompt (ceil(n_p / (BLOCK_M // G)) tiles), never once
per sample; split-K chunks are disjoint (no extra KV) but each of the splits + suffix splits writes one fp32
partial per (sample, head) that the merge reads once; the suffix cache is read only up to each sample's length.
"""
import math
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))

pytestmark = [pytest.mark.interpreter, pytest.mark.usefixtures("torch_one_thread")]

if os.environ.get("TRITON_INTERPRET", "0") in ("", "0"):
    pytest.skip("traffic is counted in the Triton interpreter (TRITON_INTERPRET=1)", allow_module_level=True)

from attention_traffic import attention_traffic  # noqa: E402

CFG = dict(BLOCK_M=16, BLOCK_N=16, num_warps=1, num_stages=1)  # 16 rows: 8 samples x G = 2 heads per tile


@pytest.mark.parametrize("ns,Ls,splits,ssplits,lens", [
    ([5, 3], [37, 20], 1, 1, None),           # one tile per prompt: the prefix is read exactly once
    ([12, 1], [33, 16], 1, 1, None),          # 12 samples = 2 tiles (8 + 4): twice, not 12 times
    ([12], [50], 3, 2, [0, 1, 2, 3, 4, 5, 6, 6, 6, 0, 6, 2]),  # split-K on both sides, ragged suffixes
], ids=["one-tile", "two-tiles", "split-k"])
def test_counted_traffic_matches_the_design(ns, Ls, splits, ssplits, lens):
    Hq, Hkv, D, S = 4, 2, 16, 6
    G = Hq // Hkv
    r = attention_traffic(Hq, Hkv, D, ns, Ls, S, splits=splits, suffix_splits=ssplits, config=CFG,
                          suffix_lens=lens)  # also checks the output against the torch reference
    T = sum(ns)
    tiles = [math.ceil(n / (CFG["BLOCK_M"] // G)) for n in ns]
    for name in ("k_prefix", "v_prefix"):
        c = r[name]
        assert c["unique_read"] == sum(Ls) * Hkv * D  # every prefix element is read ...
        assert c["read"] == sum(t * L for t, L in zip(tiles, Ls)) * Hkv * D  # ... once per tile of its prompt
        assert c["max_reads"] == max(tiles) and c["written"] == 0
        assert c["read"] < sum(n * L for n, L in zip(ns, Ls)) * Hkv * D or max(ns) <= CFG["BLOCK_M"] // G
    valid = sum(lens) if lens is not None else T * S
    for name in ("k_suffix", "v_suffix"):  # only each sample's own rows up to its length, once
        assert r[name]["read"] == r[name]["unique_read"] == valid * Hkv * D
    parts = splits + ssplits
    assert r["q"]["unique_read"] == T * Hq * D and r["q"]["read"] == parts * T * Hq * D  # once per program
    assert r["o_part"]["written"] == r["o_part"]["read"] == parts * T * Hq * D  # one partial per split
    assert r["lse_part"]["written"] == r["lse_part"]["read"] == parts * T * Hq
    assert r["out"]["written"] == r["out"]["unique_written"] == T * Hq * D and r["out"]["read"] == 0
    assert r["lse"]["written"] == T * Hq
    assert r["launches"] == ["_shared_prefix_partial_kernel", "_merge_partials_kernel"]


def test_counter_sees_only_unmasked_lanes_and_restores_the_interpreter():
    import torch
    from triton.runtime import interpreter as interp

    from attention_traffic import count_traffic
    from ttc_fast.ops._attention_triton import append_triton

    before = (interp.interpreter_builder.create_masked_load, interp.GridExecutor.__call__)
    ks, vs = torch.zeros(3, 4, 1, 16), torch.zeros(3, 4, 1, 16)
    lens = torch.tensor([0, 2, 3], dtype=torch.int32)
    kn, vn = torch.randn(3, 1, 16), torch.randn(3, 1, 16)
    with count_traffic() as c:
        append_triton(ks, vs, lens, kn, vn)  # BLOCK_D = 16 = D: one row of 16 per sample
    assert c.summary(kn)["read"] == 3 * 16 and c.summary(ks)["written"] == 3 * 16
    assert c.summary(ks)["read"] == 0 and c.summary(lens)["read"] == 3
    assert (interp.interpreter_builder.create_masked_load, interp.GridExecutor.__call__) == before
