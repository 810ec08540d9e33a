"""Metrics come from ogb's evaluators; check them against direct computations."""
from __future__ import annotations

import math

import pytest
import torch

from graphkit.train.metrics import link_scores, mae, metric_mode, prediction_scores


def test_link_scores_against_hand_counts():
    torch.manual_seed(0)
    pos, neg = torch.randn(50) + 1.0, torch.randn(200)
    out = link_scores("hits@20", pos, neg)
    assert list(out)[0] == "hits@20"
    for k in (10, 20, 50, 100):
        kth = neg.sort(descending=True).values[k - 1]
        assert out[f"hits@{k}"] == pytest.approx(float((pos > kth).float().mean()))
    auc = float((pos.view(-1, 1) > neg.view(1, -1)).float().mean())  # no ties in continuous scores
    assert out["auc"] == pytest.approx(auc, abs=1e-6)
    rank = (neg.view(1, -1) > pos.view(-1, 1)).sum(1).float() + 1
    assert out["mrr"] == pytest.approx(float((1 / rank).mean()), abs=1e-6)


def test_link_scores_per_positive_negatives():
    pos = torch.tensor([1.0, 0.0])
    neg = torch.tensor([[0.5, 2.0, -1.0], [0.5, 2.0, -1.0]])
    out = link_scores("mrr", pos, neg)
    assert out["mrr"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert out["hits@1"] == 0.0 and out["hits@3"] == 1.0


def test_prediction_scores():
    y = torch.tensor([[0], [1], [2], [1]])
    logits = torch.tensor([[3.0, 0, 0], [0, 2, 0], [0, 3, 0], [0, 1, 0]])
    assert prediction_scores("ogbn", "multiclass classification", "acc", y, logits) == {"acc": 0.75}
    reg = prediction_scores("ogbg", "regression", "rmse", torch.tensor([[1.0], [3.0]]), torch.tensor([[2.0], [1.0]]))
    assert reg["rmse"] == pytest.approx(math.sqrt((1 + 4) / 2)) and reg["mae"] == pytest.approx(1.5)
    yb = torch.tensor([[0.0], [1.0], [float("nan")], [1.0]])
    out = prediction_scores("ogbg", "binary classification", "rocauc", yb, torch.tensor([[-1.0], [2.0], [0.0], [-0.5]]))
    assert out["rocauc"] == 1.0 and out["acc"] == pytest.approx(2 / 3)  # NaN = unlabelled, skipped


def test_direction_and_mae():
    assert metric_mode("acc") == "max" and metric_mode("mrr") == "max" and metric_mode("rmse") == "min"
    assert metric_mode("hits@50") == "max" and metric_mode("mae") == "min"
    with pytest.raises(ValueError, match="metric 'mse' has no known direction"):  # no guessing from the name
        metric_mode("mse")
    assert mae(torch.tensor([1.0, float("nan")]), torch.tensor([3.0, 0.0])) == 2.0
