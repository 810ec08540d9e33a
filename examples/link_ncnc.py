"""Link prediction: NCNC against NCN and a GCN with an MLP scorer, on ogbl-connectome and on a homogeneous view of
pykeen's UMLS.

Each model trains as ``graphkit train --task link --model gcn|ncn|ncnc`` trains it (``graphkit.train.link.LinkTask``
under the Trainer, the link task's defaults: 2 GCN layers, 64 channels, Adam at 5e-3, cosine schedule, batches
of 1,024 positives with as many uniform negatives (non-edges under target link removal), early stopping after 20
epochs without a better validation Hits@20). ``gcn``: the OGB baseline, :math:`\\mathrm{MLP}(h_i \\odot h_j)`;
``ncn``: the same GCN with the NCN predictor; ``ncnc``: NCN with common-neighbour completion, trained with target
link removal (``graphkit.train.ncn.NCNCPredictor``); ``ncn+tlr``: NCN trained with target link removal too
(the link task's ``target_link_removal`` switched on), which separates completion's effect from removal's.
Scores are ogb's official link evaluator's on the test split, at the epoch with the best validation Hits@20:
Hits@20, Hits@50 and MRR against the shared negative pool.

Two more models are not run by default: ``ncnc+warm`` is NCNC trained for ``--warm-start`` epochs from the same
seed's best ``ncn+tlr`` weights with the GNN frozen, as the NCNC authors train it on their dense graph (ogbl-ddi:
NCNC loads the trained NCN and trains the predictor alone, ``--gnnlr 0``), and ``ncn+warm`` is its control, the
same fine-tuning without completion. The recipe options (``--help``) set the authors' small-graph training
(GraphPKU/NeuralCommonNeighbor's README): their MLP layout with LayerNorm (``--layout authors --norm
--tail-act``), a constant rate (``--scheduler none``), no clipping (``--clip 0``), separate GNN / predictor rates.

The knowledge graphs become link-prediction sets by forgetting relation types and directions
(``graphkit.datasets.link_view.homogeneous_link_view``): pykeen's training triples are the graph, validation and
test pairs are those not already joined by an earlier split, negatives are pairs no triple joins. Kinships'
view is a complete graph (every pair of its 104 people is related), so it has no negatives and is refused.

    python examples/link_ncnc.py [--datasets ogbl-connectome,ogbl-umls] [--seeds 5] [--patience 60] [--quick]
        [recipe options: --help lists them, e.g. the authors' --layout authors --norm --scheduler none]

Data: ogbl-connectome is bundled (``datasets/fixtures``); UMLS comes with pykeen
(``pip install -c constraints.txt pykeen==1.11.1``; built into OGB format on first use).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch

from graphkit.datasets.link_view import homogeneous_link_view
from graphkit.train.config import TrainConfig
from graphkit.train.custom import fit_supervised
from graphkit.train.link import LinkTask, positive_pairs
from graphkit.train.run import load_dataset
from graphkit.train.trainer import seed_everything

# "ncn+tlr": NCN trained with target link removal, as NCNC is, to tell completion's effect from removal's;
# "ncnc+warm" (not run by default): NCNC fine-tuned from that seed's ncn+tlr, as the authors train it on ddi;
# "ncn+warm" its control: the same fine-tuning without completion (NCN with target link removal)
WARM = ("ncn+warm", "ncnc+warm")
MODELS = ("gcn", "ncn", "ncn+tlr", "ncnc")
REPORT = ("hits@20", "hits@50", "mrr")


def dataset(name: str):
    ds, task = load_dataset(name)
    return homogeneous_link_view(ds) if task == "kg" else ds


def train(ds, model: str, seed: int, epochs: int, out: Path, patience: Optional[int] = None,
          args: Optional[argparse.Namespace] = None, init: Optional[Dict[str, torch.Tensor]] = None
          ) -> Tuple[Dict[str, float], Dict[str, torch.Tensor]]:
    """One run; the test scores of its best validation epoch and its training seconds, and its best weights.

    ``args``: the recipe options of :func:`main` (``None``: the link task's defaults). ``init``: weights to
    start from (a warm start: NCNC from an NCN's; the two share every parameter)."""
    a = args or parser().parse_args([])
    name = model.split("+")[0]
    cfg = TrainConfig(task="link", model=name, seed=seed, epochs=epochs, patience=patience, hidden=a.hidden,
                      layers=a.layers, dropout=a.dropout, clip=a.clip).resolved()
    options: Dict[str, Any] = {}
    if name in ("ncn", "ncnc") and a.layout == "authors":
        options = dict(layout="authors", norm=a.norm, tail_act=a.tail_act, two_layer_out=a.two_layer_out,
                       feature_mlp=a.feature_mlp, beta=a.beta)
    if name == "ncnc":
        options.update(scale=a.scale, offset=a.offset, prior=a.prior, alpha=a.alpha)
    seed_everything(seed)  # the model's initial weights, as `graphkit train` seeds before building the task
    warm = init is not None
    task = LinkTask(ds, cfg, torch.device("cpu"), predictor_options=options or None,
                    gnn_lr=a.warm_gnn_lr if warm else a.gnn_lr, predictor_lr=a.predictor_lr,
                    alpha_ramp=a.alpha_ramp and name == "ncnc" and not warm)
    task.target_link_removal = task.target_link_removal or model.endswith(("+tlr", "+warm"))
    if warm:
        task.model.load_state_dict(init)
    start = time.perf_counter()
    res = fit_supervised(task, out / f"{ds.name}-{model}-seed{seed}", cfg.epochs, lr=cfg.lr,
                         weight_decay=cfg.weight_decay, patience=cfg.patience, seed=seed, clip=cfg.clip,
                         scheduler=a.scheduler, verbose=False, deterministic=True)
    return ({**{k: res["final"]["test"][k] for k in REPORT}, "seconds": time.perf_counter() - start,
             "epochs": res["epochs_run"], "best_epoch": res["best_epoch"]},
            {k: v.clone() for k, v in task.model.state_dict().items()})


def ms(values: List[float]) -> str:
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.4f}"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--datasets", default="ogbl-connectome,ogbl-umls")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--patience", type=int, default=None,
                   help="early stopping (default: the link task's 20; --patience EPOCHS never stops early)")
    p.add_argument("--quick", action="store_true", help="one seed, two epochs, ogbl-connectome only")
    p.add_argument("--out", default="runs/examples/link_ncnc", help="the run folders")
    r = p.add_argument_group("recipe (defaults: the link task's; the NCNC authors' names in brackets)")
    r.add_argument("--hidden", type=int, default=64)
    r.add_argument("--layers", type=int, default=2, help="GCN layers [mplayers]")
    r.add_argument("--dropout", type=float, default=0.0)
    r.add_argument("--clip", type=float, default=1.0, help="gradient-norm limit, 0: none (the authors clip not)")
    r.add_argument("--scheduler", default="cosine", choices=("cosine", "step", "none"),
                   help="the authors keep the rate constant (none)")
    r.add_argument("--gnn-lr", type=float, default=None, help="node input and GNN [gnnlr] (default 5e-3)")
    r.add_argument("--predictor-lr", type=float, default=None, help="NCN / NCNC / MLP scorer [prelr]")
    r.add_argument("--layout", default="concat", choices=("concat", "authors"),
                   help="NCN's MLPs: graphkit's concatenation or the authors' beta-weighted sum")
    r.add_argument("--norm", action="store_true", help="LayerNorm in the predictor's MLPs [lnnn]; authors layout")
    r.add_argument("--tail-act", action="store_true", help="[tailact]; authors layout")
    r.add_argument("--two-layer-out", action="store_true", help="[twolayerlin]; authors layout")
    r.add_argument("--feature-mlp", action="store_true", help="[use_xlin]; authors layout")
    r.add_argument("--beta", type=float, default=1.0, help="initial beta [beta]; authors layout")
    r.add_argument("--scale", type=float, default=5.0, help="NCNC calibration [probscale]")
    r.add_argument("--offset", type=float, default=3.0, help="NCNC calibration [proboffset]")
    r.add_argument("--prior", type=float, default=0.5, help="NCNC calibration [pt]")
    r.add_argument("--alpha", type=float, default=1.0, help="NCNC completion weight [alpha]")
    r.add_argument("--alpha-ramp", action="store_true", help="[increasealpha]: alpha 0 for 5 epochs, then +0.1")
    r.add_argument("--warm-start", type=int, default=20, metavar="EPOCHS",
                   help="the epochs of ncnc+warm: NCNC trained from the same seed's best ncn+tlr model (the "
                        "authors' recipe on ddi and citation2), and of its control ncn+warm")
    r.add_argument("--warm-gnn-lr", type=float, default=0.0,
                   help="the GNN's rate in a warm start (the authors' ddi recipe: 0, the GNN frozen)")
    return p


def main() -> None:
    args = parser().parse_args()
    names, seeds, epochs = args.datasets.split(","), args.seeds, args.epochs
    if args.quick:
        names, seeds, epochs = ["ogbl-connectome"], 1, 2
    models = args.models.split(",")
    for m in set(WARM) & set(models):
        if "ncn+tlr" not in models or models.index("ncn+tlr") > models.index(m):
            raise ValueError(f"{m} starts from ncn+tlr, which must come before it in --models: {args.models!r}")
    print(f"recipe: {vars(args)}", flush=True)
    for name in names:
        ds = dataset(name)
        sizes = {s: positive_pairs(p).size(0) for s, p in ds.split.items()}
        print(f"{ds.name}: {ds.graph.num_nodes} nodes, {ds.graph.edge_index.size(1) // 2} training pairs, "
              f"valid/test positives {sizes['valid']}/{sizes['test']}, negatives "
              f"{ds.split['valid']['edge_neg'].size(0)}/{ds.split['test']['edge_neg'].size(0)}", flush=True)
        rows: Dict[str, List[Dict[str, float]]] = {m: [] for m in models}
        for seed in range(args.first_seed, args.first_seed + seeds):
            weights: Dict[str, Dict[str, torch.Tensor]] = {}
            for m in models:
                warm = m in WARM
                r, weights[m] = train(ds, m, seed, args.warm_start if warm else epochs, Path(args.out),
                                      args.patience, args, weights["ncn+tlr"] if warm else None)
                rows[m].append(r)
                print(f"  seed {seed} {m:7s}: " + "  ".join(f"{k} {r[k]:.4f}" for k in REPORT)
                      + f"  (best epoch {r['best_epoch']}/{r['epochs']}, {r['seconds']:.1f} s)", flush=True)
        print(f"{ds.name}, test, mean ± std over {seeds} seeds:")
        for m in models:
            print(f"  {m:7s}  " + "  ".join(f"{k} {ms([r[k] for r in rows[m]])}" for k in REPORT)
                  + f"  ({statistics.mean(r['seconds'] for r in rows[m]):.1f} s a run)")
        for a, b in (("ncnc", "ncn"), ("ncnc", "ncn+tlr"), ("ncnc+warm", "ncn"), ("ncnc+warm", "ncn+tlr"),
                     ("ncnc+warm", "ncn+warm"), ("ncn+warm", "ncn"), ("ncn+tlr", "ncn"), ("ncnc", "gcn"),
                     ("ncn", "gcn")):
            if a in rows and b in rows:
                print(f"  {a} - {b} per seed: " + "  ".join(
                    f"{k} {ms([x[k] - y[k] for x, y in zip(rows[a], rows[b])])}" for k in REPORT), flush=True)


if __name__ == "__main__":
    from _data import run_example

    run_example(main)
