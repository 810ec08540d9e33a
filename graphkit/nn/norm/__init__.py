"""Normalisation layers for graphs (PyG's ``torch_geometric.nn.norm`` names and parameters); per-graph
statistics run on graphkit's scatter kernel."""
from graphkit.nn.norm.diff_group_norm import DiffGroupNorm
from graphkit.nn.norm.graph_norm import GraphNorm
from graphkit.nn.norm.instance_norm import InstanceNorm
from graphkit.nn.norm.message_norm import MessageNorm
from graphkit.nn.norm.pair_norm import PairNorm

__all__ = ["GraphNorm", "InstanceNorm", "PairNorm", "MessageNorm", "DiffGroupNorm"]
