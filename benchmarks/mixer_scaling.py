"""Graph MLP-Mixer vs GPS (full attention) as one graph grows 10x at a time: time and peak memory of a training step.

    python benchmarks/mixer_scaling.py                 # N = 1k, 10k, 100k (GPS up to 10k), ~3 minutes
    python benchmarks/mixer_scaling.py --sizes 1000,10000,100000,1000000   # and 1M (several minutes more)
    python benchmarks/mixer_scaling.py --graph grid    # the same on a 2D lattice (small METIS cuts)
    python benchmarks/mixer_scaling.py --quick         # N = 1k, 10k
    python benchmarks/mixer_scaling.py --write         # also write the table into benchmarks/RESULTS.md

One graph per size (uniform random edges, mean degree 5 each way, or a 4-neighbour lattice; 16 features), one forward + backward of
a graph-level output. Graph MLP-Mixer: GraphMLPMixer, 64 channels, 2 GIN layers + 2 mixer blocks, 32 patches
(GraphPatches, precomputed as a pre_transform: its time is reported apart, not in the step). GPS: two GPSConv
layers (GIN inside, 4-head full attention, LayerNorm), 64 channels, a mean readout. Each cell runs in a fresh
process (one thread): median of 3 steps after one warm-up, then the step's peak resident memory growth (kernel
high-water mark). GPS cells whose attention scores alone would pass ``--gps-limit-gb`` are not run; their memory is
projected from the quadratic term.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import step_peak_rss_mb, write_section  # noqa: E402

from graphkit import Graph  # noqa: E402

CHANNELS, FEATURES, PATCHES, HEADS = 64, 16, 32, 4


def grid_graph(n: int) -> Graph:
    """A side x side 4-neighbour lattice (side = round(sqrt(n))): local structure, small METIS cuts."""
    side = max(int(round(n ** 0.5)), 1)
    idx = torch.arange(side * side).view(side, side)
    right = torch.stack([idx[:, :-1].reshape(-1), idx[:, 1:].reshape(-1)])
    down = torch.stack([idx[:-1, :].reshape(-1), idx[1:, :].reshape(-1)])
    ei = torch.cat([right, down], dim=1)
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    gen = torch.Generator().manual_seed(0)
    return Graph(x=torch.randn(side * side, FEATURES, generator=gen), edge_index=ei, num_nodes=side * side)


def random_graph(n: int, seed: int = 0) -> Graph:
    """Uniform random edges: an expander, so every METIS cut is large and the one-hop overlap too."""
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(0, n, (5 * n,), generator=gen)
    dst = torch.randint(0, n, (5 * n,), generator=gen)
    keep = src != dst
    ei = torch.stack([torch.cat([src[keep], dst[keep]]), torch.cat([dst[keep], src[keep]])])
    return Graph(x=torch.randn(n, FEATURES, generator=gen), edge_index=ei, num_nodes=n)


def cell(model_name: str, n: int, family: str) -> Dict[str, float]:
    """One (model, size) measurement, in this (fresh) process."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    g = random_graph(n) if family == "random" else grid_graph(n)
    info: Dict[str, float] = {"nodes": g.num_nodes, "edges": g.num_edges}
    if model_name == "mixer":
        from graphkit.nn import GraphMLPMixer
        from graphkit.transforms import GraphPatches

        start = time.perf_counter()
        g = GraphPatches(PATCHES, patch_rw_steps=8)(g)
        info["patch_s"] = time.perf_counter() - start
        info["copies"] = int(g.patch_node.numel())
        model = GraphMLPMixer(FEATURES, CHANNELS, 1, PATCHES, num_gnn_layers=2, num_mixer_layers=2,
                              patch_pe_dim=8, norm="layer")

        def forward() -> torch.Tensor:
            return model(g).sum()
    else:
        from graphkit.nn import GINConv, GPSConv

        lin = torch.nn.Linear(FEATURES, CHANNELS)
        layers = torch.nn.ModuleList(
            GPSConv(CHANNELS, GINConv(torch.nn.Sequential(torch.nn.Linear(CHANNELS, CHANNELS), torch.nn.ReLU(),
                                                          torch.nn.Linear(CHANNELS, CHANNELS))),
                    heads=HEADS, norm="layer_norm")
            for _ in range(2))
        model = torch.nn.ModuleList([lin, layers])
        batch = torch.zeros(g.num_nodes, dtype=torch.long)

        def forward() -> torch.Tensor:
            h = lin(g.x)
            for layer in layers:
                h = layer(h, g, batch=batch)
            return h.mean(0).sum()

    def step() -> None:
        model.zero_grad(set_to_none=True)
        forward().backward()

    step()  # warm-up: CSR, the patch-copy graph and allocator pools are built here
    times = []
    for _ in range(3):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    info["seconds"] = statistics.median(times)
    info["peak_mb"] = step_peak_rss_mb(step)
    return info


def run_cell(model_name: str, n: int, family: str, timeout: float) -> Dict[str, float]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MALLOC_MMAP_THRESHOLD_="65536")
    cmd = [sys.executable, __file__, "--cell", model_name, str(n), family]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default="", help="comma-separated node counts (default 1k,10k,100k)")
    parser.add_argument("--gps-limit-gb", type=float, default=2.0,
                        help="skip GPS where the [heads, N, N] float32 scores of one layer exceed this")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per cell")
    parser.add_argument("--write", action="store_true", help="write the table into benchmarks/RESULTS.md")
    parser.add_argument("--graph", choices=["random", "grid"], default="random",
                        help="uniform random edges (an expander) or a 2D lattice")
    parser.add_argument("--cell", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell:
        print(json.dumps(cell(args.cell[0], int(args.cell[1]), args.cell[2])))
        return
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (
        [1000, 10000] if args.quick else [1000, 10000, 100000])
    load = os.getloadavg()
    lines: List[str] = [
        f"Graph: {args.graph}. Fresh process per cell, 1 thread, torch {torch.__version__}, load average at start "
        f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} (2 cores shared with other jobs).",
        "",
        "| N nodes | E edges | copies / N | Graph MLP-Mixer step | x previous | peak MiB | GPS step | x previous | "
        "peak MiB | patches (once) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    print("\n".join(lines), flush=True)
    prev: Dict[str, float] = {}
    for n in sizes:
        row = {"mixer": run_cell("mixer", n, args.graph, args.timeout)}
        scores_gb = HEADS * n * n * 4 / 2**30
        if scores_gb <= args.gps_limit_gb:
            row["gps"] = run_cell("gps", n, args.graph, args.timeout)
        else:
            row["gps"] = {"error": f"not run: attention scores alone {scores_gb:,.0f} GiB per layer"}
        cells = []
        for name in ("mixer", "gps"):
            r = row[name]
            if "error" in r:
                cells += [r["error"], "", ""]
                prev.pop(name, None)
                continue
            ratio = f"{r['seconds'] / prev[name]:.1f}x" if name in prev else ""
            prev[name] = r["seconds"]
            cells += [f"{1000 * r['seconds']:,.0f} ms", ratio, f"{r['peak_mb']:,.0f}"]
        edges = row["mixer"].get("edges", row["gps"].get("edges", 0))
        nodes = int(row["mixer"].get("nodes", n))
        patch = row["mixer"].get("patch_s")
        copies = row["mixer"].get("copies")
        per_node = f"{copies / nodes:.1f}" if copies else ""
        line = (f"| {nodes:,} | {int(edges):,} | {per_node} | " + " | ".join(cells) + " | "
                + (f"{patch:.2f} s" if patch is not None else "") + " |")
        lines.append(line)
        print(line, flush=True)
    load = os.getloadavg()
    lines.append("")
    lines.append(f"Load average at the end: {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}.")
    if args.write:
        here = os.path.dirname(os.path.abspath(__file__))
        write_section(os.path.join(here, "RESULTS.md"), f"mixer-scaling-{args.graph}", "\n".join(lines))


if __name__ == "__main__":
    main()
