"""Self-loops: add them (all, or only where missing) and remove them, with PyG's names and semantics."""
from __future__ import annotations

from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit import ops
from graphkit.utils._checks import as_edge_index, check_edge_rows, num_nodes_of

__all__ = ["add_self_loops", "add_remaining_self_loops", "remove_self_loops", "contains_self_loops"]

FillValue = Union[None, float, int, Tensor, str]
_REDUCES = {"add": "sum", "sum": "sum", "mean": "mean", "max": "max", "min": "min"}


def _num_loops(edge_index: Tensor, num_nodes: Union[None, int, Tuple[int, int]]) -> int:
    # A bipartite size (N_src, N_dst) gets loops on the nodes both sets share, as PyG does.
    if isinstance(num_nodes, (tuple, list)):
        if edge_index.numel():
            num_nodes_of(edge_index[0:1], num_nodes[0])
            num_nodes_of(edge_index[1:2], num_nodes[1])
        return min(int(num_nodes[0]), int(num_nodes[1]))
    return num_nodes_of(edge_index, num_nodes)


def loop_attr(edge_index: Tensor, edge_attr: Tensor, n: int, fill_value: FillValue) -> Tensor:
    """The attribute of the ``n`` new loops: ones, a constant, a given row, or a reduction of the incoming edges."""
    shape = (n,) + tuple(edge_attr.shape[1:])
    if fill_value is None:
        return edge_attr.new_ones(shape)
    if isinstance(fill_value, (int, float)) and not isinstance(fill_value, bool):
        return edge_attr.new_full(shape, fill_value)
    if isinstance(fill_value, Tensor):
        row = fill_value.to(edge_attr.device, edge_attr.dtype)
        if row.dim() == edge_attr.dim():
            row = row.squeeze(0) if row.dim() and row.size(0) == 1 else row
        return row.expand(shape).clone()
    if isinstance(fill_value, str):
        if fill_value not in _REDUCES:
            raise ValueError(f"fill_value must be one of {sorted(_REDUCES)}, a number or a tensor, got {fill_value!r}")
        dst = edge_index[1]
        keep = dst < n
        if not edge_attr.is_floating_point():
            raise TypeError(f"fill_value={fill_value!r} needs a floating edge_attr, got dtype {edge_attr.dtype}")
        return ops.scatter(edge_attr[keep], dst[keep], dim_size=n, reduce=_REDUCES[fill_value])
    raise TypeError(f"fill_value must be None, a number, a tensor or a reduction name, got {type(fill_value).__name__}")


def add_self_loops(
    edge_index: Tensor, edge_attr: Optional[Tensor] = None, fill_value: FillValue = None,
    num_nodes: Union[None, int, Tuple[int, int]] = None,
) -> Tuple[Tensor, Optional[Tensor]]:
    r"""Append a self-loop :math:`(i, i)` for every node (existing loops stay: a node may then have two).

    ``fill_value`` sets the loops' ``edge_attr``: ``None`` gives ones, a number or tensor that value, and
    ``"add"``/``"sum"``/``"mean"``/``"max"``/``"min"`` the reduction of each node's incoming edge attributes.
    ``num_nodes`` may be a pair ``(N_src, N_dst)`` for a bipartite graph (loops on the first ``min`` nodes).

    >>> add_self_loops(torch.tensor([[0, 1], [1, 0]]))[0].tolist()
    [[0, 1, 0, 1], [1, 0, 0, 1]]
    """
    edge_index = as_edge_index(edge_index)
    check_edge_rows("edge_attr", edge_attr, edge_index.size(1))
    n = _num_loops(edge_index, num_nodes)
    loops = torch.arange(n, device=edge_index.device).repeat(2, 1)
    out = torch.cat([edge_index, loops], dim=1)
    if edge_attr is None:
        return out, None
    return out, torch.cat([edge_attr, loop_attr(edge_index, edge_attr, n, fill_value)], dim=0)


def add_remaining_self_loops(
    edge_index: Tensor, edge_attr: Optional[Tensor] = None, fill_value: FillValue = None,
    num_nodes: Optional[int] = None,
) -> Tuple[Tensor, Optional[Tensor]]:
    r"""Give every node exactly the self-loops it lacks: existing loops move to the end and keep their attribute;
    a node without one gets a loop with ``fill_value`` (see :func:`add_self_loops`).

    >>> add_remaining_self_loops(torch.tensor([[0, 1, 1], [1, 1, 0]]))[0].tolist()
    [[0, 1, 0, 1], [1, 0, 0, 1]]
    """
    edge_index = as_edge_index(edge_index)
    check_edge_rows("edge_attr", edge_attr, edge_index.size(1))
    n = num_nodes_of(edge_index, num_nodes)
    is_loop = edge_index[0] == edge_index[1]
    loops = torch.arange(n, device=edge_index.device).repeat(2, 1)
    out = torch.cat([edge_index[:, ~is_loop], loops], dim=1)
    if edge_attr is None:
        return out, None
    attr = loop_attr(edge_index, edge_attr, n, fill_value)
    attr[edge_index[0, is_loop]] = edge_attr[is_loop]  # an existing loop keeps its attribute (last one wins)
    return out, torch.cat([edge_attr[~is_loop], attr], dim=0)


def remove_self_loops(edge_index: Tensor, edge_attr: Optional[Tensor] = None) -> Tuple[Tensor, Optional[Tensor]]:
    """Drop every edge :math:`(i, i)` (and its attribute row).

    >>> remove_self_loops(torch.tensor([[0, 1, 1], [1, 1, 0]]))[0].tolist()
    [[0, 1], [1, 0]]
    """
    edge_index = as_edge_index(edge_index)
    check_edge_rows("edge_attr", edge_attr, edge_index.size(1))
    keep = edge_index[0] != edge_index[1]
    return edge_index[:, keep], None if edge_attr is None else edge_attr[keep]


def contains_self_loops(edge_index: Tensor) -> bool:
    """Whether any edge is a self-loop.

    >>> contains_self_loops(torch.tensor([[0, 1], [1, 1]]))
    True
    """
    edge_index = as_edge_index(edge_index)
    return bool((edge_index[0] == edge_index[1]).any())
