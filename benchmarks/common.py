"""Shared benchmark helpers: timing (medians), peak memory, copy bandwidth, machine notes, RESULTS.md sections."""
from __future__ import annotations

import datetime
import gc
import math
import os
import platform
import re
import statistics
import threading
import time
from typing import Callable, Dict, List, Optional

import torch

__all__ = [
    "time_fn", "interleaved_medians", "peak_memory_mb", "copy_bandwidth_gbs", "machine_line", "write_section", "fmt_ms",
]


def _sync(device: Optional[torch.device] = None) -> None:
    if torch.cuda.is_available() and (device is None or device.type == "cuda"):
        torch.cuda.synchronize()


def time_fn(fn: Callable[[], object], repeats: int = 5, warmup: int = 1, max_seconds: float = 30.0) -> float:
    """Median wall time of ``fn()`` in seconds (after ``warmup`` calls; stops early past ``max_seconds``)."""
    for _ in range(warmup):
        fn()
    _sync()
    times: List[float] = []
    start = time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > max_seconds and len(times) >= 2:
            break
    return statistics.median(times)


def interleaved_medians(
    calls: Dict[str, Callable[[], object]],
    rounds: int,
    warmup: bool = True,
    budget_each: float = math.inf,
    budget_total: float = math.inf,
) -> Dict[str, float]:
    """Median wall time of each call, in seconds, timed in interleaved rounds: each round runs every call once.

    On a machine shared with other jobs the load drifts over seconds; timing one implementation after another
    would hand that drift to whichever ran in the bad moment, while interleaved every one sees the same
    conditions. A call stops adding rounds once its own times pass ``budget_each`` seconds (a slow peer), and all
    stop after a round that ends past ``budget_total`` seconds (at least two rounds run).
    """
    if warmup:
        for fn in calls.values():
            fn()
        _sync()
    times: Dict[str, List[float]] = {name: [] for name in calls}
    start = time.perf_counter()
    for r in range(rounds):
        for name, fn in calls.items():
            if sum(times[name]) <= budget_each:
                times[name].append(time_fn(fn, repeats=1, warmup=0))
        if r >= 1 and time.perf_counter() - start > budget_total:
            break
    return {name: statistics.median(t) for name, t in times.items()}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_memory_mb(fn: Callable[[], object], interval: float = 0.0005) -> float:
    """Peak memory ``fn()`` adds while it runs, in MiB: CUDA's allocator peak on a GPU, else sampled RSS.

    The RSS sampler polls every ``interval`` seconds from a thread; the result of ``fn`` is held until the
    end so that its output counts. Coarse (allocator caching, page reuse) but comparable between peers.
    """
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        out = fn()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
        del out
        return peak / 2**20
    base = _rss_bytes()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(interval)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out = fn()
    peak[0] = max(peak[0], _rss_bytes())
    done.set()
    t.join()
    del out
    return max(0, peak[0] - base) / 2**20


def copy_bandwidth_gbs(nbytes: int, repeats: int = 5) -> float:
    """Memory bandwidth of ``dst.copy_(src)`` on ``nbytes``, counting read plus write, in GB/s."""
    src = torch.rand(nbytes // 4)
    dst = torch.empty_like(src)
    t = time_fn(lambda: dst.copy_(src), repeats=repeats)
    return 2 * src.numel() * 4 / t / 1e9


def machine_line() -> str:
    load = os.getloadavg()
    return (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (torch threads {torch.get_num_threads()}), "
        f"torch {torch.__version__}, {datetime.date.today().isoformat()}, load average at start "
        f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}. The cores are shared with other jobs: compare ratios "
        "within one table, not absolute numbers."
    )


def fmt_ms(seconds: Optional[float]) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.1f}"


def write_section(path: str, name: str, body: str) -> None:
    """Replace (or append) the block between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``path``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n\n{end}"
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def step_peak_rss_mb(step: Callable[[], object]) -> float:
    """Peak extra resident memory of one ``step()``, in MiB, from the kernel's high-water mark (``VmHWM``, reset
    through ``/proc/self/clear_refs``): exact where sampling can miss a short peak. Meant for a fresh process run
    with a low ``MALLOC_MMAP_THRESHOLD_``, so that memory freed earlier does not hide the step's own peak."""
    def vm() -> Dict[str, int]:
        with open("/proc/self/status") as fh:
            return {ln.split(":")[0]: int(ln.split()[1]) for ln in fh if ln.startswith(("VmRSS:", "VmHWM:"))}

    gc.collect()
    base = vm()["VmRSS"]
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    step()
    return max(0, vm()["VmHWM"] - base) / 1024
