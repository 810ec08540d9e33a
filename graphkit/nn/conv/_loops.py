"""Self-loop handling shared by the point-cloud convolutions (PointNetConv, PointTransformerConv)."""
from __future__ import annotations

from graphkit.nn.adjacency import Adjacency
from graphkit.utils import add_self_loops, remove_self_loops


def with_fresh_self_loops(adj: Adjacency) -> Adjacency:
    """``adj`` with its self-loops replaced by one loop on each of the first ``min(num_src, num_dst)`` nodes (as
    PyG's point convolutions do, so every point also sees itself)."""
    ei, _ = remove_self_loops(adj.edge_index)
    ei, _ = add_self_loops(ei, num_nodes=(adj.num_src, adj.num_dst))
    return Adjacency(ei, adj.num_src, adj.num_dst)
