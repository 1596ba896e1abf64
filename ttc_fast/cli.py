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
