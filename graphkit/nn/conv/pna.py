r"""PNAConv (Corso et al., "Principal Neighbourhood Aggregation for Graph Nets")."""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor

from graphkit.nn.adjacency import Adjacency
from graphkit.nn.aggr_degree_scaler import DegreeScalerAggregation, aggregator_names
from graphkit.nn.inits import reset
from graphkit.nn.linear import Linear
from graphkit.nn.message_passing import MessagePassing
from graphkit.nn.normalization.resolver import activation_resolver

__all__ = ["PNAConv"]


class PNAConv(MessagePassing):
    r"""Principal neighbourhood aggregation:

    .. math::
        \mathbf{x}_i' = \gamma_{\mathbf{\Theta}}\Big(\mathbf{x}_i, \bigoplus_{j \in \mathcal{N}(i)}
        h_{\mathbf{\Theta}}(\mathbf{x}_i, \mathbf{x}_j, \mathbf{e}_{j \to i})\Big)

    with :math:`\bigoplus` the :class:`~graphkit.nn.DegreeScalerAggregation` of ``aggregators`` x ``scalers``,
    :math:`h` the ``pre_layers`` MLP and :math:`\gamma` the ``post_layers`` MLP (one of each per tower), then a
    final linear layer. Same arguments and parameters as PyG's ``PNAConv``.

    When :math:`h` is one linear layer and there are no edge features (the default ``pre_layers=1``), the
    messages are never built: :math:`h(\mathbf{x}_i, \mathbf{x}_j) = \mathbf{a}_i + \mathbf{b}_j` splits into a
    target and a source term, the target term leaves every aggregator in closed form (sum: :math:`d_i \mathbf{a}_i
    + \sum_j \mathbf{b}_j`; mean, max, min: :math:`\mathbf{a}_i +` the same reduction of :math:`\mathbf{b}_j`; var
    and std do not see it), and each reduction of :math:`\mathbf{b}` is one fused ``spmm``.

    Shapes:
        x ``(|V|, F_in)``, adj, edge_attr ``(|E|, D)`` optional -> ``(|V|, F_out)``.

    >>> deg = torch.tensor([1, 2, 1])
    >>> conv = PNAConv(4, 6, ["mean", "max", "std"], ["identity", "amplification"], deg, towers=2)
    >>> conv(torch.randn(3, 4), torch.tensor([[0, 1, 2], [1, 2, 1]])).shape
    torch.Size([3, 6])
    """

    def __init__(self, in_channels: int, out_channels: int, aggregators: List[str], scalers: List[str], deg: Tensor,
                 edge_dim: Optional[int] = None, towers: int = 1, pre_layers: int = 1, post_layers: int = 1,
                 divide_input: bool = False, act: Union[str, Callable, None] = "relu",
                 act_kwargs: Optional[Dict[str, Any]] = None, train_norm: bool = False, **kwargs: Any) -> None:
        aggr = DegreeScalerAggregation(aggregators, scalers, deg, train_norm)
        kwargs.setdefault("node_dim", 0)
        super().__init__(aggr=aggr, **kwargs)
        if divide_input and in_channels % towers != 0:
            raise ValueError(f"in_channels ({in_channels}) must be divisible by towers ({towers}) with divide_input")
        if out_channels % towers != 0:
            raise ValueError(f"out_channels ({out_channels}) must be divisible by towers ({towers})")
        self.in_channels, self.out_channels, self.edge_dim = in_channels, out_channels, edge_dim
        self.towers, self.divide_input = towers, divide_input
        self.F_in = in_channels // towers if divide_input else in_channels
        self.F_out = out_channels // towers
        self.edge_encoder = Linear(edge_dim, self.F_in) if edge_dim is not None else None
        self.pre_nns = torch.nn.ModuleList()
        self.post_nns = torch.nn.ModuleList()
        for _ in range(towers):
            self.pre_nns.append(self._mlp((3 if edge_dim is not None else 2) * self.F_in, self.F_in, pre_layers,
                                          act, act_kwargs))
            width = (len(aggregators) * len(scalers) + 1) * self.F_in
            self.post_nns.append(self._mlp(width, self.F_out, post_layers, act, act_kwargs))
        self.lin = Linear(out_channels, out_channels)
        self.reset_parameters()

    @staticmethod
    def _mlp(f_in: int, f_out: int, layers: int, act: Any, act_kwargs: Optional[Dict[str, Any]]
             ) -> torch.nn.Sequential:
        modules: List[torch.nn.Module] = [Linear(f_in, f_out)]
        for _ in range(layers - 1):
            modules.append(activation_resolver(act, **(act_kwargs or {})))  # type: ignore[arg-type]
            modules.append(Linear(f_out, f_out))
        return torch.nn.Sequential(*modules)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.edge_encoder is not None:
            self.edge_encoder.reset_parameters()
        for nn in list(self.pre_nns) + list(self.post_nns):
            reset(nn)
        self.lin.reset_parameters()

    def forward(self, x: Tensor, adj: Any, edge_attr: Optional[Tensor] = None) -> Tensor:
        if self.divide_input:
            h = x.view(-1, self.towers, self.F_in)
        else:
            h = x.view(-1, 1, self.F_in).repeat(1, self.towers, 1)
        names = self._closed_form_names(edge_attr)
        if names is not None:
            out = self._closed_form(h, self.adjacency(adj, x=h), names)
        else:
            out = self.propagate(adj, x=h, edge_attr=edge_attr)
        out = torch.cat([h, out], dim=-1)
        out = torch.cat([nn(out[:, i]) for i, nn in enumerate(self.post_nns)], dim=1)
        return self.lin(out)

    def message(self, x_i: Tensor, x_j: Tensor, edge_attr: Optional[Tensor]) -> Tensor:
        if edge_attr is not None:
            if self.edge_encoder is None:
                raise ValueError("PNAConv got edge_attr but was built without edge_dim")
            e = self.edge_encoder(edge_attr).view(-1, 1, self.F_in).repeat(1, self.towers, 1)
            h = torch.cat([x_i, x_j, e], dim=-1)
        else:
            h = torch.cat([x_i, x_j], dim=-1)
        return torch.stack([nn(h[:, i]) for i, nn in enumerate(self.pre_nns)], dim=1)

    # ------------------------------------------------------------------ the fused closed form
    def _closed_form_names(self, edge_attr: Optional[Tensor]) -> Optional[Sequence[str]]:
        if not self.fuse or edge_attr is not None or self.edge_dim is not None:
            return None
        if any(len(nn) != 1 for nn in self.pre_nns):
            return None
        return aggregator_names(self.aggr_module.aggr)  # type: ignore[union-attr]

    def _closed_form(self, h: Tensor, adj: Adjacency, names: Sequence[str]) -> Tensor:
        n, f = adj.num_dst, self.F_in
        # Split each tower's first linear layer W [x_i ; x_j] + b into a target term a and a source term b.
        a = torch.stack([nn[0].weight[:, :f] @ h[:, t].t() for t, nn in enumerate(self.pre_nns)], 1)
        a = a.permute(2, 1, 0) + torch.stack([nn[0].bias for nn in self.pre_nns], 0)  # [N, T, F]
        b = torch.stack([h[:, t] @ nn[0].weight[:, f:].t() for t, nn in enumerate(self.pre_nns)], 1)
        deg = adj.degree()
        has = (deg > 0).to(h.dtype).view(-1, 1, 1)
        flat = b.reshape(b.size(0), -1)
        cache: Dict[str, Tensor] = {}

        def reduce(what: str) -> Tensor:
            if what not in cache:
                src = flat * flat if what == "mean2" else flat
                cache[what] = adj.spmm(src, reduce="mean" if what == "mean2" else what).view(n, self.towers, f)
            return cache[what]

        outs = []
        for name in names:
            if name == "sum":
                outs.append(deg.to(h.dtype).view(-1, 1, 1) * a + reduce("sum"))
            elif name in ("mean", "max", "min"):
                outs.append((a + reduce(name)) * has)
            else:
                var = reduce("mean2") - reduce("mean") * reduce("mean")
                if name == "std":
                    var = var.clamp(min=1e-5).sqrt()
                    var = var.masked_fill(var <= math.sqrt(1e-5), 0.0)
                outs.append(var)
        out = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]
        return self.aggr_module.scale(out, deg)  # type: ignore[operator]

    @staticmethod
    def get_degree_histogram(graphs: Any) -> Tensor:
        """The ``deg`` argument: ``deg[d]`` = number of nodes with in-degree ``d`` over ``graphs`` (a ``Graph``,
        a ``Batch``, or an iterable of them such as a loader over the training set), as PyG's method of the same
        name.

        >>> from graphkit import Graph
        >>> PNAConv.get_degree_histogram(Graph(edge_index=torch.tensor([[0, 1, 2], [1, 2, 1]]))).tolist()
        [1, 1, 1]
        """
        parts = [graphs] if hasattr(graphs, "edge_index") else list(graphs)
        hist = torch.zeros(1, dtype=torch.long)
        for g in parts:
            ei = g.edge_index_or_empty() if hasattr(g, "edge_index_or_empty") else g.edge_index
            counts = torch.bincount(torch.bincount(ei[1].cpu(), minlength=int(g.num_nodes)))
            if counts.numel() > hist.numel():
                hist = torch.cat([hist, hist.new_zeros(counts.numel() - hist.numel())])
            hist[:counts.numel()] += counts
        return hist

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, towers={self.towers})"
