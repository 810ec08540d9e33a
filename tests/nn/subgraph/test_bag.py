"""SubgraphBag against a per-subgraph reference built with networkx, for every policy."""
import math

import networkx as nx
import pytest
import torch

from graphkit import Batch, Graph
from graphkit.nn.subgraph import POLICIES, SubgraphBag


def undirected(pairs, n, **fields):
    a = torch.tensor(pairs, dtype=torch.long).t().reshape(2, -1)
    return Graph(edge_index=torch.cat([a, a.flip(0)], dim=1), num_nodes=n, **fields)


def sample_batch():
    g1 = undirected([(0, 1), (1, 2), (2, 3), (3, 0), (1, 3), (3, 4)], 5,
                    x=torch.arange(5.0).view(-1, 1), edge_attr=torch.arange(12.0).view(-1, 1),
                    y=torch.tensor([1]), kinds={"y": "graph"})
    g2 = undirected([(0, 1), (1, 2)], 4, x=torch.arange(10.0, 14.0).view(-1, 1),
                    edge_attr=torch.arange(20.0, 24.0).view(-1, 1), y=torch.tensor([0]), kinds={"y": "graph"})
    g3 = Graph(edge_index=torch.empty(2, 0, dtype=torch.long), x=torch.full((2, 1), 7.0),
               edge_attr=torch.empty(0, 1), y=torch.tensor([2]), kinds={"y": "graph"})
    return Batch.from_graphs([g1, g2, g3])


def reference(batch, policy, k):
    """Subgraphs one by one: (graph, root, set of original nodes, set of original directed edges, marked)."""
    out = []
    ei = batch.edge_index.t().tolist()
    for gi in range(batch.num_graphs):
        lo, hi = int(batch.ptr[gi]), int(batch.ptr[gi + 1])
        nodes = list(range(lo, hi))
        edges = [(s, t) for s, t in ei if lo <= s < hi]
        nxg = nx.Graph()
        nxg.add_nodes_from(nodes)
        nxg.add_edges_from(edges)
        subs = []
        if policy == "original":
            subs.append((-1, set(nodes), set(edges)))
        elif policy == "edge_deleted":
            for e, (s, t) in enumerate(ei):
                if lo <= s < hi and s < t:
                    subs.append((e, set(nodes), {(a, b) for a, b in edges if {a, b} != {s, t}}))
        else:
            for r in nodes:
                if policy == "node_deleted":
                    keep = set(nodes) - {r}
                elif policy in ("ego", "ego_plus"):
                    keep = set(nx.single_source_shortest_path_length(nxg, r, cutoff=k))
                else:
                    keep = set(nodes)
                subs.append((r, keep, {(a, b) for a, b in edges if a in keep and b in keep}))
        if not subs:
            subs.append((-1, set(nodes), set(edges)))
        out += [(gi, r, nodes_, edges_) for r, nodes_, edges_ in subs]
    return out


@pytest.mark.parametrize("policy, k", [(p, 1) for p in POLICIES] + [("ego", 2), ("ego_plus", 2), ("ego", 0)])
def test_bag_matches_reference(policy, k):
    batch = sample_batch()
    bag = SubgraphBag(policy, k=k)(batch)
    want = reference(batch, policy, k)
    assert bag.num_graphs == len(want)
    assert bag.num_original_graphs == 3 and bag.num_original_nodes == batch.num_nodes
    bag.validate()
    subs = bag.to_graphs()
    copies = {}
    for s, (gi, root, nodes, edges) in enumerate(want):
        sub = subs[s]
        assert int(bag.subgraph_graph[s]) == gi and int(bag.subgraph_root[s]) == root
        assert int(bag.subgraph_copy[s]) == copies.get(gi, 0)
        copies[gi] = copies.get(gi, 0) + 1
        node_map = sub.node_map.tolist()
        assert set(node_map) == nodes and len(node_map) == len(nodes)
        got_edges = {(node_map[a], node_map[b]) for a, b in sub.edge_index.t().tolist()}
        assert got_edges == edges and sub.num_edges == len(edges)
        # fields follow the copies
        assert torch.equal(sub.x, batch.x[sub.node_map])
        orig_eid = {tuple(e): i for i, e in enumerate(batch.edge_index.t().tolist())}
        for (a, b), attr in zip(sub.edge_index.t().tolist(), sub.edge_attr.view(-1).tolist()):
            assert attr == batch.edge_attr[orig_eid[(node_map[a], node_map[b])]].item()
        marked = [v for v, m in zip(node_map, sub.mark.tolist()) if m]
        assert marked == ([root] if policy in ("node_marked", "ego_plus") and root >= 0 else [])
    assert torch.equal(bag.y.view(-1), batch.y[bag.subgraph_graph])


def test_single_graph_input_and_device_move():
    g = sample_batch().get_graph(0)
    bag = SubgraphBag("ego_plus", k=1)(g)
    assert bag.num_original_graphs == 1 and bag.num_graphs == 5
    moved = bag.to("cpu")
    assert torch.equal(moved.original().edge_index, g.edge_index) and torch.equal(moved.node_map, bag.node_map)


def test_memory_is_what_the_policy_says():
    batch = sample_batch()
    n = [5, 4, 2]
    e = [12, 4, 0]  # directed edges per graph
    nm = SubgraphBag("node_marked")(batch)
    assert nm.num_nodes == sum(x * x for x in n) and nm.num_edges == sum(a * b for a, b in zip(n, e))
    nd = SubgraphBag("node_deleted")(batch)
    assert nd.num_nodes == sum(x * (x - 1) for x in n)
    ed = SubgraphBag("edge_deleted")(batch)
    assert ed.num_graphs == 6 + 2 + 1 and ed.num_edges == 6 * 10 + 2 * 2 + 0


def test_stochastic_sampling_keeps_a_fraction_per_graph():
    batch = sample_batch()
    bag_maker = SubgraphBag("node_marked", fraction=0.5, seed=3)
    a, b = bag_maker(batch), bag_maker(batch)
    counts = torch.bincount(a.subgraph_graph, minlength=3).tolist()
    assert counts == [math.ceil(0.5 * 5), math.ceil(0.5 * 4), 1]
    roots = a.subgraph_root.tolist()
    assert len(set(roots)) == len(roots)
    assert all(int(batch.batch[r]) == g for r, g in zip(roots, a.subgraph_graph.tolist()))
    # fresh draws per call, reproducible per seed
    again = SubgraphBag("node_marked", fraction=0.5, seed=3)
    assert torch.equal(again(batch).subgraph_root, a.subgraph_root)
    draws = {tuple(bag_maker(batch).subgraph_root.tolist()) for _ in range(10)}
    assert len(draws) > 1


def test_root_adj_links_copies_in_neighbouring_roots():
    g = undirected([(0, 1), (1, 2)], 3, x=torch.ones(3, 1))
    bag = SubgraphBag("node_marked")(Batch.from_graphs([g]))
    radj = bag.root_adj()
    root, node_map, sub = bag.subgraph_root, bag.node_map, bag.batch
    got = {(int(root[sub[s]]), int(node_map[s]), int(root[sub[t]]), int(node_map[t]))
           for s, t in radj.edge_index.t().tolist()}
    want = {(w, v, u, v) for u in range(3) for w in range(3) if abs(u - w) == 1 for v in range(3)}
    assert got == want


def test_errors():
    with pytest.raises(ValueError, match="policy must be one of"):
        SubgraphBag("random_walk")
    with pytest.raises(ValueError, match=r"fraction must be in \(0, 1\], got 0"):
        SubgraphBag(fraction=0)
    with pytest.raises(ValueError, match="'node_map' is reserved"):
        SubgraphBag()(Graph(x=torch.ones(2, 1), node_map=torch.zeros(2, dtype=torch.long)))
    with pytest.raises(ValueError, match="root_adj needs a node-rooted policy"):
        SubgraphBag("edge_deleted")(sample_batch()).root_adj()
