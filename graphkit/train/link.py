"""Link prediction (ogbl-*): embed nodes with a GNN on the training graph, score pairs, rank against negatives.

Training: every batch of positive training edges gets as many uniformly sampled negative pairs (torch's global
RNG, so a resumed run draws the same ones); the loss is
:math:`-\\log \\sigma(s^+) - \\log(1 - \\sigma(s^-))`. With ``batch_size`` 0 (the default) every step embeds the
whole training graph and scores ``FULL_BATCH_PAIRS`` positives; with ``batch_size > 0`` the steps are
``graphkit.loader.LinkNeighborLoader`` mini-batches: ``batch_size`` positives, as many uniform negatives, and the
``NEIGHBOURS``-per-hop sampled neighbourhood of their endpoints, embedded and scored on that sub-graph (NCN's
common neighbours are then those the sample holds). The loader's seed comes from torch's global generator and
the Trainer sets its epoch, so a resumed run samples the same sub-graphs. Evaluation is full-graph inference on
the data set's own negatives: a shared pool (``edge_neg``; Hits@K, MRR against the pool, ROC-AUC) or
per-positive ones (``target_node_neg``, ogbl-citation2; MRR). ``--model ncn`` swaps the MLP scorer for the NCN
predictor, ``--model ncnc`` for NCNC (NCN with common-neighbour completion), which trains with *target link
removal*: each batch's positive pairs are removed from the graph both the GNN and the predictor see while that
batch is scored
(:func:`without_pairs`), so that a training edge is scored as a held-out one is. Its full-graph steps then draw
the negatives among the graph's non-edges (:func:`graphkit.utils.negative_sampling`, as the NCNC authors' code
does), not uniformly: with the positives' edges removed, a uniform pair that happens to be an edge would be the one
kind of pair scored with its own edge in place.
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, Iterator, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphkit.graph import Graph
from graphkit.train.base import Task, build_optimizer, shuffled_chunks, structure
from graphkit.train.config import TrainConfig
from graphkit.train.metrics import link_scores, metric_mode
from graphkit.train.models import NodeInput, build_gnn
from graphkit.train.ncn import MLPPredictor, NCNCPredictor, NCNPredictor, outside_pairs
from graphkit.utils.negative_sampling import negative_sampling

__all__ = ["LinkTask", "LinkModel", "alpha_ramp_factor", "positive_pairs", "without_pairs", "PREDICTORS",
           "FULL_BATCH_PAIRS",
           "NEIGHBOURS"]

_SCORE_CHUNK = 65536
FULL_BATCH_PAIRS = 1024  # positive pairs per full-graph step (batch_size 0)
NEIGHBOURS = 10  # sampled neighbours per endpoint and hop in mini-batch mode
# --model names that keep the GCN backbone and swap the pair scorer; every other name is a backbone + MLP scorer
PREDICTORS = {"ncn": NCNPredictor, "ncnc": NCNCPredictor}
# models trained with target link removal (the NCNC paper's); NCN keeps the behaviour it was released with
_TARGET_LINK_REMOVAL = ("ncnc",)


def positive_pairs(part: Dict[str, Tensor]) -> Tensor:
    """``[P, 2]`` positive pairs of one split part, in either of ogb's two layouts."""
    if "edge" in part:
        return part["edge"].long()
    if "source_node" in part:
        return torch.stack([part["source_node"], part["target_node"]], dim=1).long()
    raise ValueError(f"link split has neither 'edge' nor 'source_node'; keys: {sorted(part)}")


def without_pairs(g: Graph, pairs: Tensor) -> Graph:
    """A features-free copy of ``g`` without the edges of ``pairs``, in both directions (target link removal).

    >>> g = Graph(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
    >>> without_pairs(g, torch.tensor([[1, 0]])).edge_index.tolist()
    [[1, 2], [2, 1]]
    """
    return Graph(edge_index=g.edge_index[:, outside_pairs(g.edge_index, g.num_nodes, pairs)], num_nodes=g.num_nodes)


def alpha_ramp_factor(epoch: int) -> float:
    """The NCNC authors' ``increasealpha`` schedule of the completion weight, for the 0-based ``epoch``: 0 for the
    first five epochs, then 0.1, 0.2, ... up to 1 from the 15th on.

    >>> [alpha_ramp_factor(e) for e in (0, 4, 5, 9, 14, 40)]
    [0.0, 0.0, 0.1, 0.5, 1.0, 1.0]
    """
    return min(max(epoch - 4, 0), 10) / 10


def _bce(pos_out: Tensor, neg_out: Tensor) -> Tensor:
    pos_out, neg_out = pos_out.float(), neg_out.float()
    return (F.binary_cross_entropy_with_logits(pos_out, torch.ones_like(pos_out))
            + F.binary_cross_entropy_with_logits(neg_out, torch.zeros_like(neg_out)))


class LinkModel(nn.Module):
    r"""``h = GNN(input(x), A)``; ``s(i, j) = predictor(h, A, (i, j))``.

    Shapes:
        input: ``x`` ``(|V|, F)`` or ``None``; ``pairs`` ``(P, 2)``
        output: ``(P,)`` logits
    """

    def __init__(self, x: Any, num_nodes: int, cfg: TrainConfig, structure: Any = None,
                 predictor_options: Optional[Dict[str, Any]] = None):
        super().__init__()
        predictor = PREDICTORS.get(cfg.model.lower())
        if predictor_options and predictor is None:
            raise ValueError(f"predictor_options are for the NCN / NCNC predictors, got model {cfg.model!r}")
        if predictor_options:
            known = _options_of(predictor) - {"hidden", "dropout"}
            unknown = sorted(set(predictor_options) - known)
            if unknown:
                raise ValueError(f"predictor_options has unknown option {unknown[0]!r} for {predictor.__name__} "
                                 f"(it takes {', '.join(sorted(known))})")
        self.input = NodeInput(x, num_nodes, cfg.hidden)
        self.gnn = build_gnn("gcn" if predictor else cfg.model, self.input.out_channels, cfg.hidden, cfg.layers,
                             cfg.hidden, cfg.dropout, structure)
        self.predictor = (predictor or MLPPredictor)(cfg.hidden, cfg.dropout, **(predictor_options or {}))

    def embed(self, x: Any, adj: Any, num_nodes: int, n_id: Any = None) -> Tensor:
        """``n_id``: the global ids of a sampled sub-graph's nodes (featureless graphs look their rows up)."""
        return self.gnn(self.input(x, num_nodes, n_id), adj)


def _options_of(cls: type) -> set:
    """The keyword arguments ``cls(...)`` accepts, following ``**kwargs`` that ``__init__`` hands to its base."""
    names: set = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass) or klass is nn.Module:
            continue
        params = inspect.signature(vars(klass)["__init__"]).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


class LinkTask(Task):
    name = "link"

    def __init__(self, dataset: Any, cfg: TrainConfig, device: torch.device,
                 fanouts: Optional[Sequence[int]] = None, predictor_options: Optional[Dict[str, Any]] = None,
                 gnn_lr: Optional[float] = None, predictor_lr: Optional[float] = None, alpha_ramp: bool = False):
        """``fanouts``: sampled neighbours per hop in mini-batch mode (default ``NEIGHBOURS`` per layer; ``-1``
        takes every neighbour). ``predictor_options``: keyword arguments of the NCN / NCNC predictor (its layout
        and, for NCNC, its calibration). ``gnn_lr`` / ``predictor_lr``: the learning rates of the node input and
        GNN / of the predictor (default ``cfg.lr`` each; the NCNC authors tune them apart as ``gnnlr`` /
        ``prelr``; ``gnn_lr=0`` freezes the GNN). ``alpha_ramp``: NCNC's completion weights are scaled by
        :func:`alpha_ramp_factor` of the epoch (the authors' ``increasealpha``: no completion for 5 epochs,
        then a tenth more each epoch)."""
        for field, value in (("gnn_lr", gnn_lr), ("predictor_lr", predictor_lr)):
            if value is not None and not value >= 0:
                raise ValueError(f"{field} must be non-negative, got {value}")
        g = dataset.graph
        if isinstance(g, dict):
            raise ValueError(f"{dataset.name} is a heterogeneous knowledge graph; --task link supports "
                             "homogeneous graphs only")
        self.monitor, self.device = ("valid", dataset.eval_metric, metric_mode(dataset.eval_metric)), device
        self.batch_size = cfg.batch_size or FULL_BATCH_PAIRS
        self.num_nodes = g.num_nodes
        self.adj = structure(g, undirected=True, device=device)
        self.x = g.x.to(device) if g.x is not None else None
        self.split = dataset.split
        self.train_pos = positive_pairs(self.split["train"])
        self.model = LinkModel(self.x, self.num_nodes, cfg, structure=self.adj,
                               predictor_options=predictor_options).to(device)
        self.target_link_removal = cfg.model.lower() in _TARGET_LINK_REMOVAL
        self.lrs = (gnn_lr, predictor_lr)
        if alpha_ramp and not isinstance(self.model.predictor, NCNCPredictor):
            raise ValueError(f"alpha_ramp is for NCNC, got model {cfg.model!r}")
        self.alpha = self.model.predictor.alpha if alpha_ramp else None  # the completion weight at full ramp
        self.loader: Any = None
        if cfg.batch_size > 0:
            from graphkit.loader import LinkNeighborLoader

            full = Graph(edge_index=self.adj.edge_index.cpu(), x=g.x, num_nodes=self.num_nodes)
            fanouts = list(fanouts) if fanouts is not None else [NEIGHBOURS] * cfg.layers
            self.loader = LinkNeighborLoader(full, fanouts, edge_label_index=self.train_pos.t(),
                                             neg_sampling_ratio=1.0, batch_size=cfg.batch_size, shuffle=True,
                                             prefetch=0, device=device)

    def configure_optimizers(self, cfg: Any) -> torch.optim.Optimizer:
        gnn_lr, predictor_lr = self.lrs
        if gnn_lr is None and predictor_lr is None:
            return super().configure_optimizers(cfg)
        predictor = list(self.model.predictor.parameters())
        ids = {id(p) for p in predictor}
        rest = [p for p in self.model.parameters() if id(p) not in ids]
        groups = [{"params": rest, "lr": cfg.lr if gnn_lr is None else gnn_lr},
                  {"params": predictor, "lr": cfg.lr if predictor_lr is None else predictor_lr}]
        return build_optimizer(groups, cfg.optimizer, cfg.lr, cfg.weight_decay)

    def set_epoch(self, epoch: int) -> None:
        if self.loader is not None:  # the sampled sub-graphs are a function of (seed, epoch): resume replays them
            self.loader.epoch = epoch
        if self.alpha is not None:  # a function of the epoch alone, so a resumed run ramps as the first did
            self.model.predictor.alpha = self.alpha * alpha_ramp_factor(epoch)

    def _embed(self, adj: Any = None) -> Tensor:
        return self.model.embed(self.x, self.adj if adj is None else adj, self.num_nodes)

    def _score(self, h: Tensor, pairs: Tensor, remove: Any = None) -> Tensor:
        pairs = pairs.to(self.device)
        if not pairs.numel():
            return h.new_zeros(0)
        # the predictor reads its structure off the memoised self.adj, less the removed pairs
        return torch.cat([self.model.predictor(h, self.adj, pairs[i:i + _SCORE_CHUNK], remove)
                          for i in range(0, pairs.size(0), _SCORE_CHUNK)])

    def batches(self) -> Iterator[Any]:
        if self.loader is not None:
            yield from self.loader
            return
        for chunk in shuffled_chunks(self.train_pos.size(0), self.batch_size):
            pos = self.train_pos[chunk]
            if self.target_link_removal:
                # a positive never keeps its own edge here, so a uniform "negative" that is an edge would be the
                # only kind of pair scored with its edge in place: the edge would mark it as negative (the authors'
                # code draws non-edges); 20% of uniform pairs are edges of ogbl-connectome, 34% of the UMLS view
                yield pos, negative_sampling(self.adj.edge_index, self.num_nodes, pos.size(0)).t()
            else:
                yield pos, torch.randint(0, self.num_nodes, pos.shape)

    def loss(self, batch: Any) -> Tensor:
        if isinstance(batch, Graph):
            return self._sampled_loss(batch)
        pos, neg = (t.to(self.device) for t in batch)  # non-edge negatives come from self.adj, on the device
        remove = pos if self.target_link_removal else None
        if remove is None:
            h = self._embed()
            return _bce(self._score(h, pos), self._score(h, neg))
        h = self._embed(without_pairs(self.adj, remove))
        # one call: NCNC's completion then scores each missing link once for positives and negatives together
        out = self._score(h, torch.cat([pos, neg]), remove)
        return _bce(out[: pos.size(0)], out[pos.size(0):])

    def _sampled_loss(self, b: Graph) -> Tensor:
        """The loss of a ``LinkNeighborLoader`` batch, on its sub-graph (local ids, positives labelled 1)."""
        b = b.to(self.device)
        pairs, label = b.edge_label_index.t(), b.edge_label
        pos, neg = pairs[label > 0.5], pairs[label <= 0.5]
        remove = pos if self.target_link_removal else None
        if isinstance(self.model.predictor, MLPPredictor) and remove is None:
            mp: Any = b  # the GNN trims the batch to the rows of its seeds (the endpoints), all the MLP reads
        else:  # NCN reads its neighbours' rows too (an untrimmed copy), and common neighbours are rows of an
            # undirected A, while a sampled batch holds each sampled edge in one direction (neighbour -> seed)
            mp = structure(b, undirected=True, device=self.device)
            mp = mp if remove is None else without_pairs(mp, remove)
        h = self.model.embed(b.x, mp, b.num_nodes, b.n_id)
        out = self.model.predictor(h, mp, torch.cat([pos, neg]))  # mp already lacks the removed pairs
        return _bce(out[: pos.size(0)], out[pos.size(0):])

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
