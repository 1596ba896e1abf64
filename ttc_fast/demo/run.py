"""``ttc-fast demo``: a real TTC-aware training run, end to end, judged on held-out data.

1. Trains a small Llama from scratch on :class:`~ttc_fast.demo.task.ChainTask` (chains of arithmetic mod 10 with
   the running values written out, the answer last), saving real checkpoints (:mod:`ttc_fast.demo.train`).
2. After each checkpoint: loads it back from disk with ``ttc_fast.load_model``, draws ``n`` samples per validation
   problem with ``ttc_fast.generate``, extracts and grades answers (``ttc_fast.extract`` / ``grade``), appends the
   record to ``eval_log.jsonl`` and feeds three rules online: ``TTCEarlyStopping`` (method "exact", ttc_fast's
   default), ``TTCEarlyStopping(method="sigmoid")`` (the source paper's procedure) and ``NaiveEarlyStopping``
   (patience on single-sample accuracy). Nothing stops the run: where each rule *would* have stopped is recorded.
3. At the end, every checkpoint is sampled on the held-out test split (``test_eval_log.jsonl``) and the exact
   estimators give its accuracy at every K. ``REPORT.md`` (+ figures, + ``summary.json``) compares, for each rule,
   the deployed (checkpoint, K*) on the test split with the final checkpoint's single-sample test accuracy, and
   gives the training FLOPs saved (gross and net of the evaluation samples) and the break-even query count. If a
   rule was wrong on the test split, the report says so.

FLOPs: ``ttc_fast.training_flops`` / ``inference_flops``, Kaplan convention, one multiply-add = 2 FLOPs.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ttc_fast.demo.task import ChainTask, write_problems
from ttc_fast.demo.train import TrainConfig, checkpoint_steps, llama_config, total_train_tokens, train
from ttc_fast.evallog import append_record, make_record


@dataclass
class DemoConfig:
    """Everything a demo run depends on. :meth:`preset` gives the full and the ``--quick`` settings."""
    steps: int = 2400
    checkpoint_every: int = 150
    model_size: str = "small"
    batch_size: int = 64
    lr: float = 3e-3
    num_ops: int = 4
    noise: float = 0.05      # per-step mistake rate of the training chains (see ChainTask)
    num_val: int = 64
    num_test: int = 256
    n: int = 16              # samples per validation problem at every checkpoint (what the selector sees)
    n_test: int = 32         # samples per test problem in the final evaluation (K = 1..n_test)
    temperature: float = 0.8
    strategy: str = "maj"
    patience: int = 3
    confidence: float = 0.95
    seed: int = 0
    quick: bool = False

    @classmethod
    def preset(cls, quick: bool = False, **overrides: Any) -> DemoConfig:
        """Full demo (<= 10 min on 2 idle cores) or ``quick`` (< 2 min: tests and CI); None overrides ignored."""
        base = cls(steps=400, checkpoint_every=40, model_size="small", num_val=48, num_test=96, n=8, n_test=16,
                   patience=2, quick=True) if quick else cls()
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    def train_config(self) -> TrainConfig:
        return TrainConfig(steps=self.steps, batch_size=self.batch_size, checkpoint_every=self.checkpoint_every,
                           lr=self.lr, warmup=max(1, min(50, self.steps // 10)), model_size=self.model_size,
                           seed=self.seed)

    def task(self) -> ChainTask:
        w = [0.0] * (self.num_ops - 1) + [1.0]  # every problem has num_ops operations
        return ChainTask(max_ops=self.num_ops, num_val=self.num_val, num_test=self.num_test, seed=self.seed,
                         op_weights=w, noise=self.noise)


@dataclass
class _Online:
    """Per-rule bookkeeping during training: the first stopping decision and every decision."""
    name: str
    stopper: Any
    first_stop: Any = None
    decisions: list = field(default_factory=list)


def _sample(model, problems, *, n, max_new_tokens, temperature, seed, step):
    from ttc_fast.evaluate import grade_chunks, sample_problems

    chunks = sample_problems(model, [p.prompt for p in problems], n=n, max_new_tokens=max_new_tokens,
                             extractor="number", seed=seed, step=step, chunk_size=len(problems),
                             temperature=temperature)
    return grade_chunks(chunks, [p.answer for p in problems])


def _curves(answers: np.ndarray, correct: np.ndarray, ks: list[int]) -> dict[str, Any]:
    """maj@K and pass@K (exact, unbiased) with per-problem values."""
    from ttc_fast.estimators import maj_at_k, pass_at_k

    maj = maj_at_k(answers, correct, ks, per_problem=True)
    n = np.full(correct.shape[0], correct.shape[1], dtype=np.int64)
    pas = pass_at_k(n, correct.sum(axis=1).astype(np.int64), ks, per_problem=True)
    return {"ks": ks, "maj": maj, "pass": pas}


def run_demo(out_dir: str | os.PathLike, cfg: DemoConfig | None = None, *, progress: bool = True,
             log=print) -> dict[str, Any]:
    """Runs the whole demo into ``out_dir`` (its previous demo files are replaced); returns ``summary.json``'s
    content. See the module docstring."""
    import torch
    from tqdm.auto import tqdm

    import ttc_fast
    from ttc_fast.flops import ModelSpec, inference_flops, training_flops
    from ttc_fast.selector import NaiveEarlyStopping, TTCEarlyStopping

    cfg = cfg or DemoConfig()
    t_start = time.perf_counter()
    out = os.fspath(out_dir)
    os.makedirs(out, exist_ok=True)
    for name in ("checkpoints", "report", "eval_log.jsonl", "test_eval_log.jsonl", "selector_journal.jsonl",
                 "REPORT.md", "summary.json"):
        p = os.path.join(out, name)
        if os.path.isdir(p):
            shutil.rmtree(p)
        elif os.path.exists(p):
            os.remove(p)
    torch.manual_seed(cfg.seed)
    task = cfg.task()
    tcfg = cfg.train_config()
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    write_problems(task.val, os.path.join(out, "data", "val.jsonl"))
    write_problems(task.test, os.path.join(out, "data", "test.jsonl"))

    hf_config = llama_config(task, cfg.model_size)
    spec = ModelSpec.from_hf_config(hf_config.to_dict())
    budget_tokens = total_train_tokens(task, tcfg)
    budget = float(training_flops(spec, budget_tokens, seq_len=task.max_len))
    prompt_len = len(task.val[0].prompt) + 1          # characters + <bos>; every prompt has the same length
    gen_len = task.max_new_tokens                     # running values + <eos>
    common = dict(strategy=cfg.strategy, patience=cfg.patience, spec=spec, prompt_len=prompt_len, gen_len=gen_len)
    rules = [_Online("ttc_exact", TTCEarlyStopping(budget, method="exact", confidence=cfg.confidence,
                                                   journal=os.path.join(out, "selector_journal.jsonl"), **common)),
             _Online("ttc_sigmoid", TTCEarlyStopping(budget, method="sigmoid", **common)),
             _Online("naive", NaiveEarlyStopping(patience=cfg.patience, budget_flops=budget))]
    eval_per_update = float(inference_flops(spec, prompt_len, gen_len, cfg.n)) * len(task.val)
    log(f"demo: {cfg.model_size} Llama ({spec.num_params():,} parameters), {cfg.steps} steps x {cfg.batch_size} "
        f"problems, {len(checkpoint_steps(tcfg))} checkpoints; budget {budget:.3e} training FLOPs; "
        f"validation {len(task.val)} problems x n={cfg.n}, test {len(task.test)} x n={cfg.n_test}")
    val_log = os.path.join(out, "eval_log.jsonl")
    timings = {"train_and_val": 0.0, "validation_sampling": 0.0, "test_sampling": 0.0}

    def on_checkpoint(ckpt, live_model) -> None:
        t0 = time.perf_counter()
        model = ttc_fast.load_model(ckpt.path)       # the saved files, not the live weights
        res = _sample(model, task.val, n=cfg.n, max_new_tokens=gen_len, temperature=cfg.temperature,
                      seed=cfg.seed, step=ckpt.step)
        rec = make_record(step=ckpt.step, train_flops=ckpt.train_flops, train_tokens=ckpt.train_tokens,
                          ids=[p.id for p in task.val], answers=res["answers"], correct=res["correct"],
                          meta={"split": "val", "checkpoint": os.path.relpath(ckpt.path, out), "n": cfg.n,
                                "max_new_tokens": gen_len, "temperature": cfg.temperature, "seed": cfg.seed,
                                "extractor": "number", "abstentions": int((res["answers"] == -1).sum())})
        append_record(val_log, rec)
        line = [f"step {ckpt.step:5d}  loss {ckpt.loss:.3f}  val acc@1 {res['correct'].mean():.3f}"]
        for r in rules:
            d = r.stopper.update(step=ckpt.step, train_flops=ckpt.train_flops, answers=res["answers"],
                                 correct=res["correct"])
            r.decisions.append(d)
            if d.should_stop and r.first_stop is None:
                r.first_stop = d
                line.append(f"{r.name}: would STOP (K={d.k})")
        timings["validation_sampling"] += time.perf_counter() - t0
        if progress:
            tqdm.write("  ".join(line))

    t0 = time.perf_counter()
    checkpoints = train(task, tcfg, os.path.join(out, "checkpoints"), on_checkpoint=on_checkpoint,
                        progress=progress)
    timings["train_and_val"] = time.perf_counter() - t0

    # ---- held-out test evaluation of every checkpoint at every K
    t0 = time.perf_counter()
    test_log = os.path.join(out, "test_eval_log.jsonl")
    ks = list(range(1, cfg.n_test + 1))
    test: dict[int, dict[str, Any]] = {}
    for ckpt in tqdm(checkpoints, desc="test eval", unit="ckpt", disable=not progress, dynamic_ncols=True):
        model = ttc_fast.load_model(ckpt.path)
        res = _sample(model, task.test, n=cfg.n_test, max_new_tokens=gen_len, temperature=cfg.temperature,
                      seed=cfg.seed + 1, step=ckpt.step)
        append_record(test_log, make_record(
            step=ckpt.step, train_flops=ckpt.train_flops, train_tokens=ckpt.train_tokens,
            ids=[p.id for p in task.test], answers=res["answers"], correct=res["correct"],
            meta={"split": "test", "checkpoint": os.path.relpath(ckpt.path, out), "n": cfg.n_test,
                  "max_new_tokens": gen_len, "temperature": cfg.temperature, "seed": cfg.seed + 1,
                  "extractor": "number"}))
        test[ckpt.step] = _curves(res["answers"], res["correct"], ks)
    timings["test_sampling"] = time.perf_counter() - t0

    summary = _summarise(cfg, task, checkpoints, rules, test, budget, eval_per_update, spec, prompt_len, gen_len)
    summary["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    summary["wall_time_s"] = round(time.perf_counter() - t_start, 2)
    _write_report(out, cfg, summary, rules, test, checkpoints)
    summary["wall_time_s"] = round(time.perf_counter() - t_start, 2)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=_json_default)
    return summary


def _json_default(x: Any) -> Any:
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x).__name__)


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _summarise(cfg, task, checkpoints, rules, test, budget, eval_per_update, spec, prompt_len, gen_len
               ) -> dict[str, Any]:
    """Every number of the report, measured in this run."""
    from ttc_fast.flops import inference_flops

    final = checkpoints[-1]
    fin = test[final.step]["maj"]  # maj@1 == pass@1 == single-sample accuracy
    final_pp = fin.per_problem[:, 0]
    final_acc1, final_se = float(final_pp.mean()), float(final_pp.std(ddof=1) / math.sqrt(final_pp.size))
    import torch
    with open(os.path.join(final.path, "model.safetensors"), "rb") as fh:
        weights = hashlib.sha256(fh.read()).hexdigest()[:12]
    # the numerics fingerprint: two machines with the same one trained the same weights, bit for bit
    numerics = {"weights_sha256": weights, "MKL_CBWR": os.environ.get("MKL_CBWR", ""),
                "cpu_capability": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__}
    out: dict[str, Any] = {
        "numerics": numerics, "config": asdict(cfg), "budget_flops": budget, "num_checkpoints": len(checkpoints),
        "model_params": spec.num_params(), "prompt_len": prompt_len, "gen_len": gen_len,
        "final": {"step": final.step, "train_flops": final.train_flops, "test_acc1": final_acc1,
                  "test_acc1_stderr": final_se,
                  "test_maj": {str(k): float(fin.mean[k - 1]) for k in (1, 2, 4, 8, 16, 32) if k <= cfg.n_test}},
        "eval_flops_per_checkpoint": eval_per_update,
        "checkpoints": [{"step": c.step, "train_tokens": c.train_tokens, "train_flops": c.train_flops,
                         "loss": c.loss,
                         "test_maj": [float(v) for v in test[c.step]["maj"].mean],
                         "test_pass": [float(v) for v in test[c.step]["pass"].mean]} for c in checkpoints],
        "rules": {},
    }
    idx = {c.step: i for i, c in enumerate(checkpoints)}
    # the best stop in hindsight, on the test split: the earliest checkpoint at which some K <= n_test is at least
    # as accurate as the final checkpoint with one sample (the saving a perfect rule could have taken)
    curve_name = "maj" if cfg.strategy == "maj" else "pass"
    for c in checkpoints:
        means = test[c.step][curve_name].mean
        ok = np.flatnonzero(means >= final_acc1)
        if ok.size:
            k = int(ok[0]) + 1
            out["oracle"] = {"step": c.step, "k": k, "test_acc": float(means[k - 1]),
                             "train_flops": c.train_flops, "flops_saved": max(budget - c.train_flops, 0.0) / budget}
            break
    for r in rules:
        d = r.first_stop
        info: dict[str, Any] = {"stopped": d is not None}
        if d is None:
            last = r.decisions[-1]
            info.update(step=final.step, k=1, reason=f"never stopped; last decision: {last.reason}",
                        flops_saved=0.0, flops_saved_abs=0.0)
            d_step, k = final.step, 1
        else:
            d_step, k = d.step, int(d.k if d.k is not None else 1)
            n_evals = idx[d.step] + 1
            eval_flops = eval_per_update * n_evals
            saved = max(budget - d.train_flops, 0.0)
            extra = float(inference_flops(spec, prompt_len, gen_len, k) - inference_flops(spec, prompt_len,
                                                                                          gen_len, 1))
            info.update(step=d.step, train_flops=d.train_flops, k=k, reason=d.reason,
                        val_acc_at_k=_finite(d.accuracy), val_acc1=_finite(d.accuracy_k1),
                        projected_accuracy=_finite(d.projected_accuracy),
                        flops_saved=saved / budget, flops_saved_abs=saved,
                        eval_flops=eval_flops, net_flops_saved=(saved - eval_flops) / budget,
                        net_flops_saved_abs=saved - eval_flops,
                        extra_inference_flops_per_query=extra,
                        break_even_queries=(saved / extra) if extra > 0 else math.inf,
                        net_break_even_queries=(max(saved - eval_flops, 0.0) / extra) if extra > 0 else math.inf,
                        selector_fields={key: getattr(d, key) for key in (
                            "flops_saved", "net_flops_saved", "eval_flops", "break_even_queries",
                            "net_break_even_queries", "extra_inference_flops_per_query")})
        k_test = min(k, cfg.n_test)
        strat = "maj" if r.name == "naive" else cfg.strategy
        curve = test[d_step]["maj" if strat == "maj" else "pass"]
        pp = curve.per_problem[:, k_test - 1]
        diff = pp - final_pp  # paired over the same test problems
        dse = float(diff.std(ddof=1) / math.sqrt(diff.size))
        dmean = float(diff.mean())
        if dmean >= 0:
            verdict = "right"
        elif dmean >= -2 * dse:
            verdict = "within noise"
        else:
            verdict = "wrong"
        info.update(test_step=d_step, test_k=k_test, test_strategy=strat, test_acc=float(pp.mean()),
                    test_acc_stderr=float(pp.std(ddof=1) / math.sqrt(pp.size)), diff_vs_final_acc1=dmean,
                    diff_stderr=dse, verdict=verdict if d is not None else "no stop")
        out["rules"][r.name] = info
    return out


def _fmt_pct(x: float | None, se: float | None = None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100 * x:.1f}%" + (f" ± {100 * se:.1f}" if se is not None and math.isfinite(se) else "")


def _write_report(out: str, cfg: DemoConfig, s: dict[str, Any], rules, test, checkpoints) -> None:
    from ttc_fast import report

    rep = os.path.join(out, "report")
    os.makedirs(rep, exist_ok=True)
    exact = next(r for r in rules if r.name == "ttc_exact")
    figs: dict[str, str] = {}
    d = exact.first_stop or exact.decisions[-1]
    try:
        paths = report.write_report(exact.stopper, d, os.path.join(rep, "selector"),
                                    title="TTC-aware selector (validation split, online)")
        figs.update({k: os.path.relpath(str(v), out) for k, v in paths.items() if str(v).endswith(".png")})
        figs["selector_summary"] = os.path.relpath(str(paths["summary"]), out)
    except Exception as err:  # the report module is another branch's: keep the demo's own report either way
        figs["selector_report_error"] = f"{type(err).__name__}: {err}"
    figs["test_accuracy"] = os.path.relpath(_plot_test(rep, cfg, s, checkpoints), out)
    names = {"ttc_exact": "TTC-aware (exact, ttc_fast default)", "ttc_sigmoid": "TTC-aware (paper's sigmoid)",
             "naive": "Naive early stopping (K = 1)"}
    f = s["final"]
    L = ["# ttc-fast demo report", "",
         f"Task: chains of {cfg.num_ops} operations mod 10 (running values written out, answer last); "
         f"{cfg.model_size} Llama with {s['model_params']:,} parameters trained from scratch for {cfg.steps} steps "
         f"({s['budget_flops']:.3e} training FLOPs, Kaplan convention, multiply-add = 2 FLOPs), "
         f"{s['num_checkpoints']} checkpoints. Selectors fed online with {cfg.num_val} validation problems x "
         f"n = {cfg.n} samples per checkpoint (strategy {cfg.strategy}@K, patience {cfg.patience}, "
         f"confidence {cfg.confidence}); judged on {cfg.num_test} held-out test problems x n = {cfg.n_test}. "
         f"Temperature {cfg.temperature}. Wall time {s['wall_time_s']:.0f} s. Final weights sha256 "
         f"`{s['numerics']['weights_sha256']}` (MKL_CBWR={s['numerics']['MKL_CBWR']}, ATen "
         f"{s['numerics']['cpu_capability']}, torch {s['numerics']['torch']}): the same on another machine means "
         f"the same checkpoints, bit for bit.", "",
         f"**Final checkpoint** (step {f['step']}): single-sample test accuracy "
         f"**{_fmt_pct(f['test_acc1'], f['test_acc1_stderr'])}**; "
         + ", ".join(f"maj@{k} {_fmt_pct(v)}" for k, v in f["test_maj"].items()) + ".", "",
         "| rule | stops at step | K* | val acc at K* | test acc of (ckpt, K*) | vs final acc@1 (paired) | verdict "
         "| training FLOPs saved | net of eval | break-even queries (net) |",
         "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for name, r in s["rules"].items():
        if r["stopped"]:
            kk = str(r["k"]) if r["k"] == r["test_k"] else f"{r['k']} (test at K={r['test_k']}: n_test)"
            L.append(f"| {names[name]} | {r['step']} | {kk} | {_fmt_pct(r.get('val_acc_at_k'))} | "
                     f"{_fmt_pct(r['test_acc'], r['test_acc_stderr'])} | "
                     f"{100 * r['diff_vs_final_acc1']:+.1f} ± {100 * r['diff_stderr']:.1f} pts | "
                     f"**{r['verdict']}** | {_fmt_pct(r['flops_saved'])} | {_fmt_pct(r['net_flops_saved'])} | "
                     f"{r['break_even_queries']:.3g} ({r['net_break_even_queries']:.3g}) |")
        else:
            L.append(f"| {names[name]} | never | - | - | {_fmt_pct(r['test_acc'], r['test_acc_stderr'])} "
                     f"(final, K=1) | - | no stop | 0% | 0% | - |")
    o = s.get("oracle")
    if o is not None:
        L.append(f"| Best stop in hindsight (test split) | {o['step']} | {o['k']} | - | {_fmt_pct(o['test_acc'])} "
                 f"| {100 * (o['test_acc'] - f['test_acc1']):+.1f} pts | oracle | {_fmt_pct(o['flops_saved'])} | - "
                 f"| - |")
    L += ["", "Verdict: *right* when the deployed (checkpoint, K*) is at least as accurate on the test split as the "
          "fully trained model with one sample; *within noise* when lower by less than 2 standard errors of the "
          "paired difference; *wrong* otherwise. Net savings subtract the FLOPs of every validation sample drawn "
          "up to the stop. Break-even: queries served with K* samples before the extra inference FLOPs use up the "
          "training FLOPs saved (infinite when K* = 1).", ""]
    for name, r in s["rules"].items():
        if r["stopped"] and r["verdict"] != "right":
            L.append(f"- **{names[name]} was {'wrong' if r['verdict'] == 'wrong' else 'not confirmed'}**: "
                     f"its deployment is {100 * -r['diff_vs_final_acc1']:.1f} points below the final "
                     f"checkpoint's single-sample test accuracy.")
        elif r["stopped"]:
            L.append(f"- {names[name]} was right on the test split ({100 * r['diff_vs_final_acc1']:+.1f} points).")
        else:
            L.append(f"- {names[name]} did not stop ({r['reason']}).")
    L += ["", "Reasons given by each rule when it stopped:", ""]
    for name, r in s["rules"].items():
        L.append(f"- {names[name]}: {r['reason']}")
    L += ["", "## Test accuracy by checkpoint (maj@K, exact estimator over n = "
          f"{cfg.n_test} samples)", ""]
    kcols = [k for k in (1, 2, 4, 8, 16, 32, 64) if k <= cfg.n_test]
    L.append("| step | training FLOPs | loss | " + " | ".join(f"maj@{k}" for k in kcols) + " | pass@"
             + str(kcols[-1]) + " |")
    L.append("|---:|---:|---:|" + "---:|" * (len(kcols) + 1))
    for c in s["checkpoints"]:
        L.append(f"| {c['step']} | {c['train_flops']:.3e} | {c['loss']:.3f} | "
                 + " | ".join(f"{100 * c['test_maj'][k - 1]:.1f}" for k in kcols)
                 + f" | {100 * c['test_pass'][kcols[-1] - 1]:.1f} |")
    L += ["", "## Files", "",
          "- `eval_log.jsonl`: the validation evaluations the selectors saw (eval-log format; "
          f"`ttc-fast select eval_log.jsonl --budget-flops {s['budget_flops']:.6e} --config "
          f"checkpoints/step-{checkpoints[-1].step:06d} --patience {cfg.patience}` replays the decision offline)",
          "- `test_eval_log.jsonl`: the held-out evaluations; `checkpoints/`: Hugging Face checkpoints "
          "(config.json, model.safetensors, tokenizer.json, trainer_state.json); `data/`: val/test problems "
          "(`ttc-fast eval` format); `selector_journal.jsonl`: the online selector's journal.", ""]
    for name, rel in figs.items():
        if rel.endswith(".png"):
            L += [f"![{name}]({rel})", ""]
        elif name == "selector_summary":
            L += [f"Selector's own report (validation): [{rel}]({rel})", ""]
        else:
            L += [f"(selector report not written: {rel})", ""]
    with open(os.path.join(out, "REPORT.md"), "w") as fh:
        fh.write("\n".join(L))


def _plot_test(rep: str, cfg: DemoConfig, s: dict[str, Any], checkpoints) -> str:
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = np.array([c["train_flops"] for c in s["checkpoints"]])
    for k in (1, 2, 4, 8, 16, 32):
        if k <= cfg.n_test:
            ax.plot(x, [100 * c["test_maj"][k - 1] for c in s["checkpoints"]], marker=".", label=f"maj@{k}")
    ax.axhline(100 * s["final"]["test_acc1"], color="k", ls="--", lw=1, label="final ckpt, K=1")
    marks = {"ttc_exact": ("*", "C3"), "ttc_sigmoid": ("D", "C4"), "naive": ("s", "C7")}
    for name, r in s["rules"].items():
        if r["stopped"]:
            ax.plot([r["train_flops"]], [100 * r["test_acc"]], marks[name][0], color=marks[name][1], ms=12,
                    label=f"{name} stop (K={r['k']})")
    ax.set_xlabel("training FLOPs")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Held-out test accuracy vs training compute")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(rep, "test_accuracy.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
