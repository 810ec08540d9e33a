"""Heterogeneous OGB-format fixtures made at run time from real data that installed packages ship.

* ``ogbl-umls``, ``ogbl-kinships``, ``ogbl-nations``: knowledge graphs in **ogbl-biokg's** format, from pykeen's
  bundled UMLS, Kinships and Nations (their own train/valid/test splits). One entity type, one edge type per
  relation (``("entity", relation, "entity")``, the training triples), ``edge_reltype`` as biokg has it, and a
  ``random`` split of ``head``/``relation``/``tail``/``head_type``/``tail_type`` dicts whose valid and test parts
  carry ``head_neg``/``tail_neg``: ``min(500, num_entities - 1)`` corrupted entities per triple, drawn once with a
  fixed seed, as biokg ships its own negatives. These small graphs are dense (UMLS: most ``(h, r)`` have many
  true tails), so the negatives are *filtered*: an entity that completes any known triple is left out and the row
  is padded with ``-1``, which the KG task scores as ``-inf`` (the filtered ranking pykeen reports).
* ``ogbn-movielens``: a typed node-classification graph in **ogbn-mag's** format, from MovieLens-100k
  (``recbole``'s files): ``user`` (943, features: age/100 and the occupation one-hot), ``movie`` (1,682, features:
  normalised release year), ``genre`` (featureless, as mag's author/field types); relations
  ``(user, rates, movie)`` with the rating as ``edge_rating`` and ``(movie, has_genre, genre)``; label: the user's
  gender (a real attribute of the data set), split 60/20/20 at random (seed 0) as ``{"user": ids}`` dicts.

Each is written by ogb's own ``DatasetSaver`` (binary raw files, ``split_dict.pt``, a mapping folder), then moved to
``<root>/<ogb folder>`` with a ``master.csv`` entry that :func:`graphkit.datasets.ogb.register_meta` reads.
``root`` defaults to ``<graphkit data root>/hetero_fixtures``. The source files are read in place and never copied
into this repository (MovieLens' licence forbids redistribution); :func:`ensure_fixture` builds a fixture once,
so ``load_ogb("ogbl-umls")`` works wherever pykeen is installed.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from graphkit.datasets.base import package_file
from graphkit.io.store import default_root

__all__ = ["HETERO_FIXTURES", "KG_SOURCES", "ensure_fixture", "build_fixture", "fixture_root", "read_triples"]

KG_SOURCES = {"ogbl-umls": "umls", "ogbl-kinships": "kinships", "ogbl-nations": "nations"}
HETERO_FIXTURES = (*KG_SOURCES, "ogbn-movielens")
PYKEEN = "pip install -c constraints.txt pykeen==1.11.1"
RECBOLE = "pip install --no-deps recbole==1.2.1"
MAX_NEGATIVES = 500  # ogbl-biokg's own count per triple
FIXTURES_ENV = "GRAPHKIT_HETERO_FIXTURES"


def fixture_root(root: Union[str, Path, None] = None) -> Path:
    """Where the fixtures are built: ``root``, ``$GRAPHKIT_HETERO_FIXTURES``, or ``<data root>/hetero_fixtures``."""
    if root is not None:
        return Path(root)
    env = os.environ.get(FIXTURES_ENV)
    return Path(env) if env else default_root() / "hetero_fixtures"


def read_triples(source: str) -> Dict[str, np.ndarray]:
    """pykeen's bundled ``{source}/{train,valid,test}.txt`` as ``[M, 3]`` string arrays (head, relation, tail)."""
    out = {}
    for split in ("train", "valid", "test"):
        path = package_file("pykeen", "datasets", source, f"{split}.txt", install=PYKEEN)
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f, delimiter="\t") if r]
        bad = [r for r in rows if len(r) != 3]
        if bad:
            raise ValueError(f"{path}: a triple line has {len(bad[0])} fields, not 3: {bad[0]!r}")
        out[split] = np.asarray(rows, dtype=str)
    return out


def _kg(source: str) -> Tuple[Dict[str, Any], Dict[str, Any], Dict[str, List[str]]]:
    triples = read_triples(source)
    every = np.concatenate(list(triples.values()))
    entities = sorted(set(every[:, 0]) | set(every[:, 2]))
    relations = sorted(set(every[:, 1]))
    ent_id = {e: i for i, e in enumerate(entities)}
    rel_id = {r: i for i, r in enumerate(relations)}
    n = len(entities)
    ids = {s: np.array([[ent_id[h], rel_id[r], ent_id[t]] for h, r, t in tr], dtype=np.int64).reshape(-1, 3)
           for s, tr in triples.items()}
    train = ids["train"]
    edge_index, reltype = {}, {}
    for r, name in enumerate(relations):
        part = train[train[:, 1] == r]
        edge_index[("entity", name, "entity")] = np.stack([part[:, 0], part[:, 2]]).astype(np.int64)
        reltype[("entity", name, "entity")] = np.full((part.shape[0], 1), r, dtype=np.int64)
    graph = {"edge_index_dict": edge_index, "num_nodes_dict": {"entity": n}, "edge_reltype": reltype}
    k = min(MAX_NEGATIVES, n - 1)
    rng = np.random.default_rng(0)
    every_id = np.concatenate(list(ids.values()))
    known = np.zeros((n, len(relations), n), dtype=bool)  # the filter: every triple of every split
    known[every_id[:, 0], every_id[:, 1], every_id[:, 2]] = True
    split: Dict[str, Any] = {}
    for s, part in ids.items():
        entry = {"head": part[:, 0].copy(), "relation": part[:, 1].copy(), "tail": part[:, 2].copy(),
                 "head_type": np.full(part.shape[0], "entity"), "tail_type": np.full(part.shape[0], "entity")}
        if s != "train":
            h, r, t = part[:, 0], part[:, 1], part[:, 2]
            # true[i, e]: e completes triple i to a known triple (the true entity itself included)
            for side, true in (("head_neg", known[:, r, t].T), ("tail_neg", known[h, r, :])):
                keys = rng.random((part.shape[0], n))
                keys[true] = np.inf  # filtered entities sort last and become -1
                order = np.argsort(keys, axis=1)[:, :k]
                entry[side] = np.where(np.take_along_axis(keys, order, 1) == np.inf, -1, order).astype(np.int64)
        split[s] = entry
    return graph, split, {"entity": entities, "relation": relations}


def _movielens() -> Tuple[Dict[str, Any], Dict[str, Any], Dict[str, List[str]], np.ndarray]:
    import pandas as pd

    def table(ext: str) -> Any:
        path = package_file("recbole", "dataset_example", "ml-100k", f"ml-100k.{ext}", install=RECBOLE)
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        frame.columns = [c.split(":")[0] for c in frame.columns]
        return frame

    users, items, inter = table("user"), table("item"), table("inter")
    user_ids = sorted(users["user_id"].astype(int).tolist())
    item_ids = sorted(items["item_id"].astype(int).tolist())
    uid = {u: i for i, u in enumerate(user_ids)}
    iid = {m: i for i, m in enumerate(item_ids)}
    users = users.assign(uix=users["user_id"].astype(int).map(uid)).sort_values("uix")
    items = items.assign(iix=items["item_id"].astype(int).map(iid)).sort_values("iix")
    occupations = sorted(set(users["occupation"]))
    occ = np.zeros((len(users), len(occupations)), dtype=np.float32)
    occ[np.arange(len(users)), [occupations.index(o) for o in users["occupation"]]] = 1.0
    user_x = np.concatenate([users["age"].astype(np.float32).to_numpy()[:, None] / 100.0, occ], axis=1)
    years = pd.to_numeric(items["release_year"], errors="coerce").to_numpy(np.float32)
    years = np.where(np.isnan(years), np.nanmean(years), years)
    movie_x = ((years - years.mean()) / years.std())[:, None].astype(np.float32)
    genres = sorted({g for cls in items["class"] for g in cls.split() if g})
    gid = {g: i for i, g in enumerate(genres)}
    mg = [(i, gid[g]) for i, cls in zip(items["iix"], items["class"]) for g in cls.split() if g]
    rates = np.stack([inter["user_id"].astype(int).map(uid).to_numpy(), inter["item_id"].astype(int).map(iid)
                      .to_numpy()]).astype(np.int64)
    has_genre = np.asarray(mg, dtype=np.int64).T.reshape(2, -1)
    rel_rates, rel_genre = ("user", "rates", "movie"), ("movie", "has_genre", "genre")
    graph = {
        "edge_index_dict": {rel_rates: rates, rel_genre: has_genre},
        "num_nodes_dict": {"user": len(user_ids), "movie": len(item_ids), "genre": len(genres)},
        "node_feat_dict": {"user": user_x, "movie": movie_x},
        "edge_rating": {rel_rates: inter["rating"].astype(np.float32).to_numpy()[:, None]},
        "edge_reltype": {rel_rates: np.zeros((rates.shape[1], 1), dtype=np.int64),
                         rel_genre: np.ones((has_genre.shape[1], 1), dtype=np.int64)},
    }
    label = (users["gender"].to_numpy() == "F").astype(np.int64)[:, None]
    perm = np.random.default_rng(0).permutation(len(user_ids))
    a, b = int(0.6 * len(perm)), int(0.8 * len(perm))
    split = {"train": {"user": np.sort(perm[:a])}, "valid": {"user": np.sort(perm[a:b])},
             "test": {"user": np.sort(perm[b:])}}
    mapping = {"user": [str(u) for u in user_ids], "movie": [str(m) for m in item_ids], "genre": genres,
               "occupation": occupations}
    return graph, split, mapping, label


def _write_master(root: Path, name: str, meta: Dict[str, Any]) -> None:
    """Add (or replace) ``name``'s column in ``root/master.csv`` (ogb's transposed layout)."""
    path = root / "master.csv"
    from graphkit.datasets.ogb_meta import read_master

    metas = read_master(path) if path.is_file() else {}
    metas[name] = {k: str(v) for k, v in meta.items()}
    keys = sorted({k for m in metas.values() for k in m})
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([""] + list(metas))
        for k in keys:
            w.writerow([k] + [metas[n].get(k, "") for n in metas])
    os.replace(tmp, path)


def build_fixture(name: str, root: Union[str, Path, None] = None) -> Path:
    """Write fixture ``name`` with ogb's ``DatasetSaver`` into ``<root>/<folder>``; returns that folder."""
    from ogb.io import DatasetSaver

    if name not in HETERO_FIXTURES:
        raise ValueError(f"unknown heterogeneous fixture {name!r}; known: {', '.join(HETERO_FIXTURES)}")
    root = fixture_root(root)
    root.mkdir(parents=True, exist_ok=True)
    if name in KG_SOURCES:
        graph, split, mapping = _kg(KG_SOURCES[name])
        label = None
    else:
        graph, split, mapping, label = _movielens()
    folder = root / "_".join(name.split("-"))
    with tempfile.TemporaryDirectory(dir=root) as tmp, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):  # the saver prints every array it writes
        saver = DatasetSaver(name, is_hetero=True, version=1, root=os.path.join(tmp, "submission"))
        saver.save_graph_list([graph])
        if label is not None:
            saver.save_target_labels({"user": label})
            saver.save_task_info("multiclass classification", "acc", num_classes=2)
        else:
            saver.save_task_info("KG completion", "mrr")
        saver.save_split(split, "random")
        maps = Path(tmp) / "mapping"
        maps.mkdir()
        (maps / "README.md").write_text(f"# {name}\n\nRow i of each file names id i of that type.\n")
        for key, values in mapping.items():
            (maps / f"{key}.txt").write_text("\n".join(values) + "\n")
        saver.copy_mapping_dir(str(maps))
        meta = saver.get_meta_dict()
        if folder.exists():
            shutil.rmtree(folder)
        shutil.move(meta["dir_path"], folder)
    meta = {k: v for k, v in meta.items() if k != "dir_path"}
    meta["url"] = ""  # made locally: ensure_fixture rebuilds it when the raw files are missing
    if label is not None:
        meta["additional edge files"] = "edge_rating,edge_reltype"
    else:
        meta["additional edge files"] = "edge_reltype"
    _write_master(root, name, meta)
    return folder


def ensure_fixture(name: str, root: Union[str, Path, None] = None) -> Path:
    """Build fixture ``name`` unless its raw files are there, register ``root/master.csv``; returns ``root``."""
    from graphkit.datasets.ogb import register_meta

    root = fixture_root(root)
    folder = root / "_".join(name.split("-"))
    master = root / "master.csv"
    registered = False
    if master.is_file():
        from graphkit.datasets.ogb_meta import read_master

        registered = name in read_master(master)
    if not (registered and (folder / "raw" / "edge_index_dict.npz").is_file()):
        build_fixture(name, root)
    register_meta(master)
    return root


def maybe_ensure(name: str) -> Optional[Path]:
    """For ``meta_info``: build and register ``name`` when it is one of these fixtures (else ``None``)."""
    return ensure_fixture(name) if name in HETERO_FIXTURES else None
