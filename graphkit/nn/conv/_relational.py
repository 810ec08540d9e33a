"""What the relational convolutions (RGCNConv, FastRGCNConv, RGATConv) share: reading each edge's relation, and
composing relation weights from bases."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.ops.adjacency import Adjacency, is_compiling

__all__ = ["read_edge_type", "compose_bases"]


def read_edge_type(adj: Adjacency, raw_adj: Any, edge_type: Optional[Tensor], num_relations: int) -> Tensor:
    """The relation of every edge of ``adj`` as int64 ``[E]``: ``edge_type`` if given, else the ``edge_type`` field
    of a ``Graph`` passed as ``raw_adj``, else a sparse matrix's stored values (PyG's convention). Raises
    ``TypeError``/``ValueError`` naming the value that is wrong."""
    if edge_type is None:
        if isinstance(raw_adj, Graph) and "edge_type" in raw_adj:
            edge_type = raw_adj.edge_type
        elif adj.value is not None:  # a SparseTensor whose stored values are the types
            edge_type = adj.value
        else:
            raise ValueError("edge_type is required: pass it, or a Graph with an 'edge_type' field")
    if not isinstance(edge_type, Tensor) or edge_type.is_floating_point() or edge_type.is_complex() \
            or edge_type.dtype == torch.bool:
        raise TypeError(f"edge_type must be an integer tensor, got "
                        f"{getattr(edge_type, 'dtype', type(edge_type).__name__)}")
    if edge_type.dim() != 1 or edge_type.size(0) != adj.num_edges:
        raise ValueError(f"edge_type must have shape [{adj.num_edges}] (one type per edge), "
                         f"got {list(edge_type.shape)}")
    if edge_type.numel() and not is_compiling():
        lo, hi = int(edge_type.min()), int(edge_type.max())
        if lo < 0 or hi >= num_relations:
            bad = lo if lo < 0 else hi
            raise ValueError(f"edge_type has value {bad} but num_relations is {num_relations}")
    return edge_type.long()


def compose_bases(comp: Tensor, bases: Tensor) -> Tensor:
    r"""Basis decomposition (Schlichtkrull et al.): :math:`\mathbf{W}_r = \sum_b a_{rb} \mathbf{V}_b`.

    Shapes:
        comp ``(R, B)``, bases ``(B, F_in, F_out)`` -> ``(R, F_in, F_out)``.

    >>> compose_bases(torch.tensor([[1.0, 0.0], [2.0, 1.0]]), torch.ones(2, 1, 1)).view(-1).tolist()
    [1.0, 3.0]
    """
    b, f_in, f_out = bases.shape
    return (comp @ bases.reshape(b, -1)).view(comp.size(0), f_in, f_out)
