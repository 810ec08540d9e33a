"""HGTConv: PyG's state_dict loads strictly; outputs and gradients of every input and parameter match PyG's HGTConv
(float64 1e-10, float32 1e-5) with mixed input widths (skip only where widths match) and one width (every type at
once), several heads, a subset of edge types present; the memoised structure follows an edited edge_index; bad
input is named."""
from __future__ import annotations

import pytest
import torch

from graphkit.nn import HGTConv
from graphkit.testing import require_peer
from graphkit.testing.layers import assert_matches_pyg
from graphkit.testing.hetero import EDGES, METADATA, dummy_graph, flat, typed_graph


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("heads,out", [(1, 5), (2, 6)])
@pytest.mark.parametrize("subset", [False, True])
@pytest.mark.parametrize("mixed", [True, False], ids=["mixed_widths", "one_width"])
def test_matches_pyg(dtype: torch.dtype, heads: int, out: int, subset: bool, mixed: bool) -> None:
    pyg = require_peer("torch_geometric")
    x, ei = typed_graph()
    if mixed:  # per-type linears; else all types at once (and, with out == 5, the skip on every type)
        x["field"] = x["field"][:, :3]  # another width: no skip connection for 'field'
    if subset:
        ei = {e: ei[e] for e in (EDGES[0], EDGES[2], EDGES[3])}
    widths = {t: v.size(1) for t, v in x.items()}
    ours, theirs = HGTConv(widths, out, METADATA, heads=heads), pyg.nn.HGTConv(widths, out, METADATA, heads=heads)
    with torch.no_grad():  # non-trivial skip gates and priors
        for p in list(theirs.skip.values()) + list(theirs.p_rel.values()):
            p.uniform_(-1.0, 2.0)
    assert_matches_pyg(ours, theirs, dummy_graph(), inputs=dict(x), dtype=dtype,
                   call=flat(lambda m, kw: m(kw, ei)), pyg_call=flat(lambda m, kw: m(kw, ei)))


def test_graph_input_and_bad_input() -> None:
    x, ei = typed_graph()
    conv = HGTConv(5, 4, METADATA, heads=2).double()

    class Typed:
        x_dict, edge_index_dict = x, ei

    ref = conv(x, ei)
    for k, v in conv(Typed()).items():
        torch.testing.assert_close(v, ref[k], atol=0, rtol=0)
    # The dict's order does not matter here (PyG's pyg-lib path assumes metadata order: it sorts nothing)
    for k, v in conv(x, dict(reversed(list(ei.items())))).items():
        torch.testing.assert_close(v, ref[k], atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match="x_dict has no features for node type 'field'"):
        conv({k: v for k, v in x.items() if k != "field"}, ei)
    with pytest.raises(ValueError, match=r"edge type \('paper', 'to', 'paper'\) is not in HGTConv's metadata"):
        conv(x, {("paper", "to", "paper"): ei[EDGES[2]]})
    with pytest.raises(ValueError, match="divisible by heads"):
        HGTConv(5, 5, METADATA, heads=2)
    with pytest.raises(ValueError, match="has node type 'venue'"):
        HGTConv(5, 4, (["paper"], [("paper", "in", "venue")]))


def test_structure_memo_follows_edits() -> None:
    x, ei = typed_graph()
    conv = HGTConv(5, 4, METADATA, heads=2).double()
    first = conv(x, ei)
    edited = {e: v.clone() for e, v in ei.items()}
    fresh = HGTConv(5, 4, METADATA, heads=2).double()
    fresh.load_state_dict(conv.state_dict())
    with torch.no_grad():
        edited[EDGES[0]][1].copy_(edited[EDGES[0]][1].flip(0))  # an in-place edit: same tensor, new content
    assert torch.equal(conv(x, edited)[EDGES[0][2]], fresh(x, {e: v.clone() for e, v in edited.items()})[EDGES[0][2]])
    for k, v in conv(x, ei).items():  # the original tensors still give the first result
        torch.testing.assert_close(v, first[k], atol=0, rtol=0)


def test_gradcheck_shared_and_empty_source_types() -> None:
    """The relation transform's own backward (several edge types read 'paper''s rows; 'field' has no nodes, so its
    relations are empty) against finite differences in float64. The attention kernels' backward passes are first
    order, so a second derivative is refused rather than returned as zeros."""
    x, ei = typed_graph(f=4)
    x["field"] = x["field"][:0]
    ei[EDGES[3]] = ei[EDGES[3]][:, :0]
    ei[EDGES[4]] = ei[EDGES[4]][:, :0]
    conv = HGTConv(4, 4, METADATA, heads=2).double()
    with torch.no_grad():  # non-trivial priors, so the key weights' scaling is exercised
        for p in conv.p_rel.values():
            p.uniform_(0.5, 1.5)
    inputs = tuple(x[t].clone().requires_grad_() for t in ("author", "paper")) + (conv.k_rel.weight, conv.v_rel.weight)

    def run(a: torch.Tensor, p: torch.Tensor, *_: torch.Tensor) -> torch.Tensor:
        out = conv({"author": a, "paper": p, "field": x["field"]}, ei)
        return torch.cat([out["author"], out["paper"]])

    assert run(*inputs).shape == (7 + 9, 4)
    assert torch.autograd.gradcheck(run, inputs)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        torch.autograd.gradgradcheck(run, inputs)
