"""random_walk: every step an edge, node2vec's transition probabilities, seeds, threads, bad input."""
from __future__ import annotations

from collections import Counter

import pytest
import torch
from graphkit.testing.samplers import (BACKENDS, assert_kernel_rejects, backend, same_at_1_and_2_threads,
                                       undirected_graph)

from graphkit.loader import WalkGraph, random_walk


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("pq", [(1.0, 1.0), (0.25, 4.0), (4.0, 0.25)])
def test_every_step_follows_an_edge(name: str, pq) -> None:
    g = undirected_graph()
    walks = WalkGraph(g.edge_index[0], g.edge_index[1], g.num_nodes)
    start = torch.arange(g.num_nodes)
    nodes, edges = walks.walk(start, 8, *pq, seed=3, backend=backend(name))
    assert nodes.shape == (g.num_nodes, 9) and edges.shape == (g.num_nodes, 8)
    assert torch.equal(nodes[:, 0], start)
    ei = g.edge_index
    moved = edges >= 0
    assert torch.equal(ei[0][edges[moved]], nodes[:, :-1][moved])
    assert torch.equal(ei[1][edges[moved]], nodes[:, 1:][moved])
    # a walk stays (edge -1) exactly at nodes without out-edges
    outdeg = torch.bincount(ei[0], minlength=g.num_nodes)
    assert torch.equal(~moved, outdeg[nodes[:, :-1]] == 0)


def _transition_probs(p: float, q: float):
    # prev=0 -> cur=1; 1's neighbours: 0 (back, 1/p), 2 (also a neighbour of 0: 1), 3 (far: 1/q)
    w = {0: 1 / p, 2: 1.0, 3: 1 / q}
    total = sum(w.values())
    return {k: v / total for k, v in w.items()}


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("pq", [(1.0, 1.0), (0.5, 2.0), (2.0, 0.5)])
def test_node2vec_second_step_distribution(name: str, pq) -> None:
    # triangle 0-1-2 plus the pendant 1-3, undirected; node 0's only other neighbour is 2, so from 0 the first
    # step goes to 1 or 2; walks through 0 -> 1 are conditioned on and their next step counted.
    und = [(0, 1), (1, 2), (0, 2), (1, 3)]
    row = torch.tensor([a for a, b in und] + [b for a, b in und])
    col = torch.tensor([b for a, b in und] + [a for a, b in und])
    nodes = random_walk(row, col, torch.zeros(20000, dtype=torch.long), 2, *pq, seed=1)
    via = nodes[nodes[:, 1] == 1]
    counts = Counter(via[:, 2].tolist())
    expect = _transition_probs(*pq)
    n = via.size(0)
    assert n > 5000
    for k, pk in expect.items():
        sd = (pk * (1 - pk) / n) ** 0.5
        assert abs(counts[k] / n - pk) < 5 * sd, (k, counts[k] / n, pk)
    assert set(counts) == set(expect)


@pytest.mark.parametrize("pq", [(1.0, 1.0), (0.5, 2.0)])
def test_same_walks_at_one_and_two_threads(pq) -> None:
    backend("ext")
    g = undirected_graph(2000, 20000)
    walks = WalkGraph(g.edge_index[0], g.edge_index[1], g.num_nodes)
    start = torch.arange(g.num_nodes).repeat(3)
    one, two = same_at_1_and_2_threads(lambda: walks.walk(start, 10, *pq, seed=7, backend="ext"))
    assert torch.equal(one[0], two[0]) and torch.equal(one[1], two[1])
    other = walks.walk(start, 10, *pq, seed=8, backend="ext")
    assert not torch.equal(one[0], other[0])


def test_return_edge_indices_and_signature() -> None:
    row, col = torch.tensor([0, 1]), torch.tensor([1, 0])
    nodes, edges = random_walk(row, col, torch.tensor([0]), 3, return_edge_indices=True)
    assert nodes.tolist() == [[0, 1, 0, 1]] and edges.tolist() == [[0, 1, 0]]


@pytest.mark.parametrize("kwargs, match", [
    ({"walk_length": -1}, "walk_length must be an int >= 0"),
    ({"p": 0.0}, "p must be a positive finite number"),
    ({"q": float("inf")}, "q must be a positive finite number"),
    ({"start": torch.tensor([5])}, "seeds[0] is 5 but num_nodes is 3"),
])
def test_bad_arguments(kwargs, match) -> None:
    args = dict(row=torch.tensor([0, 1]), col=torch.tensor([1, 2]), start=torch.tensor([0]), walk_length=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match.replace("[", r"\[").replace("]", r"\]")):
        random_walk(**args)


def test_bad_edges() -> None:
    with pytest.raises(ValueError, match="row has 2 entries but col has 3"):
        WalkGraph(torch.tensor([0, 1]), torch.tensor([1, 2, 0]))
    with pytest.raises(ValueError, match=r"col\[1\] is 7 but num_nodes is 3"):
        WalkGraph(torch.tensor([0, 1]), torch.tensor([1, 7]), num_nodes=3)


def test_kernel_rejects_corrupt_csr_without_crashing() -> None:
    assert_kernel_rejects([
        ("random_walk(torch.tensor([0, 3, 2]), col, torch.tensor([0, 1]), 4, 1.0, 1.0, 0)",
         "random_walk: rowptr must be non-decreasing"),
        ("random_walk(rp, torch.tensor([1, 99]), torch.tensor([0]), 4, 1.0, 1.0, 0)",
         "random_walk: col has index 99 but num_nodes is 2"),
        ("random_walk(rp, col, torch.tensor([2]), 4, 1.0, 1.0, 0)", "random_walk: start has node 2 but num_nodes is 2"),
    ])
