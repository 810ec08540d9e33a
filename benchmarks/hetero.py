"""Heterogeneous benchmark on a graph with ogbn-mag's shape: R-GCN forward+backward against PyG and DGL.

The graph: ogbn-mag's 4 node types (736,389 papers, 1,134,649 authors, 8,740 institutions, 59,965 fields: 1.94M
nodes) and 4 relations (affiliated_with 1.04M, writes 7.15M, cites 5.42M, has_topic 7.51M: 21.1M edges) plus their
4 reverses, 128 features on every node; ``--scale s`` multiplies every count (the default, 0.02, fits a loaded
2-core machine). Endpoints are drawn at random within their types. Every implementation runs one R-GCN layer
128 -> 128 over the 8 relations on the typed graph in homogeneous form (node ids offset by type, one relation id
per edge), forward and backward to the weights (``(out * probe).sum()``), timed in interleaved rounds (medians);
peak extra memory is the high-water mark of one step, each implementation alone in a fresh process.

    PYTHONPATH=. python benchmarks/hetero.py --scale 0.02 --rounds 5

Rows: graphkit ``RGCNConv`` (= ``FastRGCNConv``, one relation-batched ``relation_spmm``), PyG ``RGCNConv`` (a
Python loop over relations; pyg-lib's segment matmul when installed), PyG ``FastRGCNConv`` (gathers an
``[E, F_in, F_out]`` weight tensor: run only when that fits ``--fast-rgcn-max-gib``), DGL ``RelGraphConv``.
HGT: graphkit, PyG and DGL ``HGTConv`` 128 -> 128, ``--heads`` heads, on the typed dicts (DGL: the homogeneous
form with node and edge type ids). Typed neighbour sampling (``typed_sampling_rows``): one batch of 1,024 'paper'
seeds, fan-outs [10, 10] on every relation, through graphkit's and PyG's ``NeighborLoader`` and DGL's
``sample_neighbors`` (two hops) and ``NeighborSampler`` + ``DataLoader``; ``--only sampling`` runs just those rows
and prints them. Writes its table between ``<!-- hetero:start -->`` and
``<!-- hetero:end -->`` in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Callable, Dict, List, Optional, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import fmt_ms, interleaved_medians, machine_line, step_peak_rss_mb, write_section  # noqa: E402

import graphkit.nn as gnn  # noqa: E402
from graphkit.testing.peers import import_dgl  # noqa: E402

NODES = {"paper": 736_389, "author": 1_134_649, "institution": 8_740, "field_of_study": 59_965}
RELATIONS = [("author", "affiliated_with", "institution", 1_043_998), ("author", "writes", "paper", 7_145_660),
             ("paper", "cites", "paper", 5_416_271), ("paper", "has_topic", "field_of_study", 7_505_078)]
F = 128

Step = Callable[[], object]


def mag_like_typed(scale: float, seed: int = 0, features: bool = True
                   ) -> Tuple[Dict[str, torch.Tensor], Dict[Tuple[str, str, str], torch.Tensor]]:
    """``(x_dict, edge_index_dict)``: ogbn-mag's shape times ``scale``, each relation with its reverse.

    ``features=False`` (the sampling rows: structure only) gives ``[n, 0]`` placeholders that carry the counts
    without the ``[n, 128]`` features (1 GB at scale 1); the edges have their own generator, so they are the same
    either way."""
    counts = {t: max(1, int(n * scale)) for t, n in NODES.items()}
    xgen = torch.Generator().manual_seed(seed)
    x_dict = {t: torch.randn(n, F, generator=xgen) if features else torch.empty(n, 0) for t, n in counts.items()}
    gen = torch.Generator().manual_seed(seed + 1)
    ei_dict = {}
    for s, rel, d, e in RELATIONS:
        e = max(1, int(e * scale))
        ei = torch.stack([torch.randint(0, counts[s], (e,), generator=gen), torch.randint(0, counts[d], (e,),
                                                                                          generator=gen)])
        ei_dict[(s, rel, d)], ei_dict[(d, "rev_" + rel, s)] = ei, ei.flip(0)
    return x_dict, ei_dict


def homogeneous(x_dict: Dict[str, torch.Tensor], ei_dict: Dict[Tuple[str, str, str], torch.Tensor]
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x, edge_index, edge_type, node_type)``: node ids offset by type, one relation id per edge."""
    offset, o = {}, 0
    for t, x in x_dict.items():
        offset[t], o = o, o + x.size(0)
    ei = torch.cat([e + torch.tensor([[offset[s]], [offset[d]]]) for (s, _, d), e in ei_dict.items()], 1)
    et = torch.cat([torch.full((e.size(1),), i) for i, e in enumerate(ei_dict.values())])
    nt = torch.cat([torch.full((x.size(0),), i) for i, x in enumerate(x_dict.values())])
    return torch.cat(list(x_dict.values())), ei, et, nt


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


def hgt_steps(x_dict: Dict[str, torch.Tensor], ei_dict: Dict[Tuple[str, str, str], torch.Tensor],
              heads: int) -> Dict[str, Step]:
    meta = (list(x_dict), list(ei_dict))
    gen = torch.Generator().manual_seed(2)
    probe = {t: torch.randn(x.size(0), F, generator=gen) for t, x in x_dict.items()}

    def typed_step(layer: torch.nn.Module) -> Step:
        def step() -> None:
            layer.zero_grad(set_to_none=True)
            out = layer(x_dict, ei_dict)
            sum((out[t] * probe[t]).sum() for t in out).backward()

        return step

    steps: Dict[str, Step] = {"graphkit HGTConv": typed_step(gnn.HGTConv(F, F, meta, heads=heads))}
    try:
        import torch_geometric.nn as pnn

        steps["PyG HGTConv"] = typed_step(pnn.HGTConv(F, F, meta, heads=heads))
    except ImportError as exc:
        print(f"  PyG unavailable: {exc}", flush=True)
    dgl = import_dgl()
    if dgl is not None:
        from dgl.nn.pytorch import HGTConv as DGLHGT

        x, ei, et, nt = homogeneous(x_dict, ei_dict)
        g = dgl.graph((ei[0], ei[1]), num_nodes=x.size(0))
        layer = DGLHGT(F, F // heads, heads, len(x_dict), len(ei_dict), dropout=0.0)
        flat_probe = torch.cat(list(probe.values()))

        def dgl_step() -> None:
            layer.zero_grad(set_to_none=True)
            (layer(g, x, nt, et, presorted=True) * flat_probe).sum().backward()

        steps["DGL HGTConv"] = dgl_step
    return steps


SAMPLING_SEEDS, SAMPLING_FANOUTS = 1024, [10, 10]
SAMPLING_NAMES = ("graphkit NeighborLoader", "PyG NeighborLoader (torch-sparse)",
                  "DGL sample_neighbors x2 + edge_subgraph", "DGL NeighborSampler + DataLoader (blocks)")


def sampling_steps(x_dict: Dict[str, torch.Tensor], ei_dict: Dict[Tuple[str, str, str], torch.Tensor]
                   ) -> Dict[str, Step]:
    """One batch of ``SAMPLING_SEEDS`` 'paper' seeds, ``SAMPLING_FANOUTS`` per relation and hop, through each
    library's typed sampler as a user iterates it: the draws, the relabelling and the typed batch object. The graphs
    are structure only (node counts, edge indices), so no implementation gathers features."""
    counts = {t: x.size(0) for t, x in x_dict.items()}
    seeds = torch.randperm(counts["paper"], generator=torch.Generator().manual_seed(3))[:SAMPLING_SEEDS]
    fan = {et: list(SAMPLING_FANOUTS) for et in ei_dict}
    steps: Dict[str, Step] = {}

    def drain(loader: object) -> Step:
        def step() -> None:
            for _ in loader:  # type: ignore[attr-defined]
                pass

        return step

    from graphkit import HeteroGraph
    from graphkit.loader import NeighborLoader

    h = HeteroGraph(dict(counts), dict(ei_dict))
    steps["graphkit NeighborLoader"] = drain(NeighborLoader(h, fan, input_nodes=("paper", seeds),
                                                            batch_size=SAMPLING_SEEDS, seed=0, prefetch=0))
    try:
        import warnings

        from torch_geometric.data import HeteroData
        from torch_geometric.loader import NeighborLoader as PyGLoader

        data = HeteroData()
        for t, n in counts.items():
            data[t].num_nodes = n
        for et, e in ei_dict.items():
            data[et].edge_index = e
        with warnings.catch_warnings():  # without pyg-lib it warns that the torch-sparse path is deprecated
            warnings.simplefilter("ignore")
            pyg_loader = PyGLoader(data, fan, input_nodes=("paper", seeds), batch_size=SAMPLING_SEEDS)
            next(iter(pyg_loader))  # without pyg-lib and torch-sparse it raises only when iterated
            steps["PyG NeighborLoader (torch-sparse)"] = drain(pyg_loader)
    except (ImportError, RuntimeError, ValueError) as exc:
        print(f"  PyG typed sampling unavailable: {exc}", flush=True)
    dgl = import_dgl()
    if dgl is not None:
        g = dgl.heterograph({et: (e[0], e[1]) for et, e in ei_dict.items()}, num_nodes_dict=dict(counts))

        def dgl_two_hops() -> object:
            # PyG's and graphkit's hop semantics: hop 2 samples only the nodes hop 1 reached first
            seen = {t: torch.zeros(n, dtype=torch.bool) for t, n in counts.items()}
            seen["paper"][seeds] = True
            frontier: Dict[str, torch.Tensor] = {"paper": seeds}
            eids: Dict[Tuple[str, str, str], List[torch.Tensor]] = {et: [] for et in ei_dict}
            for k in SAMPLING_FANOUTS:
                hop = dgl.sampling.sample_neighbors(g, frontier, {et: k for et in ei_dict})
                reached: Dict[str, List[torch.Tensor]] = {}
                for et in hop.canonical_etypes:
                    eids[et].append(hop.edges[et].data[dgl.EID])
                    reached.setdefault(et[0], []).append(hop.edges(etype=et)[0])
                frontier = {}
                for t, parts in reached.items():
                    new = torch.cat(parts).unique()
                    new = new[~seen[t][new]]
                    seen[t][new] = True
                    frontier[t] = new
            return dgl.edge_subgraph(g, {et: torch.cat(v) for et, v in eids.items()})

        steps["DGL sample_neighbors x2 + edge_subgraph"] = dgl_two_hops
        # DGL lists fan-outs from the input layer to the seeds: the last entry is hop 1
        sampler = dgl.dataloading.NeighborSampler([{et: k for et in ei_dict} for k in reversed(SAMPLING_FANOUTS)])
        steps["DGL NeighborSampler + DataLoader (blocks)"] = drain(dgl.dataloading.DataLoader(
            g, {"paper": seeds}, sampler, batch_size=SAMPLING_SEEDS, shuffle=False, num_workers=0))
    return steps


def typed_sampling_rows(scale: float, rounds: int = 5, args: Optional[argparse.Namespace] = None) -> List[str]:
    """Rows ``| typed neighbour sampling | <impl> | <ms> | <MiB> | <time / graphkit> | <memory / graphkit> |`` for
    graphkit's, PyG's and DGL's typed samplers on ``mag_like_typed(scale)`` (see :func:`sampling_steps`), timed in
    interleaved rounds; peak memory from :func:`peak_in_subprocess` when ``args`` is given, else ``-``."""
    x_dict, ei_dict = mag_like_typed(scale, features=False)
    steps = sampling_steps(x_dict, ei_dict)
    times = interleaved_medians(steps, rounds)
    peaks = {name: peak_in_subprocess(name, args) if args is not None else float("nan") for name in steps}
    ours = "graphkit NeighborLoader"
    rows = []
    for name in steps:
        mem = "-" if peaks[name] != peaks[name] else f"{peaks[name]:.0f}"
        mratio = "-" if mem == "-" or peaks[ours] != peaks[ours] else f"{peaks[name] / max(peaks[ours], 1e-9):.2f}x"
        rows.append(f"| typed neighbour sampling | {name} | {fmt_ms(times[name])} | {mem} | "
                    f"{times[name] / times[ours]:.2f}x | {mratio} |")
    peers = {n: t for n, t in times.items() if n != ours}
    if peers:
        best = min(peers, key=peers.get)
        print(f"  typed sampling: graphkit {peers[best] / times[ours]:.2f}x faster than the fastest peer ({best})",
              flush=True)
    return rows


def peak_in_subprocess(name: str, args: argparse.Namespace) -> float:
    """Peak extra RSS of one step of ``name`` (after a warm-up step), alone in a fresh process."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    cmd = [sys.executable, os.path.abspath(__file__), "--peak-worker", name, "--scale", str(args.scale),
           "--threads", str(args.threads), "--heads", str(args.heads), "--fast-rgcn-max-gib", str(args.fast_rgcn_max_gib)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("PEAK "):
            return float(line.split()[1])
    print(f"  peak of {name} failed: {proc.stderr[-1500:]}", file=sys.stderr, flush=True)
    return float("nan")


def measure(steps: Dict[str, Step], rounds: int, args: argparse.Namespace) -> Dict[str, Tuple[float, float]]:
    times = interleaved_medians(steps, rounds)
    return {name: (times[name], peak_in_subprocess(name, args)) for name in steps}


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
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--only", choices=["sampling"], default=None,
                    help="run only the typed sampling rows and print them (RESULTS.md is left alone)")
    ap.add_argument("--peak-worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()
    sampling_only = args.only == "sampling" or args.peak_worker in SAMPLING_NAMES
    x_dict, ei_dict = mag_like_typed(args.scale, features=not sampling_only)
    r = len(ei_dict)
    num_nodes, num_edges = sum(x.size(0) for x in x_dict.values()), sum(e.size(1) for e in ei_dict.values())

    def all_steps() -> Dict[str, Dict[str, Step]]:
        x, ei, et, _ = homogeneous(x_dict, ei_dict)
        return {"R-GCN fwd+bwd": rgcn_steps(x, ei, et, r, args.fast_rgcn_max_gib),
                f"HGT fwd+bwd ({args.heads} heads)": hgt_steps(x_dict, ei_dict, args.heads)}

    if args.peak_worker:
        if args.peak_worker in SAMPLING_NAMES:
            step = sampling_steps(x_dict, ei_dict)[args.peak_worker]
        else:
            step = {k: v for steps in all_steps().values() for k, v in steps.items()}[args.peak_worker]
        step()  # warm-up: memoised structures and lazy state are not the step's
        print(f"PEAK {step_peak_rss_mb(step):.1f}", flush=True)
        return
    print(f"scale {args.scale}: {num_nodes:,} nodes, {num_edges:,} edges, {r} relations, load {load}", flush=True)
    if args.only == "sampling":
        del x_dict, ei_dict  # typed_sampling_rows makes its own (structure-only) copy
        print("\n".join(typed_sampling_rows(args.scale, args.rounds, args)), flush=True)
        print(f"load average at end {os.getloadavg()}", flush=True)
        return
    rows = []
    for task, steps in all_steps().items():
        ours = next(name for name in steps if name.startswith("graphkit"))
        rows += table(task, measure(steps, args.rounds, args), ours)
    rows += typed_sampling_rows(args.scale, args.rounds, args)
    end = os.getloadavg()
    body = (
        "## Heterogeneous operators (`benchmarks/hetero.py`)\n\n"
        f"`PYTHONPATH=. python benchmarks/hetero.py --scale {args.scale} --rounds {args.rounds} --threads "
        f"{args.threads}`: ogbn-mag's shape times {args.scale} ({num_nodes:,} nodes in 4 types, {num_edges:,} "
        f"edges in {r} relations incl. reverses, {F} features); one 128 -> 128 layer, forward + backward, "
        f"median of {args.rounds} interleaved rounds; peak = extra resident memory (VmHWM) of one step after a warm-up, each implementation alone in a fresh process. Load average "
        f"{load[0]:.1f} at start, {end[0]:.1f} at end. {machine_line()}\n\n"
        "| task | implementation | time (ms) | peak extra memory (MiB) | time / graphkit | memory / graphkit |\n"
        "|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"Typed neighbour sampling: one batch of {SAMPLING_SEEDS:,} 'paper' seeds, fan-outs {SAMPLING_FANOUTS} on "
        "every relation, iterated as a user would (the draws, relabelling and the typed batch object: graphkit "
        "`HeteroGraph`, PyG `HeteroData`, DGL sub-graph or blocks); structure-only graphs, so no features are "
        "gathered. DGL's `NeighborSampler` re-samples the seeds at hop 2 (message-flow-graph semantics).\n"
    )
    print(body, flush=True)
    write_section(args.out, "hetero", body)


if __name__ == "__main__":
    main()
