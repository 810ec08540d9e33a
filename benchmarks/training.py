"""End-to-end training steps: graphkit vs PyG vs DGL, each in its own process on the same generated graph.

    .venv/bin/python benchmarks/training.py                       # both workloads, full size, table written
    .venv/bin/python benchmarks/training.py --steps 5 --scale 0.2 # shorter and smaller (a loaded machine)
    .venv/bin/python benchmarks/training.py --only minibatch      # one workload (full | minibatch)
    .venv/bin/python benchmarks/training.py --quick               # tiny smoke run, nothing written

Workloads (issue 17):

* full: a 2-layer GCN (64 -> 64 -> 16), N=200k, E=2M, 64 features; forward, cross-entropy on every node,
  backward and an Adam step. PyG in its fastest CPU configuration (a torch-sparse ``SparseTensor`` adj_t with
  ``cached=True``, as its examples do); DGL's ``GraphConv(norm="both")`` on the graph with self-loops added once.
* minibatch: a 2-layer GraphSAGE (mean; 128 -> 256 -> 16), fan-out [10, 10], batch 1,024 shuffled seeds, N=500k,
  E=5M, 128 features, on a uniform and on a power-law (Chung-Lu, exponent 2.5) graph. Whole steps are timed as a
  user iterates the loader: sampling, feature gathering, forward, backward, optimizer. graphkit: ``NeighborLoader``
  (prefetch 1) and ``GraphSAGE`` called on the batch (layer-wise trimming by default; the untrimmed run is shown
  for reference). PyG: its ``NeighborLoader`` (torch-sparse sampler: pyg-lib does not install here) with
  ``trim_to_layer`` when the sampler reports per-hop counts. DGL: ``dataloading.DataLoader`` with a
  ``NeighborSampler`` that prefetches features and labels, and ``SAGEConv`` on its blocks.

Each (framework, workload) runs in a fresh child process (``--worker``) that builds the graph itself from the same
generator and seed, so peak RSS (``ru_maxrss``) is that process's own (graphkit's is read before its breakdown
pass, which builds a feature ring of its own). Step times are medians of ``--steps`` steps
after ``--warmup``. graphkit's step is also broken down (a separate pass in the caller's thread, no prefetch):
sampling, feature gather, forward, backward, optimizer, and the rest (batch assembly, loss, Python).

Tables go to benchmarks/RESULTS.md between ``<!-- training:start -->`` and ``<!-- training:end -->``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchmarks.common import write_section  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
CLASSES = 16

#: workload -> (N, E, features, graph kind)
WORKLOADS: Dict[str, Tuple[int, int, int, str]] = {
    "full": (200_000, 2_000_000, 64, "uniform"),
    "minibatch-uniform": (500_000, 5_000_000, 128, "uniform"),
    "minibatch-powerlaw": (500_000, 5_000_000, 128, "powerlaw"),
}
FRAMEWORKS = ("graphkit", "graphkit-untrimmed", "pyg", "dgl")
# Opt-in variants (`--frameworks ...,graphkit-prefetch0`): the same graphkit step with the loader sampling in the
# caller's thread. On 2 cores a producer thread competes with the two GEMM threads, so which wins is measured.
VARIANTS = ("graphkit-prefetch0",)
MINIBATCH_ONLY = ("graphkit-untrimmed",) + VARIANTS  # mini-batch settings: no row on the full-batch workload


# ---------------------------------------------------------------------------------------------- the data
def make_data(kind: str, n: int, e: int, f: int, seed: int = 0) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(edge_index [2, e], x [n, f], y [n])``, a function of the arguments only (CPU generator).

    ``uniform``: endpoints uniform over the nodes. ``powerlaw``: Chung-Lu, both endpoints drawn with probability
    proportional to ``w_i = (i + 1) ** (-1 / 1.5)`` (expected degrees with a power-law tail of exponent 2.5), node
    ids shuffled so the hubs are spread over the id range.
    """
    gen = torch.Generator().manual_seed(seed)
    if kind == "uniform":
        ei = torch.randint(0, n, (2, e), generator=gen)
    elif kind == "powerlaw":
        w = torch.arange(1, n + 1, dtype=torch.float64).pow(-1 / 1.5)
        ids = torch.randperm(n, generator=gen)
        ei = ids[torch.multinomial(w, 2 * e, replacement=True, generator=gen)].view(2, e)
    else:
        raise ValueError(f"kind must be 'uniform' or 'powerlaw', got {kind!r}")
    x = torch.randn(n, f, generator=gen)
    y = torch.randint(0, CLASSES, (n,), generator=gen)
    return ei, x, y


# ---------------------------------------------------------------------------------------------- workers
def _steps(step: Callable[[], None], warmup: int, steps: int) -> List[float]:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def _loader_steps(batches: Iterator[Any], train: Callable[[Any], None], warmup: int, steps: int) -> List[float]:
    """Time whole steps as a user's loop sees them: from asking the loader for a batch to the optimizer's end."""
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        train(next(batches))
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times


#: Dense matrix products as torch.profiler names them (Linear layers and their backward).
MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::addmm_", "aten::bmm", "aten::baddbmm", "aten::_addmm_activation")


def _matmul_floor(step: Callable[[], None], steps: int = 3) -> Dict[str, float]:
    """Per step, the dense matrix products' self CPU ms and GFLOP under torch.profiler (``steps`` more steps).

    Every framework runs the same Linear layers on the same rows (graphkit's trimming computes exactly the rows
    DGL's blocks do), so these products are a floor under any of them: a step cannot take less, and no
    framework can be faster than ``peer step / own matmul ms`` without doing less arithmetic.
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], with_flops=True, record_shapes=True) as prof:
        for _ in range(steps):
            step()
    ms = flops = 0.0
    for ev in prof.key_averages(group_by_input_shape=True):
        if ev.key in MATMUL_OPS:
            ms += ev.self_cpu_time_total / 1e3
            flops += ev.flops or _addmm_flops(ev.key, ev.input_shapes) * ev.count
    return {"ms": ms / steps, "gflop": flops / steps / 1e9}


def _addmm_flops(op: str, shapes: Any) -> float:
    """``2 M K N`` of an in-place ``addmm_(mat1 [M, K], mat2 [K, N])``, which the profiler counts as 0."""
    if op != "aten::addmm_" or not shapes or len(shapes) < 3 or len(shapes[1]) != 2 or len(shapes[2]) != 2:
        return 0.0
    (m, k), (_, n) = shapes[1], shapes[2]
    return 2.0 * m * k * n


def _peak_rss_mb() -> float:
    """This process's resident high-water mark so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _forever(loader: Any) -> Iterator[Any]:
    """The loader's batches, epoch after epoch (small graphs run out of batches before the timing does)."""
    while True:
        yield from loader


def _adam_step(model: torch.nn.Module, opt: torch.optim.Optimizer, out: torch.Tensor, y: torch.Tensor) -> None:
    loss = F.cross_entropy(out, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def worker_full(framework: str, n: int, e: int, f: int, kind: str, warmup: int, steps: int) -> Dict[str, Any]:
    ei, x, y = make_data(kind, n, e, f)
    if framework.startswith("graphkit"):
        from graphkit import Graph
        from graphkit.nn.models import GCN

        g = Graph(edge_index=ei, num_nodes=n)
        model = GCN(f, 64, 2, out_channels=CLASSES)
        run = lambda: model(x, g)  # noqa: E731
    elif framework == "pyg":
        from torch_geometric.nn.models import GCN as PygGCN
        from torch_sparse import SparseTensor

        adj_t = SparseTensor(row=ei[1], col=ei[0], sparse_sizes=(n, n))
        model = PygGCN(f, 64, 2, out_channels=CLASSES, cached=True)
        run = lambda: model(x, adj_t)  # noqa: E731
    else:
        from graphkit.testing.peers import import_dgl

        dgl = import_dgl()
        dg = dgl.add_self_loop(dgl.remove_self_loop(dgl.graph((ei[0], ei[1]), num_nodes=n)))

        class DglGCN(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.c1 = dgl.nn.GraphConv(f, 64, norm="both")
                self.c2 = dgl.nn.GraphConv(64, CLASSES, norm="both")

            def forward(self) -> torch.Tensor:
                return self.c2(dg, self.c1(dg, x).relu())

        model = DglGCN()
        run = model  # type: ignore[assignment]
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    times = _steps(lambda: _adam_step(model, opt, run(), y), warmup, steps)
    out: Dict[str, Any] = {"times": times, "matmul": _matmul_floor(lambda: _adam_step(model, opt, run(), y))}
    if framework == "graphkit":
        out["peak_rss_mb"] = _peak_rss_mb()
        out["breakdown"] = _breakdown_full(model, opt, run, y, warmup, steps)
    return out


def _timed(parts: Dict[str, List[float]], name: str, fn: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    r = fn()
    parts.setdefault(name, []).append(time.perf_counter() - t0)
    return r


def _timed_train(p: Dict[str, List[float]], opt: torch.optim.Optimizer, forward: Callable[[], torch.Tensor],
                 y: torch.Tensor) -> None:
    """One training step, its forward, backward and optimizer phases timed into ``p``."""
    loss = F.cross_entropy(_timed(p, "forward", forward), y)
    opt.zero_grad(set_to_none=True)
    _timed(p, "backward", loss.backward)
    _timed(p, "optimizer", opt.step)


def _record(parts: Dict[str, List[float]], total: List[float], p: Dict[str, List[float]], t0: float) -> None:
    total.append(time.perf_counter() - t0)
    for k, v in p.items():
        parts.setdefault(k, []).extend(v)


def _median_parts(parts: Dict[str, List[float]], total: List[float]) -> Dict[str, float]:
    med = {k: statistics.median(v) for k, v in parts.items()}
    med["other (batch assembly, loss, Python)"] = max(0.0, statistics.median(total) - sum(med.values()))
    med["total"] = statistics.median(total)
    return med


def _breakdown_full(model: torch.nn.Module, opt: torch.optim.Optimizer, run: Callable[[], torch.Tensor],
                    y: torch.Tensor, warmup: int, steps: int) -> Dict[str, float]:
    parts: Dict[str, List[float]] = {}
    total = []
    for i in range(warmup + steps):
        p: Dict[str, List[float]] = {}
        t0 = time.perf_counter()
        _timed_train(p, opt, run, y)
        if i >= warmup:
            _record(parts, total, p, t0)
    return _median_parts(parts, total)


def worker_minibatch(framework: str, n: int, e: int, f: int, kind: str, warmup: int,
                     steps: int) -> Dict[str, Any]:
    ei, x, y = make_data(kind, n, e, f)
    fanouts, bs, hidden = [10, 10], 1024, 256
    out: Dict[str, Any] = {}
    if framework.startswith("graphkit"):
        from graphkit import Graph
        from graphkit.loader import NeighborLoader
        from graphkit.nn.models import GraphSAGE

        g = Graph(edge_index=ei, x=x, y=y, num_nodes=n)
        model = GraphSAGE(f, hidden, 2, out_channels=CLASSES)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        trim = framework != "graphkit-untrimmed"
        loader = NeighborLoader(g, fanouts, batch_size=bs, shuffle=True, seed=0,
                                prefetch=0 if framework == "graphkit-prefetch0" else 1)

        def train(b: Any) -> None:
            _adam_step(model, opt, model(b.x, b, trim=trim)[: b.batch_size], b.y[: b.batch_size])

        batches = _forever(loader)
        out["times"] = _loader_steps(batches, train, warmup, steps)
        out["matmul"] = _matmul_floor(lambda: train(next(batches)))
        out["nodes_per_batch"] = None
        if framework == "graphkit":
            # the breakdown pass below is a diagnostic with a ring and a store of its own: not the user's run
            out["peak_rss_mb"] = _peak_rss_mb()
            out["breakdown"] = _breakdown_minibatch(g, model, opt, fanouts, bs, warmup, steps)
    elif framework == "pyg":
        from torch_geometric.data import Data
        from torch_geometric.loader import NeighborLoader as PygLoader
        from torch_geometric.nn.models import GraphSAGE as PygSAGE

        loader = PygLoader(Data(x=x, edge_index=ei, y=y, num_nodes=n), num_neighbors=fanouts, batch_size=bs,
                           shuffle=True)
        model = PygSAGE(f, hidden, 2, out_channels=CLASSES)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)

        def train(b: Any) -> None:
            hops = getattr(b, "num_sampled_nodes", None)
            kw = ({"num_sampled_nodes_per_hop": b.num_sampled_nodes,
                   "num_sampled_edges_per_hop": b.num_sampled_edges} if hops is not None else {})
            _adam_step(model, opt, model(b.x, b.edge_index, **kw)[: b.batch_size], b.y[: b.batch_size])

        batches = _forever(loader)
        out["trimmed"] = getattr(next(iter(loader)), "num_sampled_nodes", None) is not None
        out["times"] = _loader_steps(batches, train, warmup, steps)
        out["matmul"] = _matmul_floor(lambda: train(next(batches)))
    else:
        from graphkit.testing.peers import import_dgl

        dgl = import_dgl()
        dg = dgl.graph((ei[0], ei[1]), num_nodes=n)
        dg.ndata["feat"], dg.ndata["label"] = x, y
        sampler = dgl.dataloading.NeighborSampler(fanouts, prefetch_node_feats=["feat"], prefetch_labels=["label"])
        loader = dgl.dataloading.DataLoader(dg, torch.arange(n), sampler, batch_size=bs, shuffle=True)

        class DglSAGE(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.c1 = dgl.nn.SAGEConv(f, hidden, "mean")
                self.c2 = dgl.nn.SAGEConv(hidden, CLASSES, "mean")

            def forward(self, blocks: Any, h: torch.Tensor) -> torch.Tensor:
                return self.c2(blocks[1], self.c1(blocks[0], h).relu())

        model = DglSAGE()
        opt = torch.optim.Adam(model.parameters(), lr=0.01)

        def train(item: Any) -> None:
            _, _, blocks = item
            _adam_step(model, opt, model(blocks, blocks[0].srcdata["feat"]), blocks[-1].dstdata["label"])

        batches = _forever(loader)
        out["times"] = _loader_steps(batches, train, warmup, steps)
        out["matmul"] = _matmul_floor(lambda: train(next(batches)))
    return out


def _breakdown_minibatch(g: Any, model: torch.nn.Module, opt: torch.optim.Optimizer, fanouts: List[int], bs: int,
                         warmup: int, steps: int) -> Dict[str, float]:
    """graphkit's step in the caller's thread, phase by phase, with the loader's own pieces (no prefetch)."""
    from graphkit.graph import GRAPH
    from graphkit.loader import FeatureStore, RingBuffer, sample_neighbors, to_subgraph

    store, ring = FeatureStore(g.x), RingBuffer(g.x.size(1), g.x.dtype, 2)
    order = torch.randperm(g.num_nodes, generator=torch.Generator().manual_seed(1))
    parts: Dict[str, List[float]] = {}
    total = []
    for i in range(warmup + steps):
        seeds = order[i * bs:(i + 1) * bs]
        p: Dict[str, List[float]] = {}
        t0 = time.perf_counter()
        s = _timed(p, "sampling", lambda: sample_neighbors(g, seeds, fanouts, seed=i))
        x = _timed(p, "gather", lambda: store.gather(s.n_id, out=ring.next(s.n_id.numel())))
        b = to_subgraph(g, s, x=x)
        b.set("batch_size", bs, GRAPH)
        _timed_train(p, opt, lambda: model(b.x, b)[:bs], b.y[:bs])
        if i >= warmup:
            _record(parts, total, p, t0)
    med = _median_parts(parts, total)
    med["sampled nodes per batch"] = float(b.num_nodes)
    med["layer-1 rows (trimmed)"] = float(sum(b.num_sampled_nodes.tolist()[:2]))
    return med


def run_worker(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    n, e, f, kind = WORKLOADS[args.workload]
    n, e = max(2048, int(n * args.scale)), max(4096, int(e * args.scale))
    t0 = time.perf_counter()
    fn = worker_full if args.workload == "full" else worker_minibatch
    res = fn(args.worker, n, e, f, kind, args.warmup, args.steps)
    res.setdefault("peak_rss_mb", _peak_rss_mb())
    res.update(wall=time.perf_counter() - t0, n=n, e=e, f=f, kind=kind)
    print("RESULT " + json.dumps(res))


# ---------------------------------------------------------------------------------------------- driver
def spawn(framework: str, workload: str, args: argparse.Namespace) -> Optional[Dict[str, Any]]:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--workload", workload,
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--scale", str(args.scale),
           "--threads", str(args.threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    print(f"  {framework} / {workload} failed (rc {proc.returncode}):\n{proc.stderr[-2000:]}", file=sys.stderr)
    return None


def _merge_rounds(runs: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """One result from a framework's rounds: its step times are the per-round medians (the table's median is
    then the median of those), peak RSS the largest, the breakdown that of the round with the median step."""
    if not runs:
        return None
    if len(runs) == 1:
        return runs[0]
    meds = [statistics.median(r["times"]) for r in runs]
    mid = sorted(range(len(runs)), key=lambda i: meds[i])[len(runs) // 2]
    out = dict(runs[mid], times=meds, peak_rss_mb=max(r["peak_rss_mb"] for r in runs))
    return out


def _ms(t: float) -> str:
    return f"{t * 1e3:.0f}" if t >= 0.01 else f"{t * 1e3:.1f}"


def table(results: Dict[str, Dict[str, Optional[Dict[str, Any]]]]) -> str:
    lines = ["| workload | framework | ms / step (median) | steps / s | peak RSS (MB) | graphkit vs fastest peer "
             "| dense matmul ms / step (GFLOP) | ceiling: fastest peer / own matmul ms |",
             "|---|---|---|---|---|---|---|---|"]
    for workload, per in results.items():
        peers = [statistics.median(r["times"]) for k, r in per.items() if k in ("pyg", "dgl") and r]
        best = min(peers) if peers else None
        for fw, r in per.items():
            if r is None:
                lines.append(f"| {workload} | {fw} | failed | | | | | |")
                continue
            med = statistics.median(r["times"])
            ratio = f"{best / med:.2f}x" if best is not None and fw.startswith("graphkit") else ""
            name = {"pyg": "PyG 2.8.1" + (" (trim_to_layer)" if r.get("trimmed") else ""),
                    "dgl": "DGL 1.1.3", "graphkit": "graphkit",
                    "graphkit-untrimmed": "graphkit, trim=False",
                    "graphkit-prefetch0": "graphkit, prefetch=0"}[fw]
            mm = r.get("matmul")
            mm_cell = f"{mm['ms']:.1f} ({mm['gflop']:.2f})" if mm else ""
            ceiling = (f"{best * 1e3 / mm['ms']:.2f}x" if mm and mm["ms"] > 0 and best is not None
                       and fw.startswith("graphkit") else "")
            lines.append(f"| {workload} | {name} | {_ms(med)} | {1 / med:.2f} | {r['peak_rss_mb']:.0f} | {ratio} "
                         f"| {mm_cell} | {ceiling} |")
    return "\n".join(lines)


def breakdown_table(results: Dict[str, Dict[str, Optional[Dict[str, Any]]]]) -> str:
    rows = []
    for workload, per in results.items():
        r = per.get("graphkit")
        if r and "breakdown" in r:
            b = r["breakdown"]
            total = b["total"]
            cells = "; ".join(f"{k} {_ms(v)} ms ({100 * v / total:.0f}%)" for k, v in b.items()
                              if k not in ("total", "sampled nodes per batch", "layer-1 rows (trimmed)"))
            extra = (f" Sampled nodes per batch {b['sampled nodes per batch']:.0f}, layer 1 computes "
                     f"{b['layer-1 rows (trimmed)']:.0f} rows." if "sampled nodes per batch" in b else "")
            rows.append(f"* **{workload}**: {_ms(total)} ms a step: {cells}.{extra}")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["full", "minibatch"], default=None)
    ap.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds of every framework (median of medians)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply N and E (features unchanged)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--quick", action="store_true", help="scale 0.01, 3 steps, nothing written")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--worker", choices=FRAMEWORKS + VARIANTS, help=argparse.SUPPRESS)
    ap.add_argument("--workload", choices=list(WORKLOADS), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        run_worker(args)
        return
    if args.quick:
        args.scale, args.steps, args.warmup, args.no_write = 0.01, 3, 1, True
    load_start = os.getloadavg()
    workloads = [w for w in WORKLOADS if args.only is None or w.startswith(args.only)]
    results: Dict[str, Dict[str, Optional[Dict[str, Any]]]] = {}
    unknown = set(args.frameworks.split(",")) - set(FRAMEWORKS + VARIANTS)
    if unknown:
        raise SystemExit(f"--frameworks: unknown {sorted(unknown)}; choose from {FRAMEWORKS + VARIANTS}")
    for w in workloads:
        frameworks = [fw for fw in args.frameworks.split(",") if not (fw in MINIBATCH_ONLY and w == "full")]
        rounds: Dict[str, List[Dict[str, Any]]] = {fw: [] for fw in frameworks}
        # Interleaved rounds (each runs every framework once): load drift on a shared machine hits all alike.
        for r in range(args.rounds):
            for fw in frameworks:
                print(f"{w}: {fw} (round {r + 1}/{args.rounds}) ...", file=sys.stderr, flush=True)
                res = spawn(fw, w, args)
                if res is not None:
                    rounds[fw].append(res)
        results[w] = {fw: _merge_rounds(rounds[fw]) for fw in frameworks}
    load_end = os.getloadavg()
    body = "\n".join([
        "## End-to-end training steps (`benchmarks/training.py`)",
        "",
        f"Command: `.venv/bin/python benchmarks/training.py --steps {args.steps} --warmup {args.warmup} "
        f"--scale {args.scale} --threads {args.threads} --rounds {args.rounds}"
        f"{'' if args.only is None else ' --only ' + args.only}`; {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Load average (1/5/15 min) at start "
        f"{load_start[0]:.1f}/{load_start[1]:.1f}/{load_start[2]:.1f}, at end "
        f"{load_end[0]:.1f}/{load_end[1]:.1f}/{load_end[2]:.1f}: the machine is shared, so compare ratios within "
        "the table. Each framework ran in its own process on the same generated graph (sizes "
        + ", ".join(f"{w}: N={max(2048, int(WORKLOADS[w][0] * args.scale))}, "
                    f"E={max(4096, int(WORKLOADS[w][1] * args.scale))}" for w in workloads)
        + "). Peak RSS is the whole process (graph, features and peer structures included).",
        "",
        table(results),
        "",
        "Where graphkit's step goes (median per phase, one thread of control, no prefetch; \"other\" is the "
        "median step minus the phases: batch assembly, loss, zero_grad, Python):",
        "",
        breakdown_table(results),
    ])
    print(body)
    if not args.no_write:
        write_section(RESULTS, "training", body)


if __name__ == "__main__":
    main()
