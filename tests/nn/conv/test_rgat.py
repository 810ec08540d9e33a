"""RGATConv: PyG's RGATConv state_dict loads strictly and outputs and gradients match (float64 1e-10, float32 1e-5)
for both attention mechanisms and modes, heads, dim, concat, edge features, every mod, bases and blocks, sum/mean/
max; a per-edge plain-torch reference (written from the paper's formulas) checks the same without PyG, on the fused
and the message path; bad input is named."""
from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
import torch
import torch.nn.functional as F

from graphkit import Graph
from graphkit.nn import RGATConv
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg, random_graph

R = 3
CONFIGS: Dict[str, Dict[str, Any]] = {
    "default": {},
    "within": {"attention_mechanism": "within-relation"},
    "heads": {"heads": 3},
    "heads_mean": {"heads": 2, "concat": False},
    "mult": {"attention_mode": "multiplicative-self-attention"},
    "mult_dim_within": {"attention_mode": "multiplicative-self-attention", "dim": 2, "heads": 2,
                        "attention_mechanism": "within-relation"},
    "mult_dim_mean": {"attention_mode": "multiplicative-self-attention", "dim": 3, "heads": 2, "concat": False},
    "edge": {"edge_dim": 4, "heads": 2},
    "mult_edge": {"edge_dim": 4, "attention_mode": "multiplicative-self-attention", "dim": 2},
    "additive": {"mod": "additive", "heads": 2},
    "additive_mult": {"mod": "additive", "attention_mode": "multiplicative-self-attention", "dim": 2},
    "scaled": {"mod": "scaled", "heads": 2},
    "scaled_mult": {"mod": "scaled", "attention_mode": "multiplicative-self-attention", "dim": 2},
    "f_additive": {"mod": "f-additive"},
    "f_scaled": {"mod": "f-scaled", "heads": 2},
    "bases": {"num_bases": 2, "heads": 2},
    "blocks": {"num_blocks": 2, "heads": 2},
    "blocks_within": {"num_blocks": 4, "heads": 4, "attention_mechanism": "within-relation"},
    "mean": {"aggr": "mean", "mod": "additive", "heads": 2},
    "max": {"aggr": "max", "heads": 2},
    "nobias": {"bias": False, "heads": 2, "concat": False},
}


def _graph(dtype: torch.dtype, n: int = 20, e: int = 90, seed: int = 5) -> Graph:
    g = random_graph(n, e, 8, seed=seed, dtype=dtype, edge_dim=4)
    g.set("edge_type", torch.randint(0, R, (g.num_edges,), generator=torch.Generator().manual_seed(seed)), "edge")
    return g


def _perturb_pyg(conv: torch.nn.Module) -> None:
    """PyG leaves ``l2`` uninitialised (``torch.empty``) and ``w``, ``l1``, bias at constants: give them finite,
    non-trivial values so that every term is exercised."""
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name in ("w", "l1", "b1", "l2", "b2", "bias"):
            p = getattr(conv, name, None)
            if p is not None:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)


def _edge_softmax_ref(a: torch.Tensor, group: torch.Tensor, num: int) -> torch.Tensor:
    idx = group.view(-1, 1).expand_as(a)
    m = a.new_full((num, a.size(1)), float("-inf")).scatter_reduce(0, idx, a, "amax", include_self=True)
    ex = (a - m[group]).exp()
    return ex / a.new_zeros(num, a.size(1)).index_add(0, group, ex)[group]


def reference(conv: RGATConv, x: torch.Tensor, ei: torch.Tensor, et: torch.Tensor,
              edge_attr: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Edge by edge from the formulas: g_e = W_r x_j, q_e = Q^T W_r x_i, k_e = K^T g_e, softmax per target (or per
    target and relation), messages alpha * g per head and query dimension, then aggr, mods, heads, bias."""
    H, C, D, n = conv.heads, conv.out_channels, conv.dim, x.size(0)
    w = conv.relation_weight()
    if w.dim() == 4:  # block-diagonal -> dense
        w = torch.stack([torch.block_diag(*w[r]) for r in range(w.size(0))])
    src, dst = ei
    g = torch.bmm(x[src].unsqueeze(1), w[et]).squeeze(1)
    t = torch.bmm(x[dst].unsqueeze(1), w[et]).squeeze(1)
    q, k = t @ conv.q, g @ conv.k
    edge = None if edge_attr is None else conv.lin_edge(edge_attr) @ conv.e
    if conv.attention_mode == "additive-self-attention":
        a = F.leaky_relu(q + k + (0 if edge is None else edge), conv.negative_slope)
    else:
        a = q * k * (1 if edge is None else edge)
    within = conv.attention_mechanism == "within-relation"
    alpha = _edge_softmax_ref(a, dst * R + et if within else dst, n * R if within else n)
    deg = torch.bincount(dst, minlength=n).to(x.dtype)
    if conv.mod == "f-additive":
        alpha = torch.where(alpha > 0, alpha + 1, alpha)
    elif conv.mod == "f-scaled":
        alpha = alpha * deg[dst].view(-1, 1)
    msg = alpha.view(-1, H, D, 1) * g.view(-1, H, 1, C)
    if conv.mod == "additive":
        msg = msg + conv.w * g.view(-1, H, 1, C)
    elif conv.mod == "scaled":
        msg = msg * (F.relu(deg[dst].view(-1, 1) @ conv.l1 + conv.b1) @ conv.l2 + conv.b2).view(-1, 1, 1, C)
    reduce = {"add": "sum", "max": "amax"}.get(conv.aggr, conv.aggr)
    idx = dst.view(-1, 1, 1, 1).expand_as(msg)
    out = msg.new_zeros(n, H, D, C).scatter_reduce(0, idx, msg, reduce, include_self=False)
    out = out.reshape(n, -1) if conv.concat else out.mean(1).reshape(n, -1)
    return out if conv.bias is None else out + conv.bias


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "message"])
@pytest.mark.parametrize("cfg", sorted(CONFIGS))
def test_matches_reference(cfg: str, fuse: bool) -> None:
    g = _graph(torch.float64)
    conv = RGATConv(8, 5, R, **CONFIGS[cfg]).double()
    _perturb_pyg(conv)
    conv.fuse = fuse
    edge_attr = g.edge_attr if conv.edge_dim is not None else None
    x = g.x.clone().requires_grad_(True)
    ours = conv(x, g.edge_index, g.edge_type, edge_attr)
    ref = reference(conv, g.x, g.edge_index, g.edge_type, edge_attr)
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=0)
    # Gradients against a differentiable reference on the same parameters
    probe = torch.randn(ours.shape, generator=torch.Generator().manual_seed(1), dtype=ours.dtype)
    gx = torch.autograd.grad((ours * probe).sum(), [x] + list(conv.parameters()), allow_unused=True)
    x2 = g.x.clone().requires_grad_(True)
    gr = torch.autograd.grad((reference(conv, x2, g.edge_index, g.edge_type, edge_attr) * probe).sum(),
                             [x2] + list(conv.parameters()), allow_unused=True)
    for (name, _), a, b in zip([("x", None)] + list(conv.named_parameters()), gx, gr):
        if a is None or b is None:
            assert (a is None or not a.abs().max()) and (b is None or not b.abs().max()), name
        else:
            torch.testing.assert_close(a, b, atol=1e-10, rtol=0, msg=name)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("cfg", sorted(CONFIGS))
def test_matches_pyg(cfg: str, dtype: torch.dtype) -> None:
    pnn = require_peer("torch_geometric").nn
    g = _graph(dtype)
    kw = CONFIGS[cfg]
    ours, theirs = RGATConv(8, 5, R, **kw), pnn.RGATConv(8, 5, R, **kw)
    _perturb_pyg(theirs)
    inputs: Dict[str, Any] = {"x": g.x}
    if "edge_dim" in kw:
        inputs["edge_attr"] = g.edge_attr
    ei, et = g.edge_index, g.edge_type
    assert_matches_pyg(ours, theirs, g, inputs=inputs, dtype=dtype,
                       call=lambda m, i: m(i["x"], ei, et, i.get("edge_attr")),
                       pyg_call=lambda m, i: m(i["x"], ei, et, i.get("edge_attr")))


def test_attention_weights_and_inputs_match_pyg() -> None:
    pyg = require_peer("torch_geometric")
    g = _graph(torch.float64)
    for kw in ({"heads": 2}, {"attention_mode": "multiplicative-self-attention", "dim": 2,
                              "attention_mechanism": "within-relation"}):
        ours, theirs = RGATConv(8, 5, R, **kw).double(), pyg.nn.RGATConv(8, 5, R, **kw).double()
        ours.load_state_dict(theirs.state_dict())
        out, (ei, alpha) = ours(g.x, g, return_attention_weights=False)  # edge_type read from the Graph
        ref, (ei_ref, alpha_ref) = theirs(g.x, g.edge_index, g.edge_type, return_attention_weights=False)
        torch.testing.assert_close(out, ref, atol=1e-10, rtol=0)
        assert torch.equal(ei, ei_ref)
        torch.testing.assert_close(alpha, alpha_ref, atol=1e-10, rtol=0)


def test_empty_and_isolated() -> None:
    conv = RGATConv(8, 5, R, heads=2).double()
    x = torch.randn(4, 8, dtype=torch.float64)
    out = conv(x, torch.empty(2, 0, dtype=torch.long), torch.empty(0, dtype=torch.long))
    torch.testing.assert_close(out, conv.bias.expand(4, 10))
    out = conv(x, torch.tensor([[0], [1]]), torch.tensor([2]))  # nodes 0, 2, 3 receive nothing
    torch.testing.assert_close(out[[0, 2, 3]], conv.bias.expand(3, 10))


def test_bad_input_is_named() -> None:
    g = _graph(torch.float32)
    conv = RGATConv(8, 5, R)
    with pytest.raises(ValueError, match="edge_type has value 3 but num_relations is 3"):
        conv(g.x, g.edge_index, torch.full((g.num_edges,), 3))
    with pytest.raises(ValueError, match="edge_type is required"):
        conv(g.x, g.edge_index)
    with pytest.raises(ValueError, match="got edge_attr but was built with edge_dim=None"):
        conv(g.x, g.edge_index, g.edge_type, g.edge_attr)
    with pytest.raises(ValueError, match="x must be floating node features"):
        conv(torch.arange(20), g.edge_index, g.edge_type)
    with pytest.raises(ValueError, match="attention_mechanism must be one of"):
        RGATConv(8, 5, R, attention_mechanism="across")
    with pytest.raises(ValueError, match="dim must be 1 with attention_mode='additive-self-attention', got 2"):
        RGATConv(8, 5, R, dim=2)
    with pytest.raises(ValueError, match="mod must be one of"):
        RGATConv(8, 5, R, mod="f-mult")
    with pytest.raises(ValueError, match="mod='scaled' needs aggr"):
        RGATConv(8, 5, R, mod="scaled", aggr="max")
    with pytest.raises(ValueError, match="dropout must be 0 with mod='additive'"):
        RGATConv(8, 5, R, mod="additive", dropout=0.5)
    with pytest.raises(ValueError, match="num_blocks must divide"):
        RGATConv(8, 5, R, num_blocks=3)
    with pytest.raises(ValueError, match="aggr must be one of"):
        RGATConv(8, 5, R, aggr="std")


def test_structure_inputs_agree() -> None:
    g = _graph(torch.float64)
    conv = RGATConv(8, 5, R, heads=2, edge_dim=4).double()
    ref = conv(g.x, g.edge_index, g.edge_type, g.edge_attr)
    for out in (conv(g.x, g), conv((g.x, g.x), g.edge_index, g.edge_type, g.edge_attr),
                conv(g.x, edge_index=g.edge_index, edge_type=g.edge_type, edge_attr=g.edge_attr)):
        torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)
    rev = RGATConv(8, 5, R, heads=2, edge_dim=4, flow="target_to_source").double()
    rev.load_state_dict(conv.state_dict())
    torch.testing.assert_close(rev(g.x, g.edge_index.flip(0), g.edge_type, g.edge_attr), ref, atol=1e-12, rtol=0)
    sub = torch.randn(7, 8, dtype=torch.float64)  # bipartite: 20 sources -> 7 targets
    keep = g.edge_index[1] < 7
    out = conv((g.x, sub), g.edge_index[:, keep], g.edge_type[keep], g.edge_attr[keep])
    assert out.shape == (7, 10)
