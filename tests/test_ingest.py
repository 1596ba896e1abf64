"""ttc-fast ingest on a real lm-evaluation-harness --log_samples file (tests/data/lm_eval_samples.jsonl, made by
running lm_eval 0.4.13 offline against a demo checkpoint: see tests/data/lm_eval_task/README.md)."""
import json
import os
import re

import numpy as np
import pytest

from ttc_fast.cli import main
from ttc_fast.evallog import read_log
from ttc_fast.ingest import ingest, ingest_file

FIXTURE = os.path.join(os.path.dirname(__file__), "data", "lm_eval_samples.jsonl")


def _docs():
    with open(FIXTURE) as f:
        return [json.loads(line) for line in f if line.strip()]


def _last_digit(text):
    """Independent extractor for this task: the generations are running values 'a>b>c>d'; the answer is the
    last run of digits."""
    m = re.findall(r"\d+", text)
    return m[-1] if m else None


def test_real_lm_eval_log_converts_to_the_eval_log():
    docs = _docs()
    rec = ingest_file(FIXTURE, step=800, train_tokens=1.0e6)
    assert rec["step"] == 800 and rec["train_tokens"] == 1.0e6 and rec["num_samples"] == 8
    assert len(rec["problems"]) == len(docs) == 16
    for doc, prob in zip(sorted(docs, key=lambda d: d["doc_id"]), rec["problems"]):
        gens = doc["resps"][0]
        assert prob["id"] == doc["doc"]["id"]
        ans = [_last_digit(g) for g in gens]
        assert prob["correct"] == [a == doc["target"] for a in ans]
        ids = prob["answers"]
        for i in range(8):        # same answer <=> same cluster id; no answer <=> -1
            assert (ids[i] == -1) == (ans[i] is None)
            for j in range(8):
                if ans[i] is not None and ans[j] is not None:
                    assert (ids[i] == ids[j]) == (ans[i] == ans[j])


def test_majority_vote_of_the_log_matches_lm_eval_on_clear_winners():
    """lm-eval's filtered_resps is its majority vote over the same 8 samples; where the vote has a unique winner
    our clusters must agree with it (ties are broken differently: lm-eval takes Counter.most_common order)."""
    from collections import Counter
    rec = ingest_file(FIXTURE, step=1, train_flops=1.0)
    checked = 0
    for doc, prob in zip(sorted(_docs(), key=lambda d: d["doc_id"]), rec["problems"]):
        counts = Counter(a for a in prob["answers"] if a >= 0).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            continue
        winner = counts[0][0]
        j = prob["answers"].index(winner)
        assert _last_digit(doc["resps"][0][j]) == doc["filtered_resps"][0]
        checked += 1
    assert checked >= 8


def test_estimators_on_ingested_log_against_brute_force():
    """maj@k of the ingested record, recomputed by enumerating all k-subsets (random tie-break)."""
    from itertools import combinations
    from collections import Counter
    from ttc_fast.estimators import maj_at_k
    rec = ingest_file(FIXTURE, step=1, train_flops=1.0)
    answers = np.array([p["answers"] for p in rec["problems"]])
    correct = np.array([p["correct"] for p in rec["problems"]])
    k = 3
    brute = []
    for a, c in zip(answers, correct):
        tot = 0.0
        subsets = list(combinations(range(8), k))
        for s in subsets:
            cnt = Counter(a[i] for i in s if a[i] >= 0)
            if not cnt:
                continue
            top = max(cnt.values())
            winners = [x for x, v in cnt.items() if v == top]
            right = [x for x in winners if c[list(a).index(x)]]
            tot += len(right) / len(winners)
        brute.append(tot / len(subsets))
    got = maj_at_k(answers, correct, [k]).mean[0]
    assert got == pytest.approx(np.mean(brute), abs=1e-12)


def test_cli_ingest_writes_a_log_select_reads(tmp_path, capsys):
    out = tmp_path / "log.jsonl"
    assert main(["ingest", FIXTURE, "--out", str(out), "--step", "800", "--train-tokens", "2e6"]) == 0
    assert "wrote 1 record" in capsys.readouterr().out
    recs = read_log(out)
    assert len(recs) == 1 and recs[0]["step"] == 800
    from ttc_fast.selector import read_eval_log
    assert read_eval_log(str(out))[0]["answers"].shape == (16, 8)


def test_per_sample_filtered_resps_and_invalid_as_abstention(tmp_path):
    docs = _docs()
    for d in docs:   # what a task with only a per-sample regex filter writes (lm-eval's fallback "[invalid]")
        d["filtered_resps"] = [[_last_digit(g) or "[invalid]" for g in d["resps"][0]]]
    docs[0]["filtered_resps"][0][0] = "[invalid]"
    p = tmp_path / "samples_x.jsonl"
    p.write_text("".join(json.dumps(d) + "\n" for d in docs))
    rec = ingest_file(p, source="filtered", step=5, train_flops=3.0)
    assert rec["problems"][0]["answers"][0] == -1 and rec["problems"][0]["correct"][0] is False
    assert rec["meta"]["answers_from"] == ["filtered_resps"]
    auto = ingest_file(p, source="auto", step=5, train_flops=3.0)
    assert auto["problems"] == rec["problems"]
    with pytest.raises(ValueError, match="not per-sample"):
        ingest_file(FIXTURE, source="filtered", step=5, train_flops=3.0)


def test_several_files_sorted_by_step_and_coordinates_from_trainer_state(tmp_path):
    """Two checkpoints: the step/tokens/FLOPs come from the model directory named in lm-eval's results json."""
    for step in (200, 100):
        model = tmp_path / f"ckpt-{step}"
        model.mkdir()
        (model / "trainer_state.json").write_text(json.dumps({"global_step": step, "num_input_tokens_seen": 10 * step,
                                                              "train_flops": 1e6 * step}))
        run = tmp_path / "out" / f"m{step}"
        run.mkdir(parents=True)
        (run / "results_2026.json").write_text(json.dumps({"config": {"model_args": f"pretrained={model},dtype=float32"}}))
        (run / "samples_chain_2026.jsonl").write_text(open(FIXTURE).read())
    recs = ingest([tmp_path / "out"], tmp_path / "log.jsonl")
    assert [r["step"] for r in recs] == [100, 200]
    assert [r["train_tokens"] for r in recs] == [1000, 2000] and [r["train_flops"] for r in recs] == [1e8, 2e8]
    assert [r["step"] for r in read_log(tmp_path / "log.jsonl")] == [100, 200]


def test_malformed_inputs(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc_id": 0, "target": "1", "resps": [["1"]]}\n{"doc_id": 1, "target": "2"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: missing field 'resps'"):
        ingest_file(bad, step=1, train_flops=1.0)
    bad.write_text('{"doc_id": 0, "target": "1", "resps": [["1"]]}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not valid JSON"):
        ingest_file(bad, step=1, train_flops=1.0)
    with pytest.raises(FileNotFoundError):
        ingest([tmp_path / "missing.jsonl"], tmp_path / "o.jsonl")
    with pytest.raises(ValueError, match="--step"):
        ingest_file(FIXTURE, train_flops=1.0)
    with pytest.raises(ValueError, match="--train-tokens"):
        ingest_file(FIXTURE, step=3)
    with pytest.raises(ValueError, match="one value per samples file"):
        ingest([FIXTURE], tmp_path / "o.jsonl", steps=[1, 2])
    assert main(["ingest", str(bad), "--out", str(tmp_path / "o.jsonl"), "--step", "1", "--train-flops", "1"]) == 2
    assert not (tmp_path / "o.jsonl").exists()
