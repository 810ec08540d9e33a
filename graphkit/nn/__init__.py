"""Graph layers: ``MessagePassing``, the convolutions, readouts and ready-made models.

Attention, sheaf and subgraph layers live in their sub-packages (``graphkit.nn.attention`` etc.); their public
layers are re-exported here lazily (imported on first access), so ``graphkit.nn`` itself stays light.
"""
import importlib
from typing import Any

from graphkit.nn import aggr
from graphkit.ops.adjacency import Adjacency
from graphkit.nn import conv
from graphkit.nn.conv import *  # noqa: F403 - the convolutions; their list lives once, in conv.__all__
from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.models import (
    DGCNN,
    GAT,
    PNA,
    EdgeCNN,
    GCN,
    GIN,
    MLP,
    BasicGNN,
    BPRLoss,
    GraphSAGE,
    GraphTransformer,
    LightGCN,
    NeuralFingerprint,
    Node2Vec,
)
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
    "GAT",
    "PNA",
    "EdgeCNN",
    "GraphTransformer",
    "DGCNN",
    "LightGCN",
    "BPRLoss",
    "Node2Vec",
    "GATConv",
    "GATv2Conv",
    "TransformerConv",
    "NeighborhoodAttention2d",
    "GPSConv",
    "SheafDiffusion",
    "SubgraphBag",
    "DSSLayer",
    "GraphMLPMixer",
    "GraphViT",
]

_LAZY = {
    "GATConv": "attention",
    "GATv2Conv": "attention",
    "TransformerConv": "attention",
    "NeighborhoodAttention2d": "attention",
    "GPSConv": "attention",
    "CodebookAttention": "attention",
    "SheafDiffusion": "sheaf",
    "SubgraphBag": "subgraph",
    "DSSLayer": "subgraph",
    "GraphMLPMixer": "mixer",
    "GraphViT": "mixer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"graphkit.nn.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'graphkit.nn' has no attribute {name!r}")

# Added for PyG parity (issue 18); appended so that merges with other edits above stay trivial.
from graphkit.nn.aggr_degree_scaler import DegreeScalerAggregation  # noqa: E402
from graphkit.nn.conv import ChebConv, ECConv, GCN2Conv, GENConv, NNConv, PNAConv, TAGConv  # noqa: E402
from graphkit.nn.linear import Linear  # noqa: E402
from graphkit.nn.normalization import MessageNorm  # noqa: E402

__all__ += ["ChebConv", "GCN2Conv", "GENConv", "NNConv", "ECConv", "PNAConv", "TAGConv", "DegreeScalerAggregation",
            "Linear", "MessageNorm"]
from graphkit.nn.conv import (  # noqa: E402
    ARMAConv,
    CGConv,
    ClusterGCNConv,
    FiLMConv,
    GatedGraphConv,
    LEConv,
    MixHopConv,
    ResGatedGraphConv,
)
from graphkit.nn.normalization import (  # noqa: E402
    BatchNorm,
    DiffGroupNorm,
    GraphNorm,
    InstanceNorm,
    LayerNorm,
    PairNorm,
)

__all__ += ["ARMAConv", "CGConv", "ClusterGCNConv", "FiLMConv", "GatedGraphConv", "LEConv", "MixHopConv",
            "ResGatedGraphConv", "GraphNorm", "InstanceNorm", "PairNorm", "DiffGroupNorm", "BatchNorm", "LayerNorm"]
from graphkit.nn.aggr_power_mean import PowerMeanAggregation  # noqa: E402

__all__ += ["PowerMeanAggregation"]
from graphkit.nn.aggr_quantile import MedianAggregation, QuantileAggregation  # noqa: E402

__all__ += ["MedianAggregation", "QuantileAggregation"]
from graphkit.nn.aggr_set import Set2Set, SortAggregation, global_sort_pool  # noqa: E402

__all__ += ["Set2Set", "SortAggregation", "global_sort_pool"]
from graphkit.nn.conv import GMMConv, PointNetConv, PointTransformerConv  # noqa: E402

__all__ += ["GMMConv", "PointNetConv", "PointTransformerConv"]
from graphkit.nn.aggr_set import LSTMAggregation  # noqa: E402

__all__ += ["LSTMAggregation"]
from graphkit.nn.aggr_set_transformer import SetTransformerAggregation  # noqa: E402

__all__ += ["SetTransformerAggregation"]
from graphkit.nn.conv import SuperGATConv  # noqa: E402

__all__ += ["SuperGATConv"]
from graphkit.nn.aggr import MulAggregation, MultiAggregation  # noqa: E402

__all__ += ["MulAggregation", "MultiAggregation"]
from graphkit.nn.mesh_pool import MeshPool, MeshPoolHistory, MeshPoolOutput  # noqa: E402
from graphkit.nn.mesh_unpool import MeshUnpool  # noqa: E402

__all__ += ["MeshPool", "MeshPoolHistory", "MeshPoolOutput", "MeshUnpool"]
from graphkit.nn.models import UltraGCN  # noqa: E402

__all__ += ["UltraGCN"]
from graphkit.nn.pool import (  # noqa: E402
    ASAPooling,
    EdgePooling,
    SAGPooling,
    TopKPooling,
    dense_diff_pool,
    dense_mincut_pool,
)

__all__ += ["TopKPooling", "SAGPooling", "ASAPooling", "EdgePooling", "dense_diff_pool", "dense_mincut_pool"]
from graphkit.nn.models import DimeNet, DimeNetPlusPlus, SchNet  # noqa: E402

__all__ += ["SchNet", "DimeNet", "DimeNetPlusPlus"]
from graphkit.nn.conv import FastRGCNConv, HeteroConv, HGTConv  # noqa: E402

__all__ += ["FastRGCNConv", "HeteroConv", "HGTConv"]
from graphkit.nn.to_hetero import to_hetero  # noqa: E402

__all__ += ["to_hetero"]
from graphkit.nn.codebook import KMeansCodebook  # noqa: E402
from graphkit.nn.models import LargeGT  # noqa: E402

__all__ += ["LargeGT", "KMeansCodebook", "CodebookAttention"]
from graphkit.nn.conv import RGATConv  # noqa: E402

__all__ += ["RGATConv"]
