"""Layer-wise trimming of sampled batches (graphkit/nn/trim.py): the trimmed models give, on the seeds, exactly
the untrimmed outputs and gradients (float64), for every hop/layer count combination."""
import pytest
import torch

from graphkit import Graph
from graphkit.loader import NeighborLoader
from graphkit.nn.models import GAT, GCN, GIN, PNA, EdgeCNN, GraphSAGE
from graphkit.nn.trim import layer_sizes, prefix_parent, trim_adjacency
from graphkit.ops.adjacency import Adjacency


def _batch(fanouts, n=600, e=5000, seed=0):
    gen = torch.Generator().manual_seed(seed)
    g = Graph(x=torch.randn(n, 6, generator=gen, dtype=torch.float64),
              edge_index=torch.randint(0, n, (2, e), generator=gen), num_nodes=n)
    return next(iter(NeighborLoader(g, fanouts, batch_size=32, shuffle=True, seed=seed, prefetch=0)))


def _seed_output_and_grads(model, batch, **kw):
    x = batch.x.clone().requires_grad_()
    out = model(x, batch, **kw)[: batch.batch_size]
    grads = torch.autograd.grad((out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum(),
                                [x, *model.parameters()], allow_unused=True)
    return out.detach(), grads


@pytest.mark.parametrize("make", [
    lambda: GraphSAGE(6, 8, 2, out_channels=3),
    lambda: GraphSAGE(6, 8, 3, out_channels=3, jk="cat"),
    lambda: GCN(6, 8, 2, out_channels=3),
    lambda: GIN(6, 8, 2, out_channels=3),
    lambda: GAT(6, 8, 2, out_channels=3, heads=2),
    lambda: EdgeCNN(6, 8, 2, out_channels=3),
], ids=["sage", "sage-jk-3layers", "gcn", "gin", "gat", "edge-cnn"])
@pytest.mark.parametrize("fanouts", [[4, 3], [3, 2, 2], [5]], ids=["hops=layers", "more-hops", "fewer-hops"])
def test_trimmed_equals_untrimmed_on_seeds(make, fanouts):
    torch.manual_seed(0)
    model = make().double().eval()
    batch = _batch(fanouts)
    out, grads = _seed_output_and_grads(model, batch)
    ref, ref_grads = _seed_output_and_grads(model, batch, trim=False)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)
    for g, r in zip(grads, ref_grads):
        assert (g is None) == (r is None)
        if g is not None:
            torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-10)


def test_trimming_cuts_the_rows_each_layer_computes():
    batch = _batch([4, 3])
    model = GraphSAGE(6, 8, 2, out_channels=3).double()
    seen = []
    for conv in model.convs:
        conv.register_forward_hook(lambda m, args, out: seen.append((args[1].num_src, args[1].num_dst, out.size(0))))
    out = model(batch.x, batch)
    nodes = batch.num_sampled_nodes.tolist()
    assert out.size(0) == batch.batch_size
    assert seen == [(sum(nodes), nodes[0] + nodes[1], nodes[0] + nodes[1]), (nodes[0] + nodes[1], nodes[0], nodes[0])]


def test_pyg_style_counts_with_a_bare_edge_index():
    batch = _batch([4, 3])
    model = GraphSAGE(6, 8, 2, out_channels=3).double()
    out = model(batch.x, batch.edge_index, num_sampled_nodes_per_hop=batch.num_sampled_nodes.tolist(),
                num_sampled_edges_per_hop=batch.num_sampled_edges.tolist())
    torch.testing.assert_close(out, model(batch.x, batch, trim=False)[: batch.batch_size])
    with pytest.raises(ValueError, match="go together"):
        model(batch.x, batch.edge_index, num_sampled_nodes_per_hop=[1, 2])
    with pytest.raises(ValueError, match="adds up to"):
        model(batch.x, batch.edge_index, num_sampled_nodes_per_hop=[1, 2, 3], num_sampled_edges_per_hop=[1, 1])


def test_untrimmable_inputs_run_every_node():
    batch = _batch([4, 3])
    gcn = GCN(6, 8, 2, out_channels=3).double()
    w = torch.rand(batch.num_edges, dtype=torch.float64)
    assert gcn(batch.x, batch, edge_weight=w).size(0) == batch.num_nodes  # weighted GCN: not trimmed
    pna = PNA(6, 8, 2, out_channels=3, aggregators=["mean"], scalers=["identity"], deg=torch.tensor([0, 5, 5]))
    assert pna.double()(batch.x, batch).size(0) == batch.num_nodes  # PNAConv takes one node set: not trimmed
    plain = Graph(x=batch.x, edge_index=batch.edge_index, num_nodes=batch.num_nodes)
    assert GraphSAGE(6, 8, 2).double()(plain.x, plain).size(0) == batch.num_nodes


def test_layer_sizes_and_trim_adjacency():
    assert layer_sizes([2, 3, 4], [5, 6], 2) == [(9, 5, 11), (5, 2, 5)]
    assert layer_sizes([2, 3, 4], [5, 6], 3) == [(9, 9, 11), (9, 5, 11), (5, 2, 5)]
    assert layer_sizes([2, 3, 4], [5, 6], 1) == [(5, 2, 5)]
    with pytest.raises(ValueError, match="one more node count"):
        layer_sizes([2, 3], [5, 6], 2)
    full = Adjacency(torch.tensor([[1, 2, 3, 4], [0, 0, 1, 2]]), 5, 5)
    a = trim_adjacency(full, 3, 1, 2)
    assert prefix_parent(a) is full and prefix_parent(full) is None
    assert trim_adjacency(full, 3, 1, 2) is a  # memoised on the full structure
    assert trim_adjacency(full, 5, 5, 4) is full
    with pytest.raises(ValueError, match="not a hop-ordered"):
        trim_adjacency(full, 3, 1, 3)


def test_target_block_is_the_targets_rows_of_the_csr() -> None:
    from graphkit.nn.trim import target_block

    ei = torch.tensor([[1, 2, 3, 4, 0, 2, 4], [0, 0, 1, 2, 3, 3, 3]])
    full = Adjacency(ei, 5, 5, torch.arange(7.0))
    blk = target_block(full, 1, 4)
    assert (blk.num_src, blk.num_dst) == (5, 3)
    assert blk.edge_index.tolist() == [[3, 4, 0, 2, 4], [0, 1, 2, 2, 2]]  # global sources, local targets
    assert blk.value.tolist() == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert blk.csr()[0].tolist() == [0, 1, 2, 5]
    x = torch.randn(5, 2)
    torch.testing.assert_close(blk.spmm(x), full.spmm(x)[1:4])
    assert target_block(full, 2, 2).num_edges == 0
    with pytest.raises(ValueError, match=r"target block \[3, 6\) is not within the 5 targets"):
        target_block(full, 3, 6)
