"""DGCNN: a :class:`~graphkit.nn.models.basic_gnn.BasicGNN` of :class:`~graphkit.nn.DynamicEdgeConv` layers."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from graphkit.nn.conv.edge_conv import DynamicEdgeConv
from graphkit.nn.models.basic_gnn import BasicGNN

__all__ = ["DGCNN"]


class DGCNN(BasicGNN):
    r"""Wang et al.'s Dynamic Graph CNN as a node-level stack: every layer rebuilds the ``k``-NN graph in its input
    feature space, per graph of the batch, and applies an EdgeConv whose ``nn`` is
    ``Linear(2 F_in, F_out) -> act -> Linear(F_out, F_out)`` (split-first-Linear fast path). Called as
    ``model(x, batch)`` with ``batch`` a ``Batch``, a ``[N]`` graph-id tensor or ``None``; pool the output with
    :mod:`graphkit.nn.pool` for clouds. PyG has no DGCNN model class, so there is no state_dict to match.

    Args:
        k: neighbours per point (default 20). aggr: ``"max"`` (default) or any aggregation. Others as BasicGNN.

    Shapes:
        x ``(|V|, F_in)`` -> ``(|V|, out_channels or hidden_channels)``.
    """

    trim_input = None  # each layer builds its own k-NN graph: there are no sampled hops to trim

    def init_conv(self, in_channels: int, out_channels: int, k: int = 20, aggr: Any = "max",
                  **kwargs: Any) -> DynamicEdgeConv:
        act = self.act if isinstance(self.act, torch.nn.Module) else torch.nn.ReLU()
        nn = torch.nn.Sequential(torch.nn.Linear(2 * in_channels, out_channels), act,
                                 torch.nn.Linear(out_channels, out_channels))
        return DynamicEdgeConv(nn, k=k, aggr=aggr, **kwargs)

    def forward(self, x: Tensor, adj: Any = None, edge_weight: Optional[Tensor] = None,  # type: ignore[override]
                edge_attr: Optional[Tensor] = None, batch: Optional[Tensor] = None,
                batch_size: Optional[int] = None) -> Tensor:
        return super().forward(x, adj if adj is not None else batch, None, None, batch, batch_size)
