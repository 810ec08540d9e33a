r"""``TopKPooling`` (Gao and Ji, "Graph U-Nets"; Cangea et al., "Towards Sparse Hierarchical Graph Classifiers")."""
from __future__ import annotations

from typing import Callable, Optional, Union

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.nn.pool.select import PoolOutput, SelectTopK, keep_top_nodes, pool_inputs

__all__ = ["TopKPooling"]


class TopKPooling(torch.nn.Module):
    r"""Keep the :math:`k` best-scoring nodes of each graph, scaled by their score:

    .. math::
        \mathbf{y} = \sigma\!\left(\frac{\mathbf{X}\mathbf{p}}{\lVert\mathbf{p}\rVert}\right), \quad
        \mathbf{i} = \mathrm{top}_k(\mathbf{y}), \quad
        \mathbf{X}' = m \cdot (\mathbf{X} \odot \mathbf{y})_{\mathbf{i}}, \quad
        \mathbf{A}' = \mathbf{A}_{\mathbf{i}, \mathbf{i}}

    :math:`k = \lceil \mathrm{ratio} \cdot n_g \rceil` for a float ``ratio`` (``ratio`` itself for an int). With
    ``min_score`` :math:`\tilde\alpha`, :math:`\mathbf{y} = \mathrm{softmax}_g(\mathbf{X}\mathbf{p})` and the nodes
    with :math:`y_i > \tilde\alpha` are kept instead. ``attn`` (default ``x``) is what is scored. Same arguments
    and parameters (``select.weight``) as PyG's ``TopKPooling``.

    Call it PyG's way, ``pool(x, edge_index, edge_attr, batch)``, or with a ``Graph``/``Batch`` in place of
    ``edge_index``; the :class:`~graphkit.nn.pool.select.PoolOutput` unpacks as PyG's
    ``(x, edge_index, edge_attr, batch, perm, score)`` and, after a graphkit-style call, carries the pooled
    ``Graph``/``Batch`` as ``.graph``.

    Shapes:
        x ``(N, F)``, edge_index ``(2, E)``, edge_attr ``(E, D)``, batch ``(N,)`` ->
        x ``(K, F)``, edge_index ``(2, E')``, edge_attr ``(E', D)``, batch ``(K,)``, perm ``(K,)``, score ``(K,)``.

    >>> from graphkit import Batch, Graph
    >>> _ = torch.manual_seed(0)
    >>> ring = lambda n: torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    >>> b = Batch.from_graphs([Graph(x=torch.randn(n, 3), edge_index=ring(n)) for n in (4, 3)])
    >>> out = TopKPooling(3, ratio=0.5)(b.x, b)
    >>> out.x.shape, out.batch.tolist(), out.graph.ptr.tolist()
    (torch.Size([4, 3]), [0, 0, 1, 1], [0, 2, 4])
    >>> x, edge_index, edge_attr, batch, perm, score = out  # PyG's tuple
    """

    def __init__(self, in_channels: int, ratio: Union[int, float] = 0.5, min_score: Optional[float] = None,
                 multiplier: float = 1.0, nonlinearity: Union[str, Callable] = "tanh") -> None:
        super().__init__()
        self.in_channels, self.ratio, self.min_score, self.multiplier = in_channels, ratio, min_score, multiplier
        self.select = SelectTopK(in_channels, ratio, min_score, nonlinearity)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.select.reset_parameters()

    def forward(self, x: Tensor, edge_index: Union[Tensor, Graph], edge_attr: Optional[Tensor] = None,
                batch: Optional[Tensor] = None, attn: Optional[Tensor] = None) -> PoolOutput:
        inputs = pool_inputs(x, edge_index, edge_attr, batch)
        perm, score = self.select(x if attn is None else attn, inputs.batch)
        return keep_top_nodes(x, inputs, perm, score, self.multiplier)

    def __repr__(self) -> str:
        what = f"ratio={self.ratio}" if self.min_score is None else f"min_score={self.min_score}"
        return f"{type(self).__name__}({self.in_channels}, {what}, multiplier={self.multiplier})"
