#!/usr/bin/env python3
"""``make gpu-check``: prove graphkit's CUDA path on a GPU machine as it comes, in one command (< 8 minutes).

It uses the machine's own Python and torch (``python3`` or ``$PYTHON``): no virtual environment, no pip, no
network. Steps, each with a share of the time budget (``GPU_CHECK_BUDGET_S``, default 450 s):

1. **build** ``graphkit._C`` in place (``setup.py build_ext --inplace``; CUDAExtension when torch is a CUDA build
   and nvcc exists; ``TORCH_CUDA_ARCH_LIST`` = this GPU's capability so only one architecture is compiled);
2. **pytest** ``-m cuda`` (tests/cuda, tests/ops/test_cuda.py, tests/loader), then **train**: ``graphkit train
   --device cuda --amp on`` for node (full and mini-batch), link and graph tasks (tests/cuda/test_train_cuda.py;
   DDP over NCCL where two GPUs exist);
3. **ops**: every CUDA op against the CPU extension on the edge cases of the CUDA review
   (``graphkit.testing.cuda_cases``: hubs, empty rows, E = 0, N = 0, tails of F, heads, int32/int64,
   fp16/bf16, NaN), plus the host syncs per op;
4. **sanitizer**: ``compute-sanitizer`` memcheck and racecheck on ``--quick`` (a small op grid and the UVA
   gather), where the machine has it;
5. **bench**: SpMM sum/mean/max F = 64, 256 against torch.sparse CSR (cuSPARSE) and PyG's gather-scatter, with the
   measured device-to-device copy bandwidth; GAT 8x8 forward+backward peak memory and time against PyG; the UVA
   gather against ``x[idx].to("cuda", non_blocking=True)`` and the pinned host-to-device bandwidth; a GraphSAGE
   mini-batch epoch against PyG's.

Tables go to ``$GPU_CHECK_OUT`` (default ``$OUT/gpu-check`` when ``OUT`` is set, else ``gpu-check-out/``):
``results.md`` and ``results.json``, rewritten after every step, so a run cut short still leaves its tables.
Without a GPU every step runs as a dry run on the CPU (small sizes, the CPU extension against the torch
backend) and the exit status is 0. The last line printed starts with ``gpu-check:`` and names the mode.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402  (after the path: graphkit must resolve to this checkout)

GPU = torch.cuda.is_available()
MODE = "gpu" if GPU else "dry-run (no GPU: every step on the CPU)"


class Report:
    """PASS/FAIL lines and markdown tables, written to the results folder after every step."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.sections: List[str] = []
        self.data: Dict[str, Any] = {"mode": MODE, "checks": [], "tables": {}}
        self.failed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        tag = "PASS" if ok else "FAIL"
        self.failed += 0 if ok else 1
        line = f"[{tag}] {name}" + (f"  -- {detail}" if detail else "")
        print(line, flush=True)
        self.data["checks"].append({"name": name, "ok": ok, "detail": detail})
        self.sections.append(f"- {line}")
        return ok

    def note(self, text: str) -> None:
        print(text, flush=True)
        self.sections.append(text)

    def table(self, key: str, title: str, header: List[str], rows: List[List[Any]], notes: str = "") -> None:
        lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
        if notes:
            lines += ["", notes]
        text = "\n".join(lines)
        print(text, flush=True)
        self.sections.append(text)
        self.data["tables"][key] = {"title": title, "header": header, "rows": rows, "notes": notes}
        self.write()

    def write(self) -> None:
        head = [f"# make gpu-check ({MODE})", "", env_line(), ""]
        (self.out / "results.md").write_text("\n".join(head + self.sections) + "\n")
        (self.out / "results.json").write_text(json.dumps(self.data, indent=1, default=str))


def env_line() -> str:
    dev = torch.cuda.get_device_name(0) if GPU else "no GPU"
    now = datetime.datetime.now(datetime.timezone.utc)
    return (f"{now:%Y-%m-%d %H:%M} UTC, {platform.node()}, {dev}, torch {torch.__version__} "
            f"(CUDA {torch.version.cuda}), Python {platform.python_version()}, {os.cpu_count()} CPUs")


def out_dir(arg: Optional[str]) -> Path:
    if arg:
        return Path(arg)
    if os.environ.get("GPU_CHECK_OUT"):
        return Path(os.environ["GPU_CHECK_OUT"])
    if os.environ.get("OUT"):
        return Path(os.environ["OUT"]) / "gpu-check"
    return ROOT / "gpu-check-out"


def run(cmd: List[str], timeout: float, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    print("$ " + " ".join(cmd), flush=True)
    full_env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    try:
        return subprocess.run(cmd, cwd=ROOT, env=full_env, timeout=max(5.0, timeout), capture_output=True, text=True)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return subprocess.CompletedProcess(cmd, 124, out, f"timed out after {timeout:.0f} s")


def tail(text: str, n: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


# ------------------------------------------------------------------------------------------------ 1. build
def step_build(rep: Report, budget: float) -> None:
    env = {"MAX_JOBS": str(os.cpu_count() or 4)}
    if GPU:
        major, minor = torch.cuda.get_device_capability(0)
        env["TORCH_CUDA_ARCH_LIST"] = f"{major}.{minor}"
    t0 = time.time()
    res = run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], budget, env)
    took = time.time() - t0
    if not rep.check("build graphkit._C in place", res.returncode == 0, f"{took:.0f} s"):
        rep.note("```\n" + tail(res.stdout + res.stderr, 40) + "\n```")
        return
    probe = run([sys.executable, "-c", "import graphkit._C, torch; print(torch.ops.graphkit.has_cuda())"], 120)
    has_cuda = probe.stdout.strip().endswith("True")
    if GPU:
        rep.check("graphkit._C has its CUDA kernels (has_cuda)", has_cuda, tail(probe.stdout + probe.stderr, 3))
    else:
        rep.note(f"- CPU build (has_cuda = {has_cuda}); the CUDA sources are compiled by `make cuda-check`")


# ----------------------------------------------------------------------------------------------- 2. pytest
TRAIN_TESTS = "tests/cuda/test_train_cuda.py"  # whole training runs: their own step (train) and time share


def step_pytest(rep: Report, budget: float) -> None:
    targets = ["tests/cuda", "tests/ops/test_cuda.py", "tests/loader"]
    col = run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "cuda", "-p", "no:cacheprovider"]
              + targets, min(budget, 120))
    targets.append(f"--ignore={TRAIN_TESTS}")
    m = re.search(r"(\d+)(?:/\d+)? tests? (?:collected|selected)", col.stdout)
    n = int(m.group(1)) if m else 0
    rep.check("pytest -m cuda collects at least 40 tests", n >= 40, f"{n} collected")
    res = run([sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-rfEs", "-p", "no:cacheprovider"] + targets,
              budget)
    summary = tail(res.stdout, 1)
    if GPU:
        rep.check("pytest -m cuda passes on the GPU", res.returncode == 0 and "skipped" not in summary, summary)
        if res.returncode != 0:
            rep.note("```\n" + tail(res.stdout, 40) + "\n```")
    else:
        rep.check("pytest -m cuda runs (skips without a GPU)", res.returncode == 0, summary)


# ------------------------------------------------------------------------------------------------ 2b. train
def step_train(rep: Report, budget: float) -> None:
    """`graphkit train --device cuda --amp on`: node (full and mini-batch), link, graph; DDP/NCCL with 2 GPUs."""
    res = run([sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-rfEs", "-p", "no:cacheprovider", TRAIN_TESTS],
              budget)
    summary = tail(res.stdout, 1)
    name = "graphkit train --device cuda --amp on: node, node mini-batch, link, graph"
    rep.check(name if GPU else f"{name} (skips without a GPU)", res.returncode == 0, summary)
    if res.returncode != 0:
        rep.note("```\n" + tail(res.stdout, 40) + "\n```")


# ------------------------------------------------------------------------------------------------- 3. ops
def step_ops(rep: Report, quick: bool, budget: float = 1e9) -> None:
    import itertools

    from graphkit.testing import cuda_cases as C

    dev = torch.device("cuda" if GPU else "cpu")
    dtypes = [torch.float32, torch.float64] + ([torch.float16, torch.bfloat16] if GPU else [])
    hf_grid, sizes = C.HF_GRID, C.SIZES
    idx_types = (torch.int64, torch.int32)
    if not GPU:  # the dry run: the same code paths, fewer cases (the CPU here is small and shared)
        hf_grid, sizes = [(1, 1), (1, 16), (1, 33), (2, 40), (8, 8)], C.SIZES[:4]
    if quick:  # under compute-sanitizer every launch is slow: each path once (narrow, wide, heads, a split hub)
        hf_grid, sizes = [(1, 5), (1, 33), (8, 8)], [(0, 0, None), (13, 0, None), (40, 300, 70), (30, 700, 600)]
        dtypes, idx_types = [torch.float32], (torch.int32,)
    deadline = time.time() + budget

    def grid(name: str, cases: Any, fn: Callable[..., Any]) -> None:
        bad, n = [], 0
        for case in cases:
            if time.time() > deadline:
                rep.note(f"- {name}: stopped after {n} cases (time budget)")
                break
            n += 1
            try:
                ok, detail = fn(*case)
            except Exception as exc:  # noqa: BLE001  (reported, then the next case)
                ok, detail = False, f"{type(exc).__name__}: {str(exc)[:200]}"
            if not ok:
                bad.append((case[1:], detail))
        rep.check(f"{name}: {n} cases vs {'CPU extension' if GPU else 'torch backend (dry run)'}", not bad,
                  f"{len(bad)} mismatches, first: {bad[:2]}" if bad else "")

    reduce_cases = [(dev, dt, hf, w, seg, ix, sz, r) for hf, w, seg, ix, sz, dt, r in itertools.product(
        hf_grid, ("none", "plain", "eid"), (False, True), idx_types, sizes, dtypes, ("sum", "mean", "max", "min"))
        if not (w == "none" and hf[0] > 1)]
    grid("csr_reduce forward (values + arg)", reduce_cases, C.run_csr_reduce)
    grid("csr_reduce hubs past the split threshold",
         [(dev, dt, hf, "eid", False, torch.int64, (300, 20000, 9000), r)
          for hf in ((1, 1), (1, 8), (1, 64), (2, 100)) for dt in dtypes[:1] for r in ("sum", "mean", "max", "min")],
         C.run_csr_reduce)
    grid("sddmm dot/add/mul", [(dev, dt, hf, ix, e, sz, op) for hf, ix, e, sz, dt, op in itertools.product(
        hf_grid + [(2, 0)], idx_types, (False, True), sizes, dtypes, ("dot", "add", "mul"))], C.run_sddmm)
    grid("edge_softmax fwd+bwd", [(dev, dt, h, ix, e, sz) for h, ix, e, sz, dt in itertools.product(
        (1, 2, 8), idx_types, (False, True), sizes, dtypes)], C.run_softmax)
    nan_rule(rep, dev)
    if GPU and not quick:
        sync_counts(rep)
    if GPU:
        uva_smoke(rep)


def nan_rule(rep: Report, dev: torch.device) -> None:
    from graphkit.ops import _kernels as K
    from graphkit.testing.cuda_cases import nan_case

    rowptr, x, exp_max, _ = nan_case()
    out, arg = K.csr_reduce(rowptr.to(dev), None, None, None, x.to(dev), "max")
    got = [(float(out[r, 0, 0]), int(arg[r, 0, 0])) for r in range(len(exp_max))]
    same = all((g[0] == e[0] or (g[0] != g[0] and e[0] != e[0])) and g[1] == e[1] for g, e in zip(got, exp_max))
    rep.check("NaN / -inf rule (NaN wins at its first position; all -inf keeps the first edge)", same,
              f"got {got}")


def sync_counts(rep: Report) -> None:
    import warnings

    from graphkit import Graph, ops
    from graphkit.ops import cuda as gk_cuda

    g = Graph(edge_index=torch.randint(0, 1000, (2, 10000)), num_nodes=1000).to("cuda")
    x = torch.randn(1000, 4, 16, device="cuda")
    w = torch.rand(10000, 4, device="cuda")
    g.csr(), g.csr_t()  # csr() also settles csr_eid: no sync left for the ops
    torch.cuda.synchronize()
    rows = []
    for name, fn in [("spmm sum (Graph)", lambda: ops.spmm(g, x, w)),
                     ("spmm max (Graph)", lambda: ops.spmm(g, x, w, "max")),
                     ("sddmm dot (Graph)", lambda: ops.sddmm(g, x, x)),
                     ("edge_softmax (Graph)", lambda: ops.edge_softmax(g, w)),
                     ("scatter sum (index, dim_size given)", lambda: ops.scatter(w, g.edge_index[1], 1000))]:
        counts = []
        for deferred in (False, True):
            old = gk_cuda.sync_checks(not deferred)
            torch.cuda.set_sync_debug_mode("warn")
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                fn()
            torch.cuda.set_sync_debug_mode(0)
            gk_cuda.sync_checks(old)
            counts.append(sum("synchroniz" in str(r.message) for r in rec))
        rows.append([name, counts[0], counts[1]])
    rep.table("syncs", "Host syncs per op call", ["op", "default (checked)", "deferred_checks()"], rows,
              "Counted with torch.cuda.set_sync_debug_mode('warn'). Before this work: 2-6 per op.")


def uva_smoke(rep: Report) -> None:
    from graphkit.loader.feature_store import FeatureStore

    bad = []
    for dtype, width in [(torch.float32, 1), (torch.float32, 37), (torch.float32, 128), (torch.float16, 3),
                         (torch.uint8, 5), (torch.float64, 7)]:
        data = (torch.randn(3000, width) * 100).to(dtype)
        fs = FeatureStore(data, pin=True)
        idx = torch.randint(0, 3000, (2000,))
        if not torch.equal(fs.gather_cuda(idx).cpu(), data[idx]):
            bad.append((dtype, width))
    rep.check("UVA gather: 16-, 4- and 1-byte lane paths", not bad, str(bad))


# ------------------------------------------------------------------------------------------- 4. sanitizer
def step_sanitizer(rep: Report, budget: float) -> None:
    tool = shutil.which("compute-sanitizer") or next(
        (p for p in ("/usr/local/cuda/bin/compute-sanitizer", "/opt/nvidia/compute-sanitizer/compute-sanitizer")
         if os.path.exists(p)), None)
    if not GPU:
        rep.note(f"- sanitizer: skipped in the dry run (no GPU); compute-sanitizer "
                 f"{'found at ' + tool if tool else 'not found'} on this machine")
        return
    if tool is None:
        rep.note("- sanitizer: **compute-sanitizer is not installed on this machine**: memcheck/racecheck not run")
        return
    rows = []
    for name in ("memcheck", "racecheck"):
        env = {"PYTORCH_NO_CUDA_MEMORY_CACHING": "1"} if name == "memcheck" else {}  # OOB inside pooled blocks
        res = run([tool, "--tool", name, "--print-limit", "20", sys.executable, str(Path(__file__)), "--quick",
                   "--out", str(rep.out / f"sanitizer-{name}")], budget / 2, env)
        m = re.search(r"ERROR SUMMARY: (\d+) error", res.stdout + res.stderr)
        errors = int(m.group(1)) if m else None
        rows.append([name, "timed out" if res.returncode == 124 else errors, res.returncode])
        rep.check(f"compute-sanitizer {name}: zero errors", errors == 0,
                  "" if errors == 0 else tail(res.stdout + res.stderr, 8))
    rep.table("sanitizer", "compute-sanitizer on `tools/gpu_check.py --quick`", ["tool", "errors", "exit"], rows,
              "racecheck looks at shared-memory hazards; the kernels use none (warp shuffles only).")


# ----------------------------------------------------------------------------------------------- 5. bench
def timeit(fn: Callable[[], Any], repeats: int = 10) -> float:
    """Median seconds per call (CUDA events on a GPU; in the dry run 3 calls, it only exercises the code)."""
    repeats = repeats if GPU else min(repeats, 3)
    fn()
    if GPU:
        torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        if GPU:
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b) / 1e3)
        else:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def peak_mb(fn: Callable[[], Any]) -> Optional[float]:
    if not GPU:
        return None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    out = fn()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - base
    del out
    return peak / 2**20


def pyg() -> Any:
    try:
        import torch_geometric  # noqa: F401

        return torch_geometric
    except Exception:  # noqa: BLE001
        return None


def step_bench(rep: Report, budget: float) -> None:
    t_end = time.time() + budget
    for name, fn in [("spmm", bench_spmm), ("gat", bench_gat), ("uva", bench_uva), ("sage", bench_sage)]:
        left = t_end - time.time()
        if left < 10:
            rep.note(f"- bench {name}: skipped, the time budget is spent")
            continue
        try:
            fn(rep)
        except Exception as exc:  # noqa: BLE001
            rep.check(f"bench {name} ran", False, f"{type(exc).__name__}: {str(exc)[:300]}")
            traceback.print_exc()
        finally:
            if GPU:
                torch.cuda.empty_cache()


def d2d_bandwidth() -> float:
    n = (1 << 30) // 4 if GPU else (1 << 24)
    src = torch.empty(n, device="cuda" if GPU else "cpu")
    dst = torch.empty_like(src)
    t = timeit(lambda: dst.copy_(src))
    return 2 * n * 4 / t / 1e9


def bench_spmm(rep: Report) -> None:
    from graphkit import Graph, ops

    dev = torch.device("cuda" if GPU else "cpu")
    N, E = (1_000_000, 10_000_000) if GPU else (2_000, 20_000)
    gen = torch.Generator().manual_seed(0)
    ei = torch.randint(0, N, (2, E), generator=gen).to(dev)
    g = Graph(edge_index=ei, num_nodes=N)
    rowptr, col, _ = g.csr()
    g.csr_t()
    deg = (rowptr[1:] - rowptr[:-1]).float()
    vals_sum = torch.ones(E, device=dev)
    vals_mean = (1.0 / deg.clamp(min=1)).repeat_interleave((rowptr[1:] - rowptr[:-1]).long(), output_size=E)
    A = torch.sparse_csr_tensor(rowptr, col, vals_sum, (N, N))
    A_mean = torch.sparse_csr_tensor(rowptr, col, vals_mean, (N, N))
    bw = d2d_bandwidth()
    geo = pyg()
    rows = []
    for F in (64, 256):
        x = torch.randn(N, F, device=dev)
        src, dst = ei[0], ei[1]
        for reduce in ("sum", "mean", "max"):
            t_gk = timeit(lambda: ops.spmm(g, x, reduce=reduce))
            t_sp = None
            try:
                if reduce in ("sum", "mean"):
                    M = A if reduce == "sum" else A_mean
                    t_sp = timeit(lambda: M @ x)
            except Exception:  # noqa: BLE001
                t_sp = None
            t_pyg = None
            if geo is not None:
                from torch_geometric.utils import scatter as pyg_scatter

                t_pyg = timeit(lambda: pyg_scatter(x.index_select(0, src), dst, 0, N, reduce=reduce))
            nbytes = (N + 1) * 8 + E * 8 + E * F * 4 + N * F * 4
            gbs = nbytes / t_gk / 1e9
            rows.append([F, reduce, f"{t_gk * 1e3:.2f}", f"{t_sp * 1e3:.2f}" if t_sp else "n/a",
                         f"{t_pyg * 1e3:.2f}" if t_pyg else "n/a", f"{t_sp / t_gk:.2f}x" if t_sp else "-",
                         f"{t_pyg / t_gk:.2f}x" if t_pyg else "-", f"{gbs:.1f}", f"{gbs / bw:.0%}"])
        del x
    # a power-law hub: one row with 1% of the edges
    ei_h = ei.clone()
    ei_h[1, : E // 100] = 0
    gh = Graph(edge_index=ei_h, num_nodes=N)
    gh.csr()
    x = torch.randn(N, 64, device=dev)
    t_h = timeit(lambda: ops.spmm(gh, x))
    rep.table("spmm", f"SpMM, {N:,} nodes, {E:,} random edges, float32 (ms, median)",
              ["F", "reduce", "graphkit", "torch.sparse CSR", "PyG scatter", "vs torch.sparse", "vs PyG",
               "graphkit GB/s", "of copy BW"], rows,
              f"Device-to-device copy bandwidth (read+write): {bw:.1f} GB/s. GB/s counts rowptr + col (int64) + "
              f"one gathered x row per edge + the output (no cache reuse assumed). torch.sparse has no max. "
              f"PyG = `torch_geometric.utils.scatter(x[src], dst)`, its MessagePassing path. "
              f"With a hub of {E // 100:,} in-edges (sum, F=64): {t_h * 1e3:.2f} ms. "
              f"Targets: sum F=64 >= 1.5x torch.sparse and >= 3x PyG.")


def bench_gat(rep: Report) -> None:
    from graphkit.nn.attention import GATConv

    dev = torch.device("cuda" if GPU else "cpu")
    N, E = (200_000, 2_000_000) if GPU else (2_000, 20_000)
    gen = torch.Generator().manual_seed(0)
    ei = torch.randint(0, N, (2, E), generator=gen).to(dev)
    x = torch.randn(N, 64, device=dev)
    impls: Dict[str, Any] = {"graphkit": GATConv(64, 8, heads=8).to(dev)}
    geo = pyg()
    if geo is not None:
        from torch_geometric.nn import GATConv as PyGGAT

        impls["PyG"] = PyGGAT(64, 8, heads=8).to(dev)
    rows = []
    for name, conv in impls.items():
        def step(conv=conv):
            conv.zero_grad(set_to_none=True)
            out = conv(x, ei)
            out.square().sum().backward()
            return None
        t = timeit(step, repeats=5)
        mem = peak_mb(step)
        rows.append([name, f"{t * 1e3:.1f}", f"{mem:.0f}" if mem is not None else "n/a"])
    if len(rows) == 2 and GPU:
        rows.append(["PyG / graphkit", f"{float(rows[1][1]) / float(rows[0][1]):.2f}x",
                     f"{float(rows[1][2]) / max(float(rows[0][2]), 1e-9):.2f}x"])
    rep.table("gat", f"GATConv 8 heads x 8, in 64, {N:,} nodes, {E:,} edges: forward + backward",
              ["impl", "ms", "peak MiB"], rows, "Target: >= 4x less peak GPU memory than PyG.")


def bench_uva(rep: Report) -> None:
    from graphkit.loader.feature_store import FeatureStore

    if not GPU:
        rep.note("- bench uva: n/a in the dry run (UVA needs a GPU and pinned memory)")
        return
    N, F, n = 2_000_000, 128, 200_000
    data = torch.randn(N, F)
    fs = FeatureStore(data, pin=True)  # pinned in place
    idx = torch.randint(0, N, (n,))
    t_uva = timeit(lambda: fs.gather_cuda(idx))
    t_base = timeit(lambda: data[idx].to("cuda", non_blocking=True))
    slot = torch.empty(n, F).pin_memory()
    t_pin = timeit(lambda: torch.index_select(data, 0, idx, out=slot).to("cuda", non_blocking=True))
    big = torch.empty(n, F).pin_memory()
    t_h2d = timeit(lambda: big.to("cuda", non_blocking=True))
    nbytes = n * F * 4
    rows = [["UVA gather (gather_cuda)", f"{t_uva * 1e3:.2f}", f"{nbytes / t_uva / 1e9:.1f}"],
            ['x[idx].to("cuda", non_blocking=True)', f"{t_base * 1e3:.2f}", f"{nbytes / t_base / 1e9:.1f}"],
            ["CPU gather into pinned + H2D", f"{t_pin * 1e3:.2f}", f"{nbytes / t_pin / 1e9:.1f}"],
            ["pinned H2D copy alone (bandwidth)", f"{t_h2d * 1e3:.2f}", f"{nbytes / t_h2d / 1e9:.1f}"]]
    rep.table("uva", f"Feature gather, {n:,} random rows of {F} float32 from a {N:,}-row pinned store",
              ["path", "ms", "GB/s"], rows,
              f"UVA saves {1 - t_uva / t_base:.0%} of the transfer time of x[idx].to(cuda) "
              f"(target >= 47%, PyTorch-Direct's figure).")


def bench_sage(rep: Report) -> None:
    from graphkit import Graph
    from graphkit.loader import NeighborLoader
    from graphkit.nn.models import GraphSAGE

    dev = torch.device("cuda" if GPU else "cpu")
    N, E, F, C = (500_000, 5_000_000, 128, 47) if GPU else (3_000, 30_000, 16, 5)
    seeds = N // 10
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(N, F, generator=gen)
    y = torch.randint(0, C, (N,), generator=gen)
    ei = torch.randint(0, N, (2, E), generator=gen)
    train = torch.arange(seeds)
    rows = []

    def epoch(loader: Any, model: Any, opt: Any, get: Callable[[Any], Any]) -> float:
        t0 = time.perf_counter()
        n = 0
        for batch in loader:
            xb, eib, yb, bs = get(batch)
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb, eib)[:bs], yb[:bs])
            loss.backward()
            opt.step()
            n += 1
        if GPU:
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    g = Graph(x=x, y=y, edge_index=ei)
    model = GraphSAGE(F, 256, 2, C).to(dev)
    opt = torch.optim.Adam(model.parameters())
    loader = NeighborLoader(g, [10, 5], input_nodes=train, batch_size=1024, shuffle=True, seed=0, prefetch=2,
                            device=dev)
    get = (lambda b: (b.x, b, b.y, b.batch_size))
    epoch(loader, model, opt, get)  # warm-up (pins the store, builds caches)
    label = "graphkit (UVA feature gather, prefetch 2)" if GPU else "graphkit (CPU dry run, prefetch 2)"
    rows.append([label, f"{epoch(loader, model, opt, get):.2f}"])
    geo = pyg()
    if geo is not None:
        from torch_geometric.nn import GraphSAGE as PyGSAGE

        pmodel = PyGSAGE(F, 256, 2, C).to(dev)
        popt = torch.optim.Adam(pmodel.parameters())
        pget = (lambda b: (lambda b: (b.x, b.edge_index, b.y, b.batch_size))(b.to(dev, non_blocking=True)))
        try:
            from torch_geometric.data import Data
            from torch_geometric.loader import NeighborLoader as PyGLoader

            data = Data(x=x, y=y, edge_index=ei)
            ploader = PyGLoader(data, [10, 5], input_nodes=train, batch_size=1024, shuffle=True)
            epoch(ploader, pmodel, popt, pget)
            rows.append(["PyG NeighborLoader + GraphSAGE", f"{epoch(ploader, pmodel, popt, pget):.2f}"])
        except Exception as exc:  # noqa: BLE001  (PyG's sampler needs pyg-lib or torch-sparse)
            rows.append(["PyG NeighborLoader + GraphSAGE", f"n/a ({type(exc).__name__}: {str(exc)[:80]})"])
            # the same model and transfer habit with graphkit's sampler: x[n_id] gathered on the CPU and copied
            cpu_loader = NeighborLoader(g, [10, 5], input_nodes=train, batch_size=1024, shuffle=True, seed=0,
                                        prefetch=2, ring=0)

            def cget(b: Any) -> Any:
                xb = b.x.to(dev, non_blocking=True)  # gathered on the CPU by the loader (x[n_id])
                return xb, b.edge_index.to(dev, non_blocking=True), b.y.to(dev, non_blocking=True), b.batch_size

            epoch(cpu_loader, pmodel, popt, cget)
            rows.append(["PyG GraphSAGE, graphkit sampler, x[n_id] on the CPU then .to(cuda)",
                         f"{epoch(cpu_loader, pmodel, popt, cget):.2f}"])
    rep.table("sage", f"GraphSAGE mini-batch epoch: {N:,} nodes, {E:,} edges, F={F}, fan-out [10, 5], "
              f"{seeds:,} seeds in batches of 1024", ["pipeline", "epoch s"], rows)


# -------------------------------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only a small op grid (for compute-sanitizer)")
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--steps", default="build,pytest,train,ops,sanitizer,bench")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rep = Report(out_dir(args.out))
    if args.quick:
        step_ops(rep, quick=True)
        rep.write()
        print(f"gpu-check: quick op grid, {MODE}, {rep.failed} failed")
        return rep.failed
    budget = float(os.environ.get("GPU_CHECK_BUDGET_S", "450"))
    start = time.time()
    # each step: at most `cap` seconds, and never so long that the later steps lose their minimum
    caps = {"build": 240, "pytest": 150, "train": 100, "ops": 90, "sanitizer": 150, "bench": 150}
    mins = {"build": 60, "pytest": 45, "train": 40, "ops": 30, "sanitizer": 40, "bench": 60}
    steps = [s for s in args.steps.split(",") if s and not (s == "build" and args.skip_build)]
    for i, step in enumerate(steps):
        left = budget - (time.time() - start)
        reserve = sum(mins.get(s, 30) for s in steps[i + 1:])
        share = max(mins.get(step, 30), min(caps.get(step, 120), left - reserve))
        rep.note(f"\n## {step} (budget {share:.0f} s, {left:.0f} s left)")
        t0 = time.time()
        try:
            if step == "build":
                step_build(rep, share)
            elif step == "pytest":
                step_pytest(rep, share)
            elif step == "train":
                step_train(rep, share)
            elif step == "ops":
                step_ops(rep, quick=False, budget=share)
            elif step == "sanitizer":
                step_sanitizer(rep, share)
            elif step == "bench":
                step_bench(rep, share)
        except Exception as exc:  # noqa: BLE001  (one broken step must not hide the others' results)
            rep.check(f"step {step} ran", False, f"{type(exc).__name__}: {str(exc)[:300]}")
            traceback.print_exc()
        rep.note(f"({step}: {time.time() - t0:.0f} s)")
        rep.write()
    took = time.time() - start
    print(f"results: {rep.out / 'results.md'}")
    if GPU:
        print(f"gpu-check: GPU run on {torch.cuda.get_device_name(0)}, {rep.failed} failed checks, {took:.0f} s")
        return 1 if rep.failed else 0
    print(f"gpu-check: dry-run on the CPU (no GPU), {rep.failed} failed checks, {took:.0f} s; the GPU run is pending")
    return 0


if __name__ == "__main__":
    sys.exit(main())
