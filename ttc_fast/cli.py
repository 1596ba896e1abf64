"""The ``ttc-fast`` command line: one argparse program, one subcommand per task.

Each subcommand is a pair ``_add_<cmd>_parser(sub)`` / ``_cmd_<cmd>(args) -> int``; heavy imports (torch)
happen inside the ``_cmd_*`` functions so ``ttc-fast --help`` stays fast.
"""
from __future__ import annotations

import argparse
import sys


def _positive_ints(text: str) -> list[int]:
    """Parses "1,2,4,8" into [1, 2, 4, 8]."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


# subcommand registrations, in the order `ttc-fast --help` lists them
_PARSERS: list = []


# ---- estimate ----------------------------------------------------------------------------------------------

_METRICS = {"pass": "pass@k", "maj": "maj@k", "bok": "best-of-k", "wmaj": "weighted maj@k"}


def _add_estimate_parser(sub) -> None:
    p = sub.add_parser(
        "estimate", help="exact pass@k / maj@k / best-of-k curves from a JSONL file of graded samples",
        description="One JSON object per line: problem_id, answer (string or null), correct (bool), optional "
                    "score (float; needed for bok and wmaj). Prints k, mean and standard error over problems.")
    p.add_argument("samples", nargs="?", help="SAMPLES.jsonl (omit with --example)")
    p.add_argument("--metric", choices=sorted(_METRICS), default="maj", help="estimator (default: maj)")
    p.add_argument("--ks", type=_positive_ints, default=None,
                   help="comma-separated k values (default: powers of two up to the smallest n, and n)")
    p.add_argument("--tie", choices=["random", "strict", "optimistic"], default="random", help="maj tie rule")
    p.add_argument("--abstain", choices=["exclude", "vote"], default="exclude", help="maj abstention rule")
    p.add_argument("--draws", type=int, default=1000, help="Monte Carlo draws per problem and k (wmaj)")
    p.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (wmaj)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--plot", metavar="FILE.png", help="also draw the curve with error bars")
    p.add_argument("--example", action="store_true", help="use the example file shipped with the package")
    p.set_defaults(func=_cmd_estimate)


def _read_samples(path) -> dict:
    """problem_id -> lists of answers / correct / scores, in file order."""
    import json

    problems: dict = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                pid, answer, correct = rec["problem_id"], rec["answer"], rec["correct"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ValueError(f"{path}:{lineno}: expected a JSON object with problem_id, answer, correct "
                                 f"({err})") from None
            if not isinstance(correct, bool):
                raise ValueError(f"{path}:{lineno}: correct must be true/false, got {correct!r}")
            prob = problems.setdefault(str(pid), {"answers": [], "correct": [], "scores": []})
            prob["answers"].append(None if answer is None else str(answer))
            prob["correct"].append(correct)
            prob["scores"].append(rec.get("score"))
    if not problems:
        raise ValueError(f"{path}: no samples")
    return problems


def _cmd_estimate(args) -> int:
    import json

    import numpy as np

    from ttc_fast import estimators as est
    from ttc_fast._table import format_table

    if args.example:
        from importlib import resources
        path = resources.files("ttc_fast") / "data" / "example_samples.jsonl"
    elif args.samples:
        path = args.samples
    else:
        raise ValueError("give SAMPLES.jsonl or --example")
    problems = _read_samples(path)
    rows = list(problems.values())
    P, N = len(rows), max(len(r["answers"]) for r in rows)
    n_min = min(len(r["answers"]) for r in rows)
    ks = args.ks
    if ks is None:
        ks = sorted({2 ** i for i in range(n_min.bit_length()) if 2 ** i <= n_min} | {n_min})
    correct = np.zeros((P, N), dtype=bool)
    for p, r in enumerate(rows):
        correct[p, :len(r["correct"])] = r["correct"]
    if args.metric == "pass":
        res = est.pass_at_k([len(r["answers"]) for r in rows], correct.sum(axis=1), ks)
    elif args.metric == "maj":
        res = est.maj_at_k([r["answers"] for r in rows], correct, ks, tie=args.tie, abstain=args.abstain)
    else:
        scores = np.full((P, N), np.nan)
        for p, r in enumerate(rows):
            if any(s is None for s in r["scores"]):
                raise ValueError(f"--metric {args.metric} needs a score on every sample (problem {list(problems)[p]})")
            scores[p, :len(r["scores"])] = r["scores"]
        if args.metric == "bok":
            res = est.best_of_k(scores, correct, ks)
        else:
            answers = est.cluster_answers([r["answers"] for r in rows])
            res = est.weighted_maj_at_k(answers, np.nan_to_num(scores), correct, ks, draws=args.draws,
                                        seed=args.seed)
    if args.json:
        out = {"metric": res.metric, "num_problems": res.num_problems, "ks": res.ks.tolist(),
               "mean": res.mean.tolist(), "stderr": res.stderr.tolist()}
        if res.mc_stderr is not None:
            out["mc_stderr"] = res.mc_stderr.tolist()
        print(json.dumps(out))
    else:
        headers = ["k", _METRICS[args.metric], "stderr"] + (["mc_stderr"] if res.mc_stderr is not None else [])
        table = [[int(k), f"{m:.4f}", f"{s:.4f}"] + ([f"{res.mc_stderr[j]:.4f}"] if res.mc_stderr is not None
                                                     else []) for j, (k, m, s) in enumerate(res.as_rows())]
        print(f"{_METRICS[args.metric]} over {res.num_problems} problems ({path})")
        print(format_table(headers, table))
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.errorbar(res.ks, res.mean, yerr=res.stderr, marker="o", capsize=3)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k (samples)")
        ax.set_ylabel(_METRICS[args.metric])
        ax.set_title(f"{_METRICS[args.metric]}, {res.num_problems} problems (±1 s.e.)")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        plt.close(fig)
    return 0


_PARSERS.append(_add_estimate_parser)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ttc-fast",
        description="Test-time-compute-aware early stopping: estimators, FLOPs, selection, sampling.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _PARSERS:
        add(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"ttc-fast {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
