"""Checkpoints that survive a crash and load with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts: model, optimiser and scheduler state,
the RNG states of torch (and CUDA), numpy and Python's ``random`` (converted to tensors and plain types, so no
unpickling of arbitrary classes is ever needed), and the epoch. Writes go to a temporary file in the same folder,
are ``fsync``-ed and then ``os.replace``-d over the target, so a kill at any moment leaves either the old or
the new checkpoint, never half of one.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Dict, Union

import numpy as np
import torch

from graphkit.io.atomic import atomic_write

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "rng_state", "set_rng_state"]


class CheckpointError(RuntimeError):
    """A checkpoint is missing, truncated, corrupted or not a graphkit checkpoint."""


def rng_state() -> Dict[str, Any]:
    np_state = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state: Dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": np_state[0], "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                  "pos": int(np_state[2]), "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": {"version": py_version, "internal": torch.tensor(py_internal, dtype=torch.int64),
                   "gauss_next": py_gauss},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["internal"].tolist()), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(state: Dict[str, Any], path: Union[str, Path]) -> None:
    """Write ``state`` atomically (:func:`graphkit.io.atomic_write`: tmp file, fsync, ``os.replace``)."""
    atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(path: Union[str, Path], map_location: Any = "cpu") -> Dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; any damage becomes one clear :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, bad magic, unpickling refused: all mean "damaged"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {path} is corrupted or truncated ({first[:160]}); "
                              "delete it or start a fresh run") from None
    if not isinstance(state, dict) or "format" not in state:
        raise CheckpointError(f"checkpoint {path} is not a graphkit checkpoint (no 'format' entry)")
    return state
