r"""Top-K recommendation (``--task recsys``): user and item embeddings trained on implicit feedback, scored by
full-ranking Recall@20 and NDCG@20.

The data set is a user-item interaction set with a ``train``/``valid``/``test`` split of its interactions
(:class:`graphkit.datasets.MovieLens100K`: ``num_users``, ``num_items``, ``pairs(split)``, ``train_graph()``).
Models (``--model``):

* ``lightgcn`` (He et al., 2020; :class:`graphkit.nn.LightGCN`): ``layers`` propagations over the normalised
  training graph :math:`\tilde A = D^{-1/2} A D^{-1/2}`, the layer mean as embedding, BPR loss
  :math:`-\ln\sigma(s_{ui} - s_{uj})` on one uniformly drawn unseen item :math:`j` per training pair, plus
  :math:`10^{-4}` times the L2 norm of the batch's input embeddings (the paper's regulariser);
* ``ultragcn`` (Mao et al., 2021; :class:`graphkit.nn.UltraGCN`): no message passing; the constraint loss of
  infinitely many convolutions, ``ULTRAGCN["negatives"]`` unseen items per training pair, the item-item
  constraint over ``ULTRAGCN["neighbours"]`` co-occurrence neighbours.

``hidden`` is the embedding size, ``batch_size`` the training pairs per step; negatives come from torch's
global generator, so a resumed run draws the same ones. Evaluation ranks every item for every user (a
``[U, I]`` score matrix; no sampled candidates) after removing the items of the user's earlier splits (train for
valid; train and valid for test; nothing for train, whose score is only a curve), through
:func:`graphkit.train.metrics.ranking_scores`.

>>> from graphkit.train.config import TrainConfig
>>> cfg = TrainConfig(task="recsys", model="ultragcn").resolved()
>>> cfg.lr, cfg.batch_size, cfg.clip
(0.01, 1024, 0.0)
"""
from __future__ import annotations

import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
from torch import Tensor

from graphkit.data.recsys import NegativeSampler
from graphkit.train.base import Task, shuffled_chunks
from graphkit.train.config import MODELS, TrainConfig
from graphkit.train.metrics import ranking_scores

__all__ = ["RecsysTask", "RECSYS_MODELS", "ULTRAGCN", "LIGHTGCN_L2", "TOP_K", "EARLIER", "split_ranking"]

RECSYS_MODELS = MODELS["recsys"]
TOP_K = 20
LIGHTGCN_L2 = 1e-4  # BPR's L2 weight on the batch's input embeddings (LightGCN's paper)
# UltraGCN's settings that TrainConfig has no field for; negatives also weigh the negative term (nu = N)
ULTRAGCN: Dict[str, Any] = {"negatives": 50, "neighbours": 10, "gamma": 1e-4, "lambda_": 1e-3}
# the splits whose items a split's ranking leaves out (the user has them already)
EARLIER = {"train": (), "valid": ("train",), "test": ("train", "valid")}
_NEEDS = ("num_users", "num_items", "pairs", "split", "train_graph")


def split_ranking(scores: Tensor, dataset: Any, split: str, k: int = TOP_K) -> Dict[str, float]:
    """Recall@k and NDCG@k of ``split``'s interactions under ``scores [U, I]``, the items of the earlier splits
    (:data:`EARLIER`) removed from each user's candidates."""
    if split not in EARLIER:
        raise ValueError(f"split must be one of {', '.join(EARLIER)}, got {split!r}")
    seen = [dataset.pairs(s) for s in EARLIER[split]]
    exclude = (torch.cat([u for u, _ in seen]), torch.cat([i for _, i in seen])) if seen else None
    return ranking_scores(scores, dataset.pairs(split), exclude, k)


class RecsysTask(Task):
    """Recommendation on a user-item data set with LightGCN or UltraGCN (see the module docstring).

    ``ultragcn`` overrides entries of :data:`ULTRAGCN` (``negatives``, ``neighbours``, ``gamma``, ``lambda_``).
    ``train_seconds`` lists, per epoch trained in this process, the seconds from the epoch's start to its
    evaluation: training alone, what a comparison of training speed reads; ``train_cpu_seconds`` the CPU seconds
    this process spent in the same span (all its threads), which a busy shared machine inflates far less.
    """

    name = "recsys"

    def __init__(self, dataset: Any, cfg: TrainConfig, device: torch.device,
                 ultragcn: Optional[Dict[str, Any]] = None) -> None:
        missing = [a for a in _NEEDS if not hasattr(dataset, a)]
        if missing:
            raise ValueError(f"{getattr(dataset, 'name', type(dataset).__name__)} is not a user-item interaction "
                             f"data set (it lacks {', '.join(missing)}); --task recsys needs one (movielens-100k)")
        kind = cfg.model.lower()  # --model is case-insensitive, as TrainConfig's check and defaults are
        if kind not in RECSYS_MODELS:
            raise ValueError(f"model for recsys must be one of {', '.join(RECSYS_MODELS)}, got {cfg.model!r}")
        options = {**ULTRAGCN, **(ultragcn or {})}
        unknown = sorted(set(options) - set(ULTRAGCN))
        if unknown:
            raise ValueError(f"ultragcn has unknown setting {unknown[0]!r}; known: {', '.join(ULTRAGCN)}")
        self.dataset, self.device, self.kind = dataset, device, kind
        self.monitor = ("valid", f"recall@{TOP_K}", "max")
        self.batch_size = cfg.batch_size
        self.num_users, self.num_items = dataset.num_users, dataset.num_items
        self.train_u, self.train_i = dataset.pairs("train")
        self.negatives = NegativeSampler(self.num_items, self.train_u, self.train_i)
        self.train_seconds: List[float] = []
        self.train_cpu_seconds: List[float] = []
        self._epoch_start: Optional[Tuple[float, float]] = None
        if self.kind == "lightgcn":
            from graphkit.nn import LightGCN

            self.graph = dataset.train_graph().to(device)  # edge_weight: LightGCN's 1/sqrt(d_u d_i)
            self.model = LightGCN(self.num_users + self.num_items, cfg.hidden, cfg.layers, normalize=False).to(device)
        else:
            from graphkit.nn import UltraGCN

            self.num_negatives = int(options["negatives"])
            self.model = UltraGCN(self.num_users, self.num_items, cfg.hidden, self.train_u, self.train_i,
                                  num_neighbours=int(options["neighbours"]), negative_weight=float(self.num_negatives),
                                  gamma=float(options["gamma"]), lambda_=float(options["lambda_"])).to(device)

    def set_epoch(self, epoch: int) -> None:
        self._epoch_start = (time.perf_counter(), time.process_time())

    def batches(self) -> Iterator[Tensor]:
        return shuffled_chunks(self.train_u.numel(), self.batch_size)

    def _embeddings(self) -> Tuple[Tensor, Tensor]:
        """LightGCN's propagated ``(users [U, d], items [I, d])``."""
        emb = self.model.get_embedding(self.graph, self.graph.edge_weight)
        return emb[:self.num_users], emb[self.num_users:]

    def loss(self, chunk: Tensor) -> Tensor:
        u, i = self.train_u[chunk], self.train_i[chunk]
        if self.kind == "ultragcn":
            j = self.negatives(u, self.num_negatives)  # torch's global RNG: the Trainer's checkpoints capture it
            return self.model(u.to(self.device), i.to(self.device), j.to(self.device))
        j = self.negatives(u).view(-1)
        users, items = self._embeddings()
        u, i, j = u.to(self.device), i.to(self.device), j.to(self.device)
        pos = (users[u] * items[i]).sum(-1)
        neg = (users[u] * items[j]).sum(-1)
        nu = self.num_users
        return self.model.recommendation_loss(pos, neg, node_id=torch.cat([u, nu + i, nu + j]),
                                              lambda_reg=LIGHTGCN_L2)

    @torch.no_grad()
    def scores(self) -> Tensor:
        """``[U, I]``: every user's score for every item."""
        if self.kind == "ultragcn":
            return self.model.scores()
        users, items = self._embeddings()
        return users @ items.t()

    @torch.no_grad()
    def evaluate(self) -> Dict[str, Dict[str, float]]:
        if self._epoch_start is not None:  # the Trainer evaluates right after an epoch's last step
            self.train_seconds.append(time.perf_counter() - self._epoch_start[0])
            self.train_cpu_seconds.append(time.process_time() - self._epoch_start[1])
            self._epoch_start = None
        scores = self.scores()
        return {split: split_ranking(scores, self.dataset, split) for split in EARLIER}
