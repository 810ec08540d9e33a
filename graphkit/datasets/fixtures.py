"""The bundled OGB-format fixtures: small real data sets in ``datasets/fixtures/`` of the source tree.

``ogbn-drosophila`` (node classification), ``ogbl-connectome`` (link prediction), ``ogbg-freesolv`` (graph
regression) and ``ogbg-b3db`` (graph classification), written by ``datasets/make_fixtures.py`` with ogb's own
``DatasetSaver``. ``load_ogb("ogbn-drosophila")`` finds them by name: it calls :func:`fixtures_dir`, which
registers their ``master.csv`` with :func:`graphkit.datasets.ogb.register_meta`. ``$GRAPHKIT_FIXTURES`` points at
another copy of the folder (tests use one, so the processed cache never lands in the source tree).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

__all__ = ["FIXTURE_NAMES", "FIXTURES_ENV", "SOURCE_FIXTURES", "fixtures_dir"]

FIXTURE_NAMES = ("ogbn-drosophila", "ogbl-connectome", "ogbg-freesolv", "ogbg-b3db")
FIXTURES_ENV = "GRAPHKIT_FIXTURES"
SOURCE_FIXTURES = Path(__file__).resolve().parents[2] / "datasets" / "fixtures"


def fixtures_dir() -> Optional[Path]:
    """The fixtures folder (``$GRAPHKIT_FIXTURES``, else the source tree's), registered with ``load_ogb``.

    ``None`` when the folder has no ``master.csv`` (an install without the source tree).
    """
    from graphkit.datasets.ogb import register_meta

    env = os.environ.get(FIXTURES_ENV)
    path = Path(env) if env else SOURCE_FIXTURES
    if (path / "master.csv").is_file():
        register_meta(path / "master.csv")
        return path
    return None
