"""CUDA tests: marked ``cuda`` (collected everywhere, skipped without a GPU by tests/conftest.py).

On a machine with a GPU, a graphkit._C built without its CUDA kernels is a failure, not a skip: otherwise a
CPU-only build on a GPU host would pass every test here vacuously.
"""
from __future__ import annotations

import pytest
import torch

from graphkit import ops


@pytest.fixture
def dev() -> torch.device:
    if not ops.ext_available(torch.device("cuda")):
        pytest.fail("a GPU is present but graphkit._C was built without CUDA: rebuild with nvcc and a CUDA torch "
                    "(python setup.py build_ext --inplace)")
    return torch.device("cuda")
