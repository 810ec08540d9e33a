r"""Spectral descriptors of a graph from the low end of its Laplacian spectrum (sparse, for meshes).

Both are computed once per graph in preprocessing, from the structure alone (the combinatorial Laplacian
:math:`L = D - A` of the undirected graph, edge weights ignored), so they are unchanged by anything that moves
vertices but keeps the connectivity (MeshCNN's scale and slide augmentations, for instance):

* :func:`heat_kernel_signature` (Sun, Ovsjanikov & Guibas, 2009): per node
  :math:`h(x, t) = \sum_i e^{-\lambda_i t} \phi_i(x)^2`, the heat that stays at ``x`` after time ``t``. Small
  ``t`` reflects the neighbourhood, large ``t`` the node's place in the whole shape (tips of limbs keep their heat,
  the middle of a tube or a sphere does not). We divide by the heat trace :math:`\sum_i e^{-\lambda_i t}` and
  multiply by ``N`` (mean 1 over the nodes, so meshes of any resolution compare) and return the log. The times
  are ``num_times`` log-spaced in :math:`[1 / \lambda_{\max}, 4 / \lambda_1]`, :math:`\lambda_1` the first
  non-zero eigenvalue and :math:`\lambda_{\max}` the largest one computed. (Sun et al.'s upper end,
  :math:`4 \ln 10 / \lambda_1`, is where the heat has spread evenly and the signature is the same everywhere;
  below :math:`1 / \lambda_{\max}` the truncated sum is no longer accurate.)
* :func:`shape_dna` (Reuter, Wolter & Peinecke, 2006): :math:`\log(\lambda_{c+j} / \lambda_{c+1})`,
  ``j = 1..k-1`` after the ``c`` zero eigenvalues (one per connected component): invariant to the graph's size
  scale, and its pattern (multiplicities, growth rate) tells a sphere-like surface from a long tube or a ring.

Both take ``eigenpairs=laplacian_eigenpairs(...)`` to share one decomposition. Eigenpairs come from
``scipy.sparse.linalg.eigsh`` in shift-invert mode (dense ``eigh`` for small graphs), with every zero eigenvalue
kept so that the signature does not depend on how the null space's basis was cut. (A degenerate eigenspace cut
by ``k`` still makes the signature depend on the solver's basis, mostly at small times; take ``k`` generous.)
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import eigsh
from torch import Tensor

from graphkit.ops._checks import check_positive_int
from graphkit.ops.adjacency import check_bounds

__all__ = ["laplacian_eigenpairs", "heat_kernel_signature", "shape_dna"]

Eigenpairs = Tuple[np.ndarray, np.ndarray, int]  # laplacian_eigenpairs' result, to share one decomposition

_DENSE_LIMIT = 1000  # below this many nodes a dense eigh is both faster and exact
_ZERO = 1e-8  # eigenvalues below this (relative to the largest degree) count as zero


def _laplacian(edge_index: Tensor, num_nodes: int) -> Tuple[sp.csr_matrix, int]:
    """The symmetrised 0/1 combinatorial Laplacian (self-loops and repeated edges ignored) and its component count."""
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {list(edge_index.shape)}")
    if num_nodes < 2:
        raise ValueError(f"num_nodes must be at least 2, got {num_nodes}")
    check_bounds("edge_index", edge_index, num_nodes)
    ei = edge_index.cpu().long().numpy()
    keep = ei[0] != ei[1]
    a = sp.coo_matrix((np.ones(int(keep.sum())), (ei[0, keep], ei[1, keep])), shape=(num_nodes, num_nodes)).tocsr()
    a = ((a + a.T) > 0).astype(np.float64)
    comps = connected_components(a, directed=False)[0]
    return (sp.diags(np.asarray(a.sum(1)).ravel()) - a).tocsr(), comps


def laplacian_eigenpairs(edge_index: Tensor, num_nodes: int, k: int) -> Tuple[np.ndarray, np.ndarray, int]:
    """The ``c + k`` smallest eigenpairs of the combinatorial Laplacian, ``c`` = connected components.

    Returns ``(eigenvalues [m] ascending, eigenvectors [N, m], c)`` with ``m = min(c + k, N)``; the first ``c``
    eigenvalues are (numerically) zero. Deterministic (fixed Lanczos start vector).

    >>> ring = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]])
    >>> vals, vecs, c = laplacian_eigenpairs(ring, 4, 2)
    >>> c, [round(float(v), 6) for v in vals]
    (1, [0.0, 2.0, 2.0])
    """
    check_positive_int("k", k)
    lap, comps = _laplacian(edge_index, num_nodes)
    m = min(comps + k, num_nodes)
    if num_nodes <= _DENSE_LIMIT or m >= num_nodes - 1:
        vals, vecs = np.linalg.eigh(lap.toarray())
        vals, vecs = vals[:m], vecs[:, :m]
    else:
        # shift-invert just below 0: L - sigma*I is positive definite although L is singular
        v0 = np.random.default_rng(0).standard_normal(num_nodes)
        vals, vecs = eigsh(lap, k=m, sigma=-1e-3, which="LM", v0=v0)
        order = np.argsort(vals, kind="stable")
        vals, vecs = vals[order], vecs[:, order]
    scale = float(lap.diagonal().max()) or 1.0
    vals = np.where(np.abs(vals) < _ZERO * scale, 0.0, vals)
    return vals, vecs, comps


def _nonzero(vals: np.ndarray, comps: int, what: str) -> np.ndarray:
    positive = vals[comps:]
    if positive.size == 0 or positive[0] <= 0:
        raise ValueError(f"{what} needs a non-zero Laplacian eigenvalue; the graph has {comps} components "
                         f"and {vals.size} eigenvalues were computed")
    return positive


def heat_kernel_signature(edge_index: Tensor, num_nodes: int, num_times: int = 8, k: int = 32,
                          eigenpairs: Optional[Eigenpairs] = None) -> Tensor:
    """Scale-normalised log heat kernel signature ``[N, num_times]`` (float32) from ``k`` non-zero eigenpairs.

    Shapes: edge_index ``[2, E]`` (either or both directions) -> ``[num_nodes, num_times]``. With ``eigenpairs``
    (a :func:`laplacian_eigenpairs` result) given, they are used and ``edge_index`` and ``k`` are not.

    >>> ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    >>> h = heat_kernel_signature(ring, 6, num_times=3, k=4)
    >>> h.shape, bool(h.abs().max() < 1e-6)  # every node of a ring is alike: the normalised signature is 1
    (torch.Size([6, 3]), True)
    """
    check_positive_int("num_times", num_times)
    vals, vecs, comps = eigenpairs or laplacian_eigenpairs(edge_index, num_nodes, k)
    positive = _nonzero(vals, comps, "heat_kernel_signature")
    lo, hi = 1.0 / positive[-1], 4.0 / positive[0]
    times = np.geomspace(lo, hi, num_times) if num_times > 1 else np.array([hi])
    decay = np.exp(-np.outer(vals, times))  # [m, T]
    hks = (vecs * vecs) @ decay  # [N, T]
    hks = hks * num_nodes / decay.sum(0, keepdims=True)
    return torch.from_numpy(np.log(np.maximum(hks, 1e-12))).float()


def shape_dna(edge_index: Tensor, num_nodes: int, k: int = 16, eigenpairs: Optional[Eigenpairs] = None) -> Tensor:
    """``log(lambda_{c+j} / lambda_{c+1})`` for ``j = 1..k-1`` (float32 ``[k - 1]``), zero-padded for tiny graphs.

    Shapes: edge_index ``[2, E]`` -> ``[k - 1]``. With ``eigenpairs`` given, they are used and ``edge_index`` is not.

    >>> ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    >>> [round(float(v), 4) for v in shape_dna(ring, 6, k=3)]  # a ring's eigenvalues come in equal pairs
    [0.0, 1.0986]
    """
    if not isinstance(k, int) or k < 2:
        raise ValueError(f"k must be an int of at least 2, got {k!r}")
    vals, _, comps = eigenpairs or laplacian_eigenpairs(edge_index, num_nodes, k)
    positive = _nonzero(vals, comps, "shape_dna")
    out = torch.zeros(k - 1)
    ratios = np.log(positive[1:k] / positive[0])
    out[: ratios.size] = torch.from_numpy(ratios).float()
    return out
