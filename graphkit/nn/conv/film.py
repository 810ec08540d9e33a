r"""FiLMConv (Brockschmidt, "GNN-FiLM: Graph Neural Networks with Feature-wise Linear Modulation")."""
from __future__ import annotations

import copy
from typing import Any, Callable, Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.nn.adjacency import Adjacency
from graphkit.nn.conv._utils import as_pair, pair_channels
from graphkit.nn.inits import reset
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing

__all__ = ["FiLMConv"]


class FiLMConv(MessagePassing):
    r"""Feature-wise linear modulation of the messages by the receiving node, per relation :math:`r`:

    .. math::
        \mathbf{x}^{\prime}_i = \sum_{r \in \mathcal{R}} \bigoplus_{j \in \mathcal{N}_r(i)} \sigma \left(
        \boldsymbol{\gamma}_{r,i} \odot \mathbf{W}_r \mathbf{x}_j + \boldsymbol{\beta}_{r,i} \right), \qquad
        (\boldsymbol{\beta}_{r,i}, \boldsymbol{\gamma}_{r,i}) = g_r(\mathbf{x}_i)

    plus the same modulated skip term for :math:`\mathbf{x}_i` itself. Same arguments and parameters (``lins``,
    ``films``, ``lin_skip``, ``film_skip``) as PyG's ``FiLMConv``; ``edge_type`` selects the relation.

    Shapes:
        x ``(|V|, F_in)`` or ``((|V_s|, F_s), (|V_t|, F_t))``, adj, edge_type ``(|E|)`` -> ``(|V_t|, F_out)``.

    >>> ei, et = torch.tensor([[0, 1, 2], [1, 2, 0]]), torch.tensor([0, 1, 1])
    >>> FiLMConv(3, 4, num_relations=2)(torch.randn(3, 3), ei, et).shape
    torch.Size([3, 4])
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, num_relations: int = 1,
                 nn: Optional[Callable] = None, act: Optional[Callable] = torch.nn.ReLU(), aggr: str = "mean",
                 **kwargs: Any) -> None:
        super().__init__(aggr=aggr, **kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.num_relations, self.act = max(num_relations, 1), act
        in_src, in_dst = pair_channels(in_channels)
        self.lins = torch.nn.ModuleList()
        self.films = torch.nn.ModuleList()
        for _ in range(self.num_relations):
            self.lins.append(Linear(in_src, out_channels, bias=False))
            self.films.append(Linear(in_dst, 2 * out_channels) if nn is None else copy.deepcopy(nn))
        self.lin_skip = Linear(in_dst, out_channels, bias=False)
        self.film_skip = Linear(in_dst, 2 * out_channels, bias=False) if nn is None else copy.deepcopy(nn)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin, film in zip(self.lins, self.films):
            lin.reset_parameters()
            reset(film)
        self.lin_skip.reset_parameters()
        reset(self.film_skip)

    def forward(self, x: Any, adj: Any, edge_type: Optional[Tensor] = None) -> Tensor:
        x_src, x_dst = as_pair(x)
        if x_dst is None:
            raise ValueError("FiLMConv needs target features (they modulate the messages)")
        beta, gamma = self.film_skip(x_dst).split(self.out_channels, dim=-1)
        out = gamma * self.lin_skip(x_dst) + beta
        if self.act is not None:
            out = self.act(out)
        adj_ = self.adjacency(adj, x=(x_src, x_dst))
        if self.num_relations > 1 and edge_type is None:
            raise ValueError(f"FiLMConv with num_relations={self.num_relations} needs edge_type")
        for r, (lin, film) in enumerate(zip(self.lins, self.films)):
            beta, gamma = film(x_dst).split(self.out_channels, dim=-1)
            part = adj_
            if self.num_relations > 1:
                part = Adjacency(adj_.edge_index[:, edge_type == r], adj_.num_src, adj_.num_dst)
            out = out + self.propagate(part, x=(lin(x_src), None), beta=(None, beta), gamma=(None, gamma))
        return out

    def message(self, x_j: Tensor, beta_i: Tensor, gamma_i: Tensor) -> Tensor:
        out = gamma_i * x_j + beta_i
        return self.act(out) if self.act is not None else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, num_relations={self.num_relations})"
