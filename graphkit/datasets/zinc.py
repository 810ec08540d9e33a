"""ZINC (Irwin et al., 2012) as used by Dwivedi et al.'s GNN benchmark: constrained solubility regression.

The raw files are ``molecules/{train,val,test}.pickle`` (lists of dicts of torch tensors: ``atom_type`` [N],
``bond_type`` [N, N] adjacency with the bond type, ``logP_SA_cycle_normalized`` [1]) and ``{split}.index`` (the
12k-molecule subset: one line of comma-separated positions). They are read with
:data:`graphkit.datasets.safe_pickle.TORCH_TENSOR_TYPES`: the tensors' storages go through
``torch.load(weights_only=True)``, never a full unpickler. Each molecule becomes a graph with ``x`` = atom type
``[N, 1]`` (long, 28 types), ``edge_index`` the nonzeros of ``bond_type`` (row-major, both directions),
``edge_attr`` their bond type ``[E]`` (long) and ``y`` ``[1]`` (float), as PyG's ``ZINC`` builds them.

``ZINC(root, subset=True)`` downloads into ``<root>/ZINC/raw`` and caches ``<root>/ZINC/{subset,full}/processed``.
The benchmark's own split is ``split["train"|"valid"|"test"]`` (10k / 1k / 1k for the subset, 220k / 24k / 5k full).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np
import torch

from graphkit.data.cache import PackedGraphs, cached, pack_graphs
from graphkit.datasets.base import GraphDataset
from graphkit.datasets.remote import extract_zip, fetch
from graphkit.datasets.safe_pickle import TORCH_TENSOR_TYPES, load_pickle
from graphkit.graph import Graph
from graphkit.io.store import default_root

__all__ = ["ZINC", "read_zinc_split", "ZINC_URL", "ZINC_INDEX_URL"]

ZINC_URL = "https://www.dropbox.com/s/feo9qle74kg48gy/molecules.zip?dl=1"
ZINC_INDEX_URL = "https://raw.githubusercontent.com/graphdeeplearning/benchmarking-gnns/master/data/molecules/{}.index"
SPLITS = {"train": "train", "valid": "val", "test": "test"}
_TENSORS = "torch tensors, their storages (weights_only) and dict/list"


def read_zinc_split(raw: Path, part: str, subset: bool) -> List[Graph]:
    """The molecules of ``<raw>/<part>.pickle`` (only those listed in ``<part>.index`` when ``subset``)."""
    path = raw / f"{part}.pickle"
    mols = load_pickle(path, TORCH_TENSOR_TYPES, _TENSORS)
    if not isinstance(mols, list):
        raise ValueError(f"{path}: expected a list of molecules, got {type(mols).__name__}")
    order = range(len(mols))
    if subset:
        text = (raw / f"{part}.index").read_text().strip()
        order = [int(v) for v in text.split(",")] if text else []
    graphs = []
    for i in order:
        mol = mols[i]
        try:
            atoms, adj, target = mol["atom_type"], mol["bond_type"], mol["logP_SA_cycle_normalized"]
        except (KeyError, TypeError):
            raise ValueError(f"{path}: molecule {i} lacks atom_type / bond_type / logP_SA_cycle_normalized") from None
        if not all(isinstance(t, torch.Tensor) for t in (atoms, adj, target)):
            raise ValueError(f"{path}: molecule {i} must hold tensors, got {type(atoms).__name__}, "
                             f"{type(adj).__name__}, {type(target).__name__}")
        n = atoms.numel()
        if adj.shape != (n, n):
            raise ValueError(f"{path}: molecule {i} has {n} atoms but a bond_type matrix of shape {tuple(adj.shape)}")
        ei = adj.nonzero().t().contiguous()
        g = Graph(x=atoms.long().view(-1, 1), edge_index=ei, edge_attr=adj[ei[0], ei[1]].long(), num_nodes=n)
        g.set("y", target.float().view(-1), "graph")
        graphs.append(g)
    return graphs


class ZINC(GraphDataset):
    """ZINC molecules with the benchmark's train / valid / test split, constrained-solubility regression (MAE).

    Args:
        root: data folder (``$GRAPHKIT_DATA`` or ``~/.cache/graphkit``); raw files in ``<root>/ZINC/raw``.
        subset: the 12k-molecule subset (``True``, the usual benchmark) or all 250k molecules.
        transform: applied to each graph on access. pre_transform: applied once per graph (first access).
        download: fetch missing files; ``False`` raises :class:`DataNotFoundError` naming them.
    """

    kind, task_type, eval_metric, num_tasks = "molecule", "regression", "mae", 1

    def __init__(self, root: Optional[str] = None, subset: bool = True,
                 transform: Optional[Callable[[Graph], Graph]] = None, download: bool = True,
                 pre_transform: Optional[Callable[[Graph], Graph]] = None) -> None:
        self.name = "zinc-subset" if subset else "zinc-full"
        self.set_transforms(transform, pre_transform)
        folder = Path(root if root is not None else default_root()) / "ZINC"
        raw = folder / "raw"

        def build() -> tuple:
            if not all((raw / f"{p}.pickle").is_file() for p in SPLITS.values()):
                archive = fetch(ZINC_URL, folder / "molecules.zip", "ZINC", download)
                extract_zip(archive, folder, "ZINC")
                raw.mkdir(parents=True, exist_ok=True)
                for path in (folder / "molecules").glob("*.pickle"):
                    path.replace(raw / path.name)
                shutil.rmtree(folder / "molecules", ignore_errors=True)
                archive.unlink()
            graphs: List[Graph] = []
            counts = {}
            for key, part in SPLITS.items():
                if subset:
                    fetch(ZINC_INDEX_URL.format(part), raw / f"{part}.index", "ZINC", download)
                part_graphs = read_zinc_split(raw, part, subset)
                counts[key] = len(part_graphs)
                graphs += part_graphs
            arrays, meta = pack_graphs(graphs, prefix="g:")
            meta["counts"] = counts
            return arrays, meta

        arrays, meta = cached(root, f"ZINC/{'subset' if subset else 'full'}", {"zinc": self.name, "format": 1}, build)
        self.store = PackedGraphs(arrays, meta, prefix="g:")
        bounds = np.cumsum([0] + [meta["counts"][k] for k in SPLITS]).tolist()
        self.split = {k: torch.arange(bounds[i], bounds[i + 1]) for i, k in enumerate(SPLITS)}

    def __len__(self) -> int:
        return len(self.store)

    def get(self, i: int) -> Graph:
        return self.store[i]
