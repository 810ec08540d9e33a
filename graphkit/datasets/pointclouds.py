"""Point-cloud shape classification sampled from real meshes (see :mod:`graphkit.datasets.shapes`).

Each of the ~50 catalogued objects (five classes: animal, human, man_made, blob, knot) gives
``samples_per_object`` clouds of ``num_points`` points sampled uniformly on its surface (area-weighted), centred,
scaled into the unit ball and randomly rotated (uniform on SO(3)). Everything is seeded, so the clouds are the
same on every machine with the same source files. The split is by object: no rotation or resampling of a
test shape is ever seen in training.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from graphkit.data.cache import cached
from graphkit.data.pointcloud import knn_graph
from graphkit.datasets.base import DataNotFoundError, GraphDataset
from graphkit.datasets.shapes import (CLASSES, available_objects, load_objects, normalize, random_rotation,
                                      sample_surface, split_objects)
from graphkit.graph import Graph
from graphkit.transforms.base import Transform

__all__ = ["PointCloudShapes"]


class PointCloudShapes(GraphDataset):
    """Real-shape point clouds: ``pos`` (and ``x = pos``) ``[num_points, 3]``, ``y`` the class id.

    Args:
        root: processed-cache root.
        num_points: points per cloud.
        samples_per_object: clouds per object (each a fresh surface sample and rotation).
        k: if given, each graph also carries ``edge_index = knn_graph(pos, k)``; DGCNN builds its own.
        seed: sampling and split seed.
    """

    name = "pointcloud-shapes"
    kind = "pointcloud"
    classes = CLASSES

    def __init__(self, root: Optional[str] = None, num_points: int = 512, samples_per_object: int = 16,
                 k: Optional[int] = None, seed: int = 0,
                 transform: Optional[Transform] = None, pre_transform: Optional[Transform] = None) -> None:
        self.set_transforms(transform, pre_transform)
        objects = available_objects()
        if not objects:
            raise DataNotFoundError(
                "no shape sources found: apt-get install libcgal-demo, or pip install --no-deps pyvista==0.49.1"
            )

        def build() -> tuple:
            rng = np.random.default_rng(seed)
            clouds, labels, owner = [], [], []
            for i, ((cls, _, _), (v, f)) in enumerate(zip(objects, load_objects([o[2] for o in objects]))):
                for _ in range(samples_per_object):
                    pts = normalize(sample_surface(v, f, num_points, rng)) @ random_rotation(rng).T
                    clouds.append(pts.astype(np.float32))
                    labels.append(CLASSES.index(cls))
                    owner.append(i)
            return {"pos": np.stack(clouds), "y": np.array(labels), "object": np.array(owner)}, {
                "objects": [list(o) for o in objects]}

        key = {"num_points": num_points, "samples": samples_per_object, "seed": seed,
               "objects": [o[1] for o in objects]}
        arrays, meta = cached(root, self.name, key, build)
        self.pos = torch.from_numpy(arrays["pos"])
        self.y = torch.from_numpy(arrays["y"]).long()
        self.object = torch.from_numpy(arrays["object"]).long()
        self.objects = [tuple(o) for o in meta["objects"]]
        self.k = k
        self.num_classes = len(CLASSES)
        by_object = split_objects(self.objects, seed)
        self.split = {
            name: torch.isin(self.object, torch.tensor(ids, dtype=torch.long)).nonzero().view(-1)
            for name, ids in by_object.items()
        }

    def __len__(self) -> int:
        return int(self.pos.size(0))

    def get(self, i: int) -> Graph:
        pos = self.pos[i]
        g = Graph(x=pos, pos=pos, y=self.y[i], kinds={"y": "graph"})
        if self.k is not None:
            g.edge_index = knn_graph(pos, self.k)
        return g
