"""Molecules as graphs with OGB's integer atom and bond features (``ogb.utils.smiles2graph``, re-implemented).

Atoms are nodes with 9 integer features, each an index into a fixed vocabulary (last entry = "misc"):
atomic number, chirality tag, total degree, formal charge, total H count, radical electrons, hybridisation,
aromatic, in ring. Every bond gives two directed edges ``(i, j), (j, i)`` in RDKit's bond order, each with 3
features: bond type, stereo, conjugated. Embedding tables sized by :func:`atom_feature_dims` /
:func:`bond_feature_dims` therefore work unchanged with OGB's ``AtomEncoder``/``BondEncoder`` and with
ogbg-molhiv/molpcba models.
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import torch

from graphkit.graph import Graph

__all__ = ["smiles_to_graph", "smiles_to_graphs", "mol_to_graph", "atom_feature_dims", "bond_feature_dims"]

ATOM_VOCAB: Dict[str, List[Any]] = {
    "atomic_num": list(range(1, 119)) + ["misc"],
    "chirality": ["CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW", "CHI_OTHER", "misc"],
    "degree": list(range(11)) + ["misc"],
    "formal_charge": list(range(-5, 6)) + ["misc"],
    "num_hs": list(range(9)) + ["misc"],
    "num_radical_e": list(range(5)) + ["misc"],
    "hybridization": ["SP", "SP2", "SP3", "SP3D", "SP3D2", "misc"],
    "is_aromatic": [False, True],
    "is_in_ring": [False, True],
}
BOND_VOCAB: Dict[str, List[Any]] = {
    "bond_type": ["SINGLE", "DOUBLE", "TRIPLE", "AROMATIC", "misc"],
    "stereo": ["STEREONONE", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS", "STEREOANY"],
    "is_conjugated": [False, True],
}
# value -> index lookups; an unknown value maps to the last index ("misc"), as OGB's safe_index does.
_ATOM_INDEX = [{v: i for i, v in enumerate(vocab)} for vocab in ATOM_VOCAB.values()]
_BOND_INDEX = [{v: i for i, v in enumerate(vocab)} for vocab in BOND_VOCAB.values()]


def atom_feature_dims() -> List[int]:
    """Vocabulary size of each of the 9 atom features (OGB's ``get_atom_feature_dims``)."""
    return [len(v) for v in ATOM_VOCAB.values()]


def bond_feature_dims() -> List[int]:
    """Vocabulary size of each of the 3 bond features (OGB's ``get_bond_feature_dims``)."""
    return [len(v) for v in BOND_VOCAB.values()]


def _chem() -> Any:
    try:
        from rdkit import Chem
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("molecule graphs need RDKit: pip install 'graphkit[chem]'") from None
    return Chem


def _index(table: Dict[Any, int], value: Any) -> int:
    return table.get(value, len(table) - 1)


def mol_to_graph(mol: Any) -> Graph:
    """An RDKit ``Mol`` as a ``Graph`` with OGB features (see :func:`smiles_to_graph`)."""
    atoms = []
    for atom in mol.GetAtoms():
        values = (
            atom.GetAtomicNum(), str(atom.GetChiralTag()), atom.GetTotalDegree(), atom.GetFormalCharge(),
            atom.GetTotalNumHs(), atom.GetNumRadicalElectrons(), str(atom.GetHybridization()),
            atom.GetIsAromatic(), atom.IsInRing(),
        )
        atoms.append([_index(t, v) for t, v in zip(_ATOM_INDEX, values)])
    edges, feats = [], []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        values = (str(bond.GetBondType()), str(bond.GetStereo()), bond.GetIsConjugated())
        feat = [_index(t, v) for t, v in zip(_BOND_INDEX, values)]
        edges += [(i, j), (j, i)]
        feats += [feat, feat]
    x = torch.tensor(atoms, dtype=torch.long).reshape(-1, len(ATOM_VOCAB))
    edge_index = torch.tensor(edges, dtype=torch.long).reshape(-1, 2).t().contiguous()
    edge_attr = torch.tensor(feats, dtype=torch.long).reshape(-1, len(BOND_VOCAB))
    return Graph(x=x, edge_index=edge_index, edge_attr=edge_attr)


def _parse(smiles: Any) -> Any:
    if not isinstance(smiles, str):
        raise TypeError(f"smiles must be a str, got {type(smiles).__name__}")
    Chem = _chem()
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")  # RDKit prints parse errors to stderr; we raise with the reason instead
    try:
        mol = Chem.MolFromSmiles(smiles)
    finally:
        RDLogger.EnableLog("rdApp.*")
    if mol is None:
        raise ValueError(f"invalid SMILES {smiles!r}: RDKit could not parse or sanitise it")
    if mol.GetNumAtoms() == 0:
        raise ValueError(f"invalid SMILES {smiles!r}: it has no atoms")
    return mol


def smiles_to_graph(smiles: str) -> Graph:
    """Parse a SMILES string into a molecule graph with OGB-compatible integer features.

    Raises ``ValueError`` naming the string when RDKit cannot parse it or it has no atoms.

    Shapes:
        - output ``x``: ``(num_atoms, 9)`` int64; ``edge_index``: ``(2, 2 num_bonds)``;
          ``edge_attr``: ``(2 num_bonds, 3)`` int64

    >>> g = smiles_to_graph("CCO")
    >>> g.x[:, 0].tolist(), g.edge_index.tolist()
    ([5, 5, 7], [[0, 1, 1, 2], [1, 0, 2, 1]])
    """
    return mol_to_graph(_parse(smiles))


def smiles_to_graphs(smiles: Sequence[str], skip_invalid: bool = False) -> Tuple[List[Graph], List[int]]:
    """Convert many SMILES: ``(graphs, invalid)`` where ``invalid`` lists the positions that failed.

    With ``skip_invalid=False`` the first invalid SMILES raises ``ValueError`` (naming its position); with
    ``True`` it is skipped and counted in ``invalid``, so ``len(graphs) + len(invalid) == len(smiles)``.
    """
    graphs, invalid = [], []
    for i, s in enumerate(smiles):
        try:
            graphs.append(smiles_to_graph(s))
        except (ValueError, TypeError) as exc:
            if not skip_invalid:
                raise type(exc)(f"smiles[{i}]: {exc}") from None
            invalid.append(i)
    return graphs, invalid
