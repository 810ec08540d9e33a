r"""ARMAConv (Bianchi et al., "Graph Neural Networks with Convolutional ARMA Filters")."""
from __future__ import annotations

from typing import Any, Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.parameter import UninitializedParameter, is_lazy

from graphkit.nn.conv.gcn import gcn_norm
from graphkit.nn.inits import glorot, zeros
from graphkit.nn.message_passing import MessagePassing

__all__ = ["ARMAConv"]


class ARMAConv(MessagePassing):
    r"""An ARMA filter as ``num_stacks`` parallel recursive stacks of depth ``num_layers``, averaged:

    .. math::
        \mathbf{X}^{\prime} = \frac{1}{K} \sum_{k=1}^K \mathbf{X}_k^{(T)}, \qquad
        \mathbf{X}_k^{(t+1)} = \sigma\left( \mathbf{\hat{L}} \mathbf{X}_k^{(t)} \mathbf{W}^{(t)} + \mathbf{X}^{(0)}
        \mathbf{V}^{(t)} \right)

    with :math:`\mathbf{\hat{L}} = \mathbf{D}^{-1/2} \mathbf{A} \mathbf{D}^{-1/2}` (no self-loops), the first
    weight :math:`\mathbf{W}^{(0)}` mapping ``in_channels`` to ``out_channels``, and dropout on the skip input.
    Same arguments and parameters (``init_weight``, ``weight``, ``root_weight``, ``bias``) as PyG's
    ``ARMAConv``, including lazy ``in_channels=-1``; the K stacks are propagated together in one fused ``spmm``.

    Shapes:
        x ``(|V|, F_in)``, adj, edge_weight ``(|E|)`` -> ``(|V|, F_out)``.

    >>> ARMAConv(3, 4, num_stacks=2, num_layers=2)(torch.randn(5, 3), torch.tensor([[0, 1], [1, 2]])).shape
    torch.Size([5, 4])
    """

    fused_weight = "edge_weight"

    def __init__(self, in_channels: int, out_channels: int, num_stacks: int = 1, num_layers: int = 1,
                 shared_weights: bool = False, act: Optional[Callable] = torch.nn.ReLU(), dropout: float = 0.0,
                 bias: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.num_stacks, self.num_layers = num_stacks, num_layers
        self.act, self.shared_weights, self.dropout = act, shared_weights, dropout
        K, T, F_out = num_stacks, 1 if shared_weights else num_layers, out_channels
        self.weight = torch.nn.Parameter(torch.empty(max(1, T - 1), K, F_out, F_out))
        if in_channels > 0:
            self.init_weight: Any = torch.nn.Parameter(torch.empty(K, in_channels, F_out))
            self.root_weight: Any = torch.nn.Parameter(torch.empty(T, K, in_channels, F_out))
        else:
            self.init_weight = UninitializedParameter()
            self.root_weight = UninitializedParameter()
            self._register_load_state_dict_pre_hook(self._materialize_from_state)
        self.bias = torch.nn.Parameter(torch.empty(T, K, 1, F_out)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        glorot(self.weight)
        if not is_lazy(self.init_weight):
            glorot(self.init_weight)
            glorot(self.root_weight)
        zeros(self.bias)

    def _materialize(self, f_in: int, like: Tensor, num_roots: Optional[int] = None) -> None:
        K, T = self.num_stacks, num_roots or self.root_weight_count
        self.init_weight.materialize((K, f_in, self.out_channels), dtype=like.dtype, device=like.device)
        self.root_weight.materialize((T, K, f_in, self.out_channels), dtype=like.dtype, device=like.device)
        self.in_channels = f_in
        glorot(self.init_weight)
        glorot(self.root_weight)

    @property
    def root_weight_count(self) -> int:
        return 1 if self.shared_weights else self.num_layers

    def _materialize_from_state(self, state_dict: Any, prefix: str, *args: Any) -> None:
        w = state_dict.get(prefix + "init_weight")
        if w is not None and is_lazy(self.init_weight):
            # A lazily built PyG layer holds max(2, T) root weights (only the first T are used); take its count so
            # that its state_dict loads.
            root = state_dict.get(prefix + "root_weight")
            self._materialize(w.size(1), w, root.size(0) if root is not None else None)

    def forward(self, x: Tensor, adj: Any, edge_weight: Optional[Tensor] = None) -> Tensor:
        if is_lazy(self.init_weight):
            with torch.no_grad():
                self._materialize(x.size(-1), x)
        adj_ = self.adjacency(adj, x=x)
        adj_, w, _ = gcn_norm(adj_, edge_weight, False, False, x.dtype)
        n, K = x.size(0), self.num_stacks
        out = x.unsqueeze(1)  # [N, 1, F_in]: the K stacks live in dim 1 (nodes stay in dim 0 for spmm)
        for t in range(self.num_layers):
            weight = self.init_weight if t == 0 else self.weight[0 if self.shared_weights else t - 1]
            out = torch.einsum("nkf,kfo->nko", out.expand(n, K, out.size(-1)), weight)
            out = self.propagate(adj_, x=out.reshape(n, -1), edge_weight=w).view(n, K, -1)
            root = F.dropout(x, p=self.dropout, training=self.training)
            out = out + torch.einsum("nf,kfo->nko", root, self.root_weight[0 if self.shared_weights else t])
            if self.bias is not None:
                out = out + self.bias[0 if self.shared_weights else t].view(1, K, -1)
            if self.act is not None:
                out = self.act(out)
        return out.mean(dim=1)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, num_stacks={self.num_stacks}, "
                f"num_layers={self.num_layers})")
