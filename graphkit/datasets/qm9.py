"""QM9 (Ramakrishnan et al., 2014): 130,831 small organic molecules with 3D geometry and 19 quantum targets.

Raw files, as MoleculeNet distributes them: ``gdb9.sdf`` (V2000 records with DFT geometries), ``gdb9.sdf.csv``
(``mol_id`` and 19 properties) and ``uncharacterized.txt`` (3,054 molecules whose geometry failed a consistency
check; skipped). Each molecule becomes a graph as PyG's ``QM9`` builds it:

* ``x`` ``[N, 11]``: one-hot H, C, N, O, F; atomic number; aromatic; sp, sp2, sp3 (as RDKit reads the
  unsanitised record); number of bonded hydrogens. ``z`` ``[N]`` atomic numbers, ``pos`` ``[N, 3]`` in Angstrom.
* ``edge_index`` both directions of every bond, sorted by (source, target); ``edge_attr`` ``[E, 4]`` one-hot
  single, double, triple, aromatic.
* ``y`` ``[1, 19]``: mu (D), alpha (a0^3), HOMO, LUMO, gap (eV), R^2 (a0^2), ZPVE (eV), U0, U, H, G (eV), Cv
  (cal/mol K), U0, U, H, G of atomisation (eV), A, B, C (GHz): the CSV's columns with energies converted from
  Hartree and kcal/mol to eV and the rotational constants moved last (:data:`QM9_TARGETS`). ``idx`` is the
  molecule's position in the SDF.

The SDF is parsed with RDKit (``pip install rdkit``); without it, loading stops with one line saying so.
``QM9(root)`` downloads into ``<root>/QM9/raw`` and caches ``<root>/QM9/processed``; ``split`` is a seeded random
80 / 10 / 10 (QM9 has no official split).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, List, Optional

import numpy as np
import torch

from graphkit.data.cache import PackedGraphs, cached, pack_graphs
from graphkit.data.splits import random_split
from graphkit.datasets.base import DataNotFoundError, GraphDataset
from graphkit.datasets.remote import extract_zip, fetch
from graphkit.graph import Graph
from graphkit.io.store import default_root

__all__ = ["QM9", "read_qm9", "QM9_TARGETS", "QM9_URL", "QM9_UNCHARACTERIZED_URL"]

QM9_URL = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/molnet_publish/qm9.zip"
QM9_UNCHARACTERIZED_URL = "https://ndownloader.figshare.com/files/3195404"
QM9_TARGETS = ("mu", "alpha", "homo", "lumo", "gap", "r2", "zpve", "U0", "U", "H", "G", "Cv",
               "U0_atom", "U_atom", "H_atom", "G_atom", "A", "B", "C")
HARTREE_EV, KCALMOL_EV = 27.211386246, 0.04336414
# Per target (in QM9_TARGETS order): Hartree -> eV for the electronic energies, kcal/mol -> eV for atomisation.
_UNITS = np.array([1, 1] + [HARTREE_EV] * 3 + [1] + [HARTREE_EV] * 5 + [1] + [KCALMOL_EV] * 4 + [1] * 3,
                  dtype=np.float32)
_TYPES = {1: 0, 6: 1, 7: 2, 8: 3, 9: 4}
RAW = ("gdb9.sdf", "gdb9.sdf.csv", "uncharacterized.txt")


def _targets(path: Path) -> np.ndarray:
    # float32 throughout, as PyG converts, so the targets agree bit for bit with PyG's QM9
    table = np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(1, 20), dtype=np.float32, ndmin=2)
    return np.concatenate([table[:, 3:], table[:, :3]], axis=1) * _UNITS


def _uncharacterized(path: Path) -> set:
    """0-based positions listed in ``uncharacterized.txt`` (9 header lines, one per molecule, a footer line)."""
    lines = path.read_text().split("\n")[9:-2]
    return {int(line.split()[0]) - 1 for line in lines if line.strip()}


def read_qm9(raw: Path) -> List[Graph]:
    try:
        from rdkit import Chem, RDLogger
        from rdkit.Chem.rdchem import BondType, HybridizationType
    except ImportError:
        raise DataNotFoundError("QM9 parses gdb9.sdf with RDKit, which is not installed: pip install rdkit") from None
    bond_kind = {BondType.SINGLE: 0, BondType.DOUBLE: 1, BondType.TRIPLE: 2, BondType.AROMATIC: 3}
    hybrid = (HybridizationType.SP, HybridizationType.SP2, HybridizationType.SP3)
    y, skip = _targets(raw / "gdb9.sdf.csv"), _uncharacterized(raw / "uncharacterized.txt")
    graphs = []
    RDLogger.DisableLog("rdApp.*")
    try:
        supplier = Chem.SDMolSupplier(str(raw / "gdb9.sdf"), removeHs=False, sanitize=False)
        for i, mol in enumerate(supplier):
            if i in skip:
                continue
            if mol is None:
                raise ValueError(f"{raw / 'gdb9.sdf'}: record {i} is not a valid molfile")
            if i >= len(y):
                raise ValueError(f"{raw / 'gdb9.sdf.csv'} has {len(y)} rows; the SDF has more records")
            atoms = list(mol.GetAtoms())
            z = torch.tensor([a.GetAtomicNum() for a in atoms], dtype=torch.long)
            bad = sorted(set(z.tolist()) - set(_TYPES))
            if bad:
                raise ValueError(f"{raw / 'gdb9.sdf'}: record {i} has elements {bad}; QM9 holds only H, C, N, O, F")
            n = len(atoms)
            pairs = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx(), bond_kind[b.GetBondType()]) for b in mol.GetBonds()]
            src = torch.tensor([p for s, t, _ in pairs for p in (s, t)], dtype=torch.long)
            dst = torch.tensor([p for s, t, _ in pairs for p in (t, s)], dtype=torch.long)
            kind = torch.tensor([k for *_, k in pairs for _ in range(2)], dtype=torch.long)
            order = torch.argsort(src * n + dst)
            ei = torch.stack([src[order], dst[order]]).view(2, -1)
            num_h = torch.zeros(n).index_add_(0, ei[1], (z[ei[0]] == 1).float())
            chem = torch.tensor([[a.GetAtomicNum(), float(a.GetIsAromatic())] +
                                 [float(a.GetHybridization() == h) for h in hybrid] for a in atoms], dtype=torch.float)
            x = torch.cat([torch.nn.functional.one_hot(torch.tensor([_TYPES[int(v)] for v in z]), 5).float(),
                           chem, num_h.view(-1, 1)], dim=1)
            pos = torch.tensor(mol.GetConformer().GetPositions(), dtype=torch.float)
            g = Graph(x=x, edge_index=ei, edge_attr=torch.nn.functional.one_hot(kind[order], 4).float().view(-1, 4),
                      pos=pos, z=z, kinds={"z": "node"}, num_nodes=n)
            g.set("y", torch.from_numpy(y[i:i + 1]), "graph")
            g.set("idx", torch.tensor([i]), "graph")
            graphs.append(g)
    finally:
        RDLogger.EnableLog("rdApp.*")
    return graphs


class QM9(GraphDataset):
    """QM9 molecules with 3D positions and 19 regression targets (``y[:, QM9_TARGETS.index("gap")]`` etc.).

    Args:
        root: data folder (``$GRAPHKIT_DATA`` or ``~/.cache/graphkit``); raw files in ``<root>/QM9/raw``.
        transform: applied to each graph on access (e.g. ``graphkit.transforms.RadiusGraph(5.0)``).
        pre_transform: applied once per graph, on the first access.
        download: fetch missing files; ``False`` raises :class:`DataNotFoundError` naming them.
        seed: seed of the random 80 / 10 / 10 ``split``.
    """

    name, kind, task_type, eval_metric, num_tasks = "qm9", "molecule", "regression", "mae", len(QM9_TARGETS)

    def __init__(self, root: Optional[str] = None, transform: Optional[Callable[[Graph], Graph]] = None,
                 download: bool = True, seed: int = 0, pre_transform: Optional[Callable[[Graph], Graph]] = None
                 ) -> None:
        self.set_transforms(transform, pre_transform)
        raw = Path(root if root is not None else default_root()) / "QM9" / "raw"

        def build() -> tuple:
            if not (raw / "gdb9.sdf").is_file() or not (raw / "gdb9.sdf.csv").is_file():
                archive = fetch(QM9_URL, raw / "qm9.zip", "QM9", download)
                extract_zip(archive, raw, "QM9")
                archive.unlink()
            fetch(QM9_UNCHARACTERIZED_URL, raw / "uncharacterized.txt", "QM9", download)
            return pack_graphs(read_qm9(raw), prefix="g:")

        arrays, meta = cached(root, "QM9", {"qm9": 1}, build)
        self.store = PackedGraphs(arrays, meta, prefix="g:")
        self.split = random_split(len(self.store), (0.8, 0.1, 0.1), seed)

    def __len__(self) -> int:
        return len(self.store)

    def get(self, i: int) -> Graph:
        return self.store[i]
