"""The GPU feature path: UVA gather (all three lane widths, bounds, sliced pinned storage), in-place pinning,
and the loader's stream safety (batches dropped while kernels still read them)."""
from __future__ import annotations

import time

import pytest
import torch

from graphkit import Graph
from graphkit.loader import NeighborLoader
from graphkit.loader.feature_store import FeatureStore, RingBuffer, guard_host_buffers
from graphkit.loader.prefetch import Prefetcher

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("dtype,width", [(torch.float32, 1), (torch.float32, 37), (torch.float32, 128),
                                         (torch.float16, 3), (torch.float16, 64), (torch.uint8, 5),
                                         (torch.float64, 7), (torch.bfloat16, 100)])
def test_gather_cuda_paths(dev, dtype, width):
    data = (torch.randn(5000, width) * 100).to(dtype)
    fs = FeatureStore(data, pin=True)
    idx = torch.randint(0, 5000, (3000,))
    assert torch.equal(fs.gather_cuda(idx).cpu(), data[idx])
    assert torch.equal(fs.gather_cuda(idx.to(dev)).cpu(), data[idx])  # a CUDA index: checked in the kernel


def test_gather_cuda_sliced_pinned_storage(dev):
    base = torch.randn(1001, 33).pin_memory()
    fs = FeatureStore(base[1:], pin=True)
    idx = torch.randint(0, 1000, (500,))
    assert torch.equal(fs.gather_cuda(idx).cpu(), base[1:][idx])


def test_pin_in_place_makes_no_copy(dev):
    data = torch.randn(3001, 17)
    fs = FeatureStore(data, pin=True)
    assert fs.data.data_ptr() == data.data_ptr() and fs.data.is_pinned()
    idx = torch.randint(0, 3001, (100,))
    assert torch.equal(fs.gather_cuda(idx).cpu(), data[idx])


def test_gather_cuda_bounds(dev):
    fs = FeatureStore(torch.randn(100, 8), pin=True)
    with pytest.raises(ValueError, match=r"index\[1\] is 100 but the store has 100 rows"):
        fs.gather_cuda(torch.tensor([0, 100]))
    with pytest.raises(ValueError, match="index has index 100"):
        fs.gather_cuda(torch.tensor([0, 100], device=dev))
    assert float(torch.ones(2, device=dev).sum()) == 2.0


def test_gather_rows_uva_direct_call_checks_everything(dev):
    """C3: an unsorted index with a bad entry in the middle, and a bad pos, raise before any host byte is read."""
    src = torch.randn(50, 4).pin_memory()
    out = torch.empty(3, 4, device=dev)
    op = torch.ops.graphkit.gather_rows_uva
    s = torch.cuda.current_stream().cuda_stream
    with pytest.raises(ValueError, match="index has index 1000"):
        op(src, torch.tensor([3, 1000, 1], device=dev), torch.tensor([0, 1, 2], device=dev), out, s)
    with pytest.raises(ValueError, match="pos has index 7"):
        op(src, torch.tensor([3, 1, 2], device=dev), torch.tensor([0, 7, 2], device=dev), out, s)
    # strided index and pos are read correctly
    idx = torch.tensor([[3, 0], [1, 0], [2, 0]], device=dev)[:, 0]
    op(src, idx, torch.tensor([2, 1, 0], device=dev), out, s)
    assert torch.equal(out.cpu(), src[[2, 1, 3]])


def test_gather_cuda_result_survives_reuse(dev):
    """R2: the caller's copy of batch 1 is intact although the side stream reallocates after it is dropped."""
    data = torch.arange(4096 * 256, dtype=torch.float32).view(4096, 256)
    fs = FeatureStore(data, pin=True)
    side = torch.cuda.Stream()
    out1 = fs.gather_cuda(torch.arange(0, 2048), side)
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda._sleep(500_000_000)  # the caller's stream is busy
    res = out1.clone()  # queued behind the sleep
    del out1
    fs.gather_cuda(torch.arange(2048, 4096), side)
    torch.cuda.synchronize()
    assert torch.equal(res.cpu(), data[:2048])


def test_gather_cuda_waits_for_the_callers_index(dev):
    """R2: an index still being written on the caller's stream is read only once it is ready."""
    fs = FeatureStore(torch.arange(1000.0).view(1000, 1), pin=True)
    idx = torch.zeros(500, dtype=torch.long, device=dev)
    torch.cuda._sleep(300_000_000)
    idx.copy_(torch.arange(500, device=dev))  # queued behind the sleep on the caller's stream
    side = torch.cuda.Stream()
    out = fs.gather_cuda(idx, side)
    torch.cuda.current_stream().wait_stream(side)
    assert torch.equal(out.view(-1).cpu(), torch.arange(500.0))


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_prefetcher_dropped_batches_stay_intact(dev, depth):
    """R1: the consumer lags (sleeps on its stream); every batch it drops must not be reused by the side stream
    before the consumer's queued kernels have read it."""
    n = 1 << 16
    batches = (Graph(x=torch.full((n, 64), float(i)).pin_memory(), num_nodes=n) for i in range(12))
    sums = []
    for i, b in enumerate(Prefetcher(batches, depth=depth, device=dev)):
        torch.cuda._sleep(100_000_000)
        sums.append((i, b.x.sum()))  # queued behind the sleep; b is dropped right after
        del b
    torch.cuda.synchronize()
    assert [float(s) for _, s in sums] == [float(i * n * 64) for i, _ in sums]


def test_ring_slot_waits_for_its_copy(dev):
    """R3: a ring slot is not handed out again while the asynchronous copy that reads it is still queued."""
    ring = RingBuffer(1 << 14, torch.float32, depth=1, pin=True)
    slot = ring.next(64)
    slot.fill_(1.0)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        torch.cuda._sleep(500_000_000)
        dst = slot.to(dev, non_blocking=True)
        event = torch.cuda.Event()
        event.record(stream)
    guard_host_buffers([slot], event)
    again = ring.next(64)  # blocks until the copy is done
    again.fill_(2.0)
    torch.cuda.synchronize()
    assert float(dst.min()) == 1.0


@pytest.mark.parametrize("prefetch", [0, 1, 3])
def test_neighbor_loader_gathers_by_uva(dev, prefetch):
    """S2: with device='cuda' the loader's x comes from the UVA kernel, equal to the CPU gather."""
    gen = torch.Generator().manual_seed(0)
    g = Graph(x=torch.randn(2000, 24, generator=gen), edge_index=torch.randint(0, 2000, (2, 20000), generator=gen))
    cpu_batches = [b.x.clone() for b in NeighborLoader(g, [5, 5], batch_size=128, seed=3, prefetch=0)]
    loader = NeighborLoader(g, [5, 5], batch_size=128, seed=3, prefetch=prefetch, device=dev)
    assert loader.sampler.features.data.is_pinned()
    got = []
    for b in loader:
        assert b.x.is_cuda and b.csr()[0].is_cuda
        torch.cuda._sleep(20_000_000)  # the consumer lags; batches are dropped while kernels read them
        got.append(b.x * 1)
    torch.cuda.synchronize()
    assert len(got) == len(cpu_batches)
    for a, b in zip(got, cpu_batches):
        assert torch.equal(a.cpu(), b)


def test_gather_cuda_overlaps_with_compute(dev):
    """The UVA gather on a side stream does not wait for a busy default stream."""
    fs = FeatureStore(torch.randn(10000, 64), pin=True)
    idx = torch.randint(0, 10000, (4096,))
    side = torch.cuda.Stream()
    fs.gather_cuda(idx, side)
    torch.cuda.synchronize()
    with torch.cuda.stream(side):
        pass
    torch.cuda._sleep(1_000_000_000)  # ~0.5-1 s on the default stream, queued before the gather
    t0 = time.time()
    with torch.cuda.stream(side):
        out = fs.gather_cuda(idx)  # caller == side: no wait on the default stream
        side.synchronize()
    assert time.time() - t0 < 0.4 and out.shape == (4096, 64)
    torch.cuda.synchronize()
