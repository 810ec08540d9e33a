"""Large CPU outputs (>= 8 MB) come from the kernels' huge-page allocator, which keeps a few freed blocks for
reuse. They must behave like any tensor: correct values when a block is handed out again, no aliasing of a live
output, resizable, saveable, and freed memory returned once the cache bound is passed."""
from __future__ import annotations

import io

import pytest
import torch

import graphkit.testing.reference as ref
from graphkit import Graph, ops


@pytest.fixture(autouse=True)
def needs_ext():
    if not ops.ext_available():
        pytest.skip("graphkit._C is not built")


def _graph(n: int, e: int, seed: int) -> Graph:
    gen = torch.Generator().manual_seed(seed)
    return Graph(edge_index=torch.randint(0, n, (2, e), generator=gen), num_nodes=n)


def test_reused_blocks_hold_fresh_results():
    n, f = 40_000, 64  # 10 MB outputs
    g = _graph(n, 120_000, 0)
    xs = [torch.randn(n, f, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    first = ops.spmm(g, xs[0])
    second = ops.spmm(g, xs[1])  # first is alive: a different block
    assert first.data_ptr() != second.data_ptr()
    kept = second.clone()
    ptr = first.data_ptr()
    del first  # its block goes back to the cache ...
    third = ops.spmm(g, xs[2])  # ... and is handed out again, holding the old values until overwritten
    assert third.data_ptr() == ptr
    torch.testing.assert_close(third, ref.spmm(g.edge_index, xs[2], None, "sum"), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(second, kept, rtol=0, atol=0)
    # mean and max (with its int64 arg tensor) through the same allocator
    for reduce in ("mean", "max"):
        torch.testing.assert_close(ops.spmm(g, xs[0], reduce=reduce), ref.spmm(g.edge_index, xs[0], None, reduce),
                                   rtol=1e-5, atol=1e-4)


def test_large_output_is_an_ordinary_tensor():
    n, f = 40_000, 64
    g = _graph(n, 50_000, 1)
    out = ops.spmm(g, torch.randn(n, f))
    expected = out.clone()
    buf = io.BytesIO()
    torch.save(out, buf)
    buf.seek(0)
    torch.testing.assert_close(torch.load(buf, weights_only=True), expected, rtol=0, atol=0)
    out.resize_(2 * n, f)  # the storage is resizable and keeps its values
    torch.testing.assert_close(out[:n], expected, rtol=0, atol=0)
    out.add_(1.0)
    assert out.is_contiguous() and out.device.type == "cpu"


def test_cache_is_bounded():
    """Many distinct large sizes alive at once, then freed: memory comes back (RSS does not keep them all)."""
    import os

    def rss_mb() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    g = _graph(30_000, 30_000, 2)
    before = rss_mb()
    outs = [ops.spmm(g, torch.zeros(30_000, 96 + 32 * i)) for i in range(24)]  # 24 sizes, ~11-100 MB each
    assert sum(o.numel() * 4 for o in outs) > 1.2 * 2**30
    del outs
    assert rss_mb() - before < 700, "freed outputs beyond the cache bound were not returned"


def test_threads_keep_outputs_apart():
    """Reproducer a01: three threads asking for large outputs while earlier ones are kept alive never alias."""
    import threading

    n, f = 40_000, 64
    g = _graph(n, 100_000, 3)
    xs = [torch.randn(n, f, generator=torch.Generator().manual_seed(10 + i)) for i in range(3)]
    want = {(i, r): ref.spmm(g.edge_index, xs[i], None, r) for i in range(3) for r in ("sum", "max")}
    kept, errors = [], []

    def work(tid: int) -> None:
        for it in range(6):
            i, r = (tid + it) % 3, ("sum", "max")[it % 2]
            out = ops.spmm(g, xs[i], reduce=r)
            if not torch.allclose(out, want[i, r], atol=1e-4):
                errors.append(("mismatch", tid, it))
            if it % 2 == 0:
                kept.append((i, r, out))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors += [("kept output changed", i, r) for i, r, out in kept if not torch.allclose(out, want[i, r], atol=1e-4)]
    assert not errors and len(kept) == 9
