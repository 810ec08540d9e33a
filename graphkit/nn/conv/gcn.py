r"""GCNConv (Kipf & Welling, "Semi-Supervised Classification with Graph Convolutional Networks") and
``gcn_norm``, the symmetric normalisation that SGConv, APPNP, DAGNNConv and LightGCNConv share."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
from torch import Tensor
from torch.nn.parameter import is_lazy

from graphkit.nn.aggr import SumAggregation
from graphkit.nn.inits import zeros
from graphkit.nn.linear import Linear, direct_weights
from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.trim import prefix_parent
from graphkit.ops._checks import check_act
from graphkit.ops.adjacency import Adjacency, is_compiling
from graphkit.ops.linear import linear
from graphkit.typing import AdjLike

__all__ = ["GCNConv", "gcn_norm", "Normalized", "aggregate_first"]

#: ``(adj, edge weights [E], self-loop weights [N] or None)``: self-loops are kept apart from the edges so that
#: the graph (and its cached CSR) stays the one the user passed; a loop term is ``loop[i] * x[i]``.
Normalized = Tuple[Adjacency, Tensor, Optional[Tensor]]


def gcn_norm(adj: Adjacency, edge_weight: Optional[Tensor] = None, improved: bool = False,
             add_self_loops: bool = True, dtype: Optional[torch.dtype] = None) -> Normalized:
    r""":math:`\hat D^{-1/2} \hat A \hat D^{-1/2}` with :math:`\hat A = A + I` ("remaining" self-loops, as PyG:
    a node that already has a loop keeps its weight, others get 1, or 2 when ``improved``).

    Returns ``(adj, w, loop)``: ``w`` for every edge of ``adj`` (existing loops get 0, their weight moves to
    ``loop``) and ``loop [N]`` for the self-loop term, ``None`` without self-loops. Isolated nodes get 0.

    >>> adj = Adjacency.from_adj(torch.tensor([[0, 1], [1, 0]]))
    >>> _, w, loop = gcn_norm(adj, dtype=torch.float64)
    >>> [round(v, 6) for v in w.tolist() + loop.tolist()]
    [0.5, 0.5, 0.5, 0.5]

    Without edge weights, the result is memoised on the structure (``adj.derived``): every GCN-style layer and
    every epoch over the same graph (or the same edge_index tensor) reuses it.
    """
    parent = prefix_parent(adj)
    if parent is not None:  # a layer-trimmed batch: the outer sources' degrees live in the untrimmed structure
        if edge_weight is not None:
            raise ValueError("edge_weight on a layer-trimmed structure: normalise on the untrimmed graph (the "
                             "sources' degrees need the edges trimming drops)")
        _, w, loop = gcn_norm(parent, None, improved, add_self_loops, dtype)
        return adj, w[: adj.num_edges], None if loop is None else loop[: adj.num_dst]
    if edge_weight is None and adj.value is None and not is_compiling():
        key = ("gcn_norm", improved, add_self_loops, dtype or torch.get_default_dtype())
        w, loop = adj.derived(key, lambda: _gcn_norm(adj, None, improved, add_self_loops, dtype)[1:])
        return adj, w, loop
    return _gcn_norm(adj, edge_weight, improved, add_self_loops, dtype)


def _gcn_norm(adj: Adjacency, edge_weight: Optional[Tensor], improved: bool, add_self_loops: bool,
              dtype: Optional[torch.dtype]) -> Normalized:
    src, dst = adj.src, adj.dst
    n = adj.num_dst
    if edge_weight is None and adj.value is not None and adj.value.dim() == 1:
        edge_weight = adj.value
    if edge_weight is None:
        edge_weight = torch.ones(adj.num_edges, dtype=dtype or torch.get_default_dtype(), device=src.device)
    elif edge_weight.dim() != 1 or edge_weight.size(0) != adj.num_edges:
        raise ValueError(f"edge_weight must have shape [{adj.num_edges}], got {list(edge_weight.shape)}")
    loop: Optional[Tensor] = None
    w = edge_weight
    if add_self_loops:
        if adj.num_src != adj.num_dst:
            raise ValueError(f"self-loops need one node set, but adj is bipartite ({adj.num_src} x {adj.num_dst})")
        is_loop = src == dst
        loop = torch.full((n,), 2.0 if improved else 1.0, dtype=w.dtype, device=w.device)
        loop = loop.index_put((src[is_loop],), w[is_loop])  # an existing loop keeps its weight
        w = w.masked_fill(is_loop, 0.0)
    deg = torch.zeros(n, dtype=w.dtype, device=w.device).index_add_(0, dst, w)
    if loop is not None:
        deg = deg + loop
    dis = deg.pow(-0.5)
    dis = dis.masked_fill(dis == float("inf"), 0.0)
    w = dis.index_select(0, src) * w * dis.index_select(0, dst)
    if loop is not None:
        loop = dis * loop * dis
    return adj, w, loop


class GCNConv(MessagePassing):
    r"""Graph convolution with symmetric normalisation:

    .. math::
        \mathbf{X}' = \hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}} \hat{\mathbf{D}}^{-1/2} \mathbf{X} \mathbf{\Theta}
        + \mathbf{b}, \qquad \hat{\mathbf{A}} = \mathbf{A} + \mathbf{I}

    (:math:`2\mathbf{I}` when ``improved``), with edge weights in :math:`\mathbf{A}` when given. Same arguments and
    parameters (``lin.weight``, ``bias``) as PyG's ``GCNConv``. Propagation is the fused ``spmm`` over the graph
    as given (its cached CSR); the self-loops are a separate diagonal term, never new edges.

    Args:
        in_channels, out_channels: feature sizes. improved: :math:`\hat A = A + 2I`.
        cached: keep the normalised weights of the first call (transductive use only).
        add_self_loops: defaults to ``normalize``. normalize: apply the normalisation. bias: learn :math:`b`.

    Shapes:
        x ``(|V|, F_in)``, adj, edge_weight ``(|E|)`` optional -> ``(|V|, F_out)``.
    """

    fused_weight = "edge_weight"

    def __init__(self, in_channels: int, out_channels: int, improved: bool = False, cached: bool = False,
                 add_self_loops: Optional[bool] = None, normalize: bool = True, bias: bool = True,
                 **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        if add_self_loops is None:
            add_self_loops = normalize
        if add_self_loops and not normalize:
            raise ValueError("add_self_loops=True needs normalize=True (as in PyG)")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.improved, self.cached = improved, cached
        self.add_self_loops, self.normalize = add_self_loops, normalize
        self._cached_norm: Optional[Normalized] = None
        self.lin = Linear(in_channels, out_channels, bias=False, weight_initializer="glorot")
        self.bias: Optional[torch.nn.Parameter] = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin.reset_parameters()
        zeros(self.bias)
        self._cached_norm = None

    def normalized(self, adj: AdjLike, x: Tensor, edge_weight: Optional[Tensor]) -> Normalized:
        """The (possibly cached) normalised structure for ``adj``."""
        if self.cached and self._cached_norm is not None:
            return self._cached_norm
        adj_ = self.adjacency(adj, x=x)
        if self.normalize:
            out = gcn_norm(adj_, edge_weight, self.improved, self.add_self_loops, x.dtype)
        else:
            w = edge_weight if edge_weight is not None else adj_.value
            out = (adj_, w, None)
        if self.cached:
            self._cached_norm = out
        return out

    def forward(self, x: Tensor, adj: AdjLike, edge_weight: Optional[Tensor] = None, *,
                act: Optional[str] = None) -> Tensor:
        """``act="relu"`` applies a ReLU to the output, inside the ``spmm`` epilogue where the layer aggregates
        after its linear map (models pass it instead of a separate activation: one pass less each way)."""
        check_act(act)
        adj_, w, loop = self.normalized(adj, x, edge_weight)
        if aggregate_first(x, self.lin, self.out_channels):
            return self._linear(propagate_with_loops(self, adj_, x, w, loop), self.bias, act)
        # the loop term, the bias and the activation ride in the spmm's epilogue where the layer takes the fused path
        return propagate_with_loops(self, adj_, self._linear(x), w, loop, self.bias, act)

    def _linear(self, x: Tensor, bias: Optional[Tensor] = None, act: Optional[str] = None) -> Tensor:
        # ops.linear: self.lin's map with the bias and ReLU in place, its N x F results on reused huge pages
        if not direct_weights(self.lin):  # hooks, pruning or a subclass: the module itself must run
            out = self.lin(x)
            out = out if bias is None else out + bias
            return out if act is None else torch.relu(out)
        if is_lazy(self.lin.weight):
            self.lin(x[:0])  # a lazy layer's first call sizes and initialises its weight
        return linear(x, self.lin.weight, bias, act)


def aggregate_first(x: Tensor, lin: torch.nn.Module, out_channels: int) -> bool:
    r"""Whether a layer computing :math:`\hat A X W` (``W`` the weight of ``lin``) should aggregate first,
    :math:`(\hat A X) W`, rather than :math:`\hat A (X W)`. The two are equal; the order picks the width the
    sparse products run at, forward and backward.

    * Without a backward, or when ``x`` needs a gradient: the narrower side (fewer bytes gathered per edge). A tie
      goes to :math:`\hat A (X W)`, whose bias and activation ride in the ``spmm`` epilogue.
    * When ``x`` needs no gradient (the first layer's input features) but ``W`` does: :math:`\hat A (X W)` pays a
      transposed SpMM in the backward too (for the gradient of :math:`X W`, which :math:`W`'s needs), while
      :math:`(\hat A X) W` pays no sparse product in the backward at all. One SpMM at ``F_in`` beats two at
      ``F_out`` up to ``F_in = 2 F_out`` (an SpMM's time grows about linearly with the width, plus a fixed cost
      per edge).

    Aggregating first also leaves the dense product ``num_dst`` rows instead of ``num_src`` on a trimmed batch.

    >>> lin = torch.nn.Linear(64, 64, bias=False)
    >>> aggregate_first(torch.randn(4, 64), lin, 64)  # the first layer of a 64 -> 64 GCN, training
    True
    >>> aggregate_first(torch.randn(4, 64, requires_grad=True), lin, 64)
    False
    >>> with torch.no_grad():
    ...     aggregate_first(torch.randn(4, 64), lin, 64)
    False
    """
    f_in = x.size(-1)
    w = getattr(lin, "weight", None)
    weight_grad = torch.is_grad_enabled() and isinstance(w, Tensor) and w.requires_grad
    if weight_grad and not x.requires_grad:
        return f_in <= 2 * out_channels
    return f_in < out_channels


def propagate_with_loops(layer: MessagePassing, adj: Adjacency, x: Tensor, w: Optional[Tensor],
                         loop: Optional[Tensor], bias: Optional[Tensor] = None, act: Optional[str] = None) -> Tensor:
    """``layer.propagate(adj, x=x, edge_weight=w)`` plus the self-loop term ``loop[i] * x[i]`` (then ``bias``,
    then ``act``: ``None`` or ``"relu"``).

    The loop term is added after the aggregation, which is exact for a sum; other aggregations get the loops
    as real edges instead (slower, but the same result as PyG's). A sum on the fused path takes the loop term,
    the bias and the activation as the ``spmm`` epilogue: one pass over the output instead of up to four.
    """
    sum_aggr = isinstance(layer.aggr_module, SumAggregation)
    if sum_aggr and layer.fusable() and type(layer).update is MessagePassing.update:
        diag = None if loop is None else loop.to(x.dtype)
        return layer.fused_aggregate(adj, x, w, diag=diag, bias=bias, act=act)
    out, fresh = _propagate_with_loops(layer, adj, x, w, loop, sum_aggr)
    if bias is not None:
        # In place where out is a fresh product no backward reads (addcmul): one N x F buffer less (with another
        # aggregation, out may be what its backward saved).
        out = out.add_(bias) if fresh else out + bias
    return out if act is None else torch.relu(out)


def _propagate_with_loops(layer: MessagePassing, adj: Adjacency, x: Tensor, w: Optional[Tensor],
                          loop: Optional[Tensor], sum_aggr: bool) -> Tuple[Tensor, bool]:
    # (out, whether out is a fresh buffer that no backward reads)
    if loop is None:
        return layer.propagate(adj, x=x, edge_weight=w), False
    # x has a row per source; the targets are its first num_dst rows (all of them unless the layer is trimmed)
    if sum_aggr:  # one fused pass: out + loop * x_dst
        return torch.addcmul(layer.propagate(adj, x=x, edge_weight=w), loop.view(-1, *([1] * (x.dim() - 1))),
                             x[: adj.num_dst]), True
    n = adj.num_dst
    ar = torch.arange(n, device=x.device)
    keep = adj.src != adj.dst
    ei = torch.cat([adj.edge_index[:, keep], torch.stack([ar, ar])], dim=1)
    w_all = torch.cat([w[keep], loop])  # type: ignore[index]
    return layer.propagate(Adjacency(ei, adj.num_src, n), x=x, edge_weight=w_all), False
