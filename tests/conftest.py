"""Test configuration: Triton runs in its CPU interpreter when no GPU is present.

TRITON_INTERPRET must be set before triton is imported anywhere, so it is set here, at collection,
before any test module imports ttc_fast.ops.
"""
import os
import shutil

if "TRITON_INTERPRET" not in os.environ and shutil.which("nvidia-smi") is None:
    os.environ["TRITON_INTERPRET"] = "1"

import pytest  # noqa: E402


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if _cuda_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if item.get_closest_marker("gpu") is not None:  # not `"gpu" in item.keywords`: a checkout
            # in a folder named gpu would match every test
            item.add_marker(skip_gpu)


@pytest.fixture(scope="module")
def torch_one_thread():
    """Tiny matmuls on a shared 2-core machine: one torch thread avoids OpenMP spin-wait contention."""
    import torch
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
