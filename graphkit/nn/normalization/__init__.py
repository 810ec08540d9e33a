"""Normalisation layers for graphs (PyG's ``torch_geometric.nn.norm`` names and parameters); per-graph
statistics run on graphkit's scatter kernel."""
from graphkit.nn.normalization.batch_norm import BatchNorm
from graphkit.nn.normalization.diff_group_norm import DiffGroupNorm
from graphkit.nn.normalization.graph_norm import GraphNorm
from graphkit.nn.normalization.instance_norm import InstanceNorm
from graphkit.nn.normalization.layer_norm import LayerNorm
from graphkit.nn.normalization.message_norm import MessageNorm
from graphkit.nn.normalization.pair_norm import PairNorm
from graphkit.nn.normalization.resolver import activation_resolver, normalization_resolver

__all__ = ["BatchNorm", "LayerNorm", "GraphNorm", "InstanceNorm", "PairNorm", "MessageNorm", "DiffGroupNorm",
           "normalization_resolver", "activation_resolver"]
