"""The pieces of the paper's Graph MLP-Mixer / ViT recipe (He et al., ICML 2023) beyond the model itself:
CSL's stratified cross-validation folds, METIS by recursive bisection, the mixer widths and the final LayerNorm.
None of these tests needs pymetis (partitions come from ``method="range"`` or a stand-in module)."""
from __future__ import annotations

import sys
import types

import pytest
import torch

from graphkit import Batch, Graph
from graphkit.datasets.csl import csl_dataset, csl_folds
from graphkit.loader import partition_graph
from graphkit.nn import GraphMLPMixer
from graphkit.transforms import GraphPatches


def test_csl_folds_are_stratified_and_test_every_graph_once() -> None:
    graphs = csl_dataset()
    labels = torch.cat([g.y for g in graphs])
    folds = csl_folds(graphs, 5, seed=3)
    assert len(folds) == 5
    tested = torch.cat([te for _, te in folds])
    assert sorted(tested.tolist()) == list(range(150))  # each graph in exactly one test fold
    for train, test in folds:
        assert set(train.tolist()).isdisjoint(test.tolist()) and train.numel() + test.numel() == 150
        assert torch.bincount(labels[test], minlength=10).tolist() == [3] * 10  # 3 of each class's 15
    again = csl_folds(graphs, 5, seed=3)
    assert all(torch.equal(a[1], b[1]) for a, b in zip(folds, again))
    assert not all(torch.equal(a[1], b[1]) for a, b in zip(folds, csl_folds(graphs, 5, seed=4)))
    with pytest.raises(ValueError, match="num_folds must be an int >= 2, got 1"):
        csl_folds(graphs, 1)
    with pytest.raises(ValueError, match="class 0 has 15 graphs, fewer than num_folds = 16"):
        csl_folds(graphs, 16)


@pytest.fixture
def fake_pymetis(monkeypatch: pytest.MonkeyPatch) -> list:
    """A stand-in pymetis that records how it was called and returns contiguous parts."""
    calls: list = []

    def part_graph(num_parts, xadj, adjncy, options=None, recursive=None):
        calls.append(recursive)
        n = len(xadj) - 1
        return 0, [v * num_parts // n for v in range(n)]

    module = types.SimpleNamespace(Options=lambda seed: None, part_graph=part_graph)
    monkeypatch.setitem(sys.modules, "pymetis", module)
    return calls


def test_recursive_reaches_metis(fake_pymetis: list) -> None:
    ring = Graph(edge_index=torch.tensor([[0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 0]]))
    partition_graph(ring, 4, method="metis")
    partition_graph(ring, 4, method="metis", recursive=True)
    partition_graph(ring, 4, method="metis", recursive=False)
    GraphPatches(4, method="metis", recursive=True)(ring)
    GraphPatches(4, method="metis", recursive=True, drop_rate=0.3)(ring)  # the augmentation keeps it too
    assert fake_pymetis == [None, True, False, True, True]
    with pytest.raises(ValueError, match="recursive must be None, True or False, got 'yes'"):
        partition_graph(ring, 4, recursive="yes")
    with pytest.raises(ValueError, match="recursive must be None, True or False, got 1"):
        GraphPatches(4, recursive=1)
    assert "recursive=False" in repr(GraphPatches(4, recursive=False)) and "recursive" not in repr(GraphPatches(4))
    GraphPatches(4, method="metis")(ring)  # bisection is the transform's default
    assert fake_pymetis[-1] is True


def ring_graphs(sizes, p: int):
    pre = GraphPatches(p, patch_rw_steps=4, method="range")
    graphs = []
    for n in sizes:
        src = torch.arange(n)
        ei = torch.stack([torch.cat([src, (src + 1) % n]), torch.cat([(src + 1) % n, src])])
        graphs.append(pre(Graph(x=torch.randn(n, 3, dtype=torch.float64), edge_index=ei)))
    return graphs


def test_mixer_widths_are_the_ones_asked_for() -> None:
    model = GraphMLPMixer(3, 16, 2, num_patches=6, num_mixer_layers=2, token_hidden=64, channel_hidden=8)
    for block in model.blocks:
        assert block.token_in.weight.shape == (64, 6) and block.channel_in.weight.shape == (8, 16)
    vit = GraphMLPMixer(3, 16, 2, num_patches=6, mixer="attention", heads=2, channel_hidden=32)
    assert all(block.ffn_in.weight.shape == (32, 16) for block in vit.blocks)
    default = GraphMLPMixer(3, 16, 2, num_patches=6)  # unchanged defaults: P // 2 and 4 C
    assert default.blocks[0].token_in.weight.shape == (3, 6) and default.blocks[0].channel_in.weight.shape == (64, 16)
    with pytest.raises(ValueError, match="token_hidden"):
        GraphMLPMixer(3, 16, 2, num_patches=6, token_hidden=-1)


@pytest.mark.parametrize("mixer", ["mlp", "attention"])
def test_final_norm_keeps_empty_patches_out_of_the_readout(mixer: str) -> None:
    """A ring of 3 nodes in 6 patches has 3 empty ones. After the final LayerNorm they would hold its bias; the
    readout must still average the real patches only, so a graph's output is the same alone and batched with a
    graph that fills all its patches, and it changes when the final norm's bias changes only via real patches."""
    small, big = ring_graphs([3, 20], 6)
    torch.manual_seed(0)
    model = GraphMLPMixer(3, 8, 2, num_patches=6, mixer=mixer, heads=2, patch_pe_dim=4, norm="layer",
                          final_norm=True).double().eval()
    with torch.no_grad():
        model.final_norm.bias.normal_()  # a non-zero bias: what an empty patch would carry into the mean
        tokens = []
        model.final_norm.register_forward_hook(lambda m, i, o: tokens.append(o))
        alone = model(small)
        pooled_by_hand = model.head_out(torch.relu(model.head_hidden(tokens[-1][0, :3].mean(0))))
        torch.testing.assert_close(alone[0], pooled_by_hand)
        torch.testing.assert_close(model(Batch.from_graphs([small, big]))[0], alone[0])
