"""MessagePassing itself: the x_i / x_j convention, flow, bipartite sizes, aggregators by name (vs PyG's),
the fused and the message paths, edge_updater, the accepted kinds of ``adj``, and the error messages."""
from __future__ import annotations

from typing import Any, Optional

import pytest
import torch
from torch import Tensor

from graphkit import Batch, Graph
from graphkit.nn import Adjacency, MessagePassing
from graphkit.nn.aggr import aggr_resolver
from graphkit.testing import require_peer
from graphkit.testing.layers import random_graph


class Diff(MessagePassing):
    """m_{j->i} = x_j - 2 x_i: tells sources and targets apart."""

    def forward(self, x: Any, adj: Any) -> Tensor:
        return self.propagate(adj, x=x)

    def message(self, x_i: Tensor, x_j: Tensor) -> Tensor:
        return x_j - 2 * x_i


class Copy(MessagePassing):
    def forward(self, x: Any, adj: Any, size: Any = None) -> Tensor:
        return self.propagate(adj, x=x, size=size)


class Weighted(MessagePassing):
    fused_weight = "edge_weight"

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        return self.propagate(adj, x=x, edge_weight=edge_weight)


def test_x_i_is_target_and_x_j_is_source() -> None:
    x = torch.tensor([[1.0], [10.0], [100.0]])
    ei = torch.tensor([[0, 1], [2, 2]])  # 0 -> 2, 1 -> 2
    out = Diff()(x, ei)
    assert out.view(-1).tolist() == [0.0, 0.0, (1 - 200) + (10 - 200)]


def test_flow_target_to_source_reverses_messages() -> None:
    x = torch.tensor([[1.0], [10.0], [100.0]])
    ei = torch.tensor([[0, 1], [2, 2]])
    out = Diff(flow="target_to_source")(x, ei)
    assert out.view(-1).tolist() == [100 - 2, 100 - 20, 0.0]


def test_bipartite_sizes_come_from_the_pair() -> None:
    xs, xd = torch.arange(5.0).view(5, 1), torch.zeros(2, 1)
    ei = torch.tensor([[4, 3, 0], [0, 0, 1]])
    out = Copy()((xs, xd), ei)
    assert out.shape == (2, 1) and out.view(-1).tolist() == [7.0, 0.0]
    # Only the target count: the size argument fixes it, sources from x.
    assert Copy()(xs, ei, size=(5, 3)).shape == (3, 1)


@pytest.mark.parametrize("aggr", ["sum", "add", "mean", "max", "min", "var", "std", "softmax",
                                  ["sum", "mean", "max"], ["min", "std"]])
@pytest.mark.parametrize("fuse", [True, False])
def test_aggregators_match_pyg(aggr: Any, fuse: bool) -> None:
    pyg = require_peer("torch_geometric")

    class PygCopy(pyg.nn.MessagePassing):
        def forward(self, x: Tensor, ei: Tensor) -> Tensor:
            return self.propagate(ei, x=x)

    g = random_graph(25, 90, 4, seed=2)
    ours, theirs = Copy(aggr=aggr), PygCopy(aggr=aggr)
    ours.fuse = fuse
    x1 = g.x.clone().requires_grad_(True)
    x2 = g.x.clone().requires_grad_(True)
    a, b = ours(x1, g), theirs(x2, g.edge_index)
    torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    probe = torch.randn_like(a)
    (a * probe).sum().backward()
    (b * probe).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-10, rtol=0)


def test_fused_path_is_default_and_skips_message() -> None:
    calls = []

    class Spy(Weighted):
        pass

    layer = Spy()
    layer.message = lambda x_j: calls.append(1) or x_j  # type: ignore[assignment]  (instance patch: not used when fused)
    assert layer.fusable()
    g = random_graph(10, 30, 3, weighted=True)
    fused = layer(g.x, g, g.edge_weight)
    assert calls == []
    layer.fuse = False
    assert not layer.fusable()
    torch.testing.assert_close(Weighted(fuse=False)(g.x, g, g.edge_weight), fused, atol=1e-12, rtol=0)
    assert not Copy(aggr="std").fusable() and not Diff().fusable()


def test_graph_sparse_tensor_and_edge_index_agree() -> None:
    g = random_graph(12, 40, 3, weighted=True)
    w = g.edge_weight
    ref = Weighted(aggr="mean")(g.x, g.edge_index, w)
    torch.testing.assert_close(Weighted(aggr="mean")(g.x, g, w), ref, atol=1e-12, rtol=0)
    # torch.sparse adj_t (targets x sources); its values are the edge weights.
    coo = torch.sparse_coo_tensor(g.edge_index.flip(0), w, (12, 12)).coalesce()
    dense_ref = Weighted(aggr="sum")(g.x, g.edge_index, w)
    torch.testing.assert_close(Weighted(aggr="sum")(g.x, coo), dense_ref, atol=1e-12, rtol=0)
    torch_sparse = require_peer("torch_sparse")
    adj_t = torch_sparse.SparseTensor(row=g.edge_index[1], col=g.edge_index[0], value=w, sparse_sizes=(12, 12))
    torch.testing.assert_close(Weighted(aggr="sum")(g.x, adj_t), dense_ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(Weighted(aggr="sum", fuse=False)(g.x, adj_t), dense_ref, atol=1e-12, rtol=0)


def test_graph_csr_is_cached_across_layers(monkeypatch: pytest.MonkeyPatch) -> None:
    from graphkit.ops import adjacency

    builds = []
    real = adjacency.build_csr
    monkeypatch.setattr(adjacency, "build_csr", lambda *a: builds.append(1) or real(*a))
    g = random_graph(12, 40, 3)
    assert not g.has_csr()
    Copy()(g.x, g)
    assert g.has_csr() and len(builds) == 1  # the first layer built the graph's CSR ...
    first = g.csr()
    Copy(aggr="max")(g.x, g)
    Copy(fuse=False)(g.x, g)
    assert g.csr()[0] is first[0] and len(builds) == 1  # ... and the next layers reused it


def test_edge_updater_gathers_like_message() -> None:
    class Score(MessagePassing):
        def edge_update(self, x_i: Tensor, x_j: Tensor, scale: float = 1.0) -> Tensor:
            return scale * (x_i * x_j).sum(-1)

    g = random_graph(8, 20, 3)
    s = Score().edge_updater(g, x=g.x, scale=2.0)
    ei = g.edge_index
    torch.testing.assert_close(s, 2.0 * (g.x[ei[1]] * g.x[ei[0]]).sum(-1))


def test_adjacency_ops_on_a_batch() -> None:
    b = Batch.from_graphs([random_graph(5, 12, 2, seed=1), random_graph(4, 9, 2, seed=2)])
    adj = Adjacency.from_adj(b)
    assert adj is b.adj and adj.num_src == adj.num_dst == 9
    torch.testing.assert_close(adj.degree(), torch.bincount(b.edge_index[1], minlength=9))
    scores = torch.randn(b.num_edges, dtype=torch.float64)
    alpha = adj.edge_softmax(scores)
    sums = torch.zeros(9, dtype=torch.float64).index_add_(0, b.edge_index[1], alpha)
    has_in = adj.degree() > 0
    torch.testing.assert_close(sums[has_in], torch.ones(int(has_in.sum()), dtype=torch.float64))


def test_errors_name_the_problem() -> None:
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match=r"edge_index\[1\] has index 9 but the number of target nodes is 4"):
        Copy()(x, torch.tensor([[0, 1], [2, 9]]))
    with pytest.raises(ValueError, match="edge_index must be an integer tensor of shape"):
        Copy()(x, torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
    with pytest.raises(TypeError, match="adj must be an edge_index tensor"):
        Copy()(x, [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="aggr must be one of"):
        Copy(aggr="median")
    with pytest.raises(ValueError, match="flow must be one of"):
        Copy(flow="sideways")
    with pytest.raises(ValueError, match="the node features have 4 rows but adj has 5 source nodes"):
        Copy()(x, Graph(edge_index=torch.tensor([[0], [4]]), num_nodes=5))

    class NeedsY(MessagePassing):
        def message(self, x_j: Tensor, y: Tensor) -> Tensor:
            return x_j * y

    with pytest.raises(TypeError, match="NeedsY.message needs 'y'"):
        NeedsY().propagate(torch.tensor([[0], [1]]), x=x)


def test_aggr_resolver_accepts_modules_and_lists() -> None:
    m = aggr_resolver("softmax", learn=True, t=0.5)
    assert aggr_resolver(m) is m and float(m.t) == 0.5
    multi = aggr_resolver(["mean", m])
    assert not multi.fusable and aggr_resolver(["sum", "max"]).fusable


def test_out_of_range_index_on_the_fused_path_raises_not_crashes() -> None:
    from graphkit.testing import assert_raises_in_subprocess

    assert_raises_in_subprocess(
        """
        import torch
        from graphkit.nn import SAGEConv
        SAGEConv(3, 2)(torch.randn(4, 3), torch.tensor([[0, 99], [1, 2]]))
        """,
        "ValueError",
        "edge_index[0] has index 99 but the number of source nodes is 4",
    )
