r"""GMMConv (Monti et al., "Geometric Deep Learning on Graphs and Manifolds using Mixture Model CNNs", MoNet)."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn.parameter import UninitializedParameter, is_lazy

from graphkit.nn.adjacency import Adjacency
from graphkit.nn.conv._utils import as_pair, pair_channels
from graphkit.nn.inits import glorot, zeros
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing

__all__ = ["GMMConv"]

_EPS = 1e-15


class GMMConv(MessagePassing):
    r"""Gaussian mixture model convolution on pseudo-coordinates :math:`\mathbf{e}_{ij}` (``edge_attr``):

    .. math::
        \mathbf{x}^{\prime}_i = \frac{1}{|\mathcal{N}(i)|} \sum_{j \in \mathcal{N}(i)} \frac{1}{K} \sum_{k=1}^K
        \mathbf{w}_k(\mathbf{e}_{ij}) \odot \mathbf{\Theta}_k \mathbf{x}_j, \qquad
        \mathbf{w}_k(\mathbf{e}) = \exp\left( -\frac{1}{2} (\mathbf{e} - \boldsymbol{\mu}_k)^{\top}
        \boldsymbol{\Sigma}_k^{-1} (\mathbf{e} - \boldsymbol{\mu}_k) \right)

    (diagonal :math:`\boldsymbol{\Sigma}_k`; PyG's form without the :math:`1/K`; ``separate_gaussians`` gives
    every input/output channel pair its own mixture), plus a root weight and bias. Same arguments and parameters
    (``g``, ``mu``, ``sigma``, ``root``, ``bias``) as PyG's ``GMMConv``, including lazy ``in_channels=-1``.
    Without separate gaussians and with a sum or mean, the mixture is one fused ``spmm`` with ``K`` weights per
    edge over :math:`\mathbf{x}\mathbf{g}` ``[N, K, F_out]``: no ``[E, K, F_out]`` messages.

    Shapes:
        x ``(|V|, F_in)`` or pairs, adj, edge_attr ``(|E|, D)`` -> ``(|V_t|, F_out)``.

    >>> conv = GMMConv(3, 4, dim=2, kernel_size=5)
    >>> conv(torch.randn(5, 3), torch.tensor([[0, 1, 2], [1, 2, 3]]), torch.rand(3, 2)).shape
    torch.Size([5, 4])
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, dim: int, kernel_size: int,
                 separate_gaussians: bool = False, aggr: str = "mean", root_weight: bool = True, bias: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(aggr=aggr, **kwargs)
        self.in_channels, self.out_channels, self.dim, self.kernel_size = in_channels, out_channels, dim, kernel_size
        self.separate_gaussians, self.root_weight = separate_gaussians, root_weight
        in_src, in_dst = pair_channels(in_channels)
        self.rel_in_channels = in_src
        if in_src > 0:
            self.g: Any = torch.nn.Parameter(torch.empty(in_src, out_channels * kernel_size))
            shape = (in_src, out_channels, kernel_size, dim) if separate_gaussians else (kernel_size, dim)
            self.mu: Any = torch.nn.Parameter(torch.empty(shape))
            self.sigma: Any = torch.nn.Parameter(torch.empty(shape))
        else:
            self.g, self.mu, self.sigma = UninitializedParameter(), UninitializedParameter(), UninitializedParameter()
            self._register_load_state_dict_pre_hook(self._materialize_from_state)
        self.root = Linear(in_dst, out_channels, bias=False, weight_initializer="glorot") if root_weight else None
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if not is_lazy(self.g):
            glorot(self.g)
            glorot(self.mu)
            glorot(self.sigma)
        if self.root is not None:
            self.root.reset_parameters()
        zeros(self.bias)

    def _materialize(self, f_in: int, like: Tensor) -> None:
        k, m = self.kernel_size, self.out_channels
        shape = (f_in, m, k, self.dim) if self.separate_gaussians else (k, self.dim)
        self.g.materialize((f_in, m * k), dtype=like.dtype, device=like.device)
        self.mu.materialize(shape, dtype=like.dtype, device=like.device)
        self.sigma.materialize(shape, dtype=like.dtype, device=like.device)
        self.rel_in_channels = f_in
        glorot(self.g)
        glorot(self.mu)
        glorot(self.sigma)

    def _materialize_from_state(self, state_dict: Any, prefix: str, *args: Any) -> None:
        g = state_dict.get(prefix + "g")
        if g is not None and is_lazy(self.g):
            self._materialize(g.size(0), g)

    def forward(self, x: Any, adj: Any, edge_attr: Optional[Tensor] = None, size: Any = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        if edge_attr is None:
            raise ValueError("GMMConv needs edge_attr (the pseudo-coordinates of every edge)")
        if is_lazy(self.g):
            with torch.no_grad():
                self._materialize(x_src.size(-1), x_src)
        if self.separate_gaussians:
            out = self.propagate(adj, size=size, x=(x_src, x_dst), edge_attr=edge_attr)
        elif self.fuse and self.aggr in ("add", "sum", "mean"):
            out = self._mixture_spmm(self.adjacency(adj, size, x=(x_src, x_dst)), x_src @ self.g, edge_attr)
        else:
            out = self.propagate(adj, size=size, x=(x_src @ self.g, x_dst), edge_attr=edge_attr)
        if x_dst is not None and self.root is not None:
            out = out + self.root(x_dst)
        if self.bias is not None:
            out = out + self.bias
        return out

    def _weights(self, edge_attr: Tensor) -> Tensor:
        """The mixture weights ``[E, K]`` (shared gaussians)."""
        e, d, k = edge_attr.size(0), edge_attr.size(1), self.kernel_size
        z = (edge_attr.view(e, 1, d) - self.mu.view(1, k, d)).pow(2) * -0.5
        return torch.exp((z / (_EPS + self.sigma.view(1, k, d).pow(2))).sum(dim=-1))

    def _mixture_spmm(self, adj: Adjacency, xg: Tensor, edge_attr: Tensor) -> Tensor:
        k, m = self.kernel_size, self.out_channels
        reduce = "mean" if self.aggr == "mean" else "sum"
        return adj.spmm(xg.view(-1, k, m), self._weights(edge_attr).contiguous(), reduce).sum(dim=1)

    def message(self, x_j: Tensor, edge_attr: Tensor) -> Tensor:
        e, d = edge_attr.shape
        k, m, f = self.kernel_size, self.out_channels, self.rel_in_channels
        if not self.separate_gaussians:
            return (x_j.view(e, k, m) * self._weights(edge_attr).view(e, k, 1)).sum(dim=-2)
        z = (edge_attr.view(e, 1, 1, 1, d) - self.mu.view(1, f, m, k, d)).pow(2) * -0.5
        w = torch.exp((z / (_EPS + self.sigma.view(1, f, m, k, d).pow(2))).sum(dim=-1))  # [E, F, M, K]
        w = (w * self.g.view(1, f, m, k)).sum(dim=-1)  # [E, F, M]
        return (x_j.view(e, f, 1) * w).sum(dim=-2)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, dim={self.dim})"
