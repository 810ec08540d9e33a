"""The base of graphkit's own data sets: a ``torch.utils.data.Dataset`` of ``Graph`` with splits and a loader.

Every data set here has ``__len__``/``__getitem__`` (an int gives a ``Graph``), ``split`` (``train``,
``valid``, ``test`` int64 index tensors), ``task_type`` and ``eval_metric`` in OGB's vocabulary,
``num_classes`` or ``num_tasks``, and ``loader(split, batch_size)``, a ``DataLoader`` whose batches are
``Batch`` objects (``collate_fn=graphkit.data.collate``). ``graphs`` is the data set itself, so code written for
``load_ogb(...).graphs`` works unchanged. Processed data lives under ``root`` (see ``graphkit.data.cache``).

Every data set takes PyG's ``transform=`` and ``pre_transform=``, handled here once (:meth:`GraphDataset.
set_transforms`): ``transform`` runs on every access (``ds[i]``, and so on every item a loader draws) and is
never stored; ``pre_transform`` runs once per graph, on the first access, and its results are kept in memory (not
in the processed cache, so changing it never reads stale data).
"""
from __future__ import annotations

import importlib.util
import os
from typing import Any, Dict, List, Optional

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset

from graphkit.data.collate import collate
from graphkit.datasets.registry import package_path
from graphkit.graph import Graph
from graphkit.transforms.base import Transform, apply_transform, check_transform

__all__ = ["GraphDataset", "package_file", "DataNotFoundError"]


class DataNotFoundError(FileNotFoundError):
    """The source files of a data set are not on this machine; the message says what to install."""


def package_file(package: str, *parts: str, install: str) -> str:
    """Path of a data file shipped inside an installed package; :class:`DataNotFoundError` names what to install."""
    path = package_path(package, *parts)
    if path is not None:
        return path
    if importlib.util.find_spec(package) is None:
        raise DataNotFoundError(f"package {package!r} is not installed; its data needs: {install}")
    raise DataNotFoundError(f"{os.path.join(*parts)} is missing from the installed {package!r}; "
                            f"reinstall with: {install}")


class GraphDataset(Dataset):
    """Common behaviour: indexing, splits, a DataLoader of ``Batch`` and a one-line summary."""

    name: str = "dataset"
    kind: str = "graph"  # modality: image, pointcloud, mesh, molecule
    task: str = "graph"  # what graphkit.train calls the task this data set implies
    task_type: str = "multiclass classification"
    eval_metric: str = "acc"
    split: Dict[str, Tensor]
    num_classes: Optional[int] = None
    num_tasks: int = 1
    classes: Optional[list] = None

    transform: Optional[Transform] = None
    pre_transform: Optional[Transform] = None
    _pre_transformed: Optional[List[Graph]] = None

    def set_transforms(self, transform: Optional[Transform] = None, pre_transform: Optional[Transform] = None) -> None:
        """Keep ``transform`` (applied on every access) and ``pre_transform`` (applied once per graph); each
        subclass's constructor passes its ``transform=`` / ``pre_transform=`` here."""
        self.transform = check_transform(transform, "transform")
        self.pre_transform = check_transform(pre_transform, "pre_transform")
        self._pre_transformed = None

    def __len__(self) -> int:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def get(self, i: int) -> Graph:  # pragma: no cover - every subclass defines it
        """Graph ``i`` as stored (before any transform)."""
        raise NotImplementedError

    def _stored(self, i: int) -> Graph:
        if self.pre_transform is None:
            return self.get(i)
        if self._pre_transformed is None:  # once, for every graph, as PyG's processing step does
            self._pre_transformed = [self.pre_transform(self.get(j)) for j in range(len(self))]
        return self._pre_transformed[i]

    def __getitem__(self, i: int) -> Graph:
        if isinstance(i, Tensor):
            i = int(i)
        if not isinstance(i, int):
            raise TypeError(f"index must be an int, got {type(i).__name__}; use subset() for many")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for {self.name} with {n} graphs")
        return apply_transform(self.transform, self._stored(i % n))

    @property
    def graphs(self) -> "GraphDataset":
        return self

    @property
    def num_features(self) -> int:
        return int(self[0].x.size(-1))

    def subset(self, split: str) -> Subset:
        if split not in self.split:
            raise KeyError(f"{self.name} has splits {sorted(self.split)}, not {split!r}")
        return Subset(self, self.split[split].tolist())

    def loader(self, split: str = "train", batch_size: int = 32, shuffle: Optional[bool] = None,
               **kwargs: Any) -> DataLoader:
        """A ``DataLoader`` over one split, yielding ``Batch``; shuffles the training split by default."""
        shuffle = (split == "train") if shuffle is None else shuffle
        return DataLoader(self.subset(split), batch_size=batch_size, shuffle=shuffle, collate_fn=collate, **kwargs)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.split.items())
        return f"{type(self).__name__}({len(self)} graphs; {sizes})"
