"""Importing peer libraries (PyG, DGL, torch-scatter, torch-sparse, ogb) for parity tests.

Outside CI a missing peer skips the test. With ``GRAPHKIT_REQUIRE_PEERS=1`` (set by ``.ci/run``) a missing
peer fails it, so a parity test can never silently stop running.
"""
from __future__ import annotations

import importlib
import os
import sys
import types
from types import ModuleType

__all__ = ["require_peer", "peers_required", "import_dgl"]


def peers_required() -> bool:
    return os.environ.get("GRAPHKIT_REQUIRE_PEERS", "") not in ("", "0")


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


def require_peer(name: str) -> ModuleType:
    """Return the peer module ``name``; skip the calling test if it is missing (fail under CI's flag)."""
    import pytest

    try:
        if name == "dgl":
            return import_dgl()
        return importlib.import_module(name)
    except Exception as exc:  # a broken native library raises OSError, not ImportError
        msg = f"peer {name!r} is not importable: {type(exc).__name__}: {exc}"
        if peers_required():
            pytest.fail(msg + " (GRAPHKIT_REQUIRE_PEERS=1 makes this an error)", pytrace=False)
        pytest.skip(msg)
