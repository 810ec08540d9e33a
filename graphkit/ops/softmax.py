"""Softmax of edge scores over each target's incoming edges (the attention normaliser)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Tuple

import torch
from torch import Tensor

from graphkit.ops import _kernels as K
from graphkit.ops.adjacency import Adjacency, resolve

if TYPE_CHECKING:
    from graphkit.typing import AdjLike
from graphkit.ops._checks import check_float, check_first_order

__all__ = ["edge_softmax"]


class _EdgeSoftmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, adj: Adjacency, scores: Tensor) -> Tensor:  # type: ignore[override]
        y = K.softmax_fwd(adj.csr()[0], adj.csr_eid(), scores)
        ctx.adj = adj
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Any, ...]:  # type: ignore[override]
        check_first_order("graphkit.ops.edge_softmax")
        (y,) = ctx.saved_tensors
        adj = ctx.adj
        return None, K.softmax_bwd(adj.csr()[0], adj.csr_eid(), y, grad.contiguous())


def edge_softmax(adj: AdjLike, scores: Tensor, num_nodes: Optional[int] = None) -> Tensor:
    r"""Numerically stable softmax over the incoming edges of every target:

    .. math:: \alpha_e = \frac{\exp(s_e - m_t)}{\sum_{e' \to t} \exp(s_{e'} - m_t)}, \quad m_t = \max_{e' \to t} s_{e'}

    Args:
        adj: ``edge_index [2, E]``, a ``Graph`` or an ``Adjacency``. scores: ``[E]`` or ``[E, H]`` in edge order.
        num_nodes: node count for a bare ``edge_index`` (default: largest index + 1).

    Shapes:
        scores ``(E,)`` or ``(E, H)`` -> same.

    >>> edge_softmax(torch.tensor([[0, 1, 2], [2, 2, 0]]), torch.tensor([0.0, 0.0, 5.0]))
    tensor([0.5000, 0.5000, 1.0000])
    """
    check_float("scores", scores)
    if scores.dim() not in (1, 2):
        raise ValueError(f"scores must have shape [E] or [E, H], got {list(scores.shape)}")
    adj_ = resolve(adj, num_nodes, num_nodes, scores.device, src_name="scores")
    if scores.size(0) != adj_.num_edges:
        raise ValueError(f"scores has {scores.size(0)} rows but there are {adj_.num_edges} edges")
    s2 = scores.reshape(scores.size(0), scores.size(1) if scores.dim() == 2 else 1).contiguous()
    return _EdgeSoftmax.apply(adj_, s2).view_as(scores)
