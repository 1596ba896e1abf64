"""Real learning curves (``ttc_fast/data/curves/``), replayed as precomputed accuracy tables.

Each :class:`RealCurve` is one (run, task, metric) with its checkpoints in training order: normalised compute
``xs = tokens / tokens at the last checkpoint`` (RL runs: samples seen), and the accuracy at each available K
(``{1: values}`` for single-sample metrics; ``{1: pass@1, 8: pass@8}`` for the RL pass@k curves, joined on
samples seen) with standard errors. Where the source gives no stderr, the binomial one at the task's
evaluation size is used (``TASK_SIZES``: the public test-set sizes, approximate for the f1/macro-F1 tasks where
the binomial is itself an approximation). The truth of a replayed run is the table itself: the deployed
(checkpoint, K) is compared with the published single-sample value of the last checkpoint.

Kept: accuracy-like metrics in [0, 1] (acc, acc_norm, f1, em, f1_macro, pass@k); perplexity, Pearson r and
BLEURT are left out, as are curves with fewer than ``min_points`` checkpoints (default 6: the two 5- and
6-point RL pipeline curves). Sources and caveats: ``ttc_fast/data/curves/README.md``.
"""
from __future__ import annotations

import csv
import math
import os
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

__all__ = ["RealCurve", "load_real_curves", "SOURCES", "TASK_SIZES"]

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "curves")
SOURCES = ("bigscience", "tucano", "tinyllama", "rlx")
_FILES = {"bigscience": "bigscience_1b3.csv", "tucano": "tucano_evals.csv", "tinyllama": "tinyllama_evalmd.csv",
          "rlx": "rlexcursions_rl_training.csv"}
_METRICS = {"acc", "acc_norm", "f1", "em", "f1_macro"}

# evaluation-set sizes for a binomial stderr where the source gives none (public test/validation splits)
TASK_SIZES = {
    # TinyLlama EVAL.md (lm-eval defaults)
    "hellaswag": 10042, "openbookqa": 500, "winogrande": 1267, "arc_challenge": 1172, "arc_easy": 2376,
    "boolq": 3270, "piqa": 1838, "mmlu": 14042, "bbh": 6511, "humaneval": 164, "drop": 9536,
    # Tucano (Portuguese tasks)
    "arc_pt": 1172, "assin2_rte": 2448, "bluex": 724, "calame_pt": 2076, "enem": 1429, "faquad_nli": 650,
    "hatebr": 1400, "hatespeech_pt": 1134, "hellaswag_pt": 9889, "lambada_pt": 5153, "oab_exams": 2210,
    "tweet_br": 2010,
    # GSM8K test (the RL curves)
    "gsm8k": 1319,
}


@dataclass(frozen=True)
class RealCurve:
    """One real curve: ``xs`` float64 ``(C,)`` in (0, 1], ascending, ``xs[-1] == 1``; ``table`` maps K to
    float64 ``(C,)`` accuracies, ``stderr`` K to ``(C,)``; ``steps`` int64 ``(C,)``."""

    source: str
    name: str
    xs: np.ndarray
    steps: np.ndarray
    table: dict[int, np.ndarray]
    stderr: dict[int, np.ndarray]
    stderr_from_source: bool

    @property
    def ks(self) -> list[int]:
        return sorted(self.table)

    @property
    def target(self) -> float:
        return float(self.table[1][-1])

    def accuracy(self, i: int) -> tuple[dict[int, float], dict[int, float]]:
        """Checkpoint ``i`` as ``update(accuracy=..., accuracy_stderr=...)`` takes it."""
        return ({k: float(v[i]) for k, v in self.table.items()}, {k: float(v[i]) for k, v in self.stderr.items()})


def _binomial_se(values: np.ndarray, n: int) -> np.ndarray:
    v = np.clip(values, 0.0, 1.0)
    return np.sqrt(np.maximum(v * (1.0 - v), 0.25 / n) / n)


def _single_sample(source: str, rows: list[dict[str, str]], min_points: int) -> list[RealCurve]:
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        if r["metric"] in _METRICS or (r["metric"] == "pass@1" and source == "tinyllama"):
            groups[(r["model"], r["task"], r["metric"])].append(r)
    out = []
    for (model, task, metric), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: float(r["tokens"]))
        tokens = np.array([float(r["tokens"]) for r in rs])
        vals = np.array([float(r["value"]) for r in rs])
        if len(rs) < min_points or not np.all(np.isfinite(vals)) or vals.min() < 0 or vals.max() > 1:
            continue
        if np.any(np.diff(tokens) <= 0):  # duplicated checkpoints: keep the first of each
            keep = np.concatenate([[True], np.diff(tokens) > 0])
            rs, tokens, vals = [r for r, k in zip(rs, keep) if k], tokens[keep], vals[keep]
        have = all(r.get("stderr") not in (None, "") for r in rs)
        if have:
            se = np.array([float(r["stderr"]) for r in rs])
        else:
            se = _binomial_se(vals, TASK_SIZES.get(task, 1000))
        out.append(RealCurve(source, f"{model}/{task}/{metric}", tokens / tokens[-1],
                             np.array([int(float(r["step"])) for r in rs], dtype=np.int64),
                             {1: vals}, {1: se}, have))
    return out


def _rl_pairs(rows: list[dict[str, str]], min_points: int) -> list[RealCurve]:
    """pass@1 joined with pass@8 on samples seen, per (training split, rollouts per prompt)."""
    by: dict[tuple[str, str], dict[int, dict[float, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        if not r["samples_seen"] or not r["metric"].startswith("pass@"):
            continue
        k = int(r["metric"].split("@")[1])
        by[(r["train_split"], r["n_rollouts"])][k][float(r["samples_seen"])] = float(r["value"])
    out = []
    for (split, rollouts), per_k in sorted(by.items()):
        if 1 not in per_k:
            continue
        xs = sorted(set.intersection(*(set(v) for v in per_k.values())))
        if len(xs) < min_points:
            continue
        x = np.array(xs)
        table = {k: np.array([v[s] for s in xs]) for k, v in sorted(per_k.items())}
        se = {k: _binomial_se(v, TASK_SIZES["gsm8k"]) for k, v in table.items()}
        out.append(RealCurve("rlx", f"olmo2-1b-rl/{split}/rollouts{rollouts}/pass@{','.join(map(str, table))}",
                             x / x[-1], np.arange(1, len(xs) + 1, dtype=np.int64), table, se, False))
    return out


def load_real_curves(sources: tuple[str, ...] | list[str] | None = None, *, min_points: int = 6,
                     data_dir: str | None = None) -> list[RealCurve]:
    """The real curves of the given ``sources`` (default: all of :data:`SOURCES`), in a stable order."""
    sources = tuple(SOURCES if sources is None else sources)
    bad = [s for s in sources if s not in SOURCES]
    if bad:
        raise ValueError(f"unknown real-curve source(s) {bad}; accepted: {', '.join(SOURCES)}")
    if isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 3:
        raise ValueError(f"min_points must be an int >= 3, got {min_points!r}")
    root = DATA_DIR if data_dir is None else data_dir
    out: list[RealCurve] = []
    for src in sources:
        path = os.path.join(root, _FILES[src])
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        out.extend(_rl_pairs(rows, min_points) if src == "rlx" else _single_sample(src, rows, min_points))
    return out


def _check() -> None:  # pragma: no cover - a quick look: python -m ttc_fast.decision_bench.real
    for c in load_real_curves():
        print(c.source, c.name, len(c.xs), c.ks, f"{c.table[1][0]:.3f} -> {c.target:.3f}",
              "se" if c.stderr_from_source else "binomial se", math.isfinite(c.target))


if __name__ == "__main__":  # pragma: no cover
    _check()
