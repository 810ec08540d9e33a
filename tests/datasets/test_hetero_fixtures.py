"""Heterogeneous OGB data: load_ogb returns a HeteroGraph; fixtures in ogbl-biokg / ogbn-mag format from real data."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from graphkit import Graph, HeteroGraph
from graphkit.datasets.hetero_fixtures import build_fixture, read_triples
from graphkit.datasets.ogb import _kg_graph, load_ogb  # noqa: PLC2701  (the wikikg2 conversion, tested directly)
from graphkit.datasets.ogb_raw import torch_split
from graphkit.testing import require_peer


def test_kg_fixture_is_ogbl_biokg_format(hetero_fixtures: Path) -> None:
    ds = load_ogb("ogbl-nations")
    folder = hetero_fixtures / "ogbl_nations"
    assert {p.name for p in (folder / "raw").iterdir()} == {"edge_index_dict.npz", "num_nodes_dict.npz",
                                                          "num_edges_dict.npz", "edge_reltype.npz"}
    split = torch_split(folder / "split" / "random" / "split_dict.pt")  # ogb's saver wrote it: read it the safe way
    assert set(split["valid"]) == {"head", "relation", "tail", "head_type", "tail_type", "head_neg", "tail_neg"}
    assert set(split["train"]) == {"head", "relation", "tail", "head_type", "tail_type"}
    raw = read_triples("nations")
    assert [len(split[s]["head"]) for s in ("train", "valid", "test")] == [len(raw[s]) for s in ("train", "valid",
                                                                                                    "test")]
    g = ds.graph
    assert isinstance(g, HeteroGraph) and g.node_types == ["entity"] and g.num_nodes == 14
    assert g.num_edges == len(raw["train"]) and ds.eval_metric == "mrr" and ds.task_type == "KG completion"
    # each edge type holds exactly the training triples of its relation (relation ids = edge type order)
    for r, (et, store) in enumerate(g.edge_items()):
        mask = ds.split["train"]["relation"] == r
        pairs = torch.stack([ds.split["train"]["head"][mask], ds.split["train"]["tail"][mask]])
        assert torch.equal(store.edge_index, pairs) and bool((store.reltype == r).all())
    # filtered negatives: never an entity that completes a known triple; padded with -1
    known = {tuple(t) for s in ("train", "valid", "test") for t in
             torch.stack([ds.split[s]["head"], ds.split[s]["relation"], ds.split[s]["tail"]], 1).tolist()}
    v = ds.split["valid"]
    for i in range(v["head"].numel()):
        h, r, t = int(v["head"][i]), int(v["relation"][i]), int(v["tail"][i])
        tails = [e for e in v["tail_neg"][i].tolist() if e >= 0]
        heads = [e for e in v["head_neg"][i].tolist() if e >= 0]
        assert all((h, r, e) not in known for e in tails) and all((e, r, t) not in known for e in heads)
        assert len(tails) == 14 - sum((h, r, e) in known for e in range(14))


def test_movielens_fixture_is_ogbn_mag_format(hetero_fixtures: Path) -> None:
    ds = load_ogb("ogbn-movielens")
    g = ds.graph
    assert g.metadata() == (["genre", "movie", "user"], [("movie", "has_genre", "genre"), ("user", "rates", "movie")])
    assert g.num_nodes_dict == {"genre": 19, "movie": 1682, "user": 943}
    assert g["rates"].num_edges == 100_000 and g["rates"].rating.shape == (100_000, 1)
    assert g["genre"].x is None and g["user"].x.shape == (943, 22)  # a featureless type, as mag's author
    # the label is the user's real gender, read back from recbole's file
    import pandas as pd

    from graphkit.datasets.base import package_file

    users = pd.read_csv(package_file("recbole", "dataset_example", "ml-100k", "ml-100k.user", install="-"), sep="\t")
    users.columns = [c.split(":")[0] for c in users.columns]
    gender = users.sort_values("user_id")["gender"].to_numpy()
    assert torch.equal(g["user"].y.view(-1), torch.from_numpy((gender == "F").astype(np.int64)))
    sizes = {s: part["user"].numel() for s, part in ds.split.items()}
    assert sum(sizes.values()) == 943 and ds.num_classes == 2 and ds.eval_metric == "acc"
    repo = Path(__file__).resolve().parents[2]
    assert repo not in ds.path.resolve().parents  # built outside the source tree: MovieLens is never copied in


def test_a_rebuilt_fixture_is_identical(hetero_fixtures: Path, tmp_path: Path) -> None:
    a = build_fixture("ogbl-nations", tmp_path / "a")
    b = build_fixture("ogbl-nations", tmp_path / "b")
    for name in ("edge_index_dict.npz", "edge_reltype.npz"):
        za, zb = np.load(a / "raw" / name), np.load(b / "raw" / name)
        assert all(np.array_equal(za[k], zb[k]) for k in za.files)
    sa, sb = (torch_split(p / "split" / "random" / "split_dict.pt") for p in (a, b))
    assert np.array_equal(sa["test"]["tail_neg"], sb["test"]["tail_neg"])


def test_mag_csv_layout_loads_as_a_hetero_graph(tmp_path: Path) -> None:
    """ogbn-mag's own raw layout (csv, per-relation folders, per-type features, labels and split) through ogb's
    heterogeneous csv reader: a two-type miniature written file by file in that layout."""
    require_peer("ogb")
    from graphkit.datasets.ogb import register_meta

    folder = tmp_path / "ogbn_minimag"
    raw = folder / "raw"

    def csv(path: Path, rows) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt") as f:
            f.write("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")

    csv(raw / "num-node-dict.csv.gz", [["author", "paper"], [3, 4]])
    csv(raw / "triplet-type-list.csv.gz", [["author", "writes", "paper"], ["paper", "cites", "paper"]])
    csv(raw / "nodetype-has-label.csv.gz", [["author", "paper"], [False, True]])
    csv(folder / "split" / "time" / "nodetype-has-split.csv.gz", [["author", "paper"], [False, True]])
    for (s, r, d), edges, rel in ((("author", "writes", "paper"), [[0, 1], [1, 1], [2, 3]], 0),
                                  (("paper", "cites", "paper"), [[0, 1], [3, 2]], 1)):
        sub = raw / "relations" / f"{s}___{r}___{d}"
        csv(sub / "edge.csv.gz", edges)
        csv(sub / "num-edge-list.csv.gz", [[len(edges)]])
        csv(sub / "edge_reltype.csv.gz", [[rel]] * len(edges))
    csv(raw / "node-feat" / "paper" / "node-feat.csv.gz", [[0.5, 1.0], [1.5, 2.0], [2.5, 3.0], [3.5, 4.0]])
    csv(raw / "node-feat" / "paper" / "node_year.csv.gz", [[2010], [2011], [2012], [2019]])
    csv(raw / "node-label" / "paper" / "node-label.csv.gz", [[0], [1], [1], [0]])
    for s, ids in (("train", [0, 1]), ("valid", [2]), ("test", [3])):
        csv(folder / "split" / "time" / "paper" / f"{s}.csv.gz", [[i] for i in ids])
    master = tmp_path / "master.csv"
    master.write_text(
        ",ogbn-minimag\nnum tasks,1\nnum classes,2\neval metric,acc\ntask type,multiclass classification\n"
        "download_name,minimag\nversion,1\nurl,\nadd_inverse_edge,False\nhas_node_attr,True\nhas_edge_attr,False\n"
        "split,time\nadditional node files,node_year\nadditional edge files,edge_reltype\nis hetero,True\n"
        "binary,False\n")
    register_meta(master)
    ds = load_ogb("ogbn-minimag", tmp_path, download=False)
    g = ds.graph
    assert isinstance(g, HeteroGraph)
    assert g.metadata() == (["author", "paper"], [("author", "writes", "paper"), ("paper", "cites", "paper")])
    assert g["writes"].edge_index.tolist() == [[0, 1, 2], [1, 1, 3]]
    assert g["paper"].x.shape == (4, 2) and g["paper"].year.view(-1).tolist() == [2010, 2011, 2012, 2019]
    assert g["paper"].y.view(-1).tolist() == [0, 1, 1, 0] and g["cites"].reltype.view(-1).tolist() == [1, 1]
    assert ds.split["train"]["paper"].tolist() == [0, 1]


def test_wikikg2_style_kg_becomes_typed() -> None:
    g = Graph(edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]]), num_nodes=4,
              edge_reltype=torch.tensor([[1], [0], [1], [2]]), kinds={"edge_reltype": "edge"})
    h = _kg_graph(g)
    assert h.metadata() == (["entity"], [("entity", "0", "entity"), ("entity", "1", "entity"),
                                         ("entity", "2", "entity")])
    assert h[("entity", "1", "entity")].edge_index.tolist() == [[0, 2], [1, 3]]
    assert h.num_edges == 4 and h[("entity", "2", "entity")].reltype.view(-1).tolist() == [2]
