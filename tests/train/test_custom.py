"""SupervisedTask / fit_supervised: the Trainer on a plain supervised model (what the examples use)."""
import json

import pytest
import torch
import torch.nn.functional as F

from graphkit.graph import Graph
from graphkit.train.custom import SupervisedTask, accuracy, fit_supervised, graph_inputs, rmse


def _split(n_train=48, n_valid=16, n_test=16):
    ids = torch.arange(n_train + n_valid + n_test)
    return {"train": ids[:n_train], "valid": ids[n_train:n_train + n_valid], "test": ids[n_train + n_valid:]}


def test_fit_supervised_learns_and_writes_run_folder(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(80, 4)
    y = (x[:, 0] + x[:, 1] > 0).long()
    task = SupervisedTask(torch.nn.Linear(4, 2), lambda idx: x[idx], y, _split(), batch_size=16)
    res = fit_supervised(task, tmp_path / "run", epochs=30, lr=0.05, verbose=False)
    for name in ("metrics.jsonl", "best.pt", "last.pt", "curves.png", "config.json"):
        assert (tmp_path / "run" / name).is_file(), name
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == res["epochs_run"] == 30
    assert res["final"]["test"]["acc"] >= 0.9
    # the best validation epoch's model is the one loaded back and scored
    assert res["final"]["valid"]["acc"] == max(r["valid"]["acc"] for r in rows)


def test_regression_metric_is_lower_is_better_and_rerun_starts_fresh(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(80, 3)
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0))
    task = SupervisedTask(model, lambda idx: x[idx], y, _split(), loss_fn=F.mse_loss, metric="rmse",
                          score_fn=rmse, batch_size=0)
    fit_supervised(task, tmp_path, epochs=5, lr=0.1, verbose=False)
    res = fit_supervised(task, tmp_path, epochs=40, lr=0.1, verbose=False)
    rows = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 40  # the second run did not append to the first
    assert res["final"]["valid"]["rmse"] == min(json.loads(r)["valid"]["rmse"] for r in rows)
    assert res["final"]["test"]["rmse"] < 0.2 * float(y.std())


def test_graph_inputs_and_train_eval_subset():
    graphs = [Graph(x=torch.full((i + 1, 2), float(i)), edge_index=torch.zeros(2, 0, dtype=torch.long))
              for i in range(6)]
    batch = graph_inputs(graphs)(torch.tensor([2, 0]))
    assert batch.num_graphs == 2 and batch.num_nodes == 4
    split = {"train": torch.arange(4), "valid": torch.tensor([4]), "test": torch.tensor([5])}
    task = SupervisedTask(torch.nn.Linear(2, 2), lambda idx: torch.stack([graphs[i].x[0] for i in idx]),
                          torch.zeros(6, dtype=torch.long), split, train_eval=2)
    assert task.eval_split["train"].tolist() == [0, 1]
    assert set(task.evaluate()) == {"train", "valid", "test"}
    assert accuracy(torch.tensor([[2.0, 1.0], [0.0, 1.0]]), torch.tensor([0, 0])) == 0.5


@pytest.mark.parametrize("split, msg", [
    ({"train": torch.arange(3), "valid": torch.arange(1)}, "missing ['test']"),
    ({"train": torch.arange(3), "valid": torch.arange(0), "test": torch.arange(1)}, "split['valid']"),
    ({"train": torch.arange(3.0), "valid": torch.arange(1), "test": torch.arange(1)}, "split['train']"),
])
def test_bad_split_is_named(split, msg):
    with pytest.raises(ValueError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        SupervisedTask(torch.nn.Linear(1, 1), lambda idx: idx, torch.zeros(3), split)
