"""Cluster-GCN (Chiang et al., 2019): METIS clusters of the graph, several joined per mini-batch.

:class:`ClusterData` partitions the nodes once (``partition_graph``: METIS through pymetis or torch-sparse) and
orders them cluster by cluster (``perm``, ``partptr``). :class:`ClusterLoader` draws ``batch_size`` clusters per
batch and returns the sub-graph induced on their union: the edges inside each cluster and the edges between the
clusters of the batch are kept (Cluster-GCN's stochastic multiple partitions, PyG's ``ClusterLoader``); edges to
clusters outside the batch are dropped. Each batch is a ``Graph`` (nodes cluster by cluster, ``n_id`` the global
ids, ``e_id`` the global edge ids) with its CSR filled in.

>>> import torch
>>> from graphkit import Graph
>>> ring = torch.arange(8)
>>> g = Graph(edge_index=torch.stack([ring, (ring + 1) % 8]), num_nodes=8)
>>> data = ClusterData(g, num_parts=4, method="range")
>>> data.partptr.tolist()
[0, 2, 4, 6, 8]
>>> [b.num_nodes for b in ClusterLoader(data, batch_size=2)]
[4, 4]
"""
from __future__ import annotations

from typing import Callable, Iterator, Optional

import torch
from torch import Tensor

from graphkit.graph import Graph
from graphkit.loader.partition import Partition, partition_graph
from graphkit.loader.subgraph import SeededLoader, induced_subgraph
from graphkit.ops._checks import check_positive_int

__all__ = ["ClusterData", "ClusterLoader"]


class ClusterData:
    """The graph's nodes split into ``num_parts`` clusters (PyG's ``ClusterData``).

    Args:
        data: the graph (its edges are treated as undirected for the partitioning).
        num_parts: number of clusters.
        recursive: METIS's recursive bisection instead of k-way (only ``False`` is supported; kept for PyG's
            signature).
        method: ``partition_graph``'s method (``"auto"``, ``"metis"``, ``"torch_sparse"``, ``"range"``).
        seed: METIS's seed.

    Attributes:
        partition: the :class:`Partition`; ``perm`` ``[N]``: node ids ordered cluster by cluster;
        ``partptr`` ``[num_parts + 1]``: cluster ``c`` is ``perm[partptr[c]:partptr[c + 1]]``.
    """

    def __init__(self, data: Graph, num_parts: int, recursive: bool = False, method: str = "auto",
                 seed: int = 0) -> None:
        if not isinstance(data, Graph):
            raise TypeError(f"data must be a graphkit Graph, got {type(data).__name__}")
        check_positive_int("num_parts", num_parts)
        if num_parts > max(data.num_nodes, 1):
            raise ValueError(f"num_parts is {num_parts} but the graph has only {data.num_nodes} nodes")
        if recursive:
            raise ValueError("recursive=True is not supported: ClusterData uses METIS's k-way partitioning")
        self.data = data
        self.num_parts = num_parts
        self.partition: Partition = partition_graph(data, num_parts, method=method, seed=seed)
        self.perm = torch.sort(self.partition.part, stable=True).indices
        self.partptr = torch.zeros(num_parts + 1, dtype=torch.long)
        torch.cumsum(self.partition.sizes(), 0, out=self.partptr[1:])

    def __len__(self) -> int:
        return self.num_parts

    def cluster(self, c: int) -> Tensor:
        """Global node ids of cluster ``c``."""
        return self.perm[int(self.partptr[c]):int(self.partptr[c + 1])]

    def __repr__(self) -> str:
        return f"ClusterData(num_parts={self.num_parts}, num_nodes={self.data.num_nodes})"


class ClusterLoader(SeededLoader):
    """Mini-batches of ``batch_size`` clusters each, joined into one induced sub-graph (PyG's ``ClusterLoader``).

    Args:
        cluster_data: the :class:`ClusterData`.
        batch_size: clusters per batch.
        shuffle: a new draw of clusters into batches every epoch.
        drop_last: drop the last batch when it has fewer clusters.
        seed: base seed of the shuffle (see ``graphkit.loader.subgraph``).
        prefetch: batches built ahead on a background thread (``0``: in the caller's thread).
        transform: applied to each batch ``Graph``.
    """

    def __init__(self, cluster_data: ClusterData, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: Optional[int] = None, prefetch: int = 1,
                 transform: Optional[Callable[[Graph], Graph]] = None) -> None:
        if not isinstance(cluster_data, ClusterData):
            raise TypeError(f"cluster_data must be a ClusterData, got {type(cluster_data).__name__}")
        super().__init__(seed, prefetch, transform)
        self.cluster_data = cluster_data
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)

    def __len__(self) -> int:
        n = self.cluster_data.num_parts
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _batches(self, epoch_seed: int) -> Iterator[Graph]:
        n = self.cluster_data.num_parts
        gen = torch.Generator().manual_seed(epoch_seed)
        order = torch.randperm(n, generator=gen) if self.shuffle else torch.arange(n)
        for b in range(len(self)):
            clusters = torch.sort(order[b * self.batch_size:(b + 1) * self.batch_size]).values
            yield self.subgraph(clusters)

    def subgraph(self, clusters: Tensor) -> Graph:
        """The sub-graph induced on the union of ``clusters`` (unique cluster ids)."""
        data = self.cluster_data
        clusters = torch.as_tensor(clusters, dtype=torch.long).reshape(-1)
        if clusters.numel() and (int(clusters.min()) < 0 or int(clusters.max()) >= data.num_parts):
            bad = int(clusters.min()) if int(clusters.min()) < 0 else int(clusters.max())
            raise ValueError(f"clusters has cluster {bad} but num_parts is {data.num_parts}")
        nodes = torch.cat([data.cluster(int(c)) for c in clusters]) if clusters.numel() else clusters
        return induced_subgraph(data.data, nodes)

    def __repr__(self) -> str:
        return f"ClusterLoader(num_parts={self.cluster_data.num_parts}, batch_size={self.batch_size})"
