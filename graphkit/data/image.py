r"""Images as grid graphs: one node per pixel, edges to the pixels at a fixed offset.

For an ``H x W`` image with ``connectivity=4`` node ``(r, c)`` receives messages from the pixels at
``(r \pm d, c)`` and ``(r, c \pm d)`` that lie inside the image, where ``d`` is the dilation; with
``connectivity=8`` also from the four diagonal pixels ``(r \pm d, c \pm d)``. Node ids are row-major
(``r * W + c``), ``pos`` is ``(row, col)`` as float, and ``x`` holds the ``C`` channel values of each pixel.

The structure of one image size depends only on ``(H, W, connectivity, dilation)``, so it is built once and
reused (an LRU cache of read-only tensors); a data set of 70,000 28x28 images shares a single ``edge_index``.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Tuple, Union

import torch
from torch import Tensor

from graphkit.batch import Batch
from graphkit.graph import Graph
from graphkit.ops._checks import check_positive_int

__all__ = ["image_to_graph", "grid_edge_index", "grid_pos", "grid_offsets"]

_OFFSETS_4 = ((-1, 0), (0, -1), (0, 1), (1, 0))
_OFFSETS_8 = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def grid_offsets(connectivity: int, dilation: int = 1) -> Tuple[Tuple[int, int], ...]:
    """The ``(d_row, d_col)`` offsets from a target pixel to its source pixels, in edge order."""
    if connectivity not in (4, 8):
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    check_positive_int("dilation", dilation)
    base = _OFFSETS_4 if connectivity == 4 else _OFFSETS_8
    return tuple((dr * dilation, dc * dilation) for dr, dc in base)


@lru_cache(maxsize=64)
def _grid(height: int, width: int, connectivity: int, dilation: int) -> Tuple[Tensor, Tensor]:
    offsets = torch.tensor(grid_offsets(connectivity, dilation), dtype=torch.long)  # [K, 2]
    rows = torch.arange(height).repeat_interleave(width)
    cols = torch.arange(width).repeat(height)
    src_r = rows[:, None] + offsets[:, 0]  # [N, K]: the source pixel of each (target, offset)
    src_c = cols[:, None] + offsets[:, 1]
    inside = (src_r >= 0) & (src_r < height) & (src_c >= 0) & (src_c < width)
    target = torch.arange(height * width)[:, None].expand_as(src_r)[inside]
    source = (src_r * width + src_c)[inside]
    # Row-major over (target, offset): edges come grouped by target, so the CSR build is a no-op sort.
    edge_index = torch.stack([source, target])
    pos = torch.stack([rows, cols], dim=1).to(torch.get_default_dtype())
    return edge_index, pos


def grid_edge_index(height: int, width: int, connectivity: int = 4, dilation: int = 1) -> Tensor:
    """The ``[2, E]`` (source, target) grid edges of an ``height x width`` image (cached; do not modify).

    >>> grid_edge_index(2, 2).tolist()
    [[1, 2, 0, 3, 0, 3, 1, 2], [0, 0, 1, 1, 2, 2, 3, 3]]
    """
    _check_size(height, width)
    return _grid(height, width, connectivity, dilation)[0]


def grid_pos(height: int, width: int) -> Tensor:
    """``[H*W, 2]`` pixel coordinates ``(row, col)`` in row-major node order (cached; do not modify)."""
    _check_size(height, width)
    return _grid(height, width, 4, 1)[1]


def _check_size(height: int, width: int) -> None:
    if height < 1 or width < 1:
        raise ValueError(f"image is empty: height {height} and width {width} must both be at least 1")


def image_to_graph(
    img: Tensor, connectivity: int = 4, dilation: int = 1, y: Union[Tensor, int, None] = None
) -> Union[Graph, Batch]:
    r"""Turn an image ``[C, H, W]`` (or ``[H, W]``) into a grid ``Graph``, or a batch ``[B, C, H, W]`` into a ``Batch``.

    Each pixel is a node with its channel values as features. Node ``t = r W + c`` receives an edge from every
    pixel ``s`` at offset :math:`(\delta_r, \delta_c) \in d \cdot O` inside the image, where :math:`O` is the
    4- or 8-neighbourhood and :math:`d` the dilation. Edges come in both directions, grouped by target.

    Shapes:
        - img: ``(C, H, W)``, ``(H, W)`` or ``(B, C, H, W)``; integer images are converted to float
        - output ``x``: ``(H W, C)`` per image; ``pos``: ``(H W, 2)``; ``edge_index``: ``(2, E)`` with
          ``E = 2 (H (W-d) + (H-d) W)`` for 4-connectivity (plus the diagonals for 8)
        - y: optional label, an int or ``(B,)`` tensor for a batch

    >>> g = image_to_graph(torch.zeros(1, 3, 4))
    >>> g.num_nodes, g.num_edges, g.x.shape
    (12, 34, torch.Size([12, 1]))
    """
    if not isinstance(img, Tensor):
        raise TypeError(f"img must be a torch.Tensor, got {type(img).__name__}")
    if img.dim() == 2:
        img = img.unsqueeze(0)
    if img.dim() not in (3, 4):
        raise ValueError(f"img must have shape [C, H, W], [H, W] or [B, C, H, W], got {list(img.shape)}")
    if img.numel() == 0:
        raise ValueError(f"img is empty: shape {list(img.shape)} has a zero-sized dimension")
    if img.is_complex() or img.dtype == torch.bool:
        raise TypeError(f"img must hold real numbers, got dtype {img.dtype}")
    if not img.is_floating_point():
        img = img.to(torch.get_default_dtype())
    if not bool(torch.isfinite(img).all()):
        bad = (~torch.isfinite(img)).nonzero()[0].tolist()
        raise ValueError(f"img has a non-finite value {img[tuple(bad)].item()} at {bad}")
    height, width = img.shape[-2:]
    edge_index, pos = _grid(height, width, connectivity, dilation)
    pos = pos.to(img.dtype) if pos.dtype != img.dtype else pos
    if img.dim() == 3:
        x = img.reshape(img.size(0), -1).t()
        return _make(x, edge_index, pos, y, img.device)
    labels = y if y is None or isinstance(y, Tensor) else torch.as_tensor(y)
    if labels is not None and labels.size(0) != img.size(0):
        raise ValueError(f"y has {labels.size(0)} labels but the batch has {img.size(0)} images")
    xs = img.reshape(img.size(0), img.size(1), -1).transpose(1, 2)
    return Batch.from_graphs(
        [_make(xs[b], edge_index, pos, None if labels is None else labels[b], img.device) for b in range(img.size(0))]
    )


def _make(x: Tensor, edge_index: Tensor, pos: Tensor, y: Union[Tensor, int, None], device: torch.device) -> Graph:
    if device.type != "cpu":
        edge_index, pos = edge_index.to(device), pos.to(device)
    graph = Graph(x=x, edge_index=edge_index, pos=pos)
    if y is not None:
        graph.set("y", torch.as_tensor(y, device=device), "graph")
    return graph
