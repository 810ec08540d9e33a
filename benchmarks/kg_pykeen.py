"""Knowledge-graph completion: graphkit's ``--task kg`` models beside pykeen's, same model, dimensions and epochs.

On pykeen's bundled UMLS, Kinships and Nations (the ``ogbl-umls``/``-kinships``/``-nations`` fixtures, ogbl-biokg's
format), each model is trained by both libraries with the same settings: embedding dimension, epochs, batch size,
Adam and its learning rate, sLCWA with ``NEGATIVES`` uniform head/tail corruptions per positive, softplus loss.
Both trained models are then scored by the same code: every test triple ranked against the fixture's own negatives
(all other entities that complete no known triple: filtered, head and tail side) by ogb's official ``Evaluator``
(MRR, Hits@10).
Train time is the training loop alone (no evaluation), one thread, CPU.

    python benchmarks/kg_pykeen.py [--epochs 100] [--dim 64] [--models distmult,complex,transe,rotate,rgcn]
                                   [--sets umls,kinships,nations] [--write]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graphkit.datasets.ogb import load_ogb  # noqa: E402
from graphkit.train.config import TrainConfig  # noqa: E402
from graphkit.train.kg import NEGATIVES, KGTask, padded_scores  # noqa: E402
from graphkit.train.metrics import link_scores  # noqa: E402

# pykeen's defaults add what graphkit's models do not have (unit-norm entities for DistMult and TransE, an L2
# penalty on DistMult and ComplEx): turned off, so both libraries train the same model.
SAME_MODEL = {"distmult": dict(entity_constrainer=None, regularizer=None), "complex": dict(regularizer=None),
              "transe": dict(entity_constrainer=None)}
# pykeen's ComplEx draws N(0, 1) embeddings (sized for its L2 penalty, off above); TransE's relations start at unit
# norm, and its xavier bound is sqrt(6 / dim) where torch's, which graphkit uses, is sqrt(6 / (rows + dim)). These
# models start from graphkit's distribution instead (RotatE's relation phases are uniform in both already).
SAME_INIT = {"complex": ("entity", "relation"), "transe": ("entity", "relation"), "rotate": ("entity",)}
# pykeen's RotatE scores -||h * r - t||_2 over the complex vector (its interaction hard-codes p = 2 whatever
# ``interaction_kwargs`` says); graphkit's, as Sun et al.'s, sums the moduli. ``sum_of_moduli`` replaces it.
PYKEEN_MODELS = {"distmult": "DistMult", "complex": "ComplEx", "transe": "TransE", "rotate": "RotatE",
                 "rgcn": "RGCN"}


def ranks(pos: torch.Tensor, neg_h: torch.Tensor, neg_t: torch.Tensor) -> Dict[str, float]:
    return link_scores("mrr", torch.cat([pos, pos]), torch.cat([neg_h, neg_t]))


def test_negatives(ds) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    t = ds.split["test"]
    return t["head"].long(), t["relation"].long(), t["tail"].long(), t["head_neg"].long(), t["tail_neg"].long()


def run_graphkit(ds, model: str, dim: int, epochs: int, lr: float, batch: int) -> Tuple[Dict[str, float], float]:
    torch.manual_seed(0)
    cfg = TrainConfig(task="kg", model=model, hidden=dim, lr=lr, batch_size=batch, layers=2, dropout=0.0).resolved()
    task = KGTask(ds, cfg, torch.device("cpu"))
    opt = torch.optim.Adam(task.model.parameters(), lr=lr)
    start = time.perf_counter()
    for _ in range(epochs):
        for b in task.batches():
            opt.zero_grad()
            task.loss(b).backward()
            opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        return task.evaluate()["test"], seconds


def graphkit_init(rows: int, width: int):
    """torch's ``xavier_uniform_`` bound on a ``rows x width`` real table (``width`` counts real and imaginary parts),
    as an initializer for pykeen's real or complex embeddings."""
    bound = (6.0 / (rows + width)) ** 0.5

    def init(x: torch.Tensor) -> torch.Tensor:
        (torch.view_as_real(x) if x.is_complex() else x).uniform_(-bound, bound)
        return x

    return init


def sum_of_moduli(h: torch.Tensor, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """RotatE as graphkit scores it, on pykeen's (broadcast, complex) representations: -sum_i |h_i r_i - t_i|."""
    from pykeen.nn.modules import ensure_complex

    h, r, t = ensure_complex(h, r, t)
    return -(h * r - t).abs().sum(dim=-1)


def run_pykeen(ds, source: str, model: str, dim: int, epochs: int, lr: float, batch: int
               ) -> Tuple[Dict[str, float], float]:
    from pykeen.models import model_resolver
    from pykeen.training import SLCWATrainingLoop
    from pykeen.triples import TriplesFactory

    torch.manual_seed(0)
    train = ds.split["train"]
    mapped = torch.stack([train["head"], train["relation"], train["tail"]], dim=1).long()
    num_rel = int(max(int(ds.split[s]["relation"].max()) for s in ("train", "valid", "test"))) + 1
    tf = TriplesFactory(mapped_triples=mapped, entity_to_id={str(i): i for i in range(ds.graph.num_nodes)},
                        relation_to_id={str(i): i for i in range(num_rel)})
    kwargs = dict(embedding_dim=dim, loss="softplus", random_seed=0, **SAME_MODEL.get(model, {}))
    if model == "rgcn":
        kwargs["num_layers"] = 2
    width = 2 * dim if model in ("complex", "rotate") else dim
    for part in SAME_INIT.get(model, ()):
        rows = ds.graph.num_nodes if part == "entity" else num_rel
        kwargs[f"{part}_initializer"] = graphkit_init(rows, width)
    km = model_resolver.make(PYKEEN_MODELS[model], kwargs, triples_factory=tf)
    if model == "rotate":
        km.interaction.forward = sum_of_moduli
    loop = SLCWATrainingLoop(model=km, triples_factory=tf, optimizer="adam", optimizer_kwargs=dict(lr=lr),
                             negative_sampler="basic",
                             negative_sampler_kwargs=dict(num_negs_per_pos=NEGATIVES,
                                                          corruption_scheme=("head", "tail")))
    start = time.perf_counter()
    loop.train(triples_factory=tf, num_epochs=epochs, batch_size=batch, use_tqdm=False)
    seconds = time.perf_counter() - start
    km.eval()
    h, r, t, nh, nt = test_negatives(ds)
    with torch.no_grad():
        all_t = km.score_t(torch.stack([h, r], dim=1))  # [M, num_entities]
        all_h = km.score_h(torch.stack([r, t], dim=1))
    pos = all_t.gather(1, t.view(-1, 1)).view(-1)
    neg_h = padded_scores(lambda e: all_h.gather(1, e), nh)
    neg_t = padded_scores(lambda e: all_t.gather(1, e), nt)
    return ranks(pos, neg_h, neg_t), seconds


def main(argv: List[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--models", default="distmult,complex,transe,rotate,rgcn")
    p.add_argument("--sets", default="umls,kinships,nations")
    p.add_argument("--write", action="store_true", help="write the table to benchmarks/RESULTS.md")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for source in args.sets.split(","):
        ds = load_ogb(f"ogbl-{source}")
        for model in args.models.split(","):
            ours, t_ours = run_graphkit(ds, model, args.dim, args.epochs, args.lr, args.batch)
            theirs, t_theirs = run_pykeen(ds, source, model, args.dim, args.epochs, args.lr, args.batch)
            row = (f"| {source} | {model} | {ours['mrr']:.3f} | {theirs['mrr']:.3f} | {ours['hits@10']:.3f} | "
                   f"{theirs['hits@10']:.3f} | {t_ours:.1f} | {t_theirs:.1f} |")
            print(row, flush=True)
            rows.append(row)
    load = os.getloadavg()[0]
    body = (f"Test MRR / Hits@10 against the fixture's own negatives (ogb Evaluator, filtered), train seconds "
            f"(1 thread, CPU, load {load:.1f}); dim {args.dim}, {args.epochs} epochs, batch {args.batch}, Adam lr "
            f"{args.lr}, {NEGATIVES} negatives, softplus loss (one mean over positives and negatives), graphkit's "
            f"initialisation and RotatE score in both libraries.\n"
            f"`python benchmarks/kg_pykeen.py --epochs {args.epochs} --dim {args.dim} --models {args.models} "
            f"--sets {args.sets} --write`\n\n"
            "| data | model | MRR graphkit | MRR pykeen | Hits@10 graphkit | Hits@10 pykeen | train s graphkit | "
            "train s pykeen |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    print(body)
    if args.write:
        from benchmarks.common import write_section

        write_section(str(Path(__file__).with_name("RESULTS.md")), "Knowledge-graph completion vs pykeen", body)


if __name__ == "__main__":
    main()
