"""Graphs shared by the conv tests."""
from __future__ import annotations

from typing import Callable

import pytest
import torch

from graphkit import Graph


def _undirected(n: int, e: int, seed: int) -> Graph:
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=gen)
    ei = ei[:, ei[0] != ei[1]]
    ei = torch.unique(torch.cat([ei, ei.flip(0)], 1), dim=1)
    return Graph(x=torch.randn(n, 6, generator=gen, dtype=torch.float64), edge_index=ei)


@pytest.fixture
def undirected_graph() -> Callable[[int, int, int], Graph]:
    """``(n, e, seed) -> Graph``: a random undirected graph without self-loops, float64 features ``[n, 6]``."""
    return _undirected
