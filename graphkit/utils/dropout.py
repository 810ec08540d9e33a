"""DropEdge: random edge removal during training."""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from graphkit.utils._checks import as_edge_index

__all__ = ["dropout_edge"]


def dropout_edge(edge_index: Tensor, p: float = 0.5, force_undirected: bool = False, training: bool = True,
                 generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor]:
    """Drop each edge with probability ``p`` (Rong et al., "DropEdge").

    Returns ``(edge_index, edge_mask)``: the kept edges and a boolean mask over the input edges. With
    ``force_undirected``, an edge ``(i, j)`` with ``i < j`` is kept or dropped together with its reverse: the
    output holds each kept pair in both directions, and ``edge_mask`` is then the kept edges' *ids* (each twice),
    as in PyG. Outside training (or ``p == 0``) nothing is dropped.

    >>> ei = torch.tensor([[0, 1, 2], [1, 2, 0]])
    >>> dropout_edge(ei, p=0.5, training=False)[0].tolist()
    [[0, 1, 2], [1, 2, 0]]
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
    edge_index = as_edge_index(edge_index)
    if not training or p == 0.0:
        return edge_index, torch.ones(edge_index.size(1), dtype=torch.bool, device=edge_index.device)
    keep = torch.rand(edge_index.size(1), generator=generator, device=edge_index.device) >= p
    if not force_undirected:
        return edge_index[:, keep], keep
    keep &= edge_index[0] <= edge_index[1]  # decide once per pair, on its (i <= j) copy
    ids = keep.nonzero(as_tuple=False).view(-1)
    kept = edge_index[:, ids]
    return torch.cat([kept, kept.flip(0)], dim=1), ids.repeat(2)
