r"""LightGCN (He et al., 2020) with layer combination and the BPR loss, as PyG's ``LightGCN``."""
from __future__ import annotations

from typing import Any, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit.nn.adjacency import Adjacency
from graphkit.nn.conv.lightgcn import LightGCNConv

__all__ = ["LightGCN", "BPRLoss"]


class BPRLoss(torch.nn.Module):
    r"""Bayesian personalised ranking with L2 regularisation:

    .. math:: L = -\frac{1}{|P|}\sum_{(u,i,j)} \ln \sigma(\hat y_{ui} - \hat y_{uj})
        + \frac{\lambda}{|P|} \lVert \mathbf{x}^{(0)} \rVert^2
    """

    def __init__(self, lambda_reg: float = 0.0) -> None:
        super().__init__()
        self.lambda_reg = lambda_reg

    def forward(self, positives: Tensor, negatives: Tensor, parameters: Optional[Tensor] = None) -> Tensor:
        if positives.shape != negatives.shape:
            raise ValueError(f"positives {list(positives.shape)} and negatives {list(negatives.shape)} must match")
        log_prob = F.logsigmoid(positives - negatives).mean()
        reg: Union[float, Tensor] = 0.0
        if self.lambda_reg != 0:
            if parameters is None:
                raise ValueError("lambda_reg != 0 needs the parameters to regularise")
            reg = self.lambda_reg * parameters.norm(p=2).pow(2) / positives.size(0)
        return -log_prob + reg


class LightGCN(torch.nn.Module):
    r"""Node embeddings propagated by ``num_layers`` :class:`LightGCNConv` and combined:

    .. math:: \mathbf{x}^{(l)} = \hat A\, \mathbf{x}^{(l-1)}, \qquad
        \mathbf{x}_{\mathrm{out}} = \sum_{l=0}^{L} \alpha_l \mathbf{x}^{(l)}

    (:math:`\alpha_l = 1/(L+1)` by default); a link's score is :math:`\mathbf{x}_u^\top \mathbf{x}_v`. Constructor,
    methods and parameters (``embedding.weight``, buffer ``alpha``) as PyG's ``LightGCN``.

    Shapes:
        adj over ``num_nodes`` nodes, edge_label_index ``(2, |E'|)`` -> scores ``(|E'|)``.
    """

    def __init__(self, num_nodes: int, embedding_dim: int, num_layers: int,
                 alpha: Optional[Union[float, Tensor]] = None, **kwargs: Any) -> None:
        super().__init__()
        self.num_nodes, self.embedding_dim, self.num_layers = num_nodes, embedding_dim, num_layers
        if alpha is None:
            alpha = 1.0 / (num_layers + 1)
        if isinstance(alpha, Tensor):
            if alpha.numel() != num_layers + 1:
                raise ValueError(f"alpha must have {num_layers + 1} entries, got {alpha.numel()}")
        else:
            alpha = torch.tensor([alpha] * (num_layers + 1))
        self.register_buffer("alpha", alpha)
        self.embedding = torch.nn.Embedding(num_nodes, embedding_dim)
        self.convs = torch.nn.ModuleList([LightGCNConv(**kwargs) for _ in range(num_layers)])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        torch.nn.init.xavier_uniform_(self.embedding.weight)

    def get_embedding(self, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        x = self.embedding.weight
        out = x * self.alpha[0]
        for i, conv in enumerate(self.convs):
            x = conv(x, adj, edge_weight)
            out = out + x * self.alpha[i + 1]
        return out

    def forward(self, adj: Any, edge_label_index: Optional[Tensor] = None,
                edge_weight: Optional[Tensor] = None) -> Tensor:
        if edge_label_index is None:
            edge_label_index = Adjacency.unpack(adj)[0]
        out = self.get_embedding(adj, edge_weight)
        return (out[edge_label_index[0]] * out[edge_label_index[1]]).sum(dim=-1)

    def predict_link(self, adj: Any, edge_label_index: Optional[Tensor] = None,
                     edge_weight: Optional[Tensor] = None, prob: bool = False) -> Tensor:
        pred = self(adj, edge_label_index, edge_weight).sigmoid()
        return pred if prob else pred.round()

    @torch.no_grad()
    def recommend(self, adj: Any, edge_weight: Optional[Tensor] = None, src_index: Optional[Tensor] = None,
                  dst_index: Optional[Tensor] = None, k: int = 1, sorted: bool = True) -> Tensor:
        out_src = out_dst = self.get_embedding(adj, edge_weight)
        if src_index is not None:
            out_src = out_src[src_index]
        if dst_index is not None:
            out_dst = out_dst[dst_index]
        top = (out_src @ out_dst.t()).topk(k, dim=-1, sorted=sorted).indices
        if dst_index is not None:
            top = dst_index[top.view(-1)].view(*top.size())
        return top

    def link_pred_loss(self, pred: Tensor, edge_label: Tensor, **kwargs: Any) -> Tensor:
        return torch.nn.BCEWithLogitsLoss(**kwargs)(pred, edge_label.to(pred.dtype))

    def recommendation_loss(self, pos_edge_rank: Tensor, neg_edge_rank: Tensor, node_id: Optional[Tensor] = None,
                            lambda_reg: float = 1e-4) -> Tensor:
        emb = self.embedding.weight if node_id is None else self.embedding.weight[node_id]
        return BPRLoss(lambda_reg)(pos_edge_rank, neg_edge_rank, emb)

    def __repr__(self) -> str:
        return f"LightGCN({self.num_nodes}, {self.embedding_dim}, num_layers={self.num_layers})"
