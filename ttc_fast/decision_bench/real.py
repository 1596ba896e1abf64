"""Real learning curves (``ttc_fast/data/curves/``), replayed as precomputed accuracy tables.

Each :class:`RealCurve` is one (run, task, metric) with its checkpoints in training order: normalised compute
``xs = tokens / tokens at the last checkpoint`` (RL runs: samples seen), and the accuracy at each available K
(``{1: values}`` for single-sample metrics; ``{1: pass@1, 8: pass@8}`` for the RL pass@k curves, joined on
samples seen) with standard errors. Where the source gives no stderr, the binomial one at the task's
evaluation size is used (``TASK_SIZES``: the public test-set sizes, approximate for the f1/macro-F1 tasks where
the binomial is itself an approximation). The truth of a replayed run is the table itself: the deployed
(checkpoint, K) is compared with the published single-sample value of the last checkpoint.

Kept: accuracy-like metrics in [0, 1] (acc, acc_norm, f1, em, f1_macro, pass@k); perplexity, Pearson r and
BLEURT are left out, as are curves with fewer than ``min_points`` checkpoints (default 6) and the RL file's
pipeline rows (pretraining, SFT, RL steps: no samples seen). Every source is read by :func:`load_curve_file`.
Sources and caveats: ``ttc_fast/data/curves/README.md``.
"""
from __future__ import annotations

import csv
import math
import os
import re
import warnings
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["RealCurve", "load_real_curves", "load_curve_file", "SOURCES", "TASK_SIZES", "CURVE_FILE_COLUMNS",
           "NON_ACCURACY_METRICS"]

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
    float64 ``(C,)`` accuracies, ``stderr`` K to ``(C,)``; ``steps`` int64 ``(C,)``; ``compute`` float64
    ``(C,)`` the checkpoints' compute as the file gives it, in ``compute_column`` (its kind: flops, tokens,
    samples_seen, step or epoch, whatever the column's name; None for curves not read from a file); ``metric``
    its metric without the '@K' ('pass', 'acc')."""

    source: str
    name: str
    xs: np.ndarray
    steps: np.ndarray
    table: dict[int, np.ndarray]
    stderr: dict[int, np.ndarray]
    stderr_from_source: bool
    compute: np.ndarray | None = None
    compute_column: str = ""
    metric: str = ""          # the metric's name without its '@K' ('pass', 'acc'), where the file names one

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
        if src == "rlx":   # pass@1 joined with pass@8 on samples seen, per training split and rollouts per prompt
            curves = load_curve_file(path, min_points=min_points, source=src, key=("train_split", "n_rollouts",
                                                                                   "metric"), warn=False)
        else:
            curves = load_curve_file(path, min_points=min_points, source=src, key=("model", "task", "metric"),
                                     metrics=_METRICS | ({"pass@1"} if src == "tinyllama" else set()),
                                     default_n=1000, warn=False)
        out.extend(sorted(curves, key=lambda c: c.name.split("/")))
    return out


# ---- your own curves: one CSV, one row per (curve, checkpoint, K), or per (curve, checkpoint) wide -------------
_VALUE_COLS = ("value", "accuracy")
# the compute axis: the first kind with a column present, under its own name or one that trainers log it as
# (Hugging Face's Trainer, Megatron, wandb); the curve's compute_column is the kind
_COMPUTE_ALIASES = {
    "flops": ("flops", "train_flops"),
    "tokens": ("tokens", "train_tokens", "tokens_seen", "num_input_tokens_seen"),
    "samples_seen": ("samples_seen", "consumed_samples"),
    "step": ("step", "global_step", "trainer/global_step", "iteration"),
    "epoch": ("epoch",),
}
CURVE_FILE_COLUMNS = {
    "value": "accuracy in [0, 1] (or the column 'accuracy'; a percentage is refused, not rescaled)",
    "flops | tokens | samples_seen | step | epoch":
        "training compute of the checkpoint (the first of these present is used; normalised by the curve's "
        "last checkpoint; also read under the names trainers log: "
        + "; ".join(f"{k}: {', '.join(v[1:])}" for k, v in _COMPUTE_ALIASES.items() if len(v) > 1) + ")",
    "k": "samples per query of the value (optional: else the K of a metric named like 'pass@8' or 'pass_at_8', "
         "else 1)",
    "stderr": "standard error of the value (optional: else the binomial one at 'n', or at the size of a "
              "known 'task' (TASK_SIZES))",
    "n": "evaluation problems, for a binomial stderr where 'stderr' is empty",
    "source": "group name in the tables (optional: else the file's name)",
    "curve": "curve id (optional: else every other column joined, a metric's '@K' left out; columns named "
             "'source_*' are provenance, and numeric columns rising with the compute within every curve are "
             "progress, not identity)",
}
_ALL_COMPUTE = tuple(a for names in _COMPUTE_ALIASES.values() for a in names)
_KNOWN = {"value", "accuracy", "k", "stderr", "n", "source", "curve", *_ALL_COMPUTE}
_AT_K = re.compile(r"^(.*?)(?:@|_at_)(\d+)$")     # 'pass@8', 'maj_at_16': the metric and its K
# metrics that are not accuracies (a curve of one is skipped unless ``metrics`` names it)
NON_ACCURACY_METRICS = frozenset({"ppl", "perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte",
                                  "loss", "pearson", "spearman", "mcc", "bleu", "bleurt", "rouge", "chrf", "ter"})


def load_curve_file(path: str | os.PathLike, *, min_points: int = 6, metrics: Collection[str] | None = None,
                    key: Sequence[str] | None = None, source: str | None = None, default_n: int | None = None,
                    compute: str | None = None, warn: bool = True) -> list[RealCurve]:
    """Learning curves of your own runs from one long-format CSV (columns: :data:`CURVE_FILE_COLUMNS`), to replay
    in the benchmark (``ttc-fast bench-decision --curves PATH``) exactly as the bundled real curves are; the
    files of ``ttc_fast/data/curves`` (model, task, n_shot, step, tokens, metric, value, stderr) read as they are.
    A file without a value column is read wide: one row per checkpoint, a column per metric (named with its K,
    'pass@8' or 'pass_at_8', or one of acc, acc_norm, f1, em, f1_macro), its stderr in '<metric>_stderr' or
    '<metric>_se' (or 'stderr' beside a single metric column). lm-eval's names read as they are: a filter suffix
    ('acc,none', 'exact_match,strict-match') is part of the metric, and a metric's standard error given as
    rows or columns of its own ('acc_stderr,none') is that metric's stderr.

    A curve is identified by the ``curve`` column, else by the ``key`` columns (default: every column that is
    not a value, compute, K, stderr, n, source or ``source_*`` column, nor a second progress column: numeric, one
    value per checkpoint and strictly rising with the compute within every curve, like an RL step next to the
    samples seen; said in the warning). Its checkpoints are the compute values at
    which every one of its K's has a value, in compute order; it needs K = 1 (the truth is its single-sample
    value at the last checkpoint). Where a row gives no stderr, the binomial one at its ``n``, else at the size
    of its ``task`` in :data:`TASK_SIZES`, else at ``default_n``.

    ``compute`` names the compute column where it has another name ('tokens_B': the replay needs only its
    ratios; ``compute_column`` is then that name, unless it is one of the names above).

    Skipped, and listed in one warning (``warn``): rows with an empty value or compute; rows whose metric is not
    in ``metrics`` (when given; a metric is matched as written, 'pass@8', or without its '@K', 'pass'); curves of
    a metric in :data:`NON_ACCURACY_METRICS` (unless ``metrics`` names it) or, when the file has a ``metric``
    column, with a value outside [0, 1] (another metric's scale); curves with fewer than ``min_points``
    checkpoints or without K = 1; repeats of a (curve, checkpoint, K) row with the same value.

    Raises ValueError naming the file, the row and the column for a missing column, a number that does not
    parse, a value outside [0, 1] in a file without a ``metric`` column, non-positive compute, two values for
    one (curve, checkpoint, K), a row without any stderr, or a file in which no curve is left.
    """
    path = os.fspath(path)
    if isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 1:
        raise ValueError(f"min_points must be an int >= 1, got {min_points!r}")
    if default_n is not None and (isinstance(default_n, bool) or not isinstance(default_n, int) or default_n < 1):
        raise ValueError(f"default_n must be None or an int >= 1, got {default_n!r}")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        rows = [{k.strip(): (v or "").strip() for k, v in r.items() if k is not None} for r in reader]
    if not rows:
        raise ValueError(f"{path}: no rows (a header and one row per curve, checkpoint and K)")
    lines = list(range(2, len(rows) + 2))             # the file's line of each row
    value = next((c for c in _VALUE_COLS if c in cols), None)
    if compute is not None:     # named by the caller: any column ('tokens_B'); its kind where it is an alias
        if compute not in cols:
            raise ValueError(f"{path}: compute column {compute!r} not in the file; has {cols}")
        kind = next((k for k, names in _COMPUTE_ALIASES.items() if compute in names), compute)
    else:
        kind, compute = next(((k, a) for k, names in _COMPUTE_ALIASES.items() for a in names if a in cols),
                             ("", None))
    if value is None and compute is not None and any(_is_metric_column(c) for c in cols):
        cols, rows, lines = _melt(path, cols, rows)
        value = "value"
    if value is None or compute is None:
        raise ValueError(f"{path}: needs a value column ({' or '.join(_VALUE_COLS)}) or metric columns ('pass@8', "
                         f"'acc', ...; one row per checkpoint) and a compute column (one of "
                         f"{', '.join(_ALL_COMPUTE)}); has {cols}")
    ident = ([c for c in cols if c not in _KNOWN and c != compute and not c.startswith("source_")] if key is None
             else list(key))
    missing = [c for c in ident if c not in cols]
    if missing:
        raise ValueError(f"{path}: key column(s) {missing} not in the file; has {cols}")
    progress = _progress_columns(rows, ident, value, compute) if key is None else []
    ident = [c for c in ident if c not in progress]
    stem = os.path.splitext(os.path.basename(path))[0]
    has_metric = "metric" in cols
    skipped: dict[str, int] = defaultdict(int)
    # (source, curve) -> K -> compute -> (value, stderr (nan: none given), problems of a binomial one, line)
    per: dict[tuple[str, str], dict[int, dict[float, tuple[float, float, float, int]]]] = \
        defaultdict(lambda: defaultdict(dict))
    metric_of: dict[tuple[str, str], str] = {}
    wanted = None if metrics is None else set(metrics)
    # rows of a metric's standard error ('acc_stderr', lm-eval's 'acc_stderr,none'): the stderr of the metric's
    # row with the same ids and compute, not a curve of their own
    others = [c for c in ident if c != "metric"]
    se_rows: dict[tuple, str] = {}
    for r in rows:
        of = _stderr_of(r.get("metric", ""))
        if of is not None:
            se_rows[(tuple(r.get(c, "") for c in others), of, r.get(compute, ""), r.get("k", ""))] = r.get(value, "")
    used: set[tuple] = set()
    for line, r in zip(lines, rows):
        where = f"{path}, line {line}"
        metric = r.get("metric", "")
        if _stderr_of(metric) is not None:
            continue
        k_text = r.get("k", "")
        se_key = (tuple(r.get(c, "") for c in others), metric, r.get(compute, ""), k_text)
        used.add(se_key)
        if not r.get(value) or not r.get(compute):
            skipped[f"rows without a {value if not r.get(value) else compute}"] += 1
            continue
        parts = {c: r.get(c, "") for c in ident}
        base, sep, filt = metric.partition(",")     # lm-eval's 'acc,none', 'exact_match,strict-match'
        m = _AT_K.match(base)
        if wanted is not None and not {metric, base, m.group(1) if m else base} & wanted:
            skipped[f"rows of metric {metric!r}"] += 1
            continue
        if m and "metric" in parts:
            parts["metric"] = m.group(1) + sep + filt
        se_text = r.get("stderr") or se_rows.get(se_key, "")
        try:
            k = int(k_text) if k_text else int(m.group(2)) if m else 1
            v, c = float(r[value]), float(r[compute])
            se = float(se_text) if se_text else math.nan
            n = float(r["n"]) if r.get("n") else math.nan
        except ValueError as e:
            raise ValueError(f"{where}: not a number ({e})") from None
        if k < 1:
            raise ValueError(f"{where}: k must be >= 1, got {k}")
        if not math.isfinite(v) or (not has_metric and not 0.0 <= v <= 1.0):
            raise ValueError(f"{where}: {value} must be an accuracy in [0, 1], got {r[value]!r}"
                             + (" (a percentage? give it as a fraction)" if 1.0 < v <= 100.0 else ""))
        if not (math.isfinite(c) and c > 0):
            raise ValueError(f"{where}: {compute} must be > 0, got {r[compute]!r}")
        if se < 0:
            raise ValueError(f"{where}: stderr must be >= 0, got {se}")
        size = n if math.isfinite(n) else TASK_SIZES.get(r.get("task", ""), default_n or math.nan)
        name = r.get("curve") or "/".join(parts[c] for c in ident if parts[c]) or stem
        ck = (source or r.get("source") or stem, name)
        if c in per[ck][k]:
            first = per[ck][k][c]
            if first[0] != v:
                raise ValueError(f"{where}: curve {name!r} has two values for K = {k} at {compute} = {r[compute]} "
                                 f"({first[0]} on line {first[3]}, {v}); a column telling the runs apart is missing")
            skipped["repeated rows"] += 1
            continue
        per[ck][k][c] = (v, se, size, line)
        metric_of[ck] = parts.get("metric", metric)
    out = []
    row_at = dict(zip(lines, rows))
    for (src, name), by_k in per.items():
        values = [t for kv in by_k.values() for t in kv.values()]
        bare = _strip_k(metric_of[(src, name)].partition(",")[0])
        if bare in NON_ACCURACY_METRICS and not (wanted and {metric_of[(src, name)], bare} & wanted):
            skipped["curves of a metric that is not an accuracy"] += 1
            continue
        if any(not 0.0 <= t[0] <= 1.0 for t in values):
            percent = all(0.0 <= t[0] <= 100.0 for t in values)
            skipped["curves with values outside [0, 1] (" + ("percentages? give accuracies as fractions"
                                                             if percent else "not an accuracy") + ")"] += 1
            continue
        if 1 not in by_k:
            skipped["curves without K = 1 (single-sample) values"] += 1
            continue
        xs = sorted(set.intersection(*(set(v) for v in by_k.values())))
        if len(xs) < min_points:
            skipped[f"curves with fewer than {min_points} checkpoints (min_points)"] += 1
            continue
        x = np.array(xs)
        table = {k: np.array([by_k[k][c][0] for c in xs]) for k in sorted(by_k)}
        se = {}
        for k in sorted(by_k):   # a missing stderr, checked only on curves kept: the binomial one at its size
            se[k] = np.empty(len(xs))
            for i, (v, s_i, size, line) in enumerate(by_k[k][c] for c in xs):
                if math.isfinite(s_i):
                    se[k][i] = s_i
                elif math.isfinite(size) and size >= 1:
                    se[k][i] = _binomial_se(np.array([v]), int(size))[0]
                else:
                    raise ValueError(f"{path}, line {line}: needs a stderr, or n (evaluation problems, >= 1) for a "
                                     f"binomial one (or a task of TASK_SIZES, or default_n: the CLI's "
                                     f"--default-n)")
        at = [row_at[by_k[1][c][3]] for c in xs]       # the step column of the K = 1 rows, else 1, 2, ...
        step_col = next((a for a in _COMPUTE_ALIASES["step"] if a in cols), "")
        steps = (x.astype(np.int64) if kind == "step" and np.all(x == np.round(x))
                 else np.array([int(float(r.get(step_col) or i + 1)) for i, r in enumerate(at)], dtype=np.int64))
        given = all(math.isfinite(by_k[k][c][1]) for k in by_k for c in xs)
        out.append(RealCurve(src, name, x / x[-1], steps, table, se, given, x, kind, metric_of[(src, name)]))
    lone = len(set(se_rows) - used)
    if lone:
        skipped["standard-error rows without their metric's row"] += lone
    what = ", ".join(f"{n} {why}" for why, n in skipped.items())
    if progress and warn:
        warnings.warn(f"{path}: read {progress} as training progress (rising with {compute} within every curve), "
                      f"not as part of a curve's id; pass key= (or a 'curve' column) to say otherwise",
                      UserWarning, stacklevel=2)
    if not out:
        raise ValueError(f"{path}: no curve left to replay (skipped: {what or 'nothing'}); a curve needs K = 1 and "
                         f">= {min_points} checkpoints, identified by the 'curve' column or by {ident}")
    if skipped and warn:
        warnings.warn(f"{path}: skipped {what}", UserWarning, stacklevel=2)
    return out


def _melt(path: str, cols: list[str], rows: list[dict[str, str]]) -> tuple[list[str], list[dict[str, str]],
                                                                          list[int]]:
    """A wide file (one row per checkpoint, a column per metric: 'pass@1', 'pass@8', 'acc', with its standard
    error in '<metric>_stderr' or '<metric>_se' where given) as long rows: (columns, rows, each row's line)."""
    wide = [c for c in cols if _is_metric_column(c)]
    if "metric" in cols:
        raise ValueError(f"{path}: metric columns {wide} and a 'metric' column without a 'value' column; give a "
                         f"value column (one row per metric) or the metrics as columns, not both")
    ses = {m: next((se for se in _stderr_names(m) if se in cols), None) for m in wide}
    if "stderr" in cols:            # one metric column: its stderr; more: whose?
        if len(wide) > 1 or ses[wide[0]]:
            raise ValueError(f"{path}: a 'stderr' column next to metric columns {wide}: name each metric's "
                             f"standard error '<metric>_stderr' (e.g. '{wide[0]}_stderr')")
        ses[wide[0]] = "stderr"
    rest = [c for c in cols if c not in wide and c not in ses.values()]
    long_rows, lines = [], []
    for line, r in enumerate(rows, start=2):
        for m in wide:
            se = ses[m]
            long_rows.append({**{c: r[c] for c in rest if c in r}, "metric": m, "value": r.get(m, ""),
                              "stderr": r.get(se, "") if se else ""})
            lines.append(line)
    return rest + ["metric", "value", "stderr"], long_rows, lines


def _strip_k(metric: str) -> str:
    base, sep, filt = metric.partition(",")
    m = _AT_K.match(base)
    return (m.group(1) if m else base) + sep + filt


def _stderr_of(metric: str) -> str | None:
    """The metric whose standard error a metric named like 'acc_stderr' or 'acc_stderr,none' (lm-eval) is."""
    base, sep, filt = metric.partition(",")
    return base[:-len("_stderr")] + sep + filt if base.endswith("_stderr") and len(base) > 7 else None


def _stderr_names(metric: str) -> tuple[str, ...]:
    """The columns a wide file may give ``metric``'s standard error in: 'pass@8_stderr', 'pass@8_se', and for
    lm-eval's 'acc,none' also 'acc_stderr,none'."""
    base, sep, filt = metric.partition(",")
    return (metric + "_stderr", metric + "_se") + ((base + "_stderr" + sep + filt,) if sep else ())


def _is_metric_column(col: str) -> bool:
    """A wide file's metric column: named with its K ('pass@8', 'maj_at_16') or an accuracy metric ('acc'),
    lm-eval's filter suffix allowed ('acc,none')."""
    base = col.partition(",")[0]
    return bool(_AT_K.match(base)) or base in _METRICS


def _progress_columns(rows: list[dict[str, str]], ident: list[str], value: str, compute: str) -> list[str]:
    """The id columns that count training progress (an RL step, rollouts seen): numeric, given on every row of a
    curve, one value per checkpoint and strictly rising with the compute axis within every curve the other id
    columns define. Kept as ids they would split each curve into one-point curves. Found one at a time, each
    tested with the ones found before already left out."""
    def num(text: str) -> float | None:
        try:
            x = float(text)
        except ValueError:
            return None
        return x if math.isfinite(x) else None

    usable = []
    for r in rows:
        c = num(r.get(compute, "")) if r.get(value) else None
        if c is not None:
            usable.append((c, r))
    found: list[str] = []
    for col in (c for c in ident if c != "metric"):
        others = [o for o in ident if o != col and o not in found]
        per: dict[tuple[str, ...], dict[float, float]] = defaultdict(dict)
        ok = True
        for c, r in usable:
            x = num(r.get(col, ""))
            g = tuple(_strip_k(r.get(o, "")) if o == "metric" else r.get(o, "") for o in others)
            if x is None or per[g].setdefault(c, x) != x:
                ok = False      # empty, not a number, or two values at one checkpoint: an id
                break
        if not ok:
            continue
        rising = [np.diff([m[c] for c in sorted(m)]) for m in per.values()]
        if all(np.all(d > 0) for d in rising) and any(d.size for d in rising):
            found.append(col)
    return found


def _check() -> None:  # pragma: no cover - a quick look: python -m ttc_fast.decision_bench.real
    for c in load_real_curves():
        print(c.source, c.name, len(c.xs), c.ks, f"{c.table[1][0]:.3f} -> {c.target:.3f}",
              "se" if c.stderr_from_source else "binomial se", math.isfinite(c.target))


if __name__ == "__main__":  # pragma: no cover
    _check()
