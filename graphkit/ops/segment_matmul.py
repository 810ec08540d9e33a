"""Relation-batched transforms: every segment of rows (or every relation's edges) gets its own weight, in one call.

- :func:`segment_matmul`: ``out[ptr[s]:ptr[s+1]] = x[ptr[s]:ptr[s+1]] @ weight[s]`` (PyG's / pyg-lib's
  ``segment_matmul``; grouped GEMM), the kernel op (``kernels/cpu/segment_matmul.cpp``,
  ``kernels/cuda/segment_matmul.cu``) with autograd for ``x`` and ``weight`` and a fake kernel for
  ``torch.compile``.
- :func:`relation_matmul`: the same over rows grouped by relation, with a dense ``[R, F_in, F_out]`` or a
  block-diagonal ``[R, nb, F_in/nb, F_out/nb]`` weight (one :func:`segment_matmul` either way).
- :func:`relation_groups`: the (node, relation) pairs that a set of edges touches, grouped by relation: the
  row layout :func:`relation_matmul` wants, so a layer transforms each pair once instead of each edge.
- :func:`relation_spmm`: gather-matmul-scatter by relation, ``out_t = sum_r W_r^T reduce_{s in N_r(t)} x_s``:
  one aggregation into the (target, relation) pairs that occur, one :func:`segment_matmul` over those pairs
  grouped by relation, one scatter to the targets. Never a Python loop over relations, never an ``[E, F]``
  message tensor; the work is ``E F_in + P F_in F_out`` for the ``P <= min(E, N R)`` pairs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Tuple

import torch
from torch import Tensor

from graphkit.ops import _kernels as K
from graphkit.ops._checks import (check_bounds, check_first_order, check_float, check_index, check_range, check_reduce,
                                   check_same_device)
from graphkit.ops.adjacency import Adjacency, is_compiling, resolve
from graphkit.ops.spmm import spmm

if TYPE_CHECKING:
    from graphkit.typing import AdjLike

__all__ = ["segment_matmul", "relation_matmul", "relation_groups", "relation_spmm", "relation_pairs"]


class _SegmentMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, ptr, weight)
        return K.segment_matmul(x, ptr, weight)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Any, ...]:  # type: ignore[override]
        check_first_order("graphkit.ops.segment_matmul")
        x, ptr, weight = ctx.saved_tensors
        grad = grad.contiguous()
        gx = gw = None
        if ctx.needs_input_grad[0]:  # d out_s / d x_s = W_s^T: the same op with transposed weights (a view)
            gx = K.segment_matmul(grad, ptr, weight.transpose(1, 2))
        if ctx.needs_input_grad[2]:
            gw = K.segment_matmul_wgrad(x, ptr, grad)
        return gx, None, gw


def _check_ptr(ptr: Tensor, rows: int) -> None:
    """``ptr`` starts at 0, never decreases and ends at ``rows`` (one sync for all three)."""
    if ptr.numel() == 1:
        check_range("ptr[0]", int(ptr[0]), int(ptr[0]), 1, "the segment start (must be 0)")
        return
    d = ptr[1:] - ptr[:-1]
    first, last, bad = torch.stack([ptr[0], ptr[-1], d.argmin()]).tolist()
    if first != 0:
        raise ValueError(f"ptr[0] is {first} but must be 0")
    if int(d[bad]) < 0:
        raise ValueError(f"ptr[{bad + 1}] is {int(ptr[bad + 1])} but ptr[{bad}] is {int(ptr[bad])} "
                         "(ptr must not decrease)")
    if last != rows:
        raise ValueError(f"ptr[{ptr.numel() - 1}] is {last} but x has {rows} rows")


def segment_matmul(x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:
    r"""Grouped matmul over row segments: rows ``ptr[s] .. ptr[s+1]-1`` of ``x`` are multiplied by ``weight[s]``.

    .. math:: \mathrm{out}_i = x_i W_{s(i)}, \qquad s(i) = s \text{ with } \mathrm{ptr}_s \le i < \mathrm{ptr}_{s+1}

    Args:
        x: rows ``[N, F_in]``, grouped by segment. ptr: ``[S + 1]`` int64/int32 offsets, ``ptr[0] = 0``,
            non-decreasing, ``ptr[S] = N``. weight: ``[S, F_in, F_out]``.

    Shapes:
        x ``(N, F_in)``, ptr ``(S + 1)``, weight ``(S, F_in, F_out)`` -> ``(N, F_out)``.

    >>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> w = torch.stack([torch.eye(2), 2 * torch.eye(2)])
    >>> segment_matmul(x, torch.tensor([0, 1, 3]), w)
    tensor([[ 1.,  2.],
            [ 6.,  8.],
            [10., 12.]])
    """
    check_float("x", x)
    check_float("weight", weight)
    check_index("ptr", ptr)
    check_same_device("x", x, "weight", weight)
    check_same_device("x", x, "ptr", ptr)
    if weight.dtype != x.dtype:
        raise TypeError(f"weight has dtype {weight.dtype} but x has dtype {x.dtype}")
    if x.dim() != 2:
        raise ValueError(f"x must have shape [N, F_in], got {list(x.shape)}")
    if ptr.dim() != 1 or ptr.numel() < 1:
        raise ValueError(f"ptr must have shape [S + 1], got {list(ptr.shape)}")
    if weight.dim() != 3 or weight.size(0) != ptr.numel() - 1 or weight.size(1) != x.size(1):
        raise ValueError(f"weight must have shape [{ptr.numel() - 1}, {x.size(1)}, F_out] (one matrix per segment "
                         f"of ptr, F_in of x), got {list(weight.shape)}")
    if not is_compiling():
        _check_ptr(ptr, x.size(0))
    return _SegmentMatmul.apply(x, ptr, weight)


def relation_matmul(x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:
    r"""Rows grouped by relation, each group times its relation's weight: ``out[ptr[r]:ptr[r+1]] =
    x[ptr[r]:ptr[r+1]] W_r``, with :math:`W_r` dense or block-diagonal.

    Args:
        x: ``[P, F_in]`` rows, grouped by relation (as :func:`relation_groups` lays them out).
        ptr: ``[R + 1]`` offsets of the groups. weight: ``[R, F_in, F_out]``, or ``[R, nb, F_in/nb, F_out/nb]``
            for block-diagonal :math:`W_r` (block ``b`` maps input slice ``b`` to output slice ``b``).

    Shapes:
        x ``(P, F_in)``, ptr ``(R + 1)``, weight ``(R, F_in, F_out)`` or ``(R, nb, F_in/nb, F_out/nb)`` ->
        ``(P, F_out)``.

    >>> x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> w = torch.tensor([[[[2.0]], [[3.0]]], [[[1.0]], [[-1.0]]]])  # two relations, two 1x1 blocks each
    >>> relation_matmul(x, torch.tensor([0, 1, 2]), w)
    tensor([[ 2.,  6.],
            [ 3., -4.]])
    """
    if weight.dim() == 3:
        return segment_matmul(x, ptr, weight)
    if weight.dim() != 4:
        raise ValueError(f"weight must have shape [R, F_in, F_out] or [R, nb, F_in/nb, F_out/nb], got "
                         f"{list(weight.shape)}")
    r, nb, bi, bo = weight.shape
    if x.dim() != 2 or x.size(1) != nb * bi:
        raise ValueError(f"x must have shape [P, {nb * bi}] (nb * F_in/nb of weight), got {list(x.shape)}")
    # Segments (block b, relation r) of the block-major rows: one call for all blocks and relations.
    p = x.size(0)
    rows = x.view(p, nb, bi).transpose(0, 1).reshape(nb * p, bi)
    ptr_b = torch.cat([ptr[:-1] + b * p for b in range(nb)] + [ptr[-1:] + (nb - 1) * p])
    w_b = weight.transpose(0, 1).reshape(nb * r, bi, bo)
    return segment_matmul(rows, ptr_b, w_b).view(nb, p, bo).transpose(0, 1).reshape(p, nb * bo)


def relation_groups(node: Tensor, num_nodes: int, edge_type: Tensor, num_relations: int
                    ) -> Tuple[Tensor, Tensor, Tensor]:
    """The (node, relation) pairs that occur among the edges, grouped by relation, then node:
    ``(pair_of_edge [E], pair_node [P], ptr [R + 1])``; pair ``p`` belongs to relation ``r`` for
    ``ptr[r] <= p < ptr[r+1]``. ``node`` is each edge's endpoint on the side being grouped (sources or targets).

    >>> relation_groups(torch.tensor([2, 0, 2, 1]), 3, torch.tensor([1, 0, 1, 1]), 2)
    (tensor([2, 0, 2, 1]), tensor([0, 1, 2]), tensor([0, 1, 3]))
    """
    key = edge_type.long() * num_nodes + node
    pairs, pair_of_edge = torch.unique(key, sorted=True, return_inverse=True)
    relation = torch.div(pairs, max(num_nodes, 1), rounding_mode="floor")
    counts = torch.bincount(relation, minlength=num_relations)
    ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    return pair_of_edge, pairs - relation * num_nodes, ptr


def relation_pairs(adj: Adjacency, edge_type: Tensor, num_relations: int) -> Tuple[Tensor, Tensor, Tensor]:
    """The (target, relation) pairs that occur, grouped by relation: ``(pair_of_edge [E], pair_target [P],
    ptr [R + 1])``; pair ``p`` belongs to relation ``r`` for ``ptr[r] <= p < ptr[r+1]``."""
    return relation_groups(adj.dst, adj.num_dst, edge_type, num_relations)


def relation_spmm(
    adj: AdjLike,
    x: Optional[Tensor],
    edge_type: Tensor,
    weight: Tensor,
    reduce: str = "mean",
    num_nodes: Optional[int] = None,
) -> Tensor:
    r"""Gather-matmul-scatter by relation: each relation's edges transformed by that relation's own weight.

    .. math:: \mathrm{out}_t = \sum_{r} \Big(\mathop{\mathrm{reduce}}_{e = (s \to t),\ \mathrm{type}(e) = r}
              x_s\Big) W_r

    ``x=None`` treats the sources as featureless (one-hot): row ``s`` of ``W_r`` is the source's message
    (``W_r`` then has one row per source, ``F_in = |V_s|``), as R-GCN does for nodes without features; an int
    ``x`` indexes those rows. ``weight [R, nb, F_in/nb, F_out/nb]`` applies a block-diagonal ``W_r``.

    Args:
        adj: ``edge_index [2, E]``, a ``Graph`` or an ``Adjacency``. edge_type: ``[E]`` relation of every edge.
        weight: ``[R, F_in, F_out]`` or ``[R, nb, F_in/nb, F_out/nb]``. reduce: ``"sum"``, ``"mean"``, ``"max"``,
            ``"min"`` within each (target, relation). num_nodes: number of targets (default: the sources').

    Shapes:
        x ``(|V_s|, F_in)``, ``(|V_s|)`` int or ``None``; edge_type ``(E)`` -> ``(|V_t|, F_out)``.

    >>> ei = torch.tensor([[0, 1, 2], [2, 2, 2]])
    >>> w = torch.tensor([[[1.0]], [[10.0]]])
    >>> relation_spmm(ei, torch.tensor([[1.0], [3.0], [5.0]]), torch.tensor([0, 0, 1]), w).view(-1)
    tensor([ 0.,  0., 52.])
    """
    check_reduce(reduce)
    check_float("weight", weight)
    if weight.dim() not in (3, 4):
        raise ValueError(f"weight must have shape [R, F_in, F_out] or [R, nb, F_in/nb, F_out/nb], got "
                         f"{list(weight.shape)}")
    r = weight.size(0)
    featureless = x is None or not x.is_floating_point()
    if featureless and weight.dim() == 4:
        raise ValueError("a block-diagonal weight needs floating features x, got "
                         f"{'None' if x is None else x.dtype} (featureless sources index rows of W_r)")
    num_src = weight.size(1) if x is None else x.size(0)
    device = weight.device
    adj_ = resolve(adj, num_src, num_nodes, device, src_name="x")
    check_index("edge_type", edge_type)
    if edge_type.dim() != 1 or edge_type.numel() != adj_.num_edges:
        raise ValueError(f"edge_type must have shape [{adj_.num_edges}] (one relation per edge), "
                         f"got {list(edge_type.shape)}")
    if not is_compiling():
        check_bounds("edge_type", edge_type, r, "num_relations")
    pair_of_edge, pair_target, ptr = relation_pairs(adj_, edge_type, r)
    num_pairs = pair_target.numel()
    f_out = weight.size(2) if weight.dim() == 3 else weight.size(1) * weight.size(3)
    if featureless:
        # Messages are rows of W_r: the source s of relation r reads row r*F_in + id(s) of the stacked weights.
        if x is not None:
            check_index("x", x)
            if not is_compiling():
                check_bounds("x", x, weight.size(1), "in_channels")
        idx = adj_.src if x is None else x.long()[adj_.src]
        src = edge_type.long() * weight.size(1) + idx
        by_pair = Adjacency(torch.stack([src, pair_of_edge]), r * weight.size(1), num_pairs)
        h = spmm(by_pair, weight.reshape(-1, f_out), reduce=reduce)
    else:
        check_float("x", x)
        if x.dtype != weight.dtype:
            raise TypeError(f"weight has dtype {weight.dtype} but x has dtype {x.dtype}")
        by_pair = Adjacency(torch.stack([adj_.src, pair_of_edge]), adj_.num_src, num_pairs)
        agg = spmm(by_pair, x, reduce=reduce)  # [P, F_in]: per (target, relation), grouped by relation
        h = relation_matmul(agg, ptr, weight)  # dense or block-diagonal W_r, one segment matmul
    out = h.new_zeros(adj_.num_dst, f_out)
    return out.index_add_(0, pair_target, h)
