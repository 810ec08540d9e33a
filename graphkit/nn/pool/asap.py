r"""``ASAPooling`` (Ranjan et al., "ASAP: Adaptive Structure Aware Pooling for Learning Hierarchical Graph
Representations")."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit import ops
from graphkit.graph import Graph
from graphkit.nn.conv.le import LEConv
from graphkit.nn.pool.select import PoolResult, SelectTopK, pool_inputs, pooled_graph
from graphkit.utils.loop import add_remaining_self_loops, remove_self_loops
from graphkit.utils.softmax import softmax
from graphkit.utils.triplets import matching_pairs

__all__ = ["ASAPooling", "ASAPOutput", "sparse_product"]


class ASAPOutput(PoolResult):
    """ASAP's result in PyG's order: pooled ``x``, the coarsened ``edge_index``, its ``edge_weight`` (``None``
    when the input had none), the pooled ``batch`` and ``perm`` (the cluster centres' old indices)."""

    fields = ("x", "edge_index", "edge_weight", "batch", "perm")


def sparse_product(a_index: Tensor, a_value: Tensor, b_index: Tensor, b_value: Tensor, inner: int, cols: int
                   ) -> Tuple[Tensor, Tensor]:
    r"""The product of two sparse matrices given as ``(index [2, nnz], value)``: :math:`C_{ik} = \sum_j
    A_{ij} B_{jk}` (``inner`` = the number of :math:`j`, ``cols`` of :math:`k`), coalesced (sorted by row, then
    column), differentiable in both value vectors.

    Shapes:
        a_index ``(2, P)``, a_value ``(P,)``, b_index ``(2, Q)``, b_value ``(Q,)`` -> ``(2, R)``, ``(R,)``.

    >>> ei, w = sparse_product(torch.tensor([[0, 0], [0, 1]]), torch.tensor([1.0, 2.0]),
    ...                        torch.tensor([[0, 1], [1, 1]]), torch.tensor([3.0, 4.0]), inner=2, cols=2)
    >>> ei.tolist(), w.tolist()
    ([[0], [1]], [11.0])
    """
    i, j = matching_pairs(a_index[1], b_index[0], inner)
    # One sort of the (row, col) keys, then a segment sum over the runs (no second sort inside a scatter).
    key, order = torch.sort(a_index[0, i] * max(cols, 1) + b_index[1, j])
    if key.numel() == 0:
        return a_index.new_zeros(2, 0), a_value.new_zeros(0)
    first = torch.ones_like(key, dtype=torch.bool)
    first[1:] = key[1:] != key[:-1]
    starts = first.nonzero().view(-1)
    ptr = torch.cat([starts, starts.new_full((1,), key.numel())])
    value = ops.segment((a_value[i] * b_value[j])[order], ptr, reduce="sum")
    unique = key[starts]
    return torch.stack([unique // max(cols, 1), unique % max(cols, 1)]), value


class ASAPooling(torch.nn.Module):
    r"""Every node :math:`c` proposes the cluster of its 1-hop neighbourhood (self-loops added); attention weighs
    the members, an LEConv scores the clusters, and the top-:math:`k` clusters become the new nodes:

    .. math::
        \mathbf{m}_c = \max_{j \in \mathcal{N}(c)} \mathbf{x}'_j,\quad
        s_{jc} = \mathrm{softmax}_{j \in \mathcal{N}(c)}\big(\mathrm{LeakyReLU}(
            \mathbf{a}^\top [\mathbf{W}\mathbf{m}_c \,\Vert\, \mathbf{x}'_j])\big),\quad
        \mathbf{x}^c_c = \sum_{j \in \mathcal{N}(c)} s_{jc} \mathbf{x}_j

    .. math::
        \phi_c = \sigma\big(\mathrm{LEConv}(\mathbf{X}^c, \mathbf{A})_c\big),\quad
        \mathbf{i} = \mathrm{top}_k(\phi),\quad
        \mathbf{X}' = (\mathbf{X}^c \odot \phi)_{\mathbf{i}},\quad
        \mathbf{A}' = \mathbf{S}^\top \mathbf{A} \mathbf{S}

    where :math:`\mathbf{x}' = \mathrm{GNN}(\mathbf{x})` if ``GNN`` is given (else :math:`\mathbf{x}`) and
    :math:`\mathbf{S} = [s_{jc}]_{c \in \mathbf{i}}`. Self-loops of :math:`\mathbf{A}'` are removed (or completed
    with ``add_self_loops=True``). Same arguments and parameters (``lin``, ``att``, ``gnn_score``,
    ``gnn_intra_cluster``, ``select``) as PyG's ``ASAPooling``; the score softmax and both neighbourhood
    reductions run on graphkit's kernels, :math:`\mathbf{S}^\top\mathbf{A}\mathbf{S}` as two sparse joins
    (:func:`sparse_product`).

    Call it PyG's way, ``pool(x, edge_index, edge_weight, batch)``, or with a ``Graph``/``Batch`` in place of
    ``edge_index`` (its ``edge_weight`` field is used); :class:`ASAPOutput` unpacks as PyG's 5-tuple and carries
    the pooled ``Graph``/``Batch`` (node fields kept for the cluster centres) as ``.graph``.

    Shapes:
        x ``(N, F)``, edge_index ``(2, E)``, edge_weight ``(E,)``, batch ``(N,)`` ->
        x ``(K, F)``, edge_index ``(2, E')``, edge_weight ``(E',)``, batch ``(K,)``, perm ``(K,)``.

    >>> from graphkit import Graph
    >>> _ = torch.manual_seed(0)
    >>> g = Graph(x=torch.randn(6, 4), edge_index=torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]]))
    >>> out = ASAPooling(4, ratio=0.5)(g.x, g)
    >>> out.x.shape, out.graph.num_nodes, out.edge_weight is None
    (torch.Size([3, 4]), 3, True)
    """

    def __init__(self, in_channels: int, ratio: Union[float, int] = 0.5, GNN: Optional[Callable] = None,
                 dropout: float = 0.0, negative_slope: float = 0.2, add_self_loops: bool = False,
                 **kwargs: Any) -> None:
        super().__init__()
        self.in_channels, self.ratio = in_channels, ratio
        self.negative_slope, self.dropout, self.add_self_loops = negative_slope, dropout, add_self_loops
        self.GNN = GNN
        self.lin = torch.nn.Linear(in_channels, in_channels)
        self.att = torch.nn.Linear(2 * in_channels, 1)
        self.gnn_score = LEConv(in_channels, 1)
        self.gnn_intra_cluster = GNN(in_channels, in_channels, **kwargs) if GNN is not None else None
        self.select = SelectTopK(1, ratio)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        self.att.reset_parameters()
        self.gnn_score.reset_parameters()
        if self.gnn_intra_cluster is not None:
            self.gnn_intra_cluster.reset_parameters()
        self.select.reset_parameters()

    def forward(self, x: Tensor, edge_index: Union[Tensor, Graph], edge_weight: Optional[Tensor] = None,
                batch: Optional[Tensor] = None) -> ASAPOutput:
        inputs = pool_inputs(x, edge_index, edge_weight, batch, edge_attr_name="edge_weight")
        x = x.unsqueeze(-1) if x.dim() == 1 else x
        n = x.size(0)
        ei, weight = add_remaining_self_loops(inputs.edge_index, inputs.edge_attr, fill_value=1.0, num_nodes=n)
        src, dst = ei[0], ei[1]
        x_pool = x if self.gnn_intra_cluster is None else self.gnn_intra_cluster(x, ei, weight)
        x_pool_j = x_pool[src]
        x_q = self.lin(ops.scatter(x_pool_j, dst, n, reduce="max"))[dst]
        score = F.leaky_relu(self.att(torch.cat([x_q, x_pool_j], dim=-1)).view(-1), self.negative_slope)
        score = F.dropout(softmax(score, dst, num_nodes=n), p=self.dropout, training=self.training)
        x = ops.scatter(x[src] * score.view(-1, 1), dst, n, reduce="sum")

        fitness = self.gnn_score(x, ei).sigmoid().view(-1)
        perm, _ = self.select(fitness, inputs.batch)
        x = x[perm] * fitness[perm].view(-1, 1)
        batch = inputs.batch[perm]

        # S keeps the columns of the chosen centres: member j -> centre position, weight s_jc.
        k = perm.numel()
        column = torch.full((n,), -1, dtype=torch.long, device=perm.device)
        column[perm] = torch.arange(k, device=perm.device)
        in_s = column[dst] >= 0
        s_index, s_value = torch.stack([src[in_s], column[dst[in_s]]]), score[in_s]
        a_value = weight if weight is not None else score.new_ones(ei.size(1))
        as_index, as_value = sparse_product(ei, a_value, s_index, s_value, n, k)
        new_ei, new_w = sparse_product(s_index.flip(0), s_value, as_index, as_value, n, k)
        if self.add_self_loops:
            new_ei, new_w = add_remaining_self_loops(new_ei, new_w, fill_value=1.0, num_nodes=k)
        else:
            new_ei, new_w = remove_self_loops(new_ei, new_w)
        new_w = new_w if weight is not None else None
        graph = None
        if inputs.source is not None:
            extra = {"edge_weight": new_w} if new_w is not None else None
            graph = pooled_graph(inputs.source, x, perm, new_ei, batch, new_edge_fields=extra)
        return ASAPOutput(x, new_ei, new_w, batch, perm, graph=graph)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, ratio={self.ratio})"
