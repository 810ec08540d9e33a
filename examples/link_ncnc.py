"""Link prediction: NCNC against NCN and a GCN with an MLP scorer, on ogbl-connectome and on a homogeneous view of
pykeen's UMLS.

Each model trains as ``graphkit train --task link --model gcn|ncn|ncnc`` trains it (``graphkit.train.link.LinkTask``
under the Trainer, the link task's defaults: 2 GCN layers, 64 channels, Adam at 5e-3, cosine schedule, batches
of 1,024 positives with as many uniform negatives (non-edges under target link removal), early stopping after 20
epochs without a better validation Hits@20). ``gcn``: the OGB baseline, :math:`\\mathrm{MLP}(h_i \\odot h_j)`; ``ncn``: the same GCN with the NCN
predictor; ``ncnc``: NCN with common-neighbour completion, trained with target link removal
(``graphkit.train.ncn.NCNCPredictor``); ``ncn+tlr``: NCN trained with target link removal too (the link task's
``target_link_removal`` switched on), which separates completion's effect from removal's. Scores are ogb's official link evaluator's on the test split, at the
epoch with the best validation Hits@20: Hits@20, Hits@50 and MRR against the shared negative pool.

The knowledge graphs become link-prediction sets by forgetting relation types and directions
(``graphkit.datasets.link_view.homogeneous_link_view``): pykeen's training triples are the graph, validation and
test pairs are those not already joined by an earlier split, negatives are pairs no triple joins. Kinships'
view is a complete graph (every pair of its 104 people is related), so it has no negatives and is refused.

    python examples/link_ncnc.py [--datasets ogbl-connectome,ogbl-umls] [--seeds 5] [--patience 60] [--quick]

Data: ogbl-connectome is bundled (``datasets/fixtures``); UMLS comes with pykeen
(``pip install -c constraints.txt pykeen==1.11.1``; built into OGB format on first use).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch

from graphkit.datasets.link_view import homogeneous_link_view
from graphkit.train.config import TrainConfig
from graphkit.train.custom import fit_supervised
from graphkit.train.link import LinkTask, positive_pairs
from graphkit.train.run import load_dataset
from graphkit.train.trainer import seed_everything

# "ncn+tlr": NCN trained with target link removal, as NCNC is, to tell completion's effect from removal's
MODELS = ("gcn", "ncn", "ncn+tlr", "ncnc")
REPORT = ("hits@20", "hits@50", "mrr")


def dataset(name: str):
    ds, task = load_dataset(name)
    return homogeneous_link_view(ds) if task == "kg" else ds


def train(ds, model: str, seed: int, epochs: int, out: Path, patience: Optional[int] = None) -> Dict[str, float]:
    """One run; the test scores of its best validation epoch, and its training seconds."""
    cfg = TrainConfig(task="link", model=model.split("+")[0], seed=seed, epochs=epochs,
                      patience=patience).resolved()
    seed_everything(seed)  # the model's initial weights, as `graphkit train` seeds before building the task
    task = LinkTask(ds, cfg, torch.device("cpu"))
    task.target_link_removal = task.target_link_removal or model.endswith("+tlr")
    start = time.perf_counter()
    res = fit_supervised(task, out / f"{ds.name}-{model}-seed{seed}", cfg.epochs, lr=cfg.lr,
                         weight_decay=cfg.weight_decay, patience=cfg.patience, seed=seed, clip=cfg.clip,
                         verbose=False, deterministic=True)
    return {**{k: res["final"]["test"][k] for k in REPORT}, "seconds": time.perf_counter() - start,
            "epochs": res["epochs_run"]}


def ms(values: List[float]) -> str:
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="ogbl-connectome,ogbl-umls")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--patience", type=int, default=None,
                        help="early stopping (default: the link task's 20; --patience EPOCHS never stops early)")
    parser.add_argument("--quick", action="store_true", help="one seed, two epochs, ogbl-connectome only")
    parser.add_argument("--out", default="runs/examples/link_ncnc", help="the run folders")
    args = parser.parse_args()
    names, seeds, epochs = args.datasets.split(","), args.seeds, args.epochs
    if args.quick:
        names, seeds, epochs = ["ogbl-connectome"], 1, 2
    models = args.models.split(",")
    for name in names:
        ds = dataset(name)
        sizes = {s: positive_pairs(p).size(0) for s, p in ds.split.items()}
        print(f"{ds.name}: {ds.graph.num_nodes} nodes, {ds.graph.edge_index.size(1) // 2} training pairs, "
              f"valid/test positives {sizes['valid']}/{sizes['test']}, negatives "
              f"{ds.split['valid']['edge_neg'].size(0)}/{ds.split['test']['edge_neg'].size(0)}", flush=True)
        rows: Dict[str, List[Dict[str, float]]] = {m: [] for m in models}
        for seed in range(seeds):
            for m in models:
                rows[m].append(train(ds, m, seed, epochs, Path(args.out), args.patience))
                r = rows[m][-1]
                print(f"  seed {seed} {m:7s}: " + "  ".join(f"{k} {r[k]:.4f}" for k in REPORT)
                      + f"  ({r['epochs']} epochs, {r['seconds']:.1f} s)", flush=True)
        print(f"{ds.name}, test, mean ± std over {seeds} seeds:")
        for m in models:
            print(f"  {m:7s}  " + "  ".join(f"{k} {ms([r[k] for r in rows[m]])}" for k in REPORT)
                  + f"  ({statistics.mean(r['seconds'] for r in rows[m]):.1f} s a run)")
        for a, b in (("ncnc", "ncn"), ("ncnc", "ncn+tlr"), ("ncn+tlr", "ncn"), ("ncnc", "gcn"), ("ncn", "gcn")):
            if a in rows and b in rows:
                print(f"  {a} - {b} per seed: " + "  ".join(
                    f"{k} {ms([x[k] - y[k] for x, y in zip(rows[a], rows[b])])}" for k in REPORT), flush=True)


if __name__ == "__main__":
    from _data import run_example

    run_example(main)
