"""Sparse-matrix inputs that PyG accepts for its attention layers: edge features stored as a ``SparseTensor``'s
values (GAT, GATv2, Transformer with ``edge_dim``) and ``return_attention_weights`` on sparse input, in PyG's
format (a ``SparseTensor``, or a ``torch.sparse`` matrix of the input's layout plus ``alpha`` in its value order)."""
from __future__ import annotations

from typing import Any, Tuple

import pytest
import torch

from graphkit import nn as gnn
from graphkit.testing import assert_matches_pyg, require_peer
from graphkit.testing.layers import random_graph

LAYERS = ["GATConv", "GATv2Conv", "TransformerConv"]


def _pair(name: str, **kw: Any) -> Tuple[torch.nn.Module, torch.nn.Module]:
    pnn = require_peer("torch_geometric").nn
    return getattr(gnn, name)(5, 4, heads=2, **kw), getattr(pnn, name)(5, 4, heads=2, **kw)


def _simple_graph(edge_dim: int = 3):
    """A graph without duplicate edges (a coalesced sparse matrix keeps one entry per pair)."""
    g = random_graph(12, 40, 5, seed=4, edge_dim=edge_dim)
    keep = torch.unique(g.edge_index[0] * 12 + g.edge_index[1], return_inverse=True)[1]
    first = torch.full((int(keep.max()) + 1,), g.num_edges, dtype=torch.long).scatter_reduce(
        0, keep, torch.arange(g.num_edges), "amin")
    return type(g)(x=g.x, edge_index=g.edge_index[:, first], edge_attr=g.edge_attr[first], num_nodes=12)


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("container", ["SparseTensor", "torch.sparse"])
def test_edge_features_in_a_sparse_tensor_match_pyg(name: str, container: str) -> None:
    """Without self-loops PyG takes the sparse matrix's values (``[E, D]``: a hybrid ``torch.sparse`` COO) as
    edge_attr: the same call on both sides."""
    torch_sparse = require_peer("torch_sparse")
    g = _simple_graph()
    kw = {} if name == "TransformerConv" else {"add_self_loops": False}
    ours, theirs = _pair(name, edge_dim=3, **kw)
    ei = g.edge_index

    def call(m: torch.nn.Module, k: Any) -> torch.Tensor:
        if container == "torch.sparse":
            return m(k["x"], torch.sparse_coo_tensor(ei.flip(0), k["e"], (12, 12, 3)).coalesce())
        adj_t = torch_sparse.SparseTensor(row=ei[1], col=ei[0], value=k["e"], sparse_sizes=(12, 12))
        return m(k["x"], adj_t)

    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "e": g.edge_attr}, call=call, pyg_call=call)


@pytest.mark.parametrize("name", ["GATConv", "GATv2Conv"])
@pytest.mark.parametrize("fill_value", ["mean", 0.5])
def test_sparse_edge_features_with_self_loops_are_used_not_ignored(name: str, fill_value: Any) -> None:
    """PyG refuses edge features in a SparseTensor together with self-loops; graphkit adds the loops with
    ``fill_value`` exactly as on PyG's edge_index path, so the two inputs give PyG's edge_index result."""
    torch_sparse = require_peer("torch_sparse")
    g = _simple_graph()
    ours, theirs = _pair(name, edge_dim=3, fill_value=fill_value)
    ei = g.edge_index

    def call(m: torch.nn.Module, k: Any) -> torch.Tensor:
        adj_t = torch_sparse.SparseTensor(row=ei[1], col=ei[0], value=k["e"], sparse_sizes=(12, 12))
        return m(k["x"], adj_t)

    assert_matches_pyg(ours, theirs, g, inputs={"x": g.x, "e": g.edge_attr}, call=call,
                       pyg_call=lambda m, k: m(k["x"], ei, k["e"]))


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("layout", ["SparseTensor", "coo", "csr"])
def test_return_attention_weights_on_sparse_input_match_pyg(name: str, layout: str) -> None:
    torch_sparse = require_peer("torch_sparse")
    g = _simple_graph()
    ours, theirs = _pair(name)
    ours, theirs = ours.double(), theirs.double()
    ours.load_state_dict(theirs.state_dict())
    ei = g.edge_index
    if layout == "SparseTensor":
        adj: Any = torch_sparse.SparseTensor(row=ei[1], col=ei[0], sparse_sizes=(12, 12))
    else:
        adj = torch.sparse_coo_tensor(ei.flip(0), torch.ones(ei.size(1)), (12, 12)).coalesce()
        adj = adj.to_sparse_csr() if layout == "csr" else adj
    out, got = ours(g.x, adj, return_attention_weights=True)
    ref_out, want = theirs(g.x, adj, return_attention_weights=True)
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)
    if layout == "SparseTensor":
        assert type(got) is type(want)
        torch.testing.assert_close(got.to_dense(), want.to_dense(), atol=1e-10, rtol=0)
        return
    (w_ours, alpha_ours), (w_pyg, alpha_pyg) = got, want
    torch.testing.assert_close(alpha_ours, alpha_pyg, atol=1e-10, rtol=0)  # same order: the matrix's values
    if name == "TransformerConv":  # PyG hands back the input matrix itself; graphkit puts the weights in it
        assert w_ours.layout == adj.layout
        torch.testing.assert_close(w_ours.to_dense()[..., 0] != 0, adj.to_dense() != 0)
    else:
        assert w_ours.layout == w_pyg.layout
        torch.testing.assert_close(w_ours.to_dense(), w_pyg.to_dense(), atol=1e-10, rtol=0)
    torch.testing.assert_close(w_ours.values(), alpha_ours)


def test_csc_attention_weights_keep_the_layout_and_its_value_order() -> None:
    """PyG has no CSC path; graphkit returns the weights as a CSC matrix whose values are ``alpha``."""
    g = _simple_graph()
    conv = gnn.GATConv(5, 4, heads=2).double()
    coo = torch.sparse_coo_tensor(g.edge_index.flip(0), torch.ones(g.num_edges), (12, 12)).coalesce()
    out_coo, (w_coo, _) = conv(g.x, coo, return_attention_weights=True)
    out_csc, (w_csc, alpha) = conv(g.x, coo.to_sparse_csc(), return_attention_weights=True)
    torch.testing.assert_close(out_csc, out_coo, atol=1e-12, rtol=0)
    assert w_csc.layout == torch.sparse_csc
    torch.testing.assert_close(w_csc.values(), alpha)
    torch.testing.assert_close(w_csc.to_dense(), w_coo.to_dense(), atol=1e-12, rtol=0)
