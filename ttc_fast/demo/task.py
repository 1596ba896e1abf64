"""The built-in synthetic reasoning task of ``ttc-fast demo``: chains of arithmetic mod 10.

A problem is a start digit followed by ``num_ops`` operations, each an operator in ``+ - *`` and a digit,
evaluated **left to right** (no precedence) modulo 10, written as text with the answer at the end::

    Q:3+4*2-5=A:9        ((3 + 4) * 2 - 5) mod 10 = 9

The model sees the prompt ``Q:3+4*2-5=A:`` and must produce the answer digit directly (no intermediate steps), so
every extra operation is one more composition it has to do "in its head". Problems mix 1 to ``max_ops`` operations:
a tiny model learns the short chains quickly and the long ones only partly, so a fully trained model stays clearly
below 100% single-sample accuracy while its answer distribution still puts the most mass on the right digit for many
long problems: sampling helps (maj@K and pass@K rise with K).

Splits are disjoint by expression: validation and test problems are drawn first (seeded) and the training stream
never emits one of them. The tokenizer is character level (``tokenizers`` BPE with an empty merge list), with
``<pad>``, ``<bos>`` and ``<eos>``; ``encode`` prepends ``<bos>`` (template post-processor) and the training text
ends with ``<eos>``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

OPS = ("+", "-", "*")
CHARS = "0123456789+-*=QA:"
PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIAL = (PAD, BOS, EOS)
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2


@dataclass(frozen=True)
class Problem:
    """One chain: ``id`` (e.g. "test-17"), ``prompt`` ("Q:3+4*2=A:"), ``answer`` (one digit, "4"),
    ``num_ops`` (number of operations, 1..max_ops)."""
    id: str
    prompt: str
    answer: str
    num_ops: int

    @property
    def text(self) -> str:
        """Prompt plus answer: the training text (without special tokens)."""
        return self.prompt + self.answer

    def to_json(self) -> dict:
        """The ``problems.jsonl`` record that ``ttc-fast eval --data`` reads."""
        return {"id": self.id, "prompt": self.prompt, "answer": self.answer}


def evaluate_chain(start: int, ops: list[tuple[str, int]]) -> int:
    """Left-to-right value of ``start (op digit)...`` modulo 10 (Python's %: always in 0..9)."""
    value = start
    for op, d in ops:
        if op == "+":
            value = (value + d) % 10
        elif op == "-":
            value = (value - d) % 10
        elif op == "*":
            value = (value * d) % 10
        else:
            raise ValueError(f"op must be one of {OPS}; got {op!r}")
    return value


def make_problem(rng: np.random.Generator, num_ops: int, pid: str = "") -> Problem:
    """Draws one chain with ``num_ops`` operations (digits and operators uniform)."""
    if num_ops < 1:
        raise ValueError(f"num_ops must be >= 1; got {num_ops}")
    start = int(rng.integers(10))
    ops = [(OPS[int(rng.integers(3))], int(rng.integers(10))) for _ in range(num_ops)]
    expr = str(start) + "".join(f"{op}{d}" for op, d in ops)
    return Problem(pid, f"Q:{expr}=A:", str(evaluate_chain(start, ops)), num_ops)


class ChainTask:
    """Seeded task: fixed validation/test splits and an endless training stream disjoint from both.

    ``max_ops``: longest chain (problems have 1..max_ops operations; ``op_weights`` gives their relative
    frequencies, uniform by default). ``num_val`` / ``num_test``: split sizes (distinct expressions).
    """

    def __init__(self, *, max_ops: int = 4, num_val: int = 64, num_test: int = 128, seed: int = 0,
                 op_weights: list[float] | None = None):
        if max_ops < 1:
            raise ValueError(f"max_ops must be >= 1; got {max_ops}")
        if num_val < 1 or num_test < 1:
            raise ValueError(f"num_val and num_test must be >= 1; got {num_val}, {num_test}")
        w = np.ones(max_ops) if op_weights is None else np.asarray(op_weights, dtype=np.float64)
        if w.shape != (max_ops,) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"op_weights must be {max_ops} non-negative weights; got {op_weights!r}")
        self.max_ops, self.seed = max_ops, seed
        self.op_probs = w / w.sum()
        rng = np.random.default_rng([seed, 0])
        held: set[str] = set()
        self.val = self._draw_split(rng, num_val, "val", held)
        self.test = self._draw_split(rng, num_test, "test", held)
        self._held = held
        self._train_rng = np.random.default_rng([seed, 1])

    def _num_ops(self, rng: np.random.Generator) -> int:
        return int(rng.choice(self.max_ops, p=self.op_probs)) + 1

    def _draw_split(self, rng: np.random.Generator, count: int, name: str, held: set[str]) -> list[Problem]:
        out: list[Problem] = []
        for _ in range(count * 1000):
            if len(out) == count:
                break
            p = make_problem(rng, self._num_ops(rng), f"{name}-{len(out)}")
            if p.prompt not in held:
                held.add(p.prompt)
                out.append(p)
        if len(out) < count:
            raise ValueError(f"cannot draw {count} distinct {name} problems with max_ops={self.max_ops}")
        return out

    def train_batch(self, batch_size: int) -> list[Problem]:
        """``batch_size`` fresh training problems (never a validation or test expression)."""
        out: list[Problem] = []
        while len(out) < batch_size:
            p = make_problem(self._train_rng, self._num_ops(self._train_rng))
            if p.prompt not in self._held:
                out.append(p)
        return out

    @property
    def max_len(self) -> int:
        """Longest training sequence in tokens: <bos> Q : d (op d)*max_ops = A : d <eos>."""
        return 1 + 2 + 1 + 2 * self.max_ops + 3 + 1 + 1


def write_problems(problems: list[Problem], path: str | os.PathLike) -> None:
    """Writes the ``ttc-fast eval --data`` JSONL file (``id``, ``prompt``, ``answer`` per line)."""
    with open(path, "w") as f:
        for p in problems:
            f.write(json.dumps(p.to_json()) + "\n")


def build_tokenizer():
    """Character-level ``tokenizers.Tokenizer``: ids 0/1/2 = <pad>/<bos>/<eos>, then one id per character of
    ``CHARS``. ``encode(text)`` prepends <bos>; ``decode`` skips special tokens and joins characters."""
    from tokenizers import Tokenizer, decoders, models, processors

    vocab = {tok: i for i, tok in enumerate(SPECIAL)}
    for c in CHARS:
        vocab[c] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.add_special_tokens(list(SPECIAL))
    tok.decoder = decoders.Fuse()
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", special_tokens=[(BOS, BOS_ID)])
    return tok


def save_tokenizer(tok, directory: str | os.PathLike) -> None:
    """Writes ``tokenizer.json`` (what ``ttc_fast.load_model`` reads) and a ``tokenizer_config.json`` so that
    ``transformers.AutoTokenizer`` also loads the directory."""
    tok.save(os.path.join(directory, "tokenizer.json"))
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": BOS, "eos_token": EOS,
                   "pad_token": PAD, "model_max_length": 64}, f, indent=1)
