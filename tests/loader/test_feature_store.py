"""FeatureStore (host, memory-mapped), RingBuffer, partitioning and the partitioned store."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from graphkit import Graph
from graphkit.loader import FeatureStore, PartitionedFeatureStore, RingBuffer, partition_graph, write_npy
from graphkit.ops import ext_available
from graphkit.testing import assert_raises_in_subprocess


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.float16])
def test_gather_matches_indexing(dtype: torch.dtype) -> None:
    data = (torch.randn(1000, 37) * 100).to(dtype)
    fs = FeatureStore(data)
    idx = torch.randint(0, 1000, (5000,))
    assert torch.equal(fs.gather(idx), data[idx])
    out = torch.empty(5000, 37, dtype=dtype)
    assert fs.gather(idx, out=out).data_ptr() == out.data_ptr() and torch.equal(out, data[idx])
    assert fs.gather(torch.empty(0, dtype=torch.long)).shape == (0, 37)


def test_memory_mapped_store(tmp_path) -> None:
    path = tmp_path / "feat.npy"
    write_npy(path, (5000, 16), np.float32, fill=lambda a, b: np.arange(a, b, dtype=np.float32)[:, None]
              * np.ones(16, np.float32), chunk_rows=999)
    fs = FeatureStore.from_npy(path)
    assert fs.mapped and fs.shape == (5000, 16) and "mmap" in repr(fs)
    idx = torch.tensor([4999, 0, 1234])
    assert fs.gather(idx)[:, 0].tolist() == [4999.0, 0.0, 1234.0]
    fs.data[0] = -1  # copy-on-write: the file is untouched
    assert np.load(path, mmap_mode="r")[0, 0] == 0.0
    with pytest.raises(ValueError, match="does not exist"):
        FeatureStore.from_npy(tmp_path / "missing.npy")


def test_bad_index_errors() -> None:
    fs = FeatureStore(torch.zeros(10, 2))
    with pytest.raises(TypeError, match="index must be an integer tensor"):
        fs.gather(torch.tensor([0.5]))
    with pytest.raises(ValueError, match="must be 2-D"):
        FeatureStore(torch.zeros(2, 2, 2))
    code = (
        "import torch\n"
        + "from graphkit.loader import FeatureStore\n"
        "FeatureStore(torch.zeros(10, 2)).gather(torch.tensor([3, 10]))\n"
    )
    # The C++ gather and the fallback name the same position and value.
    msg = assert_raises_in_subprocess(code, "ValueError", "index[1] is 10")
    assert "10 rows" in msg
    if ext_available():
        assert_raises_in_subprocess(
            "import torch, graphkit._C\n"
            "torch.ops.graphkit.gather_rows(torch.zeros(4, 2), torch.tensor([0]), torch.empty(2, 2))\n",
            "ValueError", "out must have shape [1, 2]")


def test_ring_buffer_reuses_and_grows() -> None:
    ring = RingBuffer(4, torch.float32, depth=2, pin=False)
    a, b = ring.next(10), ring.next(5)
    assert a.shape == (10, 4) and b.shape == (5, 4)
    a_ptr, b_ptr = a.data_ptr(), b.data_ptr()
    del a
    c = ring.next(8)
    assert c.data_ptr() == a_ptr  # slot 0 again, released and big enough: no allocation
    del b
    d = ring.next(50)
    assert d.shape == (50, 4) and d.data_ptr() != b_ptr and ring.replaced == 0


def test_ring_buffer_allocates_only_when_every_slot_is_held() -> None:
    ring = RingBuffer(4, torch.float32, depth=4, pin=False)
    live = [ring.next(8), ring.next(8)]
    ptrs = {t.data_ptr() for t in live}
    for _ in range(8):  # two buffers alive at each request: three slots of the four are ever made
        live = live[1:] + [ring.next(8)]
        ptrs.add(live[-1].data_ptr())
    assert len(ptrs) == 3 and ring.replaced == 0


def test_ring_buffer_never_overwrites_a_kept_slot() -> None:  # k13 at the buffer level
    ring = RingBuffer(3, torch.float32, depth=2, pin=False)
    kept = [ring.next(4).fill_(i) for i in range(6)]
    view = ring.next(4).fill_(6)[:2].view(-1)  # a view of a view still holds the slot
    ring.next(4).fill_(7)
    ring.next(4).fill_(8)
    assert [int(t[0, 0]) for t in kept] == list(range(6)) and view.eq(6).all()
    assert ring.replaced >= 6


def test_gather_into_aliasing_out_raises() -> None:  # k10
    data = torch.arange(8.0).view(8, 1).repeat(1, 64)
    fs = FeatureStore(data.clone(), pin=False)
    idx = torch.tensor([1, 2, 3, 4, 5, 6, 7, 0])
    for out in (fs.data, fs.data[:8], fs.data.view(-1)[: 8 * 64].view(8, 64)):
        with pytest.raises(ValueError, match="out overlaps the store"):
            fs.gather(idx, out=out)
    assert torch.equal(fs.data, data)
    other = torch.empty(8, 64)
    assert torch.equal(fs.gather(idx, out=other), data[idx])


def test_memory_mapped_file_that_shrinks_raises(tmp_path) -> None:  # k12: SIGBUS before
    path = tmp_path / "feat.npy"
    code = f"""
import os, numpy as np, torch
from graphkit.loader import FeatureStore, write_npy
path = {str(path)!r}
write_npy(path, (20_000, 64), np.float32, fill=lambda a, b: np.ones((b - a, 64), np.float32))
fs = FeatureStore.from_npy(path)
assert fs.gather(torch.tensor([19_999]))[0, 0] == 1.0
write_npy(path, (10, 64), np.float32)  # replaced atomically: the map keeps the old file
assert fs.gather(torch.tensor([19_999]))[0, 0] == 1.0
fs = FeatureStore.from_npy(path)
os.truncate(path, 200)  # shrunk in place underneath the map
fs.gather(torch.tensor([9]))
"""
    assert_raises_in_subprocess(code, "ValueError", "shrank to 200 bytes while memory-mapped")


def _two_cliques(n: int = 40) -> Graph:
    half = n // 2
    a = torch.combinations(torch.arange(half)).t()
    b = a + half
    bridge = torch.tensor([[0], [half]])
    ei = torch.cat([a, b, bridge], 1)
    ei = torch.cat([ei, ei.flip(0)], 1)
    return Graph(x=torch.arange(n, dtype=torch.float).view(-1, 1), edge_index=ei)


@pytest.mark.parametrize("method", ["metis", "range"])
def test_partition_and_halo(method: str) -> None:
    g = _two_cliques()
    if method == "metis":
        pytest.importorskip("pymetis")
    part = partition_graph(g, 2, method=method)
    assert part.part.shape == (40,) and set(part.part.tolist()) == {0, 1}
    assert int(part.sizes().sum()) == 40
    if method == "metis":
        assert part.edge_cut(g) == 2  # only the bridge, both directions
    for rank in range(2):
        owned, halo = part.owned(rank), part.halo(g, rank, hops=1)
        # The halo is exactly the out-of-part sources of edges into the part.
        ei = g.edge_index
        into = part.part[ei[1]] == rank
        expected = torch.unique(ei[0, into & (part.part[ei[0]] != rank)])
        assert torch.equal(halo, expected)
        store = PartitionedFeatureStore(FeatureStore(g.x), owned, halo, pin=False)
        ids = torch.cat([owned, halo])
        assert torch.equal(store.gather(ids), g.x[ids]) and store.num_rows == 40
        outside = torch.tensor(sorted(set(range(40)) - set(ids.tolist()))[:1])
        if outside.numel():
            with pytest.raises(ValueError, match=f"node {int(outside)} is neither owned"):
                store.gather(outside)


def test_partition_bad_arguments() -> None:
    g = _two_cliques()
    with pytest.raises(ValueError, match="num_parts must be a positive int, got 0"):
        partition_graph(g, 0)
    with pytest.raises(ValueError, match="method must be"):
        partition_graph(g, 2, method="spectral")
    assert partition_graph(g, 1).part.unique().tolist() == [0]


@pytest.mark.cuda
def test_gather_cuda_matches_indexing() -> None:
    data = torch.randn(10000, 100)
    fs = FeatureStore(data, pin=True)
    idx = torch.randint(0, 10000, (4096,))
    stream = torch.cuda.Stream()
    out = fs.gather_cuda(idx, stream)
    torch.cuda.current_stream().wait_stream(stream)
    assert torch.equal(out.cpu(), data[idx])
    # Rows whose byte width is not a multiple of 128 exercise the aligned-window path.
    odd = FeatureStore(torch.randn(999, 37), pin=True)
    i2 = torch.randint(0, 999, (777,))
    assert torch.equal(odd.gather_cuda(i2).cpu(), odd.data[i2])
