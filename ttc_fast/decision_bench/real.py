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
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

__all__ = ["RealCurve", "load_real_curves", "load_curve_file", "SOURCES", "TASK_SIZES", "CURVE_FILE_COLUMNS"]

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


# ---- your own curves: one long CSV, one row per (curve, checkpoint, K) -------------------------------------------
_VALUE_COLS = ("value", "accuracy")
_COMPUTE_COLS = ("flops", "tokens", "samples_seen", "step")   # the first present is the compute axis
CURVE_FILE_COLUMNS = {
    "value": "accuracy in [0, 1] (or the column 'accuracy')",
    "flops | tokens | samples_seen | step": "training compute of the checkpoint (the first of these present is "
                                           "used; normalised by the curve's last checkpoint)",
    "k": "samples per query of the value (optional: else the K of a metric named like 'pass@8', else 1)",
    "stderr": "standard error of the value (optional when 'n' is given)",
    "n": "evaluation problems, for a binomial stderr where 'stderr' is empty",
    "source": "group name in the tables (optional: else the file's name)",
    "curve": "curve id (optional: else every other column joined, a metric's '@K' left out)",
}
_KNOWN = {"value", "accuracy", "flops", "tokens", "samples_seen", "step", "k", "stderr", "n", "source", "curve"}
_AT_K = re.compile(r"^(.*)@(\d+)$")


def load_curve_file(path: str | os.PathLike, *, min_points: int = 6) -> list[RealCurve]:
    """Learning curves of your own runs from one long-format CSV (columns: :data:`CURVE_FILE_COLUMNS`), to replay
    in the benchmark (``ttc-fast bench-decision --curves PATH``) exactly as the bundled real curves are.

    A curve's checkpoints are the compute values at which every one of its K's has a value, in compute order; it
    needs K = 1 (the truth is its single-sample value at the last checkpoint). Raises ValueError naming the file,
    the row and the column for a missing column, a value outside [0, 1], non-positive compute, a duplicated
    (curve, checkpoint, K), a row without stderr or n, or a curve with fewer than ``min_points`` checkpoints or
    without K = 1.
    """
    path = os.fspath(path)
    if isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 3:
        raise ValueError(f"min_points must be an int >= 3, got {min_points!r}")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    if not rows:
        raise ValueError(f"{path}: no rows (a header and one row per curve, checkpoint and K)")
    value = next((c for c in _VALUE_COLS if c in cols), None)
    compute = next((c for c in _COMPUTE_COLS if c in cols), None)
    if value is None or compute is None:
        raise ValueError(f"{path}: needs a value column ({' or '.join(_VALUE_COLS)}) and a compute column (one of "
                         f"{', '.join(_COMPUTE_COLS)}); has {cols}")
    ident = [c for c in cols if c not in _KNOWN]
    stem = os.path.splitext(os.path.basename(path))[0]
    # (source, curve) -> K -> compute -> (value, stderr, stderr given)
    per: dict[tuple[str, str], dict[int, dict[float, tuple[float, float, bool]]]] = \
        defaultdict(lambda: defaultdict(dict))
    for line, r in enumerate(rows, start=2):
        where = f"{path}, line {line}"
        parts = {c: r.get(c, "") for c in ident}
        k_text = r.get("k", "")
        m = _AT_K.match(parts.get("metric", ""))
        if m:
            parts["metric"] = m.group(1)
        try:
            k = int(k_text) if k_text else int(m.group(2)) if m else 1
            v, c = float(r[value]), float(r[compute])
            se = float(r["stderr"]) if r.get("stderr") else math.nan
            n = float(r["n"]) if r.get("n") else math.nan
        except ValueError as e:
            raise ValueError(f"{where}: not a number ({e})") from None
        if k < 1:
            raise ValueError(f"{where}: k must be >= 1, got {k}")
        if not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise ValueError(f"{where}: {value} must be an accuracy in [0, 1], got {r[value]!r}")
        if not (math.isfinite(c) and c > 0):
            raise ValueError(f"{where}: {compute} must be > 0, got {r[compute]!r}")
        given = math.isfinite(se)
        if not given:
            if not (math.isfinite(n) and n >= 1):
                raise ValueError(f"{where}: needs a stderr, or n (evaluation problems, >= 1) for a binomial one")
            se = float(_binomial_se(np.array([v]), int(n))[0])
        elif se < 0:
            raise ValueError(f"{where}: stderr must be >= 0, got {se}")
        name = r.get("curve") or "/".join(parts[c] for c in ident if parts[c]) or stem
        key = (r.get("source") or stem, name)
        if c in per[key][k]:
            raise ValueError(f"{where}: curve {name!r} has two values for K = {k} at {compute} = {r[compute]}")
        per[key][k][c] = (v, se, given)
    out = []
    for (source, name), by_k in per.items():
        if 1 not in by_k:
            raise ValueError(f"{path}: curve {name!r} has no K = 1 (single-sample) values; has K = {sorted(by_k)}")
        xs = sorted(set.intersection(*(set(v) for v in by_k.values())))
        if len(xs) < min_points:
            raise ValueError(f"{path}: curve {name!r} has {len(xs)} checkpoint(s) with every K "
                             f"{sorted(by_k)}, need >= {min_points} (min_points)")
        x = np.array(xs)
        table = {k: np.array([by_k[k][c][0] for c in xs]) for k in sorted(by_k)}
        se = {k: np.array([by_k[k][c][1] for c in xs]) for k in sorted(by_k)}
        steps = (x.astype(np.int64) if compute == "step" and np.all(x == np.round(x))
                 else np.arange(1, len(xs) + 1, dtype=np.int64))
        given = all(by_k[k][c][2] for k in by_k for c in xs)
        out.append(RealCurve(source, name, x / x[-1], steps, table, se, given))
    return out


def _check() -> None:  # pragma: no cover - a quick look: python -m ttc_fast.decision_bench.real
    for c in load_real_curves():
        print(c.source, c.name, len(c.xs), c.ks, f"{c.table[1][0]:.3f} -> {c.target:.3f}",
              "se" if c.stderr_from_source else "binomial se", math.isfinite(c.target))


if __name__ == "__main__":  # pragma: no cover
    _check()
