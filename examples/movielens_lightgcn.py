"""MovieLens-100k top-20 recommendation: LightGCN vs recommending the most popular movies.

``graphkit.datasets.MovieLens100K`` reads recbole's copy of ML-100k (never copied into this repository) and
splits each user's ratings by time: the earliest 80% train, the next 10% valid, the latest 10% test.
``interactions_to_graph`` gives the user-item graph with LightGCN's 1/sqrt(d_u d_i) weights; LightGCN is trained
with BPR on uniformly sampled negatives (``NegativeSampler``). Reported: Recall@20 and NDCG@20 on the test
interactions, with every training and validation interaction removed from the candidates.

    python examples/movielens_lightgcn.py [--epochs 30]
"""
from __future__ import annotations

import argparse
import time

import torch

from graphkit.data.recsys import NegativeSampler, ndcg_at_k, recall_at_k, top_k_items
from graphkit.datasets import MovieLens100K
from graphkit.nn import LightGCN


def evaluate(scores: torch.Tensor, ds: MovieLens100K, k: int = 20) -> tuple:
    seen = torch.cat([ds.split["train"], ds.split["valid"]])
    topk = top_k_items(scores, k, ds.users[seen], ds.items[seen])
    test_u, test_i = ds.pairs("test")
    return recall_at_k(topk, test_u, test_i, k), ndcg_at_k(topk, test_u, test_i, k)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--layers", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    ds = MovieLens100K(root=args.root)
    graph = ds.train_graph()  # LightGCN-normalised edge_weight
    print(ds)
    nu = ds.num_users
    model = LightGCN(nu + ds.num_items, args.dim, args.layers, normalize=False)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    train_u, train_i = ds.pairs("train")
    gen = torch.Generator().manual_seed(0)
    negatives = NegativeSampler(ds.num_items, train_u, train_i)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for chunk in torch.randperm(len(train_u), generator=gen).split(8192):
            u, i = train_u[chunk], train_i[chunk]
            j = negatives(u, generator=gen).view(-1)
            emb = model.get_embedding(graph, graph.edge_weight)
            pos = (emb[u] * emb[nu + i]).sum(-1)
            neg = (emb[u] * emb[nu + j]).sum(-1)
            loss = model.recommendation_loss(pos, neg, node_id=torch.cat([u, nu + i, nu + j]), lambda_reg=1e-4)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(chunk)
        if (epoch + 1) % 10 == 0:
            print(f"  epoch {epoch + 1}: BPR loss {total / len(train_u):.4f}", flush=True)
    t_train = time.time() - t0
    model.eval()
    with torch.no_grad():
        emb = model.get_embedding(graph, graph.edge_weight)
        recall, ndcg = evaluate(emb[:nu] @ emb[nu:].t(), ds)
    pop = ds.item_popularity("train").double()
    pop_recall, pop_ndcg = evaluate(pop.expand(nu, -1), ds)
    print(f"LightGCN ({args.layers} layers, d={args.dim}): Recall@20 {recall:.4f}  NDCG@20 {ndcg:.4f}  ({t_train:.0f} s)")
    print(f"most popular                : Recall@20 {pop_recall:.4f}  NDCG@20 {pop_ndcg:.4f}")


if __name__ == "__main__":
    main()
