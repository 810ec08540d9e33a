r"""The (normalised) sheaf Laplacian, applied as block message passing over the ``N d`` stalk space.

For an undirected graph with restriction maps :math:`\mathcal{F}_{v \trianglelefteq e} \in \mathbb{R}^{d\times d}`
and edge weights :math:`w_e \ge 0` (all ones unless learned), the sheaf Laplacian is
:math:`L_\mathcal{F} = \delta^\top W \delta` with the coboundary :math:`(\delta x)_e = \mathcal{F}_{v
\trianglelefteq e} x_v - \mathcal{F}_{u \trianglelefteq e} x_u`. Its blocks are

.. math::
    L_{vv} = D_v = \sum_{e \ni v} w_e \mathcal{F}_{v \trianglelefteq e}^\top \mathcal{F}_{v \trianglelefteq e},
    \qquad
    L_{vu} = -w_e\, \mathcal{F}_{v \trianglelefteq e}^\top \mathcal{F}_{u \trianglelefteq e},

and the normalised Laplacian is :math:`\Delta_\mathcal{F} = D^{-1/2} L_\mathcal{F} D^{-1/2}` (a pseudo-inverse root
where a block :math:`D_v` is singular, e.g. an isolated node). Both are symmetric positive semi-definite. For
:math:`d = 1` and identity maps :math:`\Delta_\mathcal{F} = I - D^{-1/2} A D^{-1/2}`, the normalised graph Laplacian.

``edge_index`` must hold both directions of every edge (it is an undirected graph); self-loops carry no sheaf
information (:math:`\delta x_e = 0`) and are dropped. Maps come per *directed* edge :math:`k = (s \to t)`:
``maps[k]`` is :math:`\mathcal{F}_{t \trianglelefteq e}` (the target side) and ``maps[rev[k]]`` the source side.

Shapes:
    - ``maps``: ``(|E|, d)`` (diagonal) or ``(|E|, d, d)``; ``edge_weight``: ``(|E|,)``
    - ``x``: ``(|V|, d, F)``; output of :meth:`SheafLaplacian.apply`: ``(|V|, d, F)``
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.nn.sheaf._block import block_graph, block_spmm
from graphkit.ops import scatter
from graphkit.ops.adjacency import check_bounds

__all__ = ["SheafStructure", "sheaf_structure", "sheaf_laplacian_blocks", "SheafLaplacian", "sym_inv_sqrt"]


class SheafStructure(NamedTuple):
    """What a sheaf Laplacian needs from the graph, built once per graph.

    ``edge_index`` is the input without self-loops, ``rev[k]`` the id of edge ``k``'s reverse, ``num_nodes`` the
    node count; the two block graphs (diagonal and full blocks) are built lazily by :class:`SheafLaplacian`.
    """

    edge_index: Tensor
    rev: Tensor
    num_nodes: int


def sheaf_structure(edge_index: Tensor, num_nodes: int) -> SheafStructure:
    """Drop self-loops, pair every edge with its reverse and check that the graph is undirected."""
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {list(edge_index.shape)}")
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    src, dst = edge_index[0], edge_index[1]
    check_bounds("edge_index", edge_index, num_nodes)
    fwd, bwd = src * num_nodes + dst, dst * num_nodes + src
    # Matching sorted keys pairs edge k with the j whose (src, dst) is k's (dst, src); stable sorts pair
    # duplicate edges in order, so multigraphs work too.
    p_fwd = torch.sort(fwd, stable=True).indices
    p_bwd = torch.sort(bwd, stable=True).indices
    bad = fwd[p_fwd] != bwd[p_bwd]
    if bool(bad.any()):
        k = int(p_bwd[bad.nonzero()[0, 0]])
        raise ValueError(
            f"edge_index must be undirected: edge {k} ({int(src[k])} -> {int(dst[k])}) has no reverse edge "
            f"({int(dst[k])} -> {int(src[k])}) with matching multiplicity"
        )
    rev = torch.empty_like(p_fwd)
    rev[p_bwd] = p_fwd
    return SheafStructure(edge_index, rev, num_nodes)


def sym_inv_sqrt(mat: Tensor, eps: float = 1e-10) -> Tensor:
    """``mat^{-1/2}`` of symmetric PSD ``[..., d, d]`` matrices, inverting only eigenvalues above ``eps``."""
    evals, evecs = torch.linalg.eigh(mat)
    keep = evals > eps
    inv = torch.where(keep, evals.clamp(min=eps).rsqrt(), torch.zeros_like(evals))
    return (evecs * inv.unsqueeze(-2)) @ evecs.transpose(-1, -2)


def _pinv_rsqrt(t: Tensor, eps: float = 1e-10) -> Tensor:
    return torch.where(t > eps, t.clamp(min=eps).rsqrt(), torch.zeros_like(t))


def sheaf_laplacian_blocks(
    structure: SheafStructure,
    maps: Tensor,
    edge_weight: Optional[Tensor] = None,
    normalised: bool = True,
    orthogonal: bool = False,
) -> Tuple[Tensor, Tensor]:
    """Off-diagonal blocks ``[E, ...]`` (row = target, column = source) and diagonal blocks ``[N, ...]``.

    ``orthogonal=True`` promises :math:`\\mathcal{F}^\\top\\mathcal{F} = I`, so :math:`D_v` is a scalar times
    :math:`I` and no eigendecomposition is needed.
    """
    ei, rev, n = structure
    num_edges = ei.size(1)
    diagonal = maps.dim() == 2
    if maps.size(0) != num_edges or maps.dim() not in (2, 3) or (not diagonal and maps.size(1) != maps.size(2)):
        raise ValueError(
            f"maps must have shape [E, d] or [E, d, d] with E = {num_edges} (self-loops removed), "
            f"got {list(maps.shape)}"
        )
    if edge_weight is not None and edge_weight.shape != (num_edges,):
        raise ValueError(f"edge_weight must have shape [{num_edges}], got {list(edge_weight.shape)}")
    d = maps.size(1)
    dst, src = ei[1], ei[0]
    w = edge_weight if edge_weight is not None else maps.new_ones(num_edges)
    other = maps[rev]  # F_{s <| e}: the map computed for the reverse edge
    if diagonal:
        off = -(w.unsqueeze(1) * maps * other)
        deg = scatter(w.unsqueeze(1) * maps * maps, dst, dim_size=n)
        if not normalised:
            return off, deg
        r = _pinv_rsqrt(deg)
        return r[dst] * off * r[src], r * deg * r
    off = -w.view(-1, 1, 1) * (maps.transpose(1, 2) @ other)
    if orthogonal:
        wdeg = scatter(w, dst, dim_size=n)
        eye = torch.eye(d, dtype=maps.dtype, device=maps.device)
        if not normalised:
            return off, wdeg.view(-1, 1, 1) * eye
        r = _pinv_rsqrt(wdeg)
        return (r[dst] * r[src]).view(-1, 1, 1) * off, (r * r * wdeg).view(-1, 1, 1) * eye
    gram = w.view(-1, 1, 1) * (maps.transpose(1, 2) @ maps)
    deg = scatter(gram.reshape(num_edges, d * d), dst, dim_size=n).view(n, d, d)
    if not normalised:
        return off, deg
    r = sym_inv_sqrt(deg)
    return r[dst] @ off @ r[src], r @ deg @ r


class SheafLaplacian:
    """A sheaf Laplacian on one graph: builds the structure once, then applies any maps to stalk features.

    >>> ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    >>> lap = SheafLaplacian(ei, num_nodes=3, d=2)
    >>> maps = torch.ones(lap.num_edges, 2)  # identity diagonal maps: two copies of the graph Laplacian
    >>> lap.apply(torch.ones(3, 2, 1), maps, normalised=False).abs().max().item()  # constants: global sections
    0.0
    """

    def __init__(self, edge_index: Tensor, num_nodes: int, d: int) -> None:
        self.structure = sheaf_structure(edge_index, num_nodes)
        self.d = d
        self._graphs: dict = {}

    @property
    def edge_index(self) -> Tensor:
        return self.structure.edge_index

    @property
    def rev(self) -> Tensor:
        return self.structure.rev

    @property
    def num_edges(self) -> int:
        return self.structure.edge_index.size(1)

    def block_structure(self, diagonal: bool) -> Graph:
        """The scalar graph on the ``N d`` stalk coordinates whose edge weights are the blocks of
        :meth:`blocks` (off-diagonal, then diagonal; see :func:`~graphkit.nn.sheaf._block.block_graph`)."""
        if diagonal not in self._graphs:
            ei, _, n = self.structure
            nodes = torch.arange(n, device=ei.device)
            rows, cols = torch.cat([ei[1], nodes]), torch.cat([ei[0], nodes])
            self._graphs[diagonal] = block_graph(rows, cols, n, self.d, diagonal)
        return self._graphs[diagonal]

    def blocks(self, maps: Tensor, edge_weight: Optional[Tensor] = None, normalised: bool = True,
               orthogonal: bool = False) -> Tuple[Tensor, Tensor]:
        return sheaf_laplacian_blocks(self.structure, maps, edge_weight, normalised, orthogonal)

    def apply(self, x: Tensor, maps: Tensor, edge_weight: Optional[Tensor] = None, normalised: bool = True,
              orthogonal: bool = False) -> Tensor:
        """``L x`` for stalk features ``x`` ``[N, d, F]``."""
        if x.dim() != 3 or x.size(0) != self.structure.num_nodes or x.size(1) != self.d:
            raise ValueError(f"x must have shape [{self.structure.num_nodes}, {self.d}, F], got {list(x.shape)}")
        off, diag = self.blocks(maps, edge_weight, normalised, orthogonal)
        return block_spmm(self.block_structure(maps.dim() == 2), torch.cat([off, diag]), x)

    def dense(self, maps: Tensor, edge_weight: Optional[Tensor] = None, normalised: bool = True,
              orthogonal: bool = False) -> Tensor:
        """The ``[N d, N d]`` matrix (for inspection and tests; quadratic memory)."""
        n, d = self.structure.num_nodes, self.d
        eye = torch.eye(n * d, dtype=maps.dtype, device=maps.device).view(n * d, n, d).permute(1, 2, 0)
        return self.apply(eye, maps, edge_weight, normalised, orthogonal).reshape(n * d, n * d)
