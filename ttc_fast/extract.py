"""Answer extraction and grading: generations -> answer ids and correctness for the estimators and the selector.

Torch-free. ``extract`` maps each text to an answer string (or None: nothing found = an abstention);
``grade`` clusters equal normalised answers of a problem into ids and compares them with the reference.
"""
from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["extract", "grade", "normalize_answer", "EXTRACTORS"]

# a number: optional sign, digits with optional thousands commas, optional decimals / exponent; or ".5"
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+")
_CODE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)


def _last_number(text: str) -> str | None:
    found = _NUMBER.findall(text)
    return found[-1] if found else None


def _boxed(text: str) -> str | None:
    """Content of the LAST ``\\boxed{...}`` (or ``\\fbox{...}``), braces matched so ``\\boxed{\\frac{1}{2}}`` works."""
    best = None
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            best = text[m.end(): i - 1]
    return best


def _code(text: str) -> str | None:
    """The LAST fenced code block (```lang ... ```), without its fences."""
    blocks = _CODE.findall(text)
    return blocks[-1].strip("\n") if blocks else None


EXTRACTORS: dict[str, Callable[[str], str | None]] = {"number": _last_number, "boxed": _boxed, "code": _code}


def _regex(pattern: str) -> Callable[[str], str | None]:
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise ValueError(f"extractor 'regex:{pattern}' is not a valid regular expression: {e}") from None

    def f(text: str) -> str | None:
        last = None
        for m in rx.finditer(text):
            last = m
        if last is None:
            return None
        return last.group(1) if rx.groups else last.group(0)
    return f


def normalize_answer(ans: Any) -> str | None:
    """Canonical form for comparing answers: strip whitespace, ``$`` and LaTeX ``\\(``/``\\)`` delimiters, a
    trailing period and ``%``; lower case; collapse spaces; numbers lose thousands commas, a leading ``+`` and
    trailing zeros after the decimal point (``"1,000.50" -> "1000.5"``, ``"3.0" -> "3"``, ``"-0" -> "0"``).
    None stays None. Non-strings (ints, floats) are formatted first."""
    if ans is None:
        return None
    if isinstance(ans, float) and ans.is_integer():
        ans = int(ans)
    s = str(ans).strip()
    for a, b in (("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(a) and s.endswith(b):
            s = s[len(a): -len(b)]
    s = s.strip().strip("$").strip().rstrip(".").strip()
    s = s.replace("\\%", "%").rstrip("%").strip().lstrip("$").strip()
    s = re.sub(r"\s+", " ", s).lower()
    if _NUMBER.fullmatch(s):
        s = s.replace(",", "").lstrip("+")
        if "e" not in s and "." in s:
            s = s.rstrip("0").rstrip(".")
        if s.startswith("-") and s[1:].replace(".", "").strip("0") == "":
            s = s[1:]
        if s.startswith(".") or s.startswith("-."):
            s = s.replace(".", "0.", 1)
    return s


def _resolve(extractor: Any) -> Callable[[str], str | None]:
    if callable(extractor):
        return extractor
    if isinstance(extractor, str):
        if extractor.startswith("regex:"):
            return _regex(extractor[len("regex:"):])
        if extractor in EXTRACTORS:
            return EXTRACTORS[extractor]
    raise ValueError(f"extractor must be one of {sorted(EXTRACTORS)}, 'regex:<pattern>' or a callable, "
                     f"got {extractor!r}")


def extract(texts: Any, extractor: str | Callable[[str], str | None] = "number", *, normalize: bool = True) -> Any:
    """Extract an answer from every text, keeping the nesting of ``texts`` (a string, or lists of lists of strings).

    Args:
        texts: a string or a (nested) list of strings, e.g. ``Samples.texts`` ``[prompt][sample]``; None entries
            stay None.
        extractor: ``"number"`` (last number), ``"boxed"`` (last ``\\boxed{...}``, nested braces),
            ``"code"`` (last fenced code block), ``"regex:<pattern>"`` (last match; group 1 when the pattern has a
            group) or a callable ``str -> str | None``.
        normalize: apply :func:`normalize_answer` to what was found (not for ``"code"``, whose text is kept as is).

    Returns: the same nesting with a string or None (nothing matched: an abstention) per text.
    """
    f = _resolve(extractor)
    norm = normalize and extractor != "code"

    def one(t):
        if t is None:
            return None
        if isinstance(t, str):
            found = f(t)
            if found is not None and not isinstance(found, str):
                found = str(found)
            return normalize_answer(found) if (norm and found is not None) else found
        if isinstance(t, (list, tuple)):
            return [one(x) for x in t]
        raise TypeError(f"texts must contain strings or lists of strings, got {type(t).__name__}")
    return one(texts)


def grade(extracted: Sequence[Sequence[str | None]], references: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Answer ids and correctness, the inputs of ``maj_at_k`` / ``pass_at_k`` and the selector.

    Args:
        extracted: ``[P][n_i]`` answers (strings or None = abstention), e.g. from :func:`extract`.
        references: ``[P]`` the reference answer of each problem (string or number; a list/tuple of accepted
            answers also works). Both sides are compared after :func:`normalize_answer`.

    Returns: ``(answer_ids, correct)``: int64 ``(P, N)`` with N = max n_i, ids numbering the distinct normalised
    answers of each problem in order of first appearance (0, 1, ...), -1 for None, -2 padding for ragged rows;
    bool ``(P, N)`` (False for None and padding).
    """
    if len(extracted) != len(references):
        raise ValueError(f"extracted has {len(extracted)} problems but references has {len(references)}")
    P = len(extracted)
    N = max((len(row) for row in extracted), default=0)
    ids = np.full((P, N), -2, dtype=np.int64)
    correct = np.zeros((P, N), dtype=np.bool_)
    for p, (row, ref) in enumerate(zip(extracted, references)):
        if isinstance(row, str):
            raise TypeError(f"extracted[{p}] must be a list of answers, got a string")
        refs = ref if isinstance(ref, (list, tuple)) else [ref]
        ok = {normalize_answer(r) for r in refs} - {None}
        seen: dict[str, int] = {}
        for j, ans in enumerate(row):
            a = normalize_answer(ans)
            if a is None:
                ids[p, j] = -1
                continue
            ids[p, j] = seen.setdefault(a, len(seen))
            correct[p, j] = a in ok
    return ids, correct


class _CallableModule(types.ModuleType):
    """``ttc_fast.extract`` names both this module and its function. Importing the module (``from
    ttc_fast.extract import grade``) binds the package attribute to the module, which would shadow the function
    exported by ``ttc_fast.__init__``; so the module object itself forwards calls to :func:`extract`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return extract(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
