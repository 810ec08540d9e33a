"""scipy.sparse <-> graphkit ``Graph``: entry ``A[s, t]`` is the edge ``s -> t`` with weight ``A[s, t]``.

COO keeps parallel edges and their order, so ``from_scipy(to_scipy(g))`` is exact; CSR sums parallel edges.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from graphkit.graph import Graph
from graphkit.interop._optional import optional_import

__all__ = ["from_scipy", "to_scipy"]


def to_scipy(graph: Graph, edge_weight: Optional[str] = "edge_weight", format: str = "coo") -> Any:
    """Adjacency ``[N, N]`` of ``graph``; values from the edge field ``edge_weight`` (1 when absent)."""
    sp = optional_import("scipy.sparse")
    ei = graph.edge_index_or_empty().cpu().numpy()
    n = graph.num_nodes
    if edge_weight is not None and edge_weight in graph:
        w = graph[edge_weight].detach().cpu()
        if w.dim() != 1:
            raise ValueError(f"edge field {edge_weight!r} must be 1-D to become matrix values, got {list(w.shape)}")
        values = w.numpy()
    else:
        values = np.ones(ei.shape[1], dtype=np.float32)
    coo = sp.coo_matrix((values, (ei[0], ei[1])), shape=(n, n))
    if format == "coo":
        return coo
    if format == "csr":
        return coo.tocsr()
    raise ValueError(f"format must be 'coo' or 'csr', got {format!r}")


def from_scipy(matrix: Any, edge_weight: Optional[str] = "edge_weight") -> Graph:
    """A ``Graph`` with one edge per stored entry (explicit zeros included) and the values as ``edge_weight``."""
    sp = optional_import("scipy.sparse")
    if not sp.issparse(matrix):
        raise TypeError(f"from_scipy expects a scipy.sparse matrix, got {type(matrix).__name__}")
    if matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"an adjacency matrix must be square, got shape {matrix.shape}")
    coo = matrix.tocoo()
    edge_index = torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64))
    fields = {}
    if edge_weight is not None:
        fields[edge_weight] = torch.from_numpy(np.ascontiguousarray(coo.data))
    return Graph(edge_index=edge_index, num_nodes=matrix.shape[0], kinds={k: "edge" for k in fields}, **fields)
