"""Fashion-MNIST (Xiao et al., 2017) as 28x28 grid graphs, read from Debian's ``dataset-fashion-mnist``.

Source: ``/usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` (70,000 images,
10 classes, MIT licence). Nothing is downloaded or copied into the repository. Split: the official 10,000 test
images; the 60,000 training images split 55,000 / 5,000 (train / valid) by a seeded permutation.
"""
from __future__ import annotations

import gzip
import os
from typing import Optional

import numpy as np
import torch

from graphkit.data.cache import cached
from graphkit.datasets.base import DataNotFoundError
from graphkit.datasets.images import ImageGraphDataset
from graphkit.transforms.base import Transform

__all__ = ["FashionMNIST", "read_idx", "FASHION_MNIST_DIR"]

FASHION_MNIST_DIR = os.environ.get("GRAPHKIT_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (gzipped or not): the MNIST family's format, a big-endian header then raw uint8."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {data[:4]!r})")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = offset + int(np.prod(dims))
    if len(data) != expected:
        raise ValueError(f"{path}: {len(data)} bytes, expected {expected} for shape {dims} (truncated?)")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def is_available(directory: Optional[str] = None) -> bool:
    directory = directory or FASHION_MNIST_DIR
    return all(os.path.exists(os.path.join(directory, f)) for f in FILES.values())


class FashionMNIST(ImageGraphDataset):
    """Fashion-MNIST: 70,000 images, each a 784-node grid graph with one grey-level feature in [0, 1].

    Args:
        root: where the processed cache goes (default ``$GRAPHKIT_DATA`` or ``~/.cache/graphkit``).
        connectivity, dilation: grid structure (see ``graphkit.data.image_to_graph``).
        source: folder of the four ``*-ubyte.gz`` files.
        seed: the train/valid permutation.
    """

    name = "fashion-mnist"
    classes = CLASSES

    def __init__(self, root: Optional[str] = None, connectivity: int = 8, dilation: int = 1,
                 source: Optional[str] = None, seed: int = 0,
                 transform: Optional[Transform] = None, pre_transform: Optional[Transform] = None) -> None:
        source = source or FASHION_MNIST_DIR
        if not is_available(source):
            raise DataNotFoundError(
                f"Fashion-MNIST files are not in {source}; install them with: apt-get install dataset-fashion-mnist"
            )

        def build() -> tuple:
            parts = {k: read_idx(os.path.join(source, f)) for k, f in FILES.items()}
            images = np.concatenate([parts["train_images"], parts["test_images"]])
            labels = np.concatenate([parts["train_labels"], parts["test_labels"]]).astype(np.int64)
            return {"images": images, "labels": labels}, {"num_train": int(len(parts["train_labels"]))}

        arrays, meta = cached(root, "fashion-mnist", {"source": "debian-idx"}, build)
        num_train = int(meta["num_train"])
        perm = torch.randperm(num_train, generator=torch.Generator().manual_seed(seed))
        split = {
            "train": perm[:-5000].sort().values,
            "valid": perm[-5000:].sort().values,
            "test": torch.arange(num_train, len(arrays["labels"])),
        }
        super().__init__(arrays["images"], arrays["labels"], split, 1.0 / 255.0, connectivity, dilation, transform,
                         pre_transform)
