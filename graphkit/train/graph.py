"""Graph property prediction (ogbg-*): many small graphs, one label vector per graph, batched.

Model: ``NodeInput`` (atom-type embeddings for integer features) -> GNN -> mean readout -> linear head.
Loss: masked binary cross-entropy (binary classification, NaN = unlabelled, as in ogbg-molpcba),
cross-entropy (multiclass, ogbg-ppa) or mean squared error on standardised targets (regression; predictions are
mapped back before scoring, so RMSE/MAE are in the data set's units).
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphkit.batch import Batch
from graphkit.graph import Graph
from graphkit.train.base import Task, shuffled_chunks
from graphkit.train.config import TrainConfig
from graphkit.train.metrics import metric_mode, prediction_scores
from graphkit.train.models import NodeInput, build_gnn, global_pool

__all__ = ["GraphTask", "GraphModel"]


class GraphModel(nn.Module):
    r"""``out_G = W \cdot \mathrm{mean}_{v \in G}\, \mathrm{GNN}(\mathrm{input}(x), A)_v + b``.

    Shapes:
        input: a ``Batch`` with ``x`` ``(|V|, F)`` and ``batch`` ``(|V|,)``
        output: ``(B, out_channels)``
    """

    def __init__(self, x_example: Tensor, vocab: Any, cfg: TrainConfig, out_channels: int, structure: Any = None):
        super().__init__()
        self.input = NodeInput(x_example, 0, cfg.hidden, vocab=vocab)
        # structure: the training graphs (pna sizes its degree scalers from their in-degree histogram)
        self.gnn = build_gnn(cfg.model, self.input.out_channels, cfg.hidden, cfg.layers, cfg.hidden, cfg.dropout,
                             structure=structure)
        self.head = nn.Linear(cfg.hidden, out_channels)

    def forward(self, b: Batch) -> Tensor:
        h = self.gnn(self.input(b.x, b.num_nodes), b)  # the Batch: every layer shares its CSR and memo
        return self.head(global_pool(h, b.batch, b.num_graphs, "mean"))


def _vocab(graphs: List[Graph]) -> Any:
    """Per-column sizes of integer node features over the whole data set (all splits: ids are not labels)."""
    x = graphs[0].x
    if x is None or x.is_floating_point():
        return None
    return (torch.cat([g.x for g in graphs]).max(0).values + 1).tolist()


class GraphTask(Task):
    name = "graph"

    def __init__(self, dataset: Any, cfg: TrainConfig, device: torch.device):
        self.graphs = dataset.graphs
        if self.graphs is None:
            raise ValueError(f"data set {dataset.name} is not a set of graphs; use --task node or link")
        if self.graphs[0].x is None:
            raise ValueError(f"data set {dataset.name} has no node features (x); graph prediction needs them")
        self.task_type = dataset.task_type
        self.monitor = ("valid", dataset.eval_metric, metric_mode(dataset.eval_metric))
        if self.task_type not in ("binary classification", "multiclass classification", "regression"):
            raise ValueError(f"task type {self.task_type!r} of {dataset.name} is not supported by --task graph")
        self.device, self.batch_size = device, cfg.batch_size or 64
        self.split = dataset.split
        self.y = torch.cat([g.y.view(1, -1) for g in self.graphs]).to(device)
        self.multiclass = self.task_type == "multiclass classification"
        out = dataset.num_classes if self.multiclass else self.y.size(1)
        train_y = self.y[self.split["train"]].float()
        # regression targets are standardised with the training split's statistics (ignoring NaN)
        self.mean = torch.nanmean(train_y, 0) if self.task_type == "regression" else torch.zeros(self.y.size(1))
        self.std = (torch.nanmean((train_y - self.mean) ** 2, 0).sqrt().clamp(min=1e-6)
                    if self.task_type == "regression" else torch.ones(self.y.size(1)))
        self.mean, self.std = self.mean.to(device), self.std.to(device)
        train_graphs = [self.graphs[i] for i in self.split["train"].tolist()]
        self.model = GraphModel(self.graphs[0].x, _vocab(self.graphs), cfg, out, structure=train_graphs).to(device)
        # Each split's evaluation batches, collated once (the splits are fixed). Not a structure cache: the
        # batches are the values; their structures carry their own memo (graph.adj) with them.
        self._eval_batches: Dict[str, List[Batch]] = {}

    def _collate(self, idx: Tensor) -> Batch:
        return Batch.from_graphs([self.graphs[i] for i in idx.tolist()]).to(self.device)

    def batches(self) -> Iterator[Any]:
        train = self.split["train"]
        for chunk in shuffled_chunks(train.numel(), self.batch_size):
            idx = train[chunk]
            yield idx, self._collate(idx)

    def loss(self, batch: Any) -> Tensor:
        idx, b = batch
        out, y = self.model(b).float(), self.y[idx.to(self.device)]
        if self.multiclass:
            return F.cross_entropy(out, y.view(-1).long())
        y = y.float()
        mask = ~torch.isnan(y)
        if self.task_type == "regression":
            return F.mse_loss(out[mask], ((y - self.mean) / self.std)[mask])
        return F.binary_cross_entropy_with_logits(out[mask], y[mask])

    @torch.no_grad()
    def predict(self, split: str) -> Tensor:
        """Predictions for the graphs of ``split`` (``"train"``, ``"valid"`` or ``"test"``), in split order."""
        if split not in self._eval_batches:
            idx = self.split[split]
            self._eval_batches[split] = [self._collate(idx[i:i + 1024]) for i in range(0, idx.numel(), 1024)]
        out = torch.cat([self.model(b).float() for b in self._eval_batches[split]])
        return out * self.std + self.mean if self.task_type == "regression" else out

    @torch.no_grad()
    def evaluate(self) -> Dict[str, Dict[str, float]]:
        return {s: prediction_scores("ogbg", self.task_type, self.metric, self.y[idx.to(self.device)],
                                     self.predict(s)) for s, idx in self.split.items()}
