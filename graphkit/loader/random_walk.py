"""Random walks, uniform or node2vec-biased, in C++ on CPU threads (kernels/cpu/random_walk.cpp).

``random_walk(row, col, start, walk_length, p, q)`` has torch-cluster's signature (PyG's ``random_walk``): walk
``i`` starts at ``start[i]`` and follows edges ``row -> col`` for ``walk_length`` steps; the result is
``[len(start), walk_length + 1]``. ``p == q == 1`` is the uniform walk (DeepWalk); otherwise node2vec's
second-order walk (Grover & Leskovec, 2016): returning to the previous node has weight ``1/p``, a node next to the
previous one ``1``, any other ``1/q``, drawn by rejection. A walk at a node without out-edges stays there.
Walk ``i`` draws from its own generator seeded from ``(seed, i)``: the output is the same at any thread count.

:class:`WalkGraph` holds the walk's CSR (rows sorted, as the node2vec test needs) so that repeated calls on one
graph sort its edges once; ``Node2Vec`` keeps one.

>>> import torch
>>> row, col = torch.tensor([0, 1, 1, 2]), torch.tensor([1, 0, 2, 1])
>>> walks = random_walk(row, col, torch.tensor([0, 2]), walk_length=3, seed=0)
>>> walks.shape, walks[:, 0].tolist()
(torch.Size([2, 4]), [0, 2])
"""
from __future__ import annotations

import contextlib
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from graphkit.loader.sampler import _check_seeds
from graphkit.ops import _kernels as K
from graphkit.ops import use_backend
from graphkit.ops._checks import check_positive_int

__all__ = ["WalkGraph", "random_walk"]


def _check_walk_args(walk_length: int, p: float, q: float) -> None:
    check_positive_int("walk_length", walk_length, 0)
    for name, v in (("p", p), ("q", q)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < float(v) < float("inf")):
            raise ValueError(f"{name} must be a positive finite number, got {v!r}")


class WalkGraph:
    """The CSR a walk follows: ``rowptr [N+1]``, ``col [E]`` sorted inside each row, ``perm [E]`` edge ids.

    Args:
        row, col: the edges ``row[e] -> col[e]`` (int tensors of equal length, CPU).
        num_nodes: ``N``; default ``max(row.max(), col.max()) + 1``.
    """

    def __init__(self, row: Tensor, col: Tensor, num_nodes: Optional[int] = None) -> None:
        for name, t in (("row", row), ("col", col)):
            if not isinstance(t, Tensor) or t.is_floating_point() or t.dtype == torch.bool or t.dim() != 1:
                raise TypeError(f"{name} must be a 1-D integer tensor, got "
                                f"{getattr(t, 'dtype', type(t).__name__)} of shape {list(getattr(t, 'shape', []))}")
            if t.device.type != "cpu":
                raise ValueError(f"random walks run on the CPU but {name} is on {t.device}")
        if row.numel() != col.numel():
            raise ValueError(f"row has {row.numel()} entries but col has {col.numel()}")
        row, col = row.long(), col.long()
        inferred = int(max(int(row.max()), int(col.max()))) + 1 if row.numel() else 0
        n = inferred if num_nodes is None else num_nodes
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"num_nodes must be an int >= 0, got {num_nodes!r}")
        for name, t in (("row", row), ("col", col)):
            if t.numel() and (int(t.min()) < 0 or int(t.max()) >= n):
                bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
                raise ValueError(f"{name}[{int((t == bad).nonzero()[0])}] is {bad} but num_nodes is {n}")
        # one sort by (row, col): rows grouped, each row's columns ascending (node2vec's neighbour test)
        self.perm = torch.sort(row * max(n, 1) + col, stable=True).indices
        self.col = col[self.perm]
        self.rowptr = torch.zeros(n + 1, dtype=torch.long)
        torch.cumsum(torch.bincount(row, minlength=n), 0, out=self.rowptr[1:])
        self.num_nodes = n

    def walk(self, start: Tensor, walk_length: int, p: float = 1.0, q: float = 1.0, seed: int = 0,
             backend: Optional[str] = None) -> Tuple[Tensor, Tensor]:
        """``(nodes [B, walk_length + 1], edge ids [B, walk_length])``; an edge id is ``-1`` where the walk stayed."""
        _check_walk_args(walk_length, p, q)
        start = _check_seeds(start, self.num_nodes)
        with use_backend(backend) if backend is not None else contextlib.nullcontext():
            nodes, pos = K.random_walk(self.rowptr, self.col, start, walk_length, float(p), float(q), int(seed))
        edges = torch.where(pos >= 0, self.perm[pos.clamp(min=0)] if self.perm.numel() else pos, pos)
        return nodes, edges


def random_walk(row: Tensor, col: Tensor, start: Tensor, walk_length: int, p: float = 1.0, q: float = 1.0,
                coalesced: bool = True, num_nodes: Optional[int] = None, return_edge_indices: bool = False,
                seed: int = 0) -> Union[Tensor, Tuple[Tensor, Tensor]]:
    """Walks from ``start`` along ``row -> col`` (torch-cluster's ``random_walk``; see the module docstring).

    ``coalesced`` is accepted for torch-cluster's signature; the edges are always sorted here. Returns the node
    sequences ``[B, walk_length + 1]``, and with ``return_edge_indices`` also the edge ids ``[B, walk_length]``
    (``-1`` where a walk stayed at a node without out-edges).
    """
    nodes, edges = WalkGraph(row, col, num_nodes).walk(start, walk_length, p, q, seed)
    return (nodes, edges) if return_edge_indices else nodes
