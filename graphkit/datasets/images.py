"""Image data sets as grid graphs: a shared base, used by Fashion-MNIST and scikit-learn's digits."""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np
import torch
from torch import Tensor

from graphkit.batch import Batch
from graphkit.data.image import image_to_graph
from graphkit.datasets.base import GraphDataset
from graphkit.graph import Graph
from graphkit.transforms.base import Transform

__all__ = ["ImageGraphDataset"]


class ImageGraphDataset(GraphDataset):
    """Images ``[N, H, W]`` (or ``[N, C, H, W]``) and labels; item ``i`` is ``image_to_graph(image i)`` with ``y``.

    Pixels are scaled by ``scale`` (so that features lie in [0, 1]). Every item shares one cached grid
    structure, so a graph costs only the ``[H W, C]`` feature view. ``batch_of(idx)`` builds a ``Batch``
    straight from the image tensor, faster than collating graphs one by one.
    """

    kind = "image"

    def __init__(self, images: np.ndarray, labels: np.ndarray, split: Dict[str, Tensor], scale: float,
                 connectivity: int = 8, dilation: int = 1,
                 transform: Optional[Transform] = None, pre_transform: Optional[Transform] = None) -> None:
        self.set_transforms(transform, pre_transform)
        images = torch.from_numpy(np.ascontiguousarray(images))
        self.images = images.unsqueeze(1) if images.dim() == 3 else images
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self.split = split
        self.scale = scale
        self.connectivity, self.dilation = connectivity, dilation
        self.num_classes = int(self.labels.max()) + 1

    def __len__(self) -> int:
        return int(self.images.size(0))

    def get(self, i: int) -> Graph:
        img = self.images[i].to(torch.get_default_dtype()) * self.scale
        return image_to_graph(img, self.connectivity, self.dilation, y=self.labels[i])

    def batch_of(self, idx: Tensor) -> Batch:
        if self.transform is not None or self.pre_transform is not None:  # the graphs as ds[i] gives them
            return Batch.from_graphs([self[int(i)] for i in idx])
        imgs = self.images[idx].to(torch.get_default_dtype()) * self.scale
        return image_to_graph(imgs, self.connectivity, self.dilation, y=self.labels[idx])

    def arrays(self, split: str) -> tuple:
        """``(pixels [n, C*H*W] float, labels [n])`` of one split, for pixel baselines such as an MLP."""
        idx = self.split[split]
        return self.images[idx].reshape(len(idx), -1).to(torch.get_default_dtype()) * self.scale, self.labels[idx]
