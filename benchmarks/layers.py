"""Layer benchmark: forward + backward time and peak memory of GCN, SAGE, GIN and EdgeConv layers, graphkit vs
PyG 2.8.1 (edge_index, and SparseTensor where PyG has a fused path) vs DGL 1.1.3 where it has the layer.

Two workloads, 64 -> 64 features, float32: one uniform random graph (N=200k, E=2M) and a batch of 1,000 small
random graphs (50 nodes, 250 edges each). The peers are timed round-robin (one call of each per round, medians
over rounds), so that a busy shared machine slows them alike. graphkit gets a Graph (its CSR is cached after the
warm-up call, as in training); PyG gets edge_index (or a prebuilt SparseTensor); DGL a prebuilt graph. Writes its
table between ``<!-- layers:start -->`` and ``<!-- layers:end -->`` in benchmarks/RESULTS.md.

    python benchmarks/layers.py            # full size (a few minutes)
    python benchmarks/layers.py --quick    # N=20k, E=200k, 100 small graphs
    python benchmarks/layers.py --layers ChebConv,GCN2Conv,PNAConv,NNConv,GENConv --section layers-new
                                           # only the layers added for issue 18, into their own table
"""
from __future__ import annotations

import argparse
import copy
import ctypes
import gc
import os
import sys
from typing import Any, Callable, Dict, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import interleaved_medians, machine_line, peak_memory_mb, write_section  # noqa: E402

from graphkit import Batch, Graph, ops  # noqa: E402
from graphkit import nn as gnn  # noqa: E402
from graphkit.testing.peers import import_dgl  # noqa: E402

F_IN = F_OUT = 64
Step = Callable[[], Any]


def _mlp(i: int, o: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(i, o), torch.nn.ReLU(), torch.nn.Linear(o, o))


def _random_edges(n: int, e: int, gen: torch.Generator) -> torch.Tensor:
    return torch.randint(0, n, (2, e), generator=gen)


def workloads(quick: bool) -> Dict[str, Tuple[Graph, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    n, e = (20_000, 200_000) if quick else (200_000, 2_000_000)
    big = Graph(edge_index=_random_edges(n, e, gen), num_nodes=n)
    graphs = [Graph(edge_index=_random_edges(50, 250, gen), num_nodes=50) for _ in range(100 if quick else 1000)]
    small = Batch.from_graphs(graphs)
    return {
        f"N={n:,}, E={e:,}": (big, torch.randn(n, F_IN, generator=gen)),
        f"{len(graphs):,} graphs x (50 nodes, 250 edges)": (small, torch.randn(small.num_nodes, F_IN, generator=gen)),
    }


def _step(layer: torch.nn.Module, call: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> Step:
    """One forward + backward; the input needs a gradient too, as inside a deep model."""
    def run() -> Any:
        xx = x.detach().requires_grad_(True)
        out = call(xx)
        out.backward(torch.ones_like(out))
        layer.zero_grad(set_to_none=True)
        return out.detach()

    return run


#: Layers added for issue 18, timed against PyG's edge_index path only (their PyG layers have no SparseTensor
#: shortcut worth a separate row, and DGL lacks most of them). NNConv runs at 16 -> 16 features: at 64 -> 64
#: PyG's per-edge weight matrices alone would need E * 64 * 64 * 4 bytes (32 GiB at E = 2M).
NEW_LAYERS = ("ChebConv", "GCN2Conv", "PNAConv", "NNConv", "GENConv")


def new_layer_peers(layer: str, g: Graph, x: torch.Tensor) -> Dict[str, Step]:
    import torch_geometric.nn as pnn

    ei = g.edge_index
    gen = torch.Generator().manual_seed(1)
    if layer == "ChebConv":
        ours, theirs = gnn.ChebConv(F_IN, F_OUT, K=3), pnn.ChebConv(F_IN, F_OUT, K=3)
        calls = (lambda m, xx: m(xx, g), lambda m, xx: m(xx, ei))
    elif layer == "GCN2Conv":
        ours, theirs = gnn.GCN2Conv(F_IN, 0.1, 0.5, 1), pnn.GCN2Conv(F_IN, 0.1, 0.5, 1)
        x0 = x.detach()
        calls = (lambda m, xx: m(xx, x0, g), lambda m, xx: m(xx, x0, ei))
    elif layer == "PNAConv":
        deg = torch.bincount(torch.bincount(ei[1], minlength=g.num_nodes))
        kw = dict(aggregators=["mean", "min", "max", "std"], scalers=["identity", "amplification", "attenuation"],
                  deg=deg)
        ours, theirs = gnn.PNAConv(F_IN, F_OUT, **kw), pnn.PNAConv(F_IN, F_OUT, **kw)
        calls = (lambda m, xx: m(xx, g), lambda m, xx: m(xx, ei))
    elif layer == "NNConv":
        x = x[:, :16].contiguous()
        ea = torch.randn(g.num_edges, 4, generator=gen)
        net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16 * 16))
        ours, theirs = gnn.NNConv(16, 16, copy.deepcopy(net)), pnn.NNConv(16, 16, copy.deepcopy(net))
        calls = (lambda m, xx: m(xx, g, ea), lambda m, xx: m(xx, ei, ea))
    else:
        ours, theirs = gnn.GENConv(F_IN, F_OUT), pnn.GENConv(F_IN, F_OUT)
        calls = (lambda m, xx: m(xx, g), lambda m, xx: m(xx, ei))
    ours.load_state_dict(theirs.state_dict())
    return {"graphkit": _step(ours, lambda xx: calls[0](ours, xx), x),
            "PyG (edge_index)": _step(theirs, lambda xx: calls[1](theirs, xx), x)}


def peers(layer: str, g: Graph, x: torch.Tensor) -> Dict[str, Step]:
    if layer in NEW_LAYERS:
        return new_layer_peers(layer, g, x)
    import torch_geometric.nn as pnn
    from torch_sparse import SparseTensor

    ei = g.edge_index
    n = g.num_nodes
    out: Dict[str, Step] = {}
    if layer == "GCN":
        ours, theirs = gnn.GCNConv(F_IN, F_OUT), pnn.GCNConv(F_IN, F_OUT)
    elif layer == "SAGE":
        ours, theirs = gnn.SAGEConv(F_IN, F_OUT), pnn.SAGEConv(F_IN, F_OUT)
    elif layer == "GIN":
        mlp = _mlp(F_IN, F_OUT)
        ours, theirs = gnn.GINConv(copy.deepcopy(mlp)), pnn.GINConv(copy.deepcopy(mlp))
    else:
        mlp = _mlp(2 * F_IN, F_OUT)
        ours, theirs = gnn.EdgeConv(copy.deepcopy(mlp)), pnn.EdgeConv(copy.deepcopy(mlp))
    ours.load_state_dict(theirs.state_dict())
    out["graphkit"] = _step(ours, lambda xx: ours(xx, g), x)
    out["PyG (edge_index)"] = _step(theirs, lambda xx: theirs(xx, ei), x)
    if layer != "EdgeConv":  # PyG's fused path: a prebuilt SparseTensor (adj_t) through torch-sparse
        adj_t = SparseTensor(row=ei[1], col=ei[0], sparse_sizes=(n, n))
        if layer == "GCN":
            from torch_geometric.nn.conv.gcn_conv import gcn_norm

            adj_t = gcn_norm(adj_t, num_nodes=n)  # normalised once, like cached=True
            theirs_sp = pnn.GCNConv(F_IN, F_OUT, normalize=False)
            theirs_sp.load_state_dict(theirs.state_dict())
        else:
            theirs_sp = theirs
        out["PyG (SparseTensor)"] = _step(theirs_sp, lambda xx: theirs_sp(xx, adj_t), x)
    try:
        dgl = import_dgl()
    except Exception:  # pragma: no cover - DGL missing: the table says so
        return out
    dg = dgl.graph((ei[0], ei[1]), num_nodes=n)
    if layer == "GCN":
        dg_loop = dgl.add_self_loop(dgl.remove_self_loop(dg))
        d = dgl.nn.GraphConv(F_IN, F_OUT, norm="both", allow_zero_in_degree=True)
        out["DGL"] = _step(d, lambda xx: d(dg_loop, xx), x)
    elif layer == "SAGE":
        d = dgl.nn.SAGEConv(F_IN, F_OUT, "mean")
        out["DGL"] = _step(d, lambda xx: d(dg, xx), x)
    elif layer == "GIN":
        d = dgl.nn.GINConv(copy.deepcopy(mlp), "sum")
        out["DGL"] = _step(d, lambda xx: d(dg, xx), x)
    else:
        d = dgl.nn.EdgeConv(F_IN, F_OUT, allow_zero_in_degree=True)
        out["DGL (its EdgeConv: one linear layer)"] = _step(d, lambda xx: d(dg, xx), x)
    return out


def _trim() -> None:
    # Give freed heap pages back to the OS, so that the next RSS peak counts what a step allocates rather than
    # hiding inside memory an earlier step freed (glibc keeps large freed blocks otherwise).
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # pragma: no cover - not glibc
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--layers", default="GCN,SAGE,GIN,EdgeConv," + ",".join(NEW_LAYERS))
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--section", default="layers",
                    help="RESULTS.md block to (re)write, so that a subset of --layers keeps the other tables")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    title = "Layers (graphkit.nn)" if args.section == "layers" else f"Layers {args.layers.replace(',', ', ')}"
    note = (" NNConv runs at 16 -> 16 features (PyG's per-edge [E, 64, 64] weights would need 32 GiB)."
            if "NNConv" in args.layers.split(",") else "")
    lines = [f"## {title}: forward + backward, 64 -> 64 features, float32", "", machine_line(), "",
             f"Kernel backend: `{ops.backend()}`. Times are medians of up to {args.rounds} round-robin rounds "
             "(ms); memory is the peak RSS one forward + backward adds over the "
             "process's resident set after `malloc_trim` (MiB, sampled every 0.5 ms: coarse, but comparable). "
             "'vs PyG' = PyG edge_index time / graphkit time (higher is better; target 1.5x)." + note, "",
             f"Command: `python benchmarks/layers.py --rounds {args.rounds} --threads {args.threads}"
             + ("" if args.section == "layers" else f" --layers {args.layers} --section {args.section}")
             + (" --quick" if args.quick else "") + "`", ""]
    for wname, (g, x) in workloads(args.quick).items():
        lines += [f"### {wname}", "", "| layer | peer | ms | peak MiB | vs PyG |", "| --- | --- | ---: | ---: | ---: |"]
        for layer in args.layers.split(","):
            steps = peers(layer, g, x)
            t = interleaved_medians(steps, args.rounds, budget_total=120.0)
            for name, fn in steps.items():
                _trim()
                mem = peak_memory_mb(fn)
                ratio = t["PyG (edge_index)"] / t[name]
                lines.append(f"| {layer} | {name} | {t[name] * 1e3:.1f} | {mem:.0f} | {ratio:.2f}x |")
                print(lines[-1], flush=True)
            del steps
            gc.collect()
        lines.append("")
    load = os.getloadavg()
    lines += [f"Load average at the end: {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}.", ""]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section(os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"), args.section, body)


if __name__ == "__main__":
    main()
