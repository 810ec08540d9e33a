"""ogbn-products at its size on this machine: generate, load and cache, train GraphSAGE through the CLI, vs an MLP.

    .venv/bin/python benchmarks/products.py                 # full size (2.45M nodes, 62M edges): a quiet machine only
    .venv/bin/python benchmarks/products.py --scale 0.1     # a tenth of the nodes and edges
    .venv/bin/python benchmarks/products.py --epochs 1 --data /tmp/products

Steps, each a child process whose peak RSS (``wait4``) is its own:

1. ``datasets/make_products.py`` writes the data set (ogb's ``DatasetSaver``; skipped when the folder exists);
2. ``graphkit.datasets.load_ogb(folder)`` twice: parse the raw files and write graphkit's cache, then a cache hit;
3. ``graphkit train --dataset <folder> --model sage --batch-size 1024 --epochs E``: epoch times from the run's
   ``metrics.jsonl``, final accuracies from its ``summary.json``;
4. an MLP on the node features alone (same hidden size, Adam, batches of 1,024 training nodes, ``E`` epochs): the
   accuracy the graph has to beat.

The table goes to benchmarks/RESULTS.md between ``<!-- products:start -->`` and ``<!-- products:end -->``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import write_section  # noqa: E402

RESULTS = HERE / "RESULTS.md"
PRODUCTS = dict(nodes=2_449_029, edges=61_859_140)

_LOAD = """
import sys, time
from graphkit.datasets.ogb import load_ogb
t = time.perf_counter(); d = load_ogb(sys.argv[1]); print("SECONDS", time.perf_counter() - t)
"""

_MLP = """
import json, sys, time, torch, torch.nn.functional as F
from graphkit.datasets.ogb import load_ogb
epochs, hidden = int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(0)
d = load_ogb(sys.argv[1]); x, y = d.graph.x, d.graph.y.view(-1)
tr, te, va = d.split["train"], d.split["test"], d.split["valid"]
mlp = torch.nn.Sequential(torch.nn.Linear(x.size(1), hidden), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                          torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                          torch.nn.Linear(hidden, d.num_classes))
opt = torch.optim.Adam(mlp.parameters(), lr=0.01, weight_decay=5e-4)
t = time.perf_counter()
for _ in range(epochs):
    mlp.train()
    for idx in tr[torch.randperm(tr.numel())].split(1024):
        opt.zero_grad(); F.cross_entropy(mlp(x[idx]), y[idx]).backward(); opt.step()
mlp.eval()
with torch.no_grad():
    acc = {k: float((mlp(x[i]).argmax(1) == y[i]).float().mean()) for k, i in (("valid", va), ("test", te))}
print("RESULT", json.dumps({"acc": acc, "seconds": time.perf_counter() - t}))
"""


def run_child(cmd: List[str], timeout: float) -> Tuple[str, float, float]:
    """``(stdout, wall seconds, peak RSS in MB)`` of one child process (its own ``ru_maxrss``, from ``wait4``)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read()
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.read()[-3000:]}")
    return text, wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of ogbn-products' nodes and edges")
    ap.add_argument("--data", default=str(ROOT / "runs" / "products-data"), help="where the data set is written")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--timeout", type=float, default=6 * 3600)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    nodes, edges = int(PRODUCTS["nodes"] * args.scale), int(PRODUCTS["edges"] * args.scale)
    data = Path(args.data) / f"scale{args.scale:g}"
    folder = data / "ogbn_synthproducts"
    load0 = os.getloadavg()
    rows: Dict[str, Any] = {}
    if not (folder / "meta.json").is_file():
        _, rows["generate_s"], rows["generate_rss"] = run_child(
            [sys.executable, str(ROOT / "datasets" / "make_products.py"), "--out", str(data), "--nodes", str(nodes),
             "--edges", str(edges)], args.timeout)
    for key in ("load_parse", "load_cached"):  # the time inside load_ogb (not the interpreter's start-up)
        out, _, rows[f"{key}_rss"] = run_child([sys.executable, "-c", _LOAD, str(folder)], args.timeout)
        rows[f"{key}_s"] = float(out.split("SECONDS", 1)[1])
    run_dir = data / f"run-sage-{int(time.time())}"
    _, rows["train_wall_s"], rows["train_rss"] = run_child(
        [sys.executable, "-m", "graphkit", "train", "--dataset", str(folder), "--model", "sage", "--batch-size",
         "1024", "--epochs", str(args.epochs), "--hidden", str(args.hidden), "--out", str(run_dir),
         "--progress", "off"], args.timeout)
    history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((run_dir / "summary.json").read_text())
    rows["epoch_s"] = [h.get("seconds") for h in history]
    rows["sage"] = {k: v["acc"] for k, v in summary["final"].items()}
    out, _, rows["mlp_rss"] = run_child([sys.executable, "-c", _MLP, str(folder), str(args.epochs),
                                         str(args.hidden)], args.timeout)
    rows["mlp"] = json.loads(out.split("RESULT ", 1)[1])
    load1 = os.getloadavg()
    body = "\n".join([
        "## ogbn-products-shaped data through the CLI (`benchmarks/products.py`)",
        "",
        f"Command: `.venv/bin/python benchmarks/products.py --scale {args.scale:g} --epochs {args.epochs} "
        f"--hidden {args.hidden}`: {nodes:,} nodes, {edges:,} edges, 100 features, 47 classes "
        f"(`datasets/make_products.py`: planted communities, power-law degrees). "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average at start {load0[0]:.1f}, at end "
        f"{load1[0]:.1f} on {os.cpu_count()} shared cores. Peak RSS: each step's own process.",
        "",
        "| step | seconds | peak RSS (MB) |",
        "|---|---|---|",
        *([f"| generate + write (ogb DatasetSaver) | {rows['generate_s']:.0f} | {rows['generate_rss']:.0f} |"]
          if "generate_s" in rows else []),
        f"| load_ogb: parse raw + write cache | {rows['load_parse_s']:.1f} | {rows['load_parse_rss']:.0f} |",
        f"| load_ogb: cache hit | {rows['load_cached_s']:.1f} | {rows['load_cached_rss']:.0f} |",
        f"| graphkit train sage, batch 1024, {args.epochs} epoch(s) (whole command) | {rows['train_wall_s']:.0f} | "
        f"{rows['train_rss']:.0f} |",
        "",
        f"Epoch times (train + full-graph evaluation): {', '.join(f'{s:.1f} s' for s in rows['epoch_s'] if s)}. "
        f"Accuracy: GraphSAGE valid {rows['sage']['valid']:.3f} / test {rows['sage']['test']:.3f}; "
        f"MLP on the features alone valid {rows['mlp']['acc']['valid']:.3f} / test {rows['mlp']['acc']['test']:.3f}.",
    ])
    print(body)
    if not args.no_write:
        write_section(str(RESULTS), "products", body)


if __name__ == "__main__":
    main()
