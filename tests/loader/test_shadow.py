"""ShaDowKHopSampler: bounded k-hop scopes, induced edges, roots, seeds, threads; a deeper GNN read out at the root."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from graphkit import Graph
from graphkit.datasets.csbm import contextual_sbm
from graphkit.loader import ShaDowKHopSampler
from graphkit.nn.conv.graph_conv import GraphConv
from graphkit.ops import _kernels as K
from graphkit.ops import use_backend
from graphkit.testing.samplers import (BACKENDS, assert_kernel_rejects, assert_same, backend, reference_induced,
                                       same_at_1_and_2_threads, undirected_graph)


def _hops(g: Graph, root: int, depth: int) -> dict:
    """BFS distance along incoming edges (target -> source), up to depth."""
    dist, frontier = {root: 0}, [root]
    ei = g.edge_index.t().tolist()
    for h in range(1, depth + 1):
        nxt = [s for s, t in ei if t in set(frontier) and s not in dist]
        for v in nxt:
            dist.setdefault(v, h)
        frontier = list(set(nxt))
    return dist


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("k", [2, -1])
def test_scopes_are_bounded_induced_k_hop_subgraphs(name: str, k: int) -> None:
    g = undirected_graph(120, 400)
    g.set("y", torch.arange(g.num_nodes) % 3, "node")
    loader = ShaDowKHopSampler(g, depth=2, num_neighbors=k, batch_size=7, seed=0, backend=backend(name))
    batch = next(iter(loader))
    roots = torch.arange(7)
    assert batch.num_graphs == 7
    assert torch.equal(batch.root_n_id, batch.ptr[:-1])
    assert torch.equal(batch.n_id[batch.root_n_id], roots)
    assert torch.equal(batch.y, g.y[roots])
    for i in range(7):
        sub = batch.get_graph(i)
        dist = _hops(g, i, 2)
        assert set(sub.n_id.tolist()) <= set(dist)
        if k == -1:
            assert set(sub.n_id.tolist()) == set(dist)
        else:
            assert sub.num_nodes <= 1 + k + k * k
        got = set(zip(sub.edge_index[0].tolist(), sub.edge_index[1].tolist(), sub.e_id.tolist()))
        assert got == reference_induced(g, sub.n_id)
        assert torch.equal(sub.x, g.x[sub.n_id])


def test_all_neighbours_kernel_equals_twin_exactly() -> None:
    backend("ext")
    g = undirected_graph(300, 1200)
    rowptr, col, perm = g.csr()
    roots = torch.tensor([0, 5, 5, 17, 299])
    ext = K.shadow_k_hop(rowptr, col, perm, roots, 2, -1, False, 0)
    with use_backend("torch"):
        assert_same(ext, K.shadow_k_hop(rowptr, col, perm, roots, 2, -1, False, 0))


@pytest.mark.parametrize("replace", [False, True])
def test_same_batches_at_one_and_two_threads(replace: bool) -> None:
    backend("ext")
    g = undirected_graph(3000, 30000)
    roots = torch.arange(0, 3000, 3)
    loader = ShaDowKHopSampler(g, depth=3, num_neighbors=4, replace=replace, backend="ext")
    one, two = same_at_1_and_2_threads(lambda: loader.sample(roots, seed=11))
    assert_same(one, two)
    assert not torch.equal(one.n_id, loader.sample(roots, seed=12).n_id)


@pytest.mark.heavy
def test_deeper_gnn_on_shallow_scopes_reads_out_at_the_root() -> None:
    # shaDow-GNN: a 3-layer GNN on 2-hop scopes, its output read at each root
    g = contextual_sbm(num_nodes=600, num_classes=4, num_features=16, avg_degree=8, homophily=0.8, mu=1.0,
                       noise=3.0, seed=0)
    torch.manual_seed(0)
    convs = torch.nn.ModuleList([GraphConv(16, 32, aggr="mean"), GraphConv(32, 32, aggr="mean"),
                                 GraphConv(32, 4, aggr="mean")])
    opt = torch.optim.Adam(convs.parameters(), lr=0.01)

    def forward(batch):
        h = batch.x
        for i, conv in enumerate(convs):
            h = conv(h, batch)
            h = F.relu(h) if i < len(convs) - 1 else h
        return h[batch.root_n_id]

    train = ShaDowKHopSampler(g, depth=2, num_neighbors=6, node_idx=g.train_mask, batch_size=64, shuffle=True,
                              seed=0)
    for _ in range(15):
        for batch in train:
            opt.zero_grad()
            F.cross_entropy(forward(batch), batch.y).backward()
            opt.step()
    test = ShaDowKHopSampler(g, depth=2, num_neighbors=6, node_idx=g.test_mask, batch_size=256, seed=1)
    with torch.no_grad():
        correct = sum(int((forward(b).argmax(-1) == b.y).sum()) for b in test)
    from sklearn.linear_model import LogisticRegression  # the features alone, as a linear probe

    probe = LogisticRegression(max_iter=1000).fit(g.x[g.train_mask], g.y[g.train_mask])
    features_only = probe.score(g.x[g.test_mask], g.y[g.test_mask])
    accuracy = correct / int(g.test_mask.sum())
    assert accuracy > features_only + 0.1, (accuracy, features_only)


def test_bad_arguments() -> None:
    g = undirected_graph(20, 40)
    with pytest.raises(ValueError, match="num_neighbors must be an int >= 1 or -1 \\(all\\), got 0"):
        ShaDowKHopSampler(g, depth=2, num_neighbors=0)
    with pytest.raises(ValueError, match="depth must be an int >= 0, got -1"):
        ShaDowKHopSampler(g, depth=-1, num_neighbors=3)
    with pytest.raises(ValueError, match=r"seeds\[0\] is 25 but num_nodes is 20"):
        ShaDowKHopSampler(g, depth=1, num_neighbors=3).sample(torch.tensor([25]))


def test_kernel_bad_input_does_not_crash() -> None:
    assert_kernel_rejects([
        ("shadow_k_hop(rp, col, perm, torch.tensor([3]), 2, 2, False, 0)",
         "shadow_k_hop: roots has node 3 but num_nodes is 2"),
        ("shadow_k_hop(rp, torch.tensor([1, 9]), perm, torch.tensor([0, 1]), 2, 2, False, 0)",
         "shadow_k_hop: col has index 9 but num_nodes is 2"),
        ("shadow_k_hop(rp, col, perm, torch.tensor([0]), 2, 0, False, 0)",
         "shadow_k_hop: num_neighbors must be >= 1 or -1 (all), got 0"),
    ])
