"""Sheaf and subgraph benchmarks: epoch time and memory, and DSS-GNN vs GIN on B3DB.

    python benchmarks/sheaf_subgraph.py epoch                      # one NSD epoch and one DSS-GNN epoch
    python benchmarks/sheaf_subgraph.py b3db --seeds 5 --epochs 10 # ROC-AUC, scaffold split

Each epoch measurement runs in its own subprocess; memory is the growth of the process's peak resident set
during the (first) epoch (ru_maxrss after minus before), which covers torch's CPU allocations that tracemalloc
misses. Threads: torch's default, or OMP_NUM_THREADS (on a loaded machine 1 thread is far faster).
The accuracy numbers (NSD vs GCN on the cSBM, drosophila; CSL) come from examples/sheaf_heterophily.py and
examples/subgraph_csl.py.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Dict, List

import torch
import torch.nn.functional as F
from ogb.graphproppred.mol_encoder import AtomEncoder  # one embedding per OGB atom-feature column, summed

from graphkit import Batch
from graphkit.nn.subgraph import SubgraphBag, SubgraphGNN


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def epoch_nsd() -> Dict[str, float]:
    from graphkit.datasets.csbm import contextual_sbm
    from graphkit.nn.sheaf import NSD

    g = contextual_sbm(num_nodes=20000, num_classes=4, avg_degree=6.0, homophily=0.05, noise=2.0)
    model = NSD(g.x.size(1), 4, hidden_channels=16, d=3, num_layers=2, maps="general")
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(g.x, g)[g.train_mask], g.y[g.train_mask]).backward()
        opt.step()

    before = _rss_mb()
    step()  # the first epoch also builds and caches the stalk-space structure: its memory counts, its time not
    peak = _rss_mb() - before
    start = time.perf_counter()
    step()
    took = time.perf_counter() - start
    return {"what": "NSD epoch: cSBM 20k nodes, 120k edges, d=3 general maps, hidden 16, 2 layers",
            "seconds": took, "peak_mb": peak}


def epoch_dss() -> Dict[str, float]:
    from graphkit.datasets.csl import csl_dataset

    graphs = csl_dataset()
    maker = SubgraphBag("node_marked")
    batches = [Batch.from_graphs(graphs[i:i + 30]) for i in range(0, 150, 30)]
    model = SubgraphGNN(1, 32, 10, 4, layer="dss", norm="subgraph")
    opt = torch.optim.Adam(model.parameters(), lr=0.003)

    def epoch() -> None:
        for b in batches:
            opt.zero_grad()
            F.cross_entropy(model(maker(b)), b.y.view(-1)).backward()
            opt.step()

    before = _rss_mb()
    start = time.perf_counter()
    epoch()  # bags are built inside the epoch: their construction is part of the cost
    took = time.perf_counter() - start
    return {"what": "DSS-GNN epoch: CSL 150 graphs, node-marked bags (252k nodes, 1.0M edges), hidden 32, 4 layers, "
                    "bag construction included",
            "seconds": took, "peak_mb": _rss_mb() - before}


class Molecular(torch.nn.Module):
    def __init__(self, hidden: int, policy: str, layer: str, use_mark: bool) -> None:
        super().__init__()
        self.enc = AtomEncoder(hidden)
        self.gnn = SubgraphGNN(hidden, hidden, 1, 4, layer=layer, use_mark=use_mark, dropout=0.3)

    def forward(self, bag) -> torch.Tensor:
        return self.gnn(bag, self.enc(bag.x)).view(-1)


def b3db(seeds: int, epochs: int, policy: str, k: int, fraction: float, limit: int, models: str,
         first_seed: int = 0) -> List[str]:
    from sklearn.metrics import roc_auc_score

    from graphkit.datasets.molecules import B3DB

    data = B3DB()
    split = {name: idx[:limit] if limit else idx for name, idx in data.split.items()}
    rows = []
    chosen = {"GIN": ("original", "ds", False),
              f"DSS-GNN ({policy}, k={k}, fraction {fraction})": (policy, "dss", True)}
    for name, (pol, layer, mark) in chosen.items():
        if models != "both" and not name.lower().startswith(models):
            continue
        aucs, start = [], time.perf_counter()
        for seed in range(first_seed, first_seed + seeds):
            torch.manual_seed(seed)
            maker = SubgraphBag(pol, k=k, fraction=fraction if pol != "original" else 1.0, seed=seed)
            model = Molecular(64, pol, layer, mark)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            batches = {s: [Batch.from_graphs([data[int(i)] for i in idx[j:j + 64]])
                           for j in range(0, idx.numel(), 64)] for s, idx in split.items()}
            best_val, best_test = -1.0, 0.0
            for _ in range(epochs):
                model.train()
                for j in torch.randperm(len(batches["train"])).tolist():
                    b = batches["train"][j]
                    opt.zero_grad()
                    F.binary_cross_entropy_with_logits(model(maker(b)), b.y.view(-1)).backward()
                    opt.step()
                model.eval()
                with torch.no_grad():
                    auc = {}
                    for s in ("valid", "test"):
                        # evaluation bags: all subgraphs (fraction 1), as ESAN evaluates
                        full = SubgraphBag(pol, k=k)
                        pred = torch.cat([model(full(b)) for b in batches[s]])
                        auc[s] = roc_auc_score(torch.cat([b.y.view(-1) for b in batches[s]]).numpy(), pred.numpy())
                if auc["valid"] > best_val:
                    best_val, best_test = auc["valid"], auc["test"]
            aucs.append(best_test)
            print(f"  {name} seed {seed}: test ROC-AUC {best_test:.4f}", flush=True)
        sd = statistics.stdev(aucs) if len(aucs) > 1 else 0.0
        rows.append(f"| {name} | {100 * statistics.mean(aucs):.1f} ± {100 * sd:.1f} | {seeds} | {epochs} | "
                    f"{time.perf_counter() - start:.0f} s |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["epoch", "b3db", "_nsd", "_dss"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--policy", default="ego_plus")
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds FIRST_SEED .. FIRST_SEED + SEEDS - 1")
    parser.add_argument("--models", choices=["both", "gin", "dss"], default="both")
    parser.add_argument("--limit", type=int, default=0, help="use only the first LIMIT molecules of each split")
    args = parser.parse_args()
    if args.what in ("_nsd", "_dss"):
        print(json.dumps(epoch_nsd() if args.what == "_nsd" else epoch_dss()))
        return
    if args.what == "epoch":
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        print("| epoch | time | peak memory growth |\n| --- | --- | --- |")
        for sub in ("_nsd", "_dss"):
            out = subprocess.run([sys.executable, __file__, sub], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {r['what']} | {r['seconds']:.2f} s | {r['peak_mb']:.0f} MB |", flush=True)
        return
    print("| model | test ROC-AUC % | seeds | epochs | time |\n| --- | --- | --- | --- | --- |")
    for row in b3db(args.seeds, args.epochs, args.policy, args.k, args.fraction, args.limit, args.models,
                    args.first_seed):
        print(row, flush=True)


if __name__ == "__main__":
    main()
