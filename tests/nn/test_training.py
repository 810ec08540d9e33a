"""End to end: a 3-layer GraphSAGE trained on a real graph (the left hemisphere of the Drosophila larva
mushroom-body connectome shipped by graspologic: 209 neurons, 4 cell types) reaches the accuracy of the same PyG
model trained the same way from the same seed, within noise."""
from __future__ import annotations

import importlib.util
import os
from typing import Any, Tuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graphkit import Graph
from graphkit import nn as gnn
from graphkit.testing import require_peer


def _connectome() -> Tuple[Graph, torch.Tensor, torch.Tensor]:
    spec = importlib.util.find_spec("graspologic")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("graspologic (installed --no-deps for its data files) is not installed")
    root = os.path.join(spec.submodule_search_locations[0], "datasets", "drosophila")
    adj = torch.tensor(np.loadtxt(os.path.join(root, "left_adjacency.csv")), dtype=torch.float32)  # synapse counts
    with open(os.path.join(root, "left_cell_labels.csv")) as fh:
        names = [line.strip() for line in fh if line.strip()]
    classes = sorted(set(names))
    y = torch.tensor([classes.index(n) for n in names])
    # Features: each neuron's (log) synapse counts to and from every other neuron; edges: either direction.
    x = torch.cat([torch.log1p(adj), torch.log1p(adj.t())], dim=1)
    edge_index = ((adj + adj.t()) > 0).nonzero().t().contiguous()
    perm = torch.randperm(y.numel(), generator=torch.Generator().manual_seed(0))
    half = y.numel() // 2
    return Graph(x=x, edge_index=edge_index, y=y), perm[:half], perm[half:]


def _train(model: torch.nn.Module, g: Graph, adj: Any, train: torch.Tensor, test: torch.Tensor) -> float:
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(100):
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(g.x, adj)[train], g.y[train]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        pred = model(g.x, adj).argmax(-1)
    return (pred[test] == g.y[test]).float().mean().item()


def test_graphsage_on_connectome_matches_pyg_accuracy() -> None:
    pyg = require_peer("torch_geometric")
    g, train, test = _connectome()
    assert g.num_nodes == 209 and int(g.y.max()) == 3
    ours_acc, pyg_acc = [], []
    for seed in range(3):
        torch.manual_seed(seed)
        theirs = pyg.nn.models.GraphSAGE(g.x.size(1), 32, num_layers=3, out_channels=4, dropout=0.5)
        torch.manual_seed(seed)
        ours = gnn.GraphSAGE(g.x.size(1), 32, num_layers=3, out_channels=4, dropout=0.5)
        torch.manual_seed(100 + seed)  # the same dropout masks for both
        pyg_acc.append(_train(theirs, g, g.edge_index, train, test))
        torch.manual_seed(100 + seed)
        ours_acc.append(_train(ours, g, g, train, test))
    majority = torch.bincount(g.y[test]).max().item() / test.numel()
    assert min(ours_acc) > majority + 0.3, f"graphkit accuracies {ours_acc} barely beat the majority {majority:.2f}"
    # Noise: 3 seeds, 104 test nodes (one node is ~1%); independent inits differ by a few nodes either way.
    assert abs(np.mean(ours_acc) - np.mean(pyg_acc)) <= 0.04, f"graphkit {ours_acc} vs PyG {pyg_acc}"


def test_graphsage_with_pyg_weights_trains_like_pyg() -> None:
    pyg = require_peer("torch_geometric")
    g, train, test = _connectome()
    torch.manual_seed(0)
    theirs = pyg.nn.models.GraphSAGE(g.x.size(1), 32, num_layers=3, out_channels=4, dropout=0.5)
    ours = gnn.GraphSAGE(g.x.size(1), 32, num_layers=3, out_channels=4, dropout=0.5)
    ours.load_state_dict(theirs.state_dict())
    torch.manual_seed(1)
    pyg_acc = _train(theirs, g, g.edge_index, train, test)
    torch.manual_seed(1)
    ours_acc = _train(ours, g, g, train, test)
    assert abs(ours_acc - pyg_acc) <= 0.02, f"graphkit {ours_acc:.3f} vs PyG {pyg_acc:.3f} from the same weights"
