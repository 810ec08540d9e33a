"""NCNC: the completed common-neighbour sum against a plain-Python construction, target link removal, learning."""
from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

import graphkit.train.ncn as ncn_module
from graphkit import Graph
from graphkit.train import TrainConfig
from graphkit.train.link import LinkTask, alpha_ramp_factor, without_pairs
from graphkit.train.ncn import NCNCPredictor, NCNPredictor, neighbour_differences, sparse_adjacency


def _graph(seed=0, n=14, m=30):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, m), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    ei = torch.cat([ei, ei.flip(0), ei[:, :4]], dim=1)  # symmetric, with duplicates
    return Graph(edge_index=ei, num_nodes=n)


def _neighbours(g):
    nbr = {v: set() for v in range(g.num_nodes)}
    for s, t in g.edge_index.t().tolist():
        nbr[t].add(s)
    return nbr


def _linears(seq):
    return [m for m in seq if isinstance(m, torch.nn.Linear)]


def _authors_head(pred, opts, hij, c):
    """The authors' CNLinkPredictor head written out from the weights (eval mode: dropout is the identity):
    lin(beta * xcnlin(c) + xijlin(hij)), LayerNorm before each normed ReLU when ``norm``, the branches' last
    linear map dropped with ``tail_act``, a second hidden layer in lin with ``two_layer_out``."""
    def norm(x, seq, k):  # the k-th LayerNorm of seq, if the recipe has them
        lns = [m for m in seq if isinstance(m, torch.nn.LayerNorm)]
        return F.layer_norm(x, x.shape[-1:], lns[k].weight, lns[k].bias, lns[k].eps) if opts.get("norm") else x

    def lin(m, x):
        return F.linear(x, m.weight, m.bias)

    p, c_, o = _linears(pred.pair), _linears(pred.cn), _linears(pred.out)
    xij = torch.relu(norm(lin(p[0], hij), pred.pair, 0))
    xcn = torch.relu(norm(lin(c_[1], torch.relu(lin(c_[0], c))), pred.cn, 0))
    if not opts.get("tail_act"):
        xij, xcn = lin(p[1], xij), lin(c_[2], xcn)
    z = torch.relu(norm(lin(o[0], pred.beta * xcn + xij), pred.out, 0))
    if opts.get("two_layer_out"):
        z = torch.relu(norm(lin(o[1], z), pred.out, 1))
    return lin(o[-1], z).squeeze()


def _features(pred, opts, h):
    """What a common neighbour contributes: h_k, or h_k + relu(LN(L1 relu(L0 h_k))) with feature_mlp."""
    if not opts.get("feature_mlp"):
        return h
    f = _linears(pred.features)
    x = F.linear(torch.relu(F.linear(h, f[0].weight, f[0].bias)), f[1].weight, f[1].bias)
    if opts.get("norm"):
        ln = pred.features[4]
        x = F.layer_norm(x, x.shape[-1:], ln.weight, ln.bias, ln.eps)
    return h + torch.relu(x)


def _ncn_logit(pred, h, nbr, i, j, opts=None):
    """NCN's score of (i, j), one pair at a time, from Python sets (``opts``: the authors' layout's options)."""
    if opts is None:
        cn = sum((h[k] for k in sorted(nbr[i] & nbr[j])), torch.zeros_like(h[0]))
        return pred.out(torch.cat([pred.pair(h[i] * h[j]), pred.cn(cn)])).squeeze()
    x = _features(pred, opts, h)
    cn = sum((x[k] for k in sorted(nbr[i] & nbr[j])), torch.zeros_like(h[0]))
    return _authors_head(pred, opts, h[i] * h[j], cn)


def _calibrated(pred, logit):
    """The authors' calibration, written as their code writes it: alpha * pt p0 / (pt p0 + 1 - p0)."""
    p0 = torch.sigmoid(pred.scale * (logit - pred.offset))
    return pred.alpha * pred.prior * p0 / (pred.prior * p0 + 1 - p0)


def _completed_reference(pred, h, nbr, i, j, opts=None):
    """sum_k P_ijk x_k with P_ijk = 1 (shared), A^_ik (k only next to j), A^_jk (k only next to i); x_k = h_k
    (or h_k + MLP(h_k) with the authors' feature_mlp)."""
    x = _features(pred, opts or {}, h)
    total = torch.zeros_like(h[0])
    for k in range(h.size(0)):
        if k in nbr[i] and k in nbr[j]:
            w = torch.tensor(1.0, dtype=h.dtype)
        elif k in nbr[j]:
            w = _calibrated(pred, _ncn_logit(pred, h, nbr, i, k, opts))
        elif k in nbr[i]:
            w = _calibrated(pred, _ncn_logit(pred, h, nbr, j, k, opts))
        else:
            continue
        total = total + w * x[k]
    return total


# the authors' defaults, the uncalibrated sigma(s), and one that lets every weight sit well inside (0, 1)
CALIBRATIONS = [{}, dict(scale=1.0, offset=0.0, prior=1.0, alpha=1.0), dict(scale=0.7, offset=-0.2, prior=0.3,
                                                                             alpha=0.8)]


@pytest.mark.parametrize("calibration", CALIBRATIONS)
@pytest.mark.parametrize("dense", [True, False])
def test_completed_sum_matches_plain_python(monkeypatch, dense, calibration):
    if not dense:  # the sparse path, which graphs over _DENSE_NODES take
        monkeypatch.setattr(ncn_module, "_DENSE_NODES", 0)
    torch.manual_seed(0)
    g = _graph()
    nbr = _neighbours(g)
    pred = NCNCPredictor(6, **calibration).double().eval()
    h = torch.randn(g.num_nodes, 6, dtype=torch.float64)
    pairs = torch.cat([g.edge_index.t()[:8], torch.randint(0, g.num_nodes, (12, 2))])
    with torch.no_grad():
        got = pred.completed_sum(h, g, pairs)
        want = torch.stack([_completed_reference(pred, h, nbr, i, j) for i, j in pairs.tolist()])
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
        logits = torch.stack([pred.out(torch.cat([pred.pair(h[i] * h[j]), pred.cn(c)])).squeeze()
                              for (i, j), c in zip(pairs.tolist(), want)])
        torch.testing.assert_close(pred(h, g, pairs), logits, rtol=0, atol=1e-12)
    # completion changes something here: some pair has a neighbour of one end only
    assert any(nbr[i] ^ nbr[j] for i, j in pairs.tolist())


# the authors' layout (GraphPKU/NeuralCommonNeighbor's CNLinkPredictor) with their options, one at a time and together
AUTHORS = [{}, dict(norm=True), dict(tail_act=True), dict(two_layer_out=True, beta=0.4), dict(feature_mlp=True),
           dict(norm=True, tail_act=True, two_layer_out=True, feature_mlp=True, beta=2.0)]


@pytest.mark.parametrize("opts", AUTHORS)
@pytest.mark.parametrize("dense", [True, False])
def test_authors_layout_matches_written_out_reference(monkeypatch, dense, opts):
    if not dense:
        monkeypatch.setattr(ncn_module, "_DENSE_NODES", 0)
    torch.manual_seed(2)
    g = _graph(6)
    nbr = _neighbours(g)
    # offset 0, scale 1: completion weights well inside (0, 1), so a wrong completed sum shows
    ncnc = NCNCPredictor(6, layout="authors", scale=1.0, offset=0.0, **opts).double().eval()
    with torch.no_grad():
        for m in ncnc.modules():  # LayerNorm's affine parameters start at 1 / 0: make them count
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    ncn = NCNPredictor(6, layout="authors", **opts).double().eval()
    ncn.load_state_dict(ncnc.state_dict())  # NCNC's parameters are NCN's: a trained NCN warm-starts it
    h = torch.randn(g.num_nodes, 6, dtype=torch.float64)
    pairs = torch.cat([g.edge_index.t()[:6], torch.randint(0, g.num_nodes, (10, 2))])
    with torch.no_grad():
        want_ncn = torch.stack([_ncn_logit(ncn, h, nbr, i, j, opts) for i, j in pairs.tolist()])
        torch.testing.assert_close(ncn(h, g, pairs), want_ncn, rtol=0, atol=1e-12)
        completed = torch.stack([_completed_reference(ncnc, h, nbr, i, j, opts) for i, j in pairs.tolist()])
        torch.testing.assert_close(ncnc.completed_sum(h, g, pairs), completed, rtol=0, atol=1e-12)
        want = torch.stack([_authors_head(ncnc, opts, h[i] * h[j], c) for (i, j), c in zip(pairs.tolist(), completed)])
        torch.testing.assert_close(ncnc(h, g, pairs), want, rtol=0, atol=1e-12)
        assert not torch.allclose(want, want_ncn)  # completion changed the scores
        ncnc.alpha = 0.0  # no completion: NCNC is NCN
        torch.testing.assert_close(ncnc(h, g, pairs), want_ncn, rtol=0, atol=1e-12)


def test_authors_layout_modules_and_learnable_beta():
    pred = NCNPredictor(4, dropout=0.3, layout="authors", norm=True, beta=0.5)
    kinds = lambda seq: [type(m).__name__ for m in seq]  # noqa: E731
    assert kinds(pred.pair) == ["Linear", "LayerNorm", "Dropout", "ReLU", "Linear"]
    assert kinds(pred.cn) == ["Linear", "Dropout", "ReLU", "Linear", "LayerNorm", "Dropout", "ReLU", "Linear"]
    assert kinds(pred.out) == ["Linear", "LayerNorm", "Dropout", "ReLU", "Linear"]
    assert pred.beta.requires_grad and pred.beta.item() == 0.5 and pred.features is None
    g = _graph(7)
    pred(torch.randn(g.num_nodes, 4), g, g.edge_index.t()[:5]).sum().backward()
    assert pred.beta.grad is not None and pred.beta.grad.abs() > 0


@pytest.mark.parametrize("kwargs,message", [
    (dict(layout="sum"), "layout must be one of \\('concat', 'authors'\\), got 'sum'"),
    (dict(norm=True), "norm need layout='authors', got layout='concat'"),
    (dict(tail_act=True, beta=2.0), "tail_act, beta need layout='authors'"),
])
def test_layout_options_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NCNCPredictor(4, **kwargs)


def test_neighbour_differences_dense_and_sparse_agree():
    g = _graph(1, n=20, m=60)
    s = sparse_adjacency(g.edge_index, g.num_nodes)
    pairs = torch.randint(0, g.num_nodes, (25, 2), generator=torch.Generator().manual_seed(1))
    nbr = _neighbours(g)
    for d in (None, s.to_dense()):
        only_j, only_i = neighbour_differences(s, d, pairs)
        for got, side in ((only_j, 1), (only_i, 0)):
            want = {(p, k) for p, (i, j) in enumerate(pairs.tolist()) for k in
                    (nbr[j] - nbr[i] if side == 1 else nbr[i] - nbr[j])}
            assert set(map(tuple, got.t().tolist())) == want and got.size(1) == len(want)


@pytest.mark.parametrize("dense", [True, False])
def test_target_link_removal_scored_edge_does_not_count_itself(monkeypatch, dense):
    if not dense:
        monkeypatch.setattr(ncn_module, "_DENSE_NODES", 0)
    torch.manual_seed(1)
    g = _graph(2)
    pred = NCNCPredictor(6).double().eval()
    h = torch.randn(g.num_nodes, 6, dtype=torch.float64)
    pos = g.edge_index.t()[:5]  # edges of the graph, scored as positives of a training batch
    cut = without_pairs(g, pos)
    nbr = _neighbours(cut)
    assert all(j not in nbr[i] for i, j in pos.tolist())
    with torch.no_grad():
        removed = pred.completed_sum(h, g, pos, remove=pos)
        want = torch.stack([_completed_reference(pred, h, nbr, i, j) for i, j in pos.tolist()])
        torch.testing.assert_close(removed, want, rtol=0, atol=1e-12)
        torch.testing.assert_close(pred(h, g, pos, remove=pos), pred(h, cut, pos), rtol=0, atol=1e-12)
        # without removal, i sits in N(j) \ N(i): the edge (i, j) makes i a soft common neighbour of its own pair
        kept = pred.completed_sum(h, g, pos)
        nbr_full = _neighbours(g)
        i, j = pos[0].tolist()
        self_term = _calibrated(pred, _ncn_logit(pred, h, nbr_full, i, i)) * h[i]
        assert i in nbr_full[j] - nbr_full[i]
        assert not torch.allclose(kept[0], removed[0])
        torch.testing.assert_close(kept[0], _completed_reference(pred, h, nbr_full, i, j), rtol=0, atol=1e-12)
        assert self_term.abs().sum() > 0


def _constant_logit(pred, logit):
    """Make NCN score every pair ``logit``: the output layer keeps only its bias."""
    with torch.no_grad():
        last = pred.out[-1]
        last.weight.zero_()
        last.bias.fill_(logit)
    return pred


def test_completion_weights_by_hand():
    # N(0) = {2, 3}, N(1) = {2, 4}: for the pair (0, 1), 2 is shared, 4 lacks the link (0, 4), 3 the link (1, 3)
    ei = torch.tensor([[0, 0, 1, 1], [2, 3, 2, 4]])
    g = Graph(edge_index=torch.cat([ei, ei.flip(0)], 1), num_nodes=5)
    h = torch.arange(20, dtype=torch.float64).view(5, 4)
    pair = torch.tensor([[0, 1]])
    # the authors' defaults (scale 5, offset 3, pt 0.5, alpha 1) and NCN logit 3.4 everywhere:
    # p0 = sigmoid(5 * 0.4) = sigmoid(2) = 0.8807971, A^ = 0.5 * p0 / (0.5 * p0 + 1 - p0) = 0.7869860
    pred = _constant_logit(NCNCPredictor(4).double(), 3.4)
    w = 0.7869860
    torch.testing.assert_close(pred.completed_sum(h, g, pair)[0], h[2] + w * h[4] + w * h[3], rtol=1e-6, atol=0)
    # an unsure link (logit 0) is as good as absent: sigmoid(-15 - ln 2) = 1.53e-7
    pred = _constant_logit(NCNCPredictor(4).double(), 0.0)
    torch.testing.assert_close(pred.completed_sum(h, g, pair)[0], h[2] + 1.529512e-7 * (h[3] + h[4]), rtol=1e-6, atol=0)
    # uncalibrated (scale 1, offset 0, pt 1, alpha 1): sigmoid(0) = 0.5, the weight the predictor used before
    pred = _constant_logit(NCNCPredictor(4, scale=1, offset=0, prior=1).double(), 0.0)
    torch.testing.assert_close(pred.completed_sum(h, g, pair)[0], h[2] + 0.5 * (h[3] + h[4]), rtol=1e-12, atol=0)
    # alpha scales the completed neighbours only: (0.3 pt odds of sigmoid(5 * 1)) * 0.4
    pred = _constant_logit(NCNCPredictor(4, prior=0.3, alpha=0.4).double(), 4.0)
    p0 = 1 / (1 + math.exp(-5.0))
    w = 0.4 * 0.3 * p0 / (0.3 * p0 + 1 - p0)
    torch.testing.assert_close(pred.completed_sum(h, g, pair)[0], h[2] + w * (h[3] + h[4]), rtol=1e-12, atol=0)


@pytest.mark.parametrize("field,value", [("scale", 0.0), ("prior", -0.5), ("prior", 0.0), ("alpha", -1.0)])
def test_calibration_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=f"{field} must be .*, got {value}"):
        NCNCPredictor(4, **{field: value})


def test_remove_leaves_the_memoised_structure_alone():
    g = _graph(3)
    pred = NCNCPredictor(4)
    h = torch.randn(g.num_nodes, 4)
    before = ncn_module.cn_structure(g, h.device)[1].clone()
    pred(h, g, g.edge_index.t()[:3], remove=g.edge_index.t()[:3])
    assert torch.equal(ncn_module.cn_structure(g, h.device)[1], before)
    with pytest.raises(ValueError, match=r"remove must have shape \[R, 2\], got \[3\]"):
        pred(h, g, g.edge_index.t()[:3], remove=torch.tensor([0, 1, 2]))


def test_completion_weights_get_no_gradient_but_features_do():
    torch.manual_seed(0)
    # 0 and 1 share 2; 3 is next to 0 only, 4 next to 1 only; 5 is next to neither
    ei = torch.tensor([[0, 0, 1, 1, 4], [2, 3, 2, 4, 5]])
    g = Graph(edge_index=torch.cat([ei, ei.flip(0)], 1), num_nodes=6)
    pred = NCNCPredictor(4)
    h = torch.randn(6, 4, requires_grad=True)
    pred.completed_sum(h, g, torch.tensor([[0, 1]])).sum().backward()
    assert h.grad[2].abs().sum() > 0 and h.grad[3].abs().sum() > 0 and h.grad[4].abs().sum() > 0
    assert h.grad[5].abs().sum() == 0 and h.grad[0].abs().sum() == 0  # A^ is a weight, not a path for gradient


def _toy_dataset(g, train):
    split = {"train": {"edge": train}, "valid": {"edge": train[:4], "edge_neg": torch.tensor([[0, 5], [2, 7]])},
             "test": {"edge": train[:4], "edge_neg": torch.tensor([[0, 5], [2, 7]])}}
    return SimpleNamespace(graph=Graph(edge_index=g.edge_index, num_nodes=g.num_nodes), split=split,
                           eval_metric="hits@20", name="toy")


def test_link_task_removes_the_batch_positives_from_gnn_and_predictor():
    torch.manual_seed(0)
    g = _graph(4)
    key = torch.unique(g.edge_index[0] * g.num_nodes + g.edge_index[1])
    und = torch.stack([key // g.num_nodes, key % g.num_nodes], 1)
    train = und[und[:, 0] < und[:, 1]]
    cfg = TrainConfig(task="link", model="ncnc", hidden=8, layers=2).resolved()
    task = LinkTask(_toy_dataset(g, train), cfg, torch.device("cpu"))
    task.model.eval()
    pos, neg = train[:6], torch.randint(0, g.num_nodes, (6, 2))
    cut = without_pairs(task.adj, pos)
    m = task.model
    h = m.embed(task.x, cut, task.num_nodes)
    p, q = m.predictor(h, cut, pos), m.predictor(h, cut, neg)
    want = (F.binary_cross_entropy_with_logits(p, torch.ones_like(p))
            + F.binary_cross_entropy_with_logits(q, torch.zeros_like(q)))
    torch.testing.assert_close(task.loss((pos, neg)), want)
    h_full = m.embed(task.x, task.adj, task.num_nodes)
    assert not torch.allclose(h, h_full)  # the GNN did not see the batch's own edges
    ncn = TrainConfig(task="link", model="ncn", hidden=8, layers=2).resolved()
    assert not LinkTask(_toy_dataset(g, train), ncn, torch.device("cpu")).target_link_removal


def test_target_link_removal_draws_non_edge_negatives():
    # a dense graph (about half of all pairs are edges), where uniform pairs would often be edges
    g = _graph(5, n=12, m=60)
    key = torch.unique(g.edge_index[0] * g.num_nodes + g.edge_index[1])
    und = torch.stack([key // g.num_nodes, key % g.num_nodes], 1)
    train = und[und[:, 0] < und[:, 1]]
    edges = set(map(tuple, g.edge_index.t().tolist()))
    assert len(edges) > 0.4 * g.num_nodes * (g.num_nodes - 1)
    cfg = TrainConfig(task="link", model="ncnc", hidden=8, layers=2).resolved()
    torch.manual_seed(0)
    task = LinkTask(_toy_dataset(g, train), cfg, torch.device("cpu"))
    task.batch_size = 8
    batches = list(task.batches())
    assert sum(pos.size(0) for pos, _ in batches) == train.size(0)
    for pos, neg in batches:
        assert neg.shape == pos.shape
        assert not any((i, j) in edges or i == j for i, j in neg.tolist())
    # without target link removal the negatives stay uniform pairs, edges included
    task.target_link_removal = False
    neg = torch.cat([n for _, n in task.batches()])
    assert any((i, j) in edges for i, j in neg.tolist())


def test_ncnc_learns_on_connectome(fixtures, tmp_path):
    """Ten epochs on ogbl-connectome: test Hits@20 well above chance (a random scorer ranks a positive above
    the 20th of 1,000 negatives about 2% of the time) and above the first epoch's."""
    from graphkit.train import run

    cfg = TrainConfig(root=str(fixtures), out=str(tmp_path / "r"), dataset="ogbl-connectome", model="ncnc",
                      epochs=10, hidden=32)
    out = run(cfg, progress=False, echo=lambda *a: None)
    rows = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert out["final"]["test"]["hits@20"] >= 0.2, out["final"]
    assert rows[-1]["loss"] < 0.9 * rows[0]["loss"]
    assert not math.isnan(out["final"]["valid"]["mrr"])


def test_link_task_learning_rates_and_alpha_ramp(tmp_path):
    g = _graph(4)
    key = torch.unique(g.edge_index[0] * g.num_nodes + g.edge_index[1])
    und = torch.stack([key // g.num_nodes, key % g.num_nodes], 1)
    train = und[und[:, 0] < und[:, 1]]
    cfg = TrainConfig(task="link", model="ncnc", hidden=8, layers=2, lr=0.01).resolved()
    task = LinkTask(_toy_dataset(g, train), cfg, torch.device("cpu"), predictor_options=dict(alpha=0.6),
                    gnn_lr=0.0, predictor_lr=0.002, alpha_ramp=True)
    opt = task.configure_optimizers(cfg)
    gnn, pre = opt.param_groups
    assert (gnn["lr"], pre["lr"]) == (0.0, 0.002)
    assert {id(p) for p in pre["params"]} == {id(p) for p in task.model.predictor.parameters()}
    assert len(gnn["params"]) + len(pre["params"]) == len(list(task.model.parameters()))
    for epoch, factor in ((0, 0.0), (4, 0.0), (7, 0.3), (30, 1.0)):
        task.set_epoch(epoch)
        assert task.model.predictor.alpha == pytest.approx(0.6 * factor)
        assert alpha_ramp_factor(epoch) == pytest.approx(factor)
    # gnn_lr 0 freezes the node input and the GNN; the predictor moves
    before = {k: v.clone() for k, v in task.model.state_dict().items()}
    task.set_epoch(10)
    opt.zero_grad()
    task.loss(next(iter(task.batches()))).backward()
    opt.step()
    after = task.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in after if not k.startswith("predictor."))
    assert not all(torch.equal(before[k], after[k]) for k in after if k.startswith("predictor."))
    # the default: one group at cfg.lr
    plain = LinkTask(_toy_dataset(g, train), cfg, torch.device("cpu"))
    assert [grp["lr"] for grp in plain.configure_optimizers(cfg).param_groups] == [0.01]


@pytest.mark.parametrize("model,kwargs,message", [
    ("ncn", dict(alpha_ramp=True), "alpha_ramp is for NCNC, got model 'ncn'"),
    ("gcn", dict(predictor_options=dict(norm=True)), "predictor_options are for the NCN / NCNC predictors"),
    ("ncnc", dict(predictor_options=dict(alpah=0.5)), "predictor_options has unknown option 'alpah' for NCNCPredictor"),
    ("ncnc", dict(gnn_lr=-1e-3), "gnn_lr must be non-negative, got -0.001"),
    ("ncnc", dict(predictor_lr=float("nan")), "predictor_lr must be non-negative, got nan"),
])
def test_link_task_options_are_checked(model, kwargs, message):
    g = _graph(4)
    train = g.edge_index.t()[:6]
    cfg = TrainConfig(task="link", model=model, hidden=8, layers=2).resolved()
    with pytest.raises(ValueError, match=message):
        LinkTask(_toy_dataset(g, train), cfg, torch.device("cpu"), **kwargs)
