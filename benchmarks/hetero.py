"""Heterogeneous benchmark on a graph with ogbn-mag's shape: R-GCN forward+backward against PyG and DGL.

The graph: ogbn-mag's 4 node types (736,389 papers, 1,134,649 authors, 8,740 institutions, 59,965 fields: 1.94M
nodes) and 4 relations (affiliated_with 1.04M, writes 7.15M, cites 5.42M, has_topic 7.51M: 21.1M edges) plus their
4 reverses, 128 features on every node; ``--scale s`` multiplies every count (the default, 0.02, fits a loaded
2-core machine). Endpoints are drawn at random within their types. Every implementation runs one R-GCN layer
128 -> 128 over the 8 relations on the typed graph in homogeneous form (node ids offset by type, one relation id
per edge), forward and backward to the weights (``(out * probe).sum()``), timed in interleaved rounds (medians);
peak extra memory is the sampled RSS of one step (``common.peak_memory_mb``).

    PYTHONPATH=. python benchmarks/hetero.py --scale 0.02 --rounds 5

Rows: graphkit ``RGCNConv`` (= ``FastRGCNConv``, one relation-batched ``relation_spmm``), PyG ``RGCNConv`` (a
Python loop over relations; pyg-lib's segment matmul when installed), PyG ``FastRGCNConv`` (gathers an
``[E, F_in, F_out]`` weight tensor: run only when that fits ``--fast-rgcn-max-gib``), DGL ``RelGraphConv``.
HGT rows are left for when ``HGTConv`` lands; typed neighbour sampling rows come from the sampler's owner through
the hook ``typed_sampling_rows`` below. Writes its table between ``<!-- hetero:start -->`` and
``<!-- hetero:end -->`` in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Dict, List, Optional, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import fmt_ms, interleaved_medians, machine_line, peak_memory_mb, write_section  # noqa: E402

import graphkit.nn as gnn  # noqa: E402
from graphkit.testing.peers import import_dgl  # noqa: E402

NODES = {"paper": 736_389, "author": 1_134_649, "institution": 8_740, "field_of_study": 59_965}
RELATIONS = [("author", "affiliated_with", "institution", 1_043_998), ("author", "writes", "paper", 7_145_660),
             ("paper", "cites", "paper", 5_416_271), ("paper", "has_topic", "field_of_study", 7_505_078)]
F = 128

Step = Callable[[], object]


def mag_like(scale: float, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """``(x [N, 128], edge_index [2, E], edge_type [E], R)``: ogbn-mag's shape times ``scale``, reverses included."""
    gen = torch.Generator().manual_seed(seed)
    counts = {t: max(1, int(n * scale)) for t, n in NODES.items()}
    offset, o = {}, 0
    for t, n in counts.items():
        offset[t], o = o, o + n
    srcs, dsts, types = [], [], []
    for r, (s, _, d, e) in enumerate(RELATIONS):
        e = max(1, int(e * scale))
        src = torch.randint(0, counts[s], (e,), generator=gen) + offset[s]
        dst = torch.randint(0, counts[d], (e,), generator=gen) + offset[d]
        srcs += [src, dst]
        dsts += [dst, src]
        types += [torch.full((e,), 2 * r), torch.full((e,), 2 * r + 1)]  # the relation and its reverse
    x = torch.randn(o, F, generator=gen)
    return x, torch.stack([torch.cat(srcs), torch.cat(dsts)]), torch.cat(types), 2 * len(RELATIONS)


def _step(layer: torch.nn.Module, run: Callable[[], torch.Tensor], probe: torch.Tensor) -> Step:
    def step() -> None:
        layer.zero_grad(set_to_none=True)
        (run() * probe).sum().backward()

    return step


def rgcn_steps(x: torch.Tensor, ei: torch.Tensor, et: torch.Tensor, r: int, fast_max_gib: float) -> Dict[str, Step]:
    probe = torch.randn(x.size(0), F, generator=torch.Generator().manual_seed(1))
    steps: Dict[str, Step] = {}
    ours = gnn.RGCNConv(F, F, r)
    steps["graphkit RGCNConv"] = _step(ours, lambda: ours(x, ei, et), probe)
    try:
        import torch_geometric.nn as pnn

        pyg = pnn.RGCNConv(F, F, r)
        steps["PyG RGCNConv"] = _step(pyg, lambda: pyg(x, ei, et), probe)
        need = ei.size(1) * F * F * 4 * 3 / 2**30  # gathered weights, their gradient and the bmm's output
        if need <= fast_max_gib:
            fast = pnn.FastRGCNConv(F, F, r)
            steps["PyG FastRGCNConv"] = _step(fast, lambda: fast(x, ei, et), probe)
        else:
            print(f"  PyG FastRGCNConv skipped: it would gather ~{need:.0f} GiB of per-edge weights", flush=True)
    except ImportError as exc:
        print(f"  PyG unavailable: {exc}", flush=True)
    dgl = import_dgl()
    if dgl is not None:
        from dgl.nn.pytorch import RelGraphConv

        g = dgl.graph((ei[0], ei[1]), num_nodes=x.size(0))
        order = torch.argsort(et, stable=True)  # presorted types let DGL use its segment matmul
        g_sorted = dgl.graph((ei[0][order], ei[1][order]), num_nodes=x.size(0))
        et_sorted = et[order]
        rel = RelGraphConv(F, F, r, self_loop=True)
        steps["DGL RelGraphConv"] = _step(rel, lambda: rel(g_sorted, x, et_sorted, presorted=True), probe)
        del g
    return steps


def typed_sampling_rows(scale: float) -> List[str]:
    """HOOK (helper heterodata, typed NeighborLoader): return markdown table rows
    ``| typed neighbour sampling | <impl> | <ms> | <MiB> | <ratio> |`` for graphkit's, PyG's and DGL's typed
    samplers on ``mag_like(scale)``. Empty until the HeteroGraph sampler lands."""
    return []


def measure(steps: Dict[str, Step], rounds: int) -> Dict[str, Tuple[float, float]]:
    times = interleaved_medians(steps, rounds)
    return {name: (times[name], peak_memory_mb(step)) for name, step in steps.items()}


def table(task: str, res: Dict[str, Tuple[float, float]], ours: str) -> List[str]:
    t0, m0 = res[ours]
    rows = []
    for name, (t, m) in res.items():
        rows.append(f"| {task} | {name} | {fmt_ms(t)} | {m:.0f} | {t / t0:.2f}x | {m / max(m0, 1e-9):.2f}x |")
    return rows


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.02, help="multiply ogbn-mag's node and edge counts")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fast-rgcn-max-gib", type=float, default=4.0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()
    x, ei, et, r = mag_like(args.scale)
    print(f"scale {args.scale}: {x.size(0):,} nodes, {ei.size(1):,} edges, {r} relations, load {load}", flush=True)
    rows = table("R-GCN fwd+bwd", measure(rgcn_steps(x, ei, et, r, args.fast_rgcn_max_gib), args.rounds),
                 "graphkit RGCNConv")
    rows += typed_sampling_rows(args.scale)
    end = os.getloadavg()
    body = (
        "## Heterogeneous operators (`benchmarks/hetero.py`)\n\n"
        f"`PYTHONPATH=. python benchmarks/hetero.py --scale {args.scale} --rounds {args.rounds} --threads "
        f"{args.threads}`: ogbn-mag's shape times {args.scale} ({x.size(0):,} nodes in 4 types, {ei.size(1):,} "
        f"edges in {r} relations incl. reverses, {F} features); one 128 -> 128 layer, forward + backward, "
        f"median of {args.rounds} interleaved rounds; peak = extra RSS of one step. Load average "
        f"{load[0]:.1f} at start, {end[0]:.1f} at end. {machine_line()}\n\n"
        "| task | implementation | time (ms) | peak extra memory (MiB) | time / graphkit | memory / graphkit |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "HGT rows: not measured (`HGTConv` is not built yet). Typed neighbour sampling: hook "
        "`typed_sampling_rows` (the sampler's owner fills it).\n"
    )
    print(body, flush=True)
    write_section(args.out, "hetero", body)


if __name__ == "__main__":
    main()
