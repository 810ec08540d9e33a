r"""SAGEConv (Hamilton et al., "Inductive Representation Learning on Large Graphs")."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.parameter import is_lazy

from graphkit.nn.aggr import MultiAggregation
from graphkit.nn.conv._utils import as_pair, pair_channels
from graphkit.nn.linear import Linear, direct_weights
from graphkit.nn.message_passing import MessagePassing
from graphkit.ops._checks import check_act

__all__ = ["SAGEConv"]


class SAGEConv(MessagePassing):
    r"""GraphSAGE:

    .. math::
        \mathbf{x}'_i = \mathbf{W}_1 \mathbf{x}_i + \mathbf{W}_2 \cdot
        \mathrm{aggr}_{j \in \mathcal{N}(i)} \mathbf{x}_j

    with ``aggr`` ``"mean"`` (default), ``"max"``, ``"sum"``, ``"lstm"`` (sorted targets) or any aggregation by
    name, module (graphkit's or PyG's) or list (``aggr_kwargs`` then sets the combine ``mode``); with
    ``project`` the sources first go through :math:`\mathrm{ReLU}(\mathbf{W}_3 \mathbf{x}_j + \mathbf{b})`; with
    ``normalize`` the output is L2-normalised. Arguments and parameters (``lin_l``, ``lin_r``, ``lin``) as PyG's.
    Sum/mean/max/min are fused (``spmm``): no per-edge tensor is built.

    ``in_channels=-1`` (or ``(-1, -1)``) reads the widths from the first input, as PyG (not with ``project``).

    Shapes:
        x ``(|V|, F_in)`` or ``((|V_s|, F_s), (|V_t|, F_t))`` -> ``(|V_t|, F_out)``.

    >>> SAGEConv(-1, 8)(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]])).shape
    torch.Size([3, 8])
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int, aggr: Any = "mean",
                 normalize: bool = False, root_weight: bool = True, project: bool = False, bias: bool = True,
                 **kwargs: Any) -> None:
        c_src, c_dst = pair_channels(in_channels)
        if aggr == "lstm":  # PyG's default: the LSTM keeps the source width
            kwargs["aggr_kwargs"] = {"in_channels": c_src, "out_channels": c_src, **kwargs.get("aggr_kwargs", {})}
        super().__init__(aggr=aggr, **kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.normalize, self.root_weight, self.project = normalize, root_weight, project
        if project:  # projects the sources only, so a bipartite input may have any target width
            if c_src < 1:  # its output width is its input width, so it cannot wait for the input (as PyG)
                raise ValueError(f"SAGEConv(project=True) needs a known source width, got in_channels={in_channels}")
            self.lin = Linear(c_src, c_src, bias=True)
        aggr_in = c_src  # -1 (lazy) stays -1: lin_l reads the aggregated width, whatever the aggregation
        if isinstance(self.aggr_module, MultiAggregation) and c_src > 0:
            aggr_in = self.aggr_module.get_out_channels(c_src)
        self.lin_l = Linear(aggr_in, out_channels, bias=bias)
        if root_weight:
            self.lin_r = Linear(c_dst, out_channels, bias=False)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for name in ("lin", "lin_l", "lin_r"):
            if hasattr(self, name):
                getattr(self, name).reset_parameters()

    def forward(self, x: Union[Tensor, Tuple[Tensor, Optional[Tensor]]], adj: Any, size: Any = None,
                act: Optional[str] = None) -> Tensor:
        """``act="relu"`` applies a ReLU to the output in place (models pass it instead of a separate activation:
        one output-sized tensor less)."""
        check_act(act)
        x_src, x_dst = as_pair(x)
        if self.project:
            x_src = F.relu(self.lin(x_src))
        out = self.lin_l(self.propagate(adj, x=(x_src, x_dst), size=size))
        # in place only where no hook can hold lin_l's output or needs lin_r called
        in_place = direct_weights(self.lin_l, self.lin_r) if self.root_weight else direct_weights(self.lin_l)
        if self.root_weight and x_dst is not None:
            if in_place and x_dst.dim() == 2 and not is_lazy(self.lin_r.weight):
                # the root term accumulates into lin_l's fresh output (one GEMM with beta=1): no lin_r output
                # and no sum allocated, each [|V_t|, F_out] (10 MB at a sampled batch's 10k layer-1 targets)
                out = out.addmm_(x_dst, self.lin_r.weight.t())
            else:
                out = out + self.lin_r(x_dst)
        if self.normalize:
            out = F.normalize(out, p=2.0, dim=-1)
        if act is None:
            return out
        return out.relu_() if in_place or self.normalize else out.relu()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr})"
