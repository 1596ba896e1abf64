"""ttc-fast eval: real (tiny, briefly trained) checkpoints, single process vs 2 gloo processes, resume, bad inputs."""
import json
import os
import socket

import pytest

torch = pytest.importorskip("torch")

from ttc_fast.cli import main  # noqa: E402
from ttc_fast.evallog import append_record, read_log  # noqa: E402
from ttc_fast.evaluate import evaluate_checkpoints, read_problems  # noqa: E402

N, MAX_NEW = 4, 8


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two real checkpoints of a tiny demo model (20 steps) and a 10-problem file."""
    from ttc_fast.demo.task import ChainTask, write_problems
    from ttc_fast.demo.train import TrainConfig, train
    root = tmp_path_factory.mktemp("evalrun")
    task = ChainTask(max_ops=2, op_weights=[0, 1], num_val=10, num_test=10, seed=0)
    ckpts = train(task, TrainConfig(steps=20, checkpoint_every=10, model_size="tiny", batch_size=16, warmup=2),
                  root / "ckpts", progress=False)
    write_problems(task.test, root / "problems.jsonl")
    return root, [c.path for c in ckpts], ckpts


def _eval(run, out, **kw):
    root, paths, _ = run
    args = dict(n=N, max_new_tokens=MAX_NEW, seed=3, chunk_size=3, progress=False, log=None)
    args.update(kw)
    return evaluate_checkpoints(paths, root / "problems.jsonl", out, **args)


def test_single_process_log(run, tmp_path):
    root, paths, ckpts = run
    out = tmp_path / "log.jsonl"
    recs = _eval(run, out)
    log = read_log(out)
    assert log == json.loads(json.dumps(recs))
    assert [r["step"] for r in log] == [10, 20]
    for r, c in zip(log, ckpts):
        assert r["train_tokens"] == c.train_tokens and r["train_flops"] == pytest.approx(c.train_flops, rel=1e-12)
        assert r["num_samples"] == N and len(r["problems"]) == 10
        probs = read_problems(root / "problems.jsonl")
        assert [p["id"] for p in r["problems"]] == [p.id for p in probs]
    # the same seed gives the same log; another seed another one
    again = _eval(run, tmp_path / "again.jsonl")
    assert again == recs
    other = _eval(run, tmp_path / "other.jsonl", seed=4)
    assert [p["answers"] for p in other[0]["problems"]] != [p["answers"] for p in recs[0]["problems"]]


def test_grading_matches_an_independent_regrade(run, tmp_path):
    """Regrade from the generated texts with plain Python: the log's correctness and clusters must agree."""
    import re
    import ttc_fast
    from ttc_fast.evaluate import chunk_seed
    root, paths, _ = run
    probs = read_problems(root / "problems.jsonl")
    rec = _eval(run, tmp_path / "l.jsonl")[1]
    model = ttc_fast.load_model(paths[1])
    texts = []
    for c in range(4):  # chunks of 3 problems, seeded per (seed, step, chunk)
        part = [p.prompt for p in probs[3 * c:3 * c + 3]]
        texts += ttc_fast.generate(model, part, n=N, max_new_tokens=MAX_NEW, seed=chunk_seed(3, 20, c)).texts
    for p, row, t in zip(probs, rec["problems"], texts):
        ans = [(re.findall(r"-?\d+", s) or [None])[-1] for s in t]
        assert row["correct"] == [a == p.answer for a in ans]
        assert [a == -1 for a in row["answers"]] == [a is None for a in ans]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, port, paths, data, out):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    evaluate_checkpoints(paths, data, out, n=N, max_new_tokens=MAX_NEW, seed=3, chunk_size=3, progress=False,
                         log=None, device="cpu")
    import torch.distributed as dist
    dist.destroy_process_group()


def test_two_gloo_processes_give_the_single_process_log(run, tmp_path):
    root, paths, _ = run
    single = tmp_path / "single.jsonl"
    _eval(run, single)
    multi = tmp_path / "multi.jsonl"
    import torch.multiprocessing as mp
    mp.spawn(_worker, args=(2, _free_port(), paths, str(root / "problems.jsonl"), str(multi)), nprocs=2,
             join=True)
    assert read_log(multi) == read_log(single)


def test_interrupted_eval_resumes(run, tmp_path, monkeypatch):
    full = tmp_path / "full.jsonl"
    _eval(run, full)
    out = tmp_path / "resumed.jsonl"
    import ttc_fast.evaluate as ev
    real = ev.sample_problems
    calls = {"n": 0}

    def crash_on_second(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return real(*a, **k)

    monkeypatch.setattr(ev, "sample_problems", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        _eval(run, out)
    assert [r["step"] for r in read_log(out)] == [10]        # the finished checkpoint survived
    with open(out, "ab") as f:                                # and a writer killed mid-line is tolerated
        f.write(b'{"step": 20, "train_flo')
    monkeypatch.setattr(ev, "sample_problems", real)
    written = _eval(run, out)
    assert [r["step"] for r in written] == [20]               # only the missing one was evaluated
    assert read_log(out) == read_log(full)
    assert _eval(run, out) == []                              # a third run has nothing to do


def test_extractor_that_matches_nothing_counts_abstentions(run, tmp_path):
    rec = _eval(run, tmp_path / "l.jsonl", extractor="regex:ZZZ(\\d)")[0]
    assert rec["meta"]["abstentions"] == 10 * N
    assert all(a == -1 for p in rec["problems"] for a in p["answers"])
    assert not any(c for p in rec["problems"] for c in p["correct"])


def test_bad_inputs_fail_before_any_work(run, tmp_path):
    root, paths, _ = run
    out = tmp_path / "l.jsonl"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        evaluate_checkpoints([paths[0], str(root / "nope")], root / "problems.jsonl", out, n=2, max_new_tokens=2,
                             progress=False, log=None)
    assert not out.exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "Q:1+1=A:", "answer": "2"}\n{"prompt": "Q:1+2=A:"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: missing field 'answer'"):
        evaluate_checkpoints(paths, bad, out, n=2, max_new_tokens=2, progress=False, log=None)
    bad.write_text('{"prompt": "Q:1+1=A:", "answer": "2"}\n{"prompt": 3, "answer": "3"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: missing or empty field 'prompt'"):
        read_problems(bad)
    bad.write_text('{"id": "a", "prompt": "x", "answer": 1}\n{"id": "a", "prompt": "y", "answer": 2}\n')
    with pytest.raises(ValueError, match="duplicate id 'a'"):
        read_problems(bad)
    bad.write_text('[1, 2]\n')
    with pytest.raises(ValueError, match="expected a JSON object"):
        read_problems(bad)
    with pytest.raises(ValueError, match="extractor"):
        evaluate_checkpoints(paths, root / "problems.jsonl", out, extractor="nonsense", progress=False, log=None)
    assert not out.exists()
    # CLI: clear message and exit status 2, no traceback
    assert main(["eval", str(root / "nope"), "--data", str(root / "problems.jsonl"), "--out", str(out)]) == 2


def test_log_corruption_in_the_middle_is_an_error(tmp_path):
    p = tmp_path / "l.jsonl"
    append_record(p, {"step": 1, "train_flops": 1.0, "problems": []})
    with open(p, "a") as f:
        f.write("garbage\n")
    append_record(p, {"step": 2, "train_flops": 2.0, "problems": []})
    with pytest.raises(ValueError, match=r"l.jsonl:2"):
        read_log(p)


def test_cli_eval(run, tmp_path, capsys):
    root, paths, _ = run
    out = tmp_path / "cli.jsonl"
    assert main(["eval", *paths, "--data", str(root / "problems.jsonl"), "--out", str(out), "--n", str(N),
                 "--max-new-tokens", str(MAX_NEW), "--seed", "3", "--chunk-size", "3", "--no-progress"]) == 0
    assert read_log(out) == _eval(run, tmp_path / "api.jsonl")
    capsys.readouterr()
    same = ["--n", str(N), "--max-new-tokens", str(MAX_NEW), "--seed", "3", "--chunk-size", "3", "--no-progress"]
    assert main(["eval", *paths, "--data", str(root / "problems.jsonl"), "--out", str(out), *same]) == 0
    assert "already in" in capsys.readouterr().out
    # other settings on the same log: refused, naming the field and the way out (no stale "already in")
    assert main(["eval", *paths, "--data", str(root / "problems.jsonl"), "--out", str(out), "--no-progress",
                 "--max-new-tokens", str(MAX_NEW)]) == 2
    err = capsys.readouterr().err
    assert "n=4, this run has n=64" in err and "--out" in err and "--force" in err


@pytest.fixture(scope="module")
def base_log(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("base") / "log.jsonl"
    _eval(run, out)
    return out


def _no_sampling(monkeypatch):
    import ttc_fast.evaluate as ev

    def fail(*a, **k):
        raise AssertionError("sampled although the log should have been refused first")
    monkeypatch.setattr(ev, "sample_problems", fail)


@pytest.mark.parametrize("change, match", [
    (dict(n=N + 1), rf"n={N}, this run has n={N + 1}"),
    (dict(temperature=0.5), r"temperature=0.8, this run has temperature=0.5"),
    (dict(top_p=0.9), r"top_p=1.0, this run has top_p=0.9"),
    (dict(top_k=5), r"top_k=None, this run has top_k=5"),
    (dict(min_p=0.1), r"min_p=None, this run has min_p=0.1"),
    (dict(max_new_tokens=MAX_NEW + 1), rf"max_new_tokens={MAX_NEW}, this run has max_new_tokens={MAX_NEW + 1}"),
    (dict(extractor="boxed"), r"extractor='number', this run has extractor='boxed'"),
    (dict(seed=4), r"seed=3, this run has seed=4"),
    (dict(chunk_size=2), r"chunk_size=3, this run has chunk_size=2"),
    (dict(stop=["\n"]), r"stop=None"),
    (dict(dtype="bfloat16"), r"dtype=None, this run has dtype='bfloat16'"),
])
def test_resume_refuses_other_settings(run, base_log, tmp_path, monkeypatch, change, match):
    import shutil
    out = tmp_path / "log.jsonl"
    shutil.copy(base_log, out)
    first = read_log(out)
    _no_sampling(monkeypatch)
    with pytest.raises(ValueError, match=rf"step 10 was made with other .*{match}.*2 of 2 record.*--out.*--force"):
        _eval(run, out, **change)
    assert read_log(out) == first  # the log is untouched


def test_resume_refuses_other_data_and_other_weights_and_force_redoes_them(run, tmp_path, monkeypatch):
    import shutil

    from safetensors.torch import load_file, save_file
    root, paths, _ = run
    out = tmp_path / "log.jsonl"
    first = _eval(run, out)
    data = tmp_path / "problems.jsonl"
    probs = [json.loads(line) for line in open(root / "problems.jsonl")]
    probs[3]["answer"] = "not the answer"
    data.write_text("".join(json.dumps(p) + "\n" for p in probs))
    with monkeypatch.context() as m:
        _no_sampling(m)
        with pytest.raises(ValueError, match=r"step 10 was made with other the problems \(content hash\): data="):
            evaluate_checkpoints(paths, data, out, n=N, max_new_tokens=MAX_NEW, seed=3, chunk_size=3,
                                 progress=False, log=None)
    # the same problems written differently (spacing, key order) have the same content hash: resumed
    data.write_text("".join(json.dumps(dict(reversed(list(p.items()))), indent=None, separators=(", ", " : "))
                            + "\n" for p in json.loads(json.dumps([json.loads(line) for line in
                                                                    open(root / "problems.jsonl")]))))
    assert evaluate_checkpoints(paths, data, out, n=N, max_new_tokens=MAX_NEW, seed=3, chunk_size=3,
                                progress=False, log=None) == []
    # other weights under the same path and step (a retrained run written over the old directory)
    other = [tmp_path / "ck" / os.path.basename(p) for p in paths]
    for src, dst in zip(paths, other):
        shutil.copytree(src, dst)
    w = load_file(str(other[1] / "model.safetensors"))
    name = next(k for k in w if k.endswith("embed_tokens.weight"))
    w[name] = w[name] + 0.01
    save_file(w, str(other[1] / "model.safetensors"), metadata={"format": "pt"})
    args = dict(n=N, max_new_tokens=MAX_NEW, seed=3, chunk_size=3, progress=False, log=None)
    with monkeypatch.context() as m:
        _no_sampling(m)
        with pytest.raises(ValueError, match=r"step 20 was made with other the weights \(checkpoint identity\).*"
                                             r"1 of 2 record"):
            evaluate_checkpoints([str(p) for p in other], root / "problems.jsonl", out, **args)
    # --force drops the stale record and evaluates that checkpoint again; the other one is kept
    messages = []
    redone = evaluate_checkpoints([str(p) for p in other], root / "problems.jsonl", out, force=True,
                                  **{**args, "log": messages.append})
    assert [r["step"] for r in redone] == [20] and any("dropped 1 record" in m for m in messages)
    log = read_log(out)
    assert [r["step"] for r in log] == [10, 20]
    assert log[0] == json.loads(json.dumps(first[0]))
    assert log[1]["meta"]["key"]["checkpoint"] != first[1]["meta"]["key"]["checkpoint"]


def test_resume_refuses_a_log_without_keys(run, tmp_path, monkeypatch):
    out = tmp_path / "log.jsonl"
    rec = _eval(run, out)[0]
    del rec["meta"]["key"]
    from ttc_fast.evallog import write_log
    write_log(out, [rec])
    with monkeypatch.context() as m:
        _no_sampling(m)
        with pytest.raises(ValueError, match=r"step 10 was made with other key: .*no 'meta.key'"):
            _eval(run, out)
    assert [r["step"] for r in _eval(run, out, force=True)] == [10, 20]


def test_sampling_settings_are_checked_before_any_work(run, tmp_path):
    out = tmp_path / "l.jsonl"
    for kw, match in ((dict(temperature=float("inf")), "temperature must be a finite number"),
                      (dict(temperature=-1), "temperature"), (dict(top_p=0), r"top_p must lie in \(0, 1\]"),
                      (dict(top_k=-1), "top_k must be None or an int >= 0"), (dict(min_p=2), "min_p"),
                      (dict(seed=1.5), "seed must be an int"), (dict(stop="x"), "stop must be a list"),
                      (dict(n=0), "n must be an int >= 1")):
        with pytest.raises(ValueError, match=match):
            _eval(run, out, **kw)
    assert not out.exists()
