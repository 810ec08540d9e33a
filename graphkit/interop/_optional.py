"""Optional peers behind one import helper, so a missing one is a clear ImportError naming what to install."""
from __future__ import annotations

import importlib
import os
import sys
import types
from types import ModuleType

__all__ = ["optional_import", "import_dgl"]

_INSTALL = {
    "torch_geometric": "pip install torch-geometric==2.8.1 (or graphkit[peers])",
    "dgl": "pip install dgl==1.1.3 (or graphkit[peers])",
    "networkx": "pip install networkx",
    "scipy": "pip install scipy",
}


def optional_import(name: str) -> ModuleType:
    """Import ``name`` (a dotted name is fine: ``torch_geometric.data``); a missing package is an ImportError
    that says what to install."""
    try:
        if name == "dgl":
            return import_dgl()
        return importlib.import_module(name)
    except ImportError as exc:
        package = name.split(".")[0]
        hint = _INSTALL.get(package, f"pip install {package}")
        raise ImportError(f"this converter needs {package!r}, which is not importable ({exc}); {hint}") from exc


def import_dgl() -> ModuleType:
    """Import DGL 1.1.3, the only DGL that loads next to torch 2.13.

    DGL 1.1.3 imports ``setuptools.extern.packaging``, which setuptools >= 70 removed. Rather than pin an old
    setuptools (which fights torch's own requirement), alias that module to the standalone ``packaging``.
    DGL also pulls ``torchdata``/``graphbolt`` in 2.x only, so nothing else is needed here.
    """
    if "dgl" in sys.modules:
        return sys.modules["dgl"]
    try:
        importlib.import_module("setuptools.extern.packaging")
    except ImportError:
        import packaging
        import packaging.version

        extern = sys.modules.get("setuptools.extern") or types.ModuleType("setuptools.extern")
        extern.packaging = packaging  # type: ignore[attr-defined]
        sys.modules["setuptools.extern"] = extern
        sys.modules["setuptools.extern.packaging"] = packaging
        sys.modules["setuptools.extern.packaging.version"] = packaging.version
    os.environ.setdefault("DGLBACKEND", "pytorch")
    return importlib.import_module("dgl")
