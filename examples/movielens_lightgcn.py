"""MovieLens-100k top-20 recommendation: LightGCN vs recommending the most popular movies.

``graphkit.datasets.MovieLens100K`` reads recbole's copy of ML-100k (never copied into this repository) and
splits each user's ratings by time: the earliest 80% train, the next 10% valid, the latest 10% test.
``interactions_to_graph`` gives the user-item graph with LightGCN's 1/sqrt(d_u d_i) weights; LightGCN is trained
with BPR on uniformly sampled negatives (``NegativeSampler``). Reported: Recall@20 and NDCG@20 on the test
interactions, with every training and validation interaction removed from the candidates.

LightGCN trains with ``graphkit.train.Trainer`` (cosine LR; the epoch with the best validation Recall@20 is kept).

    python examples/movielens_lightgcn.py [--epochs 30]

Data: recbole's copy of MovieLens-100k (``pip install --no-deps recbole==1.2.1``); ``make examples`` installs the
data of every example.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, Iterator

import torch

from graphkit.data.recsys import NegativeSampler, ndcg_at_k, recall_at_k, top_k_items
from graphkit.datasets import MovieLens100K
from graphkit.nn import LightGCN
from graphkit.train.base import Task, shuffled_chunks
from graphkit.train.custom import fit_supervised


def evaluate(scores: torch.Tensor, ds: MovieLens100K, split: str = "test", k: int = 20) -> tuple:
    """Recall@k and NDCG@k of ``split``'s interactions, every earlier split's items removed from the candidates."""
    earlier = {"train": [], "valid": ["train"], "test": ["train", "valid"]}[split]
    seen = torch.cat([ds.split[s] for s in earlier]) if earlier else torch.zeros(0, dtype=torch.long)
    topk = top_k_items(scores, k, ds.users[seen], ds.items[seen])
    target_u, target_i = ds.pairs(split)
    return recall_at_k(topk, target_u, target_i, k), ndcg_at_k(topk, target_u, target_i, k)


class BPRTask(Task):
    """LightGCN trained with BPR on uniformly sampled negatives; Recall@20 on every split (valid selects)."""

    monitor = ("valid", "recall@20", "max")

    def __init__(self, model: LightGCN, ds: MovieLens100K, batch_size: int = 8192) -> None:
        self.model, self.ds, self.batch_size = model, ds, batch_size
        self.graph = ds.train_graph()  # LightGCN-normalised edge_weight
        self.train_u, self.train_i = ds.pairs("train")
        self.negatives = NegativeSampler(ds.num_items, self.train_u, self.train_i)

    def batches(self) -> Iterator[torch.Tensor]:
        return shuffled_chunks(len(self.train_u), self.batch_size)

    def loss(self, chunk: torch.Tensor) -> torch.Tensor:
        nu = self.ds.num_users
        u, i = self.train_u[chunk], self.train_i[chunk]
        j = self.negatives(u).view(-1)  # torch's global RNG: the Trainer's checkpoints capture it
        emb = self.model.get_embedding(self.graph, self.graph.edge_weight)
        pos = (emb[u] * emb[nu + i]).sum(-1)
        neg = (emb[u] * emb[nu + j]).sum(-1)
        return self.model.recommendation_loss(pos, neg, node_id=torch.cat([u, nu + i, nu + j]), lambda_reg=1e-4)

    def scores(self) -> torch.Tensor:
        nu = self.ds.num_users
        emb = self.model.get_embedding(self.graph, self.graph.edge_weight)
        return emb[:nu] @ emb[nu:].t()

    @torch.no_grad()
    def evaluate(self) -> Dict[str, Dict[str, float]]:
        scores = self.scores()
        out = {}
        for split in ("train", "valid", "test"):
            recall, ndcg = evaluate(scores, self.ds, split)
            out[split] = {self.metric: recall, "ndcg@20": ndcg}
        return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--out", default="runs/examples/movielens_lightgcn", help="the run folder")
    args = parser.parse_args()
    torch.manual_seed(0)
    ds = MovieLens100K(root=args.root)
    print(ds)
    nu = ds.num_users
    task = BPRTask(LightGCN(nu + ds.num_items, args.dim, args.layers, normalize=False), ds)
    # BPR's gradients are small and well behaved: no clipping, as in the LightGCN paper
    res = fit_supervised(task, Path(args.out) / "lightgcn", args.epochs, lr=5e-3, clip=0.0)
    recall, ndcg = res["final"]["test"]["recall@20"], res["final"]["test"]["ndcg@20"]
    pop = ds.item_popularity("train").double()
    pop_recall, pop_ndcg = evaluate(pop.expand(nu, -1), ds)
    print(f"LightGCN ({args.layers} layers, d={args.dim}): Recall@20 {recall:.4f}  NDCG@20 {ndcg:.4f}  "
          f"({res['seconds']:.0f} s)")
    print(f"most popular                : Recall@20 {pop_recall:.4f}  NDCG@20 {pop_ndcg:.4f}")


if __name__ == "__main__":
    from _data import run_example

    run_example(main)
