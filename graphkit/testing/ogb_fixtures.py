"""The committed OGB-format fixtures (datasets/fixtures/, written by datasets/make_fixtures.py) for tests.

Tests work on a copy, so the processed cache ``load_ogb`` writes never lands in the source tree.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from graphkit.datasets.fixtures import FIXTURE_NAMES, SOURCE_FIXTURES as FIXTURES

__all__ = ["FIXTURES", "FIXTURE_NAMES", "copy_fixtures"]


def copy_fixtures(dst: Path) -> Path:
    """Copy the fixtures (raw files, splits, master.csv; no cache) to ``dst`` and register them from there."""
    from graphkit.datasets.ogb import register_meta

    if not (FIXTURES / "master.csv").is_file():
        raise FileNotFoundError(f"{FIXTURES}/master.csv is missing: run python datasets/make_fixtures.py")
    shutil.copytree(FIXTURES, dst, ignore=shutil.ignore_patterns("processed"), dirs_exist_ok=True)
    register_meta(dst / "master.csv")
    return dst
