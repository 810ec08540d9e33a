r"""GraphSAINT (Zeng et al., 2020): mini-batches that are whole sub-graphs, with the bias of the sampler removed.

Each batch is the sub-graph induced on a random node set (kernels/cpu/subgraph.cpp, ``saint_sample`` then
``induced_subgraph``), drawn by one of three samplers with PyG's names and arguments:

* :class:`GraphSAINTNodeSampler`: ``batch_size`` draws of a node with probability proportional to its degree;
* :class:`GraphSAINTEdgeSampler`: ``batch_size`` edges with probability :math:`\propto 1/d_u + 1/d_v`, both ends;
* :class:`GraphSAINTRandomWalkSampler`: ``batch_size`` uniform roots, each walking ``walk_length`` steps.

Normalisation (the paper's Section 3.2), estimated by pre-sampling until the sampled node count reaches
``sample_coverage * N``: with :math:`C_v` the number of sub-graphs holding node :math:`v`, :math:`C_{u,v}` those
holding edge :math:`u \to v`, and :math:`M` the number of sub-graphs drawn,

.. math:: \mathrm{edge\_norm}_{u \to v} = C_v / C_{u,v} \qquad \mathrm{node\_norm}_v = M / (C_v\, N)

``edge_norm`` (the aggregator normalisation :math:`1/\alpha_{u,v}`) multiplies the weight of each edge into the
aggregating node :math:`v`; ``node_norm`` (the loss normalisation :math:`1/\lambda_v`) weighs each node's loss
(``(loss * batch.node_norm).sum()``), so both estimates are unbiased for the full graph's. Entries never
sampled get ``0.1``, as in PyG. (PyG indexes ``C`` by the edge's source; for an undirected graph the two agree
after summation over both directions, and the paper's definition is the aggregating node's.) With
``sample_coverage=0`` no norms are computed and the batches carry none.

>>> import torch
>>> from graphkit import Graph
>>> ring = torch.arange(10)
>>> g = Graph(edge_index=torch.cat([torch.stack([ring, (ring + 1) % 10]), torch.stack([(ring + 1) % 10, ring])], 1),
...           num_nodes=10, x=torch.randn(10, 3))
>>> loader = GraphSAINTRandomWalkSampler(g, batch_size=2, walk_length=3, num_steps=4, sample_coverage=5, seed=0)
>>> batch = next(iter(loader))
>>> sorted(batch.keys()) == sorted(["x", "n_id", "e_id", "node_norm", "edge_norm"])
True
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Optional, Tuple

import torch
from torch import Tensor

from graphkit.graph import EDGE, NODE, Graph
from graphkit.loader.sampler import mix_seed
from graphkit.loader.subgraph import SeededLoader, cpu_csr, induced_subgraph
from graphkit.ops import _kernels as K
from graphkit.ops import use_backend
from graphkit.ops._checks import check_positive_int

__all__ = ["GraphSAINTSampler", "GraphSAINTNodeSampler", "GraphSAINTEdgeSampler", "GraphSAINTRandomWalkSampler"]

# Pre-sampling draws from its own seed stream, apart from the epochs' (mix_seed(base, epoch)).
_NORM_STREAM = 1 << 40
# Weight of a node or edge the pre-sampling never drew (PyG's choice).
_UNSEEN = 0.1


class GraphSAINTSampler(SeededLoader):
    """The epoch loop and the normalisation shared by the three samplers (use one of the subclasses).

    Args:
        data: the full graph (CPU).
        batch_size: draws per sub-graph (nodes, edges or walk roots, by sampler).
        num_steps: sub-graphs per epoch.
        sample_coverage: how many times, on average, pre-sampling should draw each node before ``node_norm`` and
            ``edge_norm`` are estimated; ``0`` skips it.
        seed: base seed: epoch ``e`` and the norms are functions of ``(seed, e)`` only, at any thread count.
        prefetch: sub-graphs built ahead on a background thread (``0``: in the caller's thread).
        backend: ``None`` follows ``graphkit.ops.backend()``; ``"torch"`` forces the pure-torch twins.
        transform: applied to each sub-graph.
    """

    kind = ""

    def __init__(self, data: Graph, batch_size: int, num_steps: int = 1, sample_coverage: int = 0,
                 seed: Optional[int] = None, prefetch: int = 1, walk_length: int = 0,
                 backend: Optional[str] = None, transform: Optional[Callable[[Graph], Graph]] = None) -> None:
        super().__init__(seed, prefetch, transform)
        self.data = data
        self.csr = cpu_csr(data)
        if data.num_edges == 0 and self.kind != "rw":
            raise ValueError(f"{type(self).__name__} draws edges but the graph has none")
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.num_steps = check_positive_int("num_steps", num_steps)
        if isinstance(sample_coverage, bool) or not isinstance(sample_coverage, (int, float)) or sample_coverage < 0:
            raise ValueError(f"sample_coverage must be a number >= 0, got {sample_coverage!r}")
        self.sample_coverage = sample_coverage
        self.walk_length = walk_length
        self.backend = backend
        self.edge_cdf = self._edge_cdf() if self.kind == "edge" else None
        self.node_norm: Optional[Tensor] = None
        self.edge_norm: Optional[Tensor] = None
        if sample_coverage > 0:
            base = seed if seed is not None else int(torch.randint(0, 2**62, ()))
            self.node_norm, self.edge_norm = self._compute_norm(base)

    def _edge_cdf(self) -> Tensor:
        """Cumulative 1/deg(target) + 1/deg(source) over the CSR's positions (in-degrees; at least 1)."""
        rowptr, col, _ = self.csr
        deg = (rowptr[1:] - rowptr[:-1]).clamp(min=1).double()
        target = torch.repeat_interleave(torch.arange(deg.numel()), rowptr[1:] - rowptr[:-1])
        return torch.cumsum(1.0 / deg[target] + 1.0 / deg[col], 0)

    def __len__(self) -> int:
        return self.num_steps

    def sample_nodes(self, seed: int) -> Tensor:
        """The sorted node set of one sub-graph."""
        rowptr, col, _ = self.csr
        with use_backend(self.backend) if self.backend is not None else contextlib.nullcontext():
            return K.saint_sample(rowptr, col, self.edge_cdf, self.kind, self.batch_size, self.walk_length, seed)

    def sample(self, seed: int) -> Graph:
        """One sub-graph (with ``node_norm`` / ``edge_norm`` when they were estimated)."""
        sub = induced_subgraph(self.data, self.sample_nodes(seed), self.backend)
        if self.node_norm is not None and self.edge_norm is not None:
            sub.set("node_norm", self.node_norm[sub.n_id], NODE)
            sub.set("edge_norm", self.edge_norm[sub.e_id], EDGE)
        return sub

    def _compute_norm(self, base: int) -> Tuple[Tensor, Tensor]:
        n, e = self.data.num_nodes, self.data.num_edges
        node_count = torch.zeros(n, dtype=torch.float64)
        edge_count = torch.zeros(e, dtype=torch.float64)
        rowptr, col, perm = self.csr
        num_samples, total = 0, 0
        while total < n * self.sample_coverage:
            nodes = self.sample_nodes(mix_seed(base, _NORM_STREAM, num_samples))
            with use_backend(self.backend) if self.backend is not None else contextlib.nullcontext():
                _, _, e_id = K.induced_subgraph(rowptr, col, perm, nodes)
            node_count[nodes] += 1
            edge_count[e_id] += 1
            total += nodes.numel()
            num_samples += 1
        target = self.data.edge_index[1]
        edge_norm = node_count[target] / edge_count
        node_norm = num_samples / node_count / n
        edge_norm[~torch.isfinite(edge_norm)] = _UNSEEN
        node_norm[~torch.isfinite(node_norm)] = _UNSEEN
        self.num_norm_samples = num_samples
        return node_norm.float(), edge_norm.float()

    def _batches(self, epoch_seed: int) -> Iterator[Graph]:
        for step in range(self.num_steps):
            yield self.sample(mix_seed(epoch_seed, step))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch_size={self.batch_size}, num_steps={self.num_steps})"


class _DrawSampler(GraphSAINTSampler):
    """The node and edge samplers: ``batch_size`` independent draws, no walk."""

    def __init__(self, data: Graph, batch_size: int, num_steps: int = 1, sample_coverage: int = 0,
                 seed: Optional[int] = None, prefetch: int = 1, backend: Optional[str] = None,
                 transform: Optional[Callable[[Graph], Graph]] = None) -> None:
        super().__init__(data, batch_size, num_steps, sample_coverage, seed, prefetch, 0, backend, transform)


class GraphSAINTNodeSampler(_DrawSampler):
    """Sub-graphs on ``batch_size`` degree-weighted node draws (PyG's ``GraphSAINTNodeSampler``)."""

    kind = "node"


class GraphSAINTEdgeSampler(_DrawSampler):
    """Sub-graphs on the ends of ``batch_size`` edges drawn by ``1/d_u + 1/d_v`` (PyG's ``GraphSAINTEdgeSampler``)."""

    kind = "edge"


class GraphSAINTRandomWalkSampler(GraphSAINTSampler):
    """Sub-graphs on ``batch_size`` uniform walks of ``walk_length`` steps (PyG's ``GraphSAINTRandomWalkSampler``).

    The walks follow the incoming CSR (from a node to the sources of its edges: the nodes whose messages reach
    it); on an undirected graph that is the ordinary walk.
    """

    kind = "rw"

    def __init__(self, data: Graph, batch_size: int, walk_length: int, num_steps: int = 1,
                 sample_coverage: int = 0, seed: Optional[int] = None, prefetch: int = 1,
                 backend: Optional[str] = None, transform: Optional[Callable[[Graph], Graph]] = None) -> None:
        check_positive_int("walk_length", walk_length, 0)
        super().__init__(data, batch_size, num_steps, sample_coverage, seed, prefetch, walk_length, backend,
                         transform)
