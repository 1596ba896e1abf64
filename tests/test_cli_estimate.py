"""`ttc-fast estimate`: table / JSON output against the Python API, the shipped example, errors, --plot."""
from __future__ import annotations

import json

import numpy as np
import pytest

import ttc_fast
from ttc_fast.cli import main


def _write(tmp_path, records):
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return path


RECORDS = [  # problem a: 3 of 4 say "1" (correct); problem b: ragged (3 samples), one abstention
    {"problem_id": "a", "answer": "1", "correct": True, "score": 0.9},
    {"problem_id": "a", "answer": "2", "correct": False, "score": 0.2},
    {"problem_id": "b", "answer": "x", "correct": False, "score": 0.7},
    {"problem_id": "a", "answer": "1", "correct": True, "score": 0.5},
    {"problem_id": "b", "answer": None, "correct": False, "score": 0.1},
    {"problem_id": "a", "answer": "1", "correct": True, "score": 0.4},
    {"problem_id": "b", "answer": "y", "correct": True, "score": 0.3},
]


@pytest.mark.parametrize("metric", ["pass", "maj", "bok", "wmaj"])
def test_json_matches_api(tmp_path, capsys, metric):
    path = _write(tmp_path, RECORDS)
    assert main(["estimate", str(path), "--metric", metric, "--ks", "1,2,3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    answers = [["1", "2", "1", "1"], ["x", None, "y"]]
    correct = np.array([[1, 0, 1, 1], [0, 0, 1, 0]], dtype=bool)
    scores = np.array([[0.9, 0.2, 0.5, 0.4], [0.7, 0.1, 0.3, np.nan]])
    if metric == "pass":
        ref = ttc_fast.pass_at_k([4, 3], [3, 1], [1, 2, 3])
    elif metric == "maj":
        ref = ttc_fast.maj_at_k(answers, correct, [1, 2, 3])
    elif metric == "bok":
        ref = ttc_fast.best_of_k(scores, correct, [1, 2, 3])
    else:
        ref = ttc_fast.weighted_maj_at_k(ttc_fast.cluster_answers(answers), np.nan_to_num(scores), correct,
                                         [1, 2, 3])
    assert out["ks"] == [1, 2, 3] and out["num_problems"] == 2
    np.testing.assert_allclose(out["mean"], ref.mean, atol=1e-12)
    np.testing.assert_allclose(out["stderr"], ref.stderr, atol=1e-12)


def test_example_table_and_plot(tmp_path, capsys):
    png = tmp_path / "curve.png"
    assert main(["estimate", "--example", "--metric", "maj", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "maj@k over 50 problems" in out and out.splitlines()[-1].split()[0] == "16"
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"


def test_errors(tmp_path, capsys):
    assert main(["estimate", str(_write(tmp_path, RECORDS)), "--ks", "4"]) == 2  # k > n of problem b
    assert "k=4 > n=3" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem_id": "a", "answer": "1"}\n')
    assert main(["estimate", str(bad)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
    noscore = _write(tmp_path, [{"problem_id": "a", "answer": "1", "correct": True}])
    assert main(["estimate", str(noscore), "--metric", "bok"]) == 2
    assert main(["estimate"]) == 2
