"""Node prediction at scale: the shared symmetrised structure and layer-wise evaluation in chunks (issue 17)."""
from __future__ import annotations

import pytest
import torch

from graphkit import Graph
from graphkit.ops.adjacency import build_csr
from graphkit.train import TrainConfig
from graphkit.train import node as node_module
from graphkit.train.base import structure
from graphkit.train.node import NodeTask
from graphkit.train.run import load_dataset


def test_structure_is_symmetric_deduplicated_and_in_csr_order():
    torch.manual_seed(0)
    n = 40
    ei = torch.randint(0, n, (2, 300))
    ei[:, :10] = ei[:, 10:20]  # duplicates
    ei[1, 20:25] = ei[0, 20:25]  # self-loops
    s = structure(Graph(edge_index=ei, num_nodes=n), undirected=True, device=torch.device("cpu"))
    pairs = set(map(tuple, ei.t().tolist())) | set(map(tuple, ei.flip(0).t().tolist()))
    got = list(map(tuple, s.edge_index.t().tolist()))
    assert len(got) == len(set(got)) and set(got) == pairs
    assert got == sorted(got, key=lambda p: (p[1], p[0]))  # grouped by target, sources ascending
    rowptr, col, perm = s.csr()
    ref = build_csr(s.edge_index[1], s.edge_index[0], n)  # the sorting build
    assert torch.equal(rowptr, ref[0]) and torch.equal(col, ref[1]) and torch.equal(perm, ref[2])
    assert col.data_ptr() == s.edge_index[0].data_ptr()  # no second copy of the sources
    assert s.adj.csr_eid() is None  # identity perm: the kernels read per-edge tensors in place
    directed = structure(Graph(edge_index=ei, num_nodes=n), undirected=False, device=torch.device("cpu"))
    assert torch.equal(directed.edge_index, ei)


def _task(fixtures, model):
    cfg = TrainConfig(root=str(fixtures), dataset="ogbn-drosophila", task="node", model=model, hidden=16,
                      batch_size=32).resolved()
    dataset, _ = load_dataset(cfg.dataset, cfg.root)
    torch.manual_seed(0)
    task = NodeTask(dataset, cfg, torch.device("cpu"))
    task.model.eval()
    return task


@pytest.mark.parametrize("model", ["sage", "gin"])
def test_layerwise_evaluation_equals_the_full_graph_forward(fixtures, monkeypatch, model):
    task = _task(fixtures, model)
    assert task.num_nodes > 64
    with torch.no_grad():
        full = task._forward()
        scores_full = task.evaluate()  # graph of at most EVAL_BATCH nodes: one full-graph forward
        monkeypatch.setattr(node_module, "EVAL_BATCH", 64)  # now several blocks per layer
        chunked = task._full_output()
        scores = task.evaluate()
    torch.testing.assert_close(chunked, full, rtol=1e-5, atol=1e-5)
    assert scores == scores_full  # the same predictions
    # the training loader samples from the same CSR tensors as the model's structure (one copy, not two)
    assert task.loader.sampler.graph.csr()[1] is task.adj.csr()[1]


@pytest.mark.parametrize("model", ["gcn", "gat"])  # GCN's normalisation reads every source's degree; GAT's loops
def test_models_that_cannot_chunk_keep_the_full_graph_forward(fixtures, monkeypatch, model):
    task = _task(fixtures, model)
    monkeypatch.setattr(node_module, "EVAL_BATCH", 64)
    assert not task.net.layerwise()
    with torch.no_grad():
        assert torch.equal(task._full_output(), task._forward())
