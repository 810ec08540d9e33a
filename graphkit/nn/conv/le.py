r"""LEConv (Ranjan et al., "ASAP: Adaptive Structure Aware Pooling for Learning Hierarchical Graph
Representations")."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

from torch import Tensor

from graphkit import ops
from graphkit.nn.conv._utils import as_pair, pair_channels
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing

__all__ = ["LEConv"]


class LEConv(MessagePassing):
    r"""Local extremum convolution:

    .. math::
        \mathbf{x}^{\prime}_i = \sum_{j \in \mathcal{N}(i)} e_{j,i} (\mathbf{\Theta}_1 \mathbf{x}_i -
        \mathbf{\Theta}_2 \mathbf{x}_j) + \mathbf{\Theta}_3 \mathbf{x}_i

    (PyG's form: the message is :math:`\mathbf{a}_j - \mathbf{b}_i` with :math:`\mathbf{a} = \mathrm{lin1}(x)`,
    :math:`\mathbf{b} = \mathrm{lin2}(x)`). The sum splits into :math:`\sum_j e_{j,i}\mathbf{a}_j` (one fused
    ``spmm``) minus the weighted in-degree times :math:`\mathbf{b}_i`, so no message tensor is built. Same
    arguments and parameters (``lin1``, ``lin2``, ``lin3``) as PyG's ``LEConv``; bipartite and lazy inputs are
    accepted.

    Shapes:
        x ``(|V|, F_in)`` or ``((|V_s|, F_s), (|V_t|, F_t))``, adj, edge_weight ``(|E|)`` -> ``(|V_t|, F_out)``.

    >>> import torch
    >>> LEConv(3, 4)(torch.randn(5, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([5, 4])
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, bias: bool = True,
                 **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        in_src, in_dst = pair_channels(in_channels)
        self.lin1 = Linear(in_src, out_channels, bias=bias)
        self.lin2 = Linear(in_dst, out_channels, bias=False)
        self.lin3 = Linear(in_dst, out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin1.reset_parameters()
        self.lin2.reset_parameters()
        self.lin3.reset_parameters()

    def forward(self, x: Any, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        a, b = self.lin1(x_src), self.lin2(x_dst)
        if self.fuse and self.aggr == "add":
            adj_ = self.adjacency(adj, x=(a, b))
            w = edge_weight if edge_weight is not None else (adj_.value if adj_.value is not None
                                                             and adj_.value.dim() == 1 else None)
            if w is None:
                deg = adj_.degree(a.dtype)
            else:
                deg = ops.scatter(w.to(a.dtype), adj_.dst, dim_size=adj_.num_dst, reduce="sum")
            out = adj_.spmm(a, None if w is None else w.to(a.dtype)) - deg.view(-1, 1) * b
        else:
            out = self.propagate(adj, a=(a, None), b=(None, b), edge_weight=edge_weight)
        return out + self.lin3(x_dst)

    def message(self, a_j: Tensor, b_i: Tensor, edge_weight: Optional[Tensor]) -> Tensor:
        out = a_j - b_i
        return out if edge_weight is None else out * edge_weight.view(-1, 1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
