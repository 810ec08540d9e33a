"""Index joins on edge lists: :func:`matching_pairs` (the join behind a sparse-sparse product) and
:func:`triplets` (every two-hop path ``k -> j -> i``, as DimeNet's angles need), vectorised: no Python loop over
edges."""
from __future__ import annotations

from typing import NamedTuple, Tuple

import torch
from torch import Tensor

from graphkit.utils._checks import as_edge_index, num_nodes_of

__all__ = ["matching_pairs", "triplets", "Triplets"]


def matching_pairs(left: Tensor, right: Tensor, num_keys: int) -> Tuple[Tensor, Tensor]:
    """Every pair ``(a, b)`` with ``left[a] == right[b]`` (keys in ``[0, num_keys)``), grouped by ``a`` in order,
    each group's ``b`` in increasing order.

    Shapes:
        left ``(A,)``, right ``(B,)`` -> two ``(P,)`` int64 tensors, :math:`P = \\sum_a |\\{b : r_b = l_a\\}|`.

    >>> a, b = matching_pairs(torch.tensor([1, 0, 1]), torch.tensor([1, 1, 2]), 3)
    >>> a.tolist(), b.tolist()
    ([0, 0, 2, 2], [0, 1, 0, 1])
    """
    order = torch.sort(right, stable=True).indices
    counts = torch.bincount(right, minlength=num_keys)
    start = counts.cumsum(0) - counts
    per_left = counts[left]
    a = torch.repeat_interleave(torch.arange(left.numel(), device=left.device), per_left)
    first = torch.repeat_interleave(per_left.cumsum(0) - per_left, per_left)
    offset = torch.arange(a.numel(), device=left.device) - first
    return a, order[start[left[a]] + offset]


class Triplets(NamedTuple):
    """The two-hop paths :math:`k \\to j \\to i` of a graph: ``idx_i, idx_j, idx_k`` (the atoms), ``idx_kj`` and
    ``idx_ji`` (the ids of the edges :math:`k \\to j` and :math:`j \\to i`)."""

    idx_i: Tensor
    idx_j: Tensor
    idx_k: Tensor
    idx_kj: Tensor
    idx_ji: Tensor


def triplets(edge_index: Tensor, num_nodes: int = None) -> Triplets:  # type: ignore[assignment]
    """All paths :math:`k \\to j \\to i` along two edges (``edge_index[0]`` is the source) with :math:`k \\ne i`,
    grouped by the edge :math:`j \\to i` in edge order.

    Shapes:
        edge_index ``(2, E)`` -> five ``(T,)`` int64 tensors.

    >>> t = triplets(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]))  # the path 0 - 1 - 2, both directions
    >>> t.idx_k.tolist(), t.idx_j.tolist(), t.idx_i.tolist()
    ([2, 0], [1, 1], [0, 2])
    """
    edge_index = as_edge_index(edge_index)
    n = num_nodes_of(edge_index, num_nodes)
    src, dst = edge_index[0], edge_index[1]
    # An edge j -> i continues every edge k -> j: join the first's source with the second's target.
    ji, kj = matching_pairs(src, dst, n)
    idx_i, idx_j, idx_k = dst[ji], src[ji], src[kj]
    keep = idx_i != idx_k
    return Triplets(idx_i[keep], idx_j[keep], idx_k[keep], kj[keep], ji[keep])
