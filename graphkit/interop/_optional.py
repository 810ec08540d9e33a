"""Optional peers behind one import helper, so a missing one is a clear ImportError naming what to install."""
from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["optional_import"]

_INSTALL = {
    "torch_geometric": "pip install torch-geometric==2.8.1 (or graphkit[peers])",
    "dgl": "pip install dgl==1.1.3 (or graphkit[peers])",
    "networkx": "pip install networkx",
    "scipy": "pip install scipy",
}


def optional_import(name: str) -> ModuleType:
    try:
        if name == "dgl":
            from graphkit.testing.peers import import_dgl

            return import_dgl()
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"this converter needs {name!r}, which is not importable ({exc}); {_INSTALL[name]}") from exc
