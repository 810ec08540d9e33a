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
from graphkit.ops._checks import check_act, check_first_order, check_float, check_reduce, check_same_device

__all__ = ["spmm"]


class _SpMM(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, adj: Adjacency, x: Tensor, w: Optional[Tensor], reduce: str
    ) -> Tensor:
        rowptr, col, _ = adj.csr()
        out, arg = K.csr_reduce(rowptr, col, *adj.kernel_weights(w), x, reduce)
        ctx.adj, ctx.reduce = adj, reduce
        ctx.save_for_backward(x, w, arg)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Any, ...]:  # type: ignore[override]
        check_first_order("graphkit.ops.spmm")
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
            rowptr_t, col_t, _ = adj.csr_t()
            gx = K.csr_reduce(rowptr_t, col_t, *adj.kernel_weights(w, transpose=True), grad, "sum")[0]
        if need_w:  # d out[t] / d w_e = x[s]: an SDDMM of grad and x along the edges
            gw = K.sddmm(rowptr, col, eid, grad, x, "dot")
        return None, gx, gw, None


class _SpMMEpilogue(torch.autograd.Function):
    """Sum/mean SpMM whose output rows leave the kernel as ``act(out + diag * x_self + bias)`` (one pass)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, adj: Adjacency, x: Tensor, w: Optional[Tensor], reduce: str, diag: Optional[Tensor],
        bias: Optional[Tensor], act: str
    ) -> Tensor:
        rowptr, col, _ = adj.csr()
        out = K.csr_reduce_epilogue(rowptr, col, *adj.kernel_weights(w), x, reduce, diag, bias, act)
        ctx.adj, ctx.reduce, ctx.act = adj, reduce, act
        ctx.save_for_backward(x, w, diag, out if act == "relu" else None)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Any, ...]:  # type: ignore[override]
        check_first_order("graphkit.ops.spmm (with an epilogue)")
        x, w, diag, out = ctx.saved_tensors
        adj, reduce = ctx.adj, ctx.reduce
        need_x, need_w, _, need_d, need_b, _ = ctx.needs_input_grad[1:]
        need_w = need_w and w is not None
        grad = grad.contiguous()
        if out is not None:  # relu: the gradient passes where the output is positive (or NaN), as torch's
            grad = torch.ops.aten.threshold_backward(grad, out, 0)
        gx = gw = gd = gb = None
        if need_b:
            gb = grad.sum(0).reshape(-1)
        if need_d:
            d = diag.size(0)
            gd = (grad[:d] * x[:d]).sum((1, 2))
        diag_t = diag
        if reduce == "mean":  # the reduce's gradient is grad / degree; the diagonal term's is grad itself
            deg = adj.degree().clamp(min=1).to(torch.promote_types(grad.dtype, torch.float32))
            edge_grad = (grad / deg.view(-1, 1, 1)).to(grad.dtype)
            if diag is not None:
                diag_t = (diag * deg[: diag.size(0)]).to(diag.dtype)
        else:
            edge_grad = grad
        if need_x:  # A^T edge_grad + diag * grad[:D]: the transpose SpMM with the diagonal term as its epilogue
            rowptr_t, col_t, _ = adj.csr_t()
            gx = K.csr_reduce_epilogue(rowptr_t, col_t, *adj.kernel_weights(w, transpose=True), edge_grad, "sum",
                                       diag_t, None, "none")
        if need_w:
            rowptr, col, _ = adj.csr()
            gw = K.sddmm(rowptr, col, adj.csr_eid(), edge_grad, x, "dot")
        return None, gx, gw, None, gd, gb, None


def _epilogue_args(adj: Adjacency, x: Tensor, diag: Optional[Tensor], bias: Optional[Tensor],
                   act: Optional[str]) -> None:
    """ValueError (naming the argument and its value) unless the epilogue fits ``x`` and the structure."""
    check_act(act)
    if diag is not None:
        check_float("diag", diag)
        check_same_device("x", x, "diag", diag)
        if diag.dim() != 1 or diag.size(0) != adj.num_dst:
            raise ValueError(f"diag must have shape [{adj.num_dst}] (one entry per target), got {list(diag.shape)}")
        if x.size(0) < adj.num_dst:
            raise ValueError(f"diag scales each target's own row of x, but x has {x.size(0)} rows and there are "
                             f"{adj.num_dst} targets")
        if diag.dtype != x.dtype:
            raise TypeError(f"diag has dtype {diag.dtype} but x has dtype {x.dtype}")
    if bias is not None:
        check_float("bias", bias)
        check_same_device("x", x, "bias", bias)
        if tuple(bias.shape) not in (tuple(x.shape[1:]), (math.prod(x.shape[1:]),)):
            raise ValueError(f"bias must have shape {list(x.shape[1:])}, got {list(bias.shape)}")
        if bias.dtype != x.dtype:
            raise TypeError(f"bias has dtype {bias.dtype} but x has dtype {x.dtype}")


def spmm(
    adj: AdjLike, x: Tensor, edge_weight: Optional[Tensor] = None, reduce: str = "sum",
    num_nodes: Optional[int] = None, *, diag: Optional[Tensor] = None, bias: Optional[Tensor] = None,
    act: Optional[str] = None
) -> Tensor:
    r"""Gather-reduce along the edges without materialising per-edge messages, with an optional epilogue.

    .. math:: \mathrm{out}_t = \mathrm{act}\Big(\mathop{\mathrm{reduce}}_{e = (s \to t)} w_e \, x_s
              + d_t \, x_t + b\Big)

    Targets with no incoming edge reduce to 0 for every reduce. ``max``/``min`` keep the arg of each output
    element, so the gradient goes to exactly one edge.

    The epilogue (``diag`` :math:`d`, ``bias`` :math:`b`, ``act``) is what GCN-style layers add after the
    aggregation: a self-loop term kept off the edges, the bias and the activation. With ``reduce`` ``"sum"`` or
    ``"mean"`` the CPU kernel applies it to each output row while the row is still in registers, which saves a
    pass over the ``N x F`` output per term in the forward and the backward; on CUDA, and for ``max``/``min``,
    it runs as torch ops after the reduce (same result).

    Args:
        adj: ``edge_index [2, E]`` (source, target), a ``Graph`` or an ``Adjacency`` (its cached CSR is used).
        x: node features ``[N, F]``, or ``[N, H, F]`` with per-head ``edge_weight [E, H]``.
        edge_weight: ``[E]`` or ``[E, H]``; ``None`` means all ones.
        reduce: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.
        num_nodes: number of targets for a bare ``edge_index`` (default ``x.size(0)``).
        diag: ``[N_dst]``: adds ``diag[t] * x[t]``, the target's own row of ``x`` (targets are the first
            ``N_dst`` sources, as on a square graph or a layer-trimmed batch).
        bias: ``x.shape[1:]`` (or flat), added to every output row.
        act: ``None`` or ``"relu"``.

    Shapes:
        x ``(N_src, F)`` or ``(N_src, H, F)`` -> ``(N, F)`` or ``(N, H, F)``.

    >>> import torch
    >>> ei = torch.tensor([[0, 1, 2], [1, 2, 1]])
    >>> spmm(ei, torch.tensor([[1.0], [2.0], [4.0]]))
    tensor([[0.],
            [5.],
            [2.]])
    >>> spmm(ei, torch.tensor([[1.0], [2.0], [-4.0]]), diag=torch.tensor([1.0, 0.5, 0.0]),
    ...      bias=torch.tensor([-1.0]), act="relu")
    tensor([[0.],
            [0.],
            [1.]])
    """
    check_float("x", x)
    check_reduce(reduce)
    if x.dim() not in (2, 3):
        raise ValueError(f"x must have shape [N, F] or [N, H, F], got {list(x.shape)}")
    adj_ = resolve(adj, x.size(0), num_nodes, x.device)
    epilogue = diag is not None or bias is not None or act is not None
    if epilogue:
        _epilogue_args(adj_, x, diag, bias, act)
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
    shape = (adj_.num_dst,) + tuple(x.shape[1:])
    if not epilogue:
        return _SpMM.apply(adj_, x3, w, reduce).view(shape)
    b = None if bias is None else bias.reshape(-1)
    if reduce in ("sum", "mean"):
        return _SpMMEpilogue.apply(adj_, x3, w, reduce, diag, b, act or "none").view(shape)
    # max/min: the reduce, then the epilogue as torch ops (their autograd)
    return K.epilogue(_SpMM.apply(adj_, x3, w, reduce), x3, diag, b, act or "none").view(shape)
