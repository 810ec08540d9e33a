r"""``SAGPooling`` (Lee et al., "Self-Attention Graph Pooling"; Knyazev et al.)."""
from __future__ import annotations

from typing import Any, Callable, Optional, Type, Union

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.nn.conv.graph_conv import GraphConv
from graphkit.nn.pool.select import PoolOutput, SelectTopK, keep_top_nodes, pool_inputs

__all__ = ["SAGPooling"]


class SAGPooling(torch.nn.Module):
    r"""Top-:math:`k` pooling whose scores come from a graph layer, so they see the structure:

    .. math::
        \mathbf{y} = \sigma\big(\mathrm{GNN}(\mathbf{X}, \mathbf{A})\big), \quad
        \mathbf{i} = \mathrm{top}_k(\mathbf{y}), \quad
        \mathbf{X}' = m \cdot (\mathbf{X} \odot \mathbf{y})_{\mathbf{i}}, \quad
        \mathbf{A}' = \mathbf{A}_{\mathbf{i}, \mathbf{i}}

    ``GNN`` (default :class:`~graphkit.nn.GraphConv`) is built as ``GNN(in_channels, 1, **kwargs)``; the score
    then goes through a one-channel ``SelectTopK`` (its learned scalar only sets the sign, as in PyG). With
    ``min_score``, :math:`\mathbf{y} = \mathrm{softmax}_g(\cdot)` and nodes above :math:`\tilde\alpha` are kept.
    Same arguments and parameters (``gnn.*``, ``select.weight``) as PyG's ``SAGPooling``; called and returning as
    :class:`~graphkit.nn.pool.TopKPooling` does.

    Shapes:
        x ``(N, F)``, edge_index ``(2, E)``, edge_attr ``(E, D)``, batch ``(N,)`` ->
        x ``(K, F)``, edge_index ``(2, E')``, edge_attr ``(E', D)``, batch ``(K,)``, perm ``(K,)``, score ``(K,)``.

    >>> from graphkit import Graph
    >>> _ = torch.manual_seed(0)
    >>> g = Graph(x=torch.randn(5, 3), edge_index=torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]]))
    >>> out = SAGPooling(3, ratio=2)(g.x, g)
    >>> out.x.shape, out.graph.num_nodes
    (torch.Size([2, 3]), 2)
    """

    def __init__(self, in_channels: int, ratio: Union[float, int] = 0.5, GNN: Type[torch.nn.Module] = GraphConv,
                 min_score: Optional[float] = None, multiplier: float = 1.0,
                 nonlinearity: Union[str, Callable] = "tanh", **kwargs: Any) -> None:
        super().__init__()
        self.in_channels, self.ratio, self.min_score, self.multiplier = in_channels, ratio, min_score, multiplier
        self.gnn = GNN(in_channels, 1, **kwargs)
        self.select = SelectTopK(1, ratio, min_score, nonlinearity)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.gnn.reset_parameters()
        self.select.reset_parameters()

    def forward(self, x: Tensor, edge_index: Union[Tensor, Graph], edge_attr: Optional[Tensor] = None,
                batch: Optional[Tensor] = None, attn: Optional[Tensor] = None) -> PoolOutput:
        inputs = pool_inputs(x, edge_index, edge_attr, batch)
        attn = x if attn is None else attn
        attn = attn.view(-1, 1) if attn.dim() == 1 else attn
        # The scoring layer sees the bare edges (not the Graph) so it cannot pick up unrelated edge fields.
        perm, score = self.select(self.gnn(attn, inputs.edge_index), inputs.batch)
        return keep_top_nodes(x, inputs, perm, score, self.multiplier)

    def __repr__(self) -> str:
        what = f"ratio={self.ratio}" if self.min_score is None else f"min_score={self.min_score}"
        return (f"{type(self).__name__}({type(self.gnn).__name__}, {self.in_channels}, {what}, "
                f"multiplier={self.multiplier})")
