"""GPU ops for fast shared-prefix sampling, each with a plain-PyTorch ``<op>_ref`` beside it.

``backend="auto"`` runs the kernel for CUDA tensors and the reference for CPU tensors; an explicit backend
(``"triton"``, ``"cuda"``, ``"torch"``) never silently falls back.
"""
from ttc_fast.ops.attention import append_suffix_kv, shared_prefix_attention, shared_prefix_attention_ref
from ttc_fast.ops.sampling import philox_uniform, sample_tokens, sample_tokens_ref
from ttc_fast.ops.vote import VoteResult, vote, vote_ref

__all__ = [
    "shared_prefix_attention", "shared_prefix_attention_ref", "append_suffix_kv",
    "sample_tokens", "sample_tokens_ref", "philox_uniform",
    "vote", "vote_ref", "VoteResult",
]
