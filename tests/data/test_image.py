from __future__ import annotations

import itertools

import pytest
import torch

from graphkit.batch import Batch
from graphkit.data.image import _grid, grid_edge_index, image_to_graph


def brute_grid(h: int, w: int, connectivity: int, dilation: int) -> set:
    """Every ordered pixel pair at an allowed offset, from pixel coordinates alone."""
    edges = set()
    pixels = list(itertools.product(range(h), range(w)))
    for (r1, c1), (r2, c2) in itertools.product(pixels, pixels):
        dr, dc = abs(r1 - r2), abs(c1 - c2)
        if (r1, c1) == (r2, c2) or dr not in (0, dilation) or dc not in (0, dilation):
            continue
        if connectivity == 4 and dr and dc:
            continue
        edges.add((r1 * w + c1, r2 * w + c2))
    return edges


@pytest.mark.parametrize("h,w", [(1, 1), (1, 5), (4, 3), (6, 7)])
@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("dilation", [1, 2])
def test_grid_matches_brute_force(h: int, w: int, connectivity: int, dilation: int) -> None:
    ei = grid_edge_index(h, w, connectivity, dilation)
    pairs = list(zip(ei[0].tolist(), ei[1].tolist()))
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == brute_grid(h, w, connectivity, dilation)
    assert torch.all(ei[1][1:] >= ei[1][:-1])  # grouped by target


def test_features_pos_and_structure_cache() -> None:
    img = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)
    g = image_to_graph(img, connectivity=8)
    g.validate()
    assert g.x.shape == (12, 2)
    r, c = 1, 2
    node = r * 4 + c
    assert g.x[node].tolist() == [img[0, r, c].item(), img[1, r, c].item()]
    assert g.pos[node].tolist() == [1.0, 2.0]
    before = _grid.cache_info().hits
    g2 = image_to_graph(img + 1, connectivity=8)
    assert _grid.cache_info().hits == before + 1
    assert g2.edge_index.data_ptr() == g.edge_index.data_ptr()  # one structure shared by every image


def test_batch_equals_per_image_graphs() -> None:
    imgs = torch.rand(3, 1, 5, 4)
    batch = image_to_graph(imgs, connectivity=4, dilation=2, y=torch.tensor([0, 2, 1]))
    assert isinstance(batch, Batch) and batch.num_graphs == 3
    assert batch.y.tolist() == [0, 2, 1]
    for b, part in enumerate(batch.to_graphs()):
        single = image_to_graph(imgs[b], connectivity=4, dilation=2)
        assert torch.equal(part.x, single.x) and torch.equal(part.edge_index, single.edge_index)


def test_integer_images_become_float() -> None:
    g = image_to_graph(torch.full((1, 2, 2), 255, dtype=torch.uint8))
    assert g.x.dtype == torch.get_default_dtype() and g.x.max().item() == 255.0


@pytest.mark.parametrize(
    "img,match",
    [
        (torch.zeros(1, 0, 28), "empty"),
        (torch.zeros(0, 1, 4, 4), "empty"),
        (torch.zeros(5), "shape"),
        (torch.tensor([[[float("nan"), 0.0]]]), "non-finite"),
    ],
)
def test_bad_images(img: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        image_to_graph(img)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="connectivity"):
        image_to_graph(torch.zeros(1, 2, 2), connectivity=6)
    with pytest.raises(ValueError, match="dilation"):
        image_to_graph(torch.zeros(1, 2, 2), dilation=0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        image_to_graph([[0.0]])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="labels"):
        image_to_graph(torch.zeros(2, 1, 2, 2), y=torch.zeros(3))
