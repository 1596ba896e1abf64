"""The demo's synthetic task, tokenizer and batch encoding (no training here: fast)."""
import itertools
import json

import numpy as np
import pytest

from ttc_fast.demo.task import (BOS_ID, EOS_ID, PAD_ID, ChainTask, build_tokenizer, evaluate_chain, make_problem,
                                running_values, save_tokenizer, write_problems)


def _oracle(start, ops):
    """Independent evaluation: build the fully parenthesised expression and let Python evaluate it."""
    expr = str(start)
    for op, d in ops:
        expr = f"(({expr}) {op} {d}) % 10"
    return eval(expr)  # noqa: S307 - digits and + - * only


def test_evaluate_chain_matches_python_eval_exhaustively_for_two_ops():
    for start, o1, d1, o2, d2 in itertools.product(range(10), "+-*", range(10), "+-*", range(10)):
        ops = [(o1, d1), (o2, d2)]
        assert evaluate_chain(start, ops) == _oracle(start, ops)
        assert running_values(start, ops) == [_oracle(start, ops[:1]), _oracle(start, ops)]


def test_problem_text_round_trip():
    rng = np.random.default_rng(3)
    for _ in range(200):
        p = make_problem(rng, 5)
        expr = p.prompt[2:-3]
        start, ops = int(expr[0]), [(expr[i], int(expr[i + 1])) for i in range(1, len(expr), 2)]
        assert len(ops) == 5 and p.num_ops == 5
        assert p.completion == ">".join(str(_oracle(start, ops[:i + 1])) for i in range(5))
        assert p.answer == p.completion[-1]


def test_splits_are_seeded_distinct_and_disjoint_from_training():
    a, b = ChainTask(max_ops=3, num_val=40, num_test=60, seed=7), ChainTask(max_ops=3, num_val=40, num_test=60, seed=7)
    assert [p.prompt for p in a.val] == [p.prompt for p in b.val]
    assert [p.prompt for p in a.test] == [p.prompt for p in b.test]
    held = {p.prompt for p in a.val} | {p.prompt for p in a.test}
    assert len(held) == 100                      # distinct across and within splits
    assert len({p.id for p in a.val + a.test}) == 100
    for _ in range(20):
        assert not held & {p.prompt for p in a.train_batch(64)}
    assert ChainTask(max_ops=3, seed=8).val[0].prompt != a.val[0].prompt or \
        ChainTask(max_ops=3, seed=8).val[1].prompt != a.val[1].prompt


def test_fixed_length_chains_and_max_len():
    t = ChainTask(max_ops=4, op_weights=[0, 0, 0, 1], num_val=8, num_test=8)
    tok = build_tokenizer()
    assert {p.num_ops for p in t.val + t.test + t.train_batch(50)} == {4}
    longest = max(len(tok.encode(p.text).ids) + 1 for p in t.train_batch(50))  # + <eos>
    assert longest == t.max_len
    assert t.max_new_tokens == len(tok.encode(t.val[0].completion, add_special_tokens=False).ids) + 1


def test_training_noise_rate_and_clean_held_out_splits():
    noise = 0.3
    t = ChainTask(max_ops=4, op_weights=[0, 0, 0, 1], noise=noise, num_val=50, num_test=50, seed=1)
    wrong = total = 0
    for p in t.train_batch(2000):
        expr = p.prompt[2:-3]
        ops = [(expr[i], int(expr[i + 1])) for i in range(1, len(expr), 2)]
        vals = [int(v) for v in p.completion.split(">")]
        prev = int(expr[0])
        for (op, d), v in zip(ops, vals):   # each step checked from the value actually written before it
            wrong += v != _oracle(prev, [(op, d)])
            total += 1
            prev = v
        assert p.answer == str(vals[-1])
    rate = wrong / total
    # binomial standard error at 8000 steps is 0.005: 5 sigma
    assert abs(rate - noise) < 0.026, rate
    for p in t.val + t.test:
        expr = p.prompt[2:-3]
        ops = [(expr[i], int(expr[i + 1])) for i in range(1, len(expr), 2)]
        assert p.answer == str(_oracle(int(expr[0]), ops))


def test_tokenizer_round_trip_and_special_ids(tmp_path):
    tok = build_tokenizer()
    enc = tok.encode("Q:3+4*2=A:7>4")
    assert enc.ids[0] == BOS_ID and len(enc.ids) == 1 + len("Q:3+4*2=A:7>4")
    assert tok.decode(enc.ids) == "Q:3+4*2=A:7>4"
    assert tok.decode([tok.token_to_id("7"), EOS_ID, PAD_ID]) == "7"
    save_tokenizer(tok, tmp_path)
    from tokenizers import Tokenizer
    again = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert again.encode("Q:9-9=A:0").ids == tok.encode("Q:9-9=A:0").ids
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(str(tmp_path))
    assert hf("Q:1*2=A:")["input_ids"] == tok.encode("Q:1*2=A:").ids
    assert hf.eos_token_id == EOS_ID and hf.pad_token_id == PAD_ID


def test_encode_batch_masks_the_prompt():
    from ttc_fast.demo.train import encode_batch
    tok = build_tokenizer()
    t = ChainTask(max_ops=3, op_weights=[0, 0, 1], num_val=4, num_test=4)
    probs = t.train_batch(5)
    ids, labels = encode_batch(tok, probs, t.max_len)
    assert ids.shape == labels.shape == (5, t.max_len)
    for i, p in enumerate(probs):
        n_prompt = len(p.prompt) + 1
        target = [tok.token_to_id(c) for c in p.completion] + [EOS_ID]
        assert (labels[i, :n_prompt] == -100).all()
        assert labels[i, n_prompt:n_prompt + len(target)].tolist() == target
        assert (labels[i, n_prompt + len(target):] == -100).all()
        assert (ids[i, n_prompt + len(target):] == PAD_ID).all()
    with pytest.raises(ValueError, match="width"):
        encode_batch(tok, probs, 3)


def test_write_problems_is_the_eval_format(tmp_path):
    from ttc_fast.evaluate import read_problems
    t = ChainTask(max_ops=2, num_val=5, num_test=5)
    write_problems(t.test, tmp_path / "p.jsonl")
    back = read_problems(tmp_path / "p.jsonl")
    assert [(p.id, p.prompt, p.answer) for p in back] == [(p.id, p.prompt, p.answer) for p in t.test]
    assert json.loads((tmp_path / "p.jsonl").read_text().splitlines()[0]).keys() == {"id", "prompt", "answer"}


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_ops"):
        ChainTask(max_ops=0)
    with pytest.raises(ValueError, match="op_weights"):
        ChainTask(max_ops=2, op_weights=[1.0])
    with pytest.raises(ValueError, match="noise"):
        ChainTask(noise=1.5)
    with pytest.raises(ValueError, match="distinct"):
        ChainTask(max_ops=1, num_val=200, num_test=200)
    with pytest.raises(ValueError, match="op must be"):
        evaluate_chain(1, [("/", 2)])
