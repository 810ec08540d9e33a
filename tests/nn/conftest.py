"""Layer tests run on tiny graphs: one intra-op thread is much faster there than two on a shared, busy machine
(OpenMP's barrier waits dominate a 30 x 8 matmul), so each test runs single-threaded and restores the setting."""
from __future__ import annotations

from typing import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@pytest.fixture
def pyg_sage():
    """``pyg_sage(*args, **kwargs)`` -> PyG's ``SAGEConv``, safe for a non-fusable ``aggr`` (lstm, modules, lists).

    PyG compiles ``propagate`` once per class, with the first instance's ``fuse`` flag baked in: if that instance
    had an aggregation PyG cannot fuse, every later SAGEConv in the process fails on a SparseTensor. A fusable
    instance is built first, so which test runs first does not matter."""
    from graphkit.testing import require_peer

    pnn = require_peer("torch_geometric").nn
    pnn.SAGEConv(1, 1)
    return pnn.SAGEConv
