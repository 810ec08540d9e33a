"""Convolutions, one per file; every one is called as ``layer(x, adj, ...)``."""
from graphkit.nn.conv.appnp import APPNP
from graphkit.nn.conv.dagnn import DAGNNConv
from graphkit.nn.conv.edge_conv import DynamicEdgeConv, EdgeConv
from graphkit.nn.conv.gcn import GCNConv, gcn_norm
from graphkit.nn.conv.gin import GINConv
from graphkit.nn.conv.gine import GINEConv
from graphkit.nn.conv.graph_conv import GraphConv
from graphkit.nn.conv.lightgcn import LGConv, LightGCNConv
from graphkit.nn.conv.mesh_conv import MeshConv
from graphkit.nn.conv.mf import MFConv
from graphkit.nn.conv.rgcn import RGCNConv
from graphkit.nn.conv.sage import SAGEConv
from graphkit.nn.conv.sg import SGConv

__all__ = [
    "GCNConv",
    "SAGEConv",
    "GINConv",
    "GINEConv",
    "GraphConv",
    "SGConv",
    "APPNP",
    "DAGNNConv",
    "EdgeConv",
    "DynamicEdgeConv",
    "MeshConv",
    "MFConv",
    "RGCNConv",
    "LightGCNConv",
    "LGConv",
    "gcn_norm",
]
