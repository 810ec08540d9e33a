"""graphkit train on the heterogeneous fixtures: R-GCN node prediction and KG completion, end to end (small)."""
from __future__ import annotations

import json

import pytest
import torch

from graphkit.cli import main
from graphkit.testing import require_peer
from graphkit.train.kg import KG_MODELS, KGModel


def _summary(out) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_train_hetero_node_rgcn(hetero_fixtures, tmp_path) -> None:
    out = tmp_path / "h"
    assert main(["train", "--task", "hetero", "--epochs", "3", "--out", str(out), "--progress", "off"]) == 0
    s = _summary(out)
    assert s["dataset"] == "ogbn-movielens" and s["model"] == "rgcn" and s["task"] == "hetero"
    assert s["metric"] == "acc" and 0.0 <= s["final"]["test"]["acc"] <= 1.0
    assert (out / "best.pt").is_file()


@pytest.mark.parametrize("model", KG_MODELS)
def test_train_kg_every_model(hetero_fixtures, tmp_path, model) -> None:
    out = tmp_path / model
    assert main(["train", "--dataset", "ogbl-nations", "--model", model, "--epochs", "2", "--hidden", "16",
                 "--out", str(out), "--progress", "off"]) == 0
    s = _summary(out)
    assert s["task"] == "kg" and s["model"] == model and s["metric"] == "mrr"
    assert set(s["final"]["test"]) == {"mrr", "hits@1", "hits@3", "hits@10"}


def test_kg_learns_umls(hetero_fixtures, tmp_path) -> None:
    # DistMult on UMLS, 15 epochs: filtered MRR against the fixture's negatives is far above chance (~0.05)
    out = tmp_path / "umls"
    assert main(["train", "--task", "kg", "--epochs", "15", "--out", str(out), "--progress", "off"]) == 0
    from graphkit.train.run import evaluate_run

    scores, _ = evaluate_run(out)
    assert scores["test"]["mrr"] > 0.4, scores


def test_kg_scores_match_their_formulas() -> None:
    torch.manual_seed(0)
    h, r, t = torch.tensor([0, 1]), torch.tensor([1, 0]), torch.tensor([2, 2])
    for name in ("distmult", "complex", "transe", "rotate"):
        m = KGModel(name, 3, 2, 4)
        e, w = m.entity.weight, m.relation.weight
        if name == "distmult":
            want = (e[h] * w[r] * e[t]).sum(-1)
        elif name == "transe":
            want = -(e[h] + w[r] - e[t]).abs().sum(-1)
        elif name == "complex":
            ch, ct = torch.view_as_complex(e[h].view(2, 2, 4).transpose(1, 2).contiguous()), \
                torch.view_as_complex(e[t].view(2, 2, 4).transpose(1, 2).contiguous())
            cr = torch.view_as_complex(w[r].view(2, 2, 4).transpose(1, 2).contiguous())
            want = (ch * cr * ct.conj()).real.sum(-1)
        else:
            ch, ct = torch.complex(*e[h].chunk(2, -1)), torch.complex(*e[t].chunk(2, -1))
            want = -(ch * torch.polar(torch.ones_like(w[r]), w[r]) - ct).abs().sum(-1)
        assert torch.allclose(m(h, r, t), want, atol=1e-5), name


def test_kg_task_rejects_a_non_kg(hetero_fixtures, tmp_path) -> None:
    out = tmp_path / "bad"
    assert main(["train", "--dataset", "ogbn-movielens", "--task", "kg", "--epochs", "1", "--out", str(out)]) != 0
