"""Link prediction (ogbl-*): embed nodes with a GNN on the training graph, score pairs, rank against negatives.

Training: every batch of positive training edges gets as many uniformly sampled negative pairs (torch's global
RNG, so a resumed run draws the same ones); the loss is
:math:`-\\log \\sigma(s^+) - \\log(1 - \\sigma(s^-))`. Evaluation uses the data set's own negatives:
a shared pool (``edge_neg``; Hits@K, MRR against the pool, ROC-AUC) or per-positive ones
(``target_node_neg``, ogbl-citation2; MRR). ``--model ncn`` swaps the MLP scorer for the NCN predictor.
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphkit.train.base import Task, shuffled_chunks, structure
from graphkit.train.config import TrainConfig
from graphkit.train.metrics import link_scores, metric_mode
from graphkit.train.models import NodeInput, build_gnn
from graphkit.train.ncn import MLPPredictor, NCNPredictor

__all__ = ["LinkTask", "LinkModel", "positive_pairs"]

_SCORE_CHUNK = 65536


def positive_pairs(part: Dict[str, Tensor]) -> Tensor:
    """``[P, 2]`` positive pairs of one split part, in either of ogb's two layouts."""
    if "edge" in part:
        return part["edge"].long()
    if "source_node" in part:
        return torch.stack([part["source_node"], part["target_node"]], dim=1).long()
    raise ValueError(f"link split has neither 'edge' nor 'source_node'; keys: {sorted(part)}")


class LinkModel(nn.Module):
    r"""``h = GNN(input(x), A)``; ``s(i, j) = predictor(h, A, (i, j))``.

    Shapes:
        input: ``x`` ``(|V|, F)`` or ``None``; ``pairs`` ``(P, 2)``
        output: ``(P,)`` logits
    """

    def __init__(self, x: Any, num_nodes: int, cfg: TrainConfig, structure: Any = None):
        super().__init__()
        ncn = cfg.model.lower() == "ncn"
        self.input = NodeInput(x, num_nodes, cfg.hidden)
        self.gnn = build_gnn("gcn" if ncn else cfg.model, self.input.out_channels, cfg.hidden, cfg.layers,
                             cfg.hidden, cfg.dropout, structure)
        self.predictor = (NCNPredictor if ncn else MLPPredictor)(cfg.hidden, cfg.dropout)

    def embed(self, x: Any, adj: Any, num_nodes: int) -> Tensor:
        return self.gnn(self.input(x, num_nodes), adj)


class LinkTask(Task):
    name = "link"

    def __init__(self, dataset: Any, cfg: TrainConfig, device: torch.device):
        g = dataset.graph
        if isinstance(g, dict):
            raise ValueError(f"{dataset.name} is a heterogeneous knowledge graph; --task link supports "
                             "homogeneous graphs only")
        self.monitor, self.device = ("valid", dataset.eval_metric, metric_mode(dataset.eval_metric)), device
        self.batch_size = cfg.batch_size or 1024
        self.num_nodes = g.num_nodes
        self.adj = structure(g, undirected=True, device=device)
        self.x = g.x.to(device) if g.x is not None else None
        self.split = dataset.split
        self.train_pos = positive_pairs(self.split["train"])
        self.model = LinkModel(self.x, self.num_nodes, cfg, structure=self.adj).to(device)

    def _embed(self) -> Tensor:
        return self.model.embed(self.x, self.adj, self.num_nodes)

    def _score(self, h: Tensor, pairs: Tensor) -> Tensor:
        pairs = pairs.to(self.device)
        return torch.cat([self.model.predictor(h, self.adj, pairs[i:i + _SCORE_CHUNK])
                          for i in range(0, pairs.size(0), _SCORE_CHUNK)]) if pairs.numel() else h.new_zeros(0)

    def batches(self) -> Iterator[Any]:
        for chunk in shuffled_chunks(self.train_pos.size(0), self.batch_size):
            pos = self.train_pos[chunk]
            yield pos, torch.randint(0, self.num_nodes, pos.shape)

    def loss(self, batch: Tuple[Tensor, Tensor]) -> Tensor:
        pos, neg = batch
        h = self._embed()
        pos_out, neg_out = self._score(h, pos).float(), self._score(h, neg).float()
        return (F.binary_cross_entropy_with_logits(pos_out, torch.ones_like(pos_out))
                + F.binary_cross_entropy_with_logits(neg_out, torch.zeros_like(neg_out)))

    def _split_scores(self, h: Tensor, part: Dict[str, Tensor], neg_part: Dict[str, Tensor],
                      limit: int = 0) -> Dict[str, float]:
        pos = positive_pairs(part)
        if limit:
            pos = pos[:limit]
        pos_out = self._score(h, pos)
        if "edge_neg" in neg_part:
            return link_scores(self.metric, pos_out, self._score(h, neg_part["edge_neg"].long()))
        negs = neg_part["target_node_neg"][: pos.size(0)].long()  # [P, K] candidates per source node
        pairs = torch.stack([pos[:, :1].expand_as(negs), negs], dim=-1).view(-1, 2)
        return link_scores(self.metric, pos_out, self._score(h, pairs).view(negs.shape))

    @torch.no_grad()
    def evaluate(self) -> Dict[str, Dict[str, float]]:
        h = self._embed()
        valid = self.split["valid"]
        n_valid = positive_pairs(valid).size(0)
        # train edges are scored against the validation negatives, on as many edges as validation has
        return {"train": self._split_scores(h, self.split["train"], valid, limit=n_valid),
                "valid": self._split_scores(h, valid, valid),
                "test": self._split_scores(h, self.split["test"], self.split["test"])}
