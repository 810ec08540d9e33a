r"""Restriction-map learners: one map :math:`\mathcal{F}_{v \trianglelefteq e}` per edge side, from its endpoints.

For a directed edge :math:`k = (s \to t)` the *local concat* learner of Neural Sheaf Diffusion computes the map on
the target side from the two endpoint features,

.. math:: \mathcal{F}_{t \trianglelefteq e} = \Phi\big(\sigma(W [x_t \,\|\, x_s])\big),

and the map on the source side is the one computed for the reverse edge :math:`(t \to s)`. :math:`\Phi` shapes the
raw numbers into the chosen family:

* ``"diagonal"``: :math:`d` numbers, a diagonal map (``tanh`` keeps them in ``(-1, 1)``);
* ``"orthogonal"``: :math:`d(d-1)/2` numbers mapped onto :math:`O(d)` by a product of Householder reflections
  (``orthogonal="householder"``, the LAPACK ``orgqr`` parameterisation, determinant :math:`(-1)^d`) or by the
  Cayley transform of a skew-symmetric matrix (``orthogonal="cayley"``, :math:`SO(d)`);
* ``"general"``: :math:`d^2` numbers, a full :math:`d \times d` map (``tanh`` per entry).

``EdgeWeightLearner`` gives symmetric weights :math:`w_e = \sigma(a^\top[x_t\|x_s] + a^\top[x_s\|x_t]) \in (0,1)`.

Shapes:
    - input ``x``: ``(|V|, F)``, ``edge_index``: ``(2, |E|)``
    - output maps: ``(|E|, d)`` for diagonal, ``(|E|, d, d)`` otherwise; weights: ``(|E|,)``
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from graphkit.ops._checks import check_positive_int

__all__ = ["MAP_KINDS", "local_concat", "householder", "cayley", "num_map_params", "LocalConcatSheafLearner",
           "EdgeWeightLearner"]

MAP_KINDS = ("diagonal", "orthogonal", "general")
ORTHOGONAL_KINDS = ("householder", "cayley")


def _tril_to_matrix(params: Tensor, d: int) -> Tensor:
    """Scatter ``[..., d(d-1)/2]`` numbers into the strictly lower triangle of ``[..., d, d]`` zeros."""
    rows, cols = torch.tril_indices(d, d, offset=-1, device=params.device)
    out = params.new_zeros(*params.shape[:-1], d, d)
    out[..., rows, cols] = params
    return out


def householder(params: Tensor, d: int) -> Tensor:
    r"""Orthogonal matrices :math:`Q = H_0 H_1 \cdots H_{d-1}`, :math:`H_i = I - 2 v_i v_i^\top / v_i^\top v_i`.

    :math:`v_i` is column :math:`i` of a unit lower-triangular matrix whose strict lower triangle is ``params``
    (``[..., d(d-1)/2]``), so every parameter vector gives an orthogonal matrix and the map is smooth.

    >>> q = householder(torch.randn(5, 3, dtype=torch.float64), 3)
    >>> bool(torch.allclose(q @ q.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand(5, 3, 3)))
    True
    """
    eye = torch.eye(d, dtype=params.dtype, device=params.device)
    v = _tril_to_matrix(params, d) + eye
    q = eye.expand(*params.shape[:-1], d, d)
    for i in range(d):  # d is the stalk size (a handful): a short loop of batched rank-one updates
        vi = v[..., :, i]
        scale = 2.0 / (vi * vi).sum(-1)
        # q @ H_i = q - scale * (q v_i) v_i^T
        qv = (q @ vi.unsqueeze(-1)).squeeze(-1)
        q = q - scale[..., None, None] * qv.unsqueeze(-1) * vi.unsqueeze(-2)
    return q


def cayley(params: Tensor, d: int) -> Tensor:
    r"""Rotations :math:`Q = (I + A)^{-1}(I - A)` of the skew-symmetric :math:`A = L - L^\top` built from ``params``.

    :math:`I + A` is always invertible (the eigenvalues of :math:`A` are imaginary), so :math:`Q \in SO(d)`.
    """
    low = _tril_to_matrix(params, d)
    skew = low - low.transpose(-1, -2)
    eye = torch.eye(d, dtype=params.dtype, device=params.device).expand_as(skew)
    return torch.linalg.solve(eye + skew, eye - skew)


def local_concat(lin: nn.Linear, x: Tensor, edge_index: Tensor) -> Tensor:
    """``lin([x_t || x_s])`` per edge ``(s -> t)``, computed as ``W_t x_t + W_s x_s``.

    Applying the two halves of the weight per *node* and gathering the ``out``-wide results costs
    ``N F out + E out`` instead of gathering two ``E x F`` blocks; the weight keeps NSD's ``[out, 2F]`` layout.
    """
    f = x.size(1)
    both = x @ torch.cat([lin.weight[:, :f], lin.weight[:, f:]], dim=0).t()  # [N, 2 out]
    out = lin.weight.size(0)
    return both[edge_index[1], :out] + both[edge_index[0], out:]


def num_map_params(kind: str, d: int) -> int:
    """How many numbers the learner emits per edge side for a map family."""
    if kind == "diagonal":
        return d
    if kind == "orthogonal":
        return d * (d - 1) // 2
    if kind == "general":
        return d * d
    raise ValueError(f"maps must be one of {MAP_KINDS}, got {kind!r}")


class LocalConcatSheafLearner(nn.Module):
    r"""Restriction maps :math:`\mathcal{F}_{t \trianglelefteq (s,t)} = \Phi(\tanh(W[x_t \| x_s]))` per directed edge.

    Args:
        in_channels: features per node fed to the learner (NSD feeds the flattened stalks, ``d * hidden``).
        d: stalk dimension.
        maps: ``"diagonal"``, ``"orthogonal"`` or ``"general"``.
        orthogonal: ``"householder"`` or ``"cayley"`` (only read for orthogonal maps).

    Shapes:
        - input: ``x`` ``(|V|, F)``, ``edge_index`` ``(2, |E|)``
        - output: ``(|E|, d)`` (diagonal) or ``(|E|, d, d)``
    """

    def __init__(self, in_channels: int, d: int, maps: str = "diagonal", orthogonal: str = "householder") -> None:
        super().__init__()
        check_positive_int("d", d)
        if orthogonal not in ORTHOGONAL_KINDS:
            raise ValueError(f"orthogonal must be one of {ORTHOGONAL_KINDS}, got {orthogonal!r}")
        self.d, self.maps, self.orthogonal = d, maps, orthogonal
        out = num_map_params(maps, d)
        # d == 1 orthogonal maps have no freedom (Householder gives -1): keep a zero-width layer for uniformity.
        self.lin = nn.Linear(2 * in_channels, out, bias=False)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        raw = local_concat(self.lin, x, edge_index)
        if self.maps == "diagonal":
            return torch.tanh(raw)
        if self.maps == "general":
            return torch.tanh(raw).view(-1, self.d, self.d)
        return (householder if self.orthogonal == "householder" else cayley)(raw, self.d)

    def extra_repr(self) -> str:
        extra = f", orthogonal={self.orthogonal!r}" if self.maps == "orthogonal" else ""
        return f"d={self.d}, maps={self.maps!r}{extra}"


class EdgeWeightLearner(nn.Module):
    r"""Symmetric edge weights :math:`w_{(s,t)} = \sigma(a^\top[x_t\|x_s] + a^\top[x_s\|x_t])`.

    ``rev`` gives the id of each edge's reverse (see :func:`graphkit.nn.sheaf.laplacian.sheaf_structure`), so both
    directions of an undirected edge get the same weight and the Laplacian stays symmetric.

    Shapes:
        - input: ``x`` ``(|V|, F)``, ``edge_index`` ``(2, |E|)``, ``rev`` ``(|E|,)``
        - output: ``(|E|,)``
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.lin = nn.Linear(2 * in_channels, 1, bias=False)

    def forward(self, x: Tensor, edge_index: Tensor, rev: Tensor) -> Tensor:
        score = local_concat(self.lin, x, edge_index).squeeze(-1)
        return torch.sigmoid(score + score[rev])
