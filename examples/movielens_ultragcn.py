"""MovieLens-100k top-20 recommendation: UltraGCN vs LightGCN, and the wall-clock time each needs.

Same data, split and metrics as ``movielens_lightgcn.py`` (time split per user 80/10/10; Recall@20 and NDCG@20 on
the test interactions, earlier interactions removed from the candidates). Both models train here in one plain
loop (Adam, constant learning rate, uniformly sampled negatives), evaluated on validation after every epoch; the
epoch with the best validation Recall@20 is the one whose test scores are reported. Training time excludes
evaluation.

UltraGCN (``graphkit.nn.UltraGCN``) replaces message passing by its constraint loss: per positive pair
``--negatives`` sampled negatives, the beta-weighted BCE and the item-item constraint over the
``--neighbours`` strongest co-occurrence neighbours. LightGCN: 3 layers, d = 64, BPR, lr 5e-3, batch 8192 as in
``movielens_lightgcn.py``. The paper's speed claim is checked as: seconds of training until UltraGCN's
validation Recall@20 first reaches LightGCN's best validation Recall@20, against the seconds LightGCN needs for
that best epoch (same process, same machine load).

    python examples/movielens_ultragcn.py [--seeds 5] [--epochs 30] [--lightgcn-epochs 30]

Data: recbole's copy of MovieLens-100k (``pip install --no-deps recbole==1.2.1``).
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, Dict, List

import torch

from graphkit.data.recsys import NegativeSampler
from graphkit.datasets import MovieLens100K
from graphkit.nn import LightGCN, UltraGCN
from movielens_lightgcn import evaluate


def train(step: Callable[[torch.Tensor], torch.Tensor], params, scores: Callable[[], torch.Tensor],
          ds: MovieLens100K, epochs: int, batch: int, lr: float) -> List[Dict[str, float]]:
    """Adam over shuffled chunks of the training pairs; per epoch the cumulative training seconds and the
    validation / test Recall@20 and NDCG@20."""
    opt = torch.optim.Adam(params, lr=lr)
    n = ds.split["train"].numel()
    seconds, log = 0.0, []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for chunk in torch.randperm(n).split(batch):
            opt.zero_grad()
            step(chunk).backward()
            opt.step()
        seconds += time.perf_counter() - t0
        with torch.no_grad():
            s = scores()
            (vr, vn), (tr, tn) = evaluate(s, ds, "valid"), evaluate(s, ds, "test")
        log.append({"seconds": seconds, "valid": vr, "valid_ndcg": vn, "test": tr, "test_ndcg": tn})
    return log


def run_lightgcn(ds: MovieLens100K, args: argparse.Namespace) -> List[Dict[str, float]]:
    nu = ds.num_users
    model = LightGCN(nu + ds.num_items, 64, 3, normalize=False)
    graph = ds.train_graph()
    u, i = ds.pairs("train")
    sampler = NegativeSampler(ds.num_items, u, i)

    def step(chunk: torch.Tensor) -> torch.Tensor:
        j = sampler(u[chunk]).view(-1)
        emb = model.get_embedding(graph, graph.edge_weight)
        pos = (emb[u[chunk]] * emb[nu + i[chunk]]).sum(-1)
        neg = (emb[u[chunk]] * emb[nu + j]).sum(-1)
        return model.recommendation_loss(pos, neg, node_id=torch.cat([u[chunk], nu + i[chunk], nu + j]),
                                         lambda_reg=1e-4)

    def scores() -> torch.Tensor:
        emb = model.get_embedding(graph, graph.edge_weight)
        return emb[:nu] @ emb[nu:].t()

    return train(step, model.parameters(), scores, ds, args.lightgcn_epochs, 8192, 5e-3)


def run_ultragcn(ds: MovieLens100K, args: argparse.Namespace) -> List[Dict[str, float]]:
    u, i = ds.pairs("train")
    model = UltraGCN(ds.num_users, ds.num_items, 64, u, i, num_neighbours=args.neighbours,
                     negative_weight=float(args.negatives), gamma=args.gamma, lambda_=args.lambda_)
    sampler = NegativeSampler(ds.num_items, u, i)

    def step(chunk: torch.Tensor) -> torch.Tensor:
        return model(u[chunk], i[chunk], sampler(u[chunk], args.negatives))

    return train(step, model.parameters(), model.scores, ds, args.epochs, args.batch, args.lr)


def best(log: List[Dict[str, float]]) -> Dict[str, float]:
    return max(log, key=lambda r: r["valid"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30, help="UltraGCN epochs")
    parser.add_argument("--lightgcn-epochs", type=int, default=30)
    parser.add_argument("--negatives", type=int, default=50, help="negatives per positive (also their weight)")
    parser.add_argument("--neighbours", type=int, default=10, help="item-item constraint neighbours")
    parser.add_argument("--gamma", type=float, default=1e-4)
    parser.add_argument("--lambda_", type=float, default=1e-3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=1024)
    args = parser.parse_args()
    ds = MovieLens100K(root=args.root)
    print(ds)
    rows = {"lightgcn": [], "ultragcn": []}
    reach = []
    for seed in range(args.seeds):
        torch.manual_seed(seed)
        light = run_lightgcn(ds, args)
        torch.manual_seed(seed)
        ultra = run_ultragcn(ds, args)
        lb, ub = best(light), best(ultra)
        rows["lightgcn"].append(lb)
        rows["ultragcn"].append(ub)
        hit = next((r["seconds"] for r in ultra if r["valid"] >= lb["valid"]), float("nan"))
        reach.append((lb["seconds"], hit))
        print(f"seed {seed}: LightGCN best valid R@20 {lb['valid']:.4f} after {lb['seconds']:.1f} s (test "
              f"{lb['test']:.4f} / {lb['test_ndcg']:.4f}); UltraGCN best valid {ub['valid']:.4f} after "
              f"{ub['seconds']:.1f} s (test {ub['test']:.4f} / {ub['test_ndcg']:.4f}); UltraGCN reaches "
              f"LightGCN's best valid R@20 after {hit:.1f} s", flush=True)

    def ms(values: List[float]) -> str:
        return f"{statistics.mean(values):.4f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.4f}"

    for name, r in rows.items():
        print(f"{name:9s}: test Recall@20 {ms([x['test'] for x in r])}  NDCG@20 {ms([x['test_ndcg'] for x in r])}"
              f"  (best epoch after {ms([x['seconds'] for x in r])} s of training)")
    print(f"seconds to LightGCN's best valid Recall@20: LightGCN {ms([a for a, _ in reach])}, "
          f"UltraGCN {ms([b for _, b in reach])}")


if __name__ == "__main__":
    from _data import run_example

    run_example(main)
