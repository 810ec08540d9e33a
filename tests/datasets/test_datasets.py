from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from graphkit.batch import Batch
from graphkit.data.cache import ProcessedCache
from graphkit.datasets import registry
from graphkit.datasets.base import DataNotFoundError, GraphDataset


def _needs(name: str) -> None:
    if not registry.available()[name]["on_disk"]:
        pytest.skip(f"the source of {name!r} is not installed on this machine (see datasets/DATASETS.md)")


def _check_split(ds, n: int) -> None:
    idx = torch.cat([ds.split[k] for k in ("train", "valid", "test")]).sort().values
    assert torch.equal(idx, torch.arange(n)), "splits must partition the data set"
    assert all(len(ds.split[k]) for k in ("train", "valid", "test"))


def _check_loader(ds: GraphDataset) -> Batch:
    batch = next(iter(ds.loader("valid", batch_size=4)))
    assert isinstance(batch, Batch) and batch.num_graphs == min(4, len(ds.split["valid"]))
    batch.validate()
    return batch


def test_registry_lists_everything_and_registers() -> None:
    listed = registry.available()
    for name in ("fashion-mnist", "digits", "pointcloud-shapes", "mesh-shapes", "freesolv", "solubility", "b3db",
                 "movielens-100k"):
        assert name in listed and isinstance(listed[name]["on_disk"], bool) and listed[name]["kind"]
    registry.register("toy-test", lambda root=None, **kw: ("toy", root, kw), "toy", lambda root: False)
    try:
        assert registry.available()["toy-test"]["on_disk"] is False
        assert registry.load("toy-test", root="r", a=1) == ("toy", "r", {"a": 1})
        with pytest.raises(ValueError, match="already registered"):
            registry.register("toy-test", lambda root=None: None, "toy")
    finally:
        registry.unregister("toy-test")
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        registry.load("nope")


def test_digits_and_corrupt_cache_rebuild(tmp_path) -> None:
    _needs("digits")
    from graphkit.datasets.digits import Digits

    ds = Digits(root=tmp_path)
    assert len(ds) == 1797 and ds.num_classes == 10
    _check_split(ds, 1797)
    g = ds[3]
    assert g.num_nodes == 64 and float(g.x.max()) <= 1.0 and int(g.y) == int(ds.labels[3])
    batch = _check_loader(ds)
    assert batch.x.shape == (4 * 64, 1)
    assert torch.equal(ds.batch_of(ds.split["valid"][:4]).x, batch.x)
    cache = ProcessedCache(tmp_path, "digits", {"source": "sklearn"})
    for data_path in cache.folder.glob("*.npy"):  # every array file of the store
        with open(data_path, "r+b") as fh:
            fh.truncate(100)
    again = Digits(root=tmp_path)
    assert cache.problem() is None and torch.equal(again.images, ds.images)
    with pytest.raises(IndexError):
        ds[1797]


def test_fashion_mnist(tmp_path) -> None:
    _needs("fashion-mnist")
    from graphkit.datasets.fashion_mnist import FashionMNIST

    ds = FashionMNIST(root=tmp_path, connectivity=4)
    assert len(ds) == 70000 and len(ds.split["test"]) == 10000 and len(ds.split["valid"]) == 5000
    _check_split(ds, 70000)
    g = ds[0]
    assert g.num_nodes == 784 and g.num_edges == 2 * (28 * 27 * 2)
    assert torch.bincount(ds.labels[ds.split["test"]]).tolist() == [1000] * 10
    _check_loader(ds)


def test_fashion_mnist_missing_source(tmp_path) -> None:
    from graphkit.datasets.fashion_mnist import FashionMNIST, read_idx

    with pytest.raises(DataNotFoundError, match="apt-get install dataset-fashion-mnist"):
        FashionMNIST(root=tmp_path, source=str(tmp_path / "nowhere"))
    bad = tmp_path / "bad-idx"
    bad.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]))
    with pytest.raises(ValueError, match="truncated"):
        read_idx(str(bad))


def test_pointcloud_shapes(tmp_path) -> None:
    _needs("pointcloud-shapes")
    from graphkit.datasets.pointclouds import PointCloudShapes

    ds = PointCloudShapes(root=tmp_path, num_points=64, samples_per_object=2, k=4)
    _check_split(ds, len(ds))
    assert len(set(ds.y.tolist())) == 5
    objs = {k: set(ds.object[v].tolist()) for k, v in ds.split.items()}
    assert not (objs["train"] & objs["test"]) and not (objs["train"] & objs["valid"])
    g = ds[0]
    assert g.pos.shape == (64, 3) and g.num_edges == 64 * 4
    assert float(g.pos.norm(dim=1).max()) <= 1.0 + 1e-5
    _check_loader(ds)
    again = PointCloudShapes(root=tmp_path, num_points=64, samples_per_object=2)
    assert torch.equal(again.pos, ds.pos)


def test_mesh_shapes(tmp_path) -> None:
    _needs("mesh-shapes")
    from graphkit.datasets.meshes import MeshShapes

    ds = MeshShapes(root=tmp_path, max_faces=700, samples_per_object=1)
    _check_split(ds, len(ds))
    g = ds[0]
    assert g.x.shape[1] == 5 and g.gemm.shape == (4, g.num_nodes)
    batch = _check_loader(ds)
    assert batch.gemm.max() < batch.num_nodes


def test_freesolv_and_molecule_readers(tmp_path) -> None:
    _needs("freesolv")
    pytest.importorskip("rdkit")
    from graphkit.datasets.molecules import B3DB, FreeSolv, Solubility

    ds = FreeSolv(root=tmp_path)
    assert len(ds) + ds.num_invalid == 642 and ds.task_type == "regression"
    _check_split(ds, len(ds))
    assert ds[0].y.dtype == torch.float32 and ds[0].x.dtype == torch.long
    _check_loader(ds)
    assert torch.isfinite(ds.targets("test")).all()
    if registry.available()["solubility"]["on_disk"]:
        smiles, values = Solubility.read(Solubility.__new__(Solubility))
        assert len(smiles) == 1282 and np.isfinite(values).all()
    if registry.available()["b3db"]["on_disk"]:
        smiles, labels = B3DB.read(B3DB.__new__(B3DB))
        assert len(smiles) == 7807 and set(labels) == {0, 1}


def test_movielens(tmp_path) -> None:
    _needs("movielens-100k")
    from graphkit.data.recsys import interactions_to_graph
    from graphkit.datasets.movielens import MovieLens100K

    ds = MovieLens100K(root=tmp_path)
    assert (ds.num_users, ds.num_items, len(ds)) == (943, 1682, 100000)
    idx = torch.cat(list(ds.split.values())).sort().values
    assert torch.equal(idx, torch.arange(100000))
    # time split: per user, every test interaction is no earlier than every training one
    tr, te = ds.split["train"], ds.split["test"]
    last_train = torch.zeros(ds.num_users, dtype=torch.long).scatter_reduce(
        0, ds.users[tr], ds.timestamps[tr], "amax")
    assert bool((ds.timestamps[te] >= last_train[ds.users[te]]).all())
    g = ds.train_graph()
    assert g.num_nodes == 943 + 1682 and g.num_edges == 2 * len(tr)
    with pytest.raises(ValueError, match="users has id 943 but num_users is 943"):
        interactions_to_graph(torch.tensor([943]), torch.tensor([0]), ds.num_users, ds.num_items)
    assert int(ds.item_popularity().sum()) == len(tr)
    liked = MovieLens100K(root=tmp_path, min_rating=4)
    assert len(liked) == int((ds.ratings >= 4).sum())


def test_missing_package_message(monkeypatch) -> None:
    from graphkit.datasets.base import package_file

    with pytest.raises(DataNotFoundError, match="pip install nothing-here") as err:
        package_file("graphkit_no_such_package", "x", install="pip install nothing-here")
    assert "\n" not in str(err.value) and "'graphkit_no_such_package' is not installed" in str(err.value)
    assert os.path.exists(package_file("graphkit", "__init__.py", install="-"))
    with pytest.raises(DataNotFoundError, match=r"data/x.csv is missing from the installed 'graphkit'"):
        package_file("graphkit", "data", "x.csv", install="pip install graphkit")
    # the registry's on-disk check and package_file are one test (registry.package_path)
    assert registry.package_path("graphkit", "__init__.py") == package_file("graphkit", "__init__.py", install="-")
    assert registry.package_path("graphkit", "nope.csv") is None
    assert registry.package_path("graphkit_no_such_package", "x") is None
