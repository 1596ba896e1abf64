"""Brute-force oracle for the estimators: enumerate every k-subset with exact fractions (n <= 12).

Independent of ttc_fast: it implements the definitions in docs/estimators.md literally.
"""
from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from math import comb


def pass_at_k(n: int, c: int, k: int) -> Fraction:
    return 1 - Fraction(comb(n - c, k), comb(n, k))


def maj_at_k(answers, correct, k, tie="random", abstain="exclude") -> Fraction:
    """answers: list of cluster ids (-1 abstain); correct: list of bools (constant per cluster)."""
    n = len(answers)
    total = Fraction(0)
    for sub in combinations(range(n), k):
        counts: dict[int, int] = {}
        for i in sub:
            a = answers[i]
            if a == -1 and abstain == "exclude":
                continue
            key = a if a != -1 else "abstain"
            counts[key] = counts.get(key, 0) + 1
        if not counts:
            continue
        top = max(counts.values())
        winners = [a for a, v in counts.items() if v == top]
        right = [a for a in winners if a != "abstain" and correct[answers.index(a)]]
        if tie == "random":
            total += Fraction(len(right), len(winners))
        elif tie == "strict":
            total += int(len(winners) == 1 and len(right) == 1)
        else:
            total += int(len(right) > 0)
    return total / comb(n, k)


def best_of_k(scores, correct, k) -> Fraction:
    n = len(scores)
    total = Fraction(0)
    for sub in combinations(range(n), k):
        top = max(scores[i] for i in sub)
        best = [i for i in sub if scores[i] == top]
        total += Fraction(sum(bool(correct[i]) for i in best), len(best))
    return total / comb(n, k)


def weighted_maj_at_k(answers, scores, correct, k) -> Fraction:
    """Exact reward-weighted majority (score sums per cluster; exact ties at random; abstentions do not vote)."""
    n = len(answers)
    total = Fraction(0)
    for sub in combinations(range(n), k):
        sums: dict[int, Fraction] = {}
        for i in sub:
            if answers[i] >= 0:
                sums[answers[i]] = sums.get(answers[i], Fraction(0)) + Fraction(scores[i])
        if not sums:
            continue
        top = max(sums.values())
        winners = [a for a, v in sums.items() if v == top]
        total += Fraction(sum(bool(correct[answers.index(a)]) for a in winners), len(winners))
    return total / comb(n, k)
