"""ClusterData / ClusterLoader and the induced sub-graph kernel they run on."""
from __future__ import annotations

import pytest
import torch

from graphkit.loader import ClusterData, ClusterLoader, induced_subgraph
from graphkit.ops import _kernels as K
from graphkit.ops import use_backend
from graphkit.testing.samplers import (BACKENDS, assert_kernel_rejects, assert_same, backend, edges_of,
                                       reference_induced, same_at_1_and_2_threads, undirected_graph)


@pytest.mark.parametrize("name", BACKENDS)
def test_induced_subgraph_matches_the_reference(name: str) -> None:
    g = undirected_graph()
    nodes = torch.randperm(g.num_nodes, generator=torch.Generator().manual_seed(1))[:70]
    sub = induced_subgraph(g, nodes, backend=backend(name))
    assert edges_of(sub) == reference_induced(g, nodes)
    assert torch.equal(sub.n_id, nodes) and torch.equal(sub.x, g.x[nodes])
    assert torch.equal(sub.edge_attr, g.edge_attr[sub.e_id])
    # the CSR handed over is the one a fresh build gives
    rowptr, col, _ = sub.csr()
    assert torch.equal(rowptr[1:] - rowptr[:-1], torch.bincount(sub.edge_index[1], minlength=70))


def test_kernel_and_twin_agree_exactly_at_any_thread_count() -> None:
    backend("ext")
    g = undirected_graph(3000, 30000)
    rowptr, col, perm = g.csr()
    nodes = torch.randperm(g.num_nodes, generator=torch.Generator().manual_seed(2))[:1500]
    one, two = same_at_1_and_2_threads(lambda: K.induced_subgraph(rowptr, col, perm, nodes))
    assert_same(one, two)
    with use_backend("torch"):
        assert_same(one, K.induced_subgraph(rowptr, col, perm, nodes))


@pytest.mark.parametrize("method", ["metis", "range"])
def test_cluster_loader_joins_clusters_and_keeps_edges_between_them(method: str) -> None:
    g = undirected_graph(300, 1500)
    data = ClusterData(g, num_parts=6, method=method)
    assert data.partptr[-1] == g.num_nodes and sorted(data.perm.tolist()) == list(range(g.num_nodes))
    for c in range(6):
        assert bool((data.partition.part[data.cluster(c)] == c).all())
    loader = ClusterLoader(data, batch_size=2, shuffle=True, seed=0)
    seen = []
    batches = list(loader)
    assert len(batches) == len(loader) == 3
    for batch in batches:
        assert edges_of(batch) == reference_induced(g, batch.n_id)
        seen += batch.n_id.tolist()
    assert sorted(seen) == list(range(g.num_nodes))  # every node once per epoch
    # edges between the two clusters of a batch are kept
    between = [b for b in batches if bool((data.partition.part[b.n_id[b.edge_index[0]]]
                                           != data.partition.part[b.n_id[b.edge_index[1]]]).any())]
    assert between


def test_cluster_loader_is_reproducible() -> None:
    data = ClusterData(undirected_graph(), num_parts=8, method="range")
    a = [b.n_id for b in ClusterLoader(data, batch_size=3, shuffle=True, seed=5)]
    b = [b.n_id for b in ClusterLoader(data, batch_size=3, shuffle=True, seed=5, prefetch=0)]
    assert_same(a, b)


def test_bad_arguments() -> None:
    g = undirected_graph(20, 40)
    with pytest.raises(ValueError, match="num_parts is 50 but the graph has only 20 nodes"):
        ClusterData(g, num_parts=50)
    with pytest.raises(ValueError, match="num_parts must be a positive int, got 0"):
        ClusterData(g, num_parts=0)
    data = ClusterData(g, num_parts=4, method="range")
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        ClusterLoader(data, batch_size=0)
    with pytest.raises(ValueError, match="clusters has cluster 4 but num_parts is 4"):
        ClusterLoader(data).subgraph(torch.tensor([0, 4]))
    with pytest.raises(ValueError, match=r"seeds\[1\] is 20 but num_nodes is 20"):
        induced_subgraph(g, torch.tensor([0, 20]))


def test_kernel_bad_input_does_not_crash() -> None:
    assert_kernel_rejects([
        ("induced_subgraph(rp, col, perm, torch.tensor([1, 1]))", "induced_subgraph: nodes[1] = 1 repeats nodes[0]"),
        ("induced_subgraph(rp, col, perm, torch.tensor([0, 9]))",
         "induced_subgraph: nodes has node 9 but num_nodes is 2"),
        ("induced_subgraph(rp, torch.tensor([1, 5]), perm, torch.tensor([0, 1]))",
         "induced_subgraph: col has index 5 but num_nodes is 2"),
        ("induced_subgraph(rp, col, torch.tensor([0, 8]), torch.tensor([0, 1]))",
         "induced_subgraph: perm has edge id 8 but there are 2 edges"),
    ])


def test_transform_runs_on_each_batch() -> None:
    data = ClusterData(undirected_graph(), num_parts=4, method="range")
    seen = []
    batches = list(ClusterLoader(data, batch_size=2, transform=lambda b: seen.append(b.num_nodes) or b))
    assert seen == [b.num_nodes for b in batches] and len(seen) == 2
    with pytest.raises(TypeError, match="transform must be a callable"):
        ClusterLoader(data, transform=3)
