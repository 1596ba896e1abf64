"""The ``ttc-fast`` command line: one argparse program, one subcommand per task.

Each subcommand is a pair ``_add_<cmd>_parser(sub)`` / ``_cmd_<cmd>(args) -> int``; heavy imports (torch)
happen inside the ``_cmd_*`` functions so ``ttc-fast --help`` stays fast.
"""
from __future__ import annotations

import argparse
import os
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


# ---- flops / breakeven (ttc_fast/flops.py) ---------------------------------------------------------
def _floats(text: str) -> list[float]:
    """Parses "1e12,2e12" into [1e12, 2e12] (non-negative numbers)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or any(not v >= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected non-negative numbers, got {text!r}")
    return values


def _add_model_args(p: argparse.ArgumentParser, required: bool) -> None:
    from_ = p.add_mutually_exclusive_group(required=required)
    from_.add_argument("--config", help="Hugging Face config.json (file or model directory)")
    from ttc_fast.checkpoint import PRESETS
    from_.add_argument("--shape", choices=list(PRESETS), help="built-in architecture preset")
    p.add_argument("--convention", default="kaplan",
                   choices=["kaplan", "palm", "chinchilla", "megatron", "matmul"],
                   help="FLOP convention (default kaplan: 6N per training token, 2N per inference token + attention)")
    p.add_argument("--seq-len", type=int, default=None,
                   help="training sequence length (needed by every convention but kaplan)")
    p.add_argument("--no-shared-prefix", dest="shared_prefix", action="store_false",
                   help="count K independent copies of the prompt instead of one shared prefill")


def _load_spec(args: argparse.Namespace):
    from ttc_fast.flops import ModelSpec
    if args.shape:
        return ModelSpec.preset(args.shape), args.shape
    return ModelSpec.from_hf_config(args.config), args.config


def _e(x: float) -> str:
    return f"{x:.3e}"


def _add_flops_parser(sub) -> None:
    p = sub.add_parser("flops", help="training and inference FLOPs of a model (K samples per prompt)",
                       description="FLOPs (multiply-add = 2) for training on --tokens tokens and for serving "
                                   "K samples of --gen tokens after a --prompt-token prompt.")
    _add_model_args(p, required=True)
    p.add_argument("--tokens", type=float, default=None, help="training tokens (e.g. 3e12)")
    p.add_argument("--prompt", type=int, default=None, help="prompt tokens per query")
    p.add_argument("--gen", type=int, default=None, help="generated tokens per sample")
    p.add_argument("--k", type=_positive_ints, default=[1], help="samples per prompt, e.g. 1,2,4,8")
    p.add_argument("--bytes-per-elem", type=int, default=2, help="KV-cache element size (2 = bf16)")
    p.set_defaults(func=_cmd_flops)


def _cmd_flops(args: argparse.Namespace) -> int:
    from ttc_fast._table import format_table
    from ttc_fast.flops import forward_flops, inference_flops, kv_cache_bytes, training_flops
    spec, name = _load_spec(args)
    if (args.prompt is None) != (args.gen is None):
        raise ValueError("--prompt and --gen go together")
    if args.tokens is None and args.prompt is None:
        raise ValueError("give --tokens (training) and/or --prompt/--gen (inference)")
    moe = f", active {spec.num_active_params():,}" if spec.num_experts else ""
    print(f"model: {name} ({spec.model_type or 'custom'}): {spec.num_layers} layers, d_model {spec.d_model}, "
          f"{spec.num_heads} heads / {spec.num_kv_heads} kv, head_dim {spec.head_dim}, d_ff {spec.d_ff}, "
          f"vocab {spec.vocab_size}")
    print(f"parameters: {spec.num_params():,} (non-embedding {spec.num_params(non_embedding=True):,}{moe})")
    print(f"convention: {args.convention} (FLOPs, multiply-add = 2)")
    if args.tokens is not None:
        total = training_flops(spec, args.tokens, seq_len=args.seq_len, convention=args.convention)
        rows = [["training", f"{args.tokens:.3e}", _e(total), _e(total / args.tokens) if args.tokens else "-"]]
        if args.seq_len:
            fwd = forward_flops(spec, args.seq_len, convention=args.convention)
            rows.append([f"forward, one {args.seq_len}-token sequence", args.seq_len, _e(fwd),
                         _e(fwd / args.seq_len)])
        print()
        print(format_table(["what", "tokens", "FLOPs", "FLOPs/token"], rows))
    if args.prompt is not None:
        ks = args.k
        q = inference_flops(spec, args.prompt, args.gen, ks, shared_prefix=args.shared_prefix,
                            convention=args.convention)
        one = inference_flops(spec, args.prompt, args.gen, 1, shared_prefix=args.shared_prefix,
                              convention=args.convention)
        cached = [args.prompt + k * args.gen if args.shared_prefix else k * (args.prompt + args.gen) for k in ks]
        kv = [kv_cache_bytes(spec, c, bytes_per_elem=args.bytes_per_elem) for c in cached]
        rows = [[k, _e(f), _e(f / k), f"{f / one:.2f}", f"{b / 2**20:.1f}"] for k, f, b in zip(ks, q, kv)]
        print()
        print(f"inference: prompt {args.prompt} tokens, {args.gen} generated tokens per sample, "
              f"{'shared prefix (prefill once + K decodes)' if args.shared_prefix else 'no sharing (K full copies)'}")
        print(format_table(["K", "FLOPs/query", "FLOPs/sample", "x K=1", "KV cache MiB"], rows))
    return 0


_PARSERS.append(_add_flops_parser)


def _add_breakeven_parser(sub) -> None:
    p = sub.add_parser(
        "breakeven", help="queries before a TTC checkpoint's saved training FLOPs are used up",
        description="Either the source paper's closed form (--r --lam --train-tokens --out-len) or ttc_fast's "
                    "own FLOP terms (--config/--shape --full-tokens --checkpoint-tokens --k --prompt --gen).")
    p.add_argument("--r", type=float, help="paper: fraction of full training compute at the checkpoint")
    p.add_argument("--lam", type=float, help="paper: serving-cost multiplier of TTC (> 1)")
    p.add_argument("--train-tokens", type=float, help="paper: full training tokens D_train")
    p.add_argument("--out-len", type=float, help="paper: output tokens per sample L_out")
    p.add_argument("--train-to-infer", type=float, default=6.0,
                   help="paper: training/inference FLOPs per token (paper: 6; 6N/2N convention: 3)")
    _add_model_args(p, required=False)
    p.add_argument("--full-tokens", type=float, help="training tokens of the fully trained model")
    p.add_argument("--checkpoint-tokens", type=_floats, help="training tokens at the checkpoint(s), e.g. 1e12,2e12")
    p.add_argument("--k", type=_positive_ints, default=[2, 4, 8], help="samples per query with TTC")
    p.add_argument("--prompt", type=int, default=None, help="prompt tokens per query")
    p.add_argument("--gen", type=int, default=None, help="generated tokens per sample")
    p.add_argument("--eval-flops", type=float, default=0.0, help="FLOPs spent on evaluation samples in training")
    p.set_defaults(func=_cmd_breakeven)


def _cmd_breakeven(args: argparse.Namespace) -> int:
    import numpy as np

    from ttc_fast._table import format_table
    from ttc_fast.flops import break_even, paper_break_even
    paper = [args.r, args.lam, args.train_tokens, args.out_len]
    if any(v is not None for v in paper):
        if any(v is None for v in paper):
            raise ValueError("the paper's form needs all of --r, --lam, --train-tokens, --out-len")
        labels = {6.0: "paper (6)", 3.0: "6N train / 2N infer (3)"}
        ratios = [args.train_to_infer] + [r for r in (6.0, 3.0) if r != args.train_to_infer]
        rows = [[labels.get(ratio, "--train-to-infer"), f"{ratio:g}",
                 _e(paper_break_even(args.r, args.lam, args.train_tokens, args.out_len, ratio))]
                for ratio in ratios]
        print(f"paper closed form: N_infer = ratio*(1-r)*D_train/((lam-1)*L_out), r={args.r:g}, lam={args.lam:g}, "
              f"D_train={args.train_tokens:.3e} tokens, L_out={args.out_len:g} tokens")
        print(format_table(["train/infer FLOPs per token", "ratio", "break-even samples"], rows))
        return 0
    if not (args.config or args.shape):
        raise ValueError("give --r/--lam/--train-tokens/--out-len (paper) or --config/--shape (ttc_fast terms)")
    missing = [n for n, v in (("--full-tokens", args.full_tokens), ("--checkpoint-tokens", args.checkpoint_tokens),
                              ("--prompt", args.prompt), ("--gen", args.gen)) if v is None]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    spec, name = _load_spec(args)
    ckpt = np.asarray(args.checkpoint_tokens, dtype=np.float64)
    ks = np.asarray(args.k, dtype=np.float64)
    be = break_even(spec, full_tokens=args.full_tokens, checkpoint_tokens=ckpt[:, None], k=ks[None, :],
                    prompt_len=args.prompt, gen_len=args.gen, shared_prefix=args.shared_prefix,
                    convention=args.convention, eval_flops=args.eval_flops, seq_len=args.seq_len)
    rows = []
    for i, c in enumerate(ckpt):
        for j, k in enumerate(args.k):
            rows.append([f"{c:.3e}", k, _e(be.flops_saved[i, j]), f"{100 * be.flops_saved_fraction[i, j]:.1f}",
                         _e(be.extra_inference_flops_per_query[i, j]), _e(be.queries[i, j]),
                         _e(be.net_queries[i, j])])
    print(f"model: {name}; convention: {args.convention} (FLOPs); full training {args.full_tokens:.3e} tokens = "
          f"{be.train_flops_full:.3e} FLOPs; prompt {args.prompt}, gen {args.gen} tokens/sample, "
          f"{'shared prefix' if args.shared_prefix else 'no sharing'}; eval FLOPs charged {args.eval_flops:.3e}")
    print(format_table(["checkpoint tokens", "K", "FLOPs saved", "saved %", "extra FLOPs/query", "queries Q*",
                        "net Q*"], rows))
    return 0


_PARSERS.append(_add_breakeven_parser)


# ---- select (ttc_fast/selector/, ttc_fast/report.py) ----------------------------------------------------------
def _add_select_parser(sub) -> None:
    p = sub.add_parser(
        "select", help="TTC-aware early stopping over an eval log: which checkpoint and K to deploy",
        description="Replays the TTC-aware early-stopping rule over LOG.jsonl (one record per checkpoint: step, "
                    "train_flops or train_tokens, per-problem answers/correct/scores or precomputed accuracy) "
                    "and prints the decision; --report DIR also writes summary.md, decision.json and figures. "
                    "LOG may also be a learning-curve CSV (accuracy per K and checkpoint, with a flops or "
                    "tokens column; docs/selector.md, 'Replaying your own runs'): --curve names one of its "
                    "curves.")
    p.add_argument("log", help="eval log (JSON lines) or learning-curve CSV (.csv)")
    p.add_argument("--curve", default=None, help="the curve of a learning-curve CSV that holds several")
    p.add_argument("--default-n", type=int, default=None, metavar="N",
                   help="learning-curve CSV rows without stderr, n or a known task: binomial stderr at N problems")
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget-tokens", type=float, help="training tokens of the full run (needs --config/--shape)")
    budget.add_argument("--budget-flops", type=float, help="training FLOPs of the full run")
    _add_model_args(p, required=False)
    p.add_argument("--strategy", default=None, choices=["maj", "pass", "bok", "wmaj"],
                   help="TTC strategy (default maj: majority vote; a curve CSV's pass@K/maj@K columns say it)")
    p.add_argument("--method", default="exact", choices=["exact", "sigmoid"],
                   help="exact TTC curve with confidence (default) or the paper's sigmoid over K=1,2,4")
    p.add_argument("--patience", type=int, default=3,
                   help="evaluations of evidence before stopping (default 3; the paper used 10)")
    p.add_argument("--patience-mode", choices=["evidence", "count"], default=None,
                   help="evidence (default for exact: strong evidence needs fewer evaluations) or count "
                        "(PATIENCE consecutive qualifying evaluations)")
    p.add_argument("--confidence", type=float, default=0.95,
                   help="probability the deployed (checkpoint, K) is at least as accurate as the full run "
                        "(exact; default 0.95)")
    p.add_argument("--min-delta", type=float, default=0.0, help="accuracy margin over the target (fraction)")
    p.add_argument("--k-max", type=int, default=None, help="largest K considered")
    p.add_argument("--step-hazard", type=float, default=None, metavar="RATE",
                   help="rate per e-fold of compute at which a curve that has not risen may still step up "
                        "(default 0.3; 0 trusts a flat curve to stay flat)")
    p.add_argument("--gain-hazard", type=float, default=None, metavar="RATE",
                   help="rate per e-fold of compute of a late gain of 0.5 logits on top of any curve (an LR "
                        "cooldown, a data stage; default 0.3; 0 trusts the curve's shape to the end)")
    p.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="do not scale the projection's variance by its backtests on the curve's own past")
    p.add_argument("--prompt", type=int, default=None,
                   help="prompt tokens per query (inference FLOPs; default: the mean ttc-fast eval measured)")
    p.add_argument("--gen", type=int, default=None,
                   help="generated tokens per sample (inference FLOPs; default: the mean ttc-fast eval measured)")
    p.add_argument("--expected-queries", type=float, default=None, help="queries the deployment will serve")
    p.add_argument("--report", default=None, metavar="DIR", help="write the report (markdown + PNG) here")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(func=_cmd_select, progress=None)


def _cmd_select(args: argparse.Namespace) -> int:
    from ttc_fast._table import format_table
    from ttc_fast.selector import select
    spec = None
    if args.config or args.shape:
        spec, _ = _load_spec(args)
    if args.budget_tokens is not None and spec is None:
        raise ValueError("--budget-tokens needs --config or --shape (to convert tokens to FLOPs)")
    if (args.prompt is None) != (args.gen is None):
        raise ValueError("--prompt and --gen go together")
    if args.prompt is not None and spec is None:
        raise ValueError("--prompt/--gen need --config or --shape")
    if args.prompt is None and not args.log.lower().endswith(".csv"):
        measured = _measured_lengths(args.log)
        if measured is not None:
            prompt_len, gen_len, count, checkpoint = measured
            if spec is None and checkpoint is not None:
                from ttc_fast.flops import ModelSpec
                try:
                    spec = ModelSpec.from_hf_config(os.path.join(checkpoint, "config.json"))
                    print(f"inference FLOPs: model from {os.path.join(checkpoint, 'config.json')}")
                except (OSError, ValueError, KeyError, TypeError) as err:
                    print(f"inference FLOPs: cannot read the model of {checkpoint} ({err}); give --config/--shape")
            if spec is not None:
                args.prompt, args.gen = prompt_len, gen_len
                print(f"inference cost: prompt {prompt_len} tokens, {gen_len} generated tokens per sample (means "
                      f"measured by ttc-fast eval over {count} record(s); --prompt/--gen override)")
            else:
                print(f"inference cost: unknown (the log has measured lengths, prompt {prompt_len} / generation "
                      f"{gen_len} tokens, but no model to count FLOPs with: give --config or --shape)")
    decision, stopper = select(
        args.log, budget_flops=args.budget_flops, budget_tokens=args.budget_tokens, spec=spec,
        seq_len=args.seq_len, convention=args.convention, strategy=args.strategy, method=args.method,
        patience=args.patience, confidence=args.confidence, min_delta=args.min_delta, k_max=args.k_max,
        patience_mode=args.patience_mode, calibrate=args.calibrate,
        **({} if args.step_hazard is None else {"step_hazard": args.step_hazard}),
        **({} if args.gain_hazard is None else {"gain_hazard": args.gain_hazard}),
        prompt_len=args.prompt, gen_len=args.gen,
        expected_queries=args.expected_queries, progress=args.progress, return_stopper=True, curve=args.curve,
        default_n=args.default_n)
    hist = stopper.history
    rows = []
    for e in hist[-20:]:
        d = e.decision
        rows.append([e.step, f"{e.train_flops:.3e}", f"{100 * e.acc1:.2f}", "y" if e.kept else "",
                     e.fit_points or "-",
                     f"{100 * d.projected_accuracy:.2f}" if d.projected_accuracy == d.projected_accuracy else "-",
                     f"{100 * d.projected_upper:.2f}" if d.projected_upper == d.projected_upper else "-",
                     d.k if d.k is not None else "-", "y" if d.qualifies else "", d.patience_count])
    note = f" (last 20 of {len(hist)})" if len(hist) > 20 else ""
    print(f"evaluations read: {len(hist)}{note}")
    print(format_table(["step", "train FLOPs", "acc@1 %", "kept", "fitted", "projected %", "upper %", "K*",
                        "qualifies", "count"], rows))
    print()
    print(decision.summary())
    if args.report:
        from ttc_fast.report import write_report
        paths = write_report(stopper, decision, args.report)
        print()
        print(f"report: {paths['summary']} (+ {', '.join(p.name for k, p in paths.items() if k != 'summary')})")
    return 0


def _measured_lengths(log: str) -> tuple[int, int, int, str | None] | None:
    """(prompt tokens, generated tokens per sample, records, a checkpoint directory) from the means that
    ``ttc-fast eval`` records in each record's meta (``mean_prompt_tokens``, ``mean_gen_tokens``), averaged over
    the records that have them and rounded to whole tokens; None when no record has them."""
    from ttc_fast.evallog import read_log

    prompts, gens, checkpoint = [], [], None
    for rec in read_log(log):
        meta = rec.get("meta") if isinstance(rec.get("meta"), dict) else {}
        p, g = meta.get("mean_prompt_tokens"), meta.get("mean_gen_tokens")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and v >= 0 for v in (p, g)):
            prompts.append(float(p))
            gens.append(float(g))
            if isinstance(meta.get("checkpoint"), str) and os.path.isfile(os.path.join(meta["checkpoint"],
                                                                                        "config.json")):
                checkpoint = meta["checkpoint"]
    if not prompts:
        return None
    return (max(1, round(sum(prompts) / len(prompts))), max(1, round(sum(gens) / len(gens))), len(prompts),
            checkpoint)


_PARSERS.append(_add_select_parser)
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
    """problem_id -> lists of answers / correct / scores, in file order (read by :mod:`ttc_fast.jsonl`)."""
    from ttc_fast import jsonl

    problems: dict = {}
    for lineno, rec in jsonl.iter_lines(path):
        missing = [k for k in ("problem_id", "answer", "correct") if k not in rec] if isinstance(rec, dict) else None
        if missing != []:
            got = f"missing {', '.join(missing)}" if missing else f"got {type(rec).__name__}"
            raise ValueError(f"{path}:{lineno}: expected a JSON object with problem_id, answer, correct ({got})")
        pid, answer, correct = rec["problem_id"], rec["answer"], rec["correct"]
        if not isinstance(correct, bool):
            raise ValueError(f"{path}:{lineno}: correct must be true/false, got {correct!r}")
        score = rec.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
            raise ValueError(f"{path}:{lineno}: score must be a number or null, got {score!r}")
        prob = problems.setdefault(str(pid), {"answers": [], "correct": [], "scores": []})
        prob["answers"].append(None if answer is None else str(answer))
        prob["correct"].append(correct)
        prob["scores"].append(score)
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
    if args.plot and os.path.isdir(args.plot):
        raise ValueError(f"--plot {args.plot!r} is a directory; give a file name such as curve.png")
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


# workload defaults per device: a CPU run of the tiny shape finishes in seconds; on CUDA a real evaluation workload
_BENCH_DEFAULTS = {"cpu": dict(prompts=2, n=8, prompt_len=64, new_tokens=16),
                   "cuda": dict(prompts=64, n=64, prompt_len=1000, new_tokens=256)}
# ---- compare (ttc_fast/comparison.py) -------------------------------------------------------------------------
def _add_compare_parser(sub) -> None:
    p = sub.add_parser(
        "compare", help="paired difference of two evaluations (a - b) at every K, with simultaneous bands",
        description="Compares two eval-log records of the same problems (matched by problem id): the mean over "
                    "problems of est_a(K_a) - est_b(K_b), its paired standard error, pointwise intervals, a "
                    "simultaneous band over the whole K grid and the one-sided p-value of 'a >= b - margin'. "
                    "LOG_B may be LOG_A with another --step-b.")
    p.add_argument("log_a", metavar="LOG_A", help="eval log (JSON lines) holding evaluation a")
    p.add_argument("log_b", metavar="LOG_B", help="eval log holding evaluation b (may be the same file)")
    p.add_argument("--step-a", type=int, default=None, help="step of the record to use from LOG_A (default: last)")
    p.add_argument("--step-b", type=int, default=None, help="step of the record to use from LOG_B (default: last)")
    p.add_argument("--metric", choices=["pass", "maj", "bok"], default="maj", help="estimator (default: maj)")
    p.add_argument("--ks-a", type=_positive_ints, default=None,
                   help="K of a, comma-separated (default: every k up to the smallest n)")
    p.add_argument("--ks-b", type=_positive_ints, default=None,
                   help="K of b (default: --ks-a; one value is broadcast, e.g. --ks-b 1)")
    p.add_argument("--method", choices=["bootstrap", "normal"], default="bootstrap", help="interval method")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--margin", type=float, default=0.0, help="test 'a >= b - margin' (accuracy units)")
    p.add_argument("--bootstrap", type=int, default=4000, help="bootstrap resamples / Gaussian draws")
    p.add_argument("--seed", type=int, default=0, help="seed of the resamples")
    p.add_argument("--tie", choices=["random", "strict", "optimistic"], default="random", help="maj tie rule")
    p.add_argument("--abstain", choices=["exclude", "vote"], default="exclude", help="maj abstention rule")
    p.add_argument("--common-only", action="store_true", help="compare only the problem ids both records have")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--plot", metavar="FILE.png", help="draw the difference curve with both bands")
    p.set_defaults(func=_cmd_compare)


def _pick_record(path: str, step: int | None, flag: str) -> dict:
    from ttc_fast.evallog import read_log

    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such eval log")
    records = read_log(path)
    if not records:
        raise ValueError(f"{path}: no complete record")
    if step is None:
        return records[-1]
    for rec in reversed(records):
        if rec.get("step") == step:
            return rec
    steps = [r.get("step") for r in records]
    raise ValueError(f"{path}: no record with {flag} {step} (steps in the log: {steps[:10]}"
                     f"{' ...' if len(steps) > 10 else ''})")


def _cmd_compare(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    from ttc_fast._table import format_table
    from ttc_fast.comparison import compare

    rec_a = _pick_record(args.log_a, args.step_a, "--step-a")
    rec_b = _pick_record(args.log_b, args.step_b, "--step-b")
    res = compare(rec_a, rec_b, metric=args.metric, ks_a=args.ks_a, ks_b=args.ks_b, confidence=args.confidence,
                  margin=args.margin, method=args.method, bootstrap=args.bootstrap, seed=args.seed, tie=args.tie,
                  abstain=args.abstain, common_only=args.common_only)
    name = _METRICS[args.metric]
    if args.json:
        out = {"metric": res.metric, "step_a": rec_a.get("step"), "step_b": rec_b.get("step"),
               "num_problems": res.num_problems, "method": res.method, "confidence": res.confidence,
               "margin": res.margin, "critical_value": res.critical_value}
        for f in ("ks", "ks_b", "mean", "stderr", "low", "high", "band_low", "band_high", "p_value", "mean_a",
                  "mean_b", "stderr_unpaired"):
            out[f] = getattr(res, f).tolist()
        print(json.dumps(out))
    else:
        print(f"{name}: a = {args.log_a} step {rec_a.get('step')}, b = {args.log_b} step {rec_b.get('step')}, "
              f"{res.num_problems} paired problems, {res.method}, {100 * res.confidence:g}% "
              f"(band multiplier {res.critical_value:.3f})")
        rows = [[int(ka), int(kb), f"{100 * ma:.2f}", f"{100 * mb:.2f}", f"{100 * m:+.2f}", f"{100 * s:.2f}",
                 f"[{100 * lo:+.2f}, {100 * hi:+.2f}]", f"[{100 * bl:+.2f}, {100 * bh:+.2f}]", f"{p:.3g}"]
                for ka, kb, ma, mb, m, s, lo, hi, bl, bh, p in zip(
                    res.ks, res.ks_b, res.mean_a, res.mean_b, res.mean, res.stderr, res.low, res.high, res.band_low,
                    res.band_high, res.p_value)]
        print(format_table(["K_a", "K_b", "a %", "b %", "a-b pts", "stderr", "pointwise", "simultaneous",
                            f"p(a>=b-{args.margin:g})"], rows))
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 3.5))
        x = res.ks
        ax.fill_between(x, 100 * res.band_low, 100 * res.band_high, alpha=0.25, label="simultaneous band")
        ax.fill_between(x, 100 * res.low, 100 * res.high, alpha=0.45, label="pointwise interval")
        ax.plot(x, 100 * res.mean, marker="o", ms=3, label="a - b")
        ax.axhline(-100 * res.margin, color="k", lw=0.8, ls="--")
        if len(x) > 1 and x.max() / max(x.min(), 1) >= 8:
            ax.set_xscale("log", base=2)
        same_k = bool((res.ks == res.ks_b).all())
        ax.set_xlabel("K (samples)" if same_k else f"K of a (b at K = {', '.join(map(str, np.unique(res.ks_b)))})"
                      if len(np.unique(res.ks_b)) <= 3 else "K of a")
        ax.set_ylabel(f"{name} difference (points)")
        ax.set_title(f"a - b over {res.num_problems} problems ({100 * res.confidence:g}%)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        plt.close(fig)
    return 0


_PARSERS.append(_add_compare_parser)


def _add_bench_sampling_parser(sub) -> None:
    from ttc_fast.checkpoint import PRESETS
    p = sub.add_parser(
        "bench-sampling",
        help="tokens/s of ttc_fast.generate (n samples per prompt) vs the physical limit, and the HF baseline",
        description="Random prompts, n samples each, exactly --new-tokens tokens per sample (EOS off). Before "
                    "allocating anything it prints what the run needs in memory and at least how long it takes, "
                    "and refuses what cannot fit. Each implementation is warmed up (--warmup short runs) and "
                    "timed --repeats times: tokens/s and the decode-step time are medians, with their spread. "
                    "Also the physical limit of a step on this device ((weight bytes + KV bytes read, each "
                    "prompt's KV once) / measured copy bandwidth, or the step's FLOPs / measured matmul rate) and "
                    "the fraction of it reached; with --baseline hf the same for transformers generate("
                    "num_return_sequences=n, do_sample=True) on the same weights, in the same run.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="checkpoint directory (config.json + safetensors)")
    src.add_argument("--shape", choices=list(PRESETS),
                     help="random weights of a built-in architecture (tiny: ~20M-parameter Llama)")
    cpu, gpu = _BENCH_DEFAULTS["cpu"], _BENCH_DEFAULTS["cuda"]
    for flag, key, what in (("--prompts", "prompts", "prompts"), ("--n", "n", "samples per prompt"),
                            ("--prompt-len", "prompt_len", "prompt tokens"),
                            ("--new-tokens", "new_tokens", "generated tokens per sample")):
        p.add_argument(flag, type=int, default=None, help=f"{what} (default {cpu[key]} on cpu, {gpu[key]} on cuda)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per implementation (default 3; median)")
    p.add_argument("--warmup", type=int, default=1, help="short untimed runs first (default 1)")
    p.add_argument("--max-seconds", type=float, default=3600.0,
                   help="refuse a run whose lower time bound exceeds this (default 3600)")
    p.add_argument("--baseline", choices=["none", "hf", "hf-prefill-once", "all"], default="none",
                   help="hf: generate(num_return_sequences=n, do_sample=True); hf-prefill-once: HF forward, prompt "
                        "prefilled once and its cache repeated n times, multinomial decode loop; all: both")
    p.add_argument("--baseline-prompts", type=int, default=None, metavar="M",
                   help="run the baselines on the first M prompts in one batch (tokens/s compared per token); "
                        "default: all prompts, or on CUDA the most whose KV copies (n per prompt) fill half "
                        "of the free memory")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--dtype", default=None, help="float32 / bfloat16 / float16 (default: bf16 on cuda, fp32 on cpu)")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--batch-tokens", type=int, default=None, help="KV budget in tokens per batch of prompts")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_bench_sampling)


def _cmd_bench_sampling(args: argparse.Namespace) -> int:
    import math

    import torch

    from ttc_fast._table import format_table
    from ttc_fast.checkpoint import parse_config, read_config
    from ttc_fast.runtime import bench, load_model
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"--device must be cpu or cuda, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda requested but torch sees no CUDA device")
    dtype = args.dtype or ("bfloat16" if device.startswith("cuda") else "float32")
    tdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}.get(dtype)
    if tdtype is None:
        raise ValueError(f"--dtype must be float32, bfloat16 or float16, got {dtype!r}")
    if not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise ValueError(f"--temperature must be a finite number >= 0, got {args.temperature}")
    for name, default in _BENCH_DEFAULTS["cuda" if device.startswith("cuda") else "cpu"].items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    raw = read_config(args.model)[0] if args.model else bench.shape_config(args.shape)
    cfg = parse_config(args.model or raw)
    baselines = {"none": (), "hf": ("hf",), "hf-prefill-once": ("hf-prefill-once",),
                 "all": ("hf", "hf-prefill-once")}[args.baseline]
    m = args.baseline_prompts
    if baselines and m is None and device.startswith("cuda"):
        per_prompt = args.n * (args.prompt_len + args.new_tokens) * 2 * cfg.num_layers * cfg.num_kv_heads \
            * cfg.head_dim * torch.empty(0, dtype=tdtype).element_size()
        m = max(1, min(args.prompts, int(0.5 * torch.cuda.mem_get_info(torch.device(device))[0]) // per_prompt))
    pos = raw.get("max_position_embeddings")
    the_plan = bench.plan(cfg, device=device, dtype=tdtype, prompts=args.prompts, n=args.n,
                          prompt_len=args.prompt_len, new_tokens=args.new_tokens, baselines=baselines,
                          baseline_prompts=m, repeats=args.repeats, warmup=args.warmup,
                          batch_tokens=args.batch_tokens, max_seconds=args.max_seconds,
                          max_positions=pos if isinstance(pos, int) and pos > 0 else None)
    m = min(m or args.prompts, args.prompts)
    print(f"workload: {args.prompts} prompts x n={args.n}, prompt {args.prompt_len} tokens, "
          f"{args.new_tokens} new tokens" + (f"; baselines on the first {m} prompts (one batch)"
                                             if baselines and m < args.prompts else "")
          + f"; {args.warmup} warm-up + {args.repeats} timed run(s) each")
    print(the_plan.describe(), flush=True)
    hf = None
    if args.model:
        if baselines:
            import transformers
            hf = transformers.AutoModelForCausalLM.from_pretrained(args.model, dtype=tdtype).to(device).eval()
            model = load_model(hf)  # same tensors for both implementations
        else:
            model = load_model(args.model, dtype=tdtype, device=device)
    else:
        hf = bench.hf_model_from_config(raw, dtype=tdtype, device=device, seed=args.seed)
        model = load_model(hf)
    prompts = bench.random_prompts(args.prompts, args.prompt_len, model.arch.vocab_size, args.seed)
    lim = bench.step_limit(model, args.prompts, args.n, args.prompt_len, args.new_tokens)
    limit = lim.seconds
    reps = dict(repeats=args.repeats, warmup=args.warmup, new_tokens=args.new_tokens,
                log=lambda msg: print(msg, flush=True))
    results = [bench.repeat("ttc_fast", lambda t: bench.run_ttc_fast(
        model, prompts, args.n, t, temperature=args.temperature, seed=args.seed, batch_tokens=args.batch_tokens),
        **reps)]
    if "hf" in baselines:
        results.append(bench.repeat("hf", lambda t: bench.run_hf(hf, prompts[:m], args.n, t,
                                                                temperature=args.temperature, seed=args.seed),
                                    **reps))
    if "hf-prefill-once" in baselines:
        results.append(bench.repeat("hf-prefill-once", lambda t: bench.run_hf_prefill_once(
            hf, prompts[:m], args.n, t, temperature=args.temperature, seed=args.seed), **reps))
    print(f"model: {args.model or args.shape}  params {model.num_parameters() / 1e6:.1f}M  {dtype} on {device}  "
          f"({torch.get_num_threads()} threads)" if device == "cpu" else
          f"model: {args.model or args.shape}  params {model.num_parameters() / 1e6:.1f}M  {dtype} on "
          f"{torch.cuda.get_device_name()}")
    print(f"bandwidth {lim.bandwidth / 1e9:.1f} GB/s (copy); bytes per decode step: {lim.bytes_ideal / 1e6:.1f} MB "
          f"shared-prefix ideal, {lim.bytes_naive / 1e6:.1f} MB with a KV copy per sample: memory floor "
          f"{lim.memory_s * 1e3:.3f} ms")
    print(f"matmul {lim.matmul_rate / 1e12:.2f} TFLOP/s ({dtype}); {lim.flops / 1e9:.1f} GFLOP per decode step: "
          f"compute floor {lim.compute_s * 1e3:.3f} ms; limit per step (the larger) {limit * 1e3:.3f} ms")
    base = results[0].tokens_per_s
    rows = []
    for r in results:
        lo, hi = r.step_range()
        samp = r.median("sample_s")
        rows.append([r.impl, f"{r.tokens_per_s:.1f}", f"{100 * r.spread():.0f}%", f"{r.median('seconds'):.2f}",
                     f"{r.median('prefill_s'):.3f}", f"{r.median('step_s') * 1e3:.2f}",
                     f"{lo * 1e3:.2f}-{hi * 1e3:.2f}", "-" if samp != samp else f"{samp * 1e3:.2f}",
                     f"{limit * 1e3:.3f}", f"{limit / r.median('step_s'):.3f}", f"{r.tokens_per_s / base:.2f}"])
    print(f"medians of {args.repeats} run(s); spread = (max - min) / median of tokens/s")
    print(format_table(["impl", "tokens/s", "spread", "total s", "prefill s", "step ms", "step ms range",
                        "sampling ms", "limit ms", "of limit", "vs ttc_fast"], rows))
    return 0


_PARSERS.append(_add_bench_sampling_parser)


# ---- demo / eval / ingest (ttc_fast/demo, ttc_fast/evaluate.py, ttc_fast/ingest.py) ------------------------
def _add_demo_parser(sub) -> None:
    p = sub.add_parser("demo", help="a real TTC-aware training run on a built-in task, judged on held-out data",
                       description="Trains a small Llama from scratch on chains of arithmetic mod 10, samples every "
                       "checkpoint, feeds the TTC-aware selector (exact and the paper's sigmoid) and naive early "
                       "stopping online without stopping, then judges their decisions on a held-out test split. "
                       "Writes REPORT.md, figures, checkpoints and eval logs into --out.")
    p.add_argument("--out", default="ttc_demo", help="output directory (default ./ttc_demo)")
    p.add_argument("--quick", action="store_true", help="tiny settings: under 2 minutes (tests, CI)")
    p.add_argument("--steps", type=int, default=None, help="training steps (default 2400; quick 400)")
    p.add_argument("--model-size", choices=["tiny", "small", "base"], default=None,
                   help="model shape (default small)")
    p.add_argument("--n", type=int, default=None, help="samples per validation problem and checkpoint")
    p.add_argument("--n-test", type=int, default=None, help="samples per test problem in the final evaluation")
    p.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints")
    p.add_argument("--num-ops", type=int, default=None, help="operations per problem (task difficulty; default 4)")
    p.add_argument("--noise", type=float, default=None,
                   help="per-step mistake rate of the training chains (default 0.05)")
    p.add_argument("--patience", type=int, default=None, help="selector patience in evaluations")
    p.add_argument("--strategy", choices=["maj", "pass"], default=None, help="TTC strategy (default maj)")
    p.add_argument("--seed", type=int, default=None, help="seed of task, model and sampling (default 0)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from ttc_fast._table import format_table
    from ttc_fast.demo.run import DemoConfig, run_demo

    cfg = DemoConfig.preset(args.quick, steps=args.steps, model_size=args.model_size, n=args.n,
                            n_test=args.n_test, checkpoint_every=args.checkpoint_every, num_ops=args.num_ops,
                            noise=args.noise, patience=args.patience, strategy=args.strategy, seed=args.seed)
    s = run_demo(args.out, cfg, progress=args.progress)
    f = s["final"]
    print(f"\nfinal checkpoint (step {f['step']}): test accuracy with 1 sample {100 * f['test_acc1']:.1f}%"
          f" ± {100 * f['test_acc1_stderr']:.1f}")
    rows = []
    for name, r in s["rules"].items():
        if r["stopped"]:
            k = str(r["k"]) if r["k"] == r["test_k"] else f"{r['k']} (>{r['test_k']})"
            rows.append([name, r["step"], k, f"{100 * r['test_acc']:.1f}%",
                         f"{100 * r['diff_vs_final_acc1']:+.1f}±{100 * r['diff_stderr']:.1f}", r["verdict"],
                         f"{100 * r['flops_saved']:.1f}%", f"{100 * r['net_flops_saved']:.1f}%",
                         f"{r['break_even_queries']:.3g}"])
        else:
            rows.append([name, "never", "-", f"{100 * r['test_acc']:.1f}%", "-", "no stop", "0%", "0%", "-"])
    o = s.get("oracle")
    if o is not None:
        rows.append(["hindsight", o["step"], o["k"], f"{100 * o['test_acc']:.1f}%",
                     f"{100 * (o['test_acc'] - f['test_acc1']):+.1f}", "best stop", f"{100 * o['flops_saved']:.1f}%",
                     "-", "-"])
    print(format_table(["rule", "stop step", "K*", "test acc", "vs final (pts)", "verdict", "FLOPs saved",
                        "net", "break-even queries"], rows))
    nu = s["numerics"]
    print(f"report: {os.path.join(args.out, 'REPORT.md')}  (wall time {s['wall_time_s']:.0f} s; final weights "
          f"sha256 {nu['weights_sha256']}, MKL_CBWR={nu['MKL_CBWR']}, ATen {nu['cpu_capability']})")
    return 0


_PARSERS.append(_add_demo_parser)


def _add_eval_parser(sub) -> None:
    p = sub.add_parser("eval", help="sample checkpoints on a problem set and write the eval log",
                       description="n samples per problem for every checkpoint (Hugging Face directories), graded "
                       "against the reference answers; one eval-log record per checkpoint, appended as soon as it "
                       "is done (rerunning skips checkpoints finished with the same data, settings and weights, and "
                       "refuses a log made otherwise unless --force). Multi-process: torchrun --nproc-per-node N "
                       "ttc-fast eval ... (gloo on CPU, nccl on GPU); same log as one process with the same seed.")
    p.add_argument("checkpoints", nargs="+", help="checkpoint directories (config.json + safetensors + tokenizer)")
    p.add_argument("--data", required=True, help="problems JSONL: {\"id\", \"prompt\", \"answer\"} per line")
    p.add_argument("--out", required=True, help="eval log to append to (JSONL)")
    p.add_argument("--n", "--num-samples", dest="n", type=int, default=64,
                   help="samples per problem (default 64); under torchrun spell it --num-samples (torchrun's own "
                        "parser takes --n as an abbreviation of its options)")
    p.add_argument("--max-new-tokens", type=int, default=512, help="default 512")
    p.add_argument("--extract", default="number", help="number | boxed | code | regex:<pattern> (default number)")
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=None, help="keep the k most likely tokens (default off)")
    p.add_argument("--min-p", type=float, default=None, help="drop tokens below min-p x the top probability")
    p.add_argument("--stop", action="append", default=None, help="stop string (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true",
                   help="drop records of --out made with other data, settings or weights and evaluate again "
                        "(default: refuse to resume such a log)")
    p.add_argument("--chunk-size", type=int, default=32,
                   help="problems per generate call; the unit of seeding and of sharding across ranks")
    p.add_argument("--batch-tokens", type=int, default=None, help="KV budget in tokens per generate batch")
    p.add_argument("--device", default=None, help="default cuda:LOCAL_RANK when available, else cpu")
    p.add_argument("--dtype", default=None, help="float32 | bfloat16 | float16 (default: checkpoint's)")
    p.add_argument("--step", type=_positive_ints, default=None, help="steps, one per checkpoint (else trainer state)")
    p.add_argument("--train-tokens", type=_floats, default=None, help="training tokens, one per checkpoint")
    p.add_argument("--train-flops", type=_floats, default=None, help="training FLOPs, one per checkpoint")
    p.add_argument("--seq-len", type=int, default=None, help="training sequence length for the FLOPs attention term")
    p.add_argument("--engine", choices=["auto", "ttc_fast", "hf"], default="auto",
                   help="sampling engine: ttc_fast (shared-prefix kernels; Llama/Mistral/Qwen2/Qwen3/GPT-NeoX), hf "
                        "(transformers generate; any causal LM, e.g. MoE or beyond a sliding window), auto "
                        "(default: ttc_fast where it runs the checkpoint, else hf with a message)")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="hf engine: run model code shipped with a checkpoint (config.json auto_map); off by default")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(func=_cmd_eval)


def _cmd_eval(args: argparse.Namespace) -> int:
    from ttc_fast.evaluate import evaluate_checkpoints

    evaluate_checkpoints(args.checkpoints, args.data, args.out, n=args.n, max_new_tokens=args.max_new_tokens,
                         extractor=args.extract, seed=args.seed, temperature=args.temperature, top_p=args.top_p,
                         top_k=args.top_k, min_p=args.min_p, force=args.force, stop=args.stop,
                         chunk_size=args.chunk_size, batch_tokens=args.batch_tokens,
                         device=args.device, dtype=args.dtype, steps=args.step, train_tokens=args.train_tokens,
                         train_flops=args.train_flops, seq_len=args.seq_len, progress=args.progress,
                         engine=args.engine, trust_remote_code=args.trust_remote_code)
    return 0


_PARSERS.append(_add_eval_parser)


def _add_ingest_parser(sub) -> None:
    p = sub.add_parser("ingest", help="convert lm-evaluation-harness, lighteval or any JSONL sample logs into the "
                                      "eval log",
                       description="One samples_<task>_<time>.jsonl (written by lm_eval --log_samples with "
                       "repeats: N) per checkpoint; answers extracted from the raw generations, clustered per "
                       "document and graded against target. Step/tokens/FLOPs from the flags, else from the "
                       "model directory's trainer_state.json named in lm-eval's results_*.json.")
    p.add_argument("samples", nargs="+", help="samples_*.jsonl files or directories holding them")
    p.add_argument("--out", required=True, help="eval log to write (JSONL)")
    p.add_argument("--extract", default="number", help="number | boxed | code | regex:<pattern> (default number)")
    p.add_argument("--source", choices=["resps", "filtered", "auto"], default="resps",
                   help="answers from raw generations (resps) or per-sample filtered_resps")
    p.add_argument("--step", type=_positive_ints, default=None, help="steps, one per samples file")
    p.add_argument("--train-tokens", type=_floats, default=None, help="training tokens, one per samples file")
    p.add_argument("--train-flops", type=_floats, default=None, help="training FLOPs, one per samples file")
    p.add_argument("--format", choices=["auto", "lm-eval", "lighteval", "jsonl"], default="auto",
                   help="lm-eval (samples_*.jsonl), lighteval (--save-details details_*.parquet; needs pyarrow), "
                        "jsonl (any JSONL: give the --*-field names), auto (default: .parquet lighteval, else lm-eval)")
    fields = p.add_argument_group("jsonl fields (dotted names reach nested objects; one sample per line, or one "
                                  "problem per line with list values)")
    fields.add_argument("--problem-field", help="problem id")
    fields.add_argument("--answer-field", help="extracted answer (null = no answer)")
    fields.add_argument("--text-field", help="raw generation, answers extracted with --extract")
    fields.add_argument("--correct-field", help="true/false per sample")
    fields.add_argument("--reference-field", help="reference answer (graded like lm-eval targets)")
    fields.add_argument("--score-field", help="verifier score per sample (optional)")
    p.set_defaults(func=_cmd_ingest)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from ttc_fast._table import format_table
    from ttc_fast.ingest import ingest_files

    fields = {f"{k}_field": getattr(args, f"{k}_field") for k in ("problem", "answer", "text", "correct",
                                                                   "reference", "score")}
    if args.format == "jsonl" and not args.problem_field:
        raise ValueError("--format jsonl needs --problem-field, --answer-field or --text-field, and "
                         "--correct-field or --reference-field")
    try:
        recs = ingest_files(args.samples, args.out, format=args.format, extractor=args.extract,
                            source=args.source, steps=args.step, train_tokens=args.train_tokens,
                            train_flops=args.train_flops, fields=fields if args.format == "jsonl" else
                            {k: v for k, v in fields.items() if v is not None})
    except ImportError as err:  # pyarrow for lighteval's parquet files
        raise ValueError(str(err)) from None
    rows = []
    for r in recs:
        corr = [c for p in r["problems"] for c in p["correct"]]
        abst = sum(a == -1 for p in r["problems"] for a in p["answers"])
        rows.append([r["step"], len(r["problems"]), r.get("num_samples", "ragged"),
                     f"{sum(corr) / max(1, len(corr)):.4f}", abst,
                     "-" if r["train_flops"] is None else f"{r['train_flops']:.3e}"])
    print(format_table(["step", "problems", "n", "acc@1", "abstentions", "train FLOPs"], rows))
    print(f"wrote {len(recs)} record(s) to {args.out}")
    return 0


_PARSERS.append(_add_ingest_parser)

# ---- bench-decision (ttc_fast/decision_bench/) ---------------------------------------------------------------
def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _add_bench_decision_parser(sub) -> None:
    p = sub.add_parser(
        "bench-decision", help="decision quality of the stop rules on runs whose truth is known",
        description="Runs every stop rule (ttc_fast's exact method, the paper's sigmoid method, naive patience, "
                    "a rule that knows the true target, the hindsight oracle) on synthetic training runs with "
                    "exact truth and on real published learning curves, and prints per family / source the "
                    "false-stop rate, the mean training-FLOPs saving and the share of the oracle's saving.")
    p.add_argument("--families", default="core", help="comma-separated synthetic families, or 'core' (the "
                   "default: the eight of the benchmark), 'stress' (two_stage, accelerating, cooldown, lr_steps: "
                   "rises no curve foretells), 'heldout' (slow_power, log_linear, finetune, mc_learned: written "
                   "after the rule was fixed), 'all', 'none'; your own: module:attr or file.py:attr of a "
                   "ttc_fast.decision_bench.Family")
    p.add_argument("--strategies", default="maj,pass,bok", help="comma-separated strategies (default maj,pass,bok)")
    p.add_argument("--seeds", type=int, default=10, help="seeds per (family, strategy) (default 10)")
    p.add_argument("--problems", type=int, default=200, help="evaluation problems per run (default 200)")
    p.add_argument("--samples", type=int, default=16, help="samples per problem and checkpoint (default 16)")
    p.add_argument("--checkpoints", type=int, default=30, help="checkpoints per run (default 30)")
    p.add_argument("--spacing", choices=("even", "log"), default="even",
                   help="checkpoints evenly spaced in compute (default) or in log compute from 1%% of the budget")
    p.add_argument("--population", type=int, default=1000, help="problems the truth is computed on (default 1000)")
    p.add_argument("--real", default="all", help="comma-separated real-curve sources (bigscience, tucano, "
                   "tinyllama, rlx; default all; 'none' for none)")
    p.add_argument("--curves", action="append", default=[], metavar="CSV",
                   help="also replay your own learning curves from this CSV (repeatable; long: value, one of "
                   "flops/tokens/samples_seen/step/epoch, and optional k, stderr or n, source, curve; or wide: a "
                   "column per metric, pass@1, pass@8, ...; docs/selector.md has the format)")
    p.add_argument("--default-n", type=int, default=None, metavar="N",
                   help="--curves rows without stderr, n or a known task: binomial stderr at N problems")
    p.add_argument("--compute-column", default=None, metavar="COL",
                   help="--curves files measure training compute in this column (e.g. tokens_B; default: the "
                   "first of flops, tokens, samples_seen, step, epoch or a trainer's name for one)")
    p.add_argument("--methods", default="exact,sigmoid,naive,known_target,oracle",
                   help="comma-separated methods (default: all five)")
    p.add_argument("--patience", type=int, default=3, help="the rules' patience (default 3)")
    p.add_argument("--confidence", type=float, default=0.95, help="the rules' confidence (default 0.95)")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="a stop is false when the deployed accuracy is this much below the target (default 0.01)")
    p.add_argument("--min-delta", type=float, default=0.0,
                   help="min_delta of the exact and sigmoid rules and the known target: the margin the deployed K "
                   "must beat the full run by (default 0; -0.01 accepts up to 1 point below it)")
    for name, what in (("step", "a step still to come on a flat history"),
                       ("gain", "a late gain on top of any curve")):
        p.add_argument(f"--{name}-hazard", type=float, default=None, metavar="RATE",
                       help=f"the exact rule's rate of {what}, per e-fold of compute left (default: the "
                       f"selector's, 0.3)")
    p.add_argument("--calibration", action="store_true",
                   help="also print the projection's calibration (nominal vs actual coverage of the final "
                   "single-sample accuracy) on the real curves and on the synthetic families' runs (of the first "
                   "strategy)")
    p.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    p.add_argument("--json", default=None, metavar="PATH", help="write every outcome as JSON lines here")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(func=_cmd_bench_decision)


def _cmd_bench_decision(args: argparse.Namespace) -> int:
    from ttc_fast.decision_bench import (CORE_FAMILIES, FAMILIES, HELDOUT_FAMILIES, STRESS_FAMILIES, Settings,
                                         format_calibration, format_table, load_curve_file, load_real_curves,
                                         projection_calibration, run_real, run_synthetic, summarise,
                                         synthetic_calibration)
    for name in ("seeds", "problems", "samples", "checkpoints", "population", "workers", "default_n"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if not -1.0 <= args.min_delta <= 1.0:
        raise ValueError(f"--min-delta must be in [-1, 1] (a fraction of accuracy), got {args.min_delta}")
    hazards = {}
    for name in ("step_hazard", "gain_hazard"):
        rate = getattr(args, name)
        if rate is not None:
            if not 0.0 <= rate <= 10.0:   # also refuses nan
                raise ValueError(f"--{name.replace('_', '-')} must be a rate in [0, 10], got {rate}")
            hazards[name] = rate
    settings = Settings(patience=args.patience, confidence=args.confidence, tolerance=args.tolerance,
                        min_delta=args.min_delta, selector_kwargs=hazards)
    methods = _names(args.methods)
    groups = {"core": list(CORE_FAMILIES), "stress": list(STRESS_FAMILIES), "heldout": list(HELDOUT_FAMILIES),
              "all": list(FAMILIES), "none": []}
    families = [f for item in _names(args.families) for f in groups.get(item, [item])]   # "core,my.py:fam"
    outcomes = []
    if families:
        outcomes += run_synthetic(families, _names(args.strategies), range(args.seeds), methods, settings,
                                  num_problems=args.problems, num_samples=args.samples,
                                  num_checkpoints=args.checkpoints, population=args.population,
                                  spacing=args.spacing,
                                  workers=args.workers, progress=args.progress)
    sources = None if args.real == "all" else [] if args.real == "none" else _names(args.real)
    curves = (load_real_curves(sources) if sources != [] else []) + [
        c for p in args.curves for c in load_curve_file(p, default_n=args.default_n, compute=args.compute_column)]
    if curves:
        outcomes += run_real(methods=methods, settings=settings, workers=args.workers, progress=args.progress,
                             curves=curves)
    if not outcomes:
        raise ValueError("nothing to run: --families none, --real none and no --curves")
    print(format_table(summarise(outcomes)))
    print()
    print(format_table(summarise(outcomes, by="suite")))
    if args.calibration and curves:
        print()
        print(format_calibration(projection_calibration(curves=curves)))
    if args.calibration and families:
        print()
        print(format_calibration(synthetic_calibration(
            families, range(args.seeds), strategy=_names(args.strategies)[0], num_problems=args.problems,
            num_samples=args.samples, num_checkpoints=args.checkpoints, population=args.population,
            spacing=args.spacing, workers=args.workers, progress=args.progress), label="family"))
    if args.json:
        from ttc_fast.evallog import write_log
        write_log(args.json, [o.to_dict() for o in outcomes])
    return 0


_PARSERS.append(_add_bench_decision_parser)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ttc-fast",
        description="Test-time-compute-aware early stopping: estimators, FLOPs, selection, sampling.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _PARSERS:
        add(sub)
    args = parser.parse_args(argv)
    import signal
    import threading
    import warnings
    terminated = []

    def on_term(signum, frame):  # SIGTERM ends a command as Ctrl-C does: worker processes ended, files closed
        terminated.append(signum)
        raise KeyboardInterrupt

    term = None
    if threading.current_thread() is threading.main_thread():
        term = signal.signal(signal.SIGTERM, on_term)
    show = warnings.showwarning

    def one_line(message, category, filename, lineno, file=None, line=None):  # no source line for users
        print(f"ttc-fast {args.command}: warning: {message}", file=sys.stderr)

    warnings.showwarning = one_line
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (ValueError, TypeError, OSError) as err:  # OSError: a path that is a directory, no permission, ...
        print(f"ttc-fast {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ttc-fast {args.command}: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        warnings.showwarning = show
        if term is not None:
            signal.signal(signal.SIGTERM, term)


if __name__ == "__main__":
    sys.exit(main())
