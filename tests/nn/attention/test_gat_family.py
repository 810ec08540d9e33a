"""GATConv, GATv2Conv and TransformerConv against torch_geometric (and GATConv against DGL).

Each case loads PyG's state_dict into our layer and compares the output and the gradients of the input, the
edge features and every parameter: float64 to 1e-10, float32 to 1e-5.
"""
from __future__ import annotations

import pytest
import torch

from graphkit import Graph
from graphkit.nn.attention import GATConv, GATv2Conv, TransformerConv
from graphkit.nn.attention._edgewise import edge_node_dot, edge_weighted_sum, gatv2_scores
from graphkit.testing import require_peer

TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def _graph(n: int = 23, e: int = 70, d: int = 3, dtype: torch.dtype = torch.float64):
    g = torch.Generator().manual_seed(n * 1000 + e)
    ei = torch.randint(0, n, (2, e), generator=g)
    ei[:, :4] = torch.tensor([[0, 1, 2, 2], [0, 1, 2, 2]])  # self-loops and a duplicate edge must be handled
    x = torch.randn(n, 6, generator=g, dtype=dtype)
    ea = torch.randn(e, d, generator=g, dtype=dtype)
    return x, ei, ea


def _compare(ours, theirs, x, adj_ours, adj_theirs, ea=None, dtype=torch.float64):
    ours.load_state_dict(theirs.state_dict())
    ours.to(dtype), theirs.to(dtype)
    outs, grads = [], []
    for layer, adj in ((ours, adj_ours), (theirs, adj_theirs)):
        xi = x.detach().clone().to(dtype).requires_grad_()
        inputs = [xi]
        args = [xi, adj]
        if ea is not None:
            eai = ea.detach().clone().to(dtype).requires_grad_()
            inputs.append(eai)
            args.append(eai)
        out = layer(*args)
        (out * torch.linspace(-1, 1, out.numel(), dtype=dtype).view_as(out)).pow(2).sum().backward()
        outs.append(out)
        grads.append([t.grad for t in inputs] + [p.grad for p in layer.parameters()])
        layer.zero_grad()
    tol = TOL[dtype]
    torch.testing.assert_close(outs[0], outs[1], atol=tol, rtol=tol)
    for a, b in zip(*grads):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, atol=tol, rtol=tol)


GAT_CASES = [
    dict(heads=3),
    dict(heads=2, concat=False),
    dict(heads=2, edge_dim=3),
    dict(heads=2, edge_dim=3, fill_value="add", residual=True),
    dict(heads=4, edge_dim=3, fill_value=0.5, concat=False, negative_slope=0.1),
    dict(heads=1, add_self_loops=False, bias=False),
    dict(heads=2, dropout=0.5),  # eval mode: dropout is off, so parity holds
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kwargs", GAT_CASES)
def test_gatconv_matches_pyg(kwargs, dtype):
    pyg = require_peer("torch_geometric")
    x, ei, ea = _graph()
    theirs, ours = pyg.nn.GATConv(6, 4, **kwargs).eval(), GATConv(6, 4, **kwargs).eval()
    _compare(ours, theirs, x, ei, ei, ea if "edge_dim" in kwargs else None, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kwargs", GAT_CASES + [dict(heads=2, share_weights=True, edge_dim=3, fill_value="max")])
def test_gatv2conv_matches_pyg(kwargs, dtype):
    pyg = require_peer("torch_geometric")
    x, ei, ea = _graph()
    theirs = pyg.nn.GATv2Conv(6, 4, **kwargs).eval()
    ours = GATv2Conv(6, 4, chunk=11, **kwargs).eval()  # a chunk that does not divide E: ragged last chunk
    _compare(ours, theirs, x, ei, ei, ea if "edge_dim" in kwargs else None, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(
    "kwargs",
    [dict(heads=3), dict(heads=2, concat=False, beta=True), dict(heads=2, edge_dim=3), dict(heads=2, edge_dim=3,
     beta=True, concat=False), dict(heads=1, root_weight=False, bias=False), dict(heads=2, dropout=0.3)],
)
def test_transformerconv_matches_pyg(kwargs, dtype):
    pyg = require_peer("torch_geometric")
    x, ei, ea = _graph()
    theirs, ours = pyg.nn.TransformerConv(6, 4, **kwargs).eval(), TransformerConv(6, 4, **kwargs).eval()
    _compare(ours, theirs, x, ei, ei, ea if "edge_dim" in kwargs else None, dtype)


@pytest.mark.parametrize("cls", ["GATConv", "GATv2Conv", "TransformerConv"])
def test_bipartite_and_graph_inputs_match_pyg(cls):
    pyg = require_peer("torch_geometric")
    ours_cls = {"GATConv": GATConv, "GATv2Conv": GATv2Conv, "TransformerConv": TransformerConv}[cls]
    g = torch.Generator().manual_seed(3)
    xs, xd = torch.randn(9, 5, generator=g, dtype=torch.float64), torch.randn(4, 3, generator=g, dtype=torch.float64)
    ei = torch.stack([torch.randint(0, 9, (30,), generator=g), torch.randint(0, 4, (30,), generator=g)])
    theirs = getattr(pyg.nn, cls)((5, 3), 4, heads=2).double().eval()
    ours = ours_cls((5, 3), 4, heads=2).double().eval()
    ours.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(ours((xs, xd), ei), theirs((xs, xd), ei), atol=1e-10, rtol=1e-10)
    # A Graph (its cached CSR is reused) and a torch-sparse adj_t give the same as the edge_index.
    x, ei, _ = _graph()
    theirs = getattr(pyg.nn, cls)(6, 4, heads=2).double().eval()
    ours = ours_cls(6, 4, heads=2).double().eval()
    ours.load_state_dict(theirs.state_dict())
    expected = theirs(x, ei)
    torch.testing.assert_close(ours(x, Graph(x=x, edge_index=ei)), expected, atol=1e-10, rtol=1e-10)
    torch_sparse = require_peer("torch_sparse")
    adj_t = torch_sparse.SparseTensor.from_edge_index(ei, sparse_sizes=(23, 23)).t()
    if cls != "TransformerConv":  # SparseTensor coalesces duplicate edges, so compare like with like
        torch.testing.assert_close(ours(x, adj_t), theirs(x, adj_t), atol=1e-10, rtol=1e-10)


def test_return_attention_weights_match_pyg():
    pyg = require_peer("torch_geometric")
    x, ei, _ = _graph()
    theirs, ours = pyg.nn.GATConv(6, 4, heads=2).double().eval(), GATConv(6, 4, heads=2).double().eval()
    ours.load_state_dict(theirs.state_dict())
    out_a, (ei_a, alpha_a) = ours(x, ei, return_attention_weights=True)
    out_b, (ei_b, alpha_b) = theirs(x, ei, return_attention_weights=True)
    assert torch.equal(ei_a, ei_b)
    torch.testing.assert_close(alpha_a, alpha_b, atol=1e-12, rtol=1e-12)


def test_gatconv_matches_dgl():
    dgl = require_peer("dgl")
    g = torch.Generator().manual_seed(1)
    n = 17
    ei = torch.cat([torch.randint(0, n, (2, 50), generator=g), torch.arange(n).repeat(2, 1)], 1)  # in-degree >= 1
    x = torch.randn(n, 6, generator=g, dtype=torch.float64)
    theirs = dgl.nn.pytorch.GATConv(6, 4, num_heads=3, negative_slope=0.2).double()
    ours = GATConv(6, 4, heads=3, add_self_loops=False).double()
    with torch.no_grad():
        ours.lin.weight.copy_(theirs.fc.weight)
        ours.att_src.copy_(theirs.attn_l)
        ours.att_dst.copy_(theirs.attn_r)
        ours.bias.copy_(theirs.bias.view(-1))
    graph = dgl.graph((ei[0], ei[1]), num_nodes=n)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    a, b = ours(xa, ei), theirs(graph, xb).reshape(n, -1)
    torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    a.pow(2).sum().backward()
    b.pow(2).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, atol=1e-10, rtol=1e-10)


def test_attention_dropout_acts_on_weights_in_training_only():
    x, ei, _ = _graph(dtype=torch.float32)
    layer = GATConv(6, 4, heads=2, dropout=0.5)
    layer.eval()
    _, (_, expected) = layer(x, ei, return_attention_weights=True)
    assert torch.equal(layer(x, ei), layer(x, ei))
    layer.train()
    _, (_, alpha) = layer(x, ei, return_attention_weights=True)
    dropped = alpha == 0
    assert 0.3 < dropped.float().mean() < 0.7
    torch.testing.assert_close(alpha[~dropped], 2 * expected[~dropped])  # survivors are rescaled by 1 / (1 - p)


def test_edgewise_functions_gradcheck():
    g = torch.Generator().manual_seed(5)
    n, e, h, f, d = 5, 13, 2, 3, 4
    src, dst = torch.randint(0, n, (e,), generator=g), torch.randint(0, n, (e,), generator=g)
    mk = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True)  # noqa: E731
    xl, xr, att, ea, w = mk(n, h, f), mk(n, h, f), mk(1, h, f), mk(e, d), mk(h * f, d)
    assert torch.autograd.gradcheck(lambda *t: gatv2_scores(t[0], t[1], t[2], src, dst, 0.2, t[3], t[4], chunk=4),
                                    (xl, xr, att, ea, w))
    u, v, wt = mk(n, h, d), mk(e, d), mk(e, h)
    assert torch.autograd.gradcheck(lambda a, b: edge_node_dot(a, b, dst, chunk=3), (u, v))
    assert torch.autograd.gradcheck(lambda a, b: edge_weighted_sum(a, b, dst, n, chunk=3), (wt, v))


def test_bad_inputs_raise_with_the_offending_value():
    x, ei, _ = _graph(dtype=torch.float32)
    with pytest.raises(ValueError, match="fill_value"):
        GATConv(6, 4, edge_dim=3, fill_value="median")(x, ei, torch.randn(ei.size(1), 3))
    with pytest.raises(ValueError, match="heads"):
        GATConv(6, 4, heads=0)
    with pytest.raises(ValueError, match="edge_attr"):
        TransformerConv(6, 4, edge_dim=3)(x, ei)
    with pytest.raises(ValueError, match="index 30"):
        GATv2Conv(6, 4)(x, torch.tensor([[0, 30], [1, 2]]))


def test_self_loop_structure_is_cached_per_graph_and_dropped_when_edges_change():
    x, ei, _ = _graph()
    graph = Graph(x=x, edge_index=ei.clone())
    layer = GATConv(6, 4, heads=2).double()
    first = layer(x, graph)
    _, (looped_a, _) = layer(x, graph, return_attention_weights=True)
    _, (looped_b, _) = layer(x, graph, return_attention_weights=True)
    assert looped_a is looped_b  # the same cached structure (and CSR) serves every call
    graph.edge_index[0, 10] = (graph.edge_index[0, 10] + 1) % 23  # edit in place: the cache must notice
    _, (looped_c, _) = layer(x, graph, return_attention_weights=True)
    assert looped_c is not looped_a
    torch.testing.assert_close(layer(x, graph), layer(x, graph.edge_index))
    assert not torch.equal(layer(x, graph), first)


@pytest.mark.parametrize("name", ["GATConv", "GATv2Conv", "TransformerConv"])
def test_shared_layer_checks_with_edge_features_from_the_graph(name):
    pyg = require_peer("torch_geometric")
    from graphkit.testing.layers import assert_matches_pyg, assert_permutation_equivariant, random_graph

    ours_cls = {"GATConv": GATConv, "GATv2Conv": GATv2Conv, "TransformerConv": TransformerConv}[name]
    graph = random_graph(20, 60, 6, seed=4, edge_dim=3)
    inputs = {"x": graph.x, "edge_attr": graph.edge_attr}
    assert_matches_pyg(
        ours_cls(6, 4, heads=2, edge_dim=3), getattr(pyg.nn, name)(6, 4, heads=2, edge_dim=3), graph,
        inputs=inputs, call=lambda m, kw: m(kw["x"], graph, kw["edge_attr"]),
        pyg_call=lambda m, kw: m(kw["x"], graph.edge_index, kw["edge_attr"]),
    )
    # Called with the Graph alone, the layer reads graph.edge_attr; relabelling nodes permutes the output.
    assert_permutation_equivariant(ours_cls(6, 4, heads=2, edge_dim=3).double(), graph)


class _LargestTensor(torch.utils._python_dispatch.TorchDispatchMode):
    """Records the largest tensor any op produces (forward and backward run under it)."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in torch.utils._pytree.tree_leaves(out):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


@pytest.mark.parametrize("name", ["GATConv", "GATv2Conv", "TransformerConv"])
def test_no_edge_by_head_by_feature_tensor_in_forward_or_backward(name):
    from graphkit.ops import backend

    if backend() == "torch":
        pytest.skip("the pure-torch fallback of spmm materialises per-edge messages by design")
    n, e, heads, feats = 300, 6000, 4, 16
    g = torch.Generator().manual_seed(0)
    ei = torch.randint(0, n, (2, e), generator=g)
    x, ea = torch.randn(n, 8, generator=g), torch.randn(e, 2, generator=g)
    cls = {"GATConv": GATConv, "GATv2Conv": GATv2Conv, "TransformerConv": TransformerConv}[name]
    kwargs = {"chunk": 500} if name == "GATv2Conv" else {}
    layer = cls(8, feats, heads=heads, edge_dim=2, **kwargs)
    x.requires_grad_()
    with _LargestTensor() as mode:
        layer(x, ei, ea).sum().backward()
    # E*H*F would be 384,000 (412,800 with GAT's self-loops); allow the [E, H] scores, [E, 2] indices, [N, H*F]
    # features and GATv2's [500, H, F] chunk.
    assert mode.largest <= max(2 * (e + n) * heads, 2 * (e + n), 500 * heads * feats), mode.largest


# ------------------------------------------------------------------- one base, one behaviour (issue 13, item 3)
LAYERS = {"GATConv": GATConv, "GATv2Conv": GATv2Conv, "TransformerConv": TransformerConv}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_attention_layers_are_message_passing_with_one_behaviour(name):
    from graphkit.nn import MessagePassing

    cls = LAYERS[name]
    x, ei, ea = _graph()
    layer = cls(6, 4, heads=2).double()
    assert isinstance(layer, MessagePassing)
    ref = layer(x, ei)
    # PyG's keyword for the structure, and size, are accepted by all three.
    torch.testing.assert_close(layer(x, edge_index=ei), ref, atol=0, rtol=0)
    torch.testing.assert_close(layer(x, ei, size=(23, 23)), ref, atol=0, rtol=0)
    # The unfused message path (which forms [E, H, F]) agrees with the fused spmm.
    layer.fuse = False
    torch.testing.assert_close(layer(x, ei), ref, atol=1e-12, rtol=0)
    # An explicit edge_attr without edge_dim is an error in all three (not silently dropped).
    with pytest.raises(ValueError, match="edge_dim=None"):
        layer(x, ei, ea)
    # A graph with no nodes works with concat=True and False.
    for concat in (True, False):
        empty = cls(6, 4, heads=3, concat=concat)(torch.randn(0, 6), torch.zeros(2, 0, dtype=torch.long))
        assert empty.shape == (0, 12 if concat else 4)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_attention_flow_target_to_source_is_the_reversed_graph(name):
    cls = LAYERS[name]
    x, ei, _ = _graph()
    fwd = cls(6, 4, heads=2).double()
    rev = cls(6, 4, heads=2, flow="target_to_source").double()
    rev.load_state_dict(fwd.state_dict())
    torch.testing.assert_close(rev(x, ei), fwd(x, ei.flip(0)), atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_attention_constructor_calls_reset_parameters(name, monkeypatch):
    calls = []
    monkeypatch.setattr(LAYERS[name], "reset_parameters", lambda self: calls.append(1))
    LAYERS[name](6, 4)
    assert calls == [1]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_attention_weights_of_a_sparse_input_come_back_sparse_like_pyg(name):
    pyg = require_peer("torch_geometric")
    x, ei, _ = _graph()
    theirs = getattr(pyg.nn, name)(6, 4, heads=2).double().eval()
    ours = LAYERS[name](6, 4, heads=2).double().eval()
    ours.load_state_dict(theirs.state_dict())
    ei = torch.unique(ei, dim=1)  # a sparse matrix holds each edge once
    adj_t = torch.sparse_coo_tensor(ei.flip(0), torch.ones(ei.size(1), dtype=torch.float64), (23, 23)).coalesce()
    out, (weighted, alpha) = ours(x, adj_t, return_attention_weights=True)
    ref_out, (ref_weighted, ref_alpha) = theirs(x, adj_t, return_attention_weights=True)
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=1e-10)
    if name == "TransformerConv":  # PyG hands back adj_t unchanged here; we put the weights in, as for GAT
        assert ref_weighted is adj_t
        ref_weighted = torch.sparse_coo_tensor(adj_t.indices(), ref_alpha, (23, 23, 2))
    assert weighted.is_sparse and weighted.shape == ref_weighted.shape == (23, 23, 2)
    torch.testing.assert_close(weighted.to_dense(), ref_weighted.to_dense(), atol=1e-10, rtol=1e-10)
    assert alpha.shape == ref_alpha.shape
