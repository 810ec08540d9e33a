r"""Block SpMM over the stalk space: :math:`y_t = \sum_{b:\,r_b = t} B_b\, x_{c_b}`, one :math:`d \times d` block
per (row, column) pair.

A sheaf Laplacian is a sparse matrix of :math:`d \times d` blocks (one per edge, one per node on the diagonal).
Rather than gather an ``E x d x F`` tensor of messages, every block entry :math:`B_b[a, a']` becomes one scalar
edge ``(c_b d + a') -> (r_b d + a)`` of a graph on the ``N d`` stalk coordinates, and the product is a single fused
``graphkit.ops.spmm`` with those entries as edge weights. The stalk-space graph depends only on the structure, so
it is built once (and its CSR cached by ``Graph``); only the ``K d^2`` block values change between calls.
Diagonal blocks (diagonal restriction maps) need only ``K d`` scalar edges.

A C++ op would add: reading the ``d x d`` block once per (edge, row) instead of once per scalar, and no
``K d^2`` int64 index (it would take the block CSR over nodes and the block values directly).

Shapes:
    - ``blocks``: ``(K, d)`` (diagonal) or ``(K, d, d)``; ``x``: ``(N, d, F)``
    - output: ``(N, d, F)``
"""
from __future__ import annotations

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.ops import spmm

__all__ = ["block_graph", "block_spmm"]


def block_graph(rows: Tensor, cols: Tensor, num_nodes: int, d: int, diagonal: bool) -> Graph:
    """The ``N d``-node scalar graph of a block matrix with blocks at ``(rows[b], cols[b])``.

    Entry ``(b, a, a')`` (``(b, a)`` when ``diagonal``) is edge number ``b d^2 + a d + a'`` (``b d + a``), the
    row-major order of the block tensor, so ``blocks.reshape(-1)`` lines up with the edges.
    """
    ar = torch.arange(d, device=rows.device)
    if diagonal:
        tgt = (rows.unsqueeze(1) * d + ar).reshape(-1)
        src = (cols.unsqueeze(1) * d + ar).reshape(-1)
    else:
        tgt = (rows.view(-1, 1, 1) * d + ar.view(1, d, 1)).expand(-1, d, d).reshape(-1)
        src = (cols.view(-1, 1, 1) * d + ar.view(1, 1, d)).expand(-1, d, d).reshape(-1)
    return Graph(edge_index=torch.stack([src, tgt]), num_nodes=num_nodes * d)


def block_spmm(graph: Graph, blocks: Tensor, x: Tensor) -> Tensor:
    """Multiply the block matrix (structure ``graph`` from :func:`block_graph`, values ``blocks``) with ``x``."""
    n, d, f = x.shape
    out = spmm(graph, x.reshape(n * d, f), blocks.reshape(-1), num_nodes=n * d)
    return out.view(n, d, f)
