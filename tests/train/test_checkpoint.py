"""Checkpoints: atomic, weights_only-loadable, RNG exact, damage reported clearly."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from graphkit.train.checkpoint import CheckpointError, load_checkpoint, rng_state, save_checkpoint, set_rng_state


def test_rng_state_round_trip_through_weights_only(tmp_path):
    model = torch.nn.Linear(2, 2)
    state = {"format": 1, "rng": rng_state(), "model": model.state_dict(), "epoch": 3}
    save_checkpoint(state, tmp_path / "c.pt")
    expected = (torch.rand(3), np.random.rand(3), random.random())
    loaded = torch.load(tmp_path / "c.pt", weights_only=True)  # plain types only: no allow-list needed
    set_rng_state(loaded["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1]) and random.random() == expected[2]
    assert load_checkpoint(tmp_path / "c.pt")["epoch"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing", "foreign"])
def test_damaged_checkpoint_is_one_clear_error(tmp_path, damage):
    path = tmp_path / "last.pt"
    save_checkpoint({"format": 1, "w": torch.randn(100)}, path)
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:200])
    elif damage == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif damage == "missing":
        path.unlink()
    else:
        torch.save({"w": 1}, path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
