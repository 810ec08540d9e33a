"""Point-cloud and mesh transforms: graphs from positions (``KNNGraph``, ``RadiusGraph``, ``FaceToEdge``),
surface sampling (``SamplePoints``) and augmentations (``NormalizeScale``, ``RandomRotate``, ``RandomJitter``,
``RandomFlip``). Randomness comes from torch's global generator."""
from __future__ import annotations

import math
from typing import Sequence, Tuple, Union

import torch
from torch import Tensor

from graphkit.data.pointcloud import knn_graph, radius_graph
from graphkit.graph import Graph
from graphkit.transforms.base import BaseTransform, fields_of, new_graph
from graphkit.utils import to_undirected

__all__ = ["KNNGraph", "RadiusGraph", "FaceToEdge", "SamplePoints", "NormalizeScale", "RandomRotate",
           "RandomJitter", "RandomFlip"]


def _pos(graph: Graph, who: str) -> Tensor:
    pos = graph.pos
    if pos is None:
        raise ValueError(f"{who} needs node positions pos")
    return pos


def _without_edges(graph: Graph) -> dict:
    return {k: v for k, v in fields_of(graph).items() if v[1] != "edge"}


def _with_pos(graph: Graph, pos: Tensor) -> Graph:
    fields = fields_of(graph)
    fields["pos"] = (pos, "node")
    return new_graph(graph.num_nodes, graph.edge_index, fields)


class KNNGraph(BaseTransform):
    """Replace the edges by the ``k``-nearest-neighbour graph of ``pos`` (:func:`graphkit.data.knn_graph`); per-edge
    fields are dropped. ``cosine=True`` ranks neighbours by cosine distance (Euclidean on unit vectors).

    >>> g = KNNGraph(k=1)(Graph(pos=torch.tensor([[0.0], [1.0], [3.0]])))
    >>> g.edge_index.tolist()
    [[1, 0, 1], [0, 1, 2]]
    """

    def __init__(self, k: int = 6, loop: bool = False, force_undirected: bool = False,
                 flow: str = "source_to_target", cosine: bool = False, num_workers: int = 1) -> None:
        self.k, self.loop, self.force_undirected = k, loop, force_undirected
        self.flow, self.cosine, self.num_workers = flow, cosine, num_workers

    def forward(self, graph: Graph) -> Graph:
        pos = _pos(graph, "KNNGraph")
        if self.cosine:
            pos = pos / pos.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        ei = knn_graph(pos, self.k, loop=self.loop, flow=self.flow, num_workers=self.num_workers)
        if self.force_undirected:
            ei = to_undirected(ei, num_nodes=graph.num_nodes)
        return new_graph(graph.num_nodes, ei, _without_edges(graph))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={self.k})"


class RadiusGraph(BaseTransform):
    """Replace the edges by the radius graph of ``pos`` (:func:`graphkit.data.radius_graph`); per-edge fields are
    dropped.

    >>> RadiusGraph(1.5)(Graph(pos=torch.tensor([[0.0], [1.0], [3.0]]))).edge_index.tolist()
    [[1, 0], [0, 1]]
    """

    def __init__(self, r: float, loop: bool = False, max_num_neighbors: int = 32, flow: str = "source_to_target",
                 num_workers: int = 1) -> None:
        self.r, self.loop, self.max_num_neighbors = r, loop, max_num_neighbors
        self.flow, self.num_workers = flow, num_workers

    def forward(self, graph: Graph) -> Graph:
        ei = radius_graph(_pos(graph, "RadiusGraph"), self.r, loop=self.loop,
                          max_num_neighbors=self.max_num_neighbors, flow=self.flow, num_workers=self.num_workers)
        return new_graph(graph.num_nodes, ei, _without_edges(graph))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(r={self.r})"


def _faces(graph: Graph, who: str) -> Tensor:
    face = getattr(graph, "face", None)
    if not isinstance(face, Tensor) or face.dim() != 2 or face.size(0) != 3:
        raise ValueError(f"{who} needs triangle faces in field 'face' with shape [3, F]")
    return face


class FaceToEdge(BaseTransform):
    """The undirected edges of the triangles in ``face`` ``[3, F]``; ``remove_faces`` drops the field.

    >>> g = FaceToEdge()(Graph(pos=torch.zeros(3, 3), face=torch.tensor([[0], [1], [2]]), kinds={"face": "node_index"}))
    >>> g.edge_index.tolist()
    [[0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]]
    """

    def __init__(self, remove_faces: bool = True) -> None:
        self.remove_faces = remove_faces

    def forward(self, graph: Graph) -> Graph:
        face = _faces(graph, "FaceToEdge")
        ei = torch.cat([face[:2], face[1:], face[::2]], dim=1)
        ei = to_undirected(ei, num_nodes=graph.num_nodes)
        fields = _without_edges(graph)
        if self.remove_faces:
            fields.pop("face")
        return new_graph(graph.num_nodes, ei, fields)


class SamplePoints(BaseTransform):
    """Sample ``num`` points uniformly on the surface of the mesh (``pos`` + ``face``): a triangle is chosen with
    probability proportional to its area, then a uniform point inside it. The result is a point cloud: ``pos``
    ``[num, 3]`` (and the unit face ``normal`` with ``include_normals``) plus the graph-level fields.

    >>> torch.manual_seed(0) and None
    >>> tri = Graph(pos=torch.eye(3), face=torch.tensor([[0], [1], [2]]), kinds={"face": "node_index"})
    >>> out = SamplePoints(5)(tri)
    >>> out.pos.shape, bool(torch.allclose(out.pos.sum(-1), torch.ones(5)))
    (torch.Size([5, 3]), True)
    """

    def __init__(self, num: int, remove_faces: bool = True, include_normals: bool = False) -> None:
        if num < 1:
            raise ValueError(f"num must be positive, got {num}")
        self.num, self.remove_faces, self.include_normals = num, remove_faces, include_normals

    def forward(self, graph: Graph) -> Graph:
        pos, face = _pos(graph, "SamplePoints"), _faces(graph, "SamplePoints")
        if pos.size(-1) != 3:
            raise ValueError(f"SamplePoints needs 3-D positions, got shape {list(pos.shape)}")
        scale = pos.abs().max().clamp(min=torch.finfo(pos.dtype).tiny)
        p = pos / scale  # area weights on the unit scale, as PyG does, to keep them well conditioned
        e1, e2 = p[face[1]] - p[face[0]], p[face[2]] - p[face[0]]
        area = torch.linalg.cross(e1, e2, dim=1).norm(dim=1)
        if not bool(area.sum() > 0):
            raise ValueError("SamplePoints: the mesh has zero total area")
        pick = torch.multinomial(area / area.sum(), self.num, replacement=True)
        uv = torch.rand(self.num, 2, dtype=pos.dtype, device=pos.device)
        flip = uv.sum(dim=-1) > 1
        uv[flip] = 1 - uv[flip]  # fold the outer half of the parallelogram back into the triangle
        a, b = e1[pick], e2[pick]
        points = (p[face[0, pick]] + uv[:, :1] * a + uv[:, 1:] * b) * scale
        fields = {k: v for k, v in fields_of(graph).items() if v[1] == "graph"}
        if not self.remove_faces:
            raise ValueError("SamplePoints(remove_faces=False): faces index the mesh vertices, not the samples")
        fields["pos"] = (points, "node")
        if self.include_normals:
            normal = torch.linalg.cross(a, b, dim=1)
            fields["normal"] = (normal / normal.norm(dim=1, keepdim=True).clamp(min=1e-12), "node")
        return new_graph(self.num, None, fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num})"


class NormalizeScale(BaseTransform):
    """Centre ``pos`` at the origin and scale it into ``(-1, 1)`` (largest coordinate 0.999999), as PyG does.

    >>> NormalizeScale()(Graph(pos=torch.tensor([[0.0, 0.0], [4.0, 2.0]]))).pos.mul(1e4).round().tolist()
    [[-10000.0, -5000.0], [10000.0, 5000.0]]
    """

    def forward(self, graph: Graph) -> Graph:
        pos = _pos(graph, "NormalizeScale")
        pos = pos - pos.mean(dim=-2, keepdim=True)
        return _with_pos(graph, pos * ((1.0 / pos.abs().max()) * 0.999999))


def rotation_matrix(degrees: float, axis: int, dim: int) -> Tensor:
    """The matrix ``M`` with ``pos @ M.T`` rotating by ``degrees`` about ``axis`` (2-D: in the plane), as PyG's
    ``RandomRotate`` builds and applies it."""
    rad = math.pi * degrees / 180.0
    c, s = math.cos(rad), math.sin(rad)
    if dim == 2:
        return torch.tensor([[c, s], [-s, c]], dtype=torch.float64)
    rows = {0: [[1, 0, 0], [0, c, s], [0, -s, c]], 1: [[c, 0, -s], [0, 1, 0], [s, 0, c]],
            2: [[c, s, 0], [-s, c, 0], [0, 0, 1]]}
    return torch.tensor(rows[axis], dtype=torch.float64)


class RandomRotate(BaseTransform):
    """Rotate ``pos`` by an angle drawn uniformly from ``degrees`` (a pair, or ``(-d, d)`` for a number) about
    ``axis`` (0, 1 or 2 in 3-D; ignored in 2-D).

    >>> g = RandomRotate((90, 90), axis=2)(Graph(pos=torch.tensor([[1.0, 0.0, 0.0]])))
    >>> [round(v, 6) for v in g.pos[0].tolist()]
    [0.0, -1.0, 0.0]
    """

    def __init__(self, degrees: Union[float, Tuple[float, float]], axis: int = 0) -> None:
        if isinstance(degrees, (int, float)):
            degrees = (-abs(degrees), abs(degrees))
        if len(degrees) != 2 or degrees[0] > degrees[1]:
            raise ValueError(f"degrees must be a number or an increasing pair, got {degrees!r}")
        if axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis}")
        self.degrees, self.axis = (float(degrees[0]), float(degrees[1])), axis

    def forward(self, graph: Graph) -> Graph:
        pos = _pos(graph, "RandomRotate")
        if pos.size(-1) not in (2, 3):
            raise ValueError(f"RandomRotate needs 2-D or 3-D positions, got shape {list(pos.shape)}")
        lo, hi = self.degrees
        angle = lo + (hi - lo) * float(torch.rand(()))
        matrix = rotation_matrix(angle, self.axis, pos.size(-1)).to(pos.device, pos.dtype)
        return _with_pos(graph, pos @ matrix.t())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.degrees}, axis={self.axis})"


class RandomJitter(BaseTransform):
    """Add independent uniform noise in ``[-t, t]`` to every coordinate of ``pos`` (``translate``: one ``t``, or
    one per dimension).

    >>> torch.manual_seed(0) and None
    >>> g = RandomJitter(0.01)(Graph(pos=torch.zeros(4, 3)))
    >>> bool((g.pos.abs() <= 0.01).all())
    True
    """

    def __init__(self, translate: Union[float, Sequence[float]]) -> None:
        self.translate = translate

    def forward(self, graph: Graph) -> Graph:
        pos = _pos(graph, "RandomJitter")
        n, d = pos.shape
        t = self.translate
        t = torch.as_tensor([t] * d if isinstance(t, (int, float)) else list(t), dtype=pos.dtype, device=pos.device)
        if t.numel() != d:
            raise ValueError(f"translate has {t.numel()} entries but pos has {d} dimensions")
        noise = (torch.rand(n, d, dtype=pos.dtype, device=pos.device) * 2 - 1) * t
        return _with_pos(graph, pos + noise)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.translate})"


class RandomFlip(BaseTransform):
    """Mirror ``pos`` along ``axis`` (negate that coordinate) with probability ``p``.

    >>> RandomFlip(0, p=1.0)(Graph(pos=torch.tensor([[1.0, 2.0]]))).pos.tolist()
    [[-1.0, 2.0]]
    """

    def __init__(self, axis: int, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.axis, self.p = axis, p

    def forward(self, graph: Graph) -> Graph:
        pos = _pos(graph, "RandomFlip")
        if float(torch.rand(())) < self.p:
            pos = pos.clone()
            pos[..., self.axis] = -pos[..., self.axis]
        return _with_pos(graph, pos)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(axis={self.axis}, p={self.p})"
