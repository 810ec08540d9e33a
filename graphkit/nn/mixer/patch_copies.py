r"""The node copies of a patched graph or batch, as one disjoint graph the patch encoder's GNN runs on.

:class:`graphkit.transforms.GraphPatches` stores each graph's copies and patch edges by *node id* and *local
patch*; batching offsets the node ids. Here the copies get global patch ids
:math:`g \cdot P + p` (``g`` the graph of the node) and every patch edge ``(u, v)`` of patch ``p`` becomes an
edge between the copies ``(p, u)`` and ``(p, v)``. Copies are sorted by (global patch, node) in every batch
(patch-major within a graph, graphs in order), so each endpoint is found by one ``searchsorted`` over the
copies' keys :math:`(g P + p) N + v`: no ``[P, N]`` table is built.

The result is memoised on the graph's structure (``Graph.derived``), so pre-built batches pay for it once.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from torch import Tensor

from graphkit.batch import Batch
from graphkit.graph import Graph
from graphkit.ops.adjacency import Adjacency

__all__ = ["PatchCopies", "patch_copies", "PATCH_FIELDS"]

PATCH_FIELDS = ("patch_node", "patch_id", "patch_edge_index", "patch_edge_id", "patch_mask", "patch_adj")


class PatchCopies(NamedTuple):
    """Node copies of ``num_graphs`` graphs with ``num_patches`` patches each.

    ``node`` ``(M,)``: the node of each copy; ``patch`` ``(M,)``: its global patch in ``[0, B * P)``;
    ``adj``: the copy graph (``M`` x ``M``, the patch edges); ``mask`` ``(B, P)``: non-empty patches;
    ``coarse`` ``(B, P, P)``: the overlap counts :math:`A^P`; ``pe`` ``(B, P, K)`` or ``None``.
    """

    node: Tensor
    patch: Tensor
    adj: Adjacency
    mask: Tensor
    coarse: Tensor
    pe: Optional[Tensor]
    num_graphs: int
    num_patches: int


def _build(graph: Graph) -> PatchCopies:
    mask, coarse = graph["patch_mask"], graph["patch_adj"]
    num_graphs = graph.num_graphs if isinstance(graph, Batch) else 1
    if mask.dim() != 2 or mask.size(0) != num_graphs:
        raise ValueError(f"patch_mask has shape {list(mask.shape)} but the input holds {num_graphs} graph(s): "
                         "expected [num_graphs, num_patches]")
    p = mask.size(1)
    n = graph.num_nodes
    node, local = graph["patch_node"].long(), graph["patch_id"].long()
    src, dst = graph["patch_edge_index"].long()
    edge_patch = graph["patch_edge_id"].long()
    if isinstance(graph, Batch):
        batch = graph.batch
        patch = batch[node] * p + local
        edge_patch = batch[src] * p + edge_patch
    else:
        patch = local
    key = patch * n + node
    if key.numel() > 1 and bool((key[1:] <= key[:-1]).any()):
        raise ValueError("patch_node/patch_id are not sorted by (patch, node): build them with GraphPatches")
    copy_src = torch.searchsorted(key, edge_patch * n + src)
    copy_dst = torch.searchsorted(key, edge_patch * n + dst)
    m = key.numel()
    adj = Adjacency(torch.stack([copy_src, copy_dst]), m, m)
    pe = graph["patch_pe"] if "patch_pe" in graph.keys() else None
    return PatchCopies(node, patch, adj, mask.bool(), coarse, pe, num_graphs, p)


def patch_copies(graph: Graph) -> PatchCopies:
    """The :class:`PatchCopies` of a graph or batch carrying :class:`~graphkit.transforms.GraphPatches` fields.

    >>> from graphkit.transforms import GraphPatches
    >>> ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    >>> c = patch_copies(GraphPatches(2)(Graph(edge_index=ring)))
    >>> c.node.tolist(), c.patch.tolist(), c.adj.edge_index.shape
    ([0, 2, 3, 4, 5, 0, 1, 2, 3, 5], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], torch.Size([2, 8]))
    """
    if not isinstance(graph, Graph):
        raise TypeError(f"graph must be a graphkit.Graph or Batch, got {type(graph).__name__}")
    missing = [f for f in PATCH_FIELDS if f not in graph.keys()]
    if missing:
        raise ValueError(f"graph has no field {missing[0]!r}: apply graphkit.transforms.GraphPatches first "
                         "(e.g. as the data set's pre_transform)")
    return graph.derived(("graph_mixer_patch_copies",), lambda: _build(graph))
