r"""Dot-product scores of sampled pairs of rows of two embedding tables, with the gradients as two sparse products:
the scoring step of every sampled recommendation loss (UltraGCN's positives, negatives and item-item neighbours).

For pairs :math:`p = (r_p, c_p)` of a row of ``left`` (users) and a row of ``right`` (items):

.. math:: s_p = \mathbf{l}_{r_p}^\top \mathbf{r}_{c_p},\qquad
          \frac{\partial L}{\partial \mathbf{l}_r} = \sum_{p:\, r_p = r} g_p\, \mathbf{r}_{c_p},\qquad
          \frac{\partial L}{\partial \mathbf{r}_c} = \sum_{p:\, c_p = c} g_p\, \mathbf{l}_{r_p}

with :math:`g_p = \partial L / \partial s_p`. Equivalently, with :math:`S` the ``[C, R]`` matrix of the summed
:math:`g_p` of each distinct pair, :math:`\partial L/\partial \mathrm{right} = S\,\mathrm{left}` and
:math:`\partial L/\partial \mathrm{left} = S^\top \mathrm{right}`: an SDDMM forward and two SpMMs backward.

Why not the plain construction ``(left[rows] * right[cols]).sum(-1)``: it materialises one ``d``-vector per pair
forward and backward (``B (1 + N + K)`` of them per UltraGCN step, 62k x 64 floats at batch 1,024), and its
backward scatters them into the tables row by row (``index_add_`` / ``embedding_dense_backward``), the slowest
part of a step on a CPU. Here the pairs are sorted once (``torch.unique`` of ``c * R + r``, which also merges a
pair drawn twice), the scores are :func:`torch.sparse.sampled_addmm` on that pattern, and the gradients are
:math:`S\,\mathrm{left}` (same pattern) and :math:`S^\top \mathrm{right}` (a stable sort of the distinct pairs
by row), both whole dense tables (UltraGCN's L2 term touches every row at every step anyway). Every sparse tensor
built here satisfies torch's CSR invariants (sorted, distinct columns per row). :func:`graphkit.ops.sddmm` is the
op for a fixed graph whose CSR is built once and reused; here the pattern is new at every step, so building it is
most of the cost (measured: ``sddmm`` with the compiled kernels took longer per step than this path).

Shapes:
    ``left``: ``(R, D)``, ``right``: ``(C, D)``, ``rows`` and ``cols``: any equal shape ``S`` of ids; result:
    ``S``.

>>> left, right = torch.tensor([[1.0, 2.0], [0.0, 1.0]]), torch.tensor([[3.0, 1.0], [1.0, -1.0], [2.0, 2.0]])
>>> pair_scores(left, right, torch.tensor([[0, 0], [1, 1]]), torch.tensor([[0, 2], [1, 1]]))
tensor([[ 5.,  6.],
        [-1., -1.]])
"""
from __future__ import annotations

import warnings
from typing import Any, Optional, Tuple

import torch
from torch import Tensor

__all__ = ["pair_scores"]


def _csr(crow: Tensor, minor: Tensor, num_major: int, num_minor: int, values: Tensor) -> Tensor:
    """A ``[num_major, num_minor]`` CSR matrix whose invariants hold by construction (not re-checked)."""
    with warnings.catch_warnings():  # torch's one-time "CSR support is in beta" notice is not the user's concern
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, minor, values, (num_major, num_minor), check_invariants=False)


def _compressed(major: Tensor, minor: Tensor, num_major: int, num_minor: int, values: Tensor) -> Tensor:
    """The ``[num_major, num_minor]`` CSR matrix of entries already sorted by ``(major, minor)``, pairs distinct."""
    bounds = torch.arange(num_major + 1, dtype=major.dtype, device=major.device)
    crow = torch.searchsorted(major, bounds, out_int32=major.dtype == torch.int32)  # first entry of each row
    return _csr(crow, minor, num_major, num_minor, values)


class _PairScores(torch.autograd.Function):
    """Forward: SDDMM on the distinct pairs sorted by column; backward: the two SpMMs of the module docstring."""

    @staticmethod
    def forward(ctx: Any, left: Tensor, right: Tensor, rows: Tensor, cols: Tensor) -> Tensor:  # type: ignore[override]
        num_rows, num_cols = left.size(0), right.size(0)
        # int32 keys and indices where they fit: a third faster to sort and divide, and MKL's CSR kernels take
        # them without a copy
        dtype = torch.int32 if num_rows * num_cols < 2**31 else torch.int64
        keys, inverse = torch.unique((cols * num_rows + rows).to(dtype), sorted=True, return_inverse=True)
        col_u = torch.div(keys, num_rows, rounding_mode="floor")
        row_u = keys - col_u * num_rows
        pattern = _compressed(col_u, row_u, num_cols, num_rows, left.new_zeros(keys.numel()))
        # [C, R] on the pattern: right @ left^T, read only where a pair is (beta=0: the pattern's values unused)
        scores = torch.sparse.sampled_addmm(pattern, right, left.t(), beta=0.0).values()
        ctx.save_for_backward(left, right, row_u, col_u, inverse, pattern.crow_indices())
        return scores.index_select(0, inverse)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: Tensor) -> Tuple[Optional[Tensor], ...]:  # type: ignore[override]
        left, right, row_u, col_u, inverse, crow = ctx.saved_tensors
        num_rows, num_cols = left.size(0), right.size(0)
        g = grad.new_zeros(row_u.numel()).index_add_(0, inverse, grad.reshape(-1))  # summed per distinct pair
        g_left = g_right = None
        if ctx.needs_input_grad[1]:
            g_right = _csr(crow, row_u, num_cols, num_rows, g) @ left
        if ctx.needs_input_grad[0]:
            # the transposed pattern: a stable sort by row keeps each row's columns in increasing order
            row_t, order = torch.sort(row_u, stable=True)
            g_left = _compressed(row_t, col_u.index_select(0, order), num_rows, num_cols,
                                 g.index_select(0, order)) @ right
        return g_left, g_right, None, None


def pair_scores(left: Tensor, right: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """``(left[rows] * right[cols]).sum(-1)``, computed and differentiated as the module docstring says.

    Args:
        left: ``[R, D]`` float table (users). right: ``[C, D]`` float table (items), same dtype and device.
        rows, cols: integer ids into ``left`` and ``right``, of one shape.
    """
    for name, table in (("left", left), ("right", right)):
        if not isinstance(table, Tensor) or table.dim() != 2 or not table.is_floating_point():
            raise ValueError(f"{name} must be a [N, D] float tensor, got {getattr(table, 'dtype', type(table))} "
                             f"of shape {list(getattr(table, 'shape', []))}")
    if left.size(1) != right.size(1) or left.dtype != right.dtype or left.device != right.device:
        raise ValueError(f"left {list(left.shape)} {left.dtype} {left.device} and right {list(right.shape)} "
                         f"{right.dtype} {right.device} must share D, dtype and device")
    if rows.shape != cols.shape:
        raise ValueError(f"rows {list(rows.shape)} and cols {list(cols.shape)} must have one shape")
    for name, ids, bound in (("rows", rows, left.size(0)), ("cols", cols, right.size(0))):
        if ids.is_floating_point() or ids.dtype == torch.bool:
            raise ValueError(f"{name} must hold integer ids, got dtype {ids.dtype}")
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= bound):
            raise ValueError(f"{name} ids must lie in [0, {bound}), got [{int(ids.min())}, {int(ids.max())}]")
    flat = _PairScores.apply(left, right, rows.reshape(-1).long(), cols.reshape(-1).long())
    return flat.view(rows.shape)
