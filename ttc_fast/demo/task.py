"""The built-in synthetic reasoning task of ``ttc-fast demo``: chains of arithmetic mod 10.

A problem is a start digit followed by ``num_ops`` operations, each an operator in ``+ - *`` and a digit,
evaluated **left to right** (no precedence) modulo 10, written as text; the completion writes the running value
after each operation (a chain of thought) and the last one is the answer::

    Q:3+4*2-5=A:7>4>9        ((3 + 4) * 2 - 5) mod 10 = 9

The training stream is noisy (``noise``: each written running value is a mistake with that probability, and the
chain continues from it), as real reasoning data is: a model that fits it makes a mistake at some step of many
chains, so a fully trained model stays clearly below 100% single-sample accuracy, while the right answer stays the
most likely one per problem: sampling helps (maj@K and pass@K rise with K). Held-out problems are exact.

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
CHARS = "0123456789+-*=QA:>"
PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SPECIAL = (PAD, BOS, EOS)
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2


@dataclass(frozen=True)
class Problem:
    """One chain: ``id`` (e.g. "test-17"), ``prompt`` ("Q:3+4*2=A:"), ``answer`` (one digit, "4"),
    ``num_ops`` (number of operations), ``completion`` (the training target after the prompt: the running
    values "7>4", whose last number is the answer)."""
    id: str
    prompt: str
    answer: str
    num_ops: int
    completion: str = ""

    @property
    def text(self) -> str:
        """Prompt plus completion: the training text (without special tokens)."""
        return self.prompt + self.completion

    def to_json(self) -> dict:
        """The ``problems.jsonl`` record that ``ttc-fast eval --data`` reads."""
        return {"id": self.id, "prompt": self.prompt, "answer": self.answer}


def evaluate_chain(start: int, ops: list[tuple[str, int]]) -> int:
    """Left-to-right value of ``start (op digit)...`` modulo 10 (Python's %: always in 0..9)."""
    return running_values(start, ops)[-1]


def running_values(start: int, ops: list[tuple[str, int]]) -> list[int]:
    """The value after each operation, left to right, modulo 10 (the chain of thought of the completion)."""
    value, out = start, []
    for op, d in ops:
        if op == "+":
            value = (value + d) % 10
        elif op == "-":
            value = (value - d) % 10
        elif op == "*":
            value = (value * d) % 10
        else:
            raise ValueError(f"op must be one of {OPS}; got {op!r}")
        out.append(value)
    return out


def make_problem(rng: np.random.Generator, num_ops: int, pid: str = "", noise: float = 0.0) -> Problem:
    """Draws one chain with ``num_ops`` operations (digits and operators uniform).

    ``noise``: probability that each written running value is a mistake (a uniformly drawn *other* digit); the
    chain then continues from the mistaken value, like a reasoning error that propagates, and ``answer`` is the
    last value written. Only the training stream is noisy; validation and test problems are exact."""
    if num_ops < 1:
        raise ValueError(f"num_ops must be >= 1; got {num_ops}")
    start = int(rng.integers(10))
    ops = [(OPS[int(rng.integers(3))], int(rng.integers(10))) for _ in range(num_ops)]
    expr = str(start) + "".join(f"{op}{d}" for op, d in ops)
    if noise <= 0:
        values = running_values(start, ops)
    else:
        values, v = [], start
        for op, d in ops:
            v = running_values(v, [(op, d)])[0]
            if rng.random() < noise:
                v = (v + 1 + int(rng.integers(9))) % 10   # any digit but the right one
            values.append(v)
    return Problem(pid, f"Q:{expr}=A:", str(values[-1]), num_ops, ">".join(map(str, values)))


class ChainTask:
    """Seeded task: fixed validation/test splits and an endless training stream disjoint from both.

    ``max_ops``: longest chain (problems have 1..max_ops operations; ``op_weights`` gives their relative
    frequencies, uniform by default). ``num_val`` / ``num_test``: split sizes (distinct expressions).
    ``noise``: per-step mistake rate of the training completions (see :func:`make_problem`); a model that learns
    the data perfectly makes mistakes at about that rate, so single samples stay well below 100% while the right
    answer remains the most likely one: majority voting over samples recovers it.
    """

    def __init__(self, *, max_ops: int = 4, num_val: int = 64, num_test: int = 128, seed: int = 0,
                 op_weights: list[float] | None = None, noise: float = 0.0):
        if not 0.0 <= noise < 0.9:
            raise ValueError(f"noise must be in [0, 0.9); got {noise}")
        self.noise = float(noise)
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
        for _ in range(count * 100):
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
            p = make_problem(self._train_rng, self._num_ops(self._train_rng), noise=self.noise)
            if p.prompt not in self._held:
                out.append(p)
        return out

    @property
    def max_len(self) -> int:
        """Longest training sequence in tokens: <bos> Q : d (op d)*max_ops = A : d (> d)*(max_ops-1) <eos>."""
        return 1 + 2 + 1 + 2 * self.max_ops + 3 + (2 * self.max_ops - 1) + 1

    @property
    def max_new_tokens(self) -> int:
        """Tokens a complete answer needs: the running values and <eos>."""
        return 2 * self.max_ops


def write_problems(problems: list[Problem], path: str | os.PathLike) -> None:
    """Writes the ``ttc-fast eval --data`` JSONL file (``id``, ``prompt``, ``answer`` per line), atomically."""
    from ttc_fast import jsonl

    jsonl.write(path, (p.to_json() for p in problems))


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
