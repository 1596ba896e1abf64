"""The selector's journal: one JSON line per update after a header with the settings (resume after a restart)."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

JOURNAL_VERSION = 1
# settings added after journals were first written: a header without them was written with these values
JOURNAL_LEGACY = {"filter_tolerance": 0.0, "fit_alpha": 0.0}


def append_line(path: str, record: Mapping[str, Any]) -> None:
    """Appends one JSON line in a single write, then flush + fsync (a crash leaves at most a partial last line)."""
    line = json.dumps(record, separators=(",", ":")) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_journal(path: str) -> list[dict[str, Any]]:
    """Records of a journal; a truncated (unterminated, unparsable) last line is dropped and cut off the file."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    records: list[dict[str, Any]] = []
    pos = 0
    lineno = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        lineno += 1
        if end < 0:  # unterminated last line: a write interrupted by a crash
            try:
                records.append(json.loads(data[pos:]))
                with open(path, "ab") as f:  # complete record, only the newline was lost
                    f.write(b"\n")
            except ValueError:
                with open(path, "r+b") as f:
                    f.truncate(pos)
            break
        line = data[pos:end]
        pos = end + 1
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            raise ValueError(f"journal {path}: line {lineno} is not valid JSON (only an unterminated last line "
                             f"is tolerated)") from None
    return records

