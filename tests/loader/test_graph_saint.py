"""GraphSAINT samplers: induced sub-graphs, node sets, the paper's norms, seeds, threads, and a GCN trained on
them that matches full-batch training."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from graphkit.datasets.csbm import contextual_sbm
from graphkit.loader import GraphSAINTEdgeSampler, GraphSAINTNodeSampler, GraphSAINTRandomWalkSampler
from graphkit.loader.sampler import mix_seed
from graphkit.nn.conv.graph_conv import GraphConv
from graphkit.testing.samplers import (BACKENDS, assert_kernel_rejects, assert_same, backend, edges_of,
                                       reference_induced, same_at_1_and_2_threads, undirected_graph)


def _samplers(g, name, **kw):
    return [GraphSAINTNodeSampler(g, batch_size=40, num_steps=3, backend=name, **kw),
            GraphSAINTEdgeSampler(g, batch_size=30, num_steps=3, backend=name, **kw),
            GraphSAINTRandomWalkSampler(g, batch_size=20, walk_length=3, num_steps=3, backend=name, **kw)]


@pytest.mark.parametrize("name", BACKENDS)
def test_batches_are_induced_subgraphs_on_the_drawn_nodes(name: str) -> None:
    g = undirected_graph()
    sources = set(g.edge_index[0].tolist())
    node, edge, rw = _samplers(g, backend(name), seed=0)
    for loader, bound in ((node, 40), (edge, 60), (rw, 20 * 4)):
        for batch in loader:
            assert 0 < batch.num_nodes <= bound
            assert torch.equal(batch.n_id, torch.unique(batch.n_id))  # sorted, unique
            assert edges_of(batch) == reference_induced(g, batch.n_id)
            assert torch.equal(batch.x, g.x[batch.n_id])
    assert set(next(iter(node)).n_id.tolist()) <= sources
    # an edge sampler's node set is the ends of its edges: every node has an edge inside the sub-graph
    batch = next(iter(edge))
    assert set(batch.edge_index.reshape(-1).tolist()) == set(range(batch.num_nodes))


def test_random_walk_sets_are_connected_walks() -> None:
    g = undirected_graph()
    loader = GraphSAINTRandomWalkSampler(g, batch_size=1, walk_length=4, num_steps=20, seed=1)
    for batch in loader:  # one walk: its nodes form a connected sub-graph
        reach, frontier = {0}, {0}
        ei = batch.edge_index.t().tolist()
        while frontier:
            frontier = {t for s, t in ei if s in frontier} - reach
            reach |= frontier
        assert reach == set(range(batch.num_nodes))


@pytest.mark.parametrize("make", [0, 1, 2])
def test_same_batches_at_one_and_two_threads(make: int) -> None:
    backend("ext")
    g = undirected_graph(3000, 30000)
    def run():
        loader = _samplers(g, "ext", seed=3, sample_coverage=2)[make]
        return [b for b in loader] + [loader.node_norm, loader.edge_norm]
    one, two = same_at_1_and_2_threads(run)
    assert_same(one, two)


def test_norms_are_the_papers_estimates() -> None:
    g = undirected_graph()
    loader = GraphSAINTRandomWalkSampler(g, batch_size=10, walk_length=2, sample_coverage=20, seed=4)
    # replay the pre-sampling: C_v, C_uv, M
    node_count = torch.zeros(g.num_nodes, dtype=torch.float64)
    edge_count = torch.zeros(g.num_edges, dtype=torch.float64)
    m = loader.num_norm_samples
    for i in range(m):
        nodes = loader.sample_nodes(mix_seed(4, 1 << 40, i))
        node_count[nodes] += 1
        for _, _, e in reference_induced(g, nodes):
            edge_count[e] += 1
    assert node_count.sum() >= 20 * g.num_nodes > node_count.sum() - nodes.numel()
    seen = node_count > 0
    torch.testing.assert_close(loader.node_norm[seen].double(), m / node_count[seen] / g.num_nodes, rtol=1e-6, atol=0)
    assert bool((loader.node_norm[~seen] == 0.1).all())
    target = g.edge_index[1]
    has = edge_count > 0
    torch.testing.assert_close(loader.edge_norm[has].double(), (node_count[target] / edge_count)[has], rtol=1e-6,
                               atol=0)


def test_node_norm_gives_unbiased_sums() -> None:
    # E[sum_{v in S} node_norm_v * f_v] = mean_v f_v, estimated on fresh sub-graphs
    g = undirected_graph(150, 600)
    loader = GraphSAINTNodeSampler(g, batch_size=30, num_steps=400, sample_coverage=200, seed=5, prefetch=0)
    f = torch.rand(g.num_nodes, generator=torch.Generator().manual_seed(0))
    reachable = loader.node_norm != 0.1
    f[~reachable] = 0  # nodes the sampler never draws (no out-edges) cannot be estimated
    est = torch.tensor([float((b.node_norm * f[b.n_id]).sum()) for b in loader])
    truth = float(f.sum()) / g.num_nodes
    assert abs(float(est.mean()) - truth) < 4 * float(est.std()) / math.sqrt(est.numel()) + 1e-3


def _gcn_accuracy(g, loader=None, epochs=60, seed=0):
    torch.manual_seed(seed)
    conv1, conv2 = GraphConv(g.x.size(1), 32), GraphConv(32, int(g.y.max()) + 1)
    params = list(conv1.parameters()) + list(conv2.parameters())
    opt = torch.optim.Adam(params, lr=0.01, weight_decay=5e-4)
    deg = torch.bincount(g.edge_index[1], minlength=g.num_nodes).clamp(min=1).float()
    mean_weight = 1.0 / deg[g.edge_index[1]]  # the full graph's mean aggregator, as in the paper's GCN

    def forward(sub, weight):
        h = F.relu(conv1(sub.x, sub, edge_weight=weight))
        return conv2(F.dropout(h, 0.2, training=conv1.training), sub, edge_weight=weight)

    for _ in range(epochs):
        if loader is None:
            opt.zero_grad()
            loss = F.cross_entropy(forward(g, mean_weight)[g.train_mask], g.y[g.train_mask])
            loss.backward()
            opt.step()
        else:
            for sub in loader:
                opt.zero_grad()
                out = forward(sub, sub.edge_norm * mean_weight[sub.e_id])
                per_node = F.cross_entropy(out, sub.y, reduction="none") * sub.node_norm
                loss = (per_node * sub.train_mask).sum()
                loss.backward()
                opt.step()
    conv1.eval()
    with torch.no_grad():
        pred = forward(g, mean_weight).argmax(-1)
    return float((pred[g.test_mask] == g.y[g.test_mask]).float().mean())


@pytest.mark.heavy
def test_graph_saint_gcn_matches_full_batch_accuracy() -> None:
    # planted communities (4 classes, homophily 0.7) with features too noisy to classify alone
    g = contextual_sbm(num_nodes=800, num_classes=4, num_features=16, avg_degree=8, homophily=0.7, mu=1.0,
                       noise=3.0, seed=0)
    full = _gcn_accuracy(g, epochs=60)
    loader = GraphSAINTRandomWalkSampler(g, batch_size=200, walk_length=2, num_steps=2, sample_coverage=20, seed=0)
    saint = _gcn_accuracy(g, loader, epochs=100)
    n_test = int(g.test_mask.sum())
    noise = 3 * math.sqrt(full * (1 - full) / n_test)  # three binomial standard errors of the test accuracy
    assert full > 0.8, full
    assert abs(saint - full) <= noise, (saint, full, noise)


def test_bad_arguments() -> None:
    g = undirected_graph(20, 40)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        GraphSAINTNodeSampler(g, batch_size=0)
    with pytest.raises(ValueError, match="num_steps must be a positive int, got -1"):
        GraphSAINTEdgeSampler(g, batch_size=4, num_steps=-1)
    with pytest.raises(ValueError, match="walk_length must be an int >= 0, got -2"):
        GraphSAINTRandomWalkSampler(g, batch_size=4, walk_length=-2)
    with pytest.raises(ValueError, match="sample_coverage must be a number >= 0, got -1"):
        GraphSAINTNodeSampler(g, batch_size=4, sample_coverage=-1)


def test_kernel_bad_input_does_not_crash() -> None:
    assert_kernel_rejects([
        ("saint_sample(rp, col, None, 'walk', 4, 2, 0)",
         "saint_sample: kind must be 'node', 'edge' or 'rw', got 'walk'"),
        ("saint_sample(rp, col, None, 'edge', 4, 2, 0)", "saint_sample: kind 'edge' needs edge_cdf"),
        ("saint_sample(rp, col, torch.tensor([1.0]).double(), 'edge', 4, 2, 0)",
         "edge_cdf must be a 1-D CPU tensor with one entry per edge (2)"),
        ("saint_sample(rp, torch.tensor([1, 7]), None, 'node', 64, 0, 0)",
         "saint_sample: col has index 7 but num_nodes is 2"),
        ("saint_sample(rp, col, None, 'node', 0, 0, 0)", "saint_sample: batch_size must be in [1, 2^31], got 0"),
    ])
