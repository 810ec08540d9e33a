"""Scaling past full-batch training: neighbour sampling, zero-copy features, prefetching, partitioning.

* :class:`DataLoader`: mini-batches of whole graphs (a list of ``Graph`` -> ``Batch``), as PyG's.
* :class:`NeighborLoader` / :class:`LinkNeighborLoader`: node and link mini-batches with sampled ``L``-hop
  neighbourhoods (C++ multithreaded sampler, reproducible under a seed; pure-torch fallback, picked by graphkit.ops' back-end switch).
* :class:`FeatureStore`: features in pinned host memory or a memory-mapped ``.npy``, gathered by row.
* :class:`Prefetcher`: the next batch is built on a background thread while the current one trains.
* :func:`partition_graph` / :class:`PartitionedFeatureStore`: METIS parts and per-rank halo features.
* :class:`DistFeatureStore`: each rank holds only its part's features; the other rows are fetched per batch
  (one all-to-all over :class:`ProcessGroupExchange`) with a hot-node cache.
* The seed papers' sub-graph samplers (C++ multithreaded, reproducible under a seed): :class:`ClusterData` /
  :class:`ClusterLoader` (Cluster-GCN), ``GraphSAINT*Sampler`` (GraphSAINT), :class:`ShaDowKHopSampler`
  (shaDow-GNN), and :func:`random_walk` (uniform and node2vec walks; ``graphkit.nn.Node2Vec`` trains on them).
"""
from graphkit.loader.cluster import ClusterData, ClusterLoader
from graphkit.loader.dataloader import DataLoader
from graphkit.loader.dist_feature_store import DistFeatureStore
from graphkit.loader.exchange import LocalExchange, ProcessGroupExchange
from graphkit.loader.graph_saint import (GraphSAINTEdgeSampler, GraphSAINTNodeSampler, GraphSAINTRandomWalkSampler,
                                         GraphSAINTSampler)
from graphkit.loader.feature_store import FeatureStore, RingBuffer, write_npy
from graphkit.loader.link_loader import LinkNeighborLoader
from graphkit.loader.neighbor_loader import NeighborLoader, SubgraphSampler
from graphkit.loader.partition import Partition, PartitionedFeatureStore, partition_graph
from graphkit.loader.prefetch import Prefetcher
from graphkit.loader.random_walk import WalkGraph, random_walk
from graphkit.loader.sampler import SampleOutput, sample_neighbors, to_subgraph
from graphkit.loader.shadow import ShaDowKHopSampler
from graphkit.loader.subgraph import induced_subgraph

__all__ = [
    "DataLoader",
    "NeighborLoader",
    "LinkNeighborLoader",
    "SubgraphSampler",
    "FeatureStore",
    "RingBuffer",
    "write_npy",
    "Prefetcher",
    "Partition",
    "PartitionedFeatureStore",
    "DistFeatureStore",
    "LocalExchange",
    "ProcessGroupExchange",
    "partition_graph",
    "SampleOutput",
    "sample_neighbors",
    "to_subgraph",
    "ClusterData",
    "ClusterLoader",
    "GraphSAINTSampler",
    "GraphSAINTNodeSampler",
    "GraphSAINTEdgeSampler",
    "GraphSAINTRandomWalkSampler",
    "ShaDowKHopSampler",
    "WalkGraph",
    "random_walk",
    "induced_subgraph",
]
