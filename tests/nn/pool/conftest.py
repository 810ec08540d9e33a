"""Shared inputs for the pooling tests: a batch of random graphs (one without edges, one without nodes) and a
comparison of a pool's whole result tuple with PyG's."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.testing.layers import random_graph, tolerance


@pytest.fixture
def pool_batch() -> Callable[..., Batch]:
    def make(dtype: torch.dtype = torch.float64, sizes: Sequence[int] = (6, 0, 9, 3)) -> Batch:
        graphs = [random_graph(n, 3 * n, 5, seed=n, dtype=dtype, edge_dim=2, self_loops=False) for n in sizes]
        graphs.append(random_graph(4, 0, 5, seed=4, dtype=dtype, edge_dim=2))
        # "label": a node field that must follow the kept nodes.
        return Batch.from_graphs([Graph(x=g.x, edge_index=g.edge_index, edge_attr=g.edge_attr, num_nodes=g.num_nodes,
                                        label=torch.arange(g.num_nodes) + 100 * g.num_nodes, kinds={"label": "node"})
                                  for g in graphs])

    return make


@pytest.fixture
def same_tuple() -> Callable[[Sequence[Any], Sequence[Any], torch.dtype], None]:
    def check(ours: Sequence[Any], theirs: Sequence[Any], dtype: torch.dtype) -> None:
        assert len(ours) == len(theirs)
        tol = tolerance(dtype)
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if isinstance(b, torch.Tensor):
                assert isinstance(a, torch.Tensor), f"entry {i}: {type(a).__name__} where PyG has a tensor"
                assert a.shape == b.shape and a.dtype == b.dtype, \
                    f"entry {i}: {a.shape}/{a.dtype} != {b.shape}/{b.dtype}"
                torch.testing.assert_close(a, b, atol=tol, rtol=0, msg=f"entry {i} differs")
            else:
                assert a is None and b is None, f"entry {i}: {a!r} != {b!r}"

    return check
