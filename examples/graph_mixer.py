"""Graph MLP-Mixer and Graph ViT (He et al., ICML 2023) on CSL and on B3DB (against GIN).

    python examples/graph_mixer.py csl                          # MLP-Mixer and ViT, 5-fold CV (mean ± std)
    python examples/graph_mixer.py b3db --seeds 5 --epochs 8    # ROC-AUC, scaffold split, GIN as the baseline
    python examples/graph_mixer.py --quick                      # both, one fold/seed, a few epochs (a smoke run)

CSL: the 150 Circular Skip Link graphs (4-regular, 41 nodes; `graphkit.datasets.csl`, as examples/subgraph_csl.py),
10 classes. Every message-passing GNN sees the same graph (GIN is at chance, 10%); the paper reports 100% for both
Graph MLP-Mixer and Graph ViT. The paper's CSL recipe (its code, XiaoxinHe/Graph-ViT-MLPMixer): stratified 5-fold
cross-validation (120 train / 30 test, no validation set), 32 METIS patches by recursive bisection grown by one
hop, re-partitioned on every epoch with 30% of the edges hidden from METIS (augmentation; test graphs keep fixed
all-edge patches), node RWSE (8 steps), patch RWSE (8), hidden 128, 4 GIN layers + 4 mixer blocks, BatchNorm in
the patch encoder, token-mixing MLP 4 C wide and channel MLP C / 2 plus a final LayerNorm (MLP-Mixer) or 8 heads
and a 2 C feed-forward (ViT), full-batch Adam 1e-3 for 200 epochs with the rate halved after 50 epochs without a
lower training loss (the paper's code watches the test loss instead). Two accuracies per fold: at the last epoch, and the best over the epochs (the paper's number; it looks
at the test fold every epoch, so it is optimistic). ``--num-patches 1`` is the control without patches: one patch
holding the whole graph, i.e. GIN + node RWSE.

B3DB: blood-brain-barrier permeability, 7,807 molecules (`graphkit.datasets.B3DB`, needs rdkit and qc-b3db), the
deterministic scaffold split 80/10/10, atom features as the sum of one embedding per OGB column. GIN is the same
baseline as benchmarks/sheaf_subgraph.py's (4 layers, hidden 64, dropout 0.3, sum readout, Adam 1e-3, batch 64,
test ROC-AUC at the best validation epoch); the mixers use the same budget, 8 patches (molecules average ~25
atoms), 2 GIN layers + 2 mixer blocks, node RWSE (16 steps) and patch RWSE (8).

Data: CSL is generated; B3DB is read from the qc-b3db package.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from ogb.graphproppred.mol_encoder import AtomEncoder  # one embedding per OGB atom-feature column, summed

from graphkit import Batch, Graph
from graphkit.datasets.csl import csl_dataset, csl_folds
from graphkit.nn import GIN, GraphMLPMixer, global_add_pool
from graphkit.transforms import AddRandomWalkPE, Compose, GraphPatches

MIXERS = {"Graph MLP-Mixer": "mlp", "Graph ViT": "attention"}


def batches(graphs: Sequence[Graph], index: torch.Tensor, size: int) -> List[Batch]:
    return [Batch.from_graphs([graphs[j] for j in index[i:i + size].tolist()]) for i in range(0, index.numel(), size)]


def shuffled(graphs: Sequence[Graph], index: torch.Tensor, size: int, seed: int,
             augment: Optional[Callable[[int], Graph]] = None) -> Callable[[], List[Batch]]:
    """Each epoch's training batches: the graphs dealt out in a new (seeded) order, so that a batch is never one
    or two classes (the split lists graphs sorted by id, CSL's ids by class: BatchNorm's batch statistics would
    then differ from its running ones), and with ``augment`` each graph replaced by ``augment(its index)``."""
    gen = torch.Generator().manual_seed(seed)

    def build() -> List[Batch]:
        order = index[torch.randperm(index.numel(), generator=gen)]
        source = graphs if augment is None else {int(i): augment(int(i)) for i in order}
        return batches(source, order, size)

    return build


def fit(model: torch.nn.Module, data: Dict[str, Any], epochs: int, lr: float, loss: Callable,
        score: Callable[[torch.Tensor, torch.Tensor], float], seed: int, patience: int = 0,
        log_every: int = 0) -> List[Dict[str, float]]:
    """Train for ``epochs``; return each epoch's score of every evaluation split (the keys of ``data`` but
    "train"). Batches of the training set in a seeded order; ``data["train"]`` may be a function that builds the
    epoch's batches (augmentation). ``patience > 0``: halve the learning rate when the training loss has not
    improved for that many epochs (the paper's ReduceLROnPlateau, on the training loss: no split is looked at).
    ``log_every > 0``: print the training loss and the scores every that many epochs."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=patience) if patience else None
    gen = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(epochs):
        model.train()
        train = data["train"]() if callable(data["train"]) else data["train"]
        total, seen = 0.0, 0
        for j in torch.randperm(len(train), generator=gen).tolist():
            b = train[j]
            opt.zero_grad()
            value = loss(model(b), b.y)
            value.backward()
            opt.step()
            total += float(value.detach()) * b.num_graphs
            seen += b.num_graphs
        if plateau is not None:
            plateau.step(total)
        model.eval()
        with torch.no_grad():
            res = {}
            for split in (k for k in data if k != "train"):
                pred = torch.cat([model(b) for b in data[split]])
                res[split] = score(pred, torch.cat([b.y.view(-1) for b in data[split]]))
        history.append(res)
        if log_every and len(history) % log_every == 0:
            print(f"    epoch {len(history)}: training loss {total / max(seen, 1):.3f}, lr {opt.param_groups[0]['lr']:.1e}, "
                  + ", ".join(f"{k} {v:.3f}" for k, v in res.items()), flush=True)
    return history


def best_valid_test(history: List[Dict[str, float]]) -> float:
    """The test score at the first epoch of best validation score."""
    return max(history, key=lambda r: r["valid"])["test"]


def report(task: str, name: str, values: List[float], seconds: float, unit: str = "%", runs: str = "seed(s)") -> None:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    per_seed = ", ".join(f"{100 * v:.1f}" for v in values)
    print(f"{task} {name}: {100 * statistics.mean(values):.1f} ± {100 * sd:.1f} {unit} over {len(values)} {runs} "
          f"[{per_seed}] ({seconds:.0f} s)", flush=True)


# ----------------------------------------------------------------------------------------------------------- CSL
def csl(folds: int, epochs: int, num_patches: int, hidden: int, node_rw: int, layers: int, drop_rate: float,
        batch_size: int, patience: int, models: Sequence[str], only_folds: Sequence[int] = (), pool: int = 0,
        log_every: int = 0) -> None:
    """The paper's CSL protocol: stratified ``folds``-fold cross-validation (120 train / 30 test graphs for 5),
    no validation set; the model is the paper's (see the module docstring)."""
    base = [AddRandomWalkPE(node_rw)(g) if node_rw else g for g in csl_dataset()]
    fixed = GraphPatches(num_patches, patch_rw_steps=8)  # METIS by recursive bisection, the transform's default
    # The paper's augmentation: a fresh METIS partition of each training graph every epoch, with a random share of
    # the edges hidden from METIS. Evaluation uses the fixed (seed-0, all-edge) patches.
    augment = GraphPatches(num_patches, patch_rw_steps=8, drop_rate=drop_rate) if drop_rate else None
    graphs = [fixed(g) for g in base]

    def accuracy(pred: torch.Tensor, y: torch.Tensor) -> float:
        return float((pred.argmax(1) == y).float().mean())

    for name in models:
        mixer = MIXERS[name]
        start, final, best = time.perf_counter(), [], []
        for fold, (train, test) in enumerate(csl_folds(graphs, folds)):
            if only_folds and fold not in only_folds:
                continue
            torch.manual_seed(fold)
            draw = None
            if augment is not None:
                # METIS costs about as much as a training step here: with `pool`, each epoch's patches are drawn
                # from `pool` partitions per graph made up front (the paper makes a fresh one every epoch).
                variants = {int(i): [augment(base[int(i)]) for _ in range(pool)] for i in train} if pool else {}
                pick = torch.Generator().manual_seed(fold)

                def draw(i: int) -> Graph:
                    if not pool:
                        return augment(base[i])
                    return variants[i][int(torch.randint(pool, (), generator=pick))]
            data = {"test": batches(graphs, test, batch_size), "train": shuffled(graphs, train, batch_size, fold, draw)}
            # The paper's widths: token-mixing MLP 4 C wide, channel MLP C / 2 (MLP-Mixer); feed-forward 2 C and
            # 8 heads (ViT); a final LayerNorm after the mixer blocks.
            model = GraphMLPMixer(1, hidden, 10, num_patches, num_gnn_layers=layers, num_mixer_layers=layers,
                                  mixer=mixer, heads=8, node_pe_dim=node_rw, patch_pe_dim=8, norm="batch",
                                  token_hidden=4 * hidden, channel_hidden=hidden // 2 if mixer == "mlp" else 2 * hidden,
                                  final_norm=mixer == "mlp")
            history = [r["test"] for r in fit(model, data, epochs, 1e-3,
                                              lambda out, y: F.cross_entropy(out, y.view(-1)), accuracy, fold,
                                              patience, log_every)]
            final.append(history[-1])
            best.append(max(history))
            print(f"  {name} fold {fold}: test accuracy {final[-1]:.3f} at the last epoch, {best[-1]:.3f} at the best "
                  f"(first epoch at 100%: {history.index(1.0) + 1 if 1.0 in history else '-'})", flush=True)
        seconds = time.perf_counter() - start
        report("CSL test accuracy, last epoch", name, final, seconds, runs="fold(s)")
        report("CSL test accuracy, best epoch (the paper's metric)", name, best, seconds, runs="fold(s)")


# ---------------------------------------------------------------------------------------------------------- B3DB
class MixerMolecule(torch.nn.Module):
    def __init__(self, hidden: int, num_patches: int, mixer: str, rw_steps: int) -> None:
        super().__init__()
        self.enc = AtomEncoder(hidden)
        # 2 GIN layers (not GIN's 4) to keep an epoch near GIN's cost: copies are ~2.5x the atoms
        self.net = GraphMLPMixer(hidden, hidden, 1, num_patches, num_gnn_layers=2, num_mixer_layers=2, mixer=mixer,
                                 heads=4, node_pe_dim=rw_steps, patch_pe_dim=8, dropout=0.3)

    def forward(self, b: Batch) -> torch.Tensor:
        return self.net(b, self.enc(b.x)).view(-1)


class GINMolecule(torch.nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.enc = AtomEncoder(hidden)
        self.gnn = GIN(hidden, hidden, num_layers=4, dropout=0.3)
        self.head = torch.nn.Linear(hidden, 1)

    def forward(self, b: Batch) -> torch.Tensor:
        return self.head(global_add_pool(self.gnn(self.enc(b.x), b), b.batch, b.num_graphs)).view(-1)


def b3db(seeds: int, epochs: int, num_patches: int, limit: int, models: Sequence[str], first_seed: int = 0) -> None:
    from sklearn.metrics import roc_auc_score

    from graphkit.datasets import B3DB

    rw_steps = 16
    pre = Compose([AddRandomWalkPE(rw_steps), GraphPatches(num_patches, patch_rw_steps=8)])
    start = time.perf_counter()
    data_set = B3DB()
    split = {k: (v[:limit] if limit else v) for k, v in data_set.split.items()}
    graphs = {int(i): pre(data_set[int(i)]) for v in split.values() for i in v.tolist()}
    print(f"B3DB: {sum(v.numel() for v in split.values())} molecules, patches in {time.perf_counter() - start:.0f} s",
          flush=True)
    data = {k: batches(graphs, v, 64) for k, v in split.items()}
    # (training batches are re-dealt per epoch below, for every model alike; the split is scaffold-ordered)

    def auc(pred: torch.Tensor, y: torch.Tensor) -> float:
        return float(roc_auc_score(y.numpy(), pred.numpy()))

    def bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(out, y.view(-1).to(out.dtype))

    builders = {"GIN": lambda: GINMolecule(64),
                **{name: (lambda m=m: MixerMolecule(64, num_patches, m, rw_steps)) for name, m in MIXERS.items()}}
    for name in models:
        start, aucs = time.perf_counter(), []
        for seed in range(first_seed, first_seed + seeds):
            torch.manual_seed(seed)
            data["train"] = shuffled(graphs, split["train"], 64, seed)
            aucs.append(best_valid_test(fit(builders[name](), data, epochs, 1e-3, bce, auc, seed)))
            print(f"  {name} seed {seed}: test ROC-AUC {aucs[-1]:.4f}", flush=True)
        report("B3DB test ROC-AUC", name, aucs, time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", nargs="?", choices=["csl", "b3db", "both"], default="both")
    parser.add_argument("--seeds", type=int, default=5, help="B3DB: seeds")
    parser.add_argument("--first-seed", type=int, default=0, help="B3DB: seeds FIRST_SEED .. FIRST_SEED + SEEDS - 1")
    parser.add_argument("--folds", type=int, default=5, help="CSL: cross-validation folds")
    parser.add_argument("--only-folds", type=int, nargs="*", default=[], metavar="K",
                        help="CSL: run only these folds (0-based; default all)")
    parser.add_argument("--epochs", type=int, default=0, help="default: 200 for CSL, 8 for B3DB")
    parser.add_argument("--patches", "--num-patches", type=int, default=0,
                        help="patches per graph (default: 32 CSL, 8 B3DB)")
    parser.add_argument("--hidden", type=int, default=128, help="CSL width")
    parser.add_argument("--layers", type=int, default=4, help="CSL: GIN layers and mixer blocks (each)")
    parser.add_argument("--batch-size", type=int, default=128, help="CSL: graphs per batch (128: all 120 at once)")
    parser.add_argument("--patience", type=int, default=50,
                        help="CSL: epochs without a lower training loss before the learning rate halves (0: never)")
    parser.add_argument("--drop-rate", type=float, default=0.3,
                        help="CSL: METIS augmentation, share of edges hidden from METIS (0: fixed patches)")
    parser.add_argument("--augment-pool", type=int, default=0,
                        help="CSL: draw each epoch's patches from this many partitions per graph made up front "
                             "(0: a fresh partition every epoch, as the paper)")
    parser.add_argument("--log-every", type=int, default=0, help="CSL: print progress every this many epochs")
    parser.add_argument("--node-rw", type=int, default=8, help="CSL: node RWSE steps (0: none; the paper uses 8)")
    parser.add_argument("--limit", type=int, default=0, help="B3DB: only the first LIMIT molecules of each split")
    parser.add_argument("--models", nargs="*", default=None, choices=["GIN", *MIXERS], metavar="MODEL",
                        help="models: GIN (B3DB), 'Graph MLP-Mixer', 'Graph ViT' (default: all of the task's)")
    parser.add_argument("--quick", action="store_true", help="one seed/fold, a few epochs, B3DB cut to 200 molecules")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.limit, args.only_folds = 1, args.limit or 200, args.only_folds or [0]
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    if args.task in ("csl", "both"):
        csl(args.folds, args.epochs or (3 if args.quick else 200), args.patches or 32, args.hidden, args.node_rw,
            args.layers, args.drop_rate, args.batch_size, args.patience,
            [m for m in (args.models or MIXERS) if m in MIXERS], args.only_folds, args.augment_pool, args.log_every)
    if args.task in ("b3db", "both"):
        b3db(args.seeds, args.epochs or (1 if args.quick else 8), args.patches or 8, args.limit,
             args.models or ["GIN", *MIXERS], args.first_seed)

if __name__ == "__main__":
    from _data import run_example

    run_example(main)
