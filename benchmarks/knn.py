"""k-nearest-neighbour graphs: graphkit.data.knn_graph against scipy's cKDTree and brute-force cdist + topk.

Usage: ``python benchmarks/knn.py [--sizes 1000,10000,100000,1000000] [--k 16] [--no-write]``. Uniform random
points in the unit cube (3-D), one cloud, plus a batched case (32 clouds of 1,024 points, as a DGCNN batch sees).
Writes the table into ``benchmarks/RESULTS.md`` between ``<!-- knn:start -->`` and ``<!-- knn:end -->``.

Peers: ``cKDTree`` = build the tree and ``query(k+1)`` (what our k-d tree path does, without edge assembly);
``cdist+topk`` = ``torch.cdist`` of 4,096-row blocks against all points, then ``topk`` (naive brute force; beyond
20k points its cost is extrapolated from one 4,096-row block and marked "est."). Every graphkit result is checked
against the cKDTree neighbour distances.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from datetime import date

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from graphkit.data.pointcloud import knn_graph  # noqa: E402

BLOCK = 4096
# Brute force is O(n^2): above this size it is skipped (graphkit) or extrapolated from one block (cdist).
BRUTE_MAX = 20_000


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def ckdtree(points: np.ndarray, k: int):
    from scipy.spatial import cKDTree

    return cKDTree(points).query(points, k=k + 1)


def cdist_topk(pos: torch.Tensor, k: int, rows: int = None):
    n = pos.size(0)
    rows = n if rows is None else rows
    out = []
    for r0 in range(0, rows, BLOCK):
        d = torch.cdist(pos[r0:r0 + BLOCK], pos)
        out.append(torch.topk(d, k + 1, dim=1, largest=False).indices)
    return torch.cat(out)


def check(pos: torch.Tensor, ei: torch.Tensor, ref_dist: np.ndarray, k: int) -> None:
    """Each centre's neighbour distances equal cKDTree's (indices may differ only on exact ties)."""
    d = (pos[ei[0]] - pos[ei[1]]).norm(dim=1).view(-1, k).double().numpy()
    np.testing.assert_allclose(np.sort(d, axis=1), ref_dist[:, 1:], rtol=1e-4, atol=1e-6)


def run(sizes, k: int) -> list:
    rows = []
    gen = torch.Generator().manual_seed(0)
    for n in sizes:
        pos = torch.rand(n, 3, generator=gen)
        reps = 3 if n <= 10_000 else 1
        ref_dist, _ = ckdtree(pos.double().numpy(), k)
        row = {"case": f"{n:,} points", "n": n}
        row["ckdtree"] = timed(lambda: ckdtree(pos.numpy(), k), reps)
        for method in ("auto", "kdtree", "brute"):
            if method == "brute" and n > BRUTE_MAX:
                row[method] = None
                continue
            ei = knn_graph(pos, k, method=method)
            check(pos, ei, ref_dist, k)
            row[method] = timed(lambda: knn_graph(pos, k, method=method), reps)
        if n <= BRUTE_MAX:
            row["cdist"] = timed(lambda: cdist_topk(pos, k), reps)
            row["cdist_est"] = False
        else:
            block = timed(lambda: cdist_topk(pos, k, rows=BLOCK), 1)
            row["cdist"], row["cdist_est"] = block * n / BLOCK, True
        rows.append(row)
        print(row, flush=True)
    # a DGCNN-like batch: 32 clouds of 1,024 points, in 3-D and in a 64-D feature space
    for dim in (3, 64):
        pos = torch.rand(32 * 1024, dim, generator=gen)
        batch = torch.arange(32).repeat_interleave(1024)
        row = {"case": f"32 x 1,024 points, {dim}-D", "n": 32 * 1024}
        for method in ("auto", "kdtree", "brute"):
            row[method] = timed(lambda: knn_graph(pos, k, batch, method=method), 3)

        def per_cloud_ckdtree() -> None:
            for c in range(32):
                ckdtree(pos[c * 1024:(c + 1) * 1024].numpy(), k)

        def per_cloud_cdist() -> None:
            for c in range(32):
                cdist_topk(pos[c * 1024:(c + 1) * 1024], k)

        row["ckdtree"] = timed(per_cloud_ckdtree, 3)
        row["cdist"], row["cdist_est"] = timed(per_cloud_cdist, 3), False
        rows.append(row)
        print(row, flush=True)
    return rows


def fmt(t, est: bool = False) -> str:
    if t is None:
        return "-"
    s = f"{t * 1000:,.1f} ms" if t < 10 else f"{t:,.1f} s"
    return s + (" (est.)" if est else "")


def table(rows, k: int) -> str:
    lines = [
        "## k-NN graphs (graphkit.data.knn_graph)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (torch threads {torch.get_num_threads()}), "
        f"torch {torch.__version__}, {date.today().isoformat()}. Uniform points in the unit cube, k = {k}, float32, "
        "median of 3 runs (1 run from 100k). The cores were shared with other jobs: compare ratios within a row.",
        "",
        "| case | graphkit auto | graphkit kdtree | graphkit brute | scipy cKDTree (build + query) | cdist + topk |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['case']} | {fmt(r['auto'])} | {fmt(r['kdtree'])} | {fmt(r['brute'])} | "
                     f"{fmt(r['ckdtree'])} | {fmt(r['cdist'], r['cdist_est'])} |")
    lines += [
        "",
        "Every graphkit result was checked against cKDTree's neighbour distances. `auto` picks the k-d tree for "
        "clouds of 128 points or more in at most 32 dimensions on CPU, and brute force otherwise (and always on "
        "GPU). graphkit's times include turning neighbour lists into a PyG-ordered `edge_index` (self removed, "
        "grouped by centre).",
        "",
    ]
    return "\n".join(lines)


def write(text: str) -> None:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    old = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    block = f"<!-- knn:start -->\n{text}<!-- knn:end -->"
    if "<!-- knn:start -->" in old:
        new = re.sub(r"<!-- knn:start -->.*?<!-- knn:end -->", lambda _: block, old, flags=re.S)
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as fh:
        fh.write(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    rows = run([int(s) for s in args.sizes.split(",")], args.k)
    text = table(rows, args.k)
    print(text)
    if not args.no_write:
        write(text)


if __name__ == "__main__":
    main()
