"""``transform=`` and ``pre_transform=`` on every data set, with PyG's semantics: the transform runs on every
access and is never stored, the pre-transform runs once per graph; both checked against PyG's TUDataset."""
from __future__ import annotations

import inspect
import shutil
from pathlib import Path
from typing import Any, List

import pytest
import torch

from graphkit import Graph
from graphkit import datasets as gds
from graphkit.datasets import TUDataset, load_ogb
from graphkit.datasets.base import GraphDataset
from graphkit.testing import require_peer
from graphkit.testing.ogb_fixtures import copy_fixtures
from graphkit.transforms import OneHotDegree, ToUndirected

FIX = Path(__file__).resolve().parents[2] / "datasets" / "fixtures" / "standard"


class Counting:
    """A transform that counts its calls and tags each graph with the call number (so reuse is visible)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, g: Graph) -> Graph:
        self.calls += 1
        out = g.clone()
        out.set("tag", torch.tensor([self.calls]), "graph")
        return out


def _subclasses(cls: type) -> List[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub] + _subclasses(sub)
    return out


def test_every_data_set_class_takes_transform_and_pre_transform() -> None:
    import graphkit.datasets.digits  # noqa: F401  (the classes register as GraphDataset subclasses on import)
    import graphkit.datasets.fashion_mnist  # noqa: F401

    classes = [c for c in _subclasses(GraphDataset) if c.__module__.startswith("graphkit.")]
    names = {c.__name__ for c in classes}
    assert {"Planetoid", "TUDataset", "ZINC", "QM9", "Digits", "FashionMNIST", "MeshShapes", "PointCloudShapes",
            "FreeSolv", "B3DB"} <= names, names
    for cls in classes:
        if "images" in inspect.signature(cls.__init__).parameters:
            continue  # ImageGraphDataset: the base its data sets pass both on to
        params = inspect.signature(cls.__init__).parameters
        assert "transform" in params and "pre_transform" in params, cls.__name__
    assert "transform" in inspect.signature(load_ogb).parameters
    assert "pre_transform" in inspect.signature(load_ogb).parameters


def _tu(tmp_path: Path, **kw: Any) -> TUDataset:
    if not (tmp_path / "B3DB").exists():
        shutil.copytree(FIX / "B3DB", tmp_path / "B3DB")
    return TUDataset(str(tmp_path), "B3DB", download=False, **kw)


def test_transform_runs_on_every_access_and_pre_transform_once_per_graph(tmp_path: Path) -> None:
    t, pre = Counting(), Counting()
    ds = _tu(tmp_path, transform=t, pre_transform=pre)
    n = len(ds)
    first, again = ds[2], ds[2]
    assert pre.calls == n  # every graph, once, at the first access
    assert t.calls == 2 and int(first.tag) == 1 and int(again.tag) == 2  # a fresh transform per access
    batches = list(ds.loader("train", batch_size=4, shuffle=False))
    assert pre.calls == n and t.calls == 2 + len(ds.split["train"])  # the loader's items go through ds[i]
    assert sum(b.num_graphs for b in batches) == len(ds.split["train"])
    plain = _tu(tmp_path)[2]  # the processed cache holds the untransformed graphs
    assert "tag" not in plain.keys()


def test_bad_transform_is_a_type_error_naming_the_argument(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="pre_transform must be a callable Graph -> Graph"):
        _tu(tmp_path, pre_transform="ToUndirected")
    with pytest.raises(TypeError, match="transform must be a callable"):
        gds.Planetoid(str(tmp_path), "Cora", transform=3, download=False)


def test_tudataset_transforms_match_pyg(tmp_path: Path) -> None:
    """The same transform pair on both libraries' TUDataset gives the same graphs."""
    pyg = require_peer("torch_geometric")
    import torch_geometric.transforms as PT

    ours = _tu(tmp_path / "ours", transform=OneHotDegree(4), pre_transform=ToUndirected())
    shutil.copytree(FIX / "B3DB", tmp_path / "pyg" / "B3DB")
    theirs = pyg.datasets.TUDataset(str(tmp_path / "pyg"), "B3DB", transform=PT.OneHotDegree(4),
                                    pre_transform=PT.ToUndirected(), force_reload=True)
    assert len(ours) == len(theirs)
    for i in range(len(ours)):
        a, b = ours[i], theirs[i]
        assert torch.equal(a.edge_index, b.edge_index), i
        torch.testing.assert_close(a.x, b.x, rtol=0, atol=0)


def test_load_ogb_transform_on_access_pre_transform_on_load(tmp_path: Path) -> None:
    fixtures = copy_fixtures(tmp_path / "fx")
    t, pre = Counting(), Counting()
    ds = load_ogb(fixtures / "ogbn_drosophila", transform=t, pre_transform=pre)
    assert pre.calls == 1 and int(ds.graph.tag) == 1 and len(ds) == 1
    g = ds[0]
    assert t.calls == 1 and int(g.tag) == 1 and int(ds.graph.tag) == 1  # ds.graph stays as stored
    graphs = load_ogb(fixtures / "ogbg_freesolv", transform=ToUndirected())
    assert len(graphs) == len(graphs.graphs) and graphs[3].num_edges >= graphs.graphs[3].num_edges
    with pytest.raises(IndexError, match="out of range"):
        graphs[len(graphs)]
