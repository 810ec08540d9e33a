"""scikit-learn's handwritten digits (UCI optical recognition set) as 8x8 grid graphs.

Source: ``sklearn.datasets.load_digits()``, which reads a file shipped inside scikit-learn (1,797 images,
10 classes, pixel values 0-16; UCI, CC BY 4.0). Split: stratified 70 / 15 / 15 with a fixed seed.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from graphkit.data.cache import cached
from graphkit.data.splits import stratified_split
from graphkit.datasets.base import DataNotFoundError
from graphkit.datasets.images import ImageGraphDataset
from graphkit.transforms.base import Transform

__all__ = ["Digits"]


class Digits(ImageGraphDataset):
    """1,797 handwritten digits; each a 64-node grid graph with one feature in [0, 1]."""

    name = "digits"
    classes = [str(d) for d in range(10)]

    def __init__(self, root: Optional[str] = None, connectivity: int = 8, dilation: int = 1, seed: int = 0,
                 transform: Optional[Transform] = None, pre_transform: Optional[Transform] = None) -> None:
        def build() -> tuple:
            try:
                from sklearn.datasets import load_digits
            except ImportError:
                raise DataNotFoundError("the digits ship with scikit-learn: pip install scikit-learn") from None
            bunch = load_digits()
            return {"images": bunch.images.astype(np.uint8), "labels": bunch.target.astype(np.int64)}, {}

        arrays, _ = cached(root, "digits", {"source": "sklearn"}, build)
        split = stratified_split(arrays["labels"], (0.7, 0.15, 0.15), seed=seed)
        super().__init__(arrays["images"], arrays["labels"], split, 1.0 / 16.0, connectivity, dilation, transform,
                         pre_transform)
