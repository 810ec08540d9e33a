"""A session-wide copy of the OGB-format fixtures (loading them writes a cache next to them)."""
from __future__ import annotations

import pytest

from graphkit.testing.ogb_fixtures import copy_fixtures


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory):
    return copy_fixtures(tmp_path_factory.mktemp("ogb_fixtures"))
