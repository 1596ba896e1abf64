"""The GPU run's script cannot rot unseen: it parses, its dry run lists every stage in order with its time bound,
the files its commands use exist, the helpers it calls compile, and the bounds fit the device tool's limits."""
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SUITE = os.path.join(ROOT, "benchmarks", "gpu_suite.sh")
STAGES = ["env", "wheels", "build", "tests", "bench", "generate", "extras"]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _dry(*args, tmp_path):
    env = dict(os.environ, OUT=str(tmp_path / "out"))
    return subprocess.run(["bash", SUITE, "--dry-run", *args], capture_output=True, text=True, env=env, timeout=60)


def test_syntax():
    r = subprocess.run(["bash", "-n", SUITE], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_dry_run_lists_the_stages_with_bounds_and_existing_files(tmp_path):
    r = _dry(tmp_path=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "MISSING" not in r.stdout, r.stdout
    lines = [line for line in r.stdout.splitlines() if line.startswith("[dry-run] ")]
    names = [re.match(r"\[dry-run\] (\S+)", line).group(1).rstrip(":") for line in lines]
    names = [n for n in names if n != "wheels"]  # listed only where .whl/ holds wheels (benchmarks/fetch_wheels.sh)
    assert names == ["env", "flashinfer-jit", "build", "tests", "resources", "bench_attention", "bench_sampling",
                     "bench_vote", "generate", "bench_attention_torch", "ncu"]
    # every repository file a command names exists, and the Python helpers compile
    for path in sorted(set(re.findall(r"(?:tests|benchmarks)/[\w/]+\.py|bench_\w+\.py", r.stdout))):
        full = os.path.join(ROOT, path if "/" in path else os.path.join("benchmarks", path))
        assert os.path.exists(full), path
        subprocess.run([sys.executable, "-m", "py_compile", full], check=True)
    # the bounds: each within the tool's 10-minute command limit; the default budget leaves a rerun's worth of
    # the 15 device minutes (the call's own timeout_s should be the budget + ~60 s)
    bounds = [int(b) for b in re.findall(r"\(<= (\d+)s\)", r.stdout)]
    assert bounds and max(bounds) <= 600
    budget = int(re.search(r'TTC_GPU_BUDGET_S:-(\d+)', open(SUITE).read()).group(1))
    assert budget <= 480
    # at most 8 files come back from $OUT: the ones the script names (hidden scratch files are removed)
    outs = set(re.findall(r'\$OUT/([\w.]+)', open(SUITE).read())) - {".fi.log", ".bench_attention_torch.json"}
    assert len(outs) <= 8, sorted(outs)


def test_selected_stages_and_unknown_stage(tmp_path):
    r = _dry("tests", "generate", tmp_path=tmp_path)
    assert r.returncode == 0
    names = [line.split()[1].rstrip(":") for line in r.stdout.splitlines() if line.startswith("[dry-run] ")]
    assert names == ["tests", "resources", "generate"]
    r = _dry("kernels", tmp_path=tmp_path)
    assert r.returncode == 2 and "unknown stage 'kernels'" in r.stderr
    usage = next(line for line in open(SUITE) if line.startswith("#   stages"))
    assert usage.rsplit(":", 1)[1].split() == STAGES  # the usage line documents every stage, in order
