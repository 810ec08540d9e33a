"""Fused sparse-dense product over a graph: ``out[t] = reduce_{e=(s->t)} w_e * x[s]``."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Optional, Tuple

import torch
from torch import Tensor

from graphkit.ops import _kernels as K
from graphkit.ops.adjacency import Adjacency, resolve

if TYPE_CHECKING:
    from graphkit.typing import AdjLike
from graphkit.ops._checks import check_float, check_reduce, check_same_device

__all__ = ["spmm"]


class _SpMM(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, adj: Adjacency, x: Tensor, w: Optional[Tensor], reduce: str
    ) -> Tensor:
        rowptr, col, _ = adj.csr()
        out, arg = K.csr_reduce(rowptr, col, adj.csr_eid() if w is not None else None, w, x, reduce)
        ctx.adj, ctx.reduce = adj, reduce
        ctx.save_for_backward(x, w, arg)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Any, ...]:  # type: ignore[override]
        x, w, arg = ctx.saved_tensors
        adj, reduce = ctx.adj, ctx.reduce
        need_x, need_w = ctx.needs_input_grad[1], ctx.needs_input_grad[2] and w is not None
        grad = grad.contiguous()
        rowptr, col, _ = adj.csr()
        eid = adj.csr_eid()
        if reduce in ("max", "min"):
            gx, gw = K.arg_backward(col, eid if w is not None else None, w, x, arg, grad, need_x, need_w)
            return None, gx, gw, None
        if reduce == "mean":
            # in float32 at least: a float16 degree above 65504 is inf (and would zero the gradient)
            deg = adj.degree().clamp(min=1).to(torch.promote_types(grad.dtype, torch.float32))
            grad = (grad / deg.view(-1, 1, 1)).to(grad.dtype)
        gx = gw = None
        if need_x:  # d out[t] / d x[s] = w_e: a sum-SpMM over the transpose (outgoing edges by source)
            rowptr_t, col_t, perm_t = adj.csr_t()
            gx = K.csr_reduce(rowptr_t, col_t, perm_t if w is not None else None, w, grad, "sum")[0]
        if need_w:  # d out[t] / d w_e = x[s]: an SDDMM of grad and x along the edges
            gw = K.sddmm(rowptr, col, eid, grad, x, "dot")
        return None, gx, gw, None


def spmm(
    adj: AdjLike, x: Tensor, edge_weight: Optional[Tensor] = None, reduce: str = "sum", num_nodes: Optional[int] = None
) -> Tensor:
    r"""Gather-reduce along the edges without materialising per-edge messages.

    .. math:: \mathrm{out}_t = \mathop{\mathrm{reduce}}_{e = (s \to t)} w_e \, x_s

    Targets with no incoming edge get 0 for every reduce. ``max``/``min`` keep the arg of each output element,
    so the gradient goes to exactly one edge.

    Args:
        adj: ``edge_index [2, E]`` (source, target), a ``Graph`` or an ``Adjacency`` (its cached CSR is used).
        x: node features ``[N, F]``, or ``[N, H, F]`` with per-head ``edge_weight [E, H]``.
        edge_weight: ``[E]`` or ``[E, H]``; ``None`` means all ones.
        reduce: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.
        num_nodes: number of targets for a bare ``edge_index`` (default ``x.size(0)``).

    Shapes:
        x ``(N_src, F)`` or ``(N_src, H, F)`` -> ``(N, F)`` or ``(N, H, F)``.

    >>> import torch
    >>> ei = torch.tensor([[0, 1, 2], [1, 2, 1]])
    >>> spmm(ei, torch.tensor([[1.0], [2.0], [4.0]]))
    tensor([[0.],
            [5.],
            [2.]])
    """
    check_float("x", x)
    check_reduce(reduce)
    if x.dim() not in (2, 3):
        raise ValueError(f"x must have shape [N, F] or [N, H, F], got {list(x.shape)}")
    adj_ = resolve(adj, x.size(0), num_nodes, x.device)
    w = None
    if edge_weight is not None:
        check_float("edge_weight", edge_weight)
        check_same_device("x", x, "edge_weight", edge_weight)
        if edge_weight.dim() == 0 or edge_weight.size(0) != adj_.num_edges:
            raise ValueError(f"edge_weight has shape {list(edge_weight.shape)} but there are {adj_.num_edges} edges")
        if edge_weight.dtype != x.dtype:
            raise TypeError(f"edge_weight has dtype {edge_weight.dtype} but x has dtype {x.dtype}")
        if edge_weight.dim() == 2:
            if x.dim() != 3 or edge_weight.size(1) != x.size(1):
                raise ValueError(
                    f"edge_weight of shape {list(edge_weight.shape)} needs x of shape [N, {edge_weight.size(1)}, F], "
                    f"got {list(x.shape)}"
                )
            w = edge_weight.contiguous()
        elif edge_weight.dim() == 1:
            w = edge_weight.contiguous().view(-1, 1)
        else:
            raise ValueError(f"edge_weight must have shape [E] or [E, H], got {list(edge_weight.shape)}")
    # Heads matter only for per-head weights; otherwise the row is one contiguous vector of length H*F.
    heads = w.size(1) if w is not None else 1
    x3 = x.reshape(x.size(0), heads, math.prod(x.shape[1:]) // heads).contiguous()
    out = _SpMM.apply(adj_, x3, w, reduce)
    return out.view((adj_.num_dst,) + tuple(x.shape[1:]))
