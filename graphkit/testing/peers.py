"""Importing peer libraries (PyG, DGL, torch-scatter, torch-sparse, ogb) for parity tests.

Outside CI a missing peer skips the test. With ``GRAPHKIT_REQUIRE_PEERS=1`` (set by ``.ci/run``) a missing
peer fails it, so a parity test can never silently stop running.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

from graphkit.interop._optional import import_dgl  # the one DGL import shim lives with the runtime

__all__ = ["require_peer", "peers_required", "import_dgl"]


def peers_required() -> bool:
    return os.environ.get("GRAPHKIT_REQUIRE_PEERS", "") not in ("", "0")


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
