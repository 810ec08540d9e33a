"""ogb's official ``Evaluator``, imported without ogb's package ``__init__`` (which imports PyG and DGL)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

from graphkit.datasets.ogb_meta import PREFIXES, official_metas

__all__ = ["official_evaluator", "evaluate_module"]


def evaluate_module(sub: str) -> Any:
    """``ogb.<sub>.evaluate`` without running ``ogb.<sub>/__init__``, which imports PyG and DGL (seconds)."""
    import importlib.util

    full = f"ogb.{sub}.evaluate"
    if full in sys.modules:
        return sys.modules[full]
    spec = importlib.util.find_spec("ogb")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("graphkit.datasets.load_ogb needs ogb: pip install ogb==1.3.6")
    path = Path(spec.submodule_search_locations[0]) / sub / "evaluate.py"
    mod_spec = importlib.util.spec_from_file_location(f"graphkit._ogb_{sub}_evaluate", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)  # type: ignore[union-attr]
    sys.modules[full] = module
    return module


def official_evaluator(kind: str, eval_metric: str, num_tasks: Optional[int] = None, name: str = "custom") -> Any:
    """ogb's own ``Evaluator`` for ``kind`` ("ogbn", "ogbl", "ogbg") computing ``eval_metric``.

    ogb's ``__init__`` only looks the name up in its master.csv; for any other name (a registered fixture, or a
    second metric such as ``hits@50`` next to a set's own) the instance is told the metric directly, and ogb's
    evaluation code runs unchanged.
    """
    cls = evaluate_module(PREFIXES[kind]).Evaluator
    if name in official_metas() and official_metas()[name]["eval metric"] == eval_metric:
        return cls(name)
    ev = cls.__new__(cls)
    ev.name, ev.eval_metric = name, eval_metric
    if num_tasks is not None:
        ev.num_tasks = int(num_tasks)
    if "hits@" in eval_metric:
        ev.K = int(eval_metric.split("@")[1])
    return ev
