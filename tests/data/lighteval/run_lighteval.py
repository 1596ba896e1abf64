"""Runs the lighteval CLI offline. lighteval 0.13 imports every built-in task module when it builds its task
registry; some fail here (tiny_benchmarks downloads a file at import; mt_bench calls huggingface_hub's
list_models with an argument huggingface_hub 2.x no longer takes). Those unrelated modules are skipped; the
evaluation, the sampling and the --save-details files are lighteval's own."""
import importlib
import sys

from lighteval.tasks import registry

skipped = []


def _import_or_skip(name):
    try:
        return importlib.import_module(name)
    except Exception as err:  # noqa: BLE001 - an unrelated built-in task that cannot load offline
        skipped.append(f"{name}: {type(err).__name__}")
        return None


def _load_from_files(files, module_prefix):
    configs = {}
    for f in files:
        m = _import_or_skip(f"{module_prefix}.{f.stem}")
        if m is not None:
            configs.update(registry.Registry._extract_configs(m))
    return configs


def _load_from_subdirs(subdirs):
    configs = {}
    for d in subdirs:
        m = _import_or_skip(f"lighteval.tasks.tasks.{d.name}.main")
        if m is not None:
            configs.update(registry.Registry._extract_configs(m))
    return configs


registry.Registry._load_from_files = staticmethod(_load_from_files)
registry.Registry._load_from_subdirs = staticmethod(_load_from_subdirs)
from lighteval.__main__ import app  # noqa: E402

sys.argv = ["lighteval", *sys.argv[1:]]
try:
    app()
finally:
    print("skipped built-in task modules:", skipped, file=sys.stderr)
