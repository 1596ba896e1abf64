"""The selector's journal: one JSON line per update after a header with the settings (resume after a restart).

Line 1 is ``{"type": "header", "version": 4, "config": TTCEarlyStopping.config()}``; every update appends
``HistoryEntry.to_record()`` (the checkpoint's TTC curve, its evaluation cost, a content hash of its inputs and
the decision). A new :class:`~ttc_fast.selector.rule.TTCEarlyStopping` on an existing journal replays the records
through the same rule (so it ends where the interrupted run was) if the settings are the same; otherwise it is
refused with the first differing setting named. A re-sent update for a journaled step must carry the same
evaluation (its hash), unless the selector was made with ``resume="force"``.

Older journals resume for ``method="sigmoid"`` (the paper's procedure is unchanged; version 1 ones if written
with the paper's filter settings) and are refused for the ``exact`` method, whose decisions replaying them would
not reproduce: version 1 (ttc_fast before the v2 selector: another projection and stop rule), version 2 (the
projection fitted on the accuracy scale; version 3 fits it on the logit scale) and version 3 (no late-gain hazard:
version 4 adds ``gain_hazard``).
"""
from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ttc_fast import jsonl

JOURNAL_VERSION = 4
# version 1 settings that version 2 no longer has, with the values the paper's method was run with
_V1_PAPER = {"monotone_filter": True, "filter_tolerance": 0.0, "fit_alpha": 0.0}


def append_line(path: str, record: Mapping[str, Any]) -> None:
    """Appends one JSON line in a single write, then flush + fsync (a crash leaves at most a partial last line,
    which the next append cuts off); :func:`ttc_fast.jsonl.append`."""
    jsonl.append(path, dict(record))


def read_journal(path: str) -> list[dict[str, Any]]:
    """Records of a journal (a missing file is an empty journal). An unterminated last line is repaired first
    (:func:`ttc_fast.jsonl.repair_tail`): a complete record whose newline was lost gets it back, an incomplete one
    (a write interrupted by a crash) is cut off the file with a warning. Any other line that is not valid JSON
    raises ValueError naming the file and the line."""
    if not os.path.exists(path):
        return []
    jsonl.repair_tail(path)
    try:
        return [rec for _, rec in jsonl.read(path)]
    except jsonl.JSONLError as err:
        raise ValueError(f"journal {path}: line {err.lineno} is {err.problem} (only an unterminated last line, an "
                         f"interrupted append, is tolerated)") from None


def open_journal(stopper: Any) -> None:
    """Creates ``stopper.journal`` with a header, or resumes it: checks the header, then replays every update."""
    from ttc_fast.selector.types import HistoryEntry
    path = stopper.journal
    records = read_journal(path)
    config = json.loads(json.dumps(stopper.config()))  # normalised as it would be stored
    if not records:
        append_line(path, {"type": "header", "version": JOURNAL_VERSION, "config": config})
        return
    header = records[0]
    if header.get("type") != "header" or not isinstance(header.get("config"), Mapping):
        raise ValueError(f"journal {path}: line 1 is not a header record")
    stored = dict(header["config"])
    version = header.get("version")
    if version == 1:
        legacy = {k: stored.pop(k, v) for k, v in _V1_PAPER.items()}
        if stored.get("method") != "sigmoid" or legacy != _V1_PAPER:
            raise ValueError(f"journal {path} was written by the version 1 selector (method "
                             f"{stored.get('method')!r}); this version's exact method projects and decides "
                             f"differently, so it cannot resume it: use a new journal path")
        stored.setdefault("patience_mode", "count")
        for k in ("calibrate", "step_hazard"):  # settings of the exact method only
            stored.setdefault(k, config.get(k))
    elif version in (2, 3):
        if stored.get("method") != "sigmoid":
            what = ("projected on the accuracy scale; this version projects on the logit scale" if version == 2 else
                    "had no late-gain hazard; this version's projection adds one (gain_hazard)")
            raise ValueError(f"journal {path} was written by the version {version} selector, whose exact method "
                             f"{what} and decides differently, so it cannot resume it: use a new journal path")
    elif version != JOURNAL_VERSION:
        raise ValueError(f"journal {path}: unknown version {version!r} (this ttc_fast writes {JOURNAL_VERSION})")
    if version != JOURNAL_VERSION:
        stored.setdefault("gain_hazard", config.get("gain_hazard"))   # a setting of the exact method only
    diff = [k for k in sorted(set(stored) | set(config)) if stored.get(k) != config.get(k)]
    if diff:
        k = diff[0]
        raise ValueError(f"journal {path} was written with {k}={stored.get(k)!r}; this selector has "
                         f"{k}={config.get(k)!r} (use another journal path or the same settings)")
    for lineno, rec in enumerate(records[1:], start=2):
        try:
            entry = HistoryEntry(
                step=int(rec["step"]), train_flops=float(rec["train_flops"]), acc1=float(rec["acc1"]),
                acc1_stderr=float(rec["acc1_stderr"]), ks=np.asarray(rec["ks"], dtype=np.int64),
                curve=np.asarray(rec["curve"], dtype=np.float64),
                curve_stderr=np.asarray(rec["curve_stderr"], dtype=np.float64),
                eval_flops=float(rec["eval_flops"]), num_problems=int(rec.get("num_problems", 0)),
                data_hash=str(rec.get("data_hash", "")))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"journal {path}: line {lineno}: bad update record ({err})") from None
        if stopper.history and entry.step <= stopper.history[-1].step:
            raise ValueError(f"journal {path}: line {lineno}: step {entry.step} does not increase")
        decision = stopper._ingest(entry)
        was = rec.get("decision")
        if was and (was.get("should_stop") != decision.should_stop or was.get("k") != decision.k
                    or was.get("patience_count") != decision.patience_count
                    or not _close(was.get("projected_accuracy"), decision.projected_accuracy)):
            warnings.warn(f"journal {path}: line {lineno}: the replayed decision differs from the recorded one "
                          f"(another ttc_fast version?)", RuntimeWarning, stacklevel=3)


def _close(a: Any, b: float) -> bool:
    if a is None:
        return True
    a = float(a)
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9 * max(1.0, abs(a))
