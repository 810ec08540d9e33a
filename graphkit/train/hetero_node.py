r"""Node prediction on a heterogeneous graph (ogbn-mag and the ogbn-mag-format fixtures) with R-GCN.

As OGB's reference for ogbn-mag: node types with features go through a per-type linear map, featureless types
(mag's author, institution, field; the fixture's genre) get a learned embedding per node, every relation gets a
reverse relation (so messages reach every type), and ``layers`` relational convolutions (``graphkit.nn.RGCNConv``
on the graph's one typed structure: global ids, ``edge_type`` per edge) produce the class logits of the labelled
type:

.. math::
    h^{(0)}_v = W_{\tau(v)} x_v \ \text{or}\ E_{\tau(v)}[v], \qquad
    h^{(l+1)}_i = \Theta_{\mathrm{root}} h^{(l)}_i + \sum_r \frac{1}{|\mathcal N_r(i)|}
    \sum_{j \in \mathcal N_r(i)} \Theta_r h^{(l)}_j

Full batch; the loss is cross-entropy on the training nodes of the labelled type, scored by ogb's ``Evaluator``.
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphkit.hetero import HeteroGraph
from graphkit.train.base import Task
from graphkit.train.config import TrainConfig
from graphkit.train.metrics import metric_mode, prediction_scores

__all__ = ["HeteroNodeTask", "HeteroRGCN", "with_reverse", "labelled_type"]


def with_reverse(h: HeteroGraph) -> HeteroGraph:
    """Structure only: every edge type plus ``(dst, "rev_" + rel, src)`` (skipped where it exists already)."""
    out = HeteroGraph({nt: n for nt, n in h.num_nodes_dict.items()})
    for et, store in h.edge_items():
        out.edge_store(et).set("edge_index", store["edge_index"])
    for (src, rel, dst), store in h.edge_items():
        rev = (dst, f"rev_{rel}", src)
        if rev not in out.edge_types:
            out.edge_store(rev).set("edge_index", store["edge_index"].flip(0))
    return out


def labelled_type(h: HeteroGraph, split: Dict[str, Any]) -> str:
    """The node type whose labels (``y``) the split indexes."""
    types = [nt for nt in split.get("train", {}) if nt in h.node_types] if isinstance(split.get("train"), dict) \
        else []
    if len(types) != 1 or h[types[0]].y is None:
        raise ValueError(f"a heterogeneous node split must index one labelled node type; split types {types}, "
                         f"labelled types {[nt for nt, s in h.node_items() if 'y' in s]}")
    return types[0]


class HeteroRGCN(nn.Module):
    r"""Per-type input (linear or learned embedding), then R-GCN layers on the typed structure.

    Shapes:
        input: ``x_dict`` ``{type: (|V_t|, F_t)}`` for the featured types; ``graph`` a ``HeteroGraph``
        output: ``(|V_target|, C)``
    """

    def __init__(self, graph: HeteroGraph, x_dict: Dict[str, Tensor], target: str, hidden: int, layers: int,
                 out_channels: int, dropout: float) -> None:
        super().__init__()
        from graphkit.nn import RGCNConv

        self.types: List[str] = graph.node_types
        self.target = target
        self.lin = nn.ModuleDict({nt: nn.Linear(x.size(-1), hidden) for nt, x in x_dict.items()})
        self.emb = nn.ParameterDict({nt: nn.Parameter(torch.empty(n, hidden)) for nt, n in
                                     graph.num_nodes_dict.items() if nt not in x_dict})
        for p in self.emb.values():
            nn.init.xavier_uniform_(p)
        r = len(graph.edge_types)
        dims = [hidden] * layers + [out_channels]
        self.convs = nn.ModuleList(RGCNConv(dims[i], dims[i + 1], r) for i in range(layers))
        self.dropout = dropout

    def forward(self, x_dict: Dict[str, Tensor], graph: HeteroGraph) -> Tensor:
        missing = [nt for nt in self.lin if nt not in x_dict]
        if missing:
            raise ValueError(f"node type {missing[0]!r} has no field 'x', which HeteroRGCN needs")
        h = torch.cat([self.lin[nt](x_dict[nt]) if nt in self.lin else self.emb[nt] for nt in self.types])
        for i, conv in enumerate(self.convs):
            h = conv(h, graph, graph.edge_type)  # the HeteroGraph is the structure: one CSR for all relations
            if i < len(self.convs) - 1:
                h = F.dropout(F.relu(h), self.dropout, self.training)
        start = graph.node_offset[self.target]
        return h[start:start + graph.num_nodes_dict[self.target]]


class HeteroNodeTask(Task):
    name = "hetero"

    def __init__(self, dataset: Any, cfg: TrainConfig, device: torch.device):
        g = dataset.graph
        if not isinstance(g, HeteroGraph):
            raise ValueError(f"{dataset.name} is not a heterogeneous graph; use --task node")
        self.target = labelled_type(g, dataset.split)
        self.task_type = dataset.task_type
        self.monitor = ("valid", dataset.eval_metric, metric_mode(dataset.eval_metric))
        self.y = g[self.target].y.to(device)
        self.split = {s: part[self.target].to(device) for s, part in dataset.split.items()}
        self.graph = with_reverse(g).to(device)
        self.x_dict = {nt: x.float().to(device) for nt, x in g.x_dict.items()}
        out = dataset.num_classes if self.task_type == "multiclass classification" else self.y.size(-1)
        self.model = HeteroRGCN(self.graph, self.x_dict, self.target, cfg.hidden, cfg.layers, out,
                                cfg.dropout).to(device)

    def batches(self) -> Iterator[Any]:
        yield None  # full batch

    def loss(self, batch: Any) -> Tensor:
        idx = self.split["train"]
        out = self.model(self.x_dict, self.graph)[idx]
        if self.task_type == "multiclass classification":
            return F.cross_entropy(out.float(), self.y[idx].view(-1).long())
        target = self.y[idx].float()
        mask = ~torch.isnan(target)
        return F.binary_cross_entropy_with_logits(out.float()[mask], target[mask])

    @torch.no_grad()
    def evaluate(self) -> Dict[str, Dict[str, float]]:
        out = self.model(self.x_dict, self.graph)
        return {s: prediction_scores("ogbn", self.task_type, self.metric, self.y[idx], out[idx])
                for s, idx in self.split.items()}
