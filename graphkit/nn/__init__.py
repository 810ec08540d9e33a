"""Graph layers: ``MessagePassing``, the convolutions, readouts and ready-made models.

Attention, sheaf and subgraph layers live in their sub-packages (``graphkit.nn.attention`` etc.); their public
layers are re-exported here lazily (imported on first access), so ``graphkit.nn`` itself stays light.
"""
import importlib
from typing import Any

from graphkit.nn import aggr
from graphkit.nn.adjacency import Adjacency
from graphkit.nn import conv
from graphkit.nn.conv import *  # noqa: F401,F403  (the convolutions: one list, conv.__all__)
from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.models import DGCNN, GCN, GIN, MLP, BasicGNN, BPRLoss, GraphSAGE, LightGCN, NeuralFingerprint
from graphkit.nn.pool import (
    AttentionalAggregation,
    GlobalAttention,
    global_add_pool,
    global_max_pool,
    global_mean_pool,
    global_sum_pool,
)

__all__ = [
    "MessagePassing",
    "Adjacency",
    "aggr",
    *conv.__all__,
    "NeuralFingerprint",
    "global_add_pool",
    "global_sum_pool",
    "global_mean_pool",
    "global_max_pool",
    "AttentionalAggregation",
    "GlobalAttention",
    "BasicGNN",
    "MLP",
    "GCN",
    "GraphSAGE",
    "GIN",
    "DGCNN",
    "LightGCN",
    "BPRLoss",
    "GATConv",
    "GATv2Conv",
    "TransformerConv",
    "NeighborhoodAttention2d",
    "GPSConv",
    "SheafDiffusion",
    "SubgraphBag",
    "DSSLayer",
]

_LAZY = {
    "GATConv": "attention",
    "GATv2Conv": "attention",
    "TransformerConv": "attention",
    "NeighborhoodAttention2d": "attention",
    "GPSConv": "attention",
    "SheafDiffusion": "sheaf",
    "SubgraphBag": "subgraph",
    "DSSLayer": "subgraph",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"graphkit.nn.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'graphkit.nn' has no attribute {name!r}")
