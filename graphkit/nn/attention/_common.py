"""Structure helpers of the attention layers: PyG's self-loop rule (cached per graph) and edge features.

Kept in one place so that GAT, GATv2 and TransformerConv treat structure exactly alike (and exactly like PyG);
the layers' shared constructor and forward pieces are :class:`~graphkit.nn.attention.base.AttentionConv`.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.nn.adjacency import Adjacency

__all__ = ["graph_edge_attr", "remove_and_add_self_loops", "with_self_loops", "split_pair", "FillValue"]

FillValue = Union[float, int, Tensor, str, None]
_LOOP_REDUCE = {"add": "sum", "sum": "sum", "mean": "mean", "max": "amax", "min": "amin", "mul": "prod"}


def graph_edge_attr(adj: Any, edge_attr: Optional[Tensor]) -> Optional[Tensor]:
    """``edge_attr`` if given, else the ``edge_attr`` field of a ``Graph`` passed as ``adj``."""
    if edge_attr is None and isinstance(adj, Graph):
        return adj.edge_attr
    return edge_attr


def split_pair(x: Union[Tensor, Tuple[Tensor, Optional[Tensor]]], name: str = "x") -> Tuple[Tensor, Optional[Tensor]]:
    """``x`` or ``(x_src, x_dst)``; checks that node features are 2-D like PyG's attention layers require."""
    x_src, x_dst = (x, x) if isinstance(x, Tensor) else x
    if not isinstance(x_src, Tensor) or x_src.dim() != 2:
        raise ValueError(f"{name} must be a [N, F] tensor (or a pair of them), got {getattr(x_src, 'shape', x_src)}")
    return x_src, x_dst


def remove_and_add_self_loops(
    edge_index: Tensor, edge_attr: Optional[Tensor], num_nodes: int, fill_value: FillValue
) -> Tuple[Tensor, Optional[Tensor]]:
    """Drop every self-loop, then append one per node, as ``torch_geometric`` does before GAT/GATv2.

    The new loops' ``edge_attr`` is ``fill_value``: a number or tensor, or a reduction (``"mean"``, ``"add"``,
    ``"max"``, ``"min"``, ``"mul"``) of each node's incoming edge features (nodes with none get 0).
    """
    keep = edge_index[0] != edge_index[1]
    edge_index = edge_index[:, keep]
    loops = torch.arange(num_nodes, device=edge_index.device).repeat(2, 1)
    if edge_attr is not None:
        edge_attr = edge_attr[keep]
        size = (num_nodes,) + tuple(edge_attr.shape[1:])
        if fill_value is None:
            loop_attr = edge_attr.new_ones(size)
        elif isinstance(fill_value, (int, float)) and not isinstance(fill_value, bool):
            loop_attr = edge_attr.new_full(size, float(fill_value))
        elif isinstance(fill_value, Tensor):
            loop_attr = fill_value.to(edge_attr.device, edge_attr.dtype).expand(size).contiguous()
        elif isinstance(fill_value, str) and fill_value in _LOOP_REDUCE:
            idx = edge_index[1].view(-1, *([1] * (edge_attr.dim() - 1))).expand_as(edge_attr)
            loop_attr = edge_attr.new_zeros(size).scatter_reduce(
                0, idx, edge_attr, _LOOP_REDUCE[fill_value], include_self=False
            )
        else:
            raise ValueError(
                f"fill_value must be a number, a tensor or one of {sorted(_LOOP_REDUCE)}, got {fill_value!r}"
            )
        edge_attr = torch.cat([edge_attr, loop_attr], dim=0)
    return torch.cat([edge_index, loops], dim=1), edge_attr


def with_self_loops(
    adj: Adjacency, edge_attr: Optional[Tensor], num_loops: int, fill_value: FillValue
) -> Tuple[Adjacency, Optional[Tensor]]:
    """PyG's rule for GAT/GATv2: remove every self-loop, add one per node ``< num_loops``. The result carries
    its own memo, so sddmm, edge_softmax and spmm (and their backward) share one CSR.

    Without edge features the looped structure (and so its CSR) is memoised on ``adj``
    (:meth:`~graphkit.ops.Adjacency.derived`), as DGL reuses a graph's formats: a model that calls GAT layers on
    one graph sorts its edges once, not once per layer and step, and an edit of the edges rebuilds it.
    """
    def build(attr: Optional[Tensor]) -> Tuple[Adjacency, Optional[Tensor]]:
        edge_index, attr = remove_and_add_self_loops(adj.edge_index, attr, num_loops, fill_value)
        return Adjacency(edge_index, adj.num_src, adj.num_dst), attr

    if edge_attr is None:
        return adj.derived(("nn.attention.self_loops", num_loops), lambda: build(None))
    return build(edge_attr)
