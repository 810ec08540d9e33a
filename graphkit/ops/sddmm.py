"""Sampled dense-dense products: one value per edge from the two endpoint feature rows."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Tuple

import torch
from torch import Tensor

from graphkit.ops import _kernels as K
from graphkit.ops.adjacency import Adjacency, resolve

if TYPE_CHECKING:
    from graphkit.typing import AdjLike
from graphkit.ops._checks import check_first_order, check_float, check_same_device

__all__ = ["sddmm"]

OPS = ("dot", "add", "mul")


class _SDDMM(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, adj: Adjacency, a: Tensor, b: Tensor, op: str) -> Tensor:  # type: ignore[override]
        rowptr, col, _ = adj.csr()
        ctx.adj, ctx.op = adj, op
        ctx.save_for_backward(a, b)
        return K.sddmm(rowptr, col, adj.csr_eid(), a, b, op)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Any, ...]:  # type: ignore[override]
        check_first_order("graphkit.ops.sddmm")
        a, b = ctx.saved_tensors
        adj, op = ctx.adj, ctx.op
        grad = grad.contiguous()
        ga = gb = None
        if op == "dot":  # d/da[t] = sum_e g_e b[s]: an SpMM weighted by the incoming grads; d/db likewise on csr_t
            if ctx.needs_input_grad[1]:
                rowptr, col, _ = adj.csr()
                ga = K.csr_reduce(rowptr, col, adj.csr_eid(), grad, b, "sum")[0]
            if ctx.needs_input_grad[2]:
                rowptr_t, col_t, perm_t = adj.csr_t()
                gb = K.csr_reduce(rowptr_t, col_t, perm_t, grad, a, "sum")[0]
        elif op == "add":  # per-edge grads summed per endpoint: a segment over the edges in CSR order
            if ctx.needs_input_grad[1]:
                # col=None (the edges already in CSR order) reads grad[k] in place
                ga = K.csr_reduce(adj.csr()[0], adj.csr_eid(), None, None, grad, "sum")[0]
            if ctx.needs_input_grad[2]:
                rowptr_t, _, perm_t = adj.csr_t()
                gb = K.csr_reduce(rowptr_t, perm_t, None, None, grad, "sum")[0]
        else:  # mul: the per-edge product g_e * other endpoint is inherent (the output is already E x F)
            if ctx.needs_input_grad[1]:
                rowptr, col, _ = adj.csr()
                eid = adj.csr_eid()
                msg = (grad if eid is None else grad.index_select(0, eid.long())) * b.index_select(0, col.long())
                ga = K.csr_reduce(rowptr, None, None, None, msg, "sum")[0]
            if ctx.needs_input_grad[2]:
                rowptr_t, col_t, perm_t = adj.csr_t()
                msg = grad.index_select(0, perm_t.long()) * a.index_select(0, col_t.long())
                gb = K.csr_reduce(rowptr_t, None, None, None, msg, "sum")[0]
        return None, ga, gb, None


def sddmm(adj: AdjLike, a: Tensor, b: Tensor, op: str = "dot") -> Tensor:
    r"""Per edge ``e = (s -> t)``: ``dot`` gives :math:`\langle a_t, b_s \rangle`, ``add`` :math:`a_t + b_s`,
    ``mul`` :math:`a_t \odot b_s`. Equivalently ``out = (A \odot (a b^\top))`` on the edges for ``dot``.

    Args:
        adj: ``edge_index [2, E]``, a ``Graph`` or an ``Adjacency``. a: target-side rows ``[N, F]`` or ``[N, H, F]``.
        b: source-side rows, same trailing shape as ``a``. op: ``"dot"``, ``"add"`` or ``"mul"``.

    Shapes:
        ``(N, F) -> (E,)`` for dot, ``(E, F)`` otherwise; with heads ``(N, H, F) -> (E, H)`` or ``(E, H, F)``.
        Edges come out in ``edge_index`` order.

    >>> ei = torch.tensor([[0, 1], [1, 1]])
    >>> sddmm(ei, torch.tensor([[1.0, 0.0], [1.0, 2.0]]), torch.tensor([[3.0, 1.0], [0.0, 1.0]]))
    tensor([5., 2.])
    """
    check_float("a", a)
    check_float("b", b)
    check_same_device("a", a, "b", b)
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    if a.dtype != b.dtype:
        raise TypeError(f"b has dtype {b.dtype} but a has dtype {a.dtype}")
    if a.dim() not in (2, 3) or a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"a and b must be [N, F] or [N, H, F] with equal trailing sizes, got {list(a.shape)} and {list(b.shape)}"
        )
    adj_ = resolve(adj, b.size(0), a.size(0), a.device, src_name="b")
    heads = a.size(1) if a.dim() == 3 else 1
    f = a.size(-1)
    a3 = a.reshape(a.size(0), heads, f).contiguous()
    b3 = b.reshape(b.size(0), heads, f).contiguous()
    out = _SDDMM.apply(adj_, a3, b3, op)
    e = adj_.num_edges
    if op == "dot":
        return out.view(e, heads) if a.dim() == 3 else out.view(e)
    return out.view((e,) + tuple(a.shape[1:]))
