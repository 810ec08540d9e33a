"""Induced subgraphs: ``subgraph`` (given nodes) and ``k_hop_subgraph`` (a seed set's k-hop neighbourhood)."""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from graphkit.utils._checks import as_edge_index, check_edge_rows, num_nodes_of

__all__ = ["subgraph", "k_hop_subgraph", "index_to_mask", "mask_to_index"]

Subset = Union[Tensor, Sequence[int]]


def index_to_mask(index: Tensor, size: Optional[int] = None) -> Tensor:
    """A boolean mask of length ``size`` that is true at ``index``.

    >>> index_to_mask(torch.tensor([0, 2]), 4).tolist()
    [True, False, True, False]
    """
    index = index.view(-1).long()
    size = int(index.max()) + 1 if size is None else int(size)
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= size):
        raise ValueError(f"index has entries outside [0, {size}): min {int(index.min())}, max {int(index.max())}")
    mask = torch.zeros(size, dtype=torch.bool, device=index.device)
    mask[index] = True
    return mask


def mask_to_index(mask: Tensor) -> Tensor:
    """The positions where ``mask`` is true.

    >>> mask_to_index(torch.tensor([True, False, True])).tolist()
    [0, 2]
    """
    return mask.nonzero(as_tuple=False).view(-1)


def _as_subset(subset: Subset, device: torch.device) -> Tensor:
    if not isinstance(subset, Tensor):
        subset = torch.tensor(list(subset), dtype=torch.long, device=device)
    if subset.is_floating_point():
        raise TypeError(f"subset must be a node index or a boolean mask, got dtype {subset.dtype}")
    return subset.to(device)


def subgraph(subset: Subset, edge_index: Tensor, edge_attr: Optional[Tensor] = None, relabel_nodes: bool = False,
             num_nodes: Optional[int] = None, return_edge_mask: bool = False) -> Tuple[Tensor, ...]:
    """The edges whose two ends are both in ``subset`` (a node index or a boolean mask over the nodes).

    With ``relabel_nodes`` the nodes are renumbered ``0..k-1``: in ``subset``'s order for an index, in node order
    for a mask. Returns ``(edge_index, edge_attr)``, plus the boolean edge mask when ``return_edge_mask``.

    >>> ei = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    >>> subgraph(torch.tensor([3, 1, 2]), ei, relabel_nodes=True)[0].tolist()
    [[1, 2], [2, 0]]
    """
    edge_index = as_edge_index(edge_index)
    check_edge_rows("edge_attr", edge_attr, edge_index.size(1))
    subset = _as_subset(subset, edge_index.device)
    if subset.dtype == torch.bool:
        node_mask = subset
        n = node_mask.numel()
        num_nodes_of(edge_index, n)
    else:
        n = num_nodes_of(edge_index, num_nodes)
        if subset.numel() and int(subset.max()) >= n:
            n = int(subset.max()) + 1 if num_nodes is None else n
        node_mask = index_to_mask(subset, n)
    edge_mask = node_mask[edge_index[0]] & node_mask[edge_index[1]]
    out = edge_index[:, edge_mask]
    attr = None if edge_attr is None else edge_attr[edge_mask]
    if relabel_nodes:
        new_id = torch.full((n,), -1, dtype=torch.long, device=edge_index.device)
        if subset.dtype == torch.bool:
            new_id[node_mask] = torch.arange(int(node_mask.sum()), device=edge_index.device)
        else:
            new_id[subset] = torch.arange(subset.numel(), device=edge_index.device)
        out = new_id[out]
    return (out, attr, edge_mask) if return_edge_mask else (out, attr)


def k_hop_subgraph(node_idx: Union[int, Subset], num_hops: int, edge_index: Tensor, relabel_nodes: bool = False,
                   num_nodes: Optional[int] = None, flow: str = "source_to_target", directed: bool = False
                   ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """The nodes that reach ``node_idx`` in at most ``num_hops`` steps, and the edges among them.

    With ``flow="source_to_target"`` a hop follows an edge backwards (the nodes whose messages reach the seeds);
    ``"target_to_source"`` follows it forwards. ``directed=True`` keeps only the edges walked on the way in.

    Returns ``(subset, edge_index, mapping, edge_mask)``: the sorted node ids, the kept edges (renumbered when
    ``relabel_nodes``), where the seeds sit in ``subset``, and the boolean mask of kept edges.

    >>> ei = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    >>> subset, sub_ei, mapping, _ = k_hop_subgraph(3, 2, ei, relabel_nodes=True)
    >>> subset.tolist(), sub_ei.tolist(), mapping.tolist()
    ([1, 2, 3], [[0, 1], [1, 2]], [2])
    """
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow must be 'source_to_target' or 'target_to_source', got {flow!r}")
    if num_hops < 0:
        raise ValueError(f"num_hops must be non-negative, got {num_hops}")
    edge_index = as_edge_index(edge_index)
    n = num_nodes_of(edge_index, num_nodes)
    # "near" is the side already in the set; a hop adds the edge's other end ("far").
    far, near = (edge_index[0], edge_index[1]) if flow == "source_to_target" else (edge_index[1], edge_index[0])
    seeds = torch.tensor([node_idx]) if isinstance(node_idx, int) else _as_subset(node_idx, edge_index.device)
    seeds = seeds.view(-1).long().to(edge_index.device)
    if seeds.numel() and (int(seeds.min()) < 0 or int(seeds.max()) >= n):
        raise ValueError(f"node_idx has entries outside [0, {n}): {seeds.tolist()}")
    reached: List[Tensor] = [seeds]
    frontier = seeds
    walked = torch.zeros(edge_index.size(1), dtype=torch.bool, device=edge_index.device)
    for _ in range(num_hops):
        step = index_to_mask(frontier, n)[near]
        walked |= step
        frontier = far[step]
        reached.append(frontier)
    subset, inverse = torch.cat(reached).unique(return_inverse=True)
    mapping = inverse[: seeds.numel()]
    inside = index_to_mask(subset, n)
    edge_mask = walked if directed else inside[far] & inside[near]
    out = edge_index[:, edge_mask]
    if relabel_nodes:
        new_id = torch.full((n,), -1, dtype=torch.long, device=edge_index.device)
        new_id[subset] = torch.arange(subset.numel(), device=edge_index.device)
        out = new_id[out]
    return subset, out, mapping, edge_mask
