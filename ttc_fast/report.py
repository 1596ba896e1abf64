"""Report of a selector run: a markdown summary and matplotlib figures (Agg backend, PNG files).

Every function takes the selector's history (``TTCEarlyStopping.history`` or the selector itself) and the
:class:`~ttc_fast.selector.Decision`, so offline (``ttc-fast select --report``) and online users (the demo)
share them. Units: training FLOPs on x axes (multiply-add = 2 FLOPs), accuracies in percent in the figures.

Files written by :func:`write_report`: ``summary.md``, ``decision.json`` (the decision's fields, exact),
``accuracy_vs_flops.png``, ``ttc_curve.png``, ``break_even.png``.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ttc_fast.selector import Decision, HistoryEntry, saturation
from ttc_fast.selector.types import format_acc, format_pct

__all__ = ["write_report", "markdown_summary", "plot_accuracy_vs_flops", "plot_ttc_curve", "plot_break_even",
           "break_even_series"]


def _history(history: Any) -> list[HistoryEntry]:
    h = getattr(history, "history", history)
    if not isinstance(h, Sequence) or not all(isinstance(e, HistoryEntry) for e in h):
        raise TypeError("history must be a TTCEarlyStopping or its .history (a list of HistoryEntry)")
    return list(h)


def _pyplot():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _entry_of(history: list[HistoryEntry], decision: Decision) -> HistoryEntry | None:
    for e in history:
        if e.step == decision.step:
            return e
    return None


def _save(plt: Any, fig: Any, ax: Any, path: str | os.PathLike, legend_loc: str) -> Path:
    """Grid, legend, tight layout; writes the PNG (120 dpi) and closes the figure."""
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc=legend_loc)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _default_ks(history: list[HistoryEntry]) -> list[int]:
    avail = sorted({int(k) for e in history for k in e.ks})
    pick = [k for k in avail if k & (k - 1) == 0]  # powers of two
    return (pick or avail)[:6]


def plot_accuracy_vs_flops(history: Any, decision: Decision, path: str | os.PathLike,
                           ks: Sequence[int] | None = None) -> Path:
    """Accuracy at several K against training FLOPs, the projection (its mean curve, the projected accuracy at
    the budget and its upper bound), the chosen point."""
    hist = _history(history)
    plt = _pyplot()
    ks = list(ks) if ks is not None else _default_ks(hist)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k in ks:
        xs = [e.train_flops for e in hist if k in e.ks]
        ys = [100 * e.curve[list(e.ks).index(k)] for e in hist if k in e.ks]
        if xs:
            ax.plot(xs, ys, marker="o", ms=3, lw=1.2, label=f"{decision.strategy}@{k}")
    x1 = [e.train_flops for e in hist if math.isfinite(e.acc1)]
    y1 = [100 * e.acc1 for e in hist if math.isfinite(e.acc1)]
    kept = [e for e in hist if e.kept]
    if not any(1 in e.ks for e in hist) and x1:
        ax.plot(x1, y1, marker="o", ms=3, lw=1.2, label="single sample")
    entry = _entry_of(hist, decision)
    budget = decision.budget_flops
    if decision.method == "sigmoid" and kept:
        ax.scatter([e.train_flops for e in kept], [100 * e.acc1 for e in kept], s=30, facecolors="none",
                   edgecolors="k", lw=0.8, label="kept by monotone filter", zorder=3)
    if entry is not None and math.isfinite(budget):
        upto = next(i for i, e in enumerate(hist) if e is entry)
        used = [e for e in hist[:upto + 1] if e.kept and e.train_flops > 0]
        x0 = used[0].train_flops if used else 0.0
        xx = np.linspace(max(x0, 1e-9 * budget), budget, 200)
        if entry.projection is not None:
            ax.plot(xx, 100 * entry.projection.curve(xx / budget), "k--", lw=1,
                    label="projection (model average)")
        elif entry.fit is not None:
            ax.plot(xx, 100 * saturation(xx / budget, *entry.fit), "k--", lw=1, label="saturation fit")
    if math.isfinite(decision.projected_accuracy):
        ax.axhline(100 * decision.projected_accuracy, color="r", ls=":", lw=1.2,
                   label=f"projected at budget {100 * decision.projected_accuracy:.1f}%")
    if math.isfinite(decision.projected_upper):
        ax.axhline(100 * decision.projected_upper, color="r", ls="--", lw=0.8,
                   label=f"upper bound {100 * decision.projected_upper:.1f}%")
    if math.isfinite(budget):
        ax.axvline(budget, color="grey", ls="-.", lw=0.8, label="budget")
    if decision.k is not None and math.isfinite(decision.accuracy):
        ax.scatter([decision.train_flops], [100 * decision.accuracy], marker="*", s=220, color="gold",
                   edgecolors="k", zorder=5, label=f"chosen: step {decision.step}, K={decision.k}")
    ax.set_xlabel("training FLOPs")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Accuracy vs training compute")
    return _save(plt, fig, ax, path, legend_loc="lower right")


def plot_ttc_curve(history: Any, decision: Decision, path: str | os.PathLike) -> Path:
    """The TTC curve (accuracy vs K, ±1 stderr error bars) of the chosen checkpoint, target line and K*."""
    hist = _history(history)
    plt = _pyplot()
    entry = _entry_of(hist, decision)
    fig, ax = plt.subplots(figsize=(6, 4))
    if entry is not None and entry.ks.size:
        ax.errorbar(entry.ks, 100 * entry.curve, yerr=100 * entry.curve_stderr, marker="o", ms=3, capsize=2,
                    lw=1.2, label=f"{decision.strategy}@K (step {entry.step})")
        if entry.sigmoid_fit is not None:
            kk = np.linspace(1, max(8, (decision.k or 1) * 1.5), 200)
            from ttc_fast.selector.paper import sigmoid
            ax.plot(kk, 100 * sigmoid(kk, *entry.sigmoid_fit), "k--", lw=1, label="sigmoid fit")
    if math.isfinite(decision.projected_accuracy):
        ax.axhline(100 * decision.projected_accuracy, color="r", ls=":", lw=1.2, label="projected target")
    if decision.k is not None and math.isfinite(decision.accuracy):
        se = decision.accuracy_stderr if math.isfinite(decision.accuracy_stderr) else 0.0
        ax.errorbar([decision.k], [100 * decision.accuracy], yerr=[100 * se], marker="*", ms=14, color="gold",
                    mec="k", ls="none", zorder=5, label=f"K* = {decision.k}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("K (samples per query)")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Test-time-compute curve of the chosen checkpoint")
    return _save(plt, fig, ax, path, legend_loc="lower right")


def break_even_series(decision: Decision, num: int = 101, max_queries: float | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(queries, saved FLOPs, net saved FLOPs) after serving that many queries with K* samples instead of 1."""
    extra = decision.extra_inference_flops_per_query
    q_star = decision.break_even_queries
    if max_queries is None:
        max_queries = 2 * q_star if math.isfinite(q_star) and q_star > 0 else 1e9
    q = np.linspace(0.0, float(max_queries), num)
    cost = q * (extra if math.isfinite(extra) else 0.0)
    return q, decision.flops_saved_abs - cost, decision.net_flops_saved_abs - cost


def plot_break_even(decision: Decision, path: str | os.PathLike, max_queries: float | None = None) -> Path:
    """Net training FLOPs saved vs queries served (K* samples each); zero crossings are the break-even points."""
    plt = _pyplot()
    q, saved, net = break_even_series(decision, max_queries=max_queries)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(q, saved, lw=1.5, label="training FLOPs saved - extra inference")
    ax.plot(q, net, lw=1.5, ls="--", label="same, net of evaluation FLOPs")
    ax.axhline(0.0, color="k", lw=0.8)
    for value, name, dy in ((decision.break_even_queries, "Q*", 6), (decision.net_break_even_queries, "net Q*", -12)):
        if math.isfinite(value) and value <= q[-1]:
            ax.axvline(value, color="grey", ls=":", lw=1)
            ax.annotate(f"{name} = {value:.3g}", (value, 0), textcoords="offset points", xytext=(4, dy), fontsize=7)
    if not math.isfinite(decision.extra_inference_flops_per_query):
        ax.set_title("Break-even (no inference cost given: extra cost not charged)")
    else:
        ax.set_title(f"Break-even: K = {decision.k}, {decision.extra_inference_flops_per_query:.3g} extra "
                     f"FLOPs/query")
    ax.set_xlabel("queries served")
    ax.set_ylabel("FLOPs saved")
    return _save(plt, fig, ax, path, legend_loc="best")


def markdown_summary(history: Any, decision: Decision, figures: dict[str, str] | None = None,
                     title: str = "TTC-aware early stopping") -> str:
    """Markdown: the decision, a table of every evaluation, and links to the figures (relative paths)."""
    hist = _history(history)
    d = decision
    lines = [f"# {title}", "",
             f"**Decision: {'stop' if d.should_stop else 'no stop'}** at step {d.step} "
             f"({d.train_flops:.3e} of {d.budget_flops:.3e} training FLOPs); deploy with "
             f"**K = {d.k if d.k is not None else 'none'}** ({d.strategy}@K, method {d.method}).", "",
             "| quantity | value |", "|---|---|",
             f"| checkpoint step | {d.step} |",
             f"| training FLOPs | {d.train_flops:.4e} |",
             f"| K* | {d.k if d.k is not None else 'none'} |",
             f"| accuracy at K* | {format_acc(d.accuracy, d.accuracy_stderr)} |",
             f"| single-sample accuracy | {format_acc(d.accuracy_k1, math.nan)} |",
             f"| projected accuracy at budget | {format_acc(d.projected_accuracy, d.projected_stderr)} |",
             f"| upper bound used by the rule | {format_pct(d.projected_upper)} |",
             f"| P(deployed at least as accurate as the full run) | "
             f"{'n/a' if not math.isfinite(d.probability) else f'{d.probability:.4f}'} |",
             f"| training FLOPs saved | {format_pct(d.flops_saved)} ({d.flops_saved_abs:.4e}) |",
             f"| evaluation FLOPs | {d.eval_flops:.4e} |",
             f"| net FLOPs saved | {format_pct(d.net_flops_saved)} ({d.net_flops_saved_abs:.4e}) |",
             f"| extra inference FLOPs per query | {d.extra_inference_flops_per_query:.4e} |",
             f"| break-even queries | {d.break_even_queries:.4e} (net {d.net_break_even_queries:.4e}) |",
             f"| consecutive qualifying evaluations | {d.patience_count} |",
             "", f"Reason: {d.reason}", "",
             "FLOPs: one multiply-add = 2 FLOPs. Accuracies: mean over problems ± standard error over problems.",
             "", "## Evaluations", "",
             "| step | training FLOPs | single-sample | kept | fitted points | projected | upper bound | K* | "
             "accuracy at K* | P | qualifies | count |",
             "|---:|---:|---:|:-:|---:|---:|---:|---:|---:|---:|:-:|---:|"]
    for e in hist:
        ed = e.decision
        if ed is None:
            continue
        lines.append(f"| {e.step} | {e.train_flops:.3e} | {format_acc(e.acc1, e.acc1_stderr)} | "
                     f"{'y' if e.kept else ''} | "
                     f"{e.fit_points or ''} | {format_acc(ed.projected_accuracy, ed.projected_stderr)} | "
                     f"{format_pct(ed.projected_upper) if math.isfinite(ed.projected_upper) else ''} | "
                     f"{ed.k if ed.k is not None else ''} | "
                     f"{format_acc(ed.accuracy, ed.accuracy_stderr) if ed.k is not None else ''} | "
                     f"{f'{ed.probability:.3f}' if math.isfinite(ed.probability) else ''} | "
                     f"{'y' if ed.qualifies else ''} | {ed.patience_count} |")
    if figures:
        lines += ["", "## Figures", ""]
        for name, rel in figures.items():
            lines += [f"![{name}]({rel})", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(history: Any, decision: Decision, out_dir: str | os.PathLike,
                 ks: Sequence[int] | None = None, title: str = "TTC-aware early stopping") -> dict[str, Path]:
    """Writes summary.md, decision.json and the three figures into ``out_dir`` (created with its parents; in an
    existing directory these five files are overwritten, nothing else is touched); returns the paths.
    ValueError when ``out_dir`` or one of its parents is an existing file."""
    hist = _history(history)
    out = Path(out_dir)
    for p in (out, *out.parents):
        if p.exists() and not p.is_dir():
            raise ValueError(f"report directory {str(out)!r}: {str(p)!r} is an existing file, not a directory "
                             f"(give a directory path: the report is five files)")
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "accuracy_vs_flops": plot_accuracy_vs_flops(hist, decision, out / "accuracy_vs_flops.png", ks=ks),
        "ttc_curve": plot_ttc_curve(hist, decision, out / "ttc_curve.png"),
        "break_even": plot_break_even(decision, out / "break_even.png"),
    }
    md = markdown_summary(hist, decision, {k: p.name for k, p in paths.items()}, title=title)
    (out / "summary.md").write_text(md, encoding="utf-8")
    (out / "decision.json").write_text(json.dumps(decision.to_dict(), indent=2) + "\n", encoding="utf-8")
    paths["summary"] = out / "summary.md"
    paths["decision"] = out / "decision.json"
    return paths
