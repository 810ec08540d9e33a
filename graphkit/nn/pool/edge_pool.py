r"""``EdgePooling`` (Diehl, "Edge Contraction Pooling for Graph Neural Networks")."""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit import ops
from graphkit.batch import Batch
from graphkit.graph import Graph
from graphkit.nn.pool.select import PoolResult, pool_inputs
from graphkit.utils.coalesce import coalesce
from graphkit.utils.softmax import softmax

__all__ = ["EdgePooling", "EdgePoolOutput", "UnpoolInfo", "greedy_edge_matching"]


class UnpoolInfo(NamedTuple):
    """What :meth:`EdgePooling.unpool` needs: the old edges, each old node's cluster, the old batch vector and the
    score each new node was multiplied by."""

    edge_index: Tensor
    cluster: Tensor
    batch: Tensor
    new_edge_score: Tensor


class EdgePoolOutput(PoolResult):
    """EdgePooling's result in PyG's order: pooled ``x``, ``edge_index``, ``batch`` and ``unpool_info``."""

    fields = ("x", "edge_index", "batch", "unpool_info")


_MAX_ROUNDS = 64


def greedy_edge_matching(edge_index: Tensor, score: Tensor, num_nodes: int) -> Tensor:
    r"""The edges the greedy matching picks (best score first, skipping an edge when an end is taken), in score
    order, computed in parallel rounds: an edge joins when it is the best remaining edge at both its ends. With
    a strict order on the edges this picks exactly the sequential greedy matching, in
    :math:`O(\text{rounds} \cdot |E|)` tensor work instead of a Python loop over the edges. Random scores need
    :math:`O(\log |E|)` rounds; an adversarial order (scores rising along a long path) frees one edge per round, so
    after 64 rounds the few edges left are finished sequentially. A self-loop :math:`(i, i)` matches :math:`i`
    alone. Ties in ``score`` are ordered by ``torch.sort``.

    Shapes:
        edge_index ``(2, E)``, score ``(E,)`` -> ``(M,)`` edge ids.

    >>> greedy_edge_matching(torch.tensor([[0, 1, 2], [1, 2, 3]]), torch.tensor([0.5, 0.9, 0.1]), 4).tolist()
    [1]
    """
    # Ties follow torch's default (unstable) descending sort, as PyG's sequential loop does.
    order = torch.sort(score, descending=True).indices
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=order.device)
    free = torch.ones(num_nodes, dtype=torch.bool, device=edge_index.device)
    active = torch.arange(edge_index.size(1), device=edge_index.device)
    picked = []
    for _ in range(_MAX_ROUNDS):
        if not active.numel():
            break
        src, dst = edge_index[0, active], edge_index[1, active]
        # Ranks as float64 (exact below 2**53) so the reduction runs on graphkit's scatter kernel.
        r = rank[active].to(torch.float64).view(-1, 1)
        best = ops.scatter(torch.cat([r, r]), torch.cat([src, dst]), num_nodes, reduce="min").view(-1)
        win = (best[src] == r.view(-1)) & (best[dst] == r.view(-1))
        picked.append(active[win])
        free[src[win]] = False
        free[dst[win]] = False
        active = active[free[src] & free[dst]]
    if active.numel():
        picked.append(_sequential_tail(edge_index, rank, active, free))
    chosen = torch.cat(picked) if picked else active
    return chosen[torch.sort(rank[chosen]).indices]


def _sequential_tail(edge_index: Tensor, rank: Tensor, active: Tensor, free: Tensor) -> Tensor:
    """Finish the greedy matching over the edges still ``active``, in rank order (same result as more rounds)."""
    active = active[torch.sort(rank[active]).indices]
    ends = edge_index[:, active].t().tolist()
    taken = set((~free).nonzero().view(-1).tolist())
    keep = []
    for pos, (s, t) in enumerate(ends):
        if s not in taken and t not in taken:
            keep.append(pos)
            taken.update((s, t))
    return active[torch.tensor(keep, dtype=torch.long, device=active.device)]


class EdgePooling(torch.nn.Module):
    r"""Contract a matching of high-scoring edges: each chosen edge merges its two ends into one node.

    .. math::
        r_{ij} = \mathbf{w}^\top [\mathbf{x}_i \,\Vert\, \mathbf{x}_j] + b,\quad
        s_{ij} = \mathrm{score}(r)_{ij} + \beta,\quad
        \mathbf{x}'_{c} = s_c \sum_{i \in c} \mathbf{x}_i

    ``score`` is :meth:`compute_edge_score_softmax` (softmax over each target's incoming edges, the default),
    :meth:`compute_edge_score_tanh` or :meth:`compute_edge_score_sigmoid`; :math:`\beta` is
    ``add_to_edge_score``. Edges are matched greedily by :math:`s` (:func:`greedy_edge_matching`); an unmatched
    node stays a cluster of its own with :math:`s_c = 1`. Clusters are numbered in the order their edges were
    picked, then the unmatched nodes in node order, exactly as PyG's ``EdgePooling`` (same arguments and
    parameters, ``lin.*``); the cluster sum runs on graphkit's scatter kernel.

    Call it PyG's way, ``pool(x, edge_index, batch)``, or with a ``Graph``/``Batch`` in place of ``edge_index``;
    :class:`EdgePoolOutput` unpacks as PyG's ``(x, edge_index, batch, unpool_info)`` and, after a graphkit-style
    call, carries the pooled graph as ``.graph`` (a ``Batch`` for a ``Batch``: its nodes renumbered so each
    member's are consecutive, the pooled tuple itself keeps PyG's numbering).

    Shapes:
        x ``(N, F)``, edge_index ``(2, E)``, batch ``(N,)`` -> x ``(C, F)``, edge_index ``(2, E')``, batch ``(C,)``.

    >>> from graphkit import Graph
    >>> _ = torch.manual_seed(0)
    >>> g = Graph(x=torch.randn(4, 3), edge_index=torch.tensor([[0, 1, 2, 3], [1, 0, 3, 2]]))
    >>> pool = EdgePooling(3)
    >>> out = pool(g.x, g)
    >>> out.x.shape, out.edge_index.tolist()  # each merged pair keeps its inner edges as a self-loop
    (torch.Size([2, 3]), [[0, 1], [0, 1]])
    >>> pool.unpool(out.x, out.unpool_info)[0].shape
    torch.Size([4, 3])
    """

    def __init__(self, in_channels: int, edge_score_method: Optional[Callable] = None, dropout: float = 0.0,
                 add_to_edge_score: float = 0.5) -> None:
        super().__init__()
        self.in_channels, self.dropout, self.add_to_edge_score = in_channels, dropout, add_to_edge_score
        self.compute_edge_score = edge_score_method or self.compute_edge_score_softmax
        self.lin = torch.nn.Linear(2 * in_channels, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()

    @staticmethod
    def compute_edge_score_softmax(raw_edge_score: Tensor, edge_index: Tensor, num_nodes: int) -> Tensor:
        """Softmax of the raw scores over each target's incoming edges."""
        return softmax(raw_edge_score, edge_index[1], num_nodes=num_nodes)

    @staticmethod
    def compute_edge_score_tanh(raw_edge_score: Tensor, edge_index: Optional[Tensor] = None,
                                num_nodes: Optional[int] = None) -> Tensor:
        """:math:`\\tanh` of the raw scores."""
        return torch.tanh(raw_edge_score)

    @staticmethod
    def compute_edge_score_sigmoid(raw_edge_score: Tensor, edge_index: Optional[Tensor] = None,
                                   num_nodes: Optional[int] = None) -> Tensor:
        """Sigmoid of the raw scores."""
        return torch.sigmoid(raw_edge_score)

    def forward(self, x: Tensor, edge_index: Union[Tensor, Graph], batch: Optional[Tensor] = None
                ) -> EdgePoolOutput:
        inputs = pool_inputs(x, edge_index, None, batch)
        ei, batch = inputs.edge_index, inputs.batch
        if x.dim() != 2 or x.size(-1) != self.in_channels:
            raise ValueError(f"x must be [N, {self.in_channels}], got {list(x.shape)}")
        raw = self.lin(torch.cat([x[ei[0]], x[ei[1]]], dim=-1)).view(-1)
        raw = F.dropout(raw, p=self.dropout, training=self.training)
        score = self.compute_edge_score(raw, ei, x.size(0)) + self.add_to_edge_score

        n = x.size(0)
        chosen = greedy_edge_matching(ei, score.detach(), n)
        m = chosen.numel()
        cluster = torch.full((n,), -1, dtype=torch.long, device=x.device)
        ids = torch.arange(m, device=x.device)
        cluster[ei[0, chosen]] = ids
        cluster[ei[1, chosen]] = ids
        alone = cluster < 0
        cluster[alone] = torch.arange(m, m + int(alone.sum()), device=x.device)
        c = m + int(alone.sum())
        new_score = torch.cat([score[chosen], score.new_ones(c - m)])
        new_x = ops.scatter(x, cluster, c, reduce="sum") * new_score.view(-1, 1)
        new_ei = coalesce(cluster[ei], num_nodes=c)
        new_batch = batch.new_empty(c).scatter_(0, cluster, batch)
        info = UnpoolInfo(ei, cluster, batch, new_score)
        graph = None
        if inputs.source is not None:
            graph = self._pooled_graph(inputs.source, new_x, new_ei, new_batch)
        return EdgePoolOutput(new_x, new_ei, new_batch, info, graph=graph)

    @staticmethod
    def _pooled_graph(source: Graph, x: Tensor, edge_index: Tensor, batch: Tensor) -> Graph:
        if not isinstance(source, Batch):
            return Graph(x=x, edge_index=edge_index, num_nodes=x.size(0))
        # Clusters are numbered by score across members; renumber them member by member for a valid Batch.
        order = torch.sort(batch, stable=True).indices
        new_id = torch.empty_like(order)
        new_id[order] = torch.arange(order.numel(), device=order.device)
        ei = new_id[edge_index]
        ei = ei[:, torch.sort(batch[edge_index[0]], stable=True).indices]
        g = Graph(x=x[order], edge_index=ei, num_nodes=x.size(0))
        b = source.num_graphs
        zero = batch.new_zeros(1)
        ptr = torch.cat([zero, torch.bincount(batch, minlength=b).cumsum(0)])
        edge_ptr = torch.cat([zero, torch.bincount(batch[edge_index[0]], minlength=b).cumsum(0)])
        return Batch.from_parts(g, ptr, edge_ptr, batch=batch[order])

    def unpool(self, x: Tensor, unpool_info: UnpoolInfo) -> Tuple[Tensor, Tensor, Tensor]:
        r"""Undo a pooling step: :math:`\mathbf{x}_i = \mathbf{x}'_{c(i)} / s_{c(i)}`; returns ``(x, edge_index,
        batch)`` of the graph before pooling."""
        new_x = (x / unpool_info.new_edge_score.view(-1, 1))[unpool_info.cluster]
        return new_x, unpool_info.edge_index, unpool_info.batch

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels})"
