r"""Positional and structural encodings for graph transformers (GraphGPS's "PE/SE" ingredient).

* :func:`laplacian_pe`: the ``k`` eigenvectors of the symmetric normalised Laplacian
  :math:`L = I - D^{-1/2} A D^{-1/2}` after the trivial one (smallest eigenvalues first), per graph of a
  batch, zero-padded when a graph has fewer than ``k + 1`` nodes. Eigenvectors are defined only up to sign, so
  :func:`random_sign_flip` flips each graph's columns at random during training (the usual augmentation that
  teaches the model sign invariance); ``laplacian_pe(..., sign_flip=True)`` does it once at construction, as
  PyG's ``AddLaplacianEigenvectorPE`` does.
* :func:`random_walk_se`: :math:`\mathrm{RWSE}_i = (P_{ii}, (P^2)_{ii}, \dots, (P^K)_{ii})` with
  :math:`P = D_{out}^{-1} A`, the probability of returning to ``i`` after ``1..K`` steps (PyG's
  ``AddRandomWalkPE``). Per graph: dense powers for graphs up to 2,000 nodes, sparse products beyond.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from graphkit.batch import Batch
from graphkit.nn.adjacency import Adjacency
from graphkit.ops._checks import check_positive_int

__all__ = ["laplacian_pe", "random_walk_se", "random_sign_flip"]

_DENSE_LIMIT = 2000


def _blocks(adj: Any, num_nodes: Optional[int], ptr: Optional[Tensor]) -> Tuple[Tensor, List[Tuple[int, int]]]:
    """The edge_index and each graph's ``[start, end)`` node range (one range unless a Batch or ``ptr`` is given)."""
    edge_index, _, known, _ = Adjacency.unpack(adj)
    n = known[0] if known is not None else num_nodes
    if n is None:
        n = int(edge_index.max()) + 1 if edge_index.numel() else 0
    if ptr is None and isinstance(adj, Batch):
        ptr = adj.ptr
    bounds = [0, n] if ptr is None else [int(p) for p in ptr]
    if bounds[-1] != n:
        raise ValueError(f"ptr ends at {bounds[-1]} but there are {n} nodes")
    return edge_index, list(zip(bounds[:-1], bounds[1:]))


def _graph_edges(edge_index: Tensor, lo: int, hi: int) -> Tensor:
    keep = (edge_index[0] >= lo) & (edge_index[0] < hi)
    sub = edge_index[:, keep] - lo
    if sub.numel() and (int(sub[1].max()) >= hi - lo or int(sub[1].min()) < 0):
        raise ValueError(f"an edge leaves the graph of nodes [{lo}, {hi}): encodings need block-diagonal batches")
    return sub


def laplacian_pe(
    adj: Any, k: int, num_nodes: Optional[int] = None, *, ptr: Optional[Tensor] = None,
    edge_weight: Optional[Tensor] = None, sign_flip: bool = False, generator: Optional[torch.Generator] = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""Laplacian-eigenvector positional encoding ``[N, k]`` (per graph for a ``Batch`` or with ``ptr``).

    Graphs are treated as undirected (``eigh`` of the symmetrised Laplacian); duplicate edges add up.

    >>> ring = torch.tensor([[0, 1, 2, 3, 1, 2, 3, 0], [1, 2, 3, 0, 0, 1, 2, 3]])
    >>> laplacian_pe(ring, k=2).shape
    torch.Size([4, 2])
    """
    check_positive_int("k", k)
    edge_index, ranges = _blocks(adj, num_nodes, ptr)
    w = np.ones(edge_index.size(1)) if edge_weight is None else edge_weight.detach().cpu().double().numpy()
    out = torch.zeros(ranges[-1][1] if ranges else 0, k, dtype=dtype)
    for lo, hi in ranges:
        n = hi - lo
        if n < 2:
            continue
        keep = ((edge_index[0] >= lo) & (edge_index[0] < hi)).cpu().numpy()
        sub = _graph_edges(edge_index, lo, hi).cpu().numpy()
        a = np.zeros((n, n))
        np.add.at(a, (sub[0], sub[1]), w[keep])
        np.fill_diagonal(a, 0.0)  # self-loops do not enter the Laplacian (as PyG's get_laplacian)
        a = (a + a.T) / 2 if not np.allclose(a, a.T) else a
        deg = a.sum(1)
        inv = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
        lap = np.eye(n) - inv[:, None] * a * inv[None, :]
        vals, vecs = np.linalg.eigh(lap)
        vecs = vecs[:, np.argsort(vals, kind="stable")][:, 1 : k + 1]
        out[lo:hi, : vecs.shape[1]] = torch.from_numpy(vecs).to(dtype)
    if sign_flip:
        out = random_sign_flip(out, ptr=torch.tensor([r[0] for r in ranges] + [ranges[-1][1]]) if ranges else None,
                               generator=generator)
    return out.to(edge_index.device)


def random_sign_flip(pe: Tensor, batch: Optional[Tensor] = None, *, ptr: Optional[Tensor] = None,
                     generator: Optional[torch.Generator] = None) -> Tensor:
    """Multiply each graph's eigenvector columns by independent random signs (one sign per graph and column).

    Shapes: pe ``(N, k)``; batch ``(N,)`` or ptr ``(B+1,)`` -> ``(N, k)``.
    """
    if batch is None and ptr is not None:
        batch = torch.repeat_interleave(torch.arange(ptr.numel() - 1), (ptr[1:] - ptr[:-1]).cpu())
    if batch is None:
        batch = torch.zeros(pe.size(0), dtype=torch.long)
    num_graphs = int(batch.max()) + 1 if batch.numel() else 0
    signs = torch.randint(0, 2, (num_graphs, pe.size(1)), generator=generator).to(pe) * 2 - 1
    return pe * signs[batch.to(pe.device)]


def random_walk_se(
    adj: Any, walk_length: int, num_nodes: Optional[int] = None, *, ptr: Optional[Tensor] = None,
    edge_weight: Optional[Tensor] = None, dtype: torch.dtype = torch.float32,
) -> Tensor:
    r"""Random-walk structural encoding ``[N, walk_length]``: return probabilities after ``1..K`` steps.

    >>> triangle = torch.tensor([[0, 1, 2, 1, 2, 0], [1, 2, 0, 0, 1, 2]])
    >>> random_walk_se(triangle, 3)[0].tolist()
    [0.0, 0.5, 0.25]
    """
    check_positive_int("walk_length", walk_length)
    edge_index, ranges = _blocks(adj, num_nodes, ptr)
    n_all = ranges[-1][1] if ranges else 0
    w = torch.ones(edge_index.size(1), dtype=dtype) if edge_weight is None else edge_weight.to(dtype).cpu()
    out = torch.zeros(n_all, walk_length, dtype=dtype)
    for lo, hi in ranges:
        n = hi - lo
        keep = (edge_index[0] >= lo) & (edge_index[0] < hi)
        row, col = _graph_edges(edge_index, lo, hi).cpu()
        val = w[keep.cpu()]
        deg = torch.zeros(n, dtype=dtype).index_add_(0, row, val).clamp(min=1)
        val = val / deg[row]
        if n <= _DENSE_LIMIT:
            p = torch.zeros(n, n, dtype=dtype)
            p[row, col] = val  # as PyG's dense path: a repeated edge keeps one value
            cur = p
            for step in range(walk_length):
                out[lo:hi, step] = cur.diagonal()
                if step + 1 < walk_length:
                    cur = cur @ p
        else:
            p = torch.sparse_coo_tensor(torch.stack([row, col]), val, (n, n)).coalesce().to_sparse_csr()
            cur = p
            for step in range(walk_length):
                coo = cur.to_sparse_coo().coalesce()
                idx, v = coo.indices(), coo.values()
                on_diag = idx[0] == idx[1]
                out[lo:hi, step].index_add_(0, idx[0, on_diag], v[on_diag])
                if step + 1 < walk_length:
                    cur = cur @ p
    return out.to(edge_index.device)
