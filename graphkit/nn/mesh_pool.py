r"""MeshPool (Hanocka et al., "MeshCNN: A Network with an Edge"): learned edge-collapse pooling of mesh edge graphs."""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import List, Optional, Set, Tuple, Union

import numpy as np
import torch
from torch import Tensor

__all__ = ["MeshPool", "MeshPoolHistory", "MeshPoolOutput"]


@dataclass
class MeshPoolHistory:
    """What :class:`graphkit.nn.MeshUnpool` needs to undo one :class:`MeshPool`.

    ``groups [2, M]`` pairs ``(pooled edge, input edge)``: the input edges merged into each pooled edge (an input
    edge can sit in several groups, as in MeshCNN's ``MeshUnion``); ``nbr [E_in, 4]``, ``edge_vertices [E_in, 2]``
    and ``batch [E_in]`` are the input's edge graph, restored by unpooling.
    """

    groups: Tensor
    nbr: Tensor
    edge_vertices: Tensor
    batch: Tensor

    @property
    def num_in(self) -> int:
        return self.nbr.size(0)


@dataclass
class MeshPoolOutput:
    """The pooled edge graph: features ``x [E', F]``, neighbours ``nbr [E', 4]`` (gemm order, batch-global ids),
    ``edge_vertices [E', 2]`` (each mesh's local vertex ids), ``batch [E']`` and the ``history`` for unpooling."""

    x: Tensor
    nbr: Tensor
    edge_vertices: Tensor
    batch: Tensor
    history: MeshPoolHistory


def _other(side: int) -> int:
    """The other slot of the same face: 0 <-> 1, 2 <-> 3."""
    return side + 1 - 2 * (side % 2)


class _Collapser:
    """MeshCNN's edge collapse on one closed-or-bounded mesh edge graph, in local edge ids.

    State: ``gemm[e]`` the four neighbours (``-1`` missing), ``sides[e][s]`` the slot of ``e`` in
    ``gemm[gemm[e][s]]``, ``verts[e]`` the two vertices, ``ve[v]`` the live edges at vertex ``v``, ``groups[e]`` the
    input edges merged into ``e``.
    """

    def __init__(self, nbr: np.ndarray, verts: np.ndarray) -> None:
        n = len(nbr)
        self.gemm: List[List[int]] = nbr.tolist()
        # sides[e][s]: the slot where neighbour k = gemm[e][s] lists e (first match)
        back = (nbr[np.maximum(nbr, 0)] == np.arange(n)[:, None, None]) & (nbr >= 0)[:, :, None]
        found = back.any(2)
        if (found != (nbr >= 0)).any():
            e, s = np.argwhere(found != (nbr >= 0))[0].tolist()
            raise ValueError(f"mesh edge graph is not symmetric: {nbr[e, s]} is a neighbour of {e} but not back")
        self.sides: List[List[int]] = np.where(found, back.argmax(2), -1).tolist()
        self.verts: List[List[int]] = verts.tolist()
        self.ve: dict = {}
        for e, (a, b) in enumerate(self.verts):
            self.ve.setdefault(a, set()).add(e)
            self.ve.setdefault(b, set()).add(e)
        self.alive = [True] * n
        self.groups: List[Set[int]] = [{e} for e in range(n)]
        self.count = n
        self.target = n

    # --- the operations -------------------------------------------------------------------------------------
    def collapse(self, order: List[Tuple[float, int]], target: int) -> None:
        """Pop edges by ascending key and collapse each one that is valid, until ``target`` edges are left."""
        self.target = target
        heapq.heapify(order)
        while self.count > target and order:
            _, e = heapq.heappop(order)
            if self.alive[e]:
                self._pool_edge(e)

    def _redirect(self, a: int, side_a: int, b: int, side_b: int) -> None:
        self.gemm[a][side_a], self.gemm[b][side_b] = b, a
        self.sides[a][side_a], self.sides[b][side_b] = side_b, side_a

    def _union(self, source: int, target: int) -> None:
        self.groups[target] |= self.groups[source]  # every edge owns its set: no aliasing

    def _kill(self, e: int) -> None:
        self.alive[e] = False
        for v in self.verts[e]:
            self.ve[v].discard(e)
        self.count -= 1

    def _has_boundary(self, e: int) -> bool:
        """MeshCNN skips an edge on, or next to, a boundary."""
        return any(k < 0 or min(self.gemm[k]) < 0 for k in self.gemm[e])

    def _ring(self, v: int) -> Set[int]:
        return {u for k in self.ve[v] for u in self.verts[k]}

    def _one_ring_valid(self, e: int) -> bool:
        """The link condition: the endpoints share exactly the two opposite vertices as neighbours."""
        a, b = self.verts[e]
        return len((self._ring(a) & self._ring(b)) - {a, b}) == 2

    def _face(self, e: int, side: int) -> Tuple[int, int, int, int, int, int, List[int], List[int]]:
        key_a, key_b = self.gemm[e][side], self.gemm[e][side + 1]
        side_a, side_b = self.sides[e][side], self.sides[e][side + 1]
        other_a, other_b = (side_a - side_a % 2 + 2) % 4, (side_b - side_b % 2 + 2) % 4
        keys_a = [self.gemm[key_a][other_a], self.gemm[key_a][other_a + 1]]
        keys_b = [self.gemm[key_b][other_b], self.gemm[key_b][other_b + 1]]
        return key_a, key_b, side_a, side_b, other_a, other_b, keys_a, keys_b

    def _valence3(self, e: int, side: int) -> List[int]:
        """If the vertex opposite ``e`` on face ``side`` has valence 3, fold its three faces into one face
        ``(e, a', b')`` (rewiring the gemm) and return its three edges to delete; else ``[]``."""
        key_a, key_b, _, _, other_a, other_b, keys_a, keys_b = self._face(e, side)
        shared = [(i, j) for i in range(2) for j in range(2) if keys_a[i] == keys_b[j]]
        if not shared:
            return []
        i, j = shared[0]
        middle, up_a, up_b = keys_a[i], keys_a[1 - i], keys_b[1 - j]
        side_up_a, side_up_b = self.sides[key_a][other_a + 1 - i], self.sides[key_b][other_b + 1 - j]
        self._redirect(e, side, up_a, side_up_a)
        self._redirect(e, side + 1, up_b, side_up_b)
        self._redirect(up_a, _other(side_up_a), up_b, _other(side_up_b))
        for source, target in ((key_a, e), (key_b, e), (key_a, up_a), (middle, up_a), (key_b, up_b), (middle, up_b)):
            self._union(source, target)
        return [key_a, key_b, middle]

    def _clean_side(self, e: int, side: int) -> bool:
        if self.count <= self.target:
            return False
        doomed = self._valence3(e, side)
        while doomed and self.count > self.target:
            for k in doomed:
                self._kill(k)
            if self.count <= self.target or self._has_boundary(e):
                return False
            doomed = self._valence3(e, side)
        return True

    def _pool_side(self, e: int, side: int) -> None:
        """Collapse face ``(e, a, b)``: ``a`` takes over ``b``'s other face, and ``b`` goes."""
        key_a, key_b, side_a, _, _, other_b, _, keys_b = self._face(e, side)
        base = side_a - side_a % 2
        self._redirect(key_a, base, keys_b[0], self.sides[key_b][other_b])
        self._redirect(key_a, base + 1, keys_b[1], self.sides[key_b][other_b + 1])
        self._union(key_b, key_a)
        self._union(e, key_a)
        self._kill(key_b)

    def _pool_edge(self, e: int) -> None:
        if self._has_boundary(e):
            return
        if not (self._clean_side(e, 0) and self._clean_side(e, 2) and self._one_ring_valid(e)):
            return
        self._pool_side(e, 0)
        self._pool_side(e, 2)
        self._kill(e)
        a, b = self.verts[e]
        for k in self.ve.pop(b):  # merge vertex b into a
            self.verts[k] = [a if u == b else u for u in self.verts[k]]
            self.ve[a].add(k)

    # --- the result -------------------------------------------------------------------------------------------
    def result(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(nbr [E', 4], edge_vertices [E', 2], groups [2, M])`` in compacted local ids (input order kept)."""
        keep = np.flatnonzero(self.alive)
        new = np.full(len(self.alive), -1, dtype=np.int64)
        new[keep] = np.arange(len(keep))
        gemm = np.asarray(self.gemm, dtype=np.int64)[keep]
        nbr = np.where(gemm >= 0, new[np.maximum(gemm, 0)], -1)
        verts = np.asarray(self.verts, dtype=np.int64)[keep]
        rows = [np.full(len(self.groups[e]), i, dtype=np.int64) for i, e in enumerate(keep.tolist())]
        cols = [np.fromiter(sorted(self.groups[e]), dtype=np.int64) for e in keep.tolist()]
        groups = np.stack([np.concatenate(rows), np.concatenate(cols)]) if rows else np.zeros((2, 0), np.int64)
        return nbr, verts, groups


class MeshPool(torch.nn.Module):
    r"""MeshCNN's pooling: collapse the edges whose features are smallest until ``target`` edges are left.

    Edges are visited by ascending squared feature norm :math:`\lVert \mathbf{x}_e \rVert^2`. Collapsing edge
    :math:`e = (u, v)` merges :math:`v` into :math:`u`; each of its two faces :math:`(e, a, b)` disappears and
    its edges :math:`a, b` become one edge :math:`a` that takes over :math:`b`'s neighbours, so every remaining
    edge keeps four neighbours in gemm order (three edges go per collapse). An edge is skipped, as MeshCNN does,
    when it or a neighbour lies on a boundary, or when its endpoints share more than the two opposite vertices
    (the link condition, else the surface pinches). A valence-3 vertex opposite :math:`e` is first removed (its
    three faces become one; three edges go). The pooled features average the input edges merged into each
    remaining edge :math:`g`:

    .. math::
        \mathbf{x}'_g = \frac{1}{|G_g|} \sum_{e \in G_g} \mathbf{x}_e

    where :math:`G_g` grows by union along every merge (MeshCNN's ``MeshUnion``). On a closed mesh
    :math:`E = 3F/2` is a multiple of 3, so the count lands on the largest multiple of 3 at most ``target``;
    it stays higher only if no valid collapse is left. The collapse is a sequential, data-dependent walk: it
    runs per mesh on the CPU (gradients flow through the averaging).

    Args:
        target: edges to keep per mesh: an ``int`` count, or a ``float`` in ``(0, 1)`` as a share of each
            mesh's edges. A mesh already at or below it is left as it is.

    Shapes:
        x ``(E, F)``, nbr ``(E, 4)`` (``-1`` missing), edge_vertices ``(E, 2)`` (per-mesh vertex ids),
        batch ``(E,)`` sorted -> :class:`MeshPoolOutput` with ``x (E', F)``, ``nbr (E', 4)``,
        ``edge_vertices (E', 2)``, ``batch (E',)``.

    >>> from graphkit.data import mesh_edge_graph
    >>> from graphkit.nn import MeshUnpool
    >>> v = torch.tensor([[0., 0, 1], [1, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0], [0, 0, -1]])
    >>> f = torch.tensor([[0, 1, 2], [0, 2, 3], [0, 3, 4], [0, 4, 1], [5, 2, 1], [5, 3, 2], [5, 4, 3], [5, 1, 4]])
    >>> g = mesh_edge_graph(v, f)  # an octahedron: 12 edges, every vertex of valence 4
    >>> out = MeshPool(9)(g.x, g.gemm.t(), g.edge_vertices)
    >>> out.x.shape, out.nbr.shape, out.edge_vertices.unique().numel()  # one collapse: 5 vertices, 9 edges
    (torch.Size([9, 5]), torch.Size([9, 4]), 5)
    >>> MeshUnpool()(out.x, out.history).shape
    torch.Size([12, 5])
    """

    def __init__(self, target: Union[int, float]) -> None:
        super().__init__()
        if isinstance(target, bool) or not isinstance(target, (int, float)):
            raise TypeError(f"target must be an int (edges) or a float share in (0, 1), got {target!r}")
        if isinstance(target, float) and not 0 < target < 1:
            raise ValueError(f"target as a share must lie in (0, 1), got {target}")
        if isinstance(target, int) and target < 1:
            raise ValueError(f"target must be at least 1 edge, got {target}")
        self.target = target

    def _target(self, n: int) -> int:
        return int(self.target * n) if isinstance(self.target, float) else int(self.target)

    def forward(self, x: Tensor, nbr: Tensor, edge_vertices: Tensor, batch: Optional[Tensor] = None) -> MeshPoolOutput:
        n = x.size(0)
        if x.dim() != 2:
            raise ValueError(f"x must be [E, F], got shape {list(x.shape)}")
        if nbr.shape != (n, 4) or nbr.is_floating_point():
            raise ValueError(f"nbr must be an integer [{n}, 4] neighbour index, got {list(nbr.shape)} {nbr.dtype}")
        if edge_vertices.shape != (n, 2):
            raise ValueError(f"edge_vertices must be [{n}, 2], got {list(edge_vertices.shape)}")
        if batch is None:
            batch = torch.zeros(n, dtype=torch.long, device=x.device)
        if batch.shape != (n,):
            raise ValueError(f"batch must be [{n}], got {list(batch.shape)}")
        if n and bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("batch must be sorted: the edges of each mesh contiguous")
        nb = nbr.detach().cpu().long().numpy()
        if n and (nb.min() < -1 or nb.max() >= n):
            raise ValueError(f"nbr must lie in [-1, {n}), got [{int(nb.min())}, {int(nb.max())}]")
        ev = edge_vertices.detach().cpu().long().numpy()
        key = x.detach().pow(2).sum(1).cpu().double().numpy()
        counts = torch.bincount(batch.cpu(), minlength=int(batch.max()) + 1 if n else 0).tolist()
        out_nbr, out_ev, out_batch, out_groups = [], [], [], []
        start = start_out = 0
        for m, size in enumerate(counts):
            end = start + size
            local = nb[start:end]
            if size and (local[local >= 0].min(initial=start) < start or local.max(initial=start) >= end):
                raise ValueError(f"nbr of mesh {m} points outside its own edges [{start}, {end})")
            local = np.where(local >= 0, local - start, -1)
            mesh = _Collapser(local, ev[start:end])
            order = list(zip(key[start:end].tolist(), range(size)))
            mesh.collapse(order, self._target(size))
            p_nbr, p_ev, p_groups = mesh.result()
            out_nbr.append(np.where(p_nbr >= 0, p_nbr + start_out, -1))
            out_ev.append(p_ev)
            out_batch.append(np.full(len(p_nbr), m, dtype=np.int64))
            out_groups.append(p_groups + np.array([[start_out], [start]]))
            start, start_out = end, start_out + len(p_nbr)
        dev = x.device

        def cat(parts: List[np.ndarray], shape: Tuple[int, ...]) -> Tensor:
            arr = np.concatenate(parts) if parts else np.zeros(shape, dtype=np.int64)
            return torch.from_numpy(np.ascontiguousarray(arr)).to(dev)

        groups = cat([g.T for g in out_groups], (0, 2)).t().contiguous()
        new_nbr, new_ev, new_batch = cat(out_nbr, (0, 4)), cat(out_ev, (0, 2)), cat(out_batch, (0,))
        size = torch.zeros(new_nbr.size(0), dtype=x.dtype, device=dev).index_add_(
            0, groups[0], torch.ones(groups.size(1), dtype=x.dtype, device=dev))
        pooled = x.new_zeros(new_nbr.size(0), x.size(1)).index_add_(0, groups[0], x[groups[1]])
        history = MeshPoolHistory(groups, nbr, edge_vertices, batch)
        return MeshPoolOutput(pooled / size.unsqueeze(1), new_nbr, new_ev, new_batch, history)

    def __repr__(self) -> str:
        return f"MeshPool({self.target})"
