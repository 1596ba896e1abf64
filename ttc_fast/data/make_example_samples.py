"""Regenerates example_samples.jsonl (50 problems x 16 samples, seeded): ``python make_example_samples.py``.

Per problem: 1-3 large answer clusters with Dirichlet mass, a tail of unique answers, a few unparseable
samples (answer null); the first cluster is the reference answer in ~70% of problems; the score is a noisy
verifier that prefers correct answers.
"""
import json
import pathlib

import numpy as np

rng = np.random.default_rng(2024)
lines = []
for p in range(50):
    m, tail, abst = int(rng.integers(1, 4)), rng.uniform(0.05, 0.35), rng.uniform(0.0, 0.1)
    probs = np.concatenate([rng.dirichlet(np.full(m, 0.8)) * (1 - tail - abst), [tail, abst]])
    right = rng.random() < 0.7
    for i, kind in enumerate(rng.choice(m + 2, size=16, p=probs)):
        answer = None if kind == m + 1 else f"{int(rng.integers(100, 999))}.5" if kind == m else str(17 * p + kind)
        correct = bool(right and kind == 0)
        score = round(float(1 / (1 + np.exp(-(1.5 * correct - 0.5 + rng.normal())))), 4)
        lines.append(json.dumps({"problem_id": f"p{p:02d}", "answer": answer, "correct": correct, "score": score}))
pathlib.Path(__file__).with_name("example_samples.jsonl").write_text("\n".join(lines) + "\n")
