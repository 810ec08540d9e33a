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

# Layers added for PyG parity (issue 18); appended so that merges with other edits above stay trivial.
from graphkit.nn.conv.cheb import ChebConv  # noqa: E402
from graphkit.nn.conv.gcn2 import GCN2Conv  # noqa: E402
from graphkit.nn.conv.gen import GENConv  # noqa: E402
from graphkit.nn.conv.nn_conv import ECConv, NNConv  # noqa: E402
from graphkit.nn.conv.pna import PNAConv  # noqa: E402
from graphkit.nn.conv.tag import TAGConv  # noqa: E402

__all__ += ["ChebConv", "GCN2Conv", "GENConv", "NNConv", "ECConv", "PNAConv", "TAGConv"]
from graphkit.nn.conv.arma import ARMAConv  # noqa: E402
from graphkit.nn.conv.cg import CGConv  # noqa: E402
from graphkit.nn.conv.cluster_gcn import ClusterGCNConv  # noqa: E402
from graphkit.nn.conv.film import FiLMConv  # noqa: E402
from graphkit.nn.conv.gated_graph_conv import GatedGraphConv  # noqa: E402
from graphkit.nn.conv.le import LEConv  # noqa: E402
from graphkit.nn.conv.mixhop import MixHopConv  # noqa: E402
from graphkit.nn.conv.res_gated_graph_conv import ResGatedGraphConv  # noqa: E402

__all__ += ["ARMAConv", "CGConv", "ClusterGCNConv", "FiLMConv", "GatedGraphConv", "LEConv", "MixHopConv",
            "ResGatedGraphConv"]
from graphkit.nn.conv.gmm import GMMConv  # noqa: E402
from graphkit.nn.conv.point_net import PointNetConv  # noqa: E402
from graphkit.nn.conv.point_transformer import PointTransformerConv  # noqa: E402

__all__ += ["GMMConv", "PointNetConv", "PointTransformerConv"]
from graphkit.nn.conv.supergat import SuperGATConv  # noqa: E402

__all__ += ["SuperGATConv"]
from graphkit.nn.conv.cf_conv import CFConv  # noqa: E402

__all__ += ["CFConv"]
# Relational / heterogeneous operators (issue 16).
from graphkit.nn.conv.fast_rgcn import FastRGCNConv  # noqa: E402

__all__ += ["FastRGCNConv"]
from graphkit.nn.conv.hetero_conv import HeteroConv  # noqa: E402

__all__ += ["HeteroConv"]
from graphkit.nn.conv.hgt import HGTConv  # noqa: E402

__all__ += ["HGTConv"]
from graphkit.nn.conv.rgat import RGATConv  # noqa: E402

__all__ += ["RGATConv"]
