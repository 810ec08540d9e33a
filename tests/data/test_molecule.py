from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
import torch

from graphkit.batch import Batch
from graphkit.data.molecule import atom_feature_dims, bond_feature_dims, smiles_to_graph, smiles_to_graphs
from graphkit.data.splits import scaffold_split
from graphkit.testing import require_peer

pytest.importorskip("rdkit", reason="molecule graphs need RDKit (graphkit[chem])")

TRICKY = [
    "Cl[C@H](/C=C/C)Br",  # chirality and E/Z stereo (OGB's own docstring example)
    "O1C=C[C@H]([C@H]1O2)c3c2cc(OC)c4c3OC(=O)C5=C4CCC(=O)5",
    "[Na+].[Cl-]",  # no bonds
    "[CH2]C",  # radical
    "C[N+](C)(C)C",
    "c1ccccc1",
    "[U]",  # atomic number beyond the common vocabulary
    "F/C=C\\F",
]


def nci_smiles(n: int) -> list:
    spec = importlib.util.find_spec("rdkit")
    path = os.path.join(spec.submodule_search_locations[0], "Data", "NCI", "first_5K.smi")
    with open(path) as fh:
        lines = [ln.split()[0] for ln in fh if ln.strip()]
    return lines[:: max(1, len(lines) // n)][:n]


def test_matches_ogb_smiles2graph() -> None:
    ogb_mol = require_peer("ogb.utils.mol")
    checked = 0
    for s in TRICKY + nci_smiles(250):
        try:
            ref = ogb_mol.smiles2graph(s)
        except Exception:  # OGB itself crashes on unparsable SMILES; ours raises ValueError (tested below)
            continue
        g = smiles_to_graph(s)
        np.testing.assert_array_equal(g.x.numpy(), ref["node_feat"], err_msg=s)
        np.testing.assert_array_equal(g.edge_index.numpy(), ref["edge_index"], err_msg=s)
        np.testing.assert_array_equal(g.edge_attr.numpy(), ref["edge_feat"], err_msg=s)
        checked += 1
    assert checked > 200


def test_feature_dims_match_ogb() -> None:
    feats = require_peer("ogb.utils.features")
    assert atom_feature_dims() == feats.get_atom_feature_dims()
    assert bond_feature_dims() == feats.get_bond_feature_dims()


def test_graph_shapes_and_batching() -> None:
    a, b = smiles_to_graph("CCO"), smiles_to_graph("[Na+].[Cl-]")
    assert a.x.dtype == torch.long and a.x.shape == (3, 9) and a.edge_attr.shape == (4, 3)
    assert b.num_edges == 0 and b.edge_attr.shape == (0, 3)
    batch = Batch.from_graphs([a, b, a])
    assert batch.num_nodes == 8 and batch.num_edges == 8
    dims = torch.tensor(atom_feature_dims())
    assert bool((batch.x < dims).all())


@pytest.mark.parametrize("bad", ["C1CC", "not a smiles", "C(C)(C)(C)(C)C", ""])
def test_invalid_smiles_raise(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid SMILES"):
        smiles_to_graph(bad)


def test_invalid_smiles_skipped_and_counted() -> None:
    graphs, invalid = smiles_to_graphs(["CCO", "C1CC", "c1ccccc1", "xyz"], skip_invalid=True)
    assert len(graphs) == 2 and invalid == [1, 3]
    with pytest.raises(ValueError, match=r"smiles\[1\]"):
        smiles_to_graphs(["CCO", "C1CC"])
    with pytest.raises(TypeError, match="str"):
        smiles_to_graph(None)  # type: ignore[arg-type]


def test_scaffold_split_keeps_scaffolds_together() -> None:
    from graphkit.data.splits import murcko_scaffold

    smiles = nci_smiles(120)
    split = scaffold_split(smiles)
    allidx = torch.cat(list(split.values())).sort().values
    assert torch.equal(allidx, torch.arange(len(smiles)))
    scaf = [murcko_scaffold(s) for s in smiles]
    sets = {k: {scaf[i] for i in v.tolist()} for k, v in split.items()}
    assert not (sets["train"] & sets["test"]) and not (sets["train"] & sets["valid"])
    assert not (sets["valid"] & sets["test"])
    assert len(split["train"]) >= 0.7 * len(smiles)
    assert scaffold_split(smiles)["test"].tolist() == split["test"].tolist()  # deterministic
    with pytest.raises(ValueError, match=r"smiles\[1\]"):
        scaffold_split(["CCO", "C1CC"])
