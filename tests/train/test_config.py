"""TrainConfig: YAML, precedence and validation."""
from __future__ import annotations

import pytest

from graphkit.train.config import TrainConfig, load_yaml


def test_yaml_then_flags(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("task: graph\nlr: 0.05\nhidden: 8\n")
    cfg = TrainConfig.from_dict(load_yaml(f)).merged({"hidden": 16, "lr": None}).resolved()
    assert (cfg.task, cfg.lr, cfg.hidden, cfg.model) == ("graph", 0.05, 16, "gin")


@pytest.mark.parametrize("text, match", [("lr: [1", "not valid YAML"), ("- 1\n- 2", "must hold a mapping")])
def test_bad_yaml(tmp_path, text, match):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_yaml(f)


def test_validation_names_the_field():
    with pytest.raises(ValueError, match="unknown setting 'epoch'"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match="dropout must be in"):
        TrainConfig(dropout=1.5).resolved()
    with pytest.raises(ValueError, match="task must be one of"):
        TrainConfig(task="edge").resolved()
    with pytest.raises(ValueError, match="does not exist"):
        load_yaml("/nonexistent/c.yaml")
