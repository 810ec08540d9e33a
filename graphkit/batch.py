"""``Batch``: many graphs as one disconnected ``Graph``.

Batching rules, one per kind (see :mod:`graphkit.graph`):

* ``node`` and ``edge`` fields are concatenated along dim 0;
* ``edge_index`` and ``node_index`` fields are concatenated along their last dim, each graph's node ids offset
  by the number of nodes before it, so no edge ever joins two graphs;
* ``graph`` tensors are concatenated along dim 0 (0-dim tensors are stacked into ``[B]``); plain Python values
  become a list.

``batch`` maps each node to its graph, ``ptr`` holds the node offsets, and ``to_graphs()`` gives back the
originals exactly: the same fields, kinds, dtypes and values, graphs with no nodes or no edges included.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import Tensor

from graphkit.graph import EDGE, GRAPH, NODE, NODE_INDEX, Graph

__all__ = ["Batch"]

_RESERVED = ("batch", "ptr")


def _offsets(counts: Tensor) -> Tensor:
    ptr = counts.new_zeros(counts.numel() + 1)
    torch.cumsum(counts, 0, out=ptr[1:])
    return ptr


class Batch(Graph):
    """A disjoint union of graphs that keeps enough bookkeeping to split itself again.

    >>> a = Graph(x=torch.zeros(2, 1), edge_index=torch.tensor([[0], [1]]))
    >>> b = Graph(x=torch.ones(3, 1), edge_index=torch.tensor([[2], [0]]))
    >>> batch = Batch.from_graphs([a, b])
    >>> batch.edge_index.tolist(), batch.batch.tolist(), batch.ptr.tolist()
    ([[0, 4], [1, 2]], [0, 0, 1, 1, 1], [0, 2, 5])
    """

    @classmethod
    def from_graphs(cls, graphs: Sequence[Graph]) -> "Batch":
        graphs = list(graphs)
        if not graphs:
            raise ValueError("Batch.from_graphs needs at least one graph")
        first = graphs[0]
        for i, g in enumerate(graphs):
            if not isinstance(g, Graph):
                raise TypeError(f"graphs[{i}] is a {type(g).__name__}, not a graphkit.Graph")
            if g._kinds != first._kinds:
                raise ValueError(
                    f"graphs[{i}] has fields {g._kinds} but graphs[0] has {first._kinds}: "
                    "every graph in a batch needs the same fields with the same kinds"
                )
        for name in _RESERVED:
            if name in first._kinds:
                raise ValueError(f"field name {name!r} is reserved by Batch")

        node_counts = torch.tensor([g.num_nodes for g in graphs], dtype=torch.long)
        edge_counts = torch.tensor([g.num_edges for g in graphs], dtype=torch.long)
        ptr, edge_ptr = _offsets(node_counts), _offsets(edge_counts)
        out = cls.__new__(cls)
        Graph.__init__(out, num_nodes=int(ptr[-1]))
        slices: Dict[str, List[int]] = {}
        stacked: List[str] = []

        has_edges = [g.edge_index is not None for g in graphs]
        if any(has_edges):
            parts = [g._edges_or_empty() for g in graphs]
            device = next(p.device for p, h in zip(parts, has_edges) if h)
            edges = torch.cat([p.to(device) for p in parts], dim=1)
            shift = torch.repeat_interleave(ptr[:-1], edge_counts).to(device)
            out._set_edge_index(edges + shift)

        for name, kind in first._kinds.items():
            values = [g._store[name] for g in graphs]
            if kind != GRAPH or all(isinstance(v, Tensor) for v in values):
                cls._check_same_dtype(name, values)
            if kind in (NODE, EDGE):
                value: Any = torch.cat(values, dim=0)
            elif kind == NODE_INDEX:
                counts = torch.tensor([v.size(-1) for v in values], dtype=torch.long)
                shift = torch.repeat_interleave(ptr[:-1], counts).to(values[0].device)
                value = torch.cat(values, dim=-1) + shift
                slices[name] = _offsets(counts).tolist()
            elif all(isinstance(v, Tensor) for v in values):
                if all(v.dim() == 0 for v in values):
                    value = torch.stack(values)
                    stacked.append(name)
                else:
                    if any(v.dim() == 0 for v in values):
                        raise ValueError(f"graph field {name!r} mixes 0-dim and n-dim tensors across graphs")
                    value = torch.cat(values, dim=0)
                    slices[name] = _offsets(torch.tensor([v.size(0) for v in values])).tolist()
            else:
                value = list(values)
            out._store[name] = value
            out._kinds[name] = kind

        object.__setattr__(out, "_meta_ptr", ptr.to(out._device()))
        object.__setattr__(out, "_meta_edge_ptr", edge_ptr)
        object.__setattr__(out, "_meta_batch", None)
        object.__setattr__(out, "_slices", slices)
        object.__setattr__(out, "_stacked", stacked)
        object.__setattr__(out, "_has_edges", has_edges)
        return out

    @staticmethod
    def _check_same_dtype(name: str, values: List[Any]) -> None:
        dtypes = {v.dtype for v in values if isinstance(v, Tensor)}
        if len(dtypes) > 1:
            raise ValueError(f"field {name!r} has different dtypes across graphs: {sorted(map(str, dtypes))}")

    def _device(self) -> torch.device:
        if self._edge_index is not None:
            return self._edge_index.device
        return next((v.device for v in self._store.values() if isinstance(v, Tensor)), torch.device("cpu"))

    # -------------------------------------------------------------- bookkeeping
    @property
    def ptr(self) -> Tensor:
        """Node offsets ``[B+1]``: graph ``i`` owns nodes ``ptr[i]:ptr[i+1]``."""
        return self._meta_ptr

    @property
    def batch(self) -> Tensor:
        """Graph id of every node ``[N]``, built once on first use."""
        if self._meta_batch is None:
            counts = self._meta_ptr[1:] - self._meta_ptr[:-1]
            ids = torch.arange(counts.numel(), device=counts.device)
            object.__setattr__(self, "_meta_batch", torch.repeat_interleave(ids, counts))
        return self._meta_batch

    @property
    def edge_ptr(self) -> Tensor:
        """Edge offsets ``[B+1]``: graph ``i`` owns edges ``edge_ptr[i]:edge_ptr[i+1]``."""
        return self._meta_edge_ptr

    @property
    def num_graphs(self) -> int:
        return self._meta_ptr.numel() - 1

    def to_graphs(self) -> List[Graph]:
        """Split back into the graphs this batch was made from."""
        ptr = self._meta_ptr.tolist()
        eptr = self._meta_edge_ptr.tolist()
        graphs = []
        for i in range(self.num_graphs):
            graphs.append(self.get_graph(i, ptr, eptr))
        return graphs

    def get_graph(self, i: int, ptr: Optional[List[int]] = None, eptr: Optional[List[int]] = None) -> Graph:
        """Graph ``i`` of the batch."""
        ptr = self._meta_ptr.tolist() if ptr is None else ptr
        eptr = self._meta_edge_ptr.tolist() if eptr is None else eptr
        if not -self.num_graphs <= i < self.num_graphs:
            raise IndexError(f"graph index {i} is out of range for a batch of {self.num_graphs}")
        i %= self.num_graphs
        n0, n1, e0, e1 = ptr[i], ptr[i + 1], eptr[i], eptr[i + 1]
        g = Graph(num_nodes=n1 - n0)
        if self._has_edges[i]:
            g._set_edge_index(self._edge_index[:, e0:e1] - n0)
        for name, kind in self._kinds.items():
            value = self._store[name]
            if kind == NODE:
                part: Any = value[n0:n1]
            elif kind == EDGE:
                part = value[e0:e1]
            elif kind == NODE_INDEX:
                s = self._slices[name]
                part = value[..., s[i] : s[i + 1]] - n0
            elif name in self._stacked:
                part = value[i]
            elif name in self._slices:
                s = self._slices[name]
                part = value[s[i] : s[i + 1]]
            else:
                part = value[i]
            g._store[name] = part
            g._kinds[name] = kind
        return g

    def __len__(self) -> int:
        return self.num_graphs

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", num_graphs={self.num_graphs})"


torch.serialization.add_safe_globals([Batch])  # as Graph (graph.py): loadable with weights_only=True
