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
        Copy(aggr="medain")  # a typo; "median" itself is a name, as in PyG
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


# ------------------------------------------------------------------- PyG's conventions (issue 13, item 7)
class PygStyleFused(MessagePassing):
    """A layer written the PyG way: message(x_j, edge_weight), and message_and_aggregate(adj_t, x)."""

    def __init__(self) -> None:
        super().__init__(aggr="sum")
        self.fused_calls = 0

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        return self.propagate(adj, x=x, edge_weight=edge_weight)

    def message(self, x_j: Tensor, edge_weight: Optional[Tensor]) -> Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def message_and_aggregate(self, adj_t: Any, x: Tensor) -> Tensor:
        self.fused_calls += 1
        assert adj_t.layout != torch.strided  # the user's own sparse matrix, not a graphkit structure
        return torch.sparse.mm(adj_t, x)


def _weighted_reference(g: Graph, w: Tensor) -> Tensor:
    return torch.zeros_like(g.x).index_add_(0, g.edge_index[1], w.view(-1, 1) * g.x[g.edge_index[0]])


def test_pyg_style_message_and_aggregate_runs_only_for_sparse_input_and_gets_the_matrix() -> None:
    g = random_graph(12, 40, 3, weighted=True)
    w = g.edge_weight
    ref = _weighted_reference(g, w)
    layer = PygStyleFused()
    # An edge_index takes the message path (with the weight), as in PyG.
    torch.testing.assert_close(layer(g.x, g.edge_index, w), ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(layer(g.x, g, w), ref, atol=1e-12, rtol=0)
    assert layer.fused_calls == 0
    # A torch.sparse adj_t goes to message_and_aggregate as it is.
    adj_t = torch.sparse_coo_tensor(g.edge_index.flip(0), w, (12, 12)).coalesce()
    torch.testing.assert_close(layer(g.x, adj_t), ref, atol=1e-12, rtol=0)
    assert layer.fused_calls == 1
    # With fuse off, the sparse matrix's values reach message(x_j, edge_weight).
    layer.fuse = False
    torch.testing.assert_close(layer(g.x, adj_t), ref, atol=1e-12, rtol=0)
    assert layer.fused_calls == 1


def test_message_reads_edge_weight_from_a_sparse_matrix_like_pyg() -> None:
    g = random_graph(12, 40, 3, weighted=True)

    class NoFused(MessagePassing):
        def forward(self, x: Tensor, adj: Any) -> Tensor:
            return self.propagate(adj, x=x)

        def message(self, x_j: Tensor, edge_weight: Optional[Tensor]) -> Tensor:
            assert edge_weight is not None
            return edge_weight.view(-1, 1) * x_j

    adj_t = torch.sparse_coo_tensor(g.edge_index.flip(0), g.edge_weight, (12, 12)).coalesce()
    torch.testing.assert_close(NoFused()(g.x, adj_t), _weighted_reference(g, g.edge_weight), atol=1e-12, rtol=0)
    torch_sparse = require_peer("torch_sparse")
    st = torch_sparse.SparseTensor(row=g.edge_index[1], col=g.edge_index[0], value=g.edge_weight,
                                   sparse_sizes=(12, 12))
    torch.testing.assert_close(NoFused()(g.x, st), _weighted_reference(g, g.edge_weight), atol=1e-12, rtol=0)


def test_structure_may_be_named_edge_index_or_adj() -> None:
    g = random_graph(9, 30, 2)
    ref = Copy()(g.x, g.edge_index)
    torch.testing.assert_close(Copy()(g.x, edge_index=g.edge_index), ref)
    torch.testing.assert_close(Copy()(g.x, adj=g.edge_index), ref)
    layer = Copy()
    torch.testing.assert_close(layer.propagate(edge_index=g.edge_index, x=g.x), ref)
    torch.testing.assert_close(layer.propagate(adj=g.edge_index, x=g.x), ref)
    with pytest.raises(TypeError, match="both"):
        layer.propagate(g.edge_index, adj=g.edge_index, x=g.x)
    with pytest.raises(TypeError, match="needs the structure"):
        layer.propagate(x=g.x)
    with pytest.raises(TypeError, match="both adj= and edge_index="):
        layer(g.x, adj=g.edge_index, edge_index=g.edge_index)

    class Score(MessagePassing):
        def edge_update(self, x_i: Tensor, x_j: Tensor) -> Tensor:
            return (x_i * x_j).sum(-1)

    torch.testing.assert_close(Score().edge_updater(edge_index=g.edge_index, x=g.x),
                               Score().edge_updater(g.edge_index, x=g.x))


def test_message_may_return_a_tuple_for_its_aggregate() -> None:
    class MeanAndCount(MessagePassing):
        def forward(self, x: Tensor, adj: Any) -> Tensor:
            return self.propagate(adj, x=x)

        def message(self, x_j: Tensor) -> Any:
            return x_j, torch.ones(x_j.size(0), 1, dtype=x_j.dtype)

        def aggregate(self, inputs: Any, index: Tensor, dim_size: Optional[int] = None) -> Tensor:
            total, count = (torch.zeros(dim_size, t.size(1), dtype=t.dtype).index_add_(0, index, t) for t in inputs)
            return total / count.clamp(min=1)

    g = random_graph(10, 35, 3)
    torch.testing.assert_close(MeanAndCount()(g.x, g.edge_index), Copy(aggr="mean")(g.x, g.edge_index))
    with pytest.raises(ValueError, match="one row per edge"):
        class Wrong(MeanAndCount):
            def message(self, x_j: Tensor) -> Any:
                return x_j[:1], x_j

        Wrong()(g.x, g.edge_index)


def test_pyg_edge_index_honours_its_sparse_size() -> None:
    pyg = require_peer("torch_geometric")
    x = torch.randn(5, 2, dtype=torch.float64)
    raw = torch.tensor([[0, 1], [1, 2]])
    ei = pyg.EdgeIndex(raw, sparse_size=(5, 7))  # 7 targets, more than x has rows
    out = Copy()(x, ei)
    assert out.shape == (7, 2)
    torch.testing.assert_close(out[:5], Copy()(x, raw, size=(5, 5)))
    assert bool((out[5:] == 0).all())
    torch.testing.assert_close(Copy()(x, pyg.EdgeIndex(raw)), Copy()(x, raw))  # no sparse_size: from x
    with pytest.raises(ValueError, match="source"):
        Copy()(torch.randn(3, 2), pyg.EdgeIndex(raw, sparse_size=(5, 5)))


def test_another_librarys_aggregation_module_is_used_as_is() -> None:
    pyg = require_peer("torch_geometric")
    g = random_graph(10, 35, 3)
    foreign = pyg.nn.aggr.PowerMeanAggregation(p=1.0)  # p = 1: the mean
    layer = Copy(aggr=foreign)
    assert layer.aggr_module is foreign and not layer.fusable()
    torch.testing.assert_close(layer(g.x, g.edge_index), Copy(aggr="mean")(g.x, g.edge_index), atol=1e-6, rtol=0)


def test_every_graph_operator_is_a_message_passing() -> None:
    from graphkit.nn.attention import GATConv, GATv2Conv, GPSConv, NeighborhoodAttention2d, TransformerConv
    from graphkit.nn.conv import MeshConv
    from graphkit.nn.sheaf import SheafDiffusion
    from graphkit.nn.subgraph import DSSLayer, SSWLLayer

    for cls in (GATConv, GATv2Conv, TransformerConv, GPSConv, NeighborhoodAttention2d, SheafDiffusion, DSSLayer,
                SSWLLayer, MeshConv):
        assert issubclass(cls, MessagePassing), cls.__name__
