"""Shared fixtures: deterministic seeds, and a session-wide copy of the OGB-format fixtures."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

from graphkit.testing.ogb_fixtures import copy_fixtures

# Two cores are shared by CI; intra-op threads beyond that only add contention in tests.
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory):
    """A copy of datasets/fixtures, registered with load_ogb (loading writes a cache next to it, not in the tree)."""
    return copy_fixtures(tmp_path_factory.mktemp("ogb_fixtures"))


@pytest.fixture(scope="session")
def hetero_fixtures(tmp_path_factory):
    """Where the heterogeneous fixtures (built from pykeen's and recbole's files) go for this session; built
    once on first load, never in the source tree or the user's data folder."""
    from graphkit.testing import require_peer

    require_peer("ogb")
    pytest.importorskip("pykeen")
    root = tmp_path_factory.mktemp("hetero_fixtures")
    mp = pytest.MonkeyPatch()
    mp.setenv("GRAPHKIT_HETERO_FIXTURES", str(root))
    yield root
    mp.undo()
