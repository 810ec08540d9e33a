"""Node property prediction (ogbn-*): one graph, labels per node, index splits.

The model is ``NodeInput`` followed by a GNN whose last layer outputs the classes (or tasks); the loss is
cross-entropy for multiclass labels and masked binary cross-entropy for multi-label 0/1 targets (ogbn-proteins).

Training is full batch by default: ``batches()`` yields the whole graph once per epoch. With ``batch_size > 0``
it yields ``graphkit.loader.NeighborLoader`` mini-batches instead (fan-out ``NEIGHBOURS`` per layer, seeds = the
training nodes, first ``batch.batch_size`` nodes of each sub-graph); the loader draws its seed from torch's
global generator each epoch (so checkpoints capture it) and the Trainer sets the loader's epoch counter
(``set_epoch``), so a resumed run samples the same sub-graphs.
Evaluation covers every node with the whole graph. A model whose layers read only each node's in-neighbourhood
(GraphSAGE, GIN, ...: ``BasicGNN.inference_blocker()`` is ``None``) is evaluated layer by layer over blocks of
``EVAL_BATCH`` target nodes (``BasicGNN.inference``): the same outputs up to float rounding, with two
``[N, hidden]`` layer outputs in memory instead of every layer's full-graph activations and temporaries. Other
models (GCN, GAT, ...), and graphs of at most ``EVAL_BATCH`` nodes, run one full-graph forward.
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphkit.graph import Graph
from graphkit.train.base import Task, structure
from graphkit.train.config import TrainConfig
from graphkit.train.distributed import world
from graphkit.train.metrics import metric_mode, prediction_scores
from graphkit.train.models import NodeInput, build_gnn

__all__ = ["NodeTask", "NodeModel", "NEIGHBOURS"]

NEIGHBOURS = 10  # sampled in-neighbours per node and layer in mini-batch mode
# target nodes per block of layer-wise evaluation: each block's temporaries are [EVAL_BATCH, hidden]
EVAL_BATCH = 16384


class NodeModel(nn.Module):
    r"""``out = GNN(input(x), A)``.

    Shapes:
        input: ``x`` ``(|V|, F)`` (or ``None``), ``adj`` a ``Graph`` or ``(2, |E|)`` edge index
        output: ``(|V|, C)``
    """

    def __init__(self, x: Any, num_nodes: int, cfg: TrainConfig, out_channels: int, structure: Any = None):
        super().__init__()
        self.input = NodeInput(x, num_nodes, cfg.hidden)
        self.gnn = build_gnn(cfg.model, self.input.out_channels, cfg.hidden, cfg.layers, out_channels, cfg.dropout,
                             structure)

    def forward(self, x: Any, adj: Any, num_nodes: int, n_id: Any = None) -> Tensor:
        return self.gnn(self.input(x, num_nodes, n_id), adj)

    def layerwise(self) -> bool:
        """Whether :meth:`inference` reproduces ``forward`` on the whole graph (a ``BasicGNN`` whose
        ``inference_blocker()`` is ``None``)."""
        blocker = getattr(self.gnn, "inference_blocker", None)
        return callable(blocker) and blocker() is None

    def inference(self, x: Any, adj: Any, num_nodes: int, batch_size: int) -> Tensor:
        """``forward`` over the whole graph, layer by layer in blocks of ``batch_size`` targets."""
        return self.gnn.inference(self.input(x, num_nodes), adj, batch_size)


class NodeTask(Task):
    name = "node"

    def __init__(self, dataset: Any, cfg: TrainConfig, device: torch.device,
                 fanouts: Optional[Sequence[int]] = None):
        g = dataset.graph
        if g.y is None:
            raise ValueError(f"data set {dataset.name} has no node labels (y); use --task link")
        self.task_type = dataset.task_type
        self.monitor = ("valid", dataset.eval_metric, metric_mode(dataset.eval_metric))
        self.multiclass = self.task_type == "multiclass classification"
        self.y = g.y.to(device)
        out = dataset.num_classes if self.multiclass else self.y.size(-1)
        # one symmetrised structure on the host, its CSR shared by the model (self.adj) and the training loader
        # (the sampler runs on the CPU)
        self.host_adj = structure(g, undirected=True, device=torch.device("cpu"))
        self.adj = self.host_adj if device.type == "cpu" else self.host_adj.to(device)
        self.x = g.x.to(device) if g.x is not None else None
        self.num_nodes = g.num_nodes
        self.split = {k: v.to(device) for k, v in dataset.split.items()}
        # self.model becomes the DDP wrapper under --nproc (the Trainer wraps it); self.net stays the bare model
        self.net = self.model = NodeModel(self.x, self.num_nodes, cfg, out, structure=self.adj).to(device)
        self.loader: Any = None
        rank, size = world()
        # Data parallel (DDP across `size` ranks): each rank's loss covers its own share of the training nodes,
        # and DDP averages the gradients, so one step still sees every training node once.
        self.train_idx = self.split["train"][rank::size] if size > 1 else self.split["train"]
        if cfg.batch_size > 0:
            fields = [(name, g.kind(name), g[name]) for name in ("x", "y") if name in g]
            full = Graph.trusted(self.host_adj.edge_index, self.num_nodes, fields, csr=self.host_adj.csr())
            fanouts = list(fanouts) if fanouts is not None else [NEIGHBOURS] * cfg.layers
            if size > 1:  # METIS parts, halo or fetched features, the same number of steps on every rank
                from graphkit.train.distributed import NodeBatches

                self.loader = NodeBatches(full, dataset.split["train"], fanouts, cfg.batch_size, seed=cfg.seed,
                                          remote=cfg.remote_features, cache_size=cfg.feature_cache)
            else:
                from graphkit.loader import NeighborLoader

                self.loader = NeighborLoader(full, fanouts, input_nodes=dataset.split["train"],
                                             batch_size=cfg.batch_size, shuffle=True, prefetch=0, device=device)

    def set_epoch(self, epoch: int) -> None:
        if self.loader is not None:  # the sampled sub-graphs are a function of (seed, epoch): resume replays them
            self.loader.epoch = epoch

    def _forward(self) -> Tensor:
        return self.model(self.x, self.adj, self.num_nodes)

    def batches(self) -> Iterator[Any]:
        if self.loader is None:
            yield None  # full batch
        else:
            yield from self.loader

    def loss(self, batch: Any) -> Tensor:
        if batch is None:
            idx = self.train_idx
            out, y = self._forward()[idx], self.y[idx]
        else:  # a sampled sub-graph: its first batch_size nodes are the seeds
            batch = batch.to(self.y.device)
            n = batch.batch_size
            out = self.model(batch.x, batch, batch.num_nodes, batch.n_id)[:n]
            y = batch.y[:n]
        if self.multiclass:
            return F.cross_entropy(out.float(), y.view(-1).long())
        target = y.float()
        mask = ~torch.isnan(target)
        return F.binary_cross_entropy_with_logits(out.float()[mask], target[mask])

    def _full_output(self) -> Tensor:
        """The model's output on every node: layer by layer in blocks when that reproduces ``forward``."""
        if self.num_nodes <= EVAL_BATCH or not self.net.layerwise():
            return self._forward()
        return self.net.inference(self.x, self.adj, self.num_nodes, EVAL_BATCH)

    @torch.no_grad()
    def evaluate(self) -> Dict[str, Dict[str, float]]:
        out = self._full_output()
        return {s: prediction_scores("ogbn", self.task_type, self.metric, self.y[idx], out[idx])
                for s, idx in self.split.items()}
