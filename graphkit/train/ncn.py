"""NCN-style link predictor: the pair's own embeddings plus learned features of its common neighbours.

Neural Common Neighbour (Wang, Yang, Zhang; "Neural Common Neighbor with Completion for Link Prediction",
ICLR 2024) scores a candidate link from the GNN embeddings of both ends *and* the embeddings of the nodes
they share, which message passing alone cannot count (two nodes with identical neighbourhoods but no common
neighbour look alike to a GNN). The common-neighbour set is read off the sparse adjacency per pair.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from graphkit.ops.adjacency import resolve
from graphkit.typing import AdjLike

__all__ = ["NCNPredictor", "MLPPredictor", "common_neighbours", "sparse_adjacency", "cn_structure"]

# Graphs up to this many nodes keep a dense 0/1 adjacency next to the sparse one (N^2 floats: 400 MB at 10k);
# dense row products are then computed in chunks of at most this many entries.
_DENSE_NODES = 10_000
_DENSE_ENTRIES = 1 << 24


def sparse_adjacency(edge_index: Tensor, num_nodes: int) -> Tensor:
    """The 0/1 adjacency as a coalesced sparse COO ``[N, N]`` (float, so it can multiply embeddings).

    Duplicate edges would sum to 2 when coalesced, so they are dropped first.
    """
    edge_index = torch.unique(edge_index, dim=1)
    values = torch.ones(edge_index.size(1), device=edge_index.device)
    return torch.sparse_coo_tensor(edge_index, values, (num_nodes, num_nodes), check_invariants=False).coalesce()


def common_neighbours(adj: Tensor, pairs: Tensor) -> Tensor:
    r"""Sparse ``[P, N]`` indicator of :math:`\mathcal N(i) \cap \mathcal N(j)` for each pair ``(i, j)``.

    Shapes:
        input: ``adj`` sparse ``(N, N)``, ``pairs`` ``(P, 2)``
        output: sparse ``(P, N)``
    """
    a_i = torch.index_select(adj, 0, pairs[:, 0])
    a_j = torch.index_select(adj, 0, pairs[:, 1])
    return (a_i * a_j).coalesce()  # sparse * sparse keeps only the shared columns


def _cn_sum(adj: Tensor, dense: Optional[Tensor], pairs: Tensor, h: Tensor) -> Tensor:
    """``sum_{k in N(i) & N(j)} h_k`` per pair; dense rows when the graph is small enough (much faster)."""
    if dense is None:
        return torch.sparse.mm(common_neighbours(adj, pairs), h)
    step = max(1, _DENSE_ENTRIES // dense.size(0))
    return torch.cat([(dense[p[:, 0]] * dense[p[:, 1]]) @ h for p in pairs.split(step)])


def cn_structure(adj: AdjLike, device: torch.device) -> Tuple[Tensor, Optional[Tensor]]:
    """The sparse 0/1 adjacency of ``adj`` and, for small graphs, its dense copy: derived once per structure.

    Both live in the structure's memo (:meth:`Adjacency.derived`), so a ``Graph`` reused every epoch builds them
    once, and an edit of its ``edge_index`` drops them with everything else derived.
    """
    a = resolve(adj, None, None, device)
    n = a.num_dst
    sparse = a.derived(("ncn", "sparse"), lambda: sparse_adjacency(a.edge_index, n))
    dense = a.derived(("ncn", "dense"), lambda: sparse.to_dense() if n <= _DENSE_NODES else None)
    return sparse, dense


class NCNPredictor(nn.Module):
    r"""NCN score of a node pair.

    .. math::
        s(i, j) = \mathrm{MLP}_{out}\Big( \mathrm{MLP}_{pair}(h_i \odot h_j) \;\Vert\;
                  \mathrm{MLP}_{cn}\big(\textstyle\sum_{k \in \mathcal N(i) \cap \mathcal N(j)} h_k\big) \Big)

    Shapes:
        input: ``h`` ``(|V|, F)``, ``adj`` the structure (``Graph``, ``Adjacency`` or ``[2, E]`` edge_index; its
        common neighbours are read off the sparse adjacency kept in its memo), ``pairs`` ``(P, 2)``
        output: ``(P,)`` logits
    """

    def __init__(self, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.pair = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.cn = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        self.out = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, h: Tensor, adj: AdjLike, pairs: Tensor) -> Tensor:
        sparse, dense = cn_structure(adj, h.device)
        cn_sum = _cn_sum(sparse, dense, pairs, h.float())
        z = torch.cat([self.pair(h[pairs[:, 0]] * h[pairs[:, 1]]), self.cn(cn_sum.to(h.dtype))], dim=-1)
        return self.out(z).view(-1)


class MLPPredictor(nn.Module):
    r"""The OGB baseline predictor: :math:`s(i, j) = \mathrm{MLP}(h_i \odot h_j)`.

    Shapes:
        input: ``h`` ``(|V|, F)``, ``pairs`` ``(P, 2)`` (``adj`` is ignored)
        output: ``(P,)`` logits
    """

    def __init__(self, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, h: Tensor, adj: AdjLike, pairs: Tensor) -> Tensor:
        return self.mlp(h[pairs[:, 0]] * h[pairs[:, 1]]).view(-1)
