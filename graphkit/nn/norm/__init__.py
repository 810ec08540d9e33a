"""Normalisation layers for graphs (PyG's ``torch_geometric.nn.norm`` names and parameters)."""
from graphkit.nn.norm.message_norm import MessageNorm

__all__ = ["MessageNorm"]
