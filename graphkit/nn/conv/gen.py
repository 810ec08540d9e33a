r"""GENConv (Li et al., "DeeperGCN: All You Need to Train Deeper GCNs")."""
from __future__ import annotations

from typing import Any, List, Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.nn.adjacency import Adjacency
from graphkit.nn.aggr import MultiAggregation, SoftmaxAggregation
from graphkit.nn.aggr_power_mean import PowerMeanAggregation
from graphkit.nn.conv._utils import as_pair, pair_channels
from graphkit.nn.inits import reset
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.normalization.message_norm import MessageNorm

__all__ = ["GENConv", "softmax_aggregate_nodes"]


_NORMS = {"batch": lambda c: torch.nn.BatchNorm1d(c, affine=True),
          "layer": lambda c: torch.nn.LayerNorm(c, elementwise_affine=True),
          "instance": lambda c: torch.nn.InstanceNorm1d(c, affine=False)}


def deepgcn_mlp(channels: List[int], norm: Optional[str], bias: bool, dropout: float = 0.0) -> torch.nn.Sequential:
    """DeeperGCN's MLP as PyG lays it out (so its state_dict loads): ``Linear``, then ``norm``, ``ReLU`` and
    ``Dropout`` between layers, the last layer plain."""
    if norm and norm not in _NORMS:
        raise ValueError(f"norm must be one of {sorted(_NORMS)} or None, got {norm!r}")
    layers: List[torch.nn.Module] = []
    for i in range(1, len(channels)):
        layers.append(torch.nn.Linear(channels[i - 1], channels[i], bias=bias))
        if i < len(channels) - 1:
            if norm:
                layers.append(_NORMS[norm](channels[i]))
            layers += [torch.nn.ReLU(), torch.nn.Dropout(dropout)]
    return torch.nn.Sequential(*layers)


# Largest spread of t * y over the sources for which exp(t * y - max) stays a normal float (no underflow).
_SPREAD_LIMIT = {torch.float32: 60.0, torch.float64: 600.0}


def softmax_aggregate_nodes(adj: Adjacency, y: Tensor, aggr: SoftmaxAggregation) -> Optional[Tensor]:
    r"""DeeperGCN's softmax aggregation of per-*node* messages :math:`\mathbf{y}_j` with two fused ``spmm``:

    .. math::
        \sum_j \frac{e^{t y_j}}{\sum_k e^{t y_k}} y_j = \frac{\sum_j e^{t y_j - s}\, y_j}{\sum_j e^{t y_j - s}}

    with one shift :math:`s` per channel for all targets (the per-target shift cancels). Exact as long as no
    :math:`e^{t y_j - s}` underflows, which is checked: returns ``None`` (use the message path) otherwise, or when
    the aggregation stops gradients (``semi_grad``).
    """
    limit = _SPREAD_LIMIT.get(y.dtype)
    if limit is None or aggr.semi_grad or y.size(0) == 0:
        return None
    t = aggr.t.view(1, -1) if isinstance(aggr.t, Tensor) else aggr.t
    z = y * t
    with torch.no_grad():
        top, low = z.max(dim=0).values, z.min(dim=0).values
        if not bool(torch.isfinite(top).all()) or float((top - low).max()) > limit:
            return None
    w = torch.exp(z - top.detach())
    num = adj.spmm(w * y)
    den = adj.spmm(w)
    has_edges = (adj.degree() > 0).view(-1, 1)
    return num / den.masked_fill(~has_edges, 1.0)


class GENConv(MessagePassing):
    r"""The generalized graph convolution of DeeperGCN:

    .. math::
        \mathbf{x}_i' = \mathrm{MLP}\Big(\mathbf{x}_i + \mathrm{AGG}\big(\{\mathrm{ReLU}(\mathbf{x}_j +
        \mathbf{e}_{ji}) + \epsilon : j \in \mathcal{N}(i)\}\big)\Big)

    with ``aggr`` a softmax aggregation of temperature ``t`` (learnable with ``learn_t``), or any other
    aggregation; ``msg_norm`` rescales the aggregate with
    :class:`~graphkit.nn.normalization.MessageNorm`. The MLP has
    ``num_layers`` layers, hidden width ``expansion * out_channels`` and ``norm`` between layers. Same
    arguments and parameters as PyG's ``GENConv``; bipartite inputs and lazy ``in_channels=-1`` are accepted.
    Without edge features and with a plain reduction (``"sum"``, ``"mean"``, ``"max"``, ``"min"``) the
    messages are a per-node function, so the aggregation is one fused ``spmm``; the softmax aggregation is two
    (see :func:`softmax_aggregate_nodes`).

    Shapes:
        x ``(|V|, F_in)`` or ``((|V_s|, F_s), (|V_t|, F_t))``, adj, edge_attr ``(|E|, D)`` optional
        -> ``(|V_t|, F_out)``.

    >>> conv = GENConv(3, 8, learn_t=True, msg_norm=True)
    >>> conv(torch.randn(4, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([4, 8])
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, aggr: Any = "softmax",
                 t: float = 1.0, learn_t: bool = False, p: float = 1.0, learn_p: bool = False,
                 msg_norm: bool = False, learn_msg_scale: bool = False, norm: str = "batch", num_layers: int = 2,
                 expansion: int = 2, eps: float = 1e-7, bias: bool = False, edge_dim: Optional[int] = None,
                 **kwargs: Any) -> None:
        if aggr == "softmax":
            kwargs["aggr_kwargs"] = dict(t=t, learn=learn_t)
        elif aggr == "powermean":
            aggr = PowerMeanAggregation(p=p, learn=learn_p)
        super().__init__(aggr=aggr, **kwargs)
        self.in_channels, self.out_channels, self.eps = in_channels, out_channels, eps
        in_src, in_dst = pair_channels(in_channels)
        self.lin_src = Linear(in_src, out_channels, bias=bias) if in_src != out_channels else None
        self.lin_edge = (Linear(edge_dim, out_channels, bias=bias)
                         if edge_dim is not None and edge_dim != out_channels else None)
        aggr_out = (self.aggr_module.get_out_channels(out_channels)
                    if isinstance(self.aggr_module, MultiAggregation) else out_channels)
        self.lin_aggr_out = Linear(aggr_out, out_channels, bias=bias) if aggr_out != out_channels else None
        self.lin_dst = Linear(in_dst, out_channels, bias=bias) if in_dst != out_channels else None
        channels = [out_channels]
        for _ in range(num_layers - 1):
            channels.append(out_channels * expansion)
        channels.append(out_channels)
        self.mlp = deepgcn_mlp(channels, norm, bias)
        self.msg_norm = MessageNorm(learn_msg_scale) if msg_norm else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for module in (self.lin_src, self.lin_edge, self.lin_aggr_out, self.lin_dst, self.msg_norm):
            if module is not None:
                module.reset_parameters()
        reset(self.mlp)

    def forward(self, x: Any, adj: Any, edge_attr: Optional[Tensor] = None, size: Any = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        if self.lin_src is not None:
            x_src = self.lin_src(x_src)
        out: Optional[Tensor] = None
        if edge_attr is None and self.fuse:
            # relu(x_j) + eps depends on the source alone: aggregate it without building messages.
            adj_ = self.adjacency(adj, size, x=(x_src, x_dst))
            y = x_src.relu() + self.eps
            if self.aggr_module.fusable:
                out = self.fused_aggregate(adj_, y)
            elif isinstance(self.aggr_module, SoftmaxAggregation):
                out = softmax_aggregate_nodes(adj_, y, self.aggr_module)
            elif isinstance(self.aggr_module, PowerMeanAggregation) and self._default_aggregate_module():
                out = self.aggr_module.root(adj_.spmm(self.aggr_module.powered(y), reduce="mean"))
        if out is None:
            out = self.propagate(adj, size=size, x=(x_src, x_dst), edge_attr=edge_attr)
        if self.lin_aggr_out is not None:
            out = self.lin_aggr_out(out)
        if self.msg_norm is not None:
            out = self.msg_norm(x_dst if x_dst is not None else x_src, out)
        if x_dst is not None:
            out = out + (self.lin_dst(x_dst) if self.lin_dst is not None else x_dst)
        return self.mlp(out)

    def _default_aggregate_module(self) -> bool:
        # A subclass that overrides ``aggregate`` expects to see the messages: no shortcut then.
        return type(self).aggregate is MessagePassing.aggregate

    def message(self, x_j: Tensor, edge_attr: Optional[Tensor]) -> Tensor:
        if edge_attr is not None and self.lin_edge is not None:
            edge_attr = self.lin_edge(edge_attr)
        if edge_attr is not None and edge_attr.size(-1) != x_j.size(-1):
            raise ValueError(f"GENConv: edge features have {edge_attr.size(-1)} channels but messages have "
                             f"{x_j.size(-1)}; pass edge_dim to project them")
        msg = x_j if edge_attr is None else x_j + edge_attr
        return msg.relu() + self.eps

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr})"
