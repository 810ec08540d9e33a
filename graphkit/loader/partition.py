"""Graph partitioning for multi-process training: which rank owns which nodes, and the halo each rank needs.

``partition_graph`` splits the nodes into ``num_parts`` parts with METIS (pymetis; minimises the edges cut, so
the halo stays small), or torch-sparse's METIS binding, or, without either, contiguous id ranges. A rank owns
its part's nodes and their features; ``halo(rank, hops)`` lists the other nodes that ``hops`` rounds of
message passing into the part can reach. :class:`PartitionedFeatureStore` holds exactly owned + halo rows and
answers ``gather(global_ids)`` like a ``FeatureStore``, so the same ``NeighborLoader`` runs on every rank.

>>> import torch
>>> from graphkit import Graph
>>> g = Graph(edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]]), num_nodes=4)
>>> p = Partition(torch.tensor([0, 0, 1, 1]), 2)
>>> p.owned(1).tolist(), p.halo(g, 1, hops=1).tolist()
([2, 3], [1])
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.loader.feature_store import FeatureStore
from graphkit.ops._checks import check_positive_int

__all__ = ["Partition", "partition_graph", "PartitionedFeatureStore", "in_neighbors"]


def in_neighbors(graph: Graph, nodes: Tensor) -> Tensor:
    """Unique sources of the edges into ``nodes`` (one hop backwards along the incoming CSR)."""
    rowptr, col, _ = graph.csr()
    deg = rowptr[nodes + 1] - rowptr[nodes]
    starts = torch.repeat_interleave(rowptr[nodes] - torch.cumsum(deg, 0) + deg, deg)
    return torch.unique(col[starts + torch.arange(int(deg.sum()))])


class Partition:
    """An assignment ``part[v] in [0, num_parts)`` of every node to a rank."""

    def __init__(self, part: Tensor, num_parts: int) -> None:
        part = part.reshape(-1).long()
        if part.numel() and (int(part.min()) < 0 or int(part.max()) >= num_parts):
            raise ValueError(f"part has value {int(part.max())} but num_parts is {num_parts}")
        self.part, self.num_parts = part, int(num_parts)

    def owned(self, rank: int) -> Tensor:
        return (self.part == rank).nonzero().view(-1)

    def sizes(self) -> Tensor:
        return torch.bincount(self.part, minlength=self.num_parts)

    def halo(self, graph: Graph, rank: int, hops: int) -> Tensor:
        """Nodes outside part ``rank`` within ``hops`` incoming hops of it (what its batches can touch)."""
        mask = self.part == rank
        reached = mask.clone()
        frontier = mask.nonzero().view(-1)
        for _ in range(hops):
            nxt = in_neighbors(graph, frontier)
            nxt = nxt[~reached[nxt]]
            reached[nxt] = True
            frontier = nxt
        return (reached & ~mask).nonzero().view(-1)

    def edge_cut(self, graph: Graph) -> int:
        ei = graph.edge_index
        return int((self.part[ei[0]] != self.part[ei[1]]).sum()) if ei is not None else 0


def _metis_pymetis(graph: Graph, num_parts: int, seed: int, recursive: Optional[bool]) -> Optional[Tensor]:
    try:
        import pymetis
    except ImportError:
        return None
    # METIS wants a symmetric adjacency without self-loops.
    ei = graph.edge_index
    ei = ei[:, ei[0] != ei[1]]
    both = torch.cat([ei, ei.flip(0)], dim=1)
    key = torch.unique(both[0] * graph.num_nodes + both[1])
    src, dst = key // graph.num_nodes, key % graph.num_nodes
    xadj = torch.zeros(graph.num_nodes + 1, dtype=torch.long)
    torch.cumsum(torch.bincount(src, minlength=graph.num_nodes), 0, out=xadj[1:])
    opts = pymetis.Options(seed=seed)
    _, parts = pymetis.part_graph(num_parts, xadj=xadj.numpy(), adjncy=dst.numpy(), options=opts, recursive=recursive)
    return torch.from_numpy(np.asarray(parts, dtype=np.int64))


def _metis_torch_sparse(graph: Graph, num_parts: int, recursive: bool) -> Optional[Tensor]:
    try:
        import torch_sparse
    except Exception:
        return None
    ei = graph.edge_index
    adj = torch_sparse.SparseTensor(row=ei[1], col=ei[0], sparse_sizes=(graph.num_nodes, graph.num_nodes))
    adj = adj.to_symmetric()
    rowptr, col, _ = adj.csr()
    return torch.ops.torch_sparse.partition(rowptr, col, None, num_parts, recursive).long()


def partition_graph(graph: Graph, num_parts: int, method: str = "auto", seed: int = 0,
                    recursive: Optional[bool] = None) -> Partition:
    """Split ``graph``'s nodes into ``num_parts`` parts.

    Args:
        method: ``"metis"`` (pymetis), ``"torch_sparse"`` (its METIS), ``"range"`` (contiguous id ranges), or
            ``"auto"``: the first of these that is installed. ``num_parts == 1`` is always one part.
        recursive: METIS's algorithm: ``True`` recursive bisection (parts ``[0, k/2)`` and ``[k/2, k)`` are the
            two halves of the first cut, and so on down, so nearby part ids are nearby parts), ``False`` k-way,
            ``None`` the binding's default (pymetis: recursive up to 8 parts, k-way above; torch-sparse: k-way).
            Ignored by ``"range"``.
    """
    check_positive_int("num_parts", num_parts)
    if method not in ("auto", "metis", "torch_sparse", "range"):
        raise ValueError(f"method must be 'auto', 'metis', 'torch_sparse' or 'range', got {method!r}")
    if recursive is not None and not isinstance(recursive, bool):
        raise ValueError(f"recursive must be None, True or False, got {recursive!r}")
    n = graph.num_nodes
    part = None
    if num_parts > 1 and graph.num_edges:
        if method in ("auto", "metis"):
            part = _metis_pymetis(graph, num_parts, seed, recursive)
        if part is None and method in ("auto", "torch_sparse"):
            part = _metis_torch_sparse(graph, num_parts, bool(recursive))
        if part is None and method in ("metis", "torch_sparse"):
            raise ImportError(f"partition method {method!r} needs {'pymetis' if method == 'metis' else 'torch-sparse'}")
    if part is None:
        part = torch.arange(n) * num_parts // max(n, 1)
    return Partition(part, num_parts)


class PartitionedFeatureStore(FeatureStore):
    """The rows one rank holds: its own nodes plus its halo, addressed by global node id.

    ``rows`` is read once from ``source`` (in a multi-machine deployment, from the part's own file); gathering
    an id that is neither owned nor in the halo raises ``ValueError`` naming it, because it means the sampler
    went farther than the halo was built for.
    """

    def __init__(self, source: FeatureStore, owned: Tensor, halo: Tensor, pin: Optional[bool] = None) -> None:
        rows = torch.cat([owned, halo])
        super().__init__(source.gather(rows), pin=pin)
        self.global_rows = int(source.num_rows)
        self.num_owned = int(owned.numel())
        self._local = torch.full((self.global_rows,), -1, dtype=torch.long)
        self._local[rows] = torch.arange(rows.numel())

    @property
    def num_rows(self) -> int:
        return self.global_rows

    def gather(self, index: Tensor, out: Optional[Tensor] = None) -> Tensor:
        index = self._index(index)
        local = self._local[index]
        if local.numel() and bool((local < 0).any()):
            bad = int((local < 0).nonzero()[0])
            raise ValueError(f"node {int(index[bad])} is neither owned by this rank nor in its halo")
        return super().gather(local, out)
