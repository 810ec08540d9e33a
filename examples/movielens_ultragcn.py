"""MovieLens-100k top-20 recommendation: UltraGCN vs LightGCN, and the wall-clock time each needs.

Same data, split and metrics as ``movielens_lightgcn.py`` (time split per user 80/10/10; Recall@20 and NDCG@20 on
the test interactions, earlier interactions removed from the candidates). Both models train as
``graphkit train --task recsys --model lightgcn|ultragcn`` trains them (``graphkit.train.recsys.RecsysTask`` under
the Trainer: Adam, cosine LR, no clipping, the task's defaults), evaluated on every split after every epoch; the
epoch with the best validation Recall@20 is the one whose test scores are reported.

UltraGCN (``graphkit.nn.UltraGCN``) replaces message passing by its constraint loss: per positive pair
``--negatives`` sampled negatives (also their weight), the beta-weighted BCE and the item-item constraint over the
``--neighbours`` strongest co-occurrence neighbours; batch 1024 (the paper's), lr 1e-2 (``MODEL_DEFAULTS``).
LightGCN: 3 layers, d = 64, BPR, lr 5e-3, batch 8192. The paper's speed claim is checked as: seconds of
training (evaluation excluded: ``RecsysTask.train_seconds``) until UltraGCN's validation Recall@20 first reaches
LightGCN's best validation Recall@20, against the seconds LightGCN needs for that best epoch (same process, same
machine load), in wall seconds and in the process's CPU seconds (``RecsysTask.train_cpu_seconds``: a shared, busy
machine inflates them far less); and as the epochs each needs times the median CPU seconds of one training epoch.

    python examples/movielens_ultragcn.py [--seeds 5] [--epochs 30] [--lightgcn-epochs 30]

Data: recbole's copy of MovieLens-100k (``pip install --no-deps recbole==1.2.1``).
"""
from __future__ import annotations

import argparse
import itertools
import math
import statistics
from pathlib import Path
from typing import Any, Dict, List

import torch

from graphkit.datasets import MovieLens100K
from graphkit.train.config import TrainConfig
from graphkit.train.custom import fit_supervised
from graphkit.train.recsys import RecsysTask
from graphkit.train.rundir import MetricsLog


def train(ds: MovieLens100K, model: str, seed: int, epochs: int, out: Path,
          ultragcn: Dict[str, Any]) -> List[Dict[str, float]]:
    """One run; per epoch the cumulative training seconds and the validation / test Recall@20 and NDCG@20."""
    torch.manual_seed(seed)  # the model's initial embeddings
    cfg = TrainConfig(task="recsys", model=model, epochs=epochs, seed=seed).resolved()
    task = RecsysTask(ds, cfg, torch.device("cpu"), ultragcn=ultragcn)
    run_dir = out / f"{model}-seed{seed}"
    fit_supervised(task, run_dir, cfg.epochs, lr=cfg.lr, clip=cfg.clip, seed=seed, verbose=False)
    rows = MetricsLog(run_dir).read()
    return [{"epoch": r["epoch"], "seconds": s, "cpu": c, "epoch_seconds": e, "valid": r["valid"]["recall@20"],
             "test": r["test"]["recall@20"], "test_ndcg": r["test"]["ndcg@20"]}
            for s, c, e, r in zip(itertools.accumulate(task.train_seconds),
                                  itertools.accumulate(task.train_cpu_seconds), task.train_cpu_seconds, rows)]


def best(log: List[Dict[str, float]]) -> Dict[str, float]:
    return max(log, key=lambda r: r["valid"])  # the first of equal scores, as the Trainer keeps it


def ms(values: List[float]) -> str:
    """Mean ± std of the finite values (a run that never reached a score is nan), saying how many those are."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return "nan"
    text = f"{statistics.mean(finite):.4f} ± {statistics.stdev(finite) if len(finite) > 1 else 0.0:.4f}"
    return text if len(finite) == len(values) else f"{text} ({len(finite)} of {len(values)} finite)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--epochs", type=int, default=30, help="UltraGCN epochs")
    parser.add_argument("--lightgcn-epochs", type=int, default=30)
    parser.add_argument("--negatives", type=int, default=50, help="negatives per positive (also their weight)")
    parser.add_argument("--neighbours", type=int, default=10, help="item-item constraint neighbours")
    parser.add_argument("--gamma", type=float, default=1e-4)
    parser.add_argument("--lambda_", type=float, default=1e-3)
    parser.add_argument("--out", default="runs/examples/movielens_ultragcn", help="the run folders")
    args = parser.parse_args()
    ds = MovieLens100K(root=args.root)
    print(ds)
    options = {"negatives": args.negatives, "neighbours": args.neighbours, "gamma": args.gamma,
               "lambda_": args.lambda_}
    rows: Dict[str, List[Dict[str, float]]] = {"lightgcn": [], "ultragcn": []}
    reach = []
    per_epoch: Dict[str, List[float]] = {"lightgcn": [], "ultragcn": []}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        light = train(ds, "lightgcn", seed, args.lightgcn_epochs, Path(args.out), options)
        ultra = train(ds, "ultragcn", seed, args.epochs, Path(args.out), options)
        lb, ub = best(light), best(ultra)
        rows["lightgcn"].append(lb)
        rows["ultragcn"].append(ub)
        per_epoch["lightgcn"] += [r["epoch_seconds"] for r in light]
        per_epoch["ultragcn"] += [r["epoch_seconds"] for r in ultra]
        nan = {"seconds": float("nan"), "cpu": float("nan"), "epoch": float("nan")}
        first = next((r for r in ultra if r["valid"] >= lb["valid"]), nan)
        reach.append((lb, first))
        print(f"seed {seed}: LightGCN best valid R@20 {lb['valid']:.4f} at epoch {lb['epoch']}, after "
              f"{lb['seconds']:.1f} s / {lb['cpu']:.1f} CPU s (test {lb['test']:.4f} / {lb['test_ndcg']:.4f}); "
              f"UltraGCN best valid {ub['valid']:.4f} (test {ub['test']:.4f} / {ub['test_ndcg']:.4f}); UltraGCN reaches "
              f"LightGCN's best at epoch {first['epoch']}, after {first['seconds']:.1f} s / {first['cpu']:.1f} CPU s: "
              f"{lb['seconds'] / first['seconds']:.1f}x / {lb['cpu'] / first['cpu']:.1f}x", flush=True)
    for name, r in rows.items():
        print(f"{name:9s}: test Recall@20 {ms([x['test'] for x in r])}  NDCG@20 {ms([x['test_ndcg'] for x in r])}"
              f"  (best epoch after {ms([x['seconds'] for x in r])} s of training)")
    diff = [u["test"] - lg["test"] for u, lg in zip(rows["ultragcn"], rows["lightgcn"])]
    diff_ndcg = [u["test_ndcg"] - lg["test_ndcg"] for u, lg in zip(rows["ultragcn"], rows["lightgcn"])]
    print(f"UltraGCN - LightGCN per seed: Recall@20 {ms(diff)}  NDCG@20 {ms(diff_ndcg)}")
    for unit in ("seconds", "cpu"):
        print(f"{'CPU ' if unit == 'cpu' else ''}seconds to LightGCN's best valid Recall@20: LightGCN "
              f"{ms([lb[unit] for lb, _ in reach])}, UltraGCN {ms([f[unit] for _, f in reach])} (nan: never reached); "
              f"speed-up {ms([lb[unit] / f[unit] for lb, f in reach])}x")
    # the CPU seconds of one epoch are steadier than wall seconds on a shared machine; epochs needed times the median
    med = {name: statistics.median(v) for name, v in per_epoch.items()}
    light_s = statistics.mean(lb["epoch"] for lb, _ in reach) * med["lightgcn"]
    ultra_s = statistics.mean(f["epoch"] for _, f in reach) * med["ultragcn"]
    print(f"epochs to LightGCN's best valid Recall@20: LightGCN {ms([lb['epoch'] for lb, _ in reach])}, UltraGCN "
          f"{ms([f['epoch'] for _, f in reach])}; median CPU seconds of a training epoch: LightGCN "
          f"{med['lightgcn']:.3f}, UltraGCN {med['ultragcn']:.3f}; speed-up from these {light_s / ultra_s:.1f}x")


if __name__ == "__main__":
    from _data import run_example

    run_example(main)
