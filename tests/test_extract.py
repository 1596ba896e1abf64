"""ttc_fast.extract / grade: extractors, normalisation, clustering into answer ids (checked against a
hand-rolled Counter-free oracle), abstentions, ragged rows, errors, and that the module needs no torch."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from ttc_fast.extract import extract, grade, normalize_answer


@pytest.mark.parametrize("text,expected", [
    ("The answer is 42.", "42"),
    ("first 3 then 1,234.50 dollars", "1234.5"),        # last number, thousands comma, trailing zero
    ("x = -7, so y = +3.0", "3"),                         # sign and trailing .0
    ("it costs $1,000", "1000"),
    ("about .5 of it", "0.5"),
    ("no digits here", None),
    ("", None),
    ("growth 12% in 2023", "2023"),
    ("1e3 or 2.5E-2", "2.5e-2"),
])
def test_last_number(text, expected):
    assert extract(text, "number") == expected


@pytest.mark.parametrize("text,expected", [
    (r"so \boxed{42}", "42"),
    (r"\boxed{\frac{1}{2}} then \boxed{ 7 }", "7"),             # the LAST box
    (r"nested \boxed{\sqrt{\frac{a}{b}}} ok", r"\sqrt{\frac{a}{b}}"),
    (r"\fbox{Yes}", "yes"),                                    # case folded
    (r"unclosed \boxed{12", None),
    ("nothing", None),
    (r"\boxed{\$5}", r"\$5"),                                  # escaped dollar is kept as text
])
def test_boxed(text, expected):
    assert extract(text, "boxed") == expected


def test_regex_code_callable():
    assert extract("Answer: B ... Answer: C", r"regex:Answer:\s*([A-D])") == "c"  # last match, group 1
    assert extract("Answer: B", r"regex:Answer:\s*[A-D]") == "answer: b"          # no group: whole match
    assert extract("Answer: B", "regex:Answer: B", normalize=False) == "Answer: B"
    code = "text\n```python\ndef f():\n    return 1\n```\nmore\n```\nx = 2\n```"
    assert extract(code, "code") == "x = 2"                                   # last block, not normalised
    assert extract("```py\nA = 1\n```", "code") == "A = 1"
    assert extract("no block", "code") is None
    assert extract(["a", "bb"], lambda t: str(len(t))) == ["1", "2"]
    assert extract("x", lambda t: None) is None


def test_nesting_and_none_preserved():
    texts = [["1 and 2", None, "z"], [], ["3.50"]]
    assert extract(texts) == [["2", None, None], [], ["3.5"]]


def test_normalize_answer():
    cases = {"  42 ": "42", "42.": "42", "$42$": "42", "\\(42\\)": "42", "50%": "50", "50\\%": "50",
             "1,000,000": "1000000", "-0.0": "0", "+5": "5", "3.140": "3.14", "Paris": "paris",
             "New   York": "new york", "1,2": "1,2"}  # "1,2" is not a number with thousands separators
    for raw, want in cases.items():
        assert normalize_answer(raw) == want, raw
    assert normalize_answer(None) is None
    assert normalize_answer(3.0) == "3" and normalize_answer(7) == "7"


def test_grade_against_oracle():
    rng = np.random.default_rng(0)
    pool = ["1", "1.0", "2", "$2$", "3", None, "Three", "three"]
    extracted = [[pool[i] for i in rng.integers(0, len(pool), size=int(rng.integers(1, 9)))] for _ in range(40)]
    refs = [pool[i] for i in rng.integers(0, len(pool) - 3, size=40)]
    ids, correct = grade(extracted, refs)
    N = max(len(r) for r in extracted)
    assert ids.shape == (40, N) and ids.dtype == np.int64 and correct.dtype == np.bool_
    canon = {"1": "1", "1.0": "1", "2": "2", "$2$": "2", "3": "3", "Three": "three", "three": "three"}
    for p, (row, ref) in enumerate(zip(extracted, refs)):
        order: list[str] = []
        for j, a in enumerate(row):
            if a is None:
                assert ids[p, j] == -1 and not correct[p, j]
                continue
            c = canon[a]
            if c not in order:
                order.append(c)
            assert ids[p, j] == order.index(c)
            assert correct[p, j] == (ref is not None and c == canon[ref])
        assert (ids[p, len(row):] == -2).all() and not correct[p, len(row):].any()


def test_grade_accepts_numbers_and_alternatives():
    ids, correct = grade([["12", "12.0", "x", "1,2"]], [[12, "x"]])
    assert ids.tolist() == [[0, 0, 1, 2]] and correct.tolist() == [[True, True, True, False]]


def test_errors():
    with pytest.raises(ValueError, match="extractor must be one of"):
        extract("x", "last")
    with pytest.raises(ValueError, match="not a valid regular expression"):
        extract("x", "regex:(")
    with pytest.raises(TypeError, match="texts must contain strings"):
        extract([1, 2])
    with pytest.raises(ValueError, match="references has 1"):
        grade([["1"], ["2"]], ["1"])
    with pytest.raises(TypeError, match="list of answers"):
        grade(["12"], ["12"])


def test_torch_free():
    code = "import sys, ttc_fast.extract as e; e.extract('1'); e.grade([['1']], ['1']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_package_level_name_after_module_import():
    code = ("import ttc_fast; from ttc_fast.extract import grade; "
            "print(ttc_fast.extract('a 12 b'), ttc_fast.extract(['x 3'], 'number'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "12 ['3']"
