"""graphkit here against graphkit in another checkout: the graphkit cells of kernels.py, layers.py and attention.py.

A refactor must not cost speed or memory. This times the same cells (built by the functions of those three scripts,
from this checkout) on two builds of graphkit: this checkout and ``--base`` (a checkout with its own compiled
extension, e.g. ``git worktree add ../base 30a8de1`` then ``setup.py build_ext --inplace`` there). Each round runs
one worker process per build, in alternating order (A B, B A, ...), so load drift on a shared machine hits both
alike; every cell's time is the median over rounds of the per-round medians, its peak memory the largest rise of
the resident high-water mark (``VmHWM``) over the resident size before a step, as in attention.py.

The clock is the process's CPU time, on one thread by default: on a machine shared with other jobs, wall time
counts the moments the scheduler gives the core to someone else (measured: the same cell varied 2-9x between
rounds at a load of 7 on 2 cores), while CPU time counts only the work, which is what a code change alters.
``--threads 2 --clock wall`` measures the way kernels.py does, on a quiet machine. Writes a table
between ``<!-- versus:start -->`` and ``<!-- versus:end -->`` in benchmarks/RESULTS.md.

    python benchmarks/versus.py --base ../base --rounds 7
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

HERE = Path(__file__).resolve().parent
Step = Callable[[], Any]

# kernels.py cells: (graph kind, F, reduce, backward, weighted), on its full-size graph (N=200k, E=2M)
KERNEL_CELLS = [("uniform", 64, "sum", False, False), ("uniform", 64, "mean", False, False),
                ("uniform", 64, "max", False, False), ("uniform", 64, "sum", True, False),
                ("uniform", 64, "max", True, False), ("uniform", 64, "sum", True, True),
                ("power-law", 64, "max", False, False)]
LAYERS = ["GCN", "SAGE", "GIN", "EdgeConv"]  # the layers.py rows both builds have, on its --quick workloads
ATTENTION = ["GATConv", "GATv2Conv", "TransformerConv"]  # attention.py's GAT table, --quick sizes, Graph input


def _steps(which: str) -> Dict[str, Step]:
    """name -> step for the cells of one script, built by the script's own code."""
    import torch

    import attention
    import kernels
    import layers

    cells: Dict[str, Step] = {}
    if which == "kernels":
        n, e = 200_000, 2_000_000
        graphs = {kind: kernels.Peers.__new__(kernels.Peers) for kind in ("uniform", "power-law")}
        for kind, p in graphs.items():  # only the graphkit structure (Peers builds every peer's)
            from graphkit import Graph

            p.ei, p.n = kernels.make_graph(kind, n, e), n
            p.graph = Graph(edge_index=p.ei, num_nodes=n)
            p.graph.csr(), p.graph.csr_t()
        for kind, f, reduce, backward, weighted in KERNEL_CELLS:
            gen = torch.Generator().manual_seed(1)
            x = torch.randn(n, f, generator=gen).requires_grad_(backward)
            w = torch.rand(e, generator=gen).requires_grad_(backward) if weighted else None
            g = graphs[kind].graph
            fn = (lambda g=g, x=x, w=w, r=reduce: kernels.ops.spmm(g, x, w, r))
            run = kernels.fwd_bwd(fn, x, w) if backward else fn
            name = f"spmm {kind} F={f} {reduce} {'fwd+bwd' if backward else 'fwd'}{' w' if weighted else ''}"
            cells[name] = run
    elif which == "layers":
        for wname, (g, x) in layers.workloads(quick=True).items():
            for layer in LAYERS:
                step = layers.peers(layer, g, x)["graphkit"]
                cells[f"{layer}, {wname}"] = step
    else:
        from graphkit import Graph
        from graphkit.nn import attention as att

        cfg = attention.QUICK_GAT
        torch.manual_seed(0)
        ei = torch.randint(0, cfg["n"], (2, cfg["e"]))
        x = torch.randn(cfg["n"], cfg["in_channels"])
        g = Graph(edge_index=ei, num_nodes=cfg["n"])
        for name in ATTENTION:
            layer = getattr(att, name)(cfg["in_channels"], cfg["out"], heads=cfg["heads"])

            def step(layer: torch.nn.Module = layer) -> None:
                layer.zero_grad(set_to_none=True)
                layer(x, g).sum().backward()

            cells[f"{name}(x, Graph) N={cfg['n']:,} E={cfg['e']:,}"] = step
    return cells


def measure(step: Step, repeats: int, clock: str) -> Dict[str, float]:
    """Median time (ms, CPU or wall clock) and peak extra resident memory (MiB) of ``step`` after one warm-up."""
    import attention  # its VmHWM reading and reset

    now = time.process_time if clock == "cpu" else time.perf_counter
    step()
    times, peaks = [], []
    for _ in range(repeats):
        gc.collect()
        base = attention._status("VmRSS")
        attention._reset_peak()
        t0 = now()
        step()
        times.append((now() - t0) * 1e3)
        peaks.append((attention._status("VmHWM") - base) / 2**20)
    return {"ms": statistics.median(times), "peak_mib": max(peaks)}


def worker(tree: str, which: str, repeats: int, threads: int, clock: str) -> None:
    sys.path.insert(0, tree)
    import graphkit  # from `tree`: imported before the scripts, whose sys.path edit then finds it cached

    sys.path.insert(1, str(HERE))
    assert Path(graphkit.__file__).resolve().is_relative_to(Path(tree).resolve()), graphkit.__file__
    import torch

    torch.set_num_threads(threads)
    out: Dict[str, Dict[str, float]] = {}
    for name, step in _steps(which).items():
        out[name] = measure(step, repeats, clock)
        gc.collect()
    print("RESULT " + json.dumps({"backend": graphkit.ops.backend(), "cells": out}))


def spawn(tree: str, which: str, repeats: int, threads: int, clock: str) -> Dict[str, Dict[str, float]]:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", OMP_NUM_THREADS=str(threads), PYTHONPATH="")
    cmd = [sys.executable, __file__, "--worker", tree, which, str(repeats), str(threads), clock]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT "):])
            if res["backend"] != "cpu-ext":
                raise RuntimeError(f"{tree}: graphkit backend is {res['backend']}, not the compiled kernels")
            return res["cells"]
    raise RuntimeError(f"worker {tree} {which} failed:\n{proc.stderr[-3000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--base", required="--worker" not in sys.argv, help="the other checkout (built in place)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=3, help="steps per cell per worker (after one warm-up)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--scripts", default="kernels,layers,attention")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.worker:
        tree, which, repeats, threads, clock = args.worker
        worker(tree, which, int(repeats), int(threads), clock)
        return
    sys.path.insert(0, str(HERE))
    from common import machine_line, write_section

    trees = {"this": str(HERE.parent), "base": str(Path(args.base).resolve())}
    base_rev = subprocess.run(["git", "-C", trees["base"], "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
    this_rev = subprocess.run(["git", "-C", trees["this"], "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
    header = machine_line()
    t0 = time.time()
    runs: Dict[str, Dict[str, List[Dict[str, float]]]] = {"this": {}, "base": {}}
    for r in range(args.rounds):
        for which in args.scripts.split(","):
            for label in (("this", "base") if r % 2 == 0 else ("base", "this")):
                for name, res in spawn(trees[label], which, args.repeats, args.threads, args.clock).items():
                    runs[label].setdefault(name, []).append(res)
        print(f"round {r + 1}/{args.rounds} done ({time.time() - t0:.0f} s, load {os.getloadavg()[0]:.2f})",
              flush=True)
    rows = ["| cell | base ms | this ms | this / base | base peak MiB | this peak MiB |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in runs["this"]:
        b = statistics.median(x["ms"] for x in runs["base"][name])
        t = statistics.median(x["ms"] for x in runs["this"][name])
        mb = max(x["peak_mib"] for x in runs["base"][name])
        mt = max(x["peak_mib"] for x in runs["this"][name])
        rows.append(f"| {name} | {b:.1f} | {t:.1f} | {t / b:.3f} | {mb:.0f} | {mt:.0f} |")
        print(rows[-1], flush=True)
    body = "\n".join([
        "## This checkout against the previous main (benchmarks/versus.py)", "", header, "",
        f"`{this_rev}` (this) against `{base_rev}` (base), each with its own compiled extension, {args.threads} "
        f"thread(s), {args.clock} clock, float32. {args.rounds} rounds; each round runs one worker process per build in alternating "
        f"order; a worker times each cell {args.repeats} times after a warm-up. Time: median over rounds of the "
        "per-round medians. Peak: the largest resident high-water-mark rise over any step (MiB). Cells: "
        "kernels.py (N=200k, E=2M), layers.py --quick (forward + backward, 64 -> 64), attention.py --quick "
        f"(forward + backward, Graph input). Load at the end: {os.getloadavg()[0]:.2f}; "
        f"{time.time() - t0:.0f} s in all.", "", *rows,
    ])
    if not args.no_write:
        write_section(str(HERE / "RESULTS.md"), "versus", body)


if __name__ == "__main__":
    main()
