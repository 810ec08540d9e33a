"""The base of graphkit's own data sets: a ``torch.utils.data.Dataset`` of ``Graph`` with splits and a loader.

Every data set here has ``__len__``/``__getitem__`` (an int gives a ``Graph``), ``split`` (``train``,
``valid``, ``test`` int64 index tensors), ``task_type`` and ``eval_metric`` in OGB's vocabulary,
``num_classes`` or ``num_tasks``, and ``loader(split, batch_size)``, a ``DataLoader`` whose batches are
``Batch`` objects (``collate_fn=graphkit.data.collate``). ``graphs`` is the data set itself, so code written for
``load_ogb(...).graphs`` works unchanged. Processed data lives under ``root`` (see ``graphkit.data.cache``).
"""
from __future__ import annotations

import importlib.util
import os
from typing import Any, Dict, Optional

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset

from graphkit.data.collate import collate
from graphkit.datasets.registry import package_path
from graphkit.graph import Graph

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

    def __len__(self) -> int:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def get(self, i: int) -> Graph:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __getitem__(self, i: int) -> Graph:
        if isinstance(i, Tensor):
            i = int(i)
        if not isinstance(i, int):
            raise TypeError(f"index must be an int, got {type(i).__name__}; use subset() for many")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for {self.name} with {n} graphs")
        return self.get(i % n)

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
