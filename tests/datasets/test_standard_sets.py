"""Planetoid, TUDataset, ZINC and QM9 on raw-format fixtures of real data (``datasets/fixtures/standard``), each
against PyG's own reader of the same files; the allow-list unpickler refuses crafted files; the download path."""
from __future__ import annotations

import io
import os
import pickle
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import graphkit.datasets.planetoid as planetoid_module
from graphkit.datasets import QM9, ZINC, DataNotFoundError, Planetoid, TUDataset, available
from graphkit.datasets.planetoid import PARTS, PLANETOID_URL
from graphkit.datasets.safe_pickle import PLANETOID_TYPES, TORCH_TENSOR_TYPES, UnsafePickleError, load_pickle
from graphkit.datasets.tu import TU_URL
from graphkit.testing.peers import require_peer
from graphkit.transforms import NormalizeFeatures, RadiusGraph

FIX = Path(__file__).resolve().parents[2] / "datasets" / "fixtures" / "standard"


def _copy(tmp_path: Path, name: str) -> str:
    shutil.copytree(FIX / name, tmp_path / name)
    return str(tmp_path)


def test_planetoid_matches_pyg_readers(tmp_path):
    pyg_planetoid = require_peer("torch_geometric.io.planetoid")
    root = _copy(tmp_path, "Drosophila")
    ds = Planetoid(root, "Drosophila", download=False)
    g = ds[0]
    raw = tmp_path / "Drosophila" / "raw"
    x, tx, allx, y, ty, ally, graph, test_index = (pyg_planetoid.read_file(str(raw), "drosophila", p) for p in
                                                   ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index"))
    feats = torch.cat([allx, tx])
    feats[test_index] = feats[test_index.sort()[0]]
    labels = torch.cat([ally, ty]).max(1)[1]
    labels[test_index] = labels[test_index.sort()[0]]
    torch.testing.assert_close(g.x, feats, rtol=0, atol=0)
    assert torch.equal(g.y, labels)
    assert torch.equal(g.edge_index, pyg_planetoid.edge_index_from_dict(graph, num_nodes=labels.numel()))
    assert torch.equal(g.train_mask.nonzero().view(-1), torch.arange(y.size(0)))
    assert torch.equal(g.test_mask.nonzero().view(-1), test_index.sort()[0])
    assert not (g.val_mask & g.test_mask).any() and int(g.val_mask.sum()) == allx.size(0) - y.size(0)
    assert ds.num_classes == 4 and len(ds) == 1
    # transform= on every access; the cached graph itself is unchanged
    normed = Planetoid(root, "Drosophila", transform=NormalizeFeatures(), download=False)[0]
    torch.testing.assert_close(normed.x, NormalizeFeatures()(g).x)
    full = Planetoid(root, "Drosophila", split="full", download=False)[0]
    assert int(full.train_mask.sum()) == 209 - int(g.val_mask.sum()) - int(g.test_mask.sum())


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_malicious_planetoid_file_is_refused(tmp_path, monkeypatch):
    root = _copy(tmp_path, "Drosophila")
    target = tmp_path / "Drosophila" / "raw" / "ind.drosophila.graph"
    target.write_bytes(pickle.dumps({0: [_Boom()]}, protocol=2))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnsafePickleError, match=r"ind\.drosophila\.graph asks for posix\.system"):
        Planetoid(root, "Drosophila", download=False)
    assert not (tmp_path / "PWNED").exists()
    for bad in (pickle.dumps(eval), pickle.dumps(np.load), pickle.dumps(torch.load, protocol=2)):
        with pytest.raises(UnsafePickleError, match="not an allowed type"):
            load_pickle(io.BytesIO(bad), PLANETOID_TYPES)


def test_planetoid_offline_and_unknown_name(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"download=False.*|ind\.cora\.x is missing"):
        Planetoid(str(tmp_path), "Cora", download=False)
    with pytest.raises(DataNotFoundError, match="must be one of"):
        Planetoid(str(tmp_path), "Nope", download=False)


@pytest.mark.parametrize("name,use_attr", [("FREESOLV", True), ("FREESOLV", False), ("B3DB", False)])
def test_tudataset_matches_pyg(tmp_path, name, use_attr):
    PyGTU = require_peer("torch_geometric.datasets").TUDataset
    root = _copy(tmp_path, name)
    ours = TUDataset(root, name, use_node_attr=use_attr, download=False)
    shutil.copytree(FIX / name, tmp_path / "pyg" / name)
    theirs = PyGTU(str(tmp_path / "pyg"), name, use_node_attr=use_attr, force_reload=True)
    assert len(ours) == len(theirs)
    for i in range(len(ours)):
        a, b = ours[i], theirs[i]
        assert torch.equal(a.edge_index, b.edge_index)
        torch.testing.assert_close(a.x, b.x, rtol=0, atol=0)
        if b.edge_attr is not None:
            torch.testing.assert_close(a.edge_attr, b.edge_attr, rtol=0, atol=0)
        torch.testing.assert_close(a.y, b.y, rtol=0, atol=0)
    assert (ours.task_type == "regression") == (name == "FREESOLV")


def test_tudataset_transform_and_offline(tmp_path):
    root = _copy(tmp_path, "B3DB")
    ds = TUDataset(root, "B3DB", transform=NormalizeFeatures(), download=False)
    torch.testing.assert_close(ds[3].x.sum(1), torch.ones(ds[3].num_nodes))
    assert ds.num_classes == 2 and sorted(ds.split) == ["test", "train", "valid"]
    with pytest.raises(DataNotFoundError, match=r"MUTAG\.zip"):
        TUDataset(str(tmp_path), "MUTAG", download=False)


def test_registered(tmp_path):
    names = available(str(tmp_path))
    assert {"cora", "citeseer", "pubmed", "mutag", "proteins", "zinc", "zinc-full", "qm9"} <= set(names)
    assert not names["cora"]["on_disk"]
    _copy(tmp_path, "ZINC")
    assert available(str(tmp_path))["zinc"]["on_disk"]


@pytest.mark.parametrize("subset", [True, False])
def test_zinc_matches_pyg(tmp_path, subset):
    PyGZINC = require_peer("torch_geometric.datasets").ZINC
    root = _copy(tmp_path, "ZINC")
    ours = ZINC(root, subset=subset, transform=None, download=False)
    shutil.copytree(FIX / "ZINC", tmp_path / "pyg" / "ZINC")
    theirs = [g for part in ("train", "val", "test")
              for g in PyGZINC(str(tmp_path / "pyg" / "ZINC"), subset=subset, split=part)]
    assert len(ours) == len(theirs) == (7 if subset else 10)
    assert [len(v) for v in ours.split.values()] == ([3, 2, 2] if subset else [4, 3, 3])
    for a, b in zip(ours, theirs):
        assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
        assert torch.equal(a.edge_attr, b.edge_attr) and torch.equal(a.y, b.y)
    batch = next(iter(ours.loader("test", batch_size=8)))
    assert batch.num_graphs == len(ours.split["test"]) and batch.y.shape == (batch.num_graphs,)


def test_zinc_pickle_cannot_run_code(tmp_path, monkeypatch):
    root = _copy(tmp_path, "ZINC")
    (tmp_path / "ZINC" / "raw" / "val.pickle").write_bytes(pickle.dumps([{"atom_type": _Boom()}]))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnsafePickleError, match=r"val\.pickle asks for posix\.system"):
        ZINC(root, download=False)
    assert not (tmp_path / "PWNED").exists()


def test_tensor_storage_bytes_are_loaded_weights_only(tmp_path, monkeypatch):
    import torch.storage

    buf = io.BytesIO()
    torch.save(_Boom(), buf)  # what a crafted storage inside a ZINC pickle would carry

    class _Storage:
        def __reduce__(self):
            return (torch.storage._load_from_bytes, (buf.getvalue(),))

    monkeypatch.chdir(tmp_path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_pickle(io.BytesIO(pickle.dumps([_Storage()])), TORCH_TENSOR_TYPES)
    assert not (tmp_path / "PWNED").exists()


def test_qm9_matches_pyg(tmp_path):
    pytest.importorskip("rdkit")
    PyGQM9 = require_peer("torch_geometric.datasets").QM9
    root = _copy(tmp_path, "QM9")
    ours = QM9(root, download=False)
    shutil.copytree(FIX / "QM9", tmp_path / "pyg" / "QM9")
    theirs = PyGQM9(str(tmp_path / "pyg" / "QM9"))
    assert len(ours) == len(theirs) == 7  # the 3rd of 8 is listed as uncharacterized
    for a, b in zip(ours, theirs):
        assert torch.equal(a.z, b.z) and torch.equal(a.edge_index, b.edge_index)
        for field in ("x", "pos", "edge_attr", "y"):
            torch.testing.assert_close(getattr(a, field), getattr(b, field), rtol=0, atol=0)
        assert int(a.idx) == int(b.idx)
    radius = QM9(root, transform=RadiusGraph(1.5), download=False)[1]
    assert radius.num_edges > 0 and torch.equal(radius.pos, ours[1].pos)


class _Served:
    """``urllib.request.urlopen`` replaced by files served from memory: the download path runs without network."""

    def __init__(self, files):
        self.files, self.asked = files, []

    def __call__(self, url, timeout=None):
        self.asked.append(url)
        if url not in self.files:
            raise urllib.error.URLError("no network in this test")
        return io.BytesIO(self.files[url])


def test_download_path_parses_the_same(tmp_path, monkeypatch):
    raw = FIX / "Drosophila" / "raw"
    files = {f"{PLANETOID_URL}/ind.drosophila.{p}": (raw / f"ind.drosophila.{p}").read_bytes() for p in PARTS}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # the TU archives hold NAME/NAME_*.txt
        for path in (FIX / "B3DB" / "raw").iterdir():
            zf.write(path, f"B3DB/{path.name}")
    files[f"{TU_URL}/B3DB.zip"] = buf.getvalue()
    served = _Served(files)
    monkeypatch.setattr(urllib.request, "urlopen", served)
    monkeypatch.setitem(planetoid_module.PLANETOID_NAMES, "drosophila", "Drosophila")  # served like Cora
    downloaded = Planetoid(str(tmp_path), "drosophila")[0]
    local = Planetoid(_copy(tmp_path / "local", "Drosophila"), "Drosophila", download=False)[0]
    assert torch.equal(downloaded.x, local.x) and torch.equal(downloaded.edge_index, local.edge_index)
    tu = TUDataset(str(tmp_path), "B3DB")
    ref = TUDataset(_copy(tmp_path / "local", "B3DB"), "B3DB", download=False)
    assert len(tu) == len(ref) and torch.equal(tu[4].edge_index, ref[4].edge_index)
    assert sorted(p.name for p in (tmp_path / "B3DB").iterdir()) == ["processed", "raw"]
    assert not (tmp_path / "B3DB" / "raw" / "B3DB.zip").exists()
    with pytest.raises(DataNotFoundError, match=r"cannot download .*ind\.cora\.x \(no network in this test\); "
                                                r".*save it as .*ind\.cora\.x \(and likewise"):
        Planetoid(str(tmp_path), "Cora")
    assert not any(p.name.startswith(".ind.cora") for p in (tmp_path / "Cora" / "raw").iterdir())


def test_citeseer_isolated_test_nodes_get_zero_rows(tmp_path):
    """CiteSeer's test.index has gaps (isolated nodes without a tx row): they get zero features and no split."""
    src = FIX / "Drosophila" / "raw"
    raw = tmp_path / "CiteSeer" / "raw"
    raw.mkdir(parents=True)
    for p in PARTS:
        shutil.copy(src / f"ind.drosophila.{p}", raw / f"ind.citeseer.{p}")
    test_index = np.loadtxt(src / "ind.drosophila.test.index", dtype=np.int64)
    gone = np.sort(test_index)[[10, 30]]  # two ids inside the range, so the span stays the same
    keep = ~np.isin(test_index, gone)
    tx, ty = (load_pickle(src / f"ind.drosophila.{p}", PLANETOID_TYPES) for p in ("tx", "ty"))
    (raw / "ind.citeseer.tx").write_bytes(pickle.dumps(tx[np.flatnonzero(keep)], protocol=2))
    (raw / "ind.citeseer.ty").write_bytes(pickle.dumps(ty[keep], protocol=2))
    (raw / "ind.citeseer.test.index").write_text("".join(f"{i}\n" for i in test_index[keep]))
    g = Planetoid(str(tmp_path), "CiteSeer", download=False)[0]
    ref = Planetoid(_copy(tmp_path / "ref", "Drosophila"), "Drosophila", download=False)[0]
    others = torch.from_numpy(~np.isin(np.arange(209), gone))
    assert torch.equal(g.x[others], ref.x[others]) and torch.equal(g.y[others], ref.y[others])
    assert not g.x[torch.from_numpy(gone)].any() and not g.test_mask[torch.from_numpy(gone)].any()
    assert int(g.test_mask.sum()) == 58


def test_bad_raw_files_name_the_file(tmp_path):
    root = _copy(tmp_path, "B3DB")
    a = tmp_path / "B3DB" / "raw" / "B3DB_A.txt"
    a.write_text(a.read_text() + "1, 99999\n")
    with pytest.raises(ValueError, match=r"B3DB_A\.txt: every line must be 'row, col' with 1 <= id <= \d+"):
        TUDataset(root, "B3DB", download=False)
    a.write_text("1, x\n")
    with pytest.raises(ValueError, match=r"B3DB_A\.txt: not a comma-separated table of int64"):
        TUDataset(root, "B3DB", download=False)
    root = _copy(tmp_path, "Drosophila")
    index = tmp_path / "Drosophila" / "raw" / "ind.drosophila.test.index"
    index.write_text(index.read_text() + "5\n")
    with pytest.raises(ValueError, match=r"test\.index lists 61 nodes but tx has 60 rows"):
        Planetoid(root, "Drosophila", download=False)
