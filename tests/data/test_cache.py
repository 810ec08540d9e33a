from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from graphkit.data.cache import PackedGraphs, ProcessedCache, cached, pack_graphs
from graphkit.data.mesh import mesh_edge_graph
from graphkit.graph import Graph
from graphkit.testing.strategies import assert_graphs_equal


def _build_counter() -> tuple:
    calls = []

    def build() -> tuple:
        calls.append(1)
        return {"a": np.arange(1000, dtype=np.float32), "b": np.ones((3, 2), dtype=np.int64)}, {"classes": ["x"]}

    return calls, build


def _data_file(cache: ProcessedCache, name: str) -> str:
    """The file holding array ``name`` (the store's layout: one .npy per array, named in the manifest)."""
    entry = json.load(open(cache.manifest_path))["arrays"][name]
    return os.path.join(cache.folder, entry["file"])


def test_cache_round_trip_and_reuse(tmp_path) -> None:
    calls, build = _build_counter()
    arrays, meta = cached(tmp_path, "toy", {"n": 1}, build)
    again, meta2 = cached(tmp_path, "toy", {"n": 1}, build)
    assert len(calls) == 1 and meta2 == {"classes": ["x"]}
    np.testing.assert_array_equal(again["a"], arrays["a"])
    cached(tmp_path, "toy", {"n": 2}, build)  # different parameters: rebuilt
    assert len(calls) == 2


@pytest.mark.parametrize("damage", ["truncate", "flip", "manifest", "delete"])
def test_corrupt_cache_is_rebuilt(tmp_path, damage: str) -> None:
    calls, build = _build_counter()
    cached(tmp_path, "toy", {}, build)
    cache = ProcessedCache(tmp_path, "toy", {})
    data_path = _data_file(cache, "a")
    if damage == "truncate":
        with open(data_path, "r+b") as fh:
            fh.truncate(os.path.getsize(data_path) // 2)
    elif damage == "flip":
        with open(data_path, "r+b") as fh:
            fh.seek(300)
            byte = fh.read(1)
            fh.seek(300)
            fh.write(bytes([byte[0] ^ 0xFF]))
    elif damage == "manifest":
        with open(cache.manifest_path, "w") as fh:
            fh.write("{not json")
    else:
        os.remove(data_path)
    assert cache.problem() is not None
    arrays, _ = cached(tmp_path, "toy", {}, build)
    assert len(calls) == 2 and cache.problem() is None
    assert arrays["a"][-1] == 999


def test_no_pickle_anywhere(tmp_path) -> None:
    cache = ProcessedCache(tmp_path, "toy", {})
    with pytest.raises(TypeError, match="pickle"):
        cache.save({"bad": np.array([{"a": 1}], dtype=object)})
    cache.save({"ok": np.zeros(2)})
    manifest = json.load(open(cache.manifest_path))
    assert manifest["arrays"]["ok"]["bytes"] == os.path.getsize(_data_file(cache, "ok"))


def test_packed_graphs_round_trip(tmp_path) -> None:
    tet_v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=torch.float64)
    tet_f = torch.tensor([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])
    graphs = [
        mesh_edge_graph(tet_v, tet_f),
        mesh_edge_graph(tet_v * 2, tet_f),
    ]
    for g in graphs:
        g.set("y", torch.tensor([1.5, 2.5]), "graph")
    arrays, meta = pack_graphs(graphs)
    cache = ProcessedCache(tmp_path, "meshes", {})
    cache.save(arrays, meta)
    loaded, meta2 = cache.load()
    store = PackedGraphs(loaded, meta2)
    assert len(store) == 2
    for a, b in zip(graphs, [store[0], store[-1]]):
        assert_graphs_equal(a, b)
    with pytest.raises(IndexError):
        store[2]
    plain = [Graph(x=torch.randn(3, 2), edge_index=torch.tensor([[0, 1], [1, 2]]), y=torch.tensor(1))]
    out = PackedGraphs(*pack_graphs(plain))[0]
    assert torch.equal(out.x, plain[0].x) and out.y.item() == 1
