r"""``Adjacency``: the structure one ``propagate`` call runs on, with the fused ops as methods.

Whatever the user passed as ``adj`` (a ``[2, E]`` edge_index, a ``Graph``/``Batch``, a torch-sparse
``SparseTensor`` or a ``torch.sparse`` matrix, both in PyG's transposed ``adj_t`` convention) becomes one value:

* ``edge_index`` in *message direction*: row 0 holds the sources :math:`j`, row 1 the targets :math:`i`
  (``flow="target_to_source"`` swaps the rows once, here);
* ``num_src`` / ``num_dst``: the sizes of the two node sets (equal unless bipartite);
* ``value``: the sparse matrix's stored values, if any, in ``edge_index`` order;
* ``graph``: the ``Graph`` whose cached CSR the kernels reuse (only when its edges already run source -> target
  and both node sets are the graph's own).

Layers written on top (attention, sheaf, subgraph) get ``spmm``, ``sddmm``, ``edge_softmax`` and ``degree``
from it, so that every one of them uses the cached CSR the same way.

>>> import torch
>>> adj = Adjacency.from_adj(torch.tensor([[0, 1, 2], [1, 2, 1]]), size=(3, 3))
>>> adj.spmm(torch.tensor([[1.0], [2.0], [4.0]])).view(-1).tolist()
[0.0, 5.0, 2.0]
>>> adj.degree().tolist()
[0, 2, 1]
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
from torch import Tensor

from graphkit import ops
from graphkit.graph import Graph

__all__ = ["Adjacency", "is_sparse_adj"]

FLOWS = ("source_to_target", "target_to_source")


def is_sparse_adj(adj: Any) -> bool:
    """A torch-sparse ``SparseTensor`` or a ``torch.sparse`` matrix (both read as PyG's transposed ``adj_t``)."""
    if type(adj).__name__ == "SparseTensor" and hasattr(adj, "coo"):
        return True
    return isinstance(adj, Tensor) and adj.layout != torch.strided


def _compiling() -> bool:
    return bool(getattr(torch, "compiler", None) and torch.compiler.is_compiling())


class Adjacency:
    """See the module docstring. Build with :meth:`from_adj`."""

    __slots__ = ("edge_index", "num_src", "num_dst", "value", "graph")

    def __init__(self, edge_index: Tensor, num_src: int, num_dst: int, value: Optional[Tensor] = None,
                 graph: Optional[Graph] = None) -> None:
        self.edge_index, self.num_src, self.num_dst = edge_index, num_src, num_dst
        self.value, self.graph = value, graph

    # ------------------------------------------------------------------ construction
    @staticmethod
    def unpack(adj: Any) -> Tuple[Tensor, Optional[Tensor], Optional[Tuple[int, int]], Optional[Graph]]:
        """``(edge_index [2, E] as (source, target), value or None, (num_src, num_dst) or None, graph or None)``."""
        if isinstance(adj, Graph):
            ei = adj._edges_or_empty()
            n = adj.num_nodes
            return ei, None, (n, n), adj
        if is_sparse_adj(adj):
            if isinstance(adj, Tensor):  # torch.sparse, adj_t[target, source]
                coo = adj.to_sparse_coo().coalesce()
                row, col = coo.indices()
                value = coo.values()
                n_dst, n_src = int(adj.size(0)), int(adj.size(1))
            else:  # torch_sparse.SparseTensor, adj_t[target, source]
                row, col, value = adj.coo()
                n_dst, n_src = int(adj.sparse_size(0)), int(adj.sparse_size(1))
            return torch.stack([col, row]), value, (n_src, n_dst), None
        if not isinstance(adj, Tensor):
            raise TypeError(
                f"adj must be an edge_index tensor, a graphkit.Graph or a SparseTensor, got {type(adj).__name__}"
            )
        if adj.is_floating_point() or adj.dtype == torch.bool or adj.dim() != 2 or adj.size(0) != 2:
            raise ValueError(f"edge_index must be an integer tensor of shape [2, E], got {adj.dtype} {list(adj.shape)}")
        return (adj if adj.dtype == torch.long else adj.long()), None, None, None

    @classmethod
    def from_adj(cls, adj: Any, size: Optional[Tuple[Optional[int], Optional[int]]] = None,
                 flow: str = "source_to_target") -> "Adjacency":
        """Resolve ``adj``; ``size`` = ``(num_src, num_dst)`` with either side possibly ``None`` (then inferred)."""
        if flow not in FLOWS:
            raise ValueError(f"flow must be one of {FLOWS}, got {flow!r}")
        ei, value, known, graph = cls.unpack(adj)
        n_src, n_dst = size if size is not None else (None, None)
        if known is not None:
            for what, given, have in (("source", n_src, known[0]), ("target", n_dst, known[1])):
                if given is not None and given != have:
                    raise ValueError(f"the node features have {given} rows but adj has {have} {what} nodes")
            n_src, n_dst = known
        if flow == "target_to_source":
            ei, graph = ei.flip(0), None
            if known is not None:
                n_src, n_dst = n_dst, n_src
        if n_src is None and n_dst is None:
            n_src = n_dst = int(ei.max()) + 1 if ei.numel() else 0
        n_src = n_dst if n_src is None else n_src
        n_dst = n_src if n_dst is None else n_dst
        if graph is None and known is None and not _compiling():
            cls._check_bounds(ei, n_src, n_dst)
        return cls(ei, int(n_src), int(n_dst), value, graph)  # type: ignore[arg-type]

    @staticmethod
    def _check_bounds(ei: Tensor, n_src: int, n_dst: int) -> None:
        if ei.numel() == 0:
            return
        lo, hi = ei.min(dim=1).values.tolist(), ei.max(dim=1).values.tolist()  # one sync
        for row, bound, what in ((0, n_src, "number of source nodes"), (1, n_dst, "number of target nodes")):
            if lo[row] < 0:
                raise ValueError(f"edge_index[{row}] has negative index {lo[row]}")
            if hi[row] >= bound:
                raise ValueError(f"edge_index[{row}] has index {hi[row]} but the {what} is {bound}")

    # ------------------------------------------------------------------ views
    @property
    def src(self) -> Tensor:
        """Source node :math:`j` of every edge ``[E]``."""
        return self.edge_index[0]

    @property
    def dst(self) -> Tensor:
        """Target node :math:`i` of every edge ``[E]`` (the ``index`` aggregations group by)."""
        return self.edge_index[1]

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.size(1))

    @property
    def is_bipartite(self) -> bool:
        return self.graph is None and self.num_src != self.num_dst

    def ops_adj(self, num_src: Optional[int] = None) -> Any:
        """What to hand to :mod:`graphkit.ops`: the Graph (cached CSR) when it fits, else the edge_index."""
        if self.graph is not None and (num_src is None or num_src == self.num_src):
            return self.graph
        return self.edge_index

    def csr(self) -> Tuple[Tensor, Tensor, Tensor]:
        """Incoming edges grouped by target ``(rowptr, col = sources, perm = edge ids)``; cached on a Graph."""
        if self.graph is not None:
            return self.graph.csr()
        from graphkit.graph import build_csr

        return build_csr(self.dst, self.src, self.num_dst)

    def reduce_messages(self, msg: Tensor, reduce: str) -> Tensor:
        """Reduce per-edge messages ``[E, *]`` (edge order) per target: a segment over the cached CSR for a
        Graph (no sort), a scatter otherwise."""
        if self.graph is not None:
            rowptr, _, perm = self.graph.csr()
            return ops.segment(msg.index_select(0, perm), rowptr, reduce=reduce)
        return ops.scatter(msg, self.dst, self.num_dst, reduce=reduce)

    def degree(self, dtype: Optional[torch.dtype] = None) -> Tensor:
        """In-degree of every target ``[num_dst]`` (read off the cached CSR for a Graph)."""
        if self.graph is not None:
            rowptr = self.graph.csr()[0]
            deg = rowptr[1:] - rowptr[:-1]
        else:
            deg = torch.bincount(self.dst, minlength=self.num_dst)
        return deg if dtype is None else deg.to(dtype)

    # ------------------------------------------------------------------ fused ops
    def spmm(self, x: Tensor, edge_weight: Optional[Tensor] = None, reduce: str = "sum") -> Tensor:
        r""":math:`\mathrm{out}_i = \mathrm{reduce}_{j \to i}\, w_{ji} x_j` through :func:`graphkit.ops.spmm`."""
        if x.size(0) != self.num_src:
            raise ValueError(f"x has {x.size(0)} rows but adj has {self.num_src} source nodes")
        return ops.spmm(self.ops_adj(x.size(0)), x, edge_weight, reduce=reduce, num_nodes=self.num_dst)

    def sddmm(self, a_dst: Tensor, b_src: Tensor, op: str = "dot") -> Tensor:
        """Per edge ``(j -> i)``: ``op(a_dst[i], b_src[j])`` through :func:`graphkit.ops.sddmm`."""
        return ops.sddmm(self.ops_adj(b_src.size(0)), a_dst, b_src, op=op)

    def edge_softmax(self, scores: Tensor) -> Tensor:
        """Softmax of ``[E]``/``[E, H]`` scores over each target's incoming edges."""
        if self.graph is not None:
            return ops.edge_softmax(self.graph, scores)
        # Sources do not matter to the softmax; using targets twice keeps the bounds check valid when bipartite.
        return ops.edge_softmax(torch.stack([self.dst, self.dst]), scores, num_nodes=self.num_dst)

    def __repr__(self) -> str:
        cached = ", graph" if self.graph is not None else ""
        return f"Adjacency(num_edges={self.num_edges}, size=({self.num_src}, {self.num_dst}){cached})"
