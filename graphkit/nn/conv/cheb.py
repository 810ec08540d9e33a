r"""ChebConv (Defferrard et al., "Convolutional Neural Networks on Graphs with Fast Localized Spectral
Filtering")."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.nn.adjacency import Adjacency
from graphkit.nn.conv.gcn import propagate_with_loops
from graphkit.nn.inits import zeros
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing

__all__ = ["ChebConv", "scaled_laplacian"]

_NORMALIZATIONS = (None, "sym", "rw")


def scaled_laplacian(adj: Adjacency, edge_weight: Optional[Tensor], normalization: Optional[str],
                     lambda_max: Union[None, float, Tensor], batch: Optional[Tensor], dtype: torch.dtype
                     ) -> Tuple[Tensor, Tensor]:
    r""":math:`\hat{\mathbf{L}} = 2\mathbf{L}/\lambda_{\max} - \mathbf{I}` as ``(w [E], diag [N])``: ``w`` on the
    edges of ``adj`` (self-loops get 0: the Laplacian ignores them) and the diagonal apart, so the graph's
    cached CSR stays usable. Degrees sum the weights per *source* node, as PyG's ``get_laplacian``;
    ``lambda_max`` may hold one value per graph of ``batch``.
    """
    src, dst = adj.src, adj.dst
    n = adj.num_dst
    if edge_weight is None and adj.value is not None and adj.value.dim() == 1:
        edge_weight = adj.value
    if edge_weight is None:
        w = torch.ones(adj.num_edges, dtype=dtype, device=src.device)
    elif edge_weight.dim() != 1 or edge_weight.size(0) != adj.num_edges:
        raise ValueError(f"edge_weight must have shape [{adj.num_edges}], got {list(edge_weight.shape)}")
    else:
        w = edge_weight.to(dtype)
    w = w.masked_fill(src == dst, 0.0)
    deg = torch.zeros(n, dtype=dtype, device=w.device).index_add_(0, src, w)
    if normalization == "sym":
        dis = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
        off, diag = -dis[src] * w * dis[dst], torch.ones(n, dtype=dtype, device=w.device)
    elif normalization == "rw":
        dinv = (1.0 / deg).masked_fill(deg == 0, 0.0)
        off, diag = -dinv[src] * w, torch.ones(n, dtype=dtype, device=w.device)
    else:
        off, diag = -w, deg
    lam = torch.as_tensor(2.0 if lambda_max is None else lambda_max, dtype=dtype, device=w.device)
    if lam.numel() > 1:
        if batch is None:
            raise ValueError(f"lambda_max has {lam.numel()} values (one per graph) but no batch was given")
        lam_edge, lam_node = lam[batch[src]], lam[batch]
    else:
        lam_edge = lam_node = lam.reshape(())
    off = (2.0 * off / lam_edge).masked_fill(lam_edge == 0, 0.0)
    return off, 2.0 * diag / lam_node - 1.0


class ChebConv(MessagePassing):
    r"""Chebyshev spectral graph convolution of order ``K``:

    .. math::
        \mathbf{X}' = \sum_{k=1}^{K} \mathbf{Z}^{(k)} \mathbf{\Theta}^{(k)} + \mathbf{b}, \quad
        \mathbf{Z}^{(1)} = \mathbf{X}, \ \mathbf{Z}^{(2)} = \hat{\mathbf{L}} \mathbf{X}, \
        \mathbf{Z}^{(k)} = 2 \hat{\mathbf{L}} \mathbf{Z}^{(k-1)} - \mathbf{Z}^{(k-2)}

    with :math:`\hat{\mathbf{L}} = 2\mathbf{L}/\lambda_{\max} - \mathbf{I}` and :math:`\mathbf{L}` the Laplacian
    (``normalization``: ``"sym"`` :math:`\mathbf{I} - \mathbf{D}^{-1/2}\mathbf{A}\mathbf{D}^{-1/2}`, ``"rw"``
    :math:`\mathbf{I} - \mathbf{D}^{-1}\mathbf{A}`, ``None`` :math:`\mathbf{D} - \mathbf{A}`). ``lambda_max``
    defaults to 2 and must be given unless ``"sym"``. Same arguments and parameters (``lins.k.weight``, ``bias``)
    as PyG's ``ChebConv``; each :math:`\hat{\mathbf{L}}` product is one fused ``spmm``.

    Args:
        in_channels (-1: lazy), out_channels, K: filter size. normalization: see above. bias: learn :math:`b`.

    Shapes:
        x ``(|V|, F_in)``, adj, edge_weight ``(|E|)``, batch ``(|V|)``, lambda_max ``()`` or ``(B)``
        -> ``(|V|, F_out)``.

    >>> conv = ChebConv(3, 4, K=2)
    >>> conv(torch.randn(5, 3), torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])).shape
    torch.Size([5, 4])
    """

    fused_weight = "edge_weight"

    def __init__(self, in_channels: int, out_channels: int, K: int, normalization: Optional[str] = "sym",
                 bias: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        if K <= 0:
            raise ValueError(f"K must be positive, got {K}")
        if normalization not in _NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}")
        self.in_channels, self.out_channels, self.normalization = in_channels, out_channels, normalization
        self.lins = torch.nn.ModuleList(
            [Linear(in_channels, out_channels, bias=False, weight_initializer="glorot") for _ in range(K)])
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in self.lins:
            lin.reset_parameters()
        zeros(self.bias)

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None, batch: Optional[Tensor] = None,
                lambda_max: Union[None, float, Tensor] = None) -> Tensor:
        if self.normalization != "sym" and lambda_max is None:
            raise ValueError("ChebConv needs lambda_max in forward() unless normalization='sym'")
        adj_ = self.adjacency(adj, x=x)
        w, diag = scaled_laplacian(adj_, edge_weight, self.normalization, lambda_max, batch, x.dtype)
        lhat = lambda h: propagate_with_loops(self, adj_, h, w, diag)  # noqa: E731
        t_prev, t_cur = x, x
        out = self.lins[0](x)
        if len(self.lins) > 1:
            t_cur = lhat(x)
            out = out + self.lins[1](t_cur)
        for lin in self.lins[2:]:
            t_next = 2.0 * lhat(t_cur) - t_prev
            out = out + lin(t_next)
            t_prev, t_cur = t_cur, t_next
        if self.bias is not None:
            out = out + self.bias
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={len(self.lins)}, "
                f"normalization={self.normalization})")
