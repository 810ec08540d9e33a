"""Features partitioned across ranks (``DistFeatureStore``): bytes moved per epoch with and without the hot-node
cache, on 2 and 4 gloo ranks on 127.0.0.1, on an ogbn-products-shaped graph (``datasets/make_products.py``).

    .venv/bin/python benchmarks/dist_features.py                       # 100k nodes, 2.5M directed edges
    .venv/bin/python benchmarks/dist_features.py --nodes 20000 --worlds 2 --caches 0,0.05

Per configuration (world size ``W``, cache size as a fraction of the nodes): the graph is METIS-partitioned
(timed), each part's rows written to their own ``.npy`` (``graphkit.testing.dist_features.prepare``), and ``W``
processes train GraphSAGE (DDP) for ``--epochs`` epochs through ``NodeBatches`` + ``DistFeatureStore``; the last
epoch's counters are summed over the ranks (every byte sent is received once: the total moved is the sum of
``bytes_received``). ``W = 1`` is the one-process reference for the epoch time. Each rank runs one intra-op
thread. The table goes to benchmarks/RESULTS.md between ``<!-- dist-features:start -->`` and ``-end -->``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "datasets"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.common import write_section  # noqa: E402
from graphkit import Graph  # noqa: E402
from graphkit.testing.dist_features import prepare, spawn  # noqa: E402


def _mb(x: float) -> str:
    return f"{x / 1e6:.1f}"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--edges", type=int, default=2_500_000, help="directed edges before symmetrising")
    p.add_argument("--features", type=int, default=100)
    p.add_argument("--worlds", default="2,4")
    p.add_argument("--caches", default="0,0.05,0.2", help="cache sizes, as fractions of the nodes")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--fanouts", default="10,5")
    p.add_argument("--write", action="store_true", help="write the table into RESULTS.md")
    p.add_argument("--json", default=None, help="also write every row's counters to this file")
    args = p.parse_args()
    from make_products import generate

    t = time.perf_counter()
    ei, x, y, split = generate(args.nodes, args.edges, args.features, 47, seed=0)
    ei = torch.from_numpy(ei)
    g = Graph(edge_index=torch.cat([ei, ei.flip(0)], 1), x=torch.from_numpy(x), y=torch.from_numpy(y).view(-1),
              num_nodes=args.nodes)
    print(f"generated {args.nodes} nodes, {g.num_edges} edges in {time.perf_counter() - t:.1f} s", flush=True)
    train, test = torch.from_numpy(split["train"]), torch.from_numpy(split["test"][:2000])
    fanouts = [int(f) for f in args.fanouts.split(",")]
    cfg: Dict[str, Any] = {"epochs": args.epochs, "batch_size": args.batch_size, "fanouts": fanouts, "hidden": 64,
                           "lr": 0.01, "seed": 0, "eval": False, "threads": 1, "timeout": 300}
    rows: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="graphkit-distfeat-") as tmp:
        tmp = Path(tmp)
        prepare(g, train, test, 1, tmp / "w1")
        one = spawn(1, tmp / "w1", cfg, tmp / "one")[0]
        base = one["epochs"][-1]
        rows.append({"world": 1, "cache": 0, "seconds": base["seconds"], "steps": base["steps"],
                     "waited": base["waited"]})
        print("W=1", base, flush=True)
        for w in [int(v) for v in args.worlds.split(",")]:
            t = time.perf_counter()
            part = prepare(g, train, test, w, tmp / f"w{w}")
            part_s = time.perf_counter() - t
            cut = part.edge_cut(g) / g.num_edges
            for frac in [float(v) for v in args.caches.split(",")]:
                cache = int(frac * args.nodes)
                ms = spawn(w, tmp / f"w{w}", {**cfg, "cache": cache}, tmp / f"w{w}c{cache}")
                last = [m["epochs"][-1] for m in ms]
                tot = {k: sum(e[k] for e in last) for k in last[0]
                       if isinstance(last[0][k], int) and k not in ("epoch", "steps")}
                row = {**tot, "world": w, "cache": cache, "frac": frac, "seconds": max(e["seconds"] for e in last),
                       "steps": last[0]["steps"], "partition_s": part_s, "cut": cut, "waited": max(e["waited"] for e in last),
                       "gather_s": max(e["gather_ns"] for e in last) / 1e9,
                       "fill": sum(m["cache_fill_bytes"] for m in ms), "local_rows": [m["local_rows"] for m in ms]}
                rows.append(row)
                print(json.dumps(row), flush=True)
    load = os.getloadavg()
    head = (f"`{' '.join(['.venv/bin/python', 'benchmarks/dist_features.py'] + sys.argv[1:])}`: {args.nodes:,} "
            f"nodes, {g.num_edges:,} directed edges (products-shaped, symmetrised), {args.features} float32 features "
            f"({args.features * 4} B/row); GraphSAGE {len(fanouts)} layers, fan-out {fanouts}, global batch "
            f"{args.batch_size} ({train.numel():,} training seeds); gloo on 127.0.0.1, 1 thread per rank; "
            f"last of {args.epochs} epochs; load average {load[0]:.1f} / {load[1]:.1f} at the end.\n")
    table = ["| ranks | cache rows (% of N) | rows requested | local | from cache | fetched | MB moved | MB without "
             "cache | MB per step | cache fill MB | epoch s | gather s | waited s | METIS s | edge cut |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["world"] == 1:
            table.append(f"| 1 | - | - | all | - | - | 0 | 0 | 0 | - | {r['seconds']:.2f} | - | {r['waited']:.2f} | - "
                         "| - |")
            continue
        moved, without = r["bytes_received"], r["bytes_received"] + r["bytes_saved"]
        table.append(f"| {r['world']} | {r['cache']:,} ({100 * r['frac']:.0f}%) | {r['rows_requested']:,} | "
                     f"{r['rows_local']:,} | {r['rows_cached']:,} | {r['rows_fetched']:,} | {_mb(moved)} | "
                     f"{_mb(without)} | {_mb(moved / r['steps'])} | {_mb(r['fill'])} | {r['seconds']:.2f} | "
                     f"{r['gather_s']:.2f} | {r['waited']:.2f} | "
                     f"{r['partition_s']:.1f} | {100 * r['cut']:.1f}% |")
    body = head + "\n" + "\n".join(table) + "\n"
    print(body)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows, "load": load}, indent=1))
    if args.write:
        write_section(str(HERE / "RESULTS.md"), "dist-features-table", body)


if __name__ == "__main__":
    main()
