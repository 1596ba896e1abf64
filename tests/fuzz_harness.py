"""Runs fuzz cases in a child process, several per process, each under a time limit, and survives a case that
hangs or crashes the child (the rest run in a fresh child).

A case is ``Case(name, code, expect)``: ``code`` runs with ``exec`` in a namespace holding ``np``, ``ttc_fast``,
``T`` (a scratch directory), ``cli(argv) -> (rc, stdout, stderr)`` and whatever the batch's ``setup`` code defined;
it may set ``result``. ``expect`` is either ``Ok()`` (no exception: the code asserts the correct result itself) or
``Raises(types, pattern)`` (the exception is an instance of one of the named types, its message matches
``pattern``) or
``Exits(rc, pattern)`` for CLI cases (``cli`` returns ``rc`` and ``pattern`` is searched in stderr).

Protocol: the child prints ``@@START <i>`` before case i and ``@@RESULT <json>`` after it; the parent reads them
as they come, so a case that hangs (a C++ loop that ignores the alarm) or kills the child is identified, recorded as
``hung`` / ``crashed`` and skipped when the child is restarted.
"""
from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field

_CHILD = r'''
import contextlib, io, json, os, signal, sys, tempfile, traceback, warnings
import numpy as np
import ttc_fast
warnings.simplefilter("ignore")
T = tempfile.mkdtemp(prefix="fuzz_")

def cli(argv):
    from ttc_fast.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as e:  # argparse usage errors
            rc = e.code if isinstance(e.code, int) else 1
    return rc, out.getvalue(), err.getvalue()

class _Timeout(BaseException):
    pass

def _alarm(signum, frame):
    raise _Timeout()

signal.signal(signal.SIGALRM, _alarm)
spec = json.loads(sys.stdin.readline())
env = {"np": np, "ttc_fast": ttc_fast, "T": T, "cli": cli}
exec(spec["setup"], env)
for i, (code, limit) in enumerate(spec["cases"]):
    if i < spec["skip"]:
        continue
    print(f"@@START {i}", flush=True)
    ns = dict(env)
    res = {"i": i}
    signal.alarm(limit)
    try:
        exec(code, ns)
        res.update(status="ok", value=repr(ns.get("result"))[:300])
    except _Timeout:
        res.update(status="timeout")
    except BaseException as e:
        res.update(status="raised", type=type(e).__name__, message=str(e)[:3000],
                   mro=[c.__name__ for c in type(e).__mro__],
                   where=traceback.format_exc(limit=-2)[-600:])
    finally:
        signal.alarm(0)
    print("@@RESULT " + json.dumps(res), flush=True)
'''


@dataclass(frozen=True)
class Ok:
    def check(self, r: dict) -> str | None:
        if r["status"] == "ok":
            return None
        return _describe(r)


@dataclass(frozen=True)
class Raises:
    types: tuple[str, ...]
    pattern: str

    def check(self, r: dict) -> str | None:
        if r["status"] == "raised" and set(self.types) & set(r.get("mro", [r.get("type")])) \
                and re.search(self.pattern, r["message"], re.S):
            return None
        return f"expected {'/'.join(self.types)} matching {self.pattern!r}; got {_describe(r)}"


@dataclass(frozen=True)
class Exits:
    rc: int
    pattern: str

    def check(self, r: dict) -> str | None:
        return None if r["status"] == "ok" else _describe(r)  # the case's own assert checks rc and stderr


def _describe(r: dict) -> str:
    if r["status"] == "raised":
        return f"{r['type']}: {r['message'][:400]} [{r.get('where', '')[-300:]}]"
    return r["status"] + (f" ({r['value']})" if r.get("value") else "")


@dataclass(frozen=True)
class Case:
    name: str
    code: str
    expect: Ok | Raises | Exits = field(default_factory=Ok)
    limit: int = 20  # seconds for this case

    def source(self) -> str:
        code = textwrap.dedent(self.code).strip("\n")
        if isinstance(self.expect, Exits):
            code += (f"\nrc, out, err = result\nassert rc == {self.expect.rc}, (rc, err[-800:])\n"
                     f"assert __import__('re').search({self.expect.pattern!r}, err, __import__('re').S), err[-800:]\n"
                     f"assert 'Traceback' not in err, err[-800:]")
        return code


def run_cases(cases: list[Case], setup: str = "", *, grace: float = 10.0, env: dict | None = None) -> dict[str, dict]:
    """``{name: result}`` for every case; result ``status`` is ok / raised / timeout / hung / crashed."""
    payload = {"setup": textwrap.dedent(setup), "cases": [(c.source(), c.limit) for c in cases], "skip": 0}
    results: dict[int, dict] = {}
    child_env = dict(os.environ, **(env or {}))
    while payload["skip"] < len(cases):
        proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=child_env)
        proc.stdin.write(json.dumps(payload) + "\n")
        proc.stdin.flush()
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        current, deadline, pending = None, time.monotonic() + 300.0, b""  # setup gets 300 s
        fd, died = proc.stdout.fileno(), False
        while True:
            # unbuffered reads: a line already in a Python buffer would be invisible to select()
            if b"\n" not in pending:
                if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    proc.kill()
                    proc.wait()
                    if current is None:
                        raise RuntimeError(f"fuzz setup did not finish: {proc.stderr.read()[-2000:]}")
                    results[current] = {"status": "hung"}
                    payload["skip"] = current + 1
                    break
                chunk = os.read(fd, 65536)
                if chunk:
                    pending += chunk
                    continue
                died = True
            if died:  # the child died
                proc.wait()
                err = proc.stderr.read()
                if current is None:
                    raise RuntimeError(f"fuzz child failed before the first case (rc {proc.returncode}): "
                                       f"{err[-2000:]}")
                if current not in results:
                    results[current] = {"status": "crashed", "value": f"rc {proc.returncode}: {err[-300:]}"}
                payload["skip"] = max(results) + 1
                break
            raw, pending = pending.split(b"\n", 1)
            line = raw.decode("utf-8", "replace")
            if line.startswith("@@START "):
                current = int(line.split()[1])
                deadline = time.monotonic() + cases[current].limit + grace
            elif line.startswith("@@RESULT "):
                r = json.loads(line[len("@@RESULT "):])
                results[r["i"]] = r
                payload["skip"] = r["i"] + 1
                deadline = time.monotonic() + grace + 5.0
        if proc.poll() is None:
            proc.wait(timeout=30)
    return {cases[i].name: results[i] for i in range(len(cases))}


def failures(cases: list[Case], results: dict[str, dict]) -> list[str]:
    out = []
    for c in cases:
        msg = c.expect.check(results[c.name])
        if msg is not None:
            out.append(f"{c.name}: {msg}")
    return out
