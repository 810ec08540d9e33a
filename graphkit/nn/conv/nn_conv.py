r"""NNConv (Gilmer et al., "Neural Message Passing for Quantum Chemistry"; the edge-conditioned convolution of
Simonovsky & Komodakis, ECC)."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple, Union

import torch
from torch import Tensor

from torch.nn.parameter import is_lazy

from graphkit.nn.adjacency import Adjacency
from graphkit.nn.conv._utils import as_pair, pair_channels
from graphkit.nn.inits import reset, zeros
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing

__all__ = ["NNConv", "ECConv"]


class NNConv(MessagePassing):
    r"""Edge-conditioned convolution: a network :math:`h_{\mathbf{\Theta}}` turns each edge's features into the
    weight matrix of its message,

    .. math::
        \mathbf{x}'_i = \mathbf{\Theta} \mathbf{x}_i + \bigoplus_{j \in \mathcal{N}(i)} \mathbf{x}_j^\top
        h_{\mathbf{\Theta}}(\mathbf{e}_{j \to i}) + \mathbf{b}

    (``nn`` maps ``[E, D]`` to ``[E, F_in * F_out]``). Same arguments and parameters (``nn.*``, ``lin.weight``,
    ``bias``) as PyG's ``NNConv``; bipartite inputs ``(x_src, x_dst)`` are accepted.

    When ``nn`` ends in a linear layer (``h_e \mapsto \mathbf{A} h_e + \mathbf{b}``, ``h_e`` of width
    :math:`H`) and the aggregation is a sum or mean, the per-edge weight matrices are never built:
    :math:`\mathbf{x}_j^\top W(\mathbf{e}) = \sum_k h_{e,k}\, \mathbf{x}_j^\top \mathbf{A}_k +
    \mathbf{x}_j^\top \mathbf{B}`, so the layer is one per-node product :math:`\mathbf{P} = \mathbf{x}
    \mathbf{A}` (``[N, H, F_out]``) and two fused ``spmm`` calls, one with per-edge weights :math:`h_e`
    (:math:`O(E H F_{out})` memory instead of PyG's :math:`O(E F_{in} F_{out})`).

    Shapes:
        x ``(|V|, F_in)`` or ``((|V_s|, F_s), (|V_t|, F_t))``, adj, edge_attr ``(|E|, D)`` -> ``(|V_t|, F_out)``.

    >>> net = torch.nn.Linear(2, 3 * 4)
    >>> NNConv(3, 4, net)(torch.randn(5, 3), torch.tensor([[0, 1], [1, 2]]), torch.randn(2, 2)).shape
    torch.Size([5, 4])
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, nn: Callable, aggr: str = "add",
                 root_weight: bool = True, bias: bool = True, **kwargs: Any) -> None:
        super().__init__(aggr=aggr, **kwargs)
        self.in_channels, self.out_channels, self.nn = in_channels, out_channels, nn
        self.root_weight = root_weight
        self.in_channels_l, in_dst = pair_channels(in_channels)
        if self.in_channels_l < 1:
            raise ValueError(f"NNConv needs the source feature size (nn's output is reshaped by it), got "
                             f"{self.in_channels_l}")
        self.lin = Linear(in_dst, out_channels, bias=False, weight_initializer="uniform") if root_weight else None
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.nn)
        if self.lin is not None:
            self.lin.reset_parameters()
        zeros(self.bias)

    def forward(self, x: Any, adj: Any, edge_attr: Optional[Tensor] = None, size: Any = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        if edge_attr is None:
            raise ValueError("NNConv needs edge_attr: the message weights are computed from it")
        last = self._last_linear()
        if last is not None and self.fuse and self.aggr in ("add", "sum", "mean"):
            out = self._factorised(self.adjacency(adj, size, x=(x_src, x_dst)), x_src, edge_attr, last)
        else:
            out = self.propagate(adj, size=size, x=(x_src, x_dst), edge_attr=edge_attr)
        if x_dst is not None and self.lin is not None:
            out = out + self.lin(x_dst)
        if self.bias is not None:
            out = out + self.bias
        return out

    def _last_linear(self) -> Optional[torch.nn.Module]:
        last = self.nn[-1] if isinstance(self.nn, torch.nn.Sequential) and len(self.nn) else self.nn
        ok = isinstance(last, (torch.nn.Linear, Linear)) and not is_lazy(last.weight)
        return last if ok and last.weight.size(0) == self.in_channels_l * self.out_channels else None

    def _factorised(self, adj: Adjacency, x_src: Tensor, edge_attr: Tensor, last: Any) -> Tensor:
        hidden = self.nn[:-1](edge_attr) if isinstance(self.nn, torch.nn.Sequential) else edge_attr
        f_in, f_out = self.in_channels_l, self.out_channels
        a = last.weight.t().reshape(-1, f_in, f_out)  # [H, F_in, F_out]: the weight matrix's part per hidden unit
        p = torch.einsum("nf,hfo->nho", x_src, a)
        reduce = "mean" if self.aggr == "mean" else "sum"
        out = adj.spmm(p, hidden.to(p.dtype).contiguous(), reduce).sum(dim=1)
        if last.bias is not None:
            out = out + adj.spmm(x_src @ last.bias.view(f_in, f_out), None, reduce)
        return out

    def message(self, x_j: Tensor, edge_attr: Tensor) -> Tensor:
        weight = self.nn(edge_attr).view(-1, self.in_channels_l, self.out_channels)
        return torch.bmm(x_j.unsqueeze(1), weight).squeeze(1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr})"


ECConv = NNConv
