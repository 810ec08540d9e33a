"""graphkit.io: the one pickle-free store and the one atomic write.

The damage cases are the reliability review's reproducers f01 (processed cache) and f02 (array cache): every kind
of damage means "rebuild", never an exception and never a file read from outside the store's folder.
"""
from __future__ import annotations

import io
import json
import logging
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from graphkit.data.cache import ProcessedCache, cached
from graphkit.io import (STORE_FORMAT, ArrayStore, atomic_write, atomic_write_text, default_root, flatten,
                         load_or_build, remove_stale_temps, sha256_file, unflatten)
from graphkit.testing.legacy_cache import write_v1_array_cache, write_v1_processed_cache

KEY = {"v": 1}


def _content() -> dict:
    return {"a": np.arange(10), "b": np.ones((3, 2)), "g/edge_index": np.array([[0, 1], [1, 0]])}


def _counted(store: ArrayStore):
    builds = []

    def build():
        builds.append(1)
        return _content(), {"kinds": {"x": "node"}}

    return builds, lambda: load_or_build(store, build)


def _rewrite_entry(store: ArrayStore, name: str, file: str) -> None:
    """What an attacker who can write the folder does: point an entry at ``file`` with a matching size and hash."""
    manifest = json.loads(store.manifest_path.read_text())
    target = store.folder / file
    manifest["arrays"][name] = {"file": file, "bytes": target.stat().st_size, "sha256": sha256_file(target)}
    store.manifest_path.write_text(json.dumps(manifest))


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_STORE",))


def _first_file(store: ArrayStore) -> Path:
    manifest = json.loads(store.manifest_path.read_text())
    return store.folder / manifest["arrays"]["a"]["file"]


def _truncate(s):
    f = _first_file(s)
    f.write_bytes(f.read_bytes()[:-3])


def _flip(s):
    f = _first_file(s)
    b = bytearray(f.read_bytes())
    b[-1] ^= 1
    f.write_bytes(bytes(b))


def _pickle_fixed(s):
    _first_file(s).write_bytes(pickle.dumps(_Evil()))
    _rewrite_entry(s, "a", _first_file(s).name)


def _object_npy_fixed(s):
    np.save(_first_file(s), np.array([_Evil()], dtype=object), allow_pickle=True)
    _rewrite_entry(s, "a", _first_file(s).name)


def _npz_fixed(s):  # a zip where one array should be: np.load returns an NpzFile, not an array
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.npy", b"")
    _first_file(s).write_bytes(buf.getvalue())
    _rewrite_entry(s, "a", _first_file(s).name)


def _empty_fixed(s):
    _first_file(s).write_bytes(b"")
    _rewrite_entry(s, "a", _first_file(s).name)


def _directory(s):
    f = _first_file(s)
    f.unlink()
    f.mkdir()


def _write_manifest(text):
    return lambda s: s.manifest_path.write_text(text)


def _edit_manifest(edit):
    def damage(s):
        m = json.loads(s.manifest_path.read_text())
        edit(m)
        s.manifest_path.write_text(json.dumps(m))
    return damage


DAMAGE = {
    "truncated file": _truncate,
    "one bit flipped": _flip,
    "pickle as .npy, manifest fixed": _pickle_fixed,
    "object-dtype .npy, manifest fixed": _object_npy_fixed,
    "npz as .npy, manifest fixed": _npz_fixed,
    "empty file, manifest fixed": _empty_fixed,
    "file replaced by a folder": _directory,
    "manifest deleted": lambda s: s.manifest_path.unlink(),
    "manifest not JSON": _write_manifest("{nope"),
    "manifest not UTF-8": lambda s: s.manifest_path.write_bytes(b"\xff\xfe{"),
    "manifest is a JSON list": _write_manifest("[1, 2]"),
    "arrays is a list": _edit_manifest(lambda m: m.update(arrays=[1, 2])),
    "entry is a string": _edit_manifest(lambda m: m["arrays"].update(a="x")),
    "bytes is null": _edit_manifest(lambda m: m["arrays"]["a"].update(bytes=None)),
    "file is a number": _edit_manifest(lambda m: m["arrays"]["a"].update(file=7)),
    "meta is a list": _edit_manifest(lambda m: m.update(meta=[])),
    "name both array and folder": _edit_manifest(lambda m: m["arrays"].update({"a/b": m["arrays"]["b"]})),
    "empty name segment": _edit_manifest(lambda m: m["arrays"].update({"a//b": m["arrays"]["b"]})),
    "format missing": _edit_manifest(lambda m: m.pop("format")),
    "other key": _edit_manifest(lambda m: m.update(key={"v": 2})),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_every_damage_means_rebuild(tmp_path, caplog, damage) -> None:
    store = ArrayStore(tmp_path / "s", KEY)
    builds, load = _counted(store)
    load()
    DAMAGE[damage](store)
    assert store.problem() is not None
    with caplog.at_level(logging.WARNING, logger="graphkit.io"):
        arrays, meta = load()
    assert len(builds) == 2 and meta == {"kinds": {"x": "node"}}
    if damage != "manifest deleted":  # a missing store is a first build, not worth a warning
        assert "rebuilding" in caplog.text
    np.testing.assert_array_equal(arrays["a"], np.arange(10))
    assert store.problem() is None and not Path("PWNED_BY_STORE").exists()
    again, _ = load()
    assert len(builds) == 2 and sorted(again) == sorted(_content())


@pytest.mark.parametrize("where", ["../../outside.npy", "../outside.npy", "absolute", "symlink"])
def test_manifest_cannot_name_a_file_outside_the_folder(tmp_path, where) -> None:
    store = ArrayStore(tmp_path / "deep" / "s", KEY)
    store.save(_content())
    outside = tmp_path / "outside.npy"
    np.save(outside, np.array([42, 42]))
    if where == "absolute":
        where = str(outside)
    elif where == "symlink":
        (store.folder / "0099.npy").symlink_to(outside)
        where = "0099.npy"
    else:
        (tmp_path / "deep" / "outside.npy").write_bytes(outside.read_bytes())
    manifest = json.loads(store.manifest_path.read_text())
    target = outside if os.path.isabs(where) or where.startswith("../..") or where == "0099.npy" else (
        tmp_path / "deep" / "outside.npy")
    manifest["arrays"]["a"] = {"file": where, "bytes": target.stat().st_size, "sha256": sha256_file(target)}
    store.manifest_path.write_text(json.dumps(manifest))
    assert "outside" in store.problem() or "not a store file" in store.problem()
    assert store.load() is None


def test_round_trip_nested_tuple_keys_and_strings(tmp_path) -> None:
    content = {"graphs": {"edge_index": np.array([[0, 1], [1, 0]]), "feat": np.zeros((2, 3), np.float32)},
               "hetero": {("paper", "cites", "paper"): np.arange(4)}, "labels": np.array(["a b", "c"]),
               "skipped": None}
    store = ArrayStore(tmp_path / "s", {"name": "x"})
    store.save(flatten(content))
    back = unflatten(store.load()[0])
    assert list(back["hetero"]) == [("paper", "cites", "paper")] and back["labels"].tolist() == ["a b", "c"]
    assert back["graphs"]["feat"].dtype == np.float32 and "skipped" not in back
    for entry in json.loads(store.manifest_path.read_text())["arrays"].values():
        assert entry["bytes"] == (store.folder / entry["file"]).stat().st_size


def test_save_refuses_what_it_could_not_read_back(tmp_path) -> None:
    store = ArrayStore(tmp_path / "s", KEY)
    with pytest.raises(TypeError, match="pickle"):
        store.save({"bad": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(TypeError, match="pickle"):
        flatten({"bad": np.array([None, 1], dtype=object)})
    with pytest.raises(ValueError, match="both an array and a folder"):
        store.save({"a": np.zeros(1), "a/b": np.zeros(1)})
    with pytest.raises(TypeError, match="numpy arrays"):
        store.save({"a": [1, 2]})
    assert not store.exists()


def test_save_replaces_old_files_and_leaves_foreign_ones(tmp_path) -> None:
    store = ArrayStore(tmp_path / "s", KEY)
    store.save({f"x{i}": np.arange(i + 1) for i in range(5)})
    (store.folder / "README.txt").write_text("mine")
    store.save({"y": np.zeros(2)})
    assert sorted(p.name for p in store.folder.iterdir()) == ["0000.npy", "README.txt", "manifest.json"]


# ------------------------------------------------------------------------------------- graphkit 0.1's caches
def test_old_processed_cache_is_detected_and_rebuilt(tmp_path, caplog) -> None:
    stale = {"a": np.arange(5), "b": np.ones((3, 2))}  # a different "a": loading it as is would be a misread
    write_v1_processed_cache(tmp_path / "toy" / "processed", {"n": 1}, stale, {"classes": ["x"]})
    builds = []

    def build():
        builds.append(1)
        return {"a": np.arange(1000)}, {"classes": ["y"]}

    with caplog.at_level(logging.WARNING, logger="graphkit.io"):
        arrays, meta = cached(tmp_path, "toy", {"n": 1}, build)
    assert builds == [1] and meta == {"classes": ["y"]} and len(arrays["a"]) == 1000
    assert "older graphkit" in caplog.text
    folder = ProcessedCache(tmp_path, "toy", {"n": 1}).folder
    assert not (folder / "data.npz").exists()
    arrays, _ = cached(tmp_path, "toy", {"n": 1}, build)
    assert builds == [1] and len(arrays["a"]) == 1000


def test_old_array_cache_is_detected_and_rebuilt(tmp_path) -> None:
    flat = {"a": np.arange(3), "b": np.zeros(2)}  # same names and files as a new store would write
    write_v1_array_cache(tmp_path / "s", flat)
    store = ArrayStore(tmp_path / "s", {})
    assert f"format {STORE_FORMAT}" in store.problem() and store.load() is None
    store.save(flat)
    assert store.problem() is None


# ------------------------------------------------------------------------------------- atomic write, root
def test_atomic_write_never_leaves_half_a_file(tmp_path) -> None:
    path = tmp_path / "f.bin"
    atomic_write_text(path, "old")

    def fail(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, fail)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    (tmp_path / ".f.bin.tmp12345").write_bytes(b"left by a SIGKILL")
    (tmp_path / ".other.tmp1").write_bytes(b"someone else's")
    assert [p.name for p in remove_stale_temps(path)] == [".f.bin.tmp12345"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp1", "f.bin"]
    with pytest.raises(ValueError, match="mode"):
        atomic_write(path, fail, mode="a")


def test_default_root_honours_one_variable(monkeypatch, tmp_path) -> None:
    from graphkit.datasets import ogb

    monkeypatch.setenv("GRAPHKIT_DATA", str(tmp_path))
    assert default_root() == tmp_path == ogb.default_root()
    assert ProcessedCache(None, "toy", {}).folder == tmp_path / "toy" / "processed"
    assert ogb.dataset_dir("ogbn-arxiv") == tmp_path / "ogbn_arxiv"
    monkeypatch.delenv("GRAPHKIT_DATA")
    assert default_root() == Path.home() / ".cache" / "graphkit" == ogb.default_root()


def _build_in_child(folder: str, log: str, barrier) -> None:
    def build():
        with open(log, "a") as fh:
            fh.write("built\n")
        import time

        time.sleep(0.5)  # long enough for the other process to find the store missing and wait on the lock
        return _content(), {}

    barrier.wait()
    arrays, _ = load_or_build(ArrayStore(folder, KEY), build)
    assert arrays["a"].tolist() == list(range(10))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_processes_starting_together_build_once(tmp_path) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(3)
    log = tmp_path / "builds.txt"
    procs = [ctx.Process(target=_build_in_child, args=(str(tmp_path / "s"), str(log), barrier)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert log.read_text() == "built\n"
    assert ArrayStore(tmp_path / "s", KEY).problem() is None
