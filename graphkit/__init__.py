"""graphkit: one sparse graph batch, fused message passing, and OGB training.

Sub-packages load on first use, as in PyG after ``import torch_geometric``: ``import graphkit`` followed by
``graphkit.nn.GCNConv``, ``graphkit.ops.spmm`` or ``graphkit.loader.DataLoader`` works, while ``import graphkit``
itself (and so ``graphkit --help``) does not import torch.
"""
from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any, List

__version__ = "0.1.0"
__all__ = ["Graph", "Batch", "HeteroGraph", "HeteroBatch", "__version__"]

_SUBMODULES = ("nn", "ops", "loader", "data", "datasets", "train", "interop", "testing", "typing", "graph", "batch",
               "cli", "hetero", "hetero_batch")
_ATTRIBUTES = {"Graph": "graphkit.graph", "Batch": "graphkit.batch", "HeteroGraph": "graphkit.hetero",
               "HeteroBatch": "graphkit.hetero_batch"}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these come from __getattr__
    from graphkit.batch import Batch
    from graphkit.graph import Graph
    from graphkit.hetero import HeteroGraph
    from graphkit.hetero_batch import HeteroBatch


def __getattr__(name: str) -> Any:
    if name in _ATTRIBUTES:
        value = getattr(importlib.import_module(_ATTRIBUTES[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"graphkit.{name}")
    raise AttributeError(f"module 'graphkit' has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_ATTRIBUTES) | set(_SUBMODULES))


# When torch is already loaded, Graph and Batch cost nothing more: import them now so that
# ``torch.load(path, weights_only=True)`` can rebuild them right after ``import graphkit`` (the modules
# register themselves as safe globals).
if "torch" in sys.modules:
    from graphkit.batch import Batch  # noqa: E402,F811
    from graphkit.graph import Graph  # noqa: E402,F811
    from graphkit.hetero import HeteroGraph  # noqa: E402,F811
    from graphkit.hetero_batch import HeteroBatch  # noqa: E402,F811
