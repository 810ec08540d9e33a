"""The kernel primitives every op (and the loader) is built from, dispatched to ``torch.ops.graphkit`` or pure torch.

This module is the one back-end switch (``_backend``): nothing else in graphkit calls ``torch.ops.graphkit``.

- ``csr_reduce(rowptr, col, eid, weight, x, reduce) -> (out, arg)``: ``out[r] = reduce_k w[eid[k]] * x[col[k]]``
  over ``k in [rowptr[r], rowptr[r+1])``; ``col=None`` reads ``x[k]``, ``eid=None`` reads ``w[k]``.
  ``x`` is ``[M, H, F]``, ``weight`` ``[E, H]``; ``arg`` (max/min) holds the CSR position, -1 for an empty row.
- ``csr_reduce_epilogue(rowptr, col, eid, weight, x, reduce, diag, bias, act) -> out``: a sum or mean
  ``csr_reduce`` whose rows leave as ``act(out[r] + diag[r] * x[r] + bias)`` (``diag [D]`` for ``r < D``,
  ``bias [H * F]``, ``act`` ``"none"``/``"relu"``), in one pass on the CPU; elsewhere the reduce, then the epilogue
  as torch ops (there is no CUDA epilogue kernel).
- ``dense_mm(a, b)``, ``relu_backward(grad, out)``: ``a @ b`` and the ReLU's backward, large results on reused
  huge pages on the CPU (``graphkit.ops.linear``); torch's ``mm`` / ``threshold_backward`` elsewhere.
- ``sddmm(rowptr, col, eid, a, b, op)``: per CSR position ``k`` in row ``r``: ``op(a[r], b[col[k]])`` written to
  ``out[eid[k]]``; ``dot`` gives ``[E, H]``, ``add``/``mul`` ``[E, H, F]``.
- ``softmax_fwd(rowptr, eid, scores)`` / ``softmax_bwd(rowptr, eid, y, grad)`` on ``[E, H]`` per row.
- ``arg_backward(...)``: the exact max/min gradient from ``csr_reduce``'s ``arg``.
- ``sample_neighbors(rowptr, col, perm, seeds, fanouts, replace, seed)``: multi-hop neighbour sampling (CPU).
- ``sample_neighbors_typed(rowptr, col, perm, seeds, node_ptr, edge_ptr, rel_row_off, rel_src_type, rel_dst_type,
  fanouts, replace, seed) -> (n_id [T], edge_index [R], e_id [R], nodes_per_hop, edges_per_hop)``: the same on a
  HeteroGraph's relation-grouped CSR, one fan-out per (hop, relation), the sample returned grouped: per node type
  the ids within the type, per relation ``[2, E_r]`` edges in per-type positions and ids within the relation (CPU).
- ``segment_matmul(x, ptr, weight)``: ``out[ptr[s]:ptr[s+1]] = x[ptr[s]:ptr[s+1]] @ weight[s]``;
  ``segment_matmul_wgrad(x, ptr, grad)``: ``[S, F_in, F_out]``, ``x_s^T grad_s`` per segment.
- ``gather_rows(src, index, out)``: ``out[i] = src[index[i]]`` into a caller-owned buffer (CPU).
- ``random_walk(rowptr, col, start, walk_length, p, q, seed)``: uniform or node2vec walks (CPU).
- ``induced_subgraph(rowptr, col, perm, nodes)``, ``saint_sample(...)``, ``shadow_k_hop(...)``: the sub-graph
  samplers of Cluster-GCN, GraphSAINT and shaDow-GNN (CPU; contracts in kernels/cpu/subgraph.cpp).
"""
from __future__ import annotations

import functools
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from graphkit.ops import _torch_kernels as T
from graphkit.ops._backend import backend, use_ext

__all__ = ["csr_reduce", "csr_reduce_epilogue", "epilogue", "dense_mm", "relu_backward", "sddmm", "softmax_fwd", "softmax_bwd", "arg_backward", "sample_neighbors", "sample_neighbors_typed", "gather_rows", "gather_rows_uva",
           "random_walk", "induced_subgraph", "saint_sample", "shadow_k_hop", "segment_matmul", "segment_matmul_wgrad"]


def csr_reduce(
    rowptr: Tensor, col: Optional[Tensor], eid: Optional[Tensor], weight: Optional[Tensor], x: Tensor, reduce: str
) -> Tuple[Tensor, Tensor]:
    if use_ext(x):
        return torch.ops.graphkit.csr_reduce(rowptr, col, eid, weight, x, reduce)
    return T.csr_reduce(rowptr, col, eid, weight, x, reduce)


def csr_reduce_epilogue(
    rowptr: Tensor, col: Optional[Tensor], eid: Optional[Tensor], weight: Optional[Tensor], x: Tensor, reduce: str,
    diag: Optional[Tensor], bias: Optional[Tensor], act: str
) -> Tensor:
    if use_ext(x) and not x.is_cuda:
        return torch.ops.graphkit.csr_reduce_epilogue(rowptr, col, eid, weight, x, reduce, diag, bias, act)
    # CUDA has no epilogue kernel: its csr_reduce, then the epilogue as torch ops (as the torch back end does).
    return T.epilogue(csr_reduce(rowptr, col, eid, weight, x, reduce)[0], x, diag, bias, act)


def epilogue(out: Tensor, x: Tensor, diag: Optional[Tensor], bias: Optional[Tensor], act: str) -> Tensor:
    """``csr_reduce_epilogue``'s epilogue as differentiable torch ops, on an already reduced ``out``."""
    return T.epilogue(out, x, diag, bias, act)


@functools.lru_cache(maxsize=None)
def _has_op(name: str) -> bool:
    # an older build of _C may lack a newer op: then its callers take the torch path
    return hasattr(torch.ops.graphkit, name)


def dense_mm(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b``; on the CPU extension a large result lives on its reused huge pages (no page faults per call)."""
    if use_ext(a) and not a.is_cuda and _has_op("dense_mm"):
        return torch.ops.graphkit.dense_mm(a, b)
    return torch.mm(a, b)


def relu_backward(grad: Tensor, out: Tensor) -> Tensor:
    """The gradient through ``out = relu(z)``: ``grad`` where ``out > 0`` (or NaN), else 0; placed as ``dense_mm``."""
    if use_ext(grad) and not grad.is_cuda and _has_op("relu_backward"):
        return torch.ops.graphkit.relu_backward(grad, out)
    return torch.ops.aten.threshold_backward(grad, out, 0)


def sddmm(rowptr: Tensor, col: Tensor, eid: Optional[Tensor], a: Tensor, b: Tensor, op: str) -> Tensor:
    if use_ext(a):
        return torch.ops.graphkit.sddmm(rowptr, col, eid, a, b, op)
    return T.sddmm(rowptr, col, eid, a, b, op)


def softmax_fwd(rowptr: Tensor, eid: Optional[Tensor], scores: Tensor) -> Tensor:
    if use_ext(scores):
        return torch.ops.graphkit.edge_softmax_fwd(rowptr, eid, scores)
    return T.softmax_fwd(rowptr, eid, scores)


def softmax_bwd(rowptr: Tensor, eid: Optional[Tensor], y: Tensor, grad: Tensor) -> Tensor:
    if use_ext(y):
        return torch.ops.graphkit.edge_softmax_bwd(rowptr, eid, y, grad)
    return T.softmax_bwd(rowptr, eid, y, grad)


def arg_backward(
    col: Optional[Tensor],
    eid: Optional[Tensor],
    weight: Optional[Tensor],
    x: Tensor,
    arg: Tensor,
    grad: Tensor,
    need_x: bool,
    need_w: bool,
) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Exact max/min backward: each output element routes its gradient to the one edge ``arg`` picked.

    Works on tensors the size of the output (``[R, H, F]``), never ``E x F``. ``grad_x`` with the extension is
    one kernel (``arg_scatter``: column-parallel on the CPU, one thread per output element on CUDA), and so is
    the weight gradient on CUDA (``arg_scatter_weight``); the CPU weight gradient and the torch backend are
    torch ops. Returns ``(grad_x [M, H, F], grad_weight [E, H])`` (``None``
    where not needed).
    """
    grad_x = grad_w = None
    if use_ext(x):
        if need_x:  # one kernel: kernels/cpu/arg_scatter.cpp, or kernels/cuda/arg_scatter.cu
            grad_x = torch.ops.graphkit.arg_scatter(col, eid, weight, arg, grad.contiguous(), x.size(0))
        if need_w and weight is not None and x.is_cuda:  # one kernel (CUDA only; the CPU runs the torch ops below)
            grad_w = torch.ops.graphkit.arg_scatter_weight(col, eid, x, arg, grad.contiguous(), weight.size(0))
        need_x, need_w = False, need_w and grad_w is None
        if not need_w or weight is None:
            return grad_x, grad_w
    entries = col.numel() if col is not None else x.size(0)
    if entries == 0:  # no edges: nothing was picked, every gradient is 0 (and there is nothing to index)
        if need_x:
            grad_x = torch.zeros_like(x)
        if need_w and weight is not None:
            grad_w = torch.zeros_like(weight)
        return grad_x, grad_w
    valid = arg >= 0
    pos = arg.clamp(min=0)
    src = col.long()[pos] if col is not None else pos
    g = grad * valid
    heads = x.size(1)
    if weight is not None:
        e = eid.long()[pos] if eid is not None else pos
        h = torch.arange(heads, device=x.device).view(1, -1, 1)
        flat = e * heads + h
    if need_x:
        coeff = g * weight.reshape(-1)[flat] if weight is not None else g
        grad_x = torch.zeros_like(x).scatter_add_(0, src, coeff)
    if need_w and weight is not None:
        contrib = g * x.gather(0, src)
        grad_w = torch.zeros_like(weight).reshape(-1).index_add_(0, flat.reshape(-1), contrib.reshape(-1))
        grad_w = grad_w.view_as(weight)
    return grad_x, grad_w


def segment_matmul(x: Tensor, ptr: Tensor, weight: Tensor) -> Tensor:
    if use_ext(x):
        return torch.ops.graphkit.segment_matmul(x, ptr, weight)
    return T.segment_matmul(x, ptr, weight)


def segment_matmul_wgrad(x: Tensor, ptr: Tensor, grad: Tensor) -> Tensor:
    if use_ext(x):
        return torch.ops.graphkit.segment_matmul_wgrad(x, ptr, grad)
    return T.segment_matmul_wgrad(x, ptr, grad)


def sample_neighbors(
    rowptr: Tensor, col: Tensor, perm: Tensor, seeds: Tensor, fanouts: List[int], replace: bool, seed: int
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    if backend() == "cpu-ext":
        return tuple(torch.ops.graphkit.sample_neighbors(rowptr, col, perm, seeds, fanouts, replace, seed))
    return T.sample_neighbors(rowptr, col, perm, seeds, fanouts, replace, seed)


def sample_neighbors_typed(
    rowptr: Tensor, col: Tensor, perm: Tensor, seeds: Tensor, node_ptr: Tensor, edge_ptr: Tensor, rel_row_off: Tensor,
    rel_src_type: Tensor, rel_dst_type: Tensor, fanouts: List[int], replace: bool, seed: int
) -> Tuple[List[Tensor], List[Tensor], List[Tensor], Tensor, Tensor]:
    args = (rowptr, col, perm, seeds, node_ptr, edge_ptr, rel_row_off, rel_src_type, rel_dst_type, fanouts, replace,
            seed)
    if backend() == "cpu-ext":
        return tuple(torch.ops.graphkit.sample_neighbors_typed(*args))
    return T.sample_neighbors_typed(*args)


def gather_rows(src: Tensor, index: Tensor, out: Tensor) -> Tensor:
    if backend() == "cpu-ext":
        return torch.ops.graphkit.gather_rows(src, index, out)
    return T.gather_rows(src, index, out)


def gather_rows_uva(src: Tensor, index: Tensor, pos: Tensor, out: Tensor, stream: int, check: bool) -> Tensor:
    """``out[pos[i]] = src[index[i]]`` on the GPU from page-locked host ``src`` (CUDA build only; no fallback)."""
    return torch.ops.graphkit.gather_rows_uva(src, index, pos, out, stream, check)


# ---- the seed papers' samplers: compiled kernels (kernels/cpu/random_walk.cpp, subgraph.cpp) or their twins
def random_walk(rowptr: Tensor, col: Tensor, start: Tensor, walk_length: int, p: float, q: float,
                seed: int) -> Tuple[Tensor, Tensor]:
    if backend() == "cpu-ext":
        return tuple(torch.ops.graphkit.random_walk(rowptr, col, start, walk_length, p, q, seed))
    return T.random_walk(rowptr, col, start, walk_length, p, q, seed)


def induced_subgraph(rowptr: Tensor, col: Tensor, perm: Tensor, nodes: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    if backend() == "cpu-ext":
        return tuple(torch.ops.graphkit.induced_subgraph(rowptr, col, perm, nodes))
    return T.induced_subgraph(rowptr, col, perm, nodes)


def saint_sample(rowptr: Tensor, col: Tensor, edge_cdf: Optional[Tensor], kind: str, batch_size: int,
                 walk_length: int, seed: int) -> Tensor:
    if backend() == "cpu-ext":
        return torch.ops.graphkit.saint_sample(rowptr, col, edge_cdf, kind, batch_size, walk_length, seed)
    return T.saint_sample(rowptr, col, edge_cdf, kind, batch_size, walk_length, seed)


def shadow_k_hop(rowptr: Tensor, col: Tensor, perm: Tensor, roots: Tensor, depth: int, num_neighbors: int,
                 replace: bool, seed: int) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    if backend() == "cpu-ext":
        return tuple(torch.ops.graphkit.shadow_k_hop(rowptr, col, perm, roots, depth, num_neighbors, replace, seed))
    return T.shadow_k_hop(rowptr, col, perm, roots, depth, num_neighbors, replace, seed)
