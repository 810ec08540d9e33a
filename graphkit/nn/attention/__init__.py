"""Attention as message passing: GAT, GATv2, TransformerConv, neighbourhood attention on image grids, GraphGPS.

Every layer computes its attention logits per edge (``[E, H]``), normalises them with ``edge_softmax`` and
aggregates with one multi-head ``spmm``, so no ``[E, H, F]`` message tensor is formed (see each layer's
docstring for what, if anything, is materialised per edge). The global attentions have no edges:
``GPSConv``'s attends within each graph, ``CodebookAttention`` (LargeGT's) to k-means centroids of all nodes.
"""
from graphkit.nn.attention.codebook_attention import CodebookAttention
from graphkit.nn.attention.encodings import laplacian_pe, random_sign_flip, random_walk_se
from graphkit.nn.attention.gat import GATConv
from graphkit.nn.attention.gatv2 import GATv2Conv
from graphkit.nn.attention.gps import GPSConv, LinearAttention
from graphkit.nn.attention.neighborhood import NeighborhoodAttention2d, na2d, neighborhood_graph
from graphkit.nn.attention.performer import PerformerAttention
from graphkit.nn.attention.transformer import TransformerConv

__all__ = [
    "GATConv",
    "GATv2Conv",
    "TransformerConv",
    "NeighborhoodAttention2d",
    "na2d",
    "neighborhood_graph",
    "GPSConv",
    "LinearAttention",
    "CodebookAttention",
    "PerformerAttention",
    "laplacian_pe",
    "random_walk_se",
    "random_sign_flip",
]
