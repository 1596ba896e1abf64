"""Seeded synthetic sample sets with realistic answer distributions (shared by the estimator benchmarks)."""
from __future__ import annotations

import numpy as np


def realistic_answers(num_problems: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(answers int64 (P, n), correct bool (P, n)): per problem 1-4 large answer clusters (Dirichlet mass),
    a long tail of singleton answers (10-40% of samples) and a few abstentions (-1). Cluster 0 is correct
    in 70% of problems; otherwise no cluster is correct."""
    rng = np.random.default_rng(seed)
    answers = np.empty((num_problems, n), dtype=np.int64)
    correct = np.zeros((num_problems, n), dtype=bool)
    for p in range(num_problems):
        m = int(rng.integers(1, 5))
        tail, abst = rng.uniform(0.1, 0.4), rng.uniform(0.0, 0.1)
        probs = np.concatenate([rng.dirichlet(np.full(m, 0.7)) * (1 - tail - abst), [tail, abst]])
        kind = rng.choice(m + 2, size=n, p=probs)
        row = np.where(kind < m, kind, -1)
        singles = kind == m
        row[singles] = m + np.arange(singles.sum())  # every tail sample is its own cluster
        answers[p] = row
        if rng.random() < 0.7:
            correct[p] = row == 0
    return answers, correct
