"""Ready-made models built from graphkit layers; constructors (and state_dicts) as PyG's where PyG has them."""
from graphkit.nn.models.basic_gnn import MLP, BasicGNN
from graphkit.nn.models.dgcnn import DGCNN
from graphkit.nn.models.edge_cnn import EdgeCNN
from graphkit.nn.models.gat import GAT
from graphkit.nn.models.gcn import GCN
from graphkit.nn.models.gin import GIN
from graphkit.nn.models.graph_transformer import GraphTransformer
from graphkit.nn.models.lightgcn import BPRLoss, LightGCN
from graphkit.nn.models.neural_fingerprint import NeuralFingerprint
from graphkit.nn.models.node2vec import Node2Vec
from graphkit.nn.models.pna import PNA
from graphkit.nn.models.sage import GraphSAGE
from graphkit.nn.models.ultragcn import UltraGCN, item_item_constraints, ultragcn_betas

__all__ = ["BasicGNN", "MLP", "GCN", "GraphSAGE", "GIN", "GAT", "PNA", "EdgeCNN", "GraphTransformer", "DGCNN",
           "LightGCN", "BPRLoss", "NeuralFingerprint", "Node2Vec", "UltraGCN", "ultragcn_betas",
           "item_item_constraints"]
from graphkit.nn.models.schnet import SchNet  # noqa: E402

__all__ += ["SchNet"]
from graphkit.nn.models.dimenet import DimeNet, DimeNetPlusPlus  # noqa: E402

__all__ += ["DimeNet", "DimeNetPlusPlus"]
from graphkit.nn.models.large_gt import LargeGT, hop_features, hop_tokens  # noqa: E402

__all__ += ["LargeGT", "hop_features", "hop_tokens"]
