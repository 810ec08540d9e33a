"""Node2Vec: PyG's sampling layout and loss, the background loader, and embedding quality (karate club factions,
drosophila connectome cell classes, by a linear probe)."""
from __future__ import annotations

import types

import pytest
import torch

from graphkit.nn import Node2Vec
from graphkit.testing import require_peer
from graphkit.testing.samplers import assert_same


def _karate():
    nx = require_peer("networkx")
    g = nx.karate_club_graph()
    ei = torch.tensor(list(g.edges())).t()
    y = torch.tensor([0 if g.nodes[i]["club"] == "Mr. Hi" else 1 for i in range(34)])
    return torch.cat([ei, ei.flip(0)], 1), y


def _train(model: Node2Vec, epochs: int, lr: float = 0.05, batch_size: int = 32) -> Node2Vec:
    opt = torch.optim.SparseAdam(list(model.parameters()), lr=lr)
    loader = model.loader(batch_size=batch_size, shuffle=True, seed=0)
    for _ in range(epochs):
        for pos_rw, neg_rw in loader:
            opt.zero_grad()
            model.loss(pos_rw, neg_rw).backward()
            opt.step()
    return model


@pytest.mark.parametrize("pq", [(1.0, 1.0), (0.5, 2.0)])
def test_samples_and_loss_match_pyg(monkeypatch, pq) -> None:
    pyg = require_peer("torch_geometric")
    from torch_geometric.nn.models import node2vec as pyg_node2vec

    ei, _ = _karate()
    ours = Node2Vec(ei, embedding_dim=8, walk_length=6, context_size=3, walks_per_node=2, p=pq[0], q=pq[1],
                    num_negative_samples=2)
    # PyG's walk comes from pyg-lib; hand it our kernel with the same seed, so its windows must equal ours
    walk = lambda rowptr, col, start, steps, p, q: ours.walks.walk(start, steps, p, q, seed=3)[0]  # noqa: E731
    monkeypatch.setattr(pyg_node2vec, "WITH_PYG_LIB", True)
    monkeypatch.setattr(torch.ops, "pyg", types.SimpleNamespace(random_walk=walk), raising=False)
    theirs = pyg.nn.Node2Vec(ei, embedding_dim=8, walk_length=6, context_size=3, walks_per_node=2, p=pq[0],
                             q=pq[1], num_negative_samples=2)
    assert torch.equal(theirs.rowptr, ours.walks.rowptr) and torch.equal(theirs.col, ours.walks.col)
    theirs.load_state_dict(ours.state_dict())
    batch = torch.tensor([0, 5, 33])
    assert torch.equal(ours.pos_sample(batch, seed=3), theirs.pos_sample(batch))
    pos, neg = ours.sample(batch, seed=4)
    assert neg.shape == theirs.neg_sample(batch).shape and torch.equal(neg[:12, 0], batch.repeat(4))
    torch.testing.assert_close(ours.loss(pos, neg), theirs.loss(pos, neg), rtol=1e-6, atol=1e-7)
    ours.loss(pos, neg).backward()
    theirs.loss(pos, neg).backward()
    torch.testing.assert_close(ours.embedding.weight.grad, theirs.embedding.weight.grad)


def test_windows_are_pieces_of_walks() -> None:
    ei, _ = _karate()
    model = Node2Vec(ei, embedding_dim=4, walk_length=5, context_size=3, walks_per_node=1)
    pos = model.pos_sample(torch.arange(34), seed=0)
    assert pos.shape == (34 * 3, 3)
    edges = set(map(tuple, ei.t().tolist()))
    assert all((a, b) in edges for w in pos.tolist() for a, b in zip(w, w[1:]))


def test_loader_is_reproducible_and_covers_every_node() -> None:
    ei, _ = _karate()
    model = Node2Vec(ei, embedding_dim=4, walk_length=4, context_size=2)
    a = list(model.loader(batch_size=10, seed=1))
    b = list(model.loader(batch_size=10, seed=1, prefetch=0))
    assert len(a) == 4
    assert_same(a, b)
    starts = torch.cat([pos[:, 0] for pos, _ in a])
    assert sorted(set(starts.tolist())) == list(range(34))


def test_bad_arguments() -> None:
    ei, _ = _karate()
    with pytest.raises(ValueError, match="context_size must be an int in \\[2, walk_length = 4\\], got 5"):
        Node2Vec(ei, embedding_dim=4, walk_length=4, context_size=5)
    with pytest.raises(ValueError, match="p must be a positive finite number, got -1"):
        Node2Vec(ei, embedding_dim=4, walk_length=4, context_size=2, p=-1)
    with pytest.raises(ValueError, match="unsupported loader arguments \\['num_workers'\\]"):
        Node2Vec(ei, embedding_dim=4, walk_length=4, context_size=2).loader(num_workers=2)


@pytest.mark.heavy
def test_karate_club_factions_by_linear_probe() -> None:
    ei, y = _karate()
    torch.manual_seed(0)
    model = _train(Node2Vec(ei, embedding_dim=16, walk_length=10, context_size=5, walks_per_node=10, sparse=True),
                   epochs=100)
    z = model().detach()
    perm = torch.randperm(34, generator=torch.Generator().manual_seed(0))
    train, test = perm[:17], perm[17:]
    assert model.test(z[train], y[train], z[test], y[test], max_iter=1000) >= 0.9


@pytest.mark.heavy
def test_drosophila_cell_classes_by_linear_probe(fixtures) -> None:
    from graphkit.datasets.ogb import load_ogb

    ds = load_ogb("ogbn-drosophila", fixtures)
    g, y = ds.graph, ds.graph.y.view(-1)
    torch.manual_seed(0)
    model = _train(Node2Vec(g.edge_index, embedding_dim=32, walk_length=20, context_size=10, walks_per_node=10,
                            p=1.0, q=0.5, num_nodes=g.num_nodes, sparse=True), epochs=40)
    z = model().detach()
    train, test = ds.split["train"], ds.split["test"]
    acc = model.test(z[train], y[train], z[test], y[test], max_iter=2000)
    majority = float(torch.bincount(y[test]).max()) / test.numel()
    assert acc >= majority + 0.2, (acc, majority)
