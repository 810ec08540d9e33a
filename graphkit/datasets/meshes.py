"""Mesh shape classification on real meshes, as MeshCNN edge graphs (see :mod:`graphkit.datasets.shapes`).

The catalogued meshes with at most ``max_faces`` faces (the point-only bunny is left out) give
``samples_per_object`` variants each: vertices stretched by a random anisotropic scale in ``[1-s, 1+s]^3`` and
jittered, which changes MeshCNN's features (they are invariant to rotation and uniform scale, so a rotation alone
would not). The cache stores only the variants' vertices and each object's faces; ``dataset[i]`` builds the
edge graph (``graphkit.data.mesh_edge_graph``) on demand, and ``x`` is standardised with the training split's
feature mean and standard deviation, as MeshCNN does. Split by object, as for the point clouds.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from graphkit.data.cache import cached
from graphkit.data.mesh import mesh_edge_graph
from graphkit.datasets.base import DataNotFoundError, GraphDataset
from graphkit.datasets.shapes import CLASSES, available_objects, load_objects, normalize, split_objects
from graphkit.graph import Graph
from graphkit.transforms.base import Transform

__all__ = ["MeshShapes"]


class MeshShapes(GraphDataset):
    """Real meshes as MeshCNN edge graphs: ``x [E, 5]`` (standardised), ``gemm [4, E]``, ``y`` the class id."""

    name = "mesh-shapes"
    kind = "mesh"
    classes = CLASSES

    def __init__(self, root: Optional[str] = None, max_faces: int = 6000, samples_per_object: int = 4,
                 stretch: float = 0.2, jitter: float = 0.002, seed: int = 0,
                 transform: Optional[Transform] = None, pre_transform: Optional[Transform] = None) -> None:
        self.set_transforms(transform, pre_transform)
        objects = [o for o in available_objects() if not o[2].startswith("pygsp:")]
        if not objects:
            raise DataNotFoundError("no meshes found: apt-get install libcgal-demo, or pip install pyvista==0.49.1")

        def build() -> tuple:
            rng = np.random.default_rng(seed)
            verts, faces, vcount, fcount, labels, owner, kept = [], [], [], [], [], [], []
            for (cls, name, src), (v, f) in zip(objects, load_objects([o[2] for o in objects])):
                if len(f) > max_faces:
                    continue
                i = len(kept)
                kept.append([cls, name, src])
                faces.append(f)
                fcount.append(len(f))
                base = normalize(v)
                for _ in range(samples_per_object):
                    scale = rng.uniform(1 - stretch, 1 + stretch, size=3)
                    verts.append((base * scale + rng.normal(scale=jitter, size=base.shape)).astype(np.float64))
                    vcount.append(len(v))
                    labels.append(CLASSES.index(cls))
                    owner.append(i)
            arrays = {"verts": np.concatenate(verts), "vcount": np.array(vcount), "faces": np.concatenate(faces),
                      "fcount": np.array(fcount), "y": np.array(labels), "object": np.array(owner)}
            # MeshCNN standardises features with training-set statistics; computed once, stored with the data.
            self._load(arrays, kept, seed)
            feats = torch.cat([self._raw(int(i)).x for i in self.split["train"]])
            arrays["feat_mean"], arrays["feat_std"] = feats.mean(0).numpy(), feats.std(0).clamp(min=1e-6).numpy()
            return arrays, {"objects": kept}

        key = {"version": 2, "max_faces": max_faces, "samples": samples_per_object, "stretch": stretch,
               "jitter": jitter,
               "seed": seed, "objects": [o[1] for o in objects]}
        arrays, meta = cached(root, self.name, key, build)
        self._load(arrays, meta["objects"], seed)
        self.mean, self.std = torch.from_numpy(arrays["feat_mean"]), torch.from_numpy(arrays["feat_std"])

    def _load(self, arrays: dict, objects: list, seed: int = 0) -> None:
        self.objects = [tuple(o) for o in objects]
        self.verts = torch.from_numpy(arrays["verts"])
        self.vptr = np.concatenate([[0], np.cumsum(arrays["vcount"])])
        self.faces = torch.from_numpy(arrays["faces"])
        self.fptr = np.concatenate([[0], np.cumsum(arrays["fcount"])])
        self.y = torch.from_numpy(arrays["y"]).long()
        self.object = torch.from_numpy(arrays["object"]).long()
        self.num_classes = len(CLASSES)
        by_object = split_objects(self.objects, seed)
        self.split = {
            name: torch.isin(self.object, torch.tensor(ids, dtype=torch.long)).nonzero().view(-1)
            for name, ids in by_object.items()
        }

    def __len__(self) -> int:
        return int(self.y.numel())

    def _raw(self, i: int) -> Graph:
        o = int(self.object[i])
        v = self.verts[self.vptr[i]:self.vptr[i + 1]]
        f = self.faces[self.fptr[o]:self.fptr[o + 1]]
        g = mesh_edge_graph(v, f)
        g.x = g.x.float()
        g.pos = g.pos.float()
        g.set("y", self.y[i], "graph")
        return g

    def get(self, i: int) -> Graph:
        g = self._raw(i)
        g.x = (g.x - self.mean) / self.std
        return g
