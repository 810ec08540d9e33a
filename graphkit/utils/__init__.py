"""Functions on edge_index tensors, with PyG's names and semantics (``torch_geometric.utils``).

Scatter, segment and softmax work runs on graphkit's kernels (:mod:`graphkit.ops`). Every function checks its
inputs and raises a ``TypeError``/``ValueError`` that names the argument and the bad value.
"""
from graphkit.utils.coalesce import coalesce, is_undirected, sort_edge_index, to_undirected
from graphkit.utils.degree import degree
from graphkit.utils.dense import to_dense_adj, to_dense_batch
from graphkit.utils.dropout import dropout_edge
from graphkit.utils.homophily import homophily
from graphkit.utils.loop import add_remaining_self_loops, add_self_loops, contains_self_loops, remove_self_loops
from graphkit.utils.negative_sampling import (
    batched_negative_sampling,
    negative_sampling,
    structured_negative_sampling,
    structured_negative_sampling_feasible,
)
from graphkit.utils.softmax import softmax
from graphkit.utils.subgraph import index_to_mask, k_hop_subgraph, mask_to_index, subgraph
from graphkit.utils.triplets import Triplets, matching_pairs, triplets

__all__ = [
    "add_self_loops",
    "add_remaining_self_loops",
    "remove_self_loops",
    "contains_self_loops",
    "sort_edge_index",
    "coalesce",
    "to_undirected",
    "is_undirected",
    "degree",
    "subgraph",
    "k_hop_subgraph",
    "index_to_mask",
    "mask_to_index",
    "dropout_edge",
    "negative_sampling",
    "structured_negative_sampling",
    "structured_negative_sampling_feasible",
    "batched_negative_sampling",
    "to_dense_batch",
    "to_dense_adj",
    "softmax",
    "homophily",
    "matching_pairs",
    "triplets",
    "Triplets",
]
