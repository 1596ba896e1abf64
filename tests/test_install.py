"""The README's commands from the repository root: a checkout without a compiled _C that shadows an installed
package must say what to do (not `cannot import name '_C'`)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _checkout_without_native_module(tmp_path):
    shutil.copytree(os.path.join(ROOT, "ttc_fast"), tmp_path / "ttc_fast",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    shutil.copy(os.path.join(ROOT, "pyproject.toml"), tmp_path / "pyproject.toml")
    (tmp_path / "csrc").mkdir()
    return tmp_path


def test_shadowing_checkout_gives_an_actionable_import_error(tmp_path):
    root = _checkout_without_native_module(tmp_path)
    # as after a non-editable install: no editable-install finder that would map ttc_fast._C to a build directory
    code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'Redirecting' not in type(f).__name__]; "
            "import ttc_fast; ttc_fast.pass_at_k([4], [1], [1])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ttc_fast's compiled module _C is missing")
    assert "source checkout" in last and 'pip install -e ".[test]"' in last and "another directory" in last
    # `import ttc_fast` alone stays cheap and works (the names are imported on first use)
    proc = subprocess.run([sys.executable, "-c", "import ttc_fast, ttc_fast.jsonl; print(ttc_fast.__version__)"],
                          cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_the_installed_module_imports_normally():
    from ttc_fast import _C  # the lookup hook returns the real module when it exists
    assert hasattr(_C, "pass_at_k")
