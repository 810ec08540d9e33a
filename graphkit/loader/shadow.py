"""shaDow-GNN (Zeng et al., 2021): decouple a GNN's depth from its scope. Each target node gets its own bounded
sub-graph (its "shadow"), a GNN of any depth runs on it, and the target's embedding is read out at the root.

:class:`ShaDowKHopSampler` (PyG's name and arguments) draws, for every root of a batch, ``depth`` hops of at most
``num_neighbors`` incoming neighbours per node, then keeps every edge between the nodes reached (the sub-graph
induced on them; kernels/cpu/subgraph.cpp ``shadow_k_hop``, one generator per root). A batch is a
:class:`~graphkit.Batch` of those sub-graphs: node fields sliced by ``n_id``, edge fields by ``e_id``,
``batch``/``ptr`` as for any batch, ``root_n_id`` ``[B]`` the batch-local index of each root (the root is the first
node of its sub-graph), and ``y`` the roots' labels ``[B]`` when the graph has node labels.

>>> import torch
>>> from graphkit import Graph
>>> ring = torch.arange(6)
>>> g = Graph(edge_index=torch.stack([ring, (ring + 1) % 6]), num_nodes=6, y=ring, kinds={"y": "node"})
>>> batch = next(iter(ShaDowKHopSampler(g, depth=2, num_neighbors=1, batch_size=2, seed=0)))
>>> batch.root_n_id.tolist(), batch.y.tolist(), batch.n_id.tolist()
([0, 3], [0, 1], [0, 5, 4, 1, 0, 5])
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Optional

import torch
from torch import Tensor

from graphkit.batch import Batch
from graphkit.graph import DROP, EDGE, GRAPH, NODE, Graph
from graphkit.loader.neighbor_loader import as_index
from graphkit.loader.sampler import _check_seeds, mix_seed
from graphkit.loader.subgraph import SeededLoader, cpu_csr
from graphkit.ops import _kernels as K
from graphkit.ops import use_backend
from graphkit.ops._checks import check_positive_int

__all__ = ["ShaDowKHopSampler"]


class ShaDowKHopSampler(SeededLoader):
    """Batches of ``batch_size`` roots, each with its bounded ``depth``-hop sub-graph.

    Args:
        data: the full graph (CPU).
        depth: hops of the scope (not the GNN's depth, which is free).
        num_neighbors: incoming neighbours drawn per node per hop (``-1``: all).
        node_idx: the roots: ids, a boolean mask, or ``None`` for every node.
        replace: draw neighbours with replacement.
        batch_size / shuffle / drop_last: as for any loader.
        seed: base seed (epoch ``e`` is a function of ``(seed, e)``, at any thread count); prefetch: batches built
            ahead on a background thread; transform: applied to each batch.
    """

    def __init__(self, data: Graph, depth: int, num_neighbors: int, node_idx: Optional[Tensor] = None,
                 replace: bool = False, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 seed: Optional[int] = None, prefetch: int = 1, backend: Optional[str] = None,
                 transform: Optional[Callable[[Graph], Graph]] = None) -> None:
        super().__init__(seed, prefetch, transform)
        self.data = data
        self.csr = cpu_csr(data)
        self.depth = check_positive_int("depth", depth, 0)
        if isinstance(num_neighbors, bool) or not isinstance(num_neighbors, int) or (
                num_neighbors < 1 and num_neighbors != -1):
            raise ValueError(f"num_neighbors must be an int >= 1 or -1 (all), got {num_neighbors!r}")
        self.num_neighbors, self.replace = num_neighbors, bool(replace)
        self.node_idx = as_index(node_idx, data.num_nodes, "node_idx")
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.shuffle, self.drop_last, self.backend = bool(shuffle), bool(drop_last), backend

    def __len__(self) -> int:
        n = self.node_idx.numel()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _batches(self, epoch_seed: int) -> Iterator[Batch]:
        n = self.node_idx.numel()
        gen = torch.Generator().manual_seed(epoch_seed)
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        for b in range(len(self)):
            yield self.sample(self.node_idx[order[b * self.batch_size:(b + 1) * self.batch_size]],
                              mix_seed(epoch_seed, b))

    def sample(self, roots: Tensor, seed: int = 0) -> Batch:
        """The batch of sub-graphs around ``roots`` (global ids; repeats allowed, each gets its own scope)."""
        roots = _check_seeds(roots, self.data.num_nodes)
        rowptr, col, perm = self.csr
        with use_backend(self.backend) if self.backend is not None else contextlib.nullcontext():
            node_ptr, n_id, edge_ptr, edge_index, e_id = K.shadow_k_hop(
                rowptr, col, perm, roots, self.depth, self.num_neighbors, self.replace, seed)
        sizes = node_ptr[1:] - node_ptr[:-1]
        batch = torch.repeat_interleave(torch.arange(roots.numel()), sizes)
        # local ids inside each sub-graph -> ids inside the batch; edges stay grouped by target, so the CSR is known
        edge_index = edge_index + torch.repeat_interleave(node_ptr[:-1], edge_ptr[1:] - edge_ptr[:-1])
        rowptr_sub = torch.zeros(n_id.numel() + 1, dtype=torch.long)
        torch.cumsum(torch.bincount(edge_index[1], minlength=n_id.numel()), 0, out=rowptr_sub[1:])
        csr = (rowptr_sub, edge_index[0], torch.arange(e_id.numel()))
        g = self.data.select(n_id, e_id, num_nodes=n_id.numel(), edge_index=edge_index, csr=csr,
                             graph=lambda name, value: DROP, skip=("y",))
        g.set("n_id", n_id, NODE)
        g.set("e_id", e_id, EDGE)
        g.set("root_n_id", node_ptr[:-1].clone(), GRAPH)
        y = self.data.y
        if y is not None and y.dim() >= 1 and y.size(0) == self.data.num_nodes:
            g.set("y", y[roots], GRAPH)
        return Batch.from_parts(g, node_ptr, edge_ptr, batch=batch)

    def __repr__(self) -> str:
        return (f"ShaDowKHopSampler(depth={self.depth}, num_neighbors={self.num_neighbors}, "
                f"batch_size={self.batch_size})")
