r"""Learned and order-based aggregations: ``Set2Set`` (Vinyals et al., "Order Matters"), ``LSTMAggregation`` and
``SortAggregation`` / ``global_sort_pool`` (Zhang et al., "An End-to-End Deep Learning Architecture for Graph
Classification", DGCNN's SortPooling)."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from graphkit import ops
from graphkit.nn.aggr import Aggregation
from graphkit.utils.dense import to_dense_batch

__all__ = ["Set2Set", "SortAggregation", "global_sort_pool", "LSTMAggregation"]


def _num_groups(index: Tensor, dim_size: Optional[int]) -> int:
    return dim_size if dim_size is not None else (int(index.max()) + 1 if index.numel() else 0)


class Set2Set(Aggregation):
    r"""An LSTM that attends ``processing_steps`` times over each set (graph) of rows:

    .. math::
        \mathbf{q}_t = \mathrm{LSTM}(\mathbf{q}^{*}_{t-1}), \quad
        \alpha_{i,t} = \mathrm{softmax}_i(\mathbf{x}_i \cdot \mathbf{q}_t), \quad
        \mathbf{r}_t = \sum_i \alpha_{i,t} \mathbf{x}_i, \quad \mathbf{q}^{*}_t = \mathbf{q}_t \Vert \mathbf{r}_t

    The attention softmax runs on graphkit's ``edge_softmax`` kernel and the weighted sum on its ``scatter``.
    Same arguments and parameters (``lstm.*``) as PyG's ``Set2Set``.

    Shapes:
        x ``(|V|, F)``, index ``(|V|)`` -> ``(B, 2F)``.

    >>> Set2Set(3, processing_steps=2)(torch.randn(5, 3), torch.tensor([0, 0, 1, 1, 1])).shape
    torch.Size([2, 6])
    """

    def __init__(self, in_channels: int, processing_steps: int, **kwargs: Any) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, 2 * in_channels
        self.processing_steps = processing_steps
        self.lstm = torch.nn.LSTM(self.out_channels, in_channels, **kwargs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lstm.reset_parameters()

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        if x.dim() != 2 or x.size(0) != index.numel():
            raise ValueError(f"Set2Set needs x [N, F] and one index per row, got {list(x.shape)} and "
                             f"{list(index.shape)}")
        b = _num_groups(index, dim_size)
        state = (x.new_zeros(self.lstm.num_layers, b, x.size(-1)), x.new_zeros(self.lstm.num_layers, b, x.size(-1)))
        groups = torch.stack([index, index]).long()  # softmax over each group's rows
        q_star = x.new_zeros(b, self.out_channels)
        for _ in range(self.processing_steps):
            q, state = self.lstm(q_star.unsqueeze(0), state)
            q = q.view(b, self.in_channels)
            scores = (x * q.index_select(0, index)).sum(dim=-1)
            alpha = ops.edge_softmax(groups, scores, num_nodes=max(b, 1)) if x.size(0) else scores
            r = ops.scatter(alpha.view(-1, 1) * x, index, dim_size=b, reduce="sum")
            q_star = torch.cat([q, r], dim=-1)
        return q_star

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"


class SortAggregation(Aggregation):
    r"""SortPooling: the ``k`` rows of each graph with the largest last channel, in descending order, flattened
    (graphs with fewer rows are padded with zeros).

    Shapes:
        x ``(|V|, F)``, index ``(|V|)`` sorted -> ``(B, k F)``.

    >>> x = torch.tensor([[1.0, 0.5], [2.0, 0.75], [3.0, 0.25]])
    >>> SortAggregation(k=2)(x, torch.tensor([0, 0, 1])).tolist()
    [[2.0, 0.75, 1.0, 0.5], [3.0, 0.25, 0.0, 0.0]]
    """

    def __init__(self, k: int) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f"k must be positive, got {k}")
        self.k = k

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        if x.dim() != 2:
            raise ValueError(f"SortAggregation needs x of shape [N, F], got {list(x.shape)}")
        fill = x.detach().min() - 1 if x.numel() else x.new_zeros(())
        dense, mask = to_dense_batch(x, index, fill_value=float(fill), batch_size=_num_groups(index, dim_size))
        b, n, f = dense.shape
        order = dense[:, :, -1].sort(dim=-1, descending=True).indices
        dense = dense.gather(1, order.unsqueeze(-1).expand(b, n, f))
        present = mask.gather(1, order)
        if n >= self.k:
            dense, present = dense[:, : self.k], present[:, : self.k]
        else:
            dense = torch.cat([dense, dense.new_zeros(b, self.k - n, f)], dim=1)
            present = torch.cat([present, present.new_zeros(b, self.k - n)], dim=1)
        # Padding rows become zeros (PyG zeroes every entry equal to its fill value, which only padding holds).
        return dense.masked_fill(~present.unsqueeze(-1), 0.0).reshape(b, self.k * f)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={self.k})"


def global_sort_pool(x: Tensor, index: Tensor, k: int) -> Tensor:
    """Functional :class:`SortAggregation` (PyG's ``global_sort_pool``).

    >>> global_sort_pool(torch.tensor([[1.0], [2.0]]), torch.tensor([0, 0]), k=3).tolist()
    [[2.0, 1.0, 0.0]]
    """
    return SortAggregation(k)(x, index)


class LSTMAggregation(Aggregation):
    r"""An LSTM run over each node's messages in their order, the last output kept (Hamilton et al.,
    "Inductive Representation Learning on Large Graphs"). Messages are padded with zeros to the longest
    neighbourhood, and the padding is part of the sequence, as in PyG. Not permutation invariant; ``index`` must
    be sorted. Same arguments and parameters (``lstm.*``) as PyG's ``LSTMAggregation``.

    Shapes:
        messages ``(|E|, F_in)``, index ``(|E|)`` sorted -> ``(|V|, F_out)``.

    >>> LSTMAggregation(3, 5)(torch.randn(4, 3), torch.tensor([0, 0, 1, 2])).shape
    torch.Size([3, 5])
    """

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lstm = torch.nn.LSTM(in_channels, out_channels, batch_first=True, **kwargs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lstm.reset_parameters()

    def forward(self, x: Tensor, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
        if x.dim() != 2:
            raise ValueError(f"LSTMAggregation needs messages of shape [E, F], got {list(x.shape)}")
        if index.numel() > 1 and bool((index[1:] < index[:-1]).any()):
            raise ValueError("LSTMAggregation needs the messages sorted by target (index must be sorted)")
        dense, _ = to_dense_batch(x, index, batch_size=_num_groups(index, dim_size))
        return self.lstm(dense)[0][:, -1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
