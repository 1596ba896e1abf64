"""The selector's journal: one JSON line per update after a header with the settings (resume after a restart)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ttc_fast import jsonl

JOURNAL_VERSION = 1
# settings added after journals were first written: a header without them was written with these values
JOURNAL_LEGACY = {"filter_tolerance": 0.0, "fit_alpha": 0.0}


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
