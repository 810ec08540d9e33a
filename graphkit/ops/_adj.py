"""Resolve an ``adj`` argument (edge_index tensor or Graph) into the CSR pair the kernels walk.

A Graph supplies its cached ``csr()`` (incoming edges by target) and ``csr_t()`` (outgoing by source). A bare
``edge_index`` is checked, then grouped with a stable sort; its transpose is built only if a backward needs it.
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import torch
from torch import Tensor

from graphkit.ops._checks import check_bounds, check_index, check_size

__all__ = ["CSRAdj", "resolve_adj", "build_csr"]

CSR = Tuple[Tensor, Tensor, Tensor]


def build_csr(rows: Tensor, cols: Tensor, num_rows: int) -> CSR:
    """Stable grouping by ``rows``; indices come back in the dtype of ``rows`` (int32 stays int32)."""
    from graphkit.graph import build_csr as _graph_build_csr  # the one implementation, owned by graph.py

    rowptr, col, perm = _graph_build_csr(rows, cols, num_rows)
    if rows.dtype == torch.int32:
        return rowptr.int(), col.int(), perm.int()
    return rowptr, col, perm


class CSRAdj:
    """Targets x sources adjacency: ``csr()`` groups edges by target, ``csr_t()`` by source (built lazily)."""

    def __init__(self, num_rows: int, num_cols: int, num_edges: int, csr: Callable[[], CSR], csr_t: Callable[[], CSR]):
        self.num_rows, self.num_cols, self.num_edges = num_rows, num_cols, num_edges
        self._csr, self._csr_t = csr, csr_t
        self._c: Optional[CSR] = None
        self._ct: Optional[CSR] = None

    def csr(self) -> CSR:
        if self._c is None:
            self._c = self._csr()
        return self._c

    def csr_t(self) -> CSR:
        if self._ct is None:
            self._ct = self._csr_t()
        return self._ct

    def degree(self) -> Tensor:
        rowptr = self.csr()[0]
        return rowptr[1:] - rowptr[:-1]


def resolve_adj(
    adj: object, num_src: Optional[int], num_nodes: Optional[int], device: torch.device, src_name: str = "x"
) -> CSRAdj:
    """``num_src``: rows of the source-side operand ``src_name`` (sources must be below it); ``num_nodes``: targets."""
    if num_nodes is not None:
        num_nodes = check_size("num_nodes", num_nodes)
    if hasattr(adj, "csr") and hasattr(adj, "csr_t") and hasattr(adj, "num_nodes"):
        n = check_size("num_nodes", adj.num_nodes)  # type: ignore[attr-defined]
        if num_src is not None and num_src != n:
            raise ValueError(f"{src_name} has {num_src} rows but the graph has num_nodes {n}")
        if num_nodes is not None and num_nodes != n:
            raise ValueError(f"num_nodes is {num_nodes} but the graph has num_nodes {n}")
        rowptr = adj.csr()[0]  # type: ignore[attr-defined]
        if rowptr.device != device:
            raise ValueError(f"the graph is on {rowptr.device} but {src_name} is on {device}")
        return CSRAdj(n, n, int(adj.num_edges), adj.csr, adj.csr_t)  # type: ignore[attr-defined]
    ei = check_index("edge_index", adj)
    if ei.dim() != 2 or ei.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {list(ei.shape)}")
    if ei.device != device:
        raise ValueError(f"edge_index is on {ei.device} but {src_name} is on {device}")
    n_src = num_src if num_src is not None else num_nodes
    n_dst = num_nodes if num_nodes is not None else n_src
    if n_src is None or n_dst is None:
        raise ValueError("num_nodes is required when no node tensor fixes the node count")
    src_bound = "num_nodes" if num_nodes in (None, num_src) else f"{src_name}.size(0)"
    check_bounds("edge_index[0]", ei[0], n_src, src_bound)
    check_bounds("edge_index[1]", ei[1], n_dst, "num_nodes")
    return CSRAdj(
        n_dst, n_src, ei.size(1), lambda: build_csr(ei[1], ei[0], n_dst), lambda: build_csr(ei[0], ei[1], n_src)
    )
