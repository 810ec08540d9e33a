"""Typed test graphs for the heterogeneous operators: a small graph (3 node types, 5 edge types incl. a
self-relation and reverses) and the helper that flattens dict outputs so `assert_matches_pyg` compares every type."""
from __future__ import annotations

from typing import Callable, Dict, Tuple

import torch
from torch import Tensor

from graphkit import Graph

NODES = {"author": 7, "paper": 9, "field": 4}
EDGES = [("author", "writes", "paper"), ("paper", "rev_writes", "author"), ("paper", "cites", "paper"),
         ("paper", "has", "field"), ("field", "rev_has", "paper")]
METADATA = (list(NODES), EDGES)


def typed_graph(f: int = 5, seed: int = 0) -> Tuple[Dict[str, Tensor], Dict[Tuple[str, str, str], Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    x = {t: torch.randn(n, f, generator=gen, dtype=torch.float64) for t, n in NODES.items()}
    ei = {}
    for s, r, d in EDGES:
        e = 3 * max(NODES[s], NODES[d])
        ei[(s, r, d)] = torch.stack([torch.randint(0, NODES[s], (e,), generator=gen),
                                     torch.randint(0, NODES[d], (e,), generator=gen)])
    return x, ei


def flat(fn: Callable[..., Dict[str, Tensor]]) -> Callable[..., Tensor]:
    """Wrap a call returning ``{type: tensor}`` into one returning their concatenation in a fixed order."""
    return lambda m, kw: torch.cat([v.reshape(-1) for _, v in sorted(fn(m, kw).items())])


def dummy_graph() -> Graph:
    return Graph(edge_index=torch.zeros(2, 0, dtype=torch.long), num_nodes=1)


def conv_pair(name: str) -> Tuple[type, type]:
    """``(graphkit's, PyG's)`` convolution class of one name, for per-relation parity tests."""
    import graphkit.nn as ours
    from graphkit.testing.peers import require_peer

    return getattr(ours, name), getattr(require_peer("torch_geometric").nn, name)
