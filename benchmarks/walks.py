"""Random walks and Node2Vec training: graphkit vs DGL 1.1.3 and PyG 2.8.1, at 1 and 2 threads (each thread count
in its own child process).

    .venv/bin/python benchmarks/walks.py            # both sections, table printed and written
    .venv/bin/python benchmarks/walks.py --quick    # small sizes, smoke test only (not written)

Tables go to benchmarks/RESULTS.md between ``<!-- walks:start -->`` and ``<!-- walks:end -->``.

* walks: an undirected random graph (N=200k, 2M directed edges, skewed degrees, no isolated node), one walk of 20
  steps from each of 200k starts; steps per second, uniform and node2vec (p=0.5, q=2). Both libraries get their
  graph structure built before timing (graphkit's ``WalkGraph``, DGL's ``DGLGraph`` with its CSR formats created).
* node2vec: ``--batches`` batches of 128 start nodes of Node2Vec training on N=20k, E=200k, each framework as its
  user runs it: its own model, loss and loader, ``torch.optim.SparseAdam`` (lr 0.01) on a sparse embedding;
  embedding 128, walks of 20 nodes (p=0.5, q=2), context 10, one walk and one negative sequence per node.
  graphkit: ``Node2Vec`` and its ``loader()`` (walks from the C++ kernel on a background producer while the model
  trains, as GraphVite does; also without prefetch). DGL 1.1.3 ships no node2vec model (``dgl.nn`` has DeepWalk
  and MetaPath2Vec, other objectives); its node2vec example (``examples/pytorch/node2vec/model.py``) is what a DGL
  user runs, restated here: a ``DataLoader`` over node ids whose ``collate_fn`` draws
  ``dgl.sampling.node2vec_random_walk`` walks, cuts them into windows and draws random negatives; the per-window
  loss on ``nn.Embedding(sparse=True)``. PyG: ``torch_geometric.nn.Node2Vec`` and its ``loader()``; its walks need
  pyg-lib (2.8.1), and where it is not installed they come from graphkit's kernel (said in the table).
  Batches per second; all rounds interleaved.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import types
from typing import Callable, Dict, Iterable, List, Tuple

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchmarks.common import interleaved_medians, machine_line, write_section  # noqa: E402
from graphkit.loader import WalkGraph  # noqa: E402
from graphkit.nn import Node2Vec  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
P, Q = 0.5, 2.0


def undirected(n: int, e: int, seed: int = 0) -> torch.Tensor:
    """``e`` directed edges: a ring (so that no node is isolated: DGL pads a stuck walk with -1, which its node2vec
    example would feed to the embedding) plus random pairs with skewed degrees, each in both directions."""
    gen = torch.Generator().manual_seed(seed)
    src = (torch.rand(e // 2 - n, generator=gen) ** 2 * n).long()  # skewed degrees
    dst = torch.randint(0, n, (e // 2 - n,), generator=gen)
    src, dst = torch.cat([torch.arange(n), src]), torch.cat([(torch.arange(n) + 1) % n, dst])
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


# the Node2Vec training settings every framework gets
DIM, WALK_NODES, CONTEXT, BATCH, LR = 128, 20, 10, 128, 0.01


def _train(loader: Iterable[Tuple[torch.Tensor, torch.Tensor]], loss: Callable[..., torch.Tensor],
           opt: torch.optim.Optimizer, batches: int) -> None:
    """``batches`` steps of the loop every framework's example runs."""
    for b, (pos, neg) in enumerate(loader):
        opt.zero_grad()
        loss(pos, neg).backward()
        opt.step()
        if b + 1 == batches:
            break


def _dgl_node2vec(ei: torch.Tensor, n: int) -> Tuple[Callable[[], Iterable], Callable[..., torch.Tensor],
                                                         torch.optim.Optimizer]:
    """DGL's node2vec example (see the module docstring): its loader, per-window loss and optimizer."""
    import dgl

    g = dgl.graph((ei[0], ei[1]), num_nodes=n)
    g.create_formats_()
    emb = torch.nn.Embedding(n, DIM, sparse=True)

    def windows(rw: torch.Tensor) -> torch.Tensor:
        return rw.unfold(1, CONTEXT, 1).contiguous().view(-1, CONTEXT)

    def sample(batch: List[int]) -> Tuple[torch.Tensor, torch.Tensor]:
        batch_t = torch.tensor(batch)
        pos = dgl.sampling.node2vec_random_walk(g, batch_t, P, Q, walk_length=WALK_NODES - 1)
        neg = torch.cat([batch_t.view(-1, 1), torch.randint(n, (batch_t.numel(), WALK_NODES - 1))], 1)
        return windows(pos), windows(neg)

    def loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        def scores(rw: torch.Tensor) -> torch.Tensor:
            return (emb(rw[:, :1]) * emb(rw[:, 1:].contiguous())).sum(-1).view(-1)

        return (-torch.log(torch.sigmoid(scores(pos)) + 1e-15).mean()
                - torch.log(1 - torch.sigmoid(scores(neg)) + 1e-15).mean())

    def loader() -> Iterable:
        return torch.utils.data.DataLoader(torch.arange(n), batch_size=BATCH, shuffle=True, collate_fn=sample)

    return loader, loss, torch.optim.SparseAdam(list(emb.parameters()), lr=LR)


def _pyg_node2vec(ei: torch.Tensor, n: int) -> Tuple[Callable[[], Iterable], Callable[..., torch.Tensor],
                                                         torch.optim.Optimizer, str]:
    """PyG's ``Node2Vec`` with its loader; walks from graphkit's kernel when PyG has no walk backend."""
    import torch_geometric
    from torch_geometric.nn.models import node2vec as pyg_node2vec

    walks = "its own walks"
    if not pyg_node2vec.WITH_PYG_LIB:  # PyG 2.8 walks with pyg-lib only
        wg = WalkGraph(ei[0], ei[1], n)
        pyg_node2vec.WITH_PYG_LIB = True
        torch.ops.pyg = types.SimpleNamespace(
            random_walk=lambda rowptr, col, start, steps, p, q: wg.walk(start, steps, p, q, seed=0)[0])
        walks = "walks from graphkit's kernel: pyg-lib not installed"
    model = torch_geometric.nn.Node2Vec(ei, DIM, WALK_NODES, CONTEXT, walks_per_node=1, p=P, q=Q,
                                        num_negative_samples=1, num_nodes=n, sparse=True)
    return (lambda: model.loader(batch_size=BATCH, shuffle=True), model.loss,
            torch.optim.SparseAdam(list(model.parameters()), lr=LR), walks)


def node2vec_section(n: int, e: int, batches: int, rounds: int) -> Dict[str, float]:
    ei = undirected(n, e)
    model = Node2Vec(ei, DIM, WALK_NODES, CONTEXT, p=P, q=Q, num_nodes=n, sparse=True)
    opt = torch.optim.SparseAdam(list(model.parameters()), lr=LR)
    dgl_loader, dgl_loss, dgl_opt = _dgl_node2vec(ei, n)
    pyg_loader, pyg_loss, pyg_opt, pyg_walks = _pyg_node2vec(ei, n)
    calls = {
        "graphkit Node2Vec (background producer)": lambda: _train(model.loader(BATCH, prefetch=2), model.loss, opt,
                                                                   batches),
        "graphkit Node2Vec (no prefetch)": lambda: _train(model.loader(BATCH, prefetch=0), model.loss, opt, batches),
        "DGL node2vec example": lambda: _train(dgl_loader(), dgl_loss, dgl_opt, batches),
        f"PyG Node2Vec ({pyg_walks})": lambda: _train(pyg_loader(), pyg_loss, pyg_opt, batches),
    }
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
    lines += ["", f"| Node2Vec training (batches of {BATCH} walks per s) | 1 thread | 2 threads |", "|---|---|---|"]
    n2v = {t: results[t]["node2vec"] for t in (1, 2)}
    for k in n2v[1]:
        lines.append(f"| {k} | {n2v[1][k]:.2f} | {n2v[2][k]:.2f} |")
    ours = "graphkit Node2Vec (background producer)"
    for peer in [k for k in n2v[1] if not k.startswith("graphkit")]:
        r = [n2v[t][ours] / n2v[t][peer] for t in (1, 2)]
        lines.append(f"| **graphkit / {peer.split(' (')[0]}** | **{r[0]:.2f}x** | **{r[1]:.2f}x** |")
    r = [n2v[t][ours] / max(v for k, v in n2v[t].items() if not k.startswith("graphkit")) for t in (1, 2)]
    lines.append(f"| **graphkit / fastest peer** | **{r[0]:.2f}x** | **{r[1]:.2f}x** |")
    body = "\n".join(lines)
    print(body)
    if not args.quick:
        write_section(RESULTS, "walks", body)


if __name__ == "__main__":
    main()
