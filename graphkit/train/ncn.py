"""NCN and NCNC link predictors: the pair's own embeddings plus learned features of its common neighbours.

Neural Common Neighbour (Wang, Yang, Zhang; "Neural Common Neighbor with Completion for Link Prediction",
ICLR 2024) scores a candidate link from the GNN embeddings of both ends *and* the embeddings of the nodes
they share, which message passing alone cannot count (two nodes with identical neighbourhoods but no common
neighbour look alike to a GNN). The common-neighbour set is read off the sparse adjacency per pair.

NCNC (the same paper) completes that set: a neighbour of one end only counts as a common neighbour with the
probability NCN gives to its missing link to the other end. Both take ``remove``, the pairs to drop from the
structure their common neighbours are read from (target link removal, :func:`without_edges`).
"""
from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import torch
from torch import Tensor, nn

from graphkit.ops.adjacency import resolve
from graphkit.typing import AdjLike, OptTensor

__all__ = ["LAYOUTS", "outside_pairs", "NCNPredictor", "NCNCPredictor", "MLPPredictor", "common_neighbours",
           "sparse_adjacency", "cn_structure", "without_edges", "neighbour_differences"]

# Graphs up to this many nodes keep a dense 0/1 adjacency next to the sparse one (N^2 floats: 400 MB at 10k);
# dense row products are then computed in chunks of at most this many entries.
_DENSE_NODES = 10_000
_DENSE_ENTRIES = 1 << 24

Structure = Tuple[Tensor, Optional[Tensor]]
# how NCN's two branches meet: graphkit's concatenation, or the authors' beta-weighted sum (their CNLinkPredictor)
LAYOUTS = ("concat", "authors")


def sparse_adjacency(edge_index: Tensor, num_nodes: int) -> Tensor:
    """The 0/1 adjacency as a coalesced sparse COO ``[N, N]`` (float, so it can multiply embeddings).

    Duplicate edges would sum to 2 when coalesced, so they are dropped first.
    """
    edge_index = torch.unique(edge_index, dim=1)
    values = torch.ones(edge_index.size(1), device=edge_index.device)
    return torch.sparse_coo_tensor(edge_index, values, (num_nodes, num_nodes), check_invariants=False).coalesce()


def common_neighbours(adj: Tensor, pairs: Tensor) -> Tensor:
    r"""Sparse ``[P, N]`` indicator of :math:`\mathcal N(i) \cap \mathcal N(j)` for each pair ``(i, j)``.

    Shapes:
        input: ``adj`` sparse ``(N, N)``, ``pairs`` ``(P, 2)``
        output: sparse ``(P, N)``
    """
    a_i = torch.index_select(adj, 0, pairs[:, 0])
    a_j = torch.index_select(adj, 0, pairs[:, 1])
    return (a_i * a_j).coalesce()  # sparse * sparse keeps only the shared columns


def _as(t: Tensor, dtype: torch.dtype) -> Tensor:
    return t if t.dtype == dtype else t.to(dtype)


def _sum_dtype(h: Tensor) -> torch.dtype:
    # half and bfloat16 (mixed precision) sum in float32: torch.sparse.mm has no half kernels on CPU
    return h.dtype if h.dtype == torch.float64 else torch.float32


def _cn_sum(adj: Tensor, dense: Optional[Tensor], pairs: Tensor, h: Tensor) -> Tensor:
    """``sum_{k in N(i) & N(j)} h_k`` per pair; dense rows when the graph is small enough (much faster)."""
    if dense is None:
        return torch.sparse.mm(_as(common_neighbours(adj, pairs), h.dtype), h)
    dense = _as(dense, h.dtype)
    step = max(1, _DENSE_ENTRIES // dense.size(0))
    return torch.cat([(dense[p[:, 0]] * dense[p[:, 1]]) @ h for p in pairs.split(step)])


def cn_structure(adj: AdjLike, device: torch.device) -> Structure:
    """The sparse 0/1 adjacency of ``adj`` and, for small graphs, its dense copy: derived once per structure.

    Both live in the structure's memo (:meth:`Adjacency.derived`), so a ``Graph`` reused every epoch builds them
    once, and an edit of its ``edge_index`` drops them with everything else derived.
    """
    a = resolve(adj, None, None, device)
    n = a.num_dst
    sparse = a.derived(("ncn", "sparse"), lambda: sparse_adjacency(a.edge_index, n))
    dense = a.derived(("ncn", "dense"), lambda: sparse.to_dense() if n <= _DENSE_NODES else None)
    return sparse, dense


def outside_pairs(edge_index: Tensor, num_nodes: int, pairs: Tensor) -> Tensor:
    """``[E]`` mask, ``True`` where edge ``e`` joins none of ``pairs`` (in either direction): what target link
    removal keeps.

    Shapes:
        input: ``edge_index`` ``(2, E)``, ``pairs`` ``(R, 2)``
        output: ``(E,)`` bool

    >>> outside_pairs(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), 3, torch.tensor([[1, 0]])).tolist()
    [False, False, True, True]
    """
    n, pairs = num_nodes, pairs.to(edge_index.device).long()
    gone = torch.cat([pairs[:, 0] * n + pairs[:, 1], pairs[:, 1] * n + pairs[:, 0]])
    return ~torch.isin(edge_index[0] * n + edge_index[1], gone)


def without_edges(sparse: Tensor, dense: Optional[Tensor], pairs: Tensor) -> Structure:
    r"""The structure of :func:`cn_structure` with every pair of ``pairs`` removed in both directions.

    This is NCNC's *target link removal*: a positive training pair :math:`(i, j)` is scored on
    :math:`A - \{(i, j), (j, i)\}`, as a held-out pair would be, so that its own edge does not make :math:`i` a
    neighbour of :math:`j` (NCNC would otherwise count :math:`i` as a possible common neighbour of itself).
    The inputs are left untouched (they live in the structure's memo). A dense copy is kept only while a
    per-batch clone stays small (:math:`N^2 \le 2^{24}`); larger graphs continue on the sparse matrix alone.

    Shapes:
        input: ``sparse`` sparse ``(N, N)``, ``dense`` ``(N, N)`` or ``None``, ``pairs`` ``(R, 2)``
        output: the same two, without the ``2R`` entries

    >>> s = sparse_adjacency(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), 3)
    >>> s2, d2 = without_edges(s, s.to_dense(), torch.tensor([[1, 0]]))
    >>> d2.tolist(), s2.indices().tolist()
    ([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], [[1, 2], [2, 1]])
    """
    if pairs.dim() != 2 or pairs.size(-1) != 2:
        raise ValueError(f"remove must have shape [R, 2], got {list(pairs.shape)}")
    pairs = pairs.to(sparse.device).long()
    idx = sparse.indices()
    keep = outside_pairs(idx, sparse.size(0), pairs)
    sparse = torch.sparse_coo_tensor(idx[:, keep], sparse.values()[keep], sparse.shape,
                                     check_invariants=False).coalesce()
    if dense is not None and dense.numel() <= _DENSE_ENTRIES:
        dense = dense.clone()
        dense[pairs[:, 0], pairs[:, 1]] = 0
        dense[pairs[:, 1], pairs[:, 0]] = 0
    else:
        dense = None
    return sparse, dense


def neighbour_differences(sparse: Tensor, dense: Optional[Tensor], pairs: Tensor) -> Tuple[Tensor, Tensor]:
    r"""Where one end's neighbours are not the other's: ``(p, k)`` for :math:`k \in \mathcal N(j) \setminus
    \mathcal N(i)`, and ``(p, k)`` for :math:`k \in \mathcal N(i) \setminus \mathcal N(j)`, for each pair
    ``p = (i, j)``: the candidates NCNC's completion weighs.

    Shapes:
        input: ``sparse`` sparse ``(N, N)``, ``dense`` ``(N, N)`` or ``None``, ``pairs`` ``(P, 2)``
        output: two ``(2, M)`` index tensors (row 0: the pair's position, row 1: the node ``k``)

    >>> s = sparse_adjacency(torch.tensor([[0, 1, 0, 2, 1, 3], [1, 0, 2, 0, 3, 1]]), 4)
    >>> only_j, only_i = neighbour_differences(s, None, torch.tensor([[0, 1]]))
    >>> only_j.tolist(), only_i.tolist()  # N(0) = {1, 2}, N(1) = {0, 3}
    ([[0, 0], [0, 3]], [[0, 0], [1, 2]])
    """
    if dense is None:
        a_i = torch.index_select(sparse, 0, pairs[:, 0])
        a_j = torch.index_select(sparse, 0, pairs[:, 1])
        cn = a_i * a_j

        def only(a: Tensor) -> Tensor:
            d = (a - cn).coalesce()  # entries of the common neighbours cancel to zero; drop them
            return d.indices()[:, d.values() != 0]

        return only(a_j), only(a_i)
    step = max(1, _DENSE_ENTRIES // dense.size(0))
    parts_j, parts_i = [], []
    for start, p in zip(range(0, pairs.size(0), step), pairs.split(step)):
        r_i, r_j = dense[p[:, 0]] != 0, dense[p[:, 1]] != 0
        offset = torch.tensor([[start], [0]], device=pairs.device)
        parts_j.append((r_j & ~r_i).nonzero().t() + offset)
        parts_i.append((r_i & ~r_j).nonzero().t() + offset)
    empty = pairs.new_zeros(2, 0)
    return torch.cat([empty, *parts_j], 1), torch.cat([empty, *parts_i], 1)


class NCNPredictor(nn.Module):
    r"""NCN score of a node pair.

    .. math::
        s(i, j) = \mathrm{MLP}_{out}\Big( \mathrm{MLP}_{pair}(h_i \odot h_j) \;\Vert\;
                  \mathrm{MLP}_{cn}\big(\textstyle\sum_{k \in \mathcal N(i) \cap \mathcal N(j)} h_k\big) \Big)

    ``remove`` (``(R, 2)`` pairs, optional) scores on the structure without those pairs (:func:`without_edges`).

    ``layout="authors"`` builds the MLPs as the authors' code does (GraphPKU/NeuralCommonNeighbor,
    ``CNLinkPredictor``): the branches meet in a sum, :math:`\mathrm{MLP}_{out}(\beta\, \mathrm{MLP}_{cn}(c_{ij})
    + \mathrm{MLP}_{pair}(h_i \odot h_j))` with a learnable :math:`\beta` (initial ``beta``), a three-layer
    :math:`\mathrm{MLP}_{cn}`, and dropout after every hidden layer; its options are theirs: ``norm`` (``lnnn``:
    LayerNorm before each hidden activation), ``tail_act`` (``tailact``: both branches end in their ReLU),
    ``two_layer_out`` (``twolayerlin``: one more hidden layer in :math:`\mathrm{MLP}_{out}`), ``feature_mlp``
    (``use_xlin``: a common neighbour contributes :math:`h_k + \mathrm{MLP}(h_k)`). The default ``"concat"``
    is graphkit's original layout and takes none of them.

    Shapes:
        input: ``h`` ``(|V|, F)``, ``adj`` the structure (``Graph``, ``Adjacency`` or ``[2, E]`` edge_index; its
        common neighbours are read off the sparse adjacency kept in its memo), ``pairs`` ``(P, 2)``
        output: ``(P,)`` logits
    """

    def __init__(self, hidden: int, dropout: float = 0.0, layout: str = "concat", norm: bool = False,
                 tail_act: bool = False, two_layer_out: bool = False, beta: float = 1.0, feature_mlp: bool = False):
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.layout = layout
        if layout == "concat":
            given = [name for name, value, default in (("norm", norm, False), ("tail_act", tail_act, False),
                                                       ("two_layer_out", two_layer_out, False), ("beta", beta, 1.0),
                                                       ("feature_mlp", feature_mlp, False)) if value != default]
            if given:
                raise ValueError(f"{', '.join(given)} need layout='authors', got layout='concat'")
            self.pair = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            self.cn = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            self.out = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
                                     nn.Linear(hidden, 1))
            self.beta, self.features = None, None
            return

        def lin() -> nn.Module:
            return nn.Linear(hidden, hidden)

        def act() -> list:  # [LayerNorm,] Dropout, ReLU: the authors' order (normalise, drop, then rectify)
            return ([nn.LayerNorm(hidden)] if norm else []) + [nn.Dropout(dropout), nn.ReLU()]

        def drop_relu() -> list:
            return [nn.Dropout(dropout), nn.ReLU()]

        def tail() -> list:  # tail_act: the branch ends in its ReLU, not in a linear map
            return [] if tail_act else [lin()]

        self.pair = nn.Sequential(lin(), *act(), *tail())
        self.cn = nn.Sequential(lin(), *drop_relu(), lin(), *act(), *tail())
        self.out = nn.Sequential(lin(), *act(), *((lin(), *act()) if two_layer_out else ()), nn.Linear(hidden, 1))
        self.beta = nn.Parameter(torch.tensor([float(beta)]))  # learnable, as in the authors' code
        # feature_mlp: common neighbours contribute h_k + MLP(h_k) (the authors' use_xlin), the pair h_i * h_j
        self.features = nn.Sequential(lin(), *drop_relu(), lin(), *act()) if feature_mlp else None

    def structure(self, h: Tensor, adj: AdjLike, remove: OptTensor = None) -> Structure:
        """The (sparse, dense) adjacency the common neighbours are read from, without ``remove``'s pairs."""
        sparse, dense = cn_structure(adj, h.device)
        return (sparse, dense) if remove is None else without_edges(sparse, dense, remove)

    def head(self, h: Tensor, pairs: Tensor, cn_features: Tensor) -> Tensor:
        """The logits from the pair's embeddings and its (completed) common-neighbour sum ``cn_features``:
        :math:`\\mathrm{MLP}_{out}(\\mathrm{MLP}_{pair}(h_i \\odot h_j) \\Vert \\mathrm{MLP}_{cn}(c_{ij}))`
        (``layout="concat"``) or :math:`\\mathrm{MLP}_{out}(\\beta\\,\\mathrm{MLP}_{cn}(c_{ij}) +
        \\mathrm{MLP}_{pair}(h_i \\odot h_j))` (``"authors"``)."""
        pair, cn = self.pair(h[pairs[:, 0]] * h[pairs[:, 1]]), self.cn(cn_features.to(h.dtype))
        z = torch.cat([pair, cn], dim=-1) if self.beta is None else self.beta * cn + pair
        return self.out(z).view(-1)

    def cn_inputs(self, h: Tensor) -> Tensor:
        """What a common neighbour ``k`` contributes to the sum: :math:`h_k`, or :math:`h_k + \\mathrm{MLP}(h_k)`
        with ``feature_mlp`` (computed once per call, for every node); float32 or float64 (:func:`_sum_dtype`)."""
        x = h if self.features is None else h + self.features(h)
        return _as(x, _sum_dtype(h))

    def score(self, h: Tensor, struct: Structure, pairs: Tensor) -> Tensor:
        """NCN logits of ``pairs`` on a structure from :meth:`structure`."""
        return self.head(h, pairs, _cn_sum(*struct, pairs, self.cn_inputs(h)))

    def forward(self, h: Tensor, adj: AdjLike, pairs: Tensor, remove: OptTensor = None) -> Tensor:
        return self.score(h, self.structure(h, adj, remove), pairs)


class NCNCPredictor(NCNPredictor):
    r"""NCNC score of a node pair: NCN on the common-neighbour set completed by NCN's own predictions.

    A node :math:`k` is a common neighbour of :math:`(i, j)` with weight

    .. math::
        P_{ijk} = \begin{cases} 1 & k \in \mathcal N(i) \cap \mathcal N(j) \\
                  \hat A_{ik} & k \in \mathcal N(j) \setminus \mathcal N(i) \\
                  \hat A_{jk} & k \in \mathcal N(i) \setminus \mathcal N(j) \\ 0 & \text{otherwise} \end{cases}

    where :math:`\hat A_{ik}` is the existence probability of the missing link :math:`(i, k)` that NCN predicts
    (the paper's completion step, Eq. 8), calibrated as the authors' code calibrates it:

    .. math::
        \hat A_{ik} = \alpha\, \sigma\big(\lambda\,(s_{NCN}(i, k) - \mu) + \ln p_t\big)
                    = \alpha\, \frac{p_t\, p_0}{p_t\, p_0 + 1 - p_0}, \quad
        p_0 = \sigma\big(\lambda\,(s_{NCN}(i, k) - \mu)\big)

    (``scale`` :math:`\lambda`, ``offset`` :math:`\mu`, ``prior`` :math:`p_t`, ``alpha`` :math:`\alpha`; the
    defaults 5, 3, 0.5, 1 are the authors' code's). The calibration is what keeps completion from drowning the
    real common neighbours: an unsure link (logit near 0, as every link is early in training) weighs
    :math:`\sigma(-15 - \ln 2) \approx 1.5 \cdot 10^{-7}` instead of :math:`\sigma(0) = 0.5`, so only links NCN
    is confident of (logit above ~2.5) are counted. On a dense graph a pair has dozens of neighbours of one end
    only (68 / 54 for positives / negatives of ogbl-connectome against 33 / 7 shared ones), so with the raw
    :math:`\sigma(s)` completion added more soft neighbours than there were real ones.
    ``scale=1, offset=0, prior=1, alpha=1`` gives the uncalibrated :math:`\hat A = \sigma(s_{NCN})`.

    The score (Eq. 9, one completion step: NCNC(1), whose completion model NCNC(0) is NCN with the same weights)
    is

    .. math::
        s(i, j) = \mathrm{MLP}_{out}\Big( \mathrm{MLP}_{pair}(h_i \odot h_j) \;\Vert\;
                  \mathrm{MLP}_{cn}\big(\textstyle\sum_k P_{ijk}\, h_k\big) \Big)

    As in the authors' code, :math:`\hat A` is computed without gradient: it weighs the features, it is not trained
    through them. In training, ``remove`` holds the batch's positive pairs (target link removal): they are
    dropped from the structure that both the common neighbours and :math:`\hat A` are read from.

    Shapes:
        input: ``h`` ``(|V|, F)``, ``adj`` the structure (as :class:`NCNPredictor`), ``pairs`` ``(P, 2)``,
        ``remove`` ``(R, 2)`` or ``None``
        output: ``(P,)`` logits

    >>> _ = torch.manual_seed(0)
    >>> ei = torch.tensor([[0, 2, 0, 3, 1, 2, 1, 4], [2, 0, 3, 0, 2, 1, 4, 1]])  # N(0) = {2, 3}, N(1) = {2, 4}
    >>> pred, h = NCNCPredictor(8), torch.randn(5, 8)
    >>> pred(h, ei, torch.tensor([[0, 1], [3, 4]])).shape
    torch.Size([2])
    >>> c = pred.completed_sum(h, ei, torch.tensor([[0, 1]]))  # h_2 + A^_{0,4} h_4 + A^_{1,3} h_3
    >>> p = pred.completion_weight(pred.ncn(h, ei, torch.tensor([[0, 4], [1, 3]])))  # the completion model's A^
    >>> torch.allclose(c, h[2] + p[0] * h[4] + p[1] * h[3], atol=1e-6)
    True
    """

    def __init__(self, hidden: int, dropout: float = 0.0, scale: float = 5.0, offset: float = 3.0,
                 prior: float = 0.5, alpha: float = 1.0, **layout: Any):
        super().__init__(hidden, dropout, **layout)
        for field, value, low in (("scale", scale, 0.0), ("prior", prior, 0.0)):
            if not value > low:
                raise ValueError(f"{field} must be positive, got {value}")
        if not alpha >= 0:
            raise ValueError(f"alpha must be non-negative, got {alpha}")
        self.scale, self.offset, self.prior, self.alpha = float(scale), float(offset), float(prior), float(alpha)

    def completion_weight(self, logit: Tensor) -> Tensor:
        r""":math:`\hat A = \alpha\,\sigma(\lambda (s - \mu) + \ln p_t)` of NCN logits ``s`` (any shape)."""
        return self.alpha * torch.sigmoid(self.scale * (logit - self.offset) + math.log(self.prior))

    def extra_repr(self) -> str:
        return f"scale={self.scale}, offset={self.offset}, prior={self.prior}, alpha={self.alpha}"

    def ncn(self, h: Tensor, adj: AdjLike, pairs: Tensor, remove: OptTensor = None) -> Tensor:
        r"""The completion model's logits: NCN with these weights (:math:`\hat A` is :meth:`completion_weight` of
        them)."""
        return NCNPredictor.forward(self, h, adj, pairs, remove)

    def completed_sum(self, h: Tensor, adj: AdjLike, pairs: Tensor, remove: OptTensor = None) -> Tensor:
        r""":math:`\sum_k P_{ijk} h_k` per pair (``(P, F)``, float32 or float64)."""
        return self._completed(h, self.structure(h, adj, remove), pairs)

    def _completed(self, h: Tensor, struct: Structure, pairs: Tensor) -> Tensor:
        hs = self.cn_inputs(h)
        cn = _cn_sum(*struct, pairs, hs)
        only_j, only_i = neighbour_differences(*struct, pairs)
        # k in N(j) \ N(i) is missing the link (i, k); k in N(i) \ N(j) the link (j, k)
        ends = torch.cat([pairs[only_j[0], 0], pairs[only_i[0], 1]])
        ks = torch.cat([only_j[1], only_i[1]])
        if ks.numel() == 0:
            return cn
        n = h.size(0)
        with torch.no_grad():  # each missing link is scored once, however many pairs share it
            links, back = torch.unique(ends * n + ks, return_inverse=True)
            logit = self.score(h, struct, torch.stack([links // n, links % n], 1)).to(hs.dtype)
            prob = self.completion_weight(logit)[back]
        rows = torch.cat([only_j[0], only_i[0]])
        return cn.index_add(0, rows, prob.unsqueeze(-1) * hs[ks])

    def forward(self, h: Tensor, adj: AdjLike, pairs: Tensor, remove: OptTensor = None) -> Tensor:
        return self.head(h, pairs, self._completed(h, self.structure(h, adj, remove), pairs))


class MLPPredictor(nn.Module):
    r"""The OGB baseline predictor: :math:`s(i, j) = \mathrm{MLP}(h_i \odot h_j)`.

    Shapes:
        input: ``h`` ``(|V|, F)``, ``pairs`` ``(P, 2)`` (``adj`` and ``remove`` are ignored: no structure is read)
        output: ``(P,)`` logits
    """

    def __init__(self, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, h: Tensor, adj: AdjLike, pairs: Tensor, remove: OptTensor = None) -> Tensor:
        return self.mlp(h[pairs[:, 0]] * h[pairs[:, 1]]).view(-1)
