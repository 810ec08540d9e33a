"""Diffusion transforms: ``SIGN`` (precomputed propagated features) and ``GDC`` (graph diffusion convolution)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from graphkit import ops
from graphkit.graph import Graph
from graphkit.transforms.base import BaseTransform, fields_of, new_graph
from graphkit.utils import add_self_loops, coalesce, is_undirected, to_dense_adj

__all__ = ["SIGN", "GDC"]


def _edges(graph: Graph) -> Tensor:
    ei = graph.edge_index
    return ei if ei is not None else torch.empty(2, 0, dtype=torch.long)


class SIGN(BaseTransform):
    r"""Precompute :math:`\mathbf{x}_k = (\mathbf{D}^{-1/2} \mathbf{A} \mathbf{D}^{-1/2})^k \mathbf{x}` for
    ``k = 1..K`` as node fields ``x1`` ... ``xK`` (Frasca et al., "SIGN"): :math:`\mathbf{A}` holds the field
    ``edge_weight`` when present, :math:`\mathbf{D}` the weighted in-degrees, no self-loops are added (as PyG).
    Each product is a fused :func:`graphkit.ops.spmm`.

    >>> g = Graph(x=torch.tensor([[1.0], [0.0]]), edge_index=torch.tensor([[0, 1], [1, 0]]))
    >>> SIGN(2)(g).x1.view(-1).tolist()
    [0.0, 1.0]
    """

    def __init__(self, K: int) -> None:
        if K < 1:
            raise ValueError(f"K must be at least 1, got {K}")
        self.K = K

    def forward(self, graph: Graph) -> Graph:
        x = graph.x
        if x is None:
            raise ValueError("SIGN needs node features x")
        ei = _edges(graph)
        n = graph.num_nodes
        weight = getattr(graph, "edge_weight", None)
        weight = torch.ones(ei.size(1), dtype=x.dtype, device=x.device) if weight is None else weight.to(x.dtype)
        deg = ops.scatter(weight, ei[1], dim_size=n, reduce="sum")
        dis = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
        w = dis[ei[0]] * weight * dis[ei[1]]
        fields = fields_of(graph)
        h = x
        for k in range(1, self.K + 1):
            h = ops.spmm(ei, h, w, num_nodes=n)
            fields[f"x{k}"] = (h, "node")
        return new_graph(n, graph.edge_index, fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(K={self.K})"


def transition_matrix(edge_index: Tensor, weight: Tensor, n: int, normalization: Optional[str]
                      ) -> Tuple[Tensor, Tensor]:
    r"""Normalise edge weights: ``"sym"`` :math:`D^{-1/2} A D^{-1/2}`, ``"col"`` :math:`A D^{-1}`, ``"row"``
    :math:`D^{-1} A`, ``None`` unchanged. :math:`D` sums the weights per target (``"row"``: per source)."""
    if normalization is None:
        return edge_index, weight
    if normalization not in ("sym", "col", "row"):
        raise ValueError(f"normalization must be 'sym', 'col', 'row' or None, got {normalization!r}")
    side = edge_index[0] if normalization == "row" else edge_index[1]
    deg = ops.scatter(weight, side, dim_size=n, reduce="sum")
    if normalization == "sym":
        inv = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
        return edge_index, inv[edge_index[0]] * weight * inv[edge_index[1]]
    inv = (1.0 / deg).masked_fill(deg == 0, 0.0)
    return edge_index, weight * inv[side]


class GDC(BaseTransform):
    r"""Graph diffusion convolution (Gasteiger et al., "Diffusion Improves Graph Learning"), exact (dense) form.

    :math:`\mathbf{S} = \sum_k \theta_k \mathbf{T}^k` for the transition matrix :math:`\mathbf{T}` of the graph with
    self-loops of weight ``self_loop_weight`` (normalised by ``normalization_in``): personalised PageRank
    :math:`\alpha (\mathbf{I} - (1 - \alpha)\mathbf{T})^{-1}` (``method="ppr"``, ``alpha``), the heat kernel
    :math:`\exp(t(\mathbf{T} - \mathbf{I}))` (``"heat"``, ``t``), or free coefficients (``"coeff"``, ``coeffs``).
    :math:`\mathbf{S}` is sparsified (``"threshold"`` with ``eps`` or ``avg_degree``; ``"topk"`` with ``k`` and
    ``dim``), renormalised with ``normalization_out``, and becomes the graph's edges, with the weights in
    ``edge_attr`` (as PyG does). An input ``edge_attr`` ``[E]`` is read as edge weights.

    Only the exact variant exists (``exact=False`` raises): it is dense, for graphs of a few thousand nodes.

    >>> ring = torch.tensor([[0, 1, 2, 1, 2, 0], [1, 2, 0, 0, 1, 2]])
    >>> out = GDC(sparsification_kwargs=dict(method="topk", k=2, dim=0))(Graph(edge_index=ring))
    >>> out.num_edges
    6
    """

    def __init__(self, self_loop_weight: Optional[float] = 1.0, normalization_in: str = "sym",
                 normalization_out: Optional[str] = "col",
                 diffusion_kwargs: Optional[Dict[str, Any]] = None,
                 sparsification_kwargs: Optional[Dict[str, Any]] = None, exact: bool = True) -> None:
        if not exact:
            raise ValueError("GDC(exact=False) (approximate PPR) is not available; use exact=True")
        self.self_loop_weight = self_loop_weight
        self.normalization_in, self.normalization_out = normalization_in, normalization_out
        self.diffusion_kwargs = dict(diffusion_kwargs or {"method": "ppr", "alpha": 0.15})
        self.sparsification_kwargs = dict(sparsification_kwargs or {"method": "threshold", "avg_degree": 64})
        self.exact = exact

    @torch.no_grad()
    def forward(self, graph: Graph) -> Graph:
        n = graph.num_nodes
        ei = _edges(graph)
        attr = graph.edge_attr
        if attr is not None and attr.dim() != 1:
            raise ValueError(f"GDC reads edge_attr as edge weights [E], got shape {list(attr.shape)}")
        w = torch.ones(ei.size(1)) if attr is None else attr
        if self.self_loop_weight:
            ei, w = add_self_loops(ei, w, fill_value=float(self.self_loop_weight), num_nodes=n)
        ei, w = coalesce(ei, w, n)
        ei, w = transition_matrix(ei, w, n, self.normalization_in)
        dense = self.diffusion_matrix_exact(ei, w, n, **self.diffusion_kwargs)
        ei, w = self.sparsify_dense(dense, **self.sparsification_kwargs)
        ei, w = coalesce(ei, w, n)
        ei, w = transition_matrix(ei, w, n, self.normalization_out)
        fields = {k: v for k, v in fields_of(graph).items() if v[1] != "edge"}
        fields["edge_attr"] = (w, "edge")
        return new_graph(n, ei, fields)

    @staticmethod
    def diffusion_matrix_exact(edge_index: Tensor, weight: Tensor, n: int, method: str, **kwargs: Any) -> Tensor:
        """The dense diffusion matrix ``S[source, target]`` of the normalised graph."""
        adj = to_dense_adj(edge_index, edge_attr=weight, max_num_nodes=n,
                           batch=torch.zeros(n, dtype=torch.long, device=edge_index.device))[0]
        eye = torch.eye(n, dtype=adj.dtype, device=adj.device)
        if method == "ppr":
            alpha = float(kwargs["alpha"])
            return alpha * torch.linalg.inv(eye + (alpha - 1.0) * adj)
        if method == "heat":
            mat = float(kwargs["t"]) * (adj - eye)
            if is_undirected(edge_index, weight, n):
                vals, vecs = torch.linalg.eigh(mat, UPLO="U")
                return vecs @ torch.diag(vals.exp()) @ vecs.t()
            return torch.linalg.matrix_exp(mat)
        if method == "coeff":
            coeffs = list(kwargs["coeffs"])
            power, out = eye, coeffs[0] * eye
            for c in coeffs[1:]:
                power = power @ adj
                out = out + c * power
            return out
        raise ValueError(f"GDC diffusion method must be 'ppr', 'heat' or 'coeff', got {method!r}")

    @staticmethod
    def sparsify_dense(matrix: Tensor, method: str, **kwargs: Any) -> Tuple[Tensor, Tensor]:
        """Keep the entries ``>= eps`` (``eps`` chosen from ``avg_degree`` when not given), or the ``k`` largest per
        column (``dim=0``) or row (``dim=1``)."""
        n = matrix.size(0)
        if method == "threshold":
            eps = kwargs.get("eps")
            if eps is None:
                eps = GDC._eps_for_degree(matrix, n, int(kwargs["avg_degree"]))
            ei = (matrix >= eps).nonzero(as_tuple=False).t()
            return ei, matrix[ei[0], ei[1]]
        if method == "topk":
            k, dim = min(n, int(kwargs["k"])), int(kwargs["dim"])
            if dim not in (0, 1):
                raise ValueError(f"topk sparsification needs dim 0 or 1, got {dim}")
            order = torch.argsort(matrix, dim=dim, descending=True)
            if dim == 0:
                top = order[:k]  # [k, N]: the k largest sources of every target column
                ei = torch.stack([top.reshape(-1), torch.arange(n, device=matrix.device).repeat(k)])
            else:
                top = order[:, :k]  # [N, k]: the k largest targets of every source row
                ei = torch.stack([torch.arange(n, device=matrix.device).repeat_interleave(k), top.reshape(-1)])
            return ei, matrix[ei[0], ei[1]]
        raise ValueError(f"GDC sparsification method must be 'threshold' or 'topk', got {method!r}")

    @staticmethod
    def _eps_for_degree(matrix: Tensor, n: int, avg_degree: int) -> float:
        # The threshold halfway between the (avg_degree * n)-th and the next largest entry.
        values = torch.sort(matrix.flatten(), descending=True).values
        m = avg_degree * n
        if m >= values.numel():
            return -np.inf
        return float((values[m - 1] + values[m]) / 2.0)
