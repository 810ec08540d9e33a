"""Pooling: readouts (one vector per graph) and hierarchical pools (a smaller graph per graph), one per file.

* readouts on the segment kernels: :mod:`.glob` (``global_add/mean/max_pool``, ``AttentionalAggregation``), and
  ``Set2Set``, ``SortAggregation``, ``global_sort_pool`` (their home is :mod:`graphkit.nn.aggr_set`);
* node-dropping pools: :class:`TopKPooling`, :class:`SAGPooling`, :class:`ASAPooling`; edge contraction:
  :class:`EdgePooling`; their shared selection, edge filtering and result type live in :mod:`.select`;
* dense pools on ``to_dense_batch`` / ``to_dense_adj`` output: :func:`dense_diff_pool`, :func:`dense_mincut_pool`.

Every pool takes PyG's arguments and returns PyG's tuple (see :class:`~graphkit.nn.pool.select.PoolResult`).
"""
from graphkit.nn.aggr_set import Set2Set, SortAggregation, global_sort_pool
from graphkit.nn.pool.asap import ASAPooling
from graphkit.nn.pool.diff_pool import dense_diff_pool
from graphkit.nn.pool.edge_pool import EdgePooling
from graphkit.nn.pool.glob import (
    AttentionalAggregation,
    GlobalAttention,
    global_add_pool,
    global_max_pool,
    global_mean_pool,
    global_pool,
    global_sum_pool,
)
from graphkit.nn.pool.mincut_pool import dense_mincut_pool
from graphkit.nn.pool.sag_pool import SAGPooling
from graphkit.nn.pool.select import PoolOutput, PoolResult, SelectTopK, topk
from graphkit.nn.pool.topk_pool import TopKPooling

__all__ = [
    "global_add_pool",
    "global_sum_pool",
    "global_mean_pool",
    "global_max_pool",
    "global_pool",
    "AttentionalAggregation",
    "GlobalAttention",
    "Set2Set",
    "SortAggregation",
    "global_sort_pool",
    "TopKPooling",
    "SAGPooling",
    "ASAPooling",
    "EdgePooling",
    "SelectTopK",
    "topk",
    "PoolResult",
    "PoolOutput",
    "dense_diff_pool",
    "dense_mincut_pool",
]
