"""load_ogb on the committed OGB-format fixtures: the code path of a real download, cache, errors."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from graphkit.datasets.fixtures import FIXTURE_NAMES, SOURCE_FIXTURES
from graphkit.datasets.ogb import (OGBDownloadError, is_cached, load_ogb, meta_info, ogb_names, official_evaluator,
                                   register_meta)
from graphkit.io.store import flatten
from graphkit.testing import require_peer
from graphkit.testing.legacy_cache import write_v1_array_cache


def _copy(fixtures: Path, folder: str, root: Path) -> None:
    shutil.copytree(fixtures / folder, root / folder, ignore=shutil.ignore_patterns("processed"))


def _manifest(ds) -> dict:
    return json.loads((ds.path / "processed" / "graphkit" / "manifest.json").read_text())


def test_every_official_name_is_known():
    require_peer("ogb")
    names = ogb_names()
    for name in ("ogbn-arxiv", "ogbn-products", "ogbn-mag", "ogbl-collab", "ogbl-citation2", "ogbl-wikikg2",
                 "ogbg-molhiv", "ogbg-molpcba", "ogbg-ppa", "ogbg-code2"):
        assert name in names
    assert meta_info("ogbn-arxiv")["url"].endswith("arxiv.zip")


def test_node_fixture(fixtures):
    ds = load_ogb("ogbn-drosophila", fixtures)
    g = ds.graph
    assert (g.num_nodes, g.x.shape[1], ds.num_classes, ds.eval_metric) == (209, 32, 4, "acc")
    assert g.y.shape == (209, 1) and int(g.y.max()) == 3
    sizes = {k: v.numel() for k, v in ds.split.items()}
    assert list(sizes) == ["train", "valid", "test"] and sum(sizes.values()) == 209
    assert set(torch.cat(list(ds.split.values())).tolist()) == set(range(209))
    assert type(ds.evaluator).__module__.endswith("nodeproppred_evaluate")
    # the labels are the connectome's real cell types: Kenyon cells (K), the largest class, 101 of 209
    base = Path(require_peer("ogb").__file__).parents[1] / "graspologic" / "datasets" / "drosophila"
    if base.is_dir():
        names = np.loadtxt(base / "left_cell_labels.csv", dtype=str)
        assert int((names == "K").sum()) == int((g.y == 1).sum()) == 101  # classes sorted: I, K, O, P


def test_link_and_graph_fixtures(fixtures):
    link = load_ogb("ogbl-connectome", fixtures)
    assert link.graph.x is None and link.eval_metric == "hits@20"
    assert link.split["valid"]["edge"].shape[1] == 2 and link.split["test"]["edge_neg"].shape == (1000, 2)
    graphs = load_ogb("ogbg-freesolv", fixtures)
    assert len(graphs.graphs) == 642 and graphs.task_type == "regression" and graphs.num_tasks == 1
    g = graphs.graphs[0]
    assert g.x.dtype == torch.int64 and g.x.shape[1] == 9 and g.edge_attr.shape[1] == 3 and g.kind("y") == "graph"
    b3db = load_ogb("ogbg-b3db", fixtures)
    assert len(b3db.graphs) == 600 and b3db.eval_metric == "rocauc"
    res = b3db.evaluator.eval({"y_true": torch.tensor([[0], [1], [1]]), "y_pred": torch.tensor([[0.1], [0.9], [0.3]])})
    assert res == {"rocauc": 1.0}


def test_folder_path_is_loaded_like_a_name(fixtures):
    by_path = load_ogb(str(fixtures / "ogbn_drosophila"))
    by_name = load_ogb("ogbn-drosophila", fixtures)
    assert by_path.name == "ogbn-drosophila"
    assert torch.equal(by_path.graph.edge_index, by_name.graph.edge_index)


def test_cache_is_pickle_free_and_used(fixtures, tmp_path):
    root = tmp_path / "c"
    _copy(fixtures, "ogbn_drosophila", root)
    first = load_ogb("ogbn-drosophila", root)
    assert is_cached("ogbn-drosophila", root)
    for entry in _manifest(first)["arrays"].values():
        np.load(first.path / "processed" / "graphkit" / entry["file"], allow_pickle=False)
    shutil.rmtree(root / "ogbn_drosophila" / "raw")  # the cache alone must be enough now
    again = load_ogb("ogbn-drosophila", root)
    assert torch.equal(again.graph.x, first.graph.x) and torch.equal(again.split["test"], first.split["test"])


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_cache_is_rebuilt(fixtures, tmp_path, caplog, damage):
    root = tmp_path / "c"
    _copy(fixtures, "ogbg_freesolv", root)
    first = load_ogb("ogbg-freesolv", root)
    entries = _manifest(first)["arrays"]
    victim = first.path / "processed" / "graphkit" / max(entries.values(), key=lambda e: e["bytes"])["file"]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2] if damage == "truncate" else data[:-1] + bytes([data[-1] ^ 1]))
    with caplog.at_level(logging.WARNING, logger="graphkit.io"):
        again = load_ogb("ogbg-freesolv", root)
    assert "rebuilding" in caplog.text
    assert all(torch.equal(a.edge_index, b.edge_index) for a, b in zip(first.graphs, again.graphs))


def _zip_dataset(src: Path, top: str, dst: Path) -> Path:
    with zipfile.ZipFile(dst, "w") as z:  # OGB's layout: one top folder named download_name
        for p in sorted(src.rglob("*")):
            if p.is_file() and "processed" not in p.parts:
                z.write(p, Path(top) / p.relative_to(src))
    return dst


def _meta_csv(path: Path, name: str, url: str) -> Path:
    """A master.csv for ``name``: ogbn-drosophila's meta, served from ``url``."""
    lines = (SOURCE_FIXTURES / "master.csv").read_text().splitlines()
    col = lines[0].split(",").index("ogbn-drosophila")
    rows = [[r.split(",")[0], r.split(",")[col]] for r in lines[1:]]
    rows = [[k, url if k == "url" else ("remote" if k == "download_name" else v)] for k, v in rows]
    path.write_text("," + name + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


def test_download_and_extract_like_ogb(fixtures, tmp_path):
    require_peer("ogb")
    served = _zip_dataset(fixtures / "ogbn_drosophila", "remote", tmp_path / "remote.zip")
    register_meta(_meta_csv(tmp_path / "master.csv", "ogbn-dlzip", served.as_uri()))
    root = tmp_path / "data"
    ds = load_ogb("ogbn-dlzip", root)
    assert ds.graph.num_nodes == 209 and (root / "ogbn_dlzip" / "raw").is_dir()
    assert not (root / "remote.zip").exists() and not (root / "remote").exists()


def test_no_network_says_which_url_and_folder(tmp_path):
    require_peer("ogb")
    url = "http://127.0.0.1:9/nowhere/drosophila.zip"  # port 9 (discard): refused at once, no DNS involved
    register_meta(_meta_csv(tmp_path / "master.csv", "ogbn-offline", url))
    with pytest.raises(OGBDownloadError) as err:
        load_ogb("ogbn-offline", tmp_path / "data")
    msg = str(err.value)
    assert url in msg and str(tmp_path / "data") in msg and "\n" not in msg
    with pytest.raises(OGBDownloadError, match="arxiv.zip"):
        load_ogb("ogbn-arxiv", tmp_path / "data", download=False)


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown OGB data set 'ogbn-nope'"):
        load_ogb("ogbn-nope")


def test_split_file_with_code_is_refused(fixtures, tmp_path):
    root = tmp_path / "c"
    _copy(fixtures, "ogbn_drosophila", root)
    split = root / "ogbn_drosophila" / "split" / "random" / "split_dict.pt"
    torch.save({"train": np.arange(3), "evil": Path("x")}, split)  # a non-array object needs real unpickling
    with pytest.raises(ValueError, match="holds something other than arrays"):
        load_ogb("ogbn-drosophila", root)


def test_registry_lists_and_loads_ogb_names(fixtures):
    from graphkit.datasets import registry

    listed = registry.available()
    assert listed["ogbn-arxiv"]["kind"] == "ogbn" and "ogbg-molhiv" in listed
    assert listed["ogbl-connectome"]["on_disk"]
    assert registry.load("ogbl-connectome", str(fixtures)).graph.num_nodes == 209


def test_official_evaluator_for_other_metric():
    ev = official_evaluator("ogbl", "hits@50")
    pos, neg = torch.tensor([3.0, 0.5]), torch.arange(100, dtype=torch.float) / 100
    assert ev.eval({"y_pred_pos": pos, "y_pred_neg": neg}) == {"hits@50": 0.5}


def test_hand_unzipped_download_is_adopted(fixtures, tmp_path):
    register_meta(_meta_csv(tmp_path / "master.csv", "ogbn-byhand", "http://127.0.0.1:9/remote.zip"))
    root = tmp_path / "data"
    with zipfile.ZipFile(_zip_dataset(fixtures / "ogbn_drosophila", "remote", tmp_path / "r.zip")) as z:
        z.extractall(root)  # what the error message tells a user without network to do
    assert load_ogb("ogbn-byhand", root, download=False).graph.num_nodes == 209
    assert (root / "ogbn_byhand" / "raw").is_dir() and not (root / "remote").exists()


def test_old_format_cache_is_rebuilt_not_misread(fixtures, tmp_path, caplog):
    root = tmp_path / "c"
    _copy(fixtures, "ogbn_drosophila", root)
    first = load_ogb("ogbn-drosophila", root)
    cache = first.path / "processed" / "graphkit"
    shutil.rmtree(cache)
    wrong = {"graphs": {"edge_index": np.array([[0], [1]]), "num_nodes": np.array([2]), "num_edges": np.array([1])},
             "labels": np.zeros((2, 1), np.int64), "split": {s: np.arange(1) for s in ("train", "valid", "test")}}
    write_v1_array_cache(cache, flatten(wrong))  # what graphkit 0.1 wrote there, with other content
    with caplog.at_level(logging.WARNING, logger="graphkit.io"):
        again = load_ogb("ogbn-drosophila", root)
    assert "older graphkit" in caplog.text
    assert again.graph.num_nodes == 209 and torch.equal(again.graph.edge_index, first.graph.edge_index)


def _evil_master(root: Path, download_name: str) -> Path:
    lines = [r.split(",")[:2] for r in (SOURCE_FIXTURES / "master.csv").read_text().splitlines()]
    lines[0][1] = "ogbn-evil"
    for r in lines:
        if r[0] == "download_name":
            r[1] = download_name
    (root / "master.csv").write_text("\n".join(",".join(r) for r in lines) + "\n")
    return root / "master.csv"


@pytest.mark.parametrize("download_name", ["../victim", "/abs/victim", "..", ""])
def test_download_name_cannot_move_a_folder_from_outside_the_root(tmp_path, download_name):
    """Reliability finding 15 (f04): a crafted master.csv moved an outside folder into the data set folder."""
    root, victim = tmp_path / "data", tmp_path / "victim"
    root.mkdir()
    (victim / "raw").mkdir(parents=True)
    (victim / "raw" / "data.npz").write_bytes(b"not really")
    (victim / "important.txt").write_text("user data")
    if download_name.startswith("/"):
        download_name = str(victim)
    with pytest.raises(ValueError, match="download_name"):
        register_meta(_evil_master(root, download_name))
    assert (victim / "important.txt").read_text() == "user data" and not (root / "ogbn_evil").exists()


def test_meta_json_cannot_move_a_folder_or_name_a_path(fixtures, tmp_path):
    victim = tmp_path / "victim"
    (victim / "raw").mkdir(parents=True)
    (victim / "raw" / "data.npz").write_bytes(b"not really")
    folder = tmp_path / "data" / "ogbn_evil"
    (folder / "raw").mkdir(parents=True)
    meta = {**meta_info("ogbn-drosophila"), "name": "ogbn-evil", "download_name": "../victim"}
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="download_name"):
        load_ogb(str(folder))
    assert (victim / "raw" / "data.npz").is_file()
    (folder / "meta.json").write_text(json.dumps({**meta, "name": "ogbn-../../x"}))
    with pytest.raises(ValueError, match="data set name"):
        load_ogb(str(folder))


def test_damaged_raw_files_are_one_clear_error(fixtures, tmp_path):
    """Reliability finding 14: a truncated raw data.npz surfaced as zipfile.BadZipFile."""
    root = tmp_path / "c"
    _copy(fixtures, "ogbn_drosophila", root)
    raw = root / "ogbn_drosophila" / "raw" / "data.npz"
    raw.write_bytes(raw.read_bytes()[:1000])
    with pytest.raises(ValueError, match="damaged or incomplete") as err:
        load_ogb("ogbn-drosophila", root)
    assert "\n" not in str(err.value) and "download it again" in str(err.value)


def test_fixtures_load_by_name_quietly_in_a_fresh_process(fixtures, tmp_path):
    """``load_ogb("ogbn-drosophila")`` from plain Python, with none of ogb's progress output on the first load."""
    copy = tmp_path / "fx"
    shutil.copytree(fixtures, copy, ignore=shutil.ignore_patterns("processed"))
    code = ("from graphkit.datasets import load_ogb\n"
            f"for name in {list(FIXTURE_NAMES)!r}:\n"
            "    ds = load_ogb(name)\n"
            "    print(name, ds.graph.num_nodes if ds.graphs is None else len(ds.graphs))\n")
    env = {**os.environ, "GRAPHKIT_FIXTURES": str(copy), "GRAPHKIT_DATA": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ogbn-drosophila", "209", "ogbl-connectome", "209", "ogbg-freesolv", "642",
                                  "ogbg-b3db", "600"]
    assert out.stderr == ""  # no "Loading necessary files...", no tqdm bar
    assert all((copy / n.replace("-", "_") / "processed" / "graphkit" / "manifest.json").is_file()
               for n in FIXTURE_NAMES)


def test_missing_fixtures_and_missing_ogb_name_what_to_do(monkeypatch, tmp_path):
    from graphkit.datasets import ogb_meta
    from graphkit.datasets.base import DataNotFoundError

    monkeypatch.setenv("GRAPHKIT_FIXTURES", str(tmp_path / "none"))
    monkeypatch.setattr(ogb_meta, "_REGISTERED", {})  # as in a fresh process of an install without the source tree
    with pytest.raises(DataNotFoundError, match="GRAPHKIT_FIXTURES") as err:
        load_ogb("ogbg-b3db")
    assert str(err.value).startswith("ogbg-b3db is a fixture") and "\n" not in str(err.value)
    monkeypatch.setattr(ogb_meta, "official_metas", lambda: {})  # as if ogb were not installed
    with pytest.raises(DataNotFoundError, match="pip install ogb"):
        meta_info("ogbn-arxiv")
