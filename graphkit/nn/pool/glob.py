r"""Readouts: one vector per graph of a ``Batch``, on the segment kernels.

``batch`` may be a ``Batch`` (its ``ptr`` drives :func:`graphkit.ops.segment`: no sort, no scatter), a ``[N]``
graph-id tensor (then :func:`graphkit.ops.scatter`), or ``None`` for a single graph (output ``[1, F]``).
Graphs without nodes read 0, as in PyG.

>>> import torch
>>> from graphkit import Graph, Batch
>>> b = Batch.from_graphs([Graph(x=torch.ones(2, 1)), Graph(x=torch.full((1, 1), 3.0))])
>>> global_add_pool(b.x, b).view(-1).tolist(), global_max_pool(b.x, b.batch).view(-1).tolist()
([2.0, 3.0], [1.0, 3.0])
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from graphkit import ops
from graphkit.graph import Graph
from graphkit.nn.inits import reset

__all__ = ["global_add_pool", "global_sum_pool", "global_mean_pool", "global_max_pool", "global_pool",
           "AttentionalAggregation", "GlobalAttention"]


def _ptr_of(batch: Any) -> Optional[Tensor]:
    ptr = getattr(batch, "ptr", None) if isinstance(batch, Graph) else None
    return ptr if isinstance(ptr, Tensor) else None


def global_pool(x: Tensor, batch: Any = None, size: Optional[int] = None, reduce: str = "sum") -> Tensor:
    r""":math:`\mathbf{r}_g = \mathrm{reduce}_{i \in g} \mathbf{x}_i` for every graph :math:`g`.

    Shapes:
        x ``(|V|, F)``, batch ``Batch`` or ``(|V|,)`` -> ``(B, F)``.
    """
    if batch is None:
        return ops.segment(x, torch.tensor([0, x.size(0)], device=x.device), reduce=reduce)
    ptr = _ptr_of(batch)
    if ptr is not None:
        if x.size(0) != int(ptr[-1]):
            raise ValueError(f"x has {x.size(0)} rows but the batch has {int(ptr[-1])} nodes")
        if size is not None and size != ptr.numel() - 1:
            raise ValueError(f"size is {size} but the batch has {ptr.numel() - 1} graphs")
        return ops.segment(x, ptr, reduce=reduce)
    if isinstance(batch, Graph):  # a single Graph: one readout
        return global_pool(x, None, size, reduce)
    if not isinstance(batch, Tensor):
        raise TypeError(f"batch must be a Batch, a [N] graph-id tensor or None, got {type(batch).__name__}")
    if batch.size(0) != x.size(0):
        raise ValueError(f"batch has {batch.size(0)} entries but x has {x.size(0)} rows")
    if size is None:
        size = int(batch.max()) + 1 if batch.numel() else 0
    return ops.scatter(x, batch, size, reduce=reduce)


def global_add_pool(x: Tensor, batch: Any = None, size: Optional[int] = None) -> Tensor:
    """Sum readout (see :func:`global_pool`)."""
    return global_pool(x, batch, size, "sum")


global_sum_pool = global_add_pool


def global_mean_pool(x: Tensor, batch: Any = None, size: Optional[int] = None) -> Tensor:
    """Mean readout (see :func:`global_pool`)."""
    return global_pool(x, batch, size, "mean")


def global_max_pool(x: Tensor, batch: Any = None, size: Optional[int] = None) -> Tensor:
    """Max readout (see :func:`global_pool`)."""
    return global_pool(x, batch, size, "max")


class AttentionalAggregation(torch.nn.Module):
    r"""Soft-attention readout (Li et al., "Gated Graph Sequence Neural Networks"):

    .. math:: \mathbf{r}_g = \sum_{i \in g} \mathrm{softmax}_{i \in g}\big(h_{\mathrm{gate}}(\mathbf{x}_i)\big)
        \cdot h_{\Theta}(\mathbf{x}_i)

    ``gate_nn`` maps ``[N, F]`` to ``[N, 1]`` (one weight per node) or ``[N, F']`` (per channel); ``nn`` is
    optional. Parameters ``gate_nn.*``, ``nn.*`` as PyG's ``AttentionalAggregation``.

    Shapes:
        x ``(|V|, F)``, batch as in :func:`global_pool` -> ``(B, F')``.
    """

    def __init__(self, gate_nn: torch.nn.Module, nn: Optional[torch.nn.Module] = None) -> None:
        super().__init__()
        self.gate_nn, self.nn = gate_nn, nn

    def reset_parameters(self) -> None:
        reset(self.gate_nn)
        reset(self.nn)

    def forward(self, x: Tensor, batch: Any = None, size: Optional[int] = None) -> Tensor:
        ptr = _ptr_of(batch)
        if isinstance(batch, Graph):
            batch = batch.batch if ptr is not None else None
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
            size = 1
        if size is None:
            size = ptr.numel() - 1 if ptr is not None else (int(batch.max()) + 1 if batch.numel() else 0)
        gate = self.gate_nn(x)
        gate = gate.view(-1, 1) if gate.dim() == 1 else gate
        h = self.nn(x) if self.nn is not None else x
        if gate.size(0) != x.size(0) or gate.size(-1) not in (1, h.size(-1)):
            raise ValueError(f"gate_nn must return [N, 1] or [N, {h.size(-1)}], got {list(gate.shape)}")
        # The softmax over a graph's nodes is an edge softmax on the node -> graph "edges".
        alpha = ops.edge_softmax(torch.stack([batch, batch]), gate, num_nodes=size)
        return ops.scatter(alpha * h, batch, size, reduce="sum")

    def __repr__(self) -> str:
        return f"AttentionalAggregation(gate_nn={self.gate_nn}, nn={self.nn})"


GlobalAttention = AttentionalAggregation
