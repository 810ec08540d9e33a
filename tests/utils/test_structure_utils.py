"""graphkit.utils against torch_geometric.utils: self-loops, coalesce, undirected, degree, subgraphs, dense."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from graphkit import utils as U
from graphkit.testing import require_peer


def _pyg() -> Any:
    return require_peer("torch_geometric").utils


def _random_edges(n: int = 12, e: int = 40, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, n, (2, e), generator=gen)


def _same(a: Any, b: Any) -> None:
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b)
        for u, v in zip(a, b):
            _same(u, v)
    elif a is None or b is None:
        assert a is None and b is None
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    else:
        assert a == b


@pytest.mark.parametrize("fill", [None, 2.5, "row", "add", "mean", "max", "min"])
def test_self_loops_match_pyg(fill: Any) -> None:
    pu = _pyg()
    ei = _random_edges()
    attr = torch.randn(ei.size(1), 3, dtype=torch.float64)
    fv = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64) if fill == "row" else fill
    _same(U.add_self_loops(ei, attr, fv, num_nodes=14), pu.add_self_loops(ei, attr, fv, num_nodes=14))
    _same(U.add_remaining_self_loops(ei, attr, fv, num_nodes=14),
          pu.add_remaining_self_loops(ei, attr, fv, num_nodes=14))
    _same(U.add_self_loops(ei)[0], pu.add_self_loops(ei)[0])
    _same(U.remove_self_loops(ei, attr), pu.remove_self_loops(ei, attr))
    assert U.contains_self_loops(ei) == pu.contains_self_loops(ei)


def test_bipartite_self_loops_match_pyg() -> None:
    pu = _pyg()
    ei = torch.stack([torch.randint(0, 6, (10,)), torch.randint(0, 4, (10,))])
    w = torch.rand(10)
    _same(U.add_self_loops(ei, w, num_nodes=(6, 4)), pu.add_self_loops(ei, w, num_nodes=(6, 4)))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "mul"])
def test_coalesce_matches_pyg(reduce: str) -> None:
    pu = _pyg()
    ei = _random_edges(6, 50, seed=1)  # many duplicates
    attr = torch.randn(50, 2, dtype=torch.float64)
    _same(U.coalesce(ei, attr, reduce=reduce), pu.coalesce(ei, attr, reduce=reduce))
    _same(U.coalesce(ei, [attr, attr * 2], reduce=reduce), pu.coalesce(ei, [attr, attr * 2], reduce=reduce))
    _same(U.coalesce(ei, attr, sort_by_row=False, reduce=reduce),
          pu.coalesce(ei, attr, sort_by_row=False, reduce=reduce))
    _same(U.coalesce(ei), pu.coalesce(ei))
    _same(U.coalesce(ei, None), pu.coalesce(ei, None))
    ints = torch.randint(0, 5, (50,))
    if reduce != "mul":
        _same(U.coalesce(ei, ints, reduce=reduce), pu.coalesce(ei, ints, reduce=reduce))


def test_coalesce_gradient_flows_through_the_kernel() -> None:
    ei = torch.tensor([[0, 0, 1], [1, 1, 0]])
    w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    _, out = U.coalesce(ei, w, reduce="max")
    out.sum().backward()
    assert w.grad.tolist() == [0.0, 1.0, 1.0]


def test_undirected_and_sorting_match_pyg() -> None:
    pu = _pyg()
    ei = _random_edges(9, 30, seed=2)
    w = torch.randint(1, 5, (30,)).double()  # small integers: sums are exact in any order
    _same(U.to_undirected(ei), pu.to_undirected(ei))
    _same(U.to_undirected(ei, w, reduce="mean"), pu.to_undirected(ei, w, reduce="mean"))
    # (PyG's sort need not be stable, so duplicate edges may come in another order: sort distinct edges)
    distinct = U.coalesce(ei)[:, torch.randperm(U.coalesce(ei).size(1))]
    wd = torch.rand(distinct.size(1), dtype=torch.float64)
    _same(U.sort_edge_index(distinct, wd, sort_by_row=False), pu.sort_edge_index(distinct, wd, sort_by_row=False))
    _same(U.sort_edge_index(distinct, wd), pu.sort_edge_index(distinct, wd))
    und, w2 = U.to_undirected(ei, w)
    for args in [(ei,), (und,), (und, w2), (und, torch.rand(und.size(1)))]:
        assert U.is_undirected(*args) == pu.is_undirected(*args)
    assert U.is_undirected(und, w2)


def test_degree_matches_pyg() -> None:
    pu = _pyg()
    idx = torch.tensor([0, 3, 3, 1])
    _same(U.degree(idx), pu.degree(idx))
    _same(U.degree(idx, 6, dtype=torch.long), pu.degree(idx, 6, dtype=torch.long))


@pytest.mark.parametrize("relabel", [False, True])
def test_subgraph_matches_pyg(relabel: bool) -> None:
    pu = _pyg()
    ei = _random_edges(10, 40, seed=3)
    attr = torch.randn(40, 2)
    subset = torch.tensor([7, 1, 3, 4, 9])
    mask = torch.zeros(10, dtype=torch.bool)
    mask[subset] = True
    for s in (subset, mask, subset.tolist()):
        _same(U.subgraph(s, ei, attr, relabel_nodes=relabel, num_nodes=10, return_edge_mask=True),
              pu.subgraph(s, ei, attr, relabel_nodes=relabel, num_nodes=10, return_edge_mask=True))


@pytest.mark.parametrize("flow", ["source_to_target", "target_to_source"])
@pytest.mark.parametrize("directed", [False, True])
def test_k_hop_subgraph_matches_pyg(flow: str, directed: bool) -> None:
    pu = _pyg()
    ei = _random_edges(15, 25, seed=4)
    for seeds, hops in ((3, 2), ([0, 5], 1), (torch.tensor([2, 8]), 3)):
        ours = U.k_hop_subgraph(seeds, hops, ei, relabel_nodes=True, num_nodes=15, flow=flow, directed=directed)
        theirs = pu.k_hop_subgraph(seeds, hops, ei, relabel_nodes=True, num_nodes=15, flow=flow, directed=directed)
        _same(ours, theirs)


@pytest.mark.parametrize("max_nodes", [None, 2])
def test_dense_batch_and_adj_match_pyg(max_nodes: Any) -> None:
    pu = _pyg()
    batch = torch.tensor([0, 0, 0, 2, 2, 3])  # graph 1 is empty
    x = torch.randn(6, 3, dtype=torch.float64)
    _same(U.to_dense_batch(x, batch, fill_value=-1.0, max_num_nodes=max_nodes, batch_size=5),
          pu.to_dense_batch(x, batch, fill_value=-1.0, max_num_nodes=max_nodes, batch_size=5))
    _same(U.to_dense_batch(x), pu.to_dense_batch(x))
    ei = torch.tensor([[0, 1, 2, 2, 3, 4, 3], [1, 2, 0, 0, 4, 3, 3]])
    w = torch.randn(7, 2, dtype=torch.float64)
    _same(U.to_dense_adj(ei, batch, max_num_nodes=max_nodes), pu.to_dense_adj(ei, batch, max_num_nodes=max_nodes))
    _same(U.to_dense_adj(ei, batch, w, max_num_nodes=max_nodes, batch_size=5),
          pu.to_dense_adj(ei, batch, w, max_num_nodes=max_nodes, batch_size=5))
    _same(U.to_dense_adj(ei), pu.to_dense_adj(ei))


def test_to_dense_batch_is_differentiable() -> None:
    x = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    out, _ = U.to_dense_batch(x, torch.tensor([0, 0, 1, 1, 1]))
    (out * torch.arange(out.numel(), dtype=torch.float64).view_as(out)).sum().backward()
    assert torch.equal(x.grad, torch.tensor([[0, 1], [2, 3], [6, 7], [8, 9], [10, 11]], dtype=torch.float64))


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(ValueError, match=r"edge_index must have shape \[2, E\]"):
        U.coalesce(torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="edge_index must be an integer tensor"):
        U.to_undirected(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="edge_attr must have 4 rows"):
        U.add_self_loops(torch.zeros(2, 4, dtype=torch.long), torch.zeros(3))
    with pytest.raises(ValueError, match="index 9 but num_nodes is 5"):
        U.remove_self_loops(torch.tensor([[9], [0]])) and U.add_self_loops(torch.tensor([[9], [0]]), num_nodes=5)
    with pytest.raises(ValueError, match="batch must be sorted"):
        U.to_dense_batch(torch.zeros(3, 1), torch.tensor([1, 0, 1]))
    with pytest.raises(ValueError, match="an edge between two different graphs"):
        U.to_dense_adj(torch.tensor([[0], [2]]), torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="fill_value must be one of"):
        U.add_self_loops(torch.tensor([[0], [1]]), torch.ones(1), "median")
