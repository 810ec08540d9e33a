r"""``BasicGNN``: the shared stack behind GCN, GraphSAGE, GIN and DGCNN, with PyG's constructor and state_dict.

``(in_channels, hidden_channels, num_layers, out_channels=None, dropout=0., act="relu", act_first=False,
act_kwargs=None, norm=None, norm_kwargs=None, jk=None, **conv_kwargs)``, exactly as ``torch_geometric.nn.models
.BasicGNN``: ``num_layers`` convolutions (the last one maps to ``out_channels`` unless ``jk`` is set), each but the
last followed by norm -> activation -> dropout; ``jk`` in ``"last"``, ``"cat"``, ``"max"`` adds jumping knowledge
and a final ``lin``. ``norm`` is ``"batch_norm"`` (PyG's ``BatchNorm``: keys ``norms.i.module.*``),
``"layer_norm"`` (PyG's graph-wise ``LayerNorm``) or a module (norms and activations: :mod:`graphkit.nn.normalization`).
Parameter names match PyG, so a PyG model's state_dict loads unchanged.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from graphkit.batch import Batch
from graphkit.nn.linear import Linear
from graphkit.nn.trim import LayerSize, hop_counts, layer_sizes, target_block, trim_adjacency
from graphkit.ops.adjacency import Adjacency
from graphkit.nn.normalization import BatchNorm, DiffGroupNorm, GraphNorm, InstanceNorm, LayerNorm, PairNorm
from graphkit.nn.normalization.resolver import activation_resolver, normalization_resolver, takes_batch
from graphkit.ops._checks import check_positive_int

__all__ = ["BasicGNN", "MultiHeadGNN", "MLP"]

# Norms whose statistics run over the nodes given (a block of targets would normalise over itself) ...
_GRAPH_WISE_NORMS = (LayerNorm, GraphNorm, InstanceNorm, PairNorm, DiffGroupNorm)
# ... and torch's batch norms, per node only in eval mode with running statistics (as graphkit's BatchNorm)
_TORCH_BATCH_NORMS = (torch.nn.BatchNorm1d, torch.nn.SyncBatchNorm)

def _rows(x: Tensor, n: int) -> Tensor:
    """The first ``n`` rows of ``x``: ``x`` itself when that is all of it. A slice, even a full one, costs its
    backward a zero-filled ``x``-sized gradient and a copy into it (10 MB each at a 2-layer GraphSAGE's 10k
    layer-2 sources and 256 channels), before the other uses' gradients are added."""
    return x if n == x.size(0) else x[:n]


class MLP(torch.nn.Module):
    """PyG's ``MLP`` layout (``lins.i``, ``norms.i``; the last layer plain): Linear -> norm -> act -> dropout.
    ``channel_list[0] = -1`` reads the input width from the first input (or a loaded state_dict)."""

    def __init__(self, channel_list: Sequence[int], dropout: float = 0.0, act: Union[str, Callable, None] = "relu",
                 act_first: bool = False, norm: Union[str, torch.nn.Module, None] = None,
                 norm_kwargs: Optional[Dict[str, Any]] = None, bias: bool = True, plain_last: bool = True) -> None:
        super().__init__()
        if len(channel_list) < 2:
            raise ValueError(f"channel_list needs at least two sizes, got {list(channel_list)}")
        self.channel_list = list(channel_list)
        self.in_channels, self.out_channels = channel_list[0], channel_list[-1]
        self.act = activation_resolver(act)
        self.act_first, self.plain_last, self.dropout = act_first, plain_last, dropout
        self.lins = torch.nn.ModuleList(
            [Linear(a, b, bias=bias) for a, b in zip(channel_list[:-1], channel_list[1:])]
        )
        hidden = channel_list[1:-1] if plain_last else channel_list[1:]
        self.norms = torch.nn.ModuleList(
            [normalization_resolver(copy.deepcopy(norm), c, **(norm_kwargs or {})) or torch.nn.Identity()
             for c in hidden]
        )

    def reset_parameters(self) -> None:
        for m in list(self.lins) + list(self.norms):
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def forward(self, x: Tensor, batch: Optional[Tensor] = None, batch_size: Optional[int] = None) -> Tensor:
        for lin, norm in zip(self.lins, self.norms):
            x = lin(x)
            if self.act is not None and self.act_first:
                x = self.act(x)
            x = norm(x, batch, batch_size) if takes_batch(norm) else norm(x)
            if self.act is not None and not self.act_first:
                x = self.act(x)
            x = F.dropout(x, p=self.dropout, training=self.training)
        if self.plain_last:
            x = self.lins[-1](x)
        return x


class BasicGNN(torch.nn.Module):
    """See the module docstring. Subclasses implement ``init_conv(in_channels, out_channels, **kwargs)``."""

    supports_edge_weight = False
    supports_edge_attr = False
    #: how a layer of a trimmed sampled batch takes its input (:mod:`graphkit.nn.trim`): ``"pair"``
    #: ``(x_src, x_dst)`` (PyG's bipartite form), ``"source"`` the source rows only (the conv reads its targets
    #: as their first rows, as GCNConv does), ``None`` never trimmed (the conv does not run on the batch's edges).
    trim_input: Optional[str] = "pair"
    #: whether edge weights can be trimmed with the edges (GCN's normalisation needs the dropped ones)
    trim_edge_weight = True
    #: whether the convs take ``act="relu"`` and apply it themselves (GCNConv: in its spmm epilogue); the stack then
    #: hands them its ReLU when nothing stands between the conv and the activation (no norm)
    conv_takes_relu = False
    #: whether the convs read a bipartite input's targets only through ``x_dst`` and the edges, never taking target
    #: ``i`` to be source ``i`` (GAT's self-loops do): then :meth:`inference` can keep global source ids
    targets_apart = True

    def __init__(self, in_channels: int, hidden_channels: int, num_layers: int, out_channels: Optional[int] = None,
                 dropout: float = 0.0, act: Union[str, Callable, None] = "relu", act_first: bool = False,
                 act_kwargs: Optional[Dict[str, Any]] = None, norm: Union[str, torch.nn.Module, None] = None,
                 norm_kwargs: Optional[Dict[str, Any]] = None, jk: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        if jk not in (None, "last", "cat", "max"):
            raise ValueError(f"jk must be None, 'last', 'cat' or 'max', got {jk!r}")
        self.in_channels, self.hidden_channels, self.num_layers = in_channels, hidden_channels, num_layers
        self.dropout = torch.nn.Dropout(p=dropout)
        self.act = activation_resolver(act, **(act_kwargs or {}))
        self.jk_mode, self.act_first = jk, act_first
        self.norm = norm if isinstance(norm, str) else None
        self.norm_kwargs = norm_kwargs
        self.out_channels = out_channels if out_channels is not None else hidden_channels
        self.convs = torch.nn.ModuleList()
        c = in_channels
        for _ in range(num_layers - 1):
            self.convs.append(self.init_conv(c, hidden_channels, **kwargs))
            c = hidden_channels
        last_out = out_channels if (out_channels is not None and jk is None) else hidden_channels
        self.convs.append(self.init_conv(c, last_out, **kwargs))
        norm_layer = normalization_resolver(norm, hidden_channels, **(norm_kwargs or {})) or torch.nn.Identity()
        self.norms = torch.nn.ModuleList([copy.deepcopy(norm_layer) for _ in range(num_layers - 1)])
        self.norms.append(copy.deepcopy(norm_layer) if jk is not None else torch.nn.Identity())
        if jk is not None:
            self.lin = torch.nn.Linear(num_layers * hidden_channels if jk == "cat" else hidden_channels,
                                       self.out_channels)

    def init_conv(self, in_channels: int, out_channels: int, **kwargs: Any) -> torch.nn.Module:
        raise NotImplementedError

    def reset_parameters(self) -> None:
        for m in list(self.convs) + list(self.norms):
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        if hasattr(self, "lin"):
            self.lin.reset_parameters()

    def conv_call(self, conv: torch.nn.Module, x: Tensor, adj: Any, edge_weight: Optional[Tensor],
                  edge_attr: Optional[Tensor], relu: bool = False) -> Tensor:
        kw: Dict[str, Any] = {"act": "relu"} if relu else {}
        if self.supports_edge_weight and edge_weight is not None:
            kw["edge_weight"] = edge_weight
        if self.supports_edge_attr and edge_attr is not None:
            kw["edge_attr"] = edge_attr
        return conv(x, adj, **kw)

    def trim_plan(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor], nodes: Optional[Sequence[int]],
                  edges: Optional[Sequence[int]]) -> Optional[List[LayerSize]]:
        """Each layer's trimmed ``(num_src, num_dst, num_edges)`` (:mod:`graphkit.nn.trim`), or ``None`` to run
        every layer on every node: no per-hop counts given or carried by ``adj``, or a stack that cannot trim."""
        if self.trim_input is None or (edge_weight is not None and not self.trim_edge_weight):
            return None
        if nodes is None and edges is None:
            counts = hop_counts(adj)
            if counts is None:
                return None
            nodes, edges = counts
        elif nodes is None or edges is None:
            raise ValueError("num_sampled_nodes_per_hop and num_sampled_edges_per_hop go together; got only "
                             f"{'num_sampled_nodes_per_hop' if edges is None else 'num_sampled_edges_per_hop'}")
        if sum(nodes) != x.size(0):
            raise ValueError(f"num_sampled_nodes_per_hop adds up to {sum(nodes)} but x has {x.size(0)} rows")
        return layer_sizes(nodes, edges, self.num_layers)

    def _hidden(self, i: int) -> bool:
        """Whether layer ``i``'s output goes through norm -> activation -> dropout (all but a plain last conv)."""
        return i < self.num_layers - 1 or self.jk_mode is not None

    def layer(self, i: int, x: Any, adj: Any, edge_weight: Optional[Tensor] = None,
              edge_attr: Optional[Tensor] = None, batch: Optional[Tensor] = None,
              batch_size: Optional[int] = None) -> Tensor:
        """Layer ``i`` alone: its conv on ``x`` (a tensor or a ``(x_src, x_dst)`` pair), then, unless it is the
        plain last layer, norm -> activation -> dropout. ``forward`` and ``inference`` are loops over it."""
        conv, norm = self.convs[i], self.norms[i]
        hidden = self._hidden(i)
        # the convs apply the ReLU (fused) where it directly follows them: no norm in between
        relu = (self.conv_takes_relu and type(self.act) is torch.nn.ReLU and hidden
                and isinstance(norm, torch.nn.Identity))
        x = self.conv_call(conv, x, adj, edge_weight, edge_attr, relu)
        if hidden:
            if self.act is not None and self.act_first and not relu:
                x = self.act(x)
            x = norm(x, batch, batch_size) if takes_batch(norm) else norm(x)
            if self.act is not None and not self.act_first and not relu:
                x = self.act(x)
            x = self.dropout(x)
        return x

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None, edge_attr: Optional[Tensor] = None,
                batch: Optional[Tensor] = None, batch_size: Optional[int] = None,
                num_sampled_nodes_per_hop: Optional[Sequence[int]] = None,
                num_sampled_edges_per_hop: Optional[Sequence[int]] = None, trim: bool = True) -> Tensor:
        """Shapes: x ``(|V|, F_in)`` -> ``(|V|, F_out)``; ``batch`` only feeds graph-wise norms.

        On a sampled batch (``adj`` a ``NeighborLoader`` batch, or the per-hop counts given as in PyG) each
        layer computes only the rows the next one reads (:mod:`graphkit.nn.trim`): the output then has the
        rows of the seeds first and no more than the last layer needs, so ``out[:batch_size]`` is unchanged.
        ``trim=False`` runs every layer on every sampled node.
        """
        if batch is None and isinstance(adj, Batch):
            batch = adj.batch
        plan = self.trim_plan(x, adj, edge_weight, num_sampled_nodes_per_hop,
                              num_sampled_edges_per_hop) if trim else None
        full = Adjacency.from_adj(adj, size=(x.size(0), x.size(0))) if plan is not None else None
        xs: List[Tensor] = []
        for i in range(self.num_layers):
            if plan is not None:
                n_src, n_dst, n_edges = plan[i]
                a = trim_adjacency(full, n_src, n_dst, n_edges)  # type: ignore[arg-type]
                x_src = _rows(x, n_src)
                x_in: Any = (x_src, _rows(x, n_dst)) if self.trim_input == "pair" else x_src
                batch = None if batch is None else batch[:n_dst]
                x = self.layer(i, x_in, a, None if edge_weight is None else edge_weight[:n_edges],
                               None if edge_attr is None else edge_attr[:n_edges], batch, batch_size)
            else:
                x = self.layer(i, x, adj, edge_weight, edge_attr, batch, batch_size)
            if self._hidden(i) and self.jk_mode in ("cat", "max"):  # kept only for jumping knowledge: at full-graph
                xs.append(x)  # scale each is an [N, hidden] tensor that would otherwise be freed after the next layer
        if plan is not None:  # trimmed layers have fewer rows each: jumping knowledge reads the last layer's
            xs = [h[: x.size(0)] for h in xs]
        return self._readout(x, xs)

    def _readout(self, x: Tensor, xs: List[Tensor]) -> Tensor:
        """The last layer's output, or jumping knowledge over the hidden ones ``xs``, then ``lin`` if any: the
        common end of ``forward`` and ``inference``."""
        if self.jk_mode == "cat":
            x = torch.cat(xs, dim=-1)
        elif self.jk_mode == "max":
            x = torch.stack(xs, dim=-1).amax(dim=-1)
        return self.lin(x) if hasattr(self, "lin") else x

    def inference_blocker(self) -> Optional[str]:
        """Why :meth:`inference` would not reproduce ``forward`` on the whole graph, or ``None`` when it does.

        A chunk of targets keeps all of its incoming edges and reads its sources from the whole layer input, so
        a layer whose output row depends only on the target's own row and its in-neighbours' rows is exact. Not
        so: convs that read more (``trim_input`` other than ``"pair"``: GCN's normalisation reads every source's
        degree; PNA, DGCNN), convs that take target ``i`` to be source ``i`` (``targets_apart`` False: GAT's
        self-loops), and norms with statistics over the nodes of a batch (a graph-wise ``LayerNorm``, a
        ``BatchNorm`` in training mode or without running statistics).
        """
        if self.trim_input != "pair":
            return f"{type(self).__name__} layers read more than each target's in-neighbourhood"
        if not self.targets_apart:
            return f"{type(self).__name__} layers take target i to be source i (self-loops)"
        # every module, not only self.norms: GIN's and EdgeCNN's MLPs carry norms of their own
        inner = {id(m.module) for m in self.modules() if isinstance(m, BatchNorm)}
        for name, m in self.named_modules():
            if isinstance(m, BatchNorm):
                stats, training = m.module.track_running_stats, m.training
            elif isinstance(m, _TORCH_BATCH_NORMS) and id(m) not in inner:
                stats, training = m.track_running_stats, m.training
            elif isinstance(m, _GRAPH_WISE_NORMS):
                stats, training = False, True
            else:
                continue
            if training or not stats:
                return f"{name} ({type(m).__name__}) normalises over the nodes of a batch"
        return None

    @torch.no_grad()
    def inference(self, x: Tensor, adj: Any, batch_size: int = 16384) -> Tensor:
        r"""``forward(x, adj)`` computed layer by layer over chunks of ``batch_size`` target nodes.

        Layer :math:`l` runs over all nodes before layer :math:`l+1` starts, one block of targets
        :math:`B = [a, b)` at a time: :math:`H^{(l+1)}[B] = \mathrm{layer}_l\big((H^{(l)}, H^{(l)}[B]),\
        A[B, :]\big)`, the block's rows of the CSR (:func:`graphkit.nn.trim.target_block`) with the sources
        keeping their global ids, so the layer input is read in place. Memory then holds two ``[N, hidden]``
        layer outputs plus one block's ``[b - a, hidden]`` temporaries, never a per-layer temporary over all
        ``N`` nodes or all ``E`` edges; the work is ``forward``'s. Each target reduces over the same edges in the
        same CSR order as ``forward`` does, so the result equals it up to the float rounding of the dense ops.

        Raises ``ValueError`` when :meth:`inference_blocker` names a reason.

        Shapes:
            x ``(N, F_in)``, ``adj`` any :data:`~graphkit.typing.AdjLike` over ``N`` nodes -> ``(N, F_out)``.
        """
        why = self.inference_blocker()
        if why is not None:
            raise ValueError(f"inference() cannot chunk this model: {why}; call forward() on the whole graph")
        check_positive_int("batch_size", batch_size)
        n = x.size(0)
        full = Adjacency.from_adj(adj, size=(n, n))
        xs: List[Tensor] = []
        for i in range(self.num_layers):
            out: Optional[Tensor] = None
            for a in range(0, max(n, 1), batch_size):  # one (empty) block when n == 0: the output's width
                b = min(a + batch_size, n)
                h = self.layer(i, (x, x[a:b]), target_block(full, a, b))
                if out is None:
                    out = h.new_empty((n,) + tuple(h.shape[1:]))
                out[a:b] = h
            x = out
            if self._hidden(i) and self.jk_mode in ("cat", "max"):
                xs.append(x)
        return self._readout(x, xs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, num_layers={self.num_layers})"


class MultiHeadGNN(BasicGNN):
    """A ``BasicGNN`` of multi-head attention convs, with PyG's head layout (the one rule of its ``GAT``):
    hidden layers concatenate ``heads`` heads of ``hidden_channels // heads`` channels; the conv that maps
    straight to ``out_channels`` (no jumping knowledge) averages its heads instead."""

    def __init__(self, in_channels: int, hidden_channels: int, num_layers: int, out_channels: Optional[int] = None,
                 **kwargs: Any) -> None:
        self._to_out = out_channels is not None and kwargs.get("jk") is None
        super().__init__(in_channels, hidden_channels, num_layers, out_channels, **kwargs)

    def head_layout(self, out_channels: int, heads: int, concat: bool = True) -> Tuple[int, bool]:
        """``(channels per head, concat)`` for the conv being built (``len(self.convs)`` of them exist)."""
        if self._to_out and len(self.convs) == self.num_layers - 1:
            concat = False
        if concat and out_channels % heads != 0:
            raise ValueError(f"hidden_channels ({out_channels}) must be divisible by heads ({heads})")
        return (out_channels // heads if concat else out_channels), concat
