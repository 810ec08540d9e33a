"""Seconds per training epoch of ``graphkit train --task recsys`` on MovieLens-100k: LightGCN against UltraGCN.

One epoch is what the Trainer runs between evaluations: every step of ``RecsysTask.batches()`` with its negative
sampling, forward, backward and Adam step (the task's default batch sizes: LightGCN 8192 pairs, UltraGCN 1024 pairs
with 50 negatives each). Both models are timed in interleaved rounds in one process (medians), so they see the same
machine load; the evaluation pass (``RecsysTask.evaluate``: a ``[U, I]`` score matrix ranked for three splits) is
timed the same way. Multiply by the epochs a run needs (``examples/movielens_ultragcn.py``) for the time to a score.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/recsys.py [--rounds 5] [--root DATA]
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Dict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import interleaved_medians, machine_line  # noqa: E402

from graphkit.datasets import MovieLens100K  # noqa: E402
from graphkit.ops._backend import backend  # noqa: E402
from graphkit.train.config import TrainConfig  # noqa: E402
from graphkit.train.recsys import RECSYS_MODELS, RecsysTask  # noqa: E402


def epoch_and_eval(ds: MovieLens100K, model: str) -> Dict[str, Callable[[], object]]:
    """``{"epoch": one training epoch, "eval": one evaluation}`` of ``model`` as the Trainer runs them."""
    torch.manual_seed(0)
    cfg = TrainConfig(task="recsys", model=model).resolved()
    task = RecsysTask(ds, cfg, torch.device("cpu"))
    opt = torch.optim.Adam(task.model.parameters(), lr=cfg.lr)

    def epoch() -> None:
        task.model.train()
        for chunk in task.batches():
            opt.zero_grad(set_to_none=True)
            task.loss(chunk).backward()
            opt.step()

    def evaluate() -> None:
        task.model.eval()
        task.evaluate()

    return {"epoch": epoch, "eval": evaluate}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--root", default=None)
    args = parser.parse_args()
    ds = MovieLens100K(root=args.root)
    calls = {f"{m} {what}": fn for m in RECSYS_MODELS for what, fn in epoch_and_eval(ds, m).items()}
    med = interleaved_medians(calls, args.rounds)
    print(machine_line())
    print(f"kernel backend: {backend()}, torch threads {torch.get_num_threads()}, {args.rounds} rounds")
    print("| model | training epoch (s) | evaluation (s) |\n|---|---|---|")
    for m in RECSYS_MODELS:
        print(f"| {m} | {med[f'{m} epoch']:.3f} | {med[f'{m} eval']:.3f} |")
    print(f"UltraGCN epoch / LightGCN epoch: {med['ultragcn epoch'] / med['lightgcn epoch']:.2f}")


if __name__ == "__main__":
    main()
