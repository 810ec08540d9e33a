"""MovieLens-100k top-20 recommendation: LightGCN vs recommending the most popular movies.

``graphkit.datasets.MovieLens100K`` reads recbole's copy of ML-100k (never copied into this repository) and
splits each user's ratings by time: the earliest 80% train, the next 10% valid, the latest 10% test.
``graphkit.train.recsys.RecsysTask`` (the task behind ``graphkit train --task recsys``) trains LightGCN with BPR on
uniformly sampled negatives over the LightGCN-normalised user-item graph; reported: Recall@20 and NDCG@20 on the
test interactions, with every training and validation interaction removed from the candidates.

LightGCN trains with ``graphkit.train.Trainer`` (cosine LR; the epoch with the best validation Recall@20 is kept).
The same run through the command line: ``graphkit train --task recsys``.

    python examples/movielens_lightgcn.py [--epochs 30]

Data: recbole's copy of MovieLens-100k (``pip install --no-deps recbole==1.2.1``); ``make examples`` installs the
data of every example.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from graphkit.datasets import MovieLens100K
from graphkit.train.config import TrainConfig
from graphkit.train.custom import fit_supervised
from graphkit.train.recsys import RecsysTask, split_ranking


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
    cfg = TrainConfig(task="recsys", model="lightgcn", epochs=args.epochs, hidden=args.dim,
                      layers=args.layers).resolved()
    task = RecsysTask(ds, cfg, torch.device("cpu"))
    res = fit_supervised(task, Path(args.out) / "lightgcn", cfg.epochs, lr=cfg.lr, clip=cfg.clip)
    recall, ndcg = res["final"]["test"]["recall@20"], res["final"]["test"]["ndcg@20"]
    pop = ds.item_popularity("train").double().expand(ds.num_users, -1)
    popular = split_ranking(pop, ds, "test")
    print(f"LightGCN ({args.layers} layers, d={args.dim}): Recall@20 {recall:.4f}  NDCG@20 {ndcg:.4f}  "
          f"({res['seconds']:.0f} s)")
    print(f"most popular                : Recall@20 {popular['recall@20']:.4f}  NDCG@20 {popular['ndcg@20']:.4f}")


if __name__ == "__main__":
    from _data import run_example

    run_example(main)
