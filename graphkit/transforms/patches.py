r"""Graph patches for Graph ViT / MLP-Mixer (He et al., "A Generalization of ViT/MLP-Mixer to Graphs", ICML 2023).

A graph's nodes are split into ``P`` parts by METIS (:func:`graphkit.loader.partition_graph`), and each part
:math:`S_p` is grown by its ``hops``-hop neighbourhood (edges read in both directions):

.. math::
    V_p = S_p \cup \{u : \exists v \in S_p,\ (u, v) \in E \text{ or } (v, u) \in E\} \quad (\text{one hop}),

so neighbouring patches overlap and no edge is lost between them. A patch is then the sub-graph induced by
:math:`V_p` (every edge of the graph with both ends in :math:`V_p`), and each node has one *copy* per patch
holding it. The patches are coarsened into a weighted patch graph
:math:`A^P_{pq} = |V_p \cap V_q|` (the diagonal holds the patch sizes), whose random-walk structural encoding
:math:`(\hat P_{pp}, (\hat P^2)_{pp}, \dots)`, :math:`\hat P = D^{-1} A^P`, is the patch positional encoding.

Graphs with ``num_nodes <= P`` put each node in its own patch; patches that METIS leaves empty (and the surplus
patches of small graphs) have ``patch_mask`` False and no copies. The fields, all batched by the ordinary
:class:`~graphkit.Batch` rules:

=====================  ============  =================  ====================================================
field                  kind          shape              meaning
=====================  ============  =================  ====================================================
``patch_node``         node_index    ``(M,)``           the node of each copy (copies sorted by patch, node)
``patch_id``           graph         ``(M,)``           the patch of each copy, in ``[0, P)``
``patch_edge_index``   node_index    ``(2, E_p)``       each patch edge as (source, target) node ids
``patch_edge_id``      graph         ``(E_p,)``         the patch of each patch edge
``patch_mask``         graph         ``(1, P)``         which patches are non-empty
``patch_adj``          graph         ``(1, P, P)``      :math:`A^P`, overlap counts
``patch_pe``           graph         ``(1, P, K)``      RWSE of :math:`A^P` (only when ``patch_rw_steps > 0``)
=====================  ============  =================  ====================================================

Run it once per graph as a data set's ``pre_transform``; :class:`graphkit.nn.GraphMLPMixer` reads the fields.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.nn.attention.encodings import random_walk_se
from graphkit.ops._checks import check_positive_int
from graphkit.transforms.base import BaseTransform, fields_of, new_graph

__all__ = ["GraphPatches", "patch_membership"]


def _rows(index: Tensor, num_rows: int) -> Tuple[Tensor, Tensor]:
    """``(rowptr [num_rows + 1], order)``: the positions of ``index`` grouped by value (a CSR over ``index``)."""
    order = torch.argsort(index, stable=True)
    rowptr = index.new_zeros(num_rows + 1)
    torch.cumsum(torch.bincount(index, minlength=num_rows), 0, out=rowptr[1:])
    return rowptr, order


def _expand(owner: Tensor, rows: Tensor, rowptr: Tensor, order: Tensor) -> Tuple[Tensor, Tensor]:
    """For every pair ``(owner[i], rows[i])`` and every position ``j`` of row ``rows[i]``: ``(owner[i], order[j])``.

    One vectorised join (no loop over patches or nodes): the pairs repeat by their row's length, and each takes
    its run of the row's entries.
    """
    deg = rowptr[rows + 1] - rowptr[rows]
    total = int(deg.sum())
    run_start = torch.repeat_interleave(torch.cumsum(deg, 0) - deg, deg)
    pos = torch.repeat_interleave(rowptr[rows], deg) + torch.arange(total) - run_start
    return torch.repeat_interleave(owner, deg), order[pos]


def patch_membership(graph: Graph, num_patches: int, hops: int = 1, method: str = "auto", seed: int = 0,
                     drop_rate: float = 0.0, recursive: Optional[bool] = None) -> Tensor:
    """``[P, N]`` bool: node ``v`` is in patch ``p`` (its METIS part or within ``hops`` hops of it).

    With ``drop_rate > 0``, METIS partitions the graph without a random ``drop_rate`` share of its edges (drawn from
    torch's global generator); the growth by ``hops`` always uses every edge. ``recursive``: METIS's algorithm
    (:func:`graphkit.loader.partition_graph`).

    >>> path = Graph(edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]))
    >>> patch_membership(path, 5, hops=1).int().tolist()
    [[1, 1, 0, 0, 0], [1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 0, 1, 1]]
    """
    from graphkit.loader.partition import partition_graph  # here: graphkit.loader imports graphkit.transforms

    n = graph.num_nodes
    if n <= num_patches:
        part = torch.arange(n)  # one node per patch; METIS cannot split a graph into more parts than nodes
    else:
        cut = graph
        if drop_rate > 0 and graph.num_edges:
            ei = graph.edge_index_or_empty()
            cut = Graph(edge_index=ei[:, torch.rand(ei.size(1)) >= drop_rate], num_nodes=n)
        part = partition_graph(cut, num_patches, method=method, seed=seed, recursive=recursive).part
    member = torch.zeros(num_patches, n, dtype=torch.bool)
    member[part, torch.arange(n)] = True
    ei = graph.edge_index_or_empty().cpu()
    if hops and ei.numel():
        both = torch.cat([ei, ei.flip(0)], dim=1)
        rowptr, order = _rows(both[0], n)
        nbr = both[1]
        for _ in range(hops):
            p, v = member.nonzero(as_tuple=True)
            p, pos = _expand(p, v, rowptr, order)
            member[p, nbr[pos]] = True
    return member


class GraphPatches(BaseTransform):
    r"""Precompute Graph ViT / MLP-Mixer patches (see the module docstring for the fields).

    Args:
        num_patches: ``P``, the number of METIS parts (and tokens of the mixer).
        hops: how far each part is grown (the paper's one-hop overlap is ``1``; ``0`` keeps the bare parts).
        patch_rw_steps: ``K``, the length of the patch random-walk encoding (``0``: no ``patch_pe``).
        method: the partitioner of :func:`graphkit.loader.partition_graph` (``"auto"``: METIS via pymetis when
            installed).
        seed: METIS's seed.
        drop_rate: the paper's augmentation: partition without a random share of the edges, with a fresh METIS seed
            per call (both from torch's global generator), so every call gives new patches. Use it as a data set's
            or loader's ``transform`` (applied anew on every access), not as ``pre_transform``.
        recursive: METIS by recursive bisection (``True``, the default, as the paper's code), k-way (``False``), or
            the binding's default (``None``; pymetis: recursive up to 8 patches, k-way above). Two reasons for
            bisection: on small graphs k-way leaves most parts empty (a 41-node CSL graph in 32 parts: 9 non-empty
            patches k-way, 32 by bisection), and bisection numbers the patches so that nearby ids are nearby
            patches, the only order that token mixing (``mixer="mlp"``) can use.

    Shapes:
        a graph with ``N`` nodes -> the same graph plus ``M`` copies and ``E_p`` patch edges
        (``M = sum_p |V_p|``).

    >>> ring = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    >>> g = GraphPatches(num_patches=2, patch_rw_steps=3)(Graph(edge_index=ring))
    >>> g.patch_mask.tolist(), g.patch_adj.shape, g.patch_pe.shape
    ([[True, True]], torch.Size([1, 2, 2]), torch.Size([1, 2, 3]))
    >>> int(g.patch_node.numel()), int(g.patch_adj[0, 0, 1])  # two parts of 3 grown by 2 nodes each; overlap 4
    (10, 4)
    """

    def __init__(self, num_patches: int, hops: int = 1, patch_rw_steps: int = 8, method: str = "auto",
                 seed: int = 0, drop_rate: float = 0.0, recursive: Optional[bool] = True) -> None:
        if not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"drop_rate must be in [0, 1), got {drop_rate!r}")
        for name, value, low in (("num_patches", num_patches, 1), ("hops", hops, 0),
                                 ("patch_rw_steps", patch_rw_steps, 0)):
            check_positive_int(name, value, low)
        if method not in ("auto", "metis", "torch_sparse", "range"):
            raise ValueError(f"method must be 'auto', 'metis', 'torch_sparse' or 'range', got {method!r}")
        self.num_patches, self.hops, self.patch_rw_steps = num_patches, hops, patch_rw_steps
        if recursive is not None and not isinstance(recursive, bool):
            raise ValueError(f"recursive must be None, True or False, got {recursive!r}")
        self.method, self.seed, self.drop_rate, self.recursive = method, seed, drop_rate, recursive

    def forward(self, graph: Graph) -> Graph:
        seed = int(torch.randint(0, 2**31 - 1, ())) if self.drop_rate > 0 else self.seed
        member = patch_membership(graph, self.num_patches, self.hops, self.method, seed, self.drop_rate,
                                  self.recursive)
        p, v = member.nonzero(as_tuple=True)
        ei = graph.edge_index_or_empty().cpu()
        # A patch edge: an edge of the graph whose source and target are both in the patch. Join the copies with
        # the edges leaving their node, keep those whose target is in the same patch.
        rowptr, order = _rows(ei[0], graph.num_nodes)
        ep, e = _expand(p, v, rowptr, order)
        keep = member[ep, ei[1, e]]
        ep, e = ep[keep], e[keep]
        by_patch = torch.argsort(ep * max(ei.size(1), 1) + e)  # patch-major, then edge order
        ep, e = ep[by_patch], e[by_patch]

        dtype = graph.x.dtype if graph.x is not None and graph.x.is_floating_point() else torch.get_default_dtype()
        m = member.to(dtype)
        adj = m @ m.t()
        device = graph.edge_index_or_empty().device
        fields = fields_of(graph)
        fields.update({
            "patch_node": (v.to(device), "node_index"),
            "patch_id": (p.to(device), "graph"),
            "patch_edge_index": (ei[:, e].to(device), "node_index"),
            "patch_edge_id": (ep.to(device), "graph"),
            "patch_mask": (member.any(dim=1).view(1, -1).to(device), "graph"),
            "patch_adj": (adj.unsqueeze(0).to(device), "graph"),
        })
        if self.patch_rw_steps:
            nz = adj.nonzero().t()
            pe = random_walk_se(nz, self.patch_rw_steps, num_nodes=self.num_patches, edge_weight=adj[nz[0], nz[1]],
                                dtype=dtype)
            fields["patch_pe"] = (pe.unsqueeze(0).to(device), "graph")
        return new_graph(graph.num_nodes, graph.edge_index, fields)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_patches={self.num_patches}, hops={self.hops}, "
                f"patch_rw_steps={self.patch_rw_steps}" + (f", drop_rate={self.drop_rate}" if self.drop_rate else "")
                + (f", recursive={self.recursive})" if self.recursive is not True else ")"))
