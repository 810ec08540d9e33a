"""Neural Sheaf Diffusion vs GCN on a strongly heterophilic contextual SBM and on the drosophila connectome.

    python examples/sheaf_heterophily.py                 # cSBM over 10 seeds + drosophila over 10 seeds
    python examples/sheaf_heterophily.py --seeds 3 --epochs 100 --no-drosophila

The cSBM (graphkit.datasets.csbm) has 4 classes and edge homophily 0.05: a node's neighbours almost never share
its class, so averaging them (GCN) mixes the other classes into every node, while sheaf diffusion learns
restriction maps under which the diffusion keeps classes apart. The drosophila connectome (graspologic's package
data: the left hemisphere, 209 neurons, 4 cell types K/P/O/I) has no node features: each neuron gets its
log(1 + synapse count) row and column of the adjacency matrix.

Data: none for the cSBM; the drosophila part reads graspologic's package data (``pip install --no-deps
graspologic==3.4.4``; ``make examples`` installs the data of every example) and is skipped, with a note, without it.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F

from graphkit import Graph
from graphkit.datasets.csbm import contextual_sbm
from graphkit.nn.conv import GCNConv
from graphkit.nn.sheaf import NSD

CSBM = dict(num_nodes=1000, num_classes=4, num_features=32, avg_degree=6.0, homophily=0.05, mu=1.0, noise=2.0)


class GCN(torch.nn.Module):
    """The two-layer GCN baseline (Kipf & Welling): dropout, GCNConv, ReLU, dropout, GCNConv."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.conv1, self.conv2, self.dropout = GCNConv(in_channels, hidden), GCNConv(hidden, out_channels), dropout

    def forward(self, x: torch.Tensor, adj: Graph) -> torch.Tensor:
        x = F.dropout(x, self.dropout, self.training)
        x = F.relu(self.conv1(x, adj))
        return self.conv2(F.dropout(x, self.dropout, self.training), adj)


def make_models(in_channels: int, num_classes: int) -> Dict[str, Callable[[], torch.nn.Module]]:
    return {
        "GCN": lambda: GCN(in_channels, 64, num_classes),
        "NSD": lambda: NSD(in_channels, num_classes, hidden_channels=16, d=3, num_layers=2, maps="diagonal",
                           dropout=0.2),
    }


def train_node_classifier(model: torch.nn.Module, g: Graph, epochs: int = 100, lr: float = 0.01,
                          weight_decay: float = 5e-4) -> float:
    """Full-batch training; the test accuracy at the epoch of best validation accuracy."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best_val, best_test = -1.0, 0.0
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(g.x, g)[g.train_mask], g.y[g.train_mask]).backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            pred = model(g.x, g).argmax(1)
        val = (pred[g.val_mask] == g.y[g.val_mask]).float().mean().item()
        if val > best_val:
            best_val, best_test = val, (pred[g.test_mask] == g.y[g.test_mask]).float().mean().item()
    return best_test


def compare(graphs: Callable[[int], Graph], seeds: int, epochs: int) -> Dict[str, List[float]]:
    """Test accuracy of every model over ``seeds`` (graph/split ``seed`` and model init ``seed``)."""
    scores: Dict[str, List[float]] = {}
    for seed in range(seeds):
        g = graphs(seed)
        for name, make in make_models(g.x.size(1), int(g.y.max()) + 1).items():
            torch.manual_seed(seed)
            scores.setdefault(name, []).append(train_node_classifier(make(), g, epochs))
    return scores


def csbm(seed: int, **overrides: float) -> Graph:
    return contextual_sbm(seed=seed, **{**CSBM, **overrides})


def drosophila(seed: int) -> Graph:
    """The left drosophila connectome (graspologic package data) with a random 60/20/20 split per seed."""
    spec = importlib.util.find_spec("graspologic")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the drosophila connectome needs graspologic: pip install --no-deps graspologic==3.4.4")
    root = Path(spec.submodule_search_locations[0]) / "datasets" / "drosophila"
    lines = (root / "left_adjacency.csv").read_text().splitlines()
    adj = torch.tensor([[float(v) for v in line.split()] for line in lines])
    names = (root / "left_cell_labels.csv").read_text().split()
    classes = sorted(set(names))
    y = torch.tensor([classes.index(c) for c in names])
    n = adj.size(0)
    x = torch.cat([adj, adj.t()], dim=1).log1p()
    sym = ((adj + adj.t()) > 0) & ~torch.eye(n, dtype=torch.bool)
    edge_index = sym.nonzero().t().flip(0).contiguous()
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    masks = [torch.zeros(n, dtype=torch.bool) for _ in range(3)]
    for mask, part in zip(masks, (perm[: int(0.6 * n)], perm[int(0.6 * n): int(0.8 * n)], perm[int(0.8 * n):])):
        mask[part] = True
    return Graph(x=x, edge_index=edge_index, y=y, train_mask=masks[0], val_mask=masks[1], test_mask=masks[2],
                 kinds={"y": "node", "train_mask": "node", "val_mask": "node", "test_mask": "node"})


def summary(scores: Dict[str, List[float]]) -> str:
    return ", ".join(
        f"{k} {100 * statistics.mean(v):.1f} ± {100 * (statistics.stdev(v) if len(v) > 1 else 0.0):.1f}"
        for k, v in scores.items()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--no-drosophila", action="store_true")
    args = parser.parse_args()
    with_drosophila = not args.no_drosophila and importlib.util.find_spec("graspologic") is not None
    if not args.no_drosophila and not with_drosophila:  # say so now, not after the cSBM part has run
        print("note: the drosophila part is skipped: it needs graspologic's data (pip install --no-deps "
              "graspologic==3.4.4; `make examples` installs the data of every example)", flush=True)
    start = time.perf_counter()
    scores = compare(csbm, args.seeds, args.epochs)
    print(f"cSBM (homophily 0.05, 4 classes), test accuracy % over {args.seeds} seeds: {summary(scores)}")
    if with_drosophila:
        scores = compare(drosophila, args.seeds, args.epochs)
        print(f"drosophila (left, 4 classes), test accuracy % over {args.seeds} seeds: {summary(scores)}")
    print(f"time {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    from _data import run_example

    run_example(main)
