"""Random walks and Node2Vec training: graphkit vs DGL 1.1.3 (``dgl.sampling.random_walk`` /
``node2vec_random_walk``), at 1 and 2 threads (each thread count in its own child process).

    .venv/bin/python benchmarks/walks.py            # both sections, table printed and written
    .venv/bin/python benchmarks/walks.py --quick    # small sizes, smoke test only (not written)

Tables go to benchmarks/RESULTS.md between ``<!-- walks:start -->`` and ``<!-- walks:end -->``.

* walks: an undirected random graph (N=200k, 2M directed edges, skewed degrees), one walk of 20 steps from each
  of 200k starts; steps per second, uniform and node2vec (p=0.5, q=2). Both libraries get their graph structure
  built before timing (graphkit's ``WalkGraph``, DGL's ``DGLGraph`` with its CSR formats created).
* node2vec: one epoch-slice (``--batches`` batches of 128 start nodes) of Node2Vec training on N=20k, E=200k:
  embedding 128, walk_length 20, context 10, one walk and one negative per node, SparseAdam. graphkit:
  ``Node2Vec.loader()`` (walks from the C++ kernel on the background producer while the model trains, as
  GraphVite does); the same model fed by DGL's ``node2vec_random_walk`` in the training loop (what DGL's node2vec
  example does). Batches per second.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Dict

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchmarks.common import interleaved_medians, machine_line, write_section  # noqa: E402
from graphkit.loader import WalkGraph  # noqa: E402
from graphkit.nn import Node2Vec  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
P, Q = 0.5, 2.0


def undirected(n: int, e: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    src = (torch.rand(e // 2, generator=gen) ** 2 * n).long()  # skewed degrees
    dst = torch.randint(0, n, (e // 2,), generator=gen)
    return torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], 1)


def walks_section(n: int, e: int, starts: int, steps: int, rounds: int) -> Dict[str, float]:
    import dgl

    ei = undirected(n, e)
    walks = WalkGraph(ei[0], ei[1], n)
    g = dgl.graph((ei[0], ei[1]), num_nodes=n)
    g.create_formats_()
    start = torch.randint(0, n, (starts,), generator=torch.Generator().manual_seed(1))
    calls = {
        "graphkit uniform": lambda: walks.walk(start, steps, seed=0),
        "dgl uniform": lambda: dgl.sampling.random_walk(g, start, length=steps),
        "graphkit node2vec": lambda: walks.walk(start, steps, P, Q, seed=0),
        "dgl node2vec": lambda: dgl.sampling.node2vec_random_walk(g, start, P, Q, walk_length=steps),
    }
    secs = interleaved_medians(calls, rounds)
    return {k: starts * steps / v for k, v in secs.items()}  # steps per second


def node2vec_section(n: int, e: int, batches: int, rounds: int) -> Dict[str, float]:
    import dgl

    ei = undirected(n, e)
    g = dgl.graph((ei[0], ei[1]), num_nodes=n)
    g.create_formats_()
    model = Node2Vec(ei, embedding_dim=128, walk_length=20, context_size=10, p=P, q=Q, num_nodes=n, sparse=True)
    opt = torch.optim.SparseAdam(list(model.parameters()), lr=0.01)

    def step(pos: torch.Tensor, neg: torch.Tensor) -> None:
        opt.zero_grad()
        model.loss(pos, neg).backward()
        opt.step()

    def graphkit_run(prefetch: int) -> None:
        loader = model.loader(batch_size=128, seed=0, prefetch=prefetch)
        for b, (pos, neg) in enumerate(loader):
            step(pos, neg)
            if b + 1 == batches:
                break

    def dgl_run() -> None:
        order = torch.randperm(n)
        for b in range(batches):
            batch = order[b * 128:(b + 1) * 128]
            rw = dgl.sampling.node2vec_random_walk(g, batch, P, Q, walk_length=model.walk_length - 1)
            rw = torch.where(rw < 0, rw[:, :1], rw)  # DGL pads a walk from an isolated node with -1: it stays
            pos = rw.unfold(1, model.context_size, 1).transpose(0, 1).reshape(-1, model.context_size)
            step(pos, model.neg_sample(batch, seed=b))

    calls = {"graphkit (background producer)": lambda: graphkit_run(2),
             "graphkit (no prefetch)": lambda: graphkit_run(0),
             "dgl walks in the loop": dgl_run}
    secs = interleaved_medians(calls, rounds)
    return {k: batches / v for k, v in secs.items()}  # batches per second


def child(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    q = args.quick
    out = {"walks": walks_section(20_000 if q else 200_000, 200_000 if q else 2_000_000, 20_000 if q else 200_000,
                                  20, 2 if q else args.rounds),
           "node2vec": node2vec_section(2_000 if q else 20_000, 20_000 if q else 200_000, 5 if q else args.batches,
                                        2 if q else args.rounds)}
    print("JSON" + json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)  # set in the child processes
    args = ap.parse_args()
    if args.threads:
        return child(args)
    header = machine_line()
    results = {}
    for t in (1, 2):
        env = dict(os.environ, OMP_NUM_THREADS=str(t))
        cmd = [sys.executable, __file__, "--threads", str(t), "--rounds", str(args.rounds), "--batches",
               str(args.batches)] + (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"the {t}-thread run failed:\n{proc.stderr[-3000:]}")
        out = proc.stdout
        results[t] = json.loads(next(ln for ln in out.splitlines() if ln.startswith("JSON"))[4:])
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    lines = ["## Random walks and Node2Vec (benchmarks/walks.py)", "", header, f"`uptime` after the run: {uptime}", "",
             "| walks (million steps/s) | 1 thread | 2 threads |", "|---|---|---|"]
    for k in results[1]["walks"]:
        lines.append(f"| {k} | {results[1]['walks'][k] / 1e6:.2f} | {results[2]['walks'][k] / 1e6:.2f} |")
    for kind in ("uniform", "node2vec"):
        r = [results[t]["walks"][f"graphkit {kind}"] / results[t]["walks"][f"dgl {kind}"] for t in (1, 2)]
        lines.append(f"| **graphkit / DGL, {kind}** | **{r[0]:.2f}x** | **{r[1]:.2f}x** |")
    lines += ["", "| Node2Vec training (batches/s) | 1 thread | 2 threads |", "|---|---|---|"]
    for k in results[1]["node2vec"]:
        lines.append(f"| {k} | {results[1]['node2vec'][k]:.2f} | {results[2]['node2vec'][k]:.2f} |")
    r = [results[t]["node2vec"]["graphkit (background producer)"] / results[t]["node2vec"]["dgl walks in the loop"]
         for t in (1, 2)]
    lines.append(f"| **graphkit / DGL** | **{r[0]:.2f}x** | **{r[1]:.2f}x** |")
    body = "\n".join(lines)
    print(body)
    if not args.quick:
        write_section(RESULTS, "walks", body)


if __name__ == "__main__":
    main()
