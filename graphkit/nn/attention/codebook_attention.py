r"""``CodebookAttention``: global attention of a batch of nodes to every node of the graph, through centroids.

LargeGT's global module (Dwivedi et al., "Graph Transformers for Large Graphs", 2023, after GOAT, Kong et al.
2023). Like ``GPSConv``'s global part it has no edges to pass messages over; unlike it, its keys are not the
nodes of the batch but ``C`` k-means centroids of all nodes seen in training, so its cost is ``O(B C)`` whatever
the graph's size.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphkit.nn.codebook import KMeansCodebook
from graphkit.ops._checks import check_positive_int

__all__ = ["CodebookAttention"]


class CodebookAttention(nn.Module):
    r"""Attention of queries ``z`` to a :class:`~graphkit.nn.KMeansCodebook` of node embeddings.

    With centroids :math:`c_j` standing for :math:`N_j` nodes each (the codebook's running cluster sizes),
    head :math:`h` computes

    .. math::
        o^h_i = \sum_{j=1}^{C} \operatorname{softmax}_j\Big(\frac{(W^h_Q z_i)^\top W^h_K c_j}{\sqrt{d}}
        + \log N_j\Big)\, W^h_V c_j

    which is full softmax attention of :math:`z_i` over all :math:`N = \sum_j N_j` nodes once every node is
    replaced by its centroid (a centroid of :math:`N_j` nodes adds :math:`N_j e^{s_{ij}}` to the normaliser:
    hence the :math:`\log N_j` term). Heads are concatenated. In training mode the layer then takes one
    :meth:`KMeansCodebook.update` step on ``z`` (detached: the codebook is state, not a parameter), so the
    output of a step uses the codebook as it was before that step.

    Centroids never chosen have :math:`N_j = 0` and get no weight; before the first update every
    :math:`N_j = 0` and all centroids weigh the same. LargeGT's reference code counts the nodes last assigned to
    each centroid in a per-node table of size :math:`N` (initialised at random); the running sizes estimate the
    same proportions from the training batches without an :math:`N`-sized buffer, so the layer does not depend
    on the graph's size.

    Args:
        in_channels: width ``D`` of ``z`` (and of the centroids).
        out_channels: ``d``, channels per head.
        num_centroids: ``C``.
        heads: ``H``.
        dropout: dropout on the attention weights.
        decay: the codebook's EMA decay :math:`\gamma`.

    Shapes:
        z ``(B, D)`` -> ``(B, H * d)``.

    >>> torch.manual_seed(0) and None
    >>> attn = CodebookAttention(4, 8, num_centroids=16, heads=2)
    >>> attn(torch.randn(5, 4)).shape, int(attn.codebook.sizes.gt(0).sum()) > 0
    (torch.Size([5, 16]), True)
    """

    def __init__(self, in_channels: int, out_channels: int, num_centroids: int, heads: int = 1,
                 dropout: float = 0.0, decay: float = 0.99) -> None:
        super().__init__()
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("heads", heads)):
            check_positive_int(name, v)
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.in_channels, self.out_channels, self.heads, self.dropout = in_channels, out_channels, heads, dropout
        self.codebook = KMeansCodebook(num_centroids, in_channels, decay)
        self.lin_query = nn.Linear(in_channels, heads * out_channels)
        self.lin_key = nn.Linear(in_channels, heads * out_channels)
        self.lin_value = nn.Linear(in_channels, heads * out_channels)

    def reset_parameters(self) -> None:
        for lin in (self.lin_query, self.lin_key, self.lin_value):
            lin.reset_parameters()
        self.codebook.reset_parameters()  # a reset model starts without the old run's clusters

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.size(1) != self.in_channels:
            raise ValueError(f"z must have shape [B, {self.in_channels}], got {list(z.shape)}")
        b, h, d = z.size(0), self.heads, self.out_channels
        # a copy: the update below moves the centroids in place, and backward still needs these
        c = self.codebook.centroids.to(z.dtype, copy=True)
        q = self.lin_query(z).view(b, h, d).transpose(0, 1)  # [H, B, d]
        k = self.lin_key(c).view(-1, h, d).transpose(0, 1)  # [H, C, d]
        v = self.lin_value(c).view(-1, h, d).transpose(0, 1)
        # log N_j: a centroid of no node gets -inf (no weight) unless none has any (all equal, uniform weights)
        sizes = self.codebook.sizes.to(z.dtype)
        bias = torch.where((sizes > 0).any(), sizes.log(), torch.zeros_like(sizes))  # no host sync
        scores = q @ k.transpose(1, 2) / math.sqrt(d) + bias
        attn = F.dropout(scores.softmax(-1), p=self.dropout, training=self.training)
        out = (attn @ v).transpose(0, 1).reshape(b, h * d)
        if self.training:
            self.codebook.update(z)
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
                f"num_centroids={self.codebook.num_centroids}, heads={self.heads})")
