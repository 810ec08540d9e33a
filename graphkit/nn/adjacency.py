"""``graphkit.nn.Adjacency`` is :class:`graphkit.ops.adjacency.Adjacency`: the one structure type lives in ``ops``
(the lowest layer), and layers import it from there. This module only keeps the old import path working."""
from graphkit.ops.adjacency import FLOWS, Adjacency, is_sparse_adj

__all__ = ["Adjacency", "is_sparse_adj", "FLOWS"]
