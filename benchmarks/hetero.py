"""Heterogeneous benchmark on a graph with ogbn-mag's shape: R-GCN forward+backward against PyG and DGL.

The graph: ogbn-mag's 4 node types (736,389 papers, 1,134,649 authors, 8,740 institutions, 59,965 fields: 1.94M
nodes) and 4 relations (affiliated_with 1.04M, writes 7.15M, cites 5.42M, has_topic 7.51M: 21.1M edges) plus their
4 reverses, 128 features on every node; ``--scale s`` multiplies every count (the default, 0.02, fits a loaded
2-core machine). Endpoints are drawn at random within their types. Every implementation runs one R-GCN layer
128 -> 128 over the 8 relations on the typed graph in homogeneous form (node ids offset by type, one relation id
per edge), forward and backward to the weights (``(out * probe).sum()``), timed in interleaved rounds (medians);
peak extra memory is the high-water mark of one step above the memory before it, process peak the worker's whole
high-water mark (data, structures and the step), each implementation alone in a fresh process.

    PYTHONPATH=. python benchmarks/hetero.py --scale 0.02 --rounds 5
    PYTHONPATH=. python benchmarks/hetero.py --only operators --scale 1 --rounds 3 --mem-cap-gib 16  # full shape

Rows: graphkit ``RGCNConv`` (= ``FastRGCNConv``, one relation-batched ``relation_spmm``), PyG ``RGCNConv`` (a
Python loop over relations; pyg-lib's segment matmul when installed), PyG ``FastRGCNConv`` (gathers an
``[E, F_in, F_out]`` weight tensor: run only when that fits ``--fast-rgcn-max-gib``), DGL ``RelGraphConv``.
HGT: graphkit, PyG and DGL ``HGTConv`` 128 -> 128, ``--heads`` heads, on the typed dicts (DGL: the homogeneous
form with node and edge type ids). Typed neighbour sampling (``typed_sampling_rows``): one batch of 1,024 'paper'
seeds, fan-outs [10, 10] on every relation, through graphkit's and PyG's ``NeighborLoader`` and DGL's
``sample_neighbors`` (two hops) and ``NeighborSampler`` + ``DataLoader``; ``--only sampling`` runs just those rows
and prints them, ``--only operators`` just the R-GCN and HGT rows (``rgcn``, ``hgt``: one of them). Writes its
table between ``<!-- hetero:start -->`` and ``<!-- hetero:end -->`` in benchmarks/RESULTS.md (not with ``--only``).

Memory safety (ogbn-mag's full shape, ``--scale 1``, needs tens of GiB for some peers): the R-GCN and HGT rows are
measured in worker processes, never in this one. Each implementation first runs alone in a fresh worker (its peak
memory); the implementations that fit are then timed together, interleaved, in one more worker. Every worker runs
under an address-space limit of ``--mem-cap-gib`` (``RLIMIT_AS``), so an implementation that needs more fails its
allocation inside its own process and its row says "out of memory at the N GiB cap" instead of the machine running
out. When the implementations that fit alone do not fit together, the one with the largest process peak is left out
of the interleaved timing (until the rest fit) and given its one step measured alone (its row says so).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from typing import Callable, Collection, Dict, List, Optional, Tuple

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
RGCN_TASK = "R-GCN fwd+bwd"
RGCN_NAMES = ("graphkit RGCNConv", "PyG RGCNConv", "PyG FastRGCNConv", "DGL RelGraphConv")
HGT_NAMES = ("graphkit HGTConv", "PyG HGTConv", "DGL HGTConv")
# What a failed allocation says in the worker's stderr (torch, DGL's C++, Python, OpenMP) under RLIMIT_AS.
OOM_MARKS = ("not enough memory", "can't allocate", "cannot allocate", "out of memory", "bad_alloc", "MemoryError",
             "failed to allocate", "Resource temporarily unavailable")


def shape_counts(scale: float) -> Tuple[int, int]:
    """``(nodes, directed edges)`` of :func:`mag_like_typed` at ``scale``, without building it."""
    return (sum(max(1, int(n * scale)) for n in NODES.values()),
            2 * sum(max(1, int(e * scale)) for *_, e in RELATIONS))


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


def rgcn_steps(x: torch.Tensor, ei: torch.Tensor, et: torch.Tensor, r: int, fast_max_gib: float,
               names: Collection[str] = RGCN_NAMES, notes: Optional[Dict[str, str]] = None) -> Dict[str, Step]:
    """The R-GCN steps of ``names`` (only those are built: at full shape each holds its own structures); an
    implementation that cannot run here gets its reason in ``notes`` instead."""
    notes = {} if notes is None else notes
    probe = torch.randn(x.size(0), F, generator=torch.Generator().manual_seed(1))
    steps: Dict[str, Step] = {}
    if "graphkit RGCNConv" in names:
        ours = gnn.RGCNConv(F, F, r)
        steps["graphkit RGCNConv"] = _step(ours, lambda: ours(x, ei, et), probe)
    if {"PyG RGCNConv", "PyG FastRGCNConv"} & set(names):
        try:
            import torch_geometric.nn as pnn

            if "PyG RGCNConv" in names:
                pyg = pnn.RGCNConv(F, F, r)
                steps["PyG RGCNConv"] = _step(pyg, lambda: pyg(x, ei, et), probe)
            need = ei.size(1) * F * F * 4 * 3 / 2**30  # gathered weights, their gradient and the bmm's output
            if "PyG FastRGCNConv" not in names:
                pass
            elif need <= fast_max_gib:
                fast = pnn.FastRGCNConv(F, F, r)
                steps["PyG FastRGCNConv"] = _step(fast, lambda: fast(x, ei, et), probe)
            else:
                notes["PyG FastRGCNConv"] = (f"not run: it gathers an [E, F_in, F_out] weight tensor, ~{need:,.0f} GiB "
                                             f"with its gradient (over --fast-rgcn-max-gib {fast_max_gib:g})")
        except ImportError as exc:
            notes.update({n: f"unavailable: {exc}" for n in ("PyG RGCNConv", "PyG FastRGCNConv") if n in names})
    if "DGL RelGraphConv" in names:
        dgl = import_dgl()
        if dgl is None:
            notes["DGL RelGraphConv"] = "unavailable: DGL is not installed"
        else:
            from dgl.nn.pytorch import RelGraphConv

            order = torch.argsort(et, stable=True)  # presorted types let DGL use its segment matmul
            g_sorted = dgl.graph((ei[0][order], ei[1][order]), num_nodes=x.size(0))
            et_sorted = et[order]
            del order
            rel = RelGraphConv(F, F, r, self_loop=True)
            steps["DGL RelGraphConv"] = _step(rel, lambda: rel(g_sorted, x, et_sorted, presorted=True), probe)
    return steps


def hgt_steps(x_dict: Dict[str, torch.Tensor], ei_dict: Dict[Tuple[str, str, str], torch.Tensor],
              heads: int, names: Collection[str] = HGT_NAMES, notes: Optional[Dict[str, str]] = None
              ) -> Dict[str, Step]:
    """The HGT steps of ``names`` (only those are built); reasons for the ones that cannot run go to ``notes``."""
    notes = {} if notes is None else notes
    meta = (list(x_dict), list(ei_dict))
    gen = torch.Generator().manual_seed(2)
    probe = {t: torch.randn(x.size(0), F, generator=gen) for t, x in x_dict.items()}

    def typed_step(layer: torch.nn.Module) -> Step:
        def step() -> None:
            layer.zero_grad(set_to_none=True)
            out = layer(x_dict, ei_dict)
            sum((out[t] * probe[t]).sum() for t in out).backward()

        return step

    steps: Dict[str, Step] = {}
    if "graphkit HGTConv" in names:
        steps["graphkit HGTConv"] = typed_step(gnn.HGTConv(F, F, meta, heads=heads))
    if "PyG HGTConv" in names:
        try:
            import torch_geometric.nn as pnn

            steps["PyG HGTConv"] = typed_step(pnn.HGTConv(F, F, meta, heads=heads))
        except ImportError as exc:
            notes["PyG HGTConv"] = f"unavailable: {exc}"
    if "DGL HGTConv" in names:
        dgl = import_dgl()
        if dgl is None:
            notes["DGL HGTConv"] = "unavailable: DGL is not installed"
        else:
            from dgl.nn.pytorch import HGTConv as DGLHGT

            x, ei, et, nt = homogeneous(x_dict, ei_dict)
            g = dgl.graph((ei[0], ei[1]), num_nodes=x.size(0))
            del ei
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
    """Rows ``| typed neighbour sampling | <impl> | <ms> | <MiB> | <process MiB> | <time / graphkit> | <memory /
    graphkit> |`` for graphkit's, PyG's and DGL's typed samplers on ``mag_like_typed(scale)`` (see
    :func:`sampling_steps`), timed in interleaved rounds; peak memory from a capped worker (:func:`run_worker`) when
    ``args`` is given, else ``-``."""
    x_dict, ei_dict = mag_like_typed(scale, features=False)
    steps = sampling_steps(x_dict, ei_dict)
    times = interleaved_medians(steps, rounds)
    nan = (float("nan"), float("nan"))
    peaks = {name: run_worker("--peak-worker", [name], args).peak[:2] if args is not None else nan for name in steps}
    ours = "graphkit NeighborLoader"
    rows = []
    for name in steps:
        mem = "-" if peaks[name][0] != peaks[name][0] else f"{peaks[name][0]:.0f}"
        total = "-" if mem == "-" else f"{peaks[name][1]:,.0f}"
        mratio = "-" if mem == "-" or peaks[ours][0] != peaks[ours][0] else \
            f"{peaks[name][0] / max(peaks[ours][0], 1e-9):.2f}x"
        rows.append(f"| typed neighbour sampling | {name} | {fmt_ms(times[name])} | {mem} | {total} | "
                    f"{times[name] / times[ours]:.2f}x | {mratio} |")
    peers = {n: t for n, t in times.items() if n != ours}
    if peers:
        best = min(peers, key=peers.get)
        print(f"  typed sampling: graphkit {peers[best] / times[ours]:.2f}x faster than the fastest peer ({best})",
              flush=True)
    return rows


class WorkerResult:
    """What one worker process reported: ``peak`` = (extra MiB, process peak MiB, step seconds) of a peak worker,
    ``times`` = interleaved medians (seconds) of a timing worker, ``notes`` = implementations that could not run and
    why, ``failure`` = why the worker itself did not finish (``None`` when it did), ``oom`` = that was memory."""

    def __init__(self) -> None:
        nan = float("nan")
        self.peak: Tuple[float, float, float] = (nan, nan, nan)
        self.times: Dict[str, float] = {}
        self.notes: Dict[str, str] = {}
        self.failure: Optional[str] = None
        self.oom = False


def available_gib() -> float:
    """``MemAvailable`` of the machine, in GiB (``inf`` where ``/proc/meminfo`` does not exist)."""
    try:
        with open("/proc/meminfo") as fh:
            return next(int(ln.split()[1]) for ln in fh if ln.startswith("MemAvailable:")) / 2**20
    except (OSError, StopIteration):
        return float("inf")


def run_worker(mode: str, names: List[str], args: argparse.Namespace) -> WorkerResult:
    """Run ``names`` in a fresh worker process (``mode``: ``--peak-worker`` or ``--time-worker``) under the
    ``--mem-cap-gib`` address-space limit and ``--worker-timeout``; parse what it printed."""
    # Peak workers: a low mmap threshold, so that memory freed earlier does not hide the step's own peak.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536") if mode == "--peak-worker" else None
    cmd = [sys.executable, os.path.abspath(__file__), mode, ";".join(names), "--scale", str(args.scale),
           "--threads", str(args.threads), "--heads", str(args.heads), "--rounds", str(args.rounds),
           "--fast-rgcn-max-gib", str(args.fast_rgcn_max_gib), "--mem-cap-gib", str(args.mem_cap_gib),
           "--memory-wait", str(args.memory_wait)]
    res = WorkerResult()
    # The cap bounds this worker, not the other jobs on the machine: start it only when the cap is free for it.
    deadline, avail = time.monotonic() + args.memory_wait, available_gib()
    while avail < args.mem_cap_gib + 1 and time.monotonic() < deadline:
        time.sleep(10)
        avail = available_gib()
    if avail < args.mem_cap_gib + 1:
        res.failure = (f"not run: the machine had {avail:.1f} GiB available, under the {args.mem_cap_gib:g} GiB cap "
                       f"+ 1 GiB, for {args.memory_wait:g} s")
        return res
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.worker_timeout)
    except subprocess.TimeoutExpired:
        res.failure = f"did not finish within the {args.worker_timeout:g} s worker time limit"
        return res
    for line in proc.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "PEAK":
            extra, total, secs = (float(v) for v in rest.split())
            res.peak = (extra, total, secs)
        elif kind == "TIME":
            name, secs = rest.split("\t")
            res.times[name] = float(secs)
        elif kind == "NOTE":
            name, why = rest.split("\t")
            res.notes[name] = why
    if proc.returncode != 0:
        text = proc.stdout + proc.stderr
        # 3: the worker caught its failed allocation; -9: killed (the kernel's OOM killer, if it came to that)
        res.oom = proc.returncode in (3, -9) or any(m in text for m in OOM_MARKS)
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1][:300]
        res.failure = (f"out of memory at the {args.mem_cap_gib:g} GiB cap" if res.oom
                       else f"failed (exit {proc.returncode}): {last}")
        print(f"  worker {mode} {names}: {res.failure}; stderr tail: {proc.stderr[-800:]}", file=sys.stderr,
              flush=True)
    return res


def operator_rows(task: str, names: Tuple[str, ...], args: argparse.Namespace) -> List[str]:
    """Rows of one task: every implementation alone in a capped worker (peak memory), then the ones that fit timed
    together in interleaved rounds in one more capped worker (the largest left out, with its step timed alone, until
    the rest fit together)."""
    alone: Dict[str, WorkerResult] = {}
    for name in names:
        alone[name] = res = run_worker("--peak-worker", [name], args)
        extra, total, secs = res.peak
        say = (res.notes.get(name) or res.failure
               or f"{extra:,.0f} MiB extra, {total:,.0f} MiB process, step {secs:.2f} s")
        print(f"  {task} / {name}: {say}", flush=True)
    fits = [n for n in names if alone[n].failure is None and n not in alone[n].notes]
    times: Dict[str, float] = {}
    how: Dict[str, str] = {}
    group = sorted(fits, key=lambda n: alone[n].peak[1])  # by process peak: the largest leaves first
    while group:
        together = run_worker("--time-worker", group, args)
        if together.failure is None:
            times.update(together.times)
            break
        if not together.oom:  # a timeout, a crash or no memory to start: not a reason to time one alone
            print(f"  {task}: timing {group} together failed ({together.failure})", flush=True)
            for name in group:
                alone[name].failure = f"timing failed: {together.failure}"
            break
        # Out of memory together: the largest leaves (its one step alone, measured already), the rest stay interleaved
        print(f"  {task}: timing {group} together failed ({together.failure}); {group[-1]} uses its step alone",
              flush=True)
        last = group.pop()
        times[last], how[last] = alone[last].peak[2], " (alone, 1 step)"
    ours = next(n for n in names if n.startswith("graphkit"))
    t0, m0 = times.get(ours), alone[ours].peak[0]
    rows = []
    for name in names:
        if name not in times:
            why = alone[name].notes.get(name) or alone[name].failure or "not timed"
            rows.append(f"| {task} | {name} | - | {why} | - | - | - |")
            continue
        t, (m, total, _) = times[name], alone[name].peak
        rows.append(f"| {task} | {name} | {fmt_ms(t)}{how.get(name, '')} | {m:,.0f} | {total:,.0f} | "
                    f"{'-' if t0 is None else f'{t / t0:.2f}x'} | "
                    f"{'-' if t0 is None else f'{m / max(m0, 1e-9):.2f}x'} |")
    return rows


def worker(args: argparse.Namespace) -> None:
    """A ``--peak-worker`` (one implementation: a warm-up step, then one step's peak memory and time) or a
    ``--time-worker`` (interleaved medians of several), under the ``--mem-cap-gib`` address-space limit. A failed
    allocation exits with status 3 after an ``OOM`` line."""
    cap = int(args.mem_cap_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:  # if the machine runs out all the same (other jobs grew), the kernel ends this worker first
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")
    except OSError:
        pass
    names = (args.peak_worker or args.time_worker).split(";")
    notes: Dict[str, str] = {}
    try:
        steps = build_steps(names, args, notes)
        for name, why in notes.items():
            print(f"NOTE {name}\t{why}", flush=True)
        if args.peak_worker:
            if names[0] not in steps:
                return
            step = steps[names[0]]
            step()  # warm-up: memoised structures and lazy state are not the step's
            t0 = time.perf_counter()
            extra = step_peak_rss_mb(step)
            secs = time.perf_counter() - t0
            with open("/proc/self/status") as fh:  # the high-water mark since step_peak_rss_mb reset it
                total = next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:")) / 1024
            print(f"PEAK {extra:.1f} {total:.1f} {secs:.4f}", flush=True)
        else:
            for name, secs in interleaved_medians(steps, args.rounds).items():
                print(f"TIME {name}\t{secs:.6f}", flush=True)
    except (MemoryError, RuntimeError) as exc:
        if isinstance(exc, MemoryError) or any(m in str(exc) for m in OOM_MARKS):
            print(f"OOM {(str(exc).splitlines() or [type(exc).__name__])[0][:300]}", flush=True)
            sys.exit(3)
        raise


def build_steps(names: List[str], args: argparse.Namespace, notes: Dict[str, str]) -> Dict[str, Step]:
    """The steps of ``names`` on the benchmark graph, building only the data and structures those need."""
    if all(n in SAMPLING_NAMES for n in names):
        x_dict, ei_dict = mag_like_typed(args.scale, features=False)
        return {n: s for n, s in sampling_steps(x_dict, ei_dict).items() if n in names}
    x_dict, ei_dict = mag_like_typed(args.scale)
    steps: Dict[str, Step] = {}
    if set(names) & set(HGT_NAMES):
        steps.update(hgt_steps(x_dict, ei_dict, args.heads, names, notes))
    if set(names) & set(RGCN_NAMES):
        x, ei, et, _ = homogeneous(x_dict, ei_dict)
        r = len(ei_dict)
        del x_dict, ei_dict  # R-GCN reads the homogeneous copies (the HGT steps keep their own references)
        steps.update(rgcn_steps(x, ei, et, r, args.fast_rgcn_max_gib, names, notes))
    return steps


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=0.02, help="multiply ogbn-mag's node and edge counts")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fast-rgcn-max-gib", type=float, default=4.0)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--mem-cap-gib", type=float, default=14.0,
                    help="address-space limit (RLIMIT_AS) of every worker process; an implementation that needs "
                         "more is reported as out of memory")
    ap.add_argument("--worker-timeout", type=float, default=1800.0, help="seconds one worker process may take")
    ap.add_argument("--memory-wait", type=float, default=600.0,
                    help="seconds to wait for the machine to have the cap + 1 GiB available before a worker starts")
    ap.add_argument("--only", choices=["sampling", "operators", "rgcn", "hgt"], default=None,
                    help="run only the typed sampling rows, the R-GCN and HGT rows, or one of those two, and print "
                         "them (RESULTS.md is left alone)")
    ap.add_argument("--peak-worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--time-worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md"))
    args = ap.parse_args(argv)
    if args.mem_cap_gib <= 0:
        raise ValueError(f"--mem-cap-gib must be positive, got {args.mem_cap_gib}")
    torch.set_num_threads(args.threads)
    if args.peak_worker or args.time_worker:
        worker(args)
        return
    load = os.getloadavg()
    num_nodes, num_edges = shape_counts(args.scale)
    r = 2 * len(RELATIONS)
    print(f"scale {args.scale}: {num_nodes:,} nodes, {num_edges:,} edges, {r} relations, load {load}, "
          f"workers capped at {args.mem_cap_gib:g} GiB", flush=True)
    rows = []
    if args.only in (None, "operators", "rgcn"):
        rows += operator_rows(RGCN_TASK, RGCN_NAMES, args)
    if args.only in (None, "operators", "hgt"):
        rows += operator_rows(f"HGT fwd+bwd ({args.heads} heads)", HGT_NAMES, args)
    if args.only in (None, "sampling"):
        rows += typed_sampling_rows(args.scale, args.rounds, args)
    end = os.getloadavg()
    header = ("| task | implementation | time (ms) | peak extra memory (MiB) | process peak (MiB) | time / graphkit | "
              "memory / graphkit |\n|---|---|---|---|---|---|---|\n")
    if args.only:
        print(header + "\n".join(rows), flush=True)
        print(f"load average at end {end}", flush=True)
        return
    body = (
        "## Heterogeneous operators (`benchmarks/hetero.py`)\n\n"
        f"`PYTHONPATH=. python benchmarks/hetero.py --scale {args.scale} --rounds {args.rounds} --threads "
        f"{args.threads} --mem-cap-gib {args.mem_cap_gib:g}`: ogbn-mag's shape times {args.scale} ({num_nodes:,} "
        f"nodes in 4 types, {num_edges:,} edges in {r} relations incl. reverses, {F} features); one 128 -> 128 layer, "
        f"forward + backward, median of {args.rounds} interleaved rounds; peak extra memory = the high-water mark "
        "(VmHWM) of one step after a warm-up above the memory before it, each implementation alone in a fresh "
        "process; process peak = that process's whole high-water mark (data, structures and step), under an "
        f"address-space cap of {args.mem_cap_gib:g} GiB per process. Load average "
        f"{load[0]:.1f} at start, {end[0]:.1f} at end. {machine_line()}\n\n"
        + header + "\n".join(rows) + "\n\n"
        f"Typed neighbour sampling: one batch of {SAMPLING_SEEDS:,} 'paper' seeds, fan-outs {SAMPLING_FANOUTS} on "
        "every relation, iterated as a user would (the draws, relabelling and the typed batch object: graphkit "
        "`HeteroGraph`, PyG `HeteroData`, DGL sub-graph or blocks); structure-only graphs, so no features are "
        "gathered. DGL's `NeighborSampler` re-samples the seeds at hop 2 (message-flow-graph semantics).\n"
    )
    print(body, flush=True)
    write_section(args.out, "hetero", body)


if __name__ == "__main__":
    main()
