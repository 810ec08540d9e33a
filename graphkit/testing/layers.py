"""Layer checks that graphkit ships: parity with a PyG layer, and permutation equivariance.

>>> import torch
>>> from graphkit import Graph
>>> from graphkit.nn import GraphConv
>>> g = random_graph(6, 12, 3, seed=0)
>>> assert_permutation_equivariant(GraphConv(3, 2).double(), g)
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

import torch
from torch import Tensor

from graphkit.graph import Graph

__all__ = ["assert_matches_pyg", "assert_permutation_equivariant", "random_graph", "tolerance"]

Call = Callable[[torch.nn.Module, Dict[str, Any]], Tensor]


def tolerance(dtype: torch.dtype) -> float:
    """The parity tolerance of the project: 1e-10 in float64, 1e-5 in float32."""
    return 1e-10 if dtype == torch.float64 else 1e-5


def random_graph(num_nodes: int, num_edges: int, channels: int, seed: int = 0, dtype: torch.dtype = torch.float64,
                 edge_dim: Optional[int] = None, weighted: bool = False, self_loops: bool = True) -> Graph:
    """A random directed multigraph with features (and optional ``edge_attr`` / ``edge_weight``)."""
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, max(num_nodes, 1), (2, num_edges if num_nodes else 0), generator=gen)
    if not self_loops:
        ei = ei[:, ei[0] != ei[1]]
    fields: Dict[str, Any] = {}
    if edge_dim is not None:
        fields["edge_attr"] = torch.randn(ei.size(1), edge_dim, generator=gen, dtype=dtype)
    if weighted:
        fields["edge_weight"] = torch.rand(ei.size(1), generator=gen, dtype=dtype) + 0.1
    x = torch.randn(num_nodes, channels, generator=gen, dtype=dtype)
    return Graph(x=x, edge_index=ei, num_nodes=num_nodes, **fields)


def _leaves(inputs: Dict[str, Any]) -> Dict[str, Any]:
    """Fresh copies of the inputs; floating tensors become leaves that record gradients."""
    def leaf(v: Any) -> Any:
        if isinstance(v, Tensor) and v.is_floating_point():
            return v.detach().clone().requires_grad_(True)
        if isinstance(v, tuple):
            return tuple(leaf(u) for u in v)
        return v

    return {k: leaf(v) for k, v in inputs.items()}


def _grads(inputs: Dict[str, Any]) -> Dict[str, Optional[Tensor]]:
    out: Dict[str, Optional[Tensor]] = {}
    for k, v in inputs.items():
        vs = v if isinstance(v, tuple) else (v,)
        for i, u in enumerate(vs):
            if isinstance(u, Tensor) and u.requires_grad:
                out[f"{k}[{i}]" if isinstance(v, tuple) else k] = u.grad
    return out


def _close(what: str, ours: Optional[Tensor], theirs: Optional[Tensor], tol: float) -> None:
    if ours is None or theirs is None:
        zero = lambda t: t is None or bool((t == 0).all())  # noqa: E731  (no gradient == zero gradient)
        assert zero(ours) and zero(theirs), f"{what}: one side has a gradient, the other has none"
        return
    assert ours.shape == theirs.shape, f"{what}: shape {list(ours.shape)} != PyG's {list(theirs.shape)}"
    err = (ours.double() - theirs.double()).abs().max().item() if ours.numel() else 0.0
    scale = max(1.0, theirs.double().abs().max().item() if theirs.numel() else 0.0)
    assert err <= tol * scale, f"{what}: max abs difference {err:.3e} > {tol:.0e} (scale {scale:.3g})"


def assert_matches_pyg(
    layer: torch.nn.Module,
    pyg_layer: torch.nn.Module,
    graph: Graph,
    *,
    inputs: Optional[Dict[str, Any]] = None,
    call: Optional[Call] = None,
    pyg_call: Optional[Call] = None,
    dtype: torch.dtype = torch.float64,
    tol: Optional[float] = None,
    load_state: bool = True,
    seed: int = 0,
) -> Tuple[Tensor, Tensor]:
    """Load ``pyg_layer``'s state_dict into ``layer`` (strict: same names and shapes), run both, and compare the
    outputs and the gradients of every input and parameter (float64: 1e-10, float32: 1e-5, relative to the
    magnitude when it exceeds 1).

    By default the layers are called as ``layer(x, graph)`` and ``pyg_layer(x, graph.edge_index)``; ``inputs``
    (default ``{"x": graph.x}``) names the floating inputs whose gradients are compared, and ``call`` /
    ``pyg_call`` take ``(module, inputs)`` for any other signature. Returns ``(ours, theirs)``.
    """
    layer = layer.to(dtype)
    pyg_layer = pyg_layer.to(dtype)
    if load_state:
        layer.load_state_dict(pyg_layer.state_dict(), strict=True)
    inputs = dict(inputs) if inputs is not None else {"x": graph.x}
    cast = lambda v: v.to(dtype) if isinstance(v, Tensor) and v.is_floating_point() else v  # noqa: E731
    inputs = {k: tuple(cast(u) for u in v) if isinstance(v, tuple) else cast(v) for k, v in inputs.items()}
    call = call or (lambda m, kw: m(kw["x"], graph))
    pyg_call = pyg_call or (lambda m, kw: m(kw["x"], graph.edge_index))
    ours_in, theirs_in = _leaves(inputs), _leaves(inputs)
    ours, theirs = call(layer, ours_in), pyg_call(pyg_layer, theirs_in)
    tol = tolerance(dtype) if tol is None else tol
    _close("forward", ours, theirs, tol)
    gen = torch.Generator().manual_seed(seed)
    probe = torch.randn(ours.shape, generator=gen, dtype=torch.float64).to(dtype)
    (ours * probe).sum().backward()
    (theirs * probe).sum().backward()
    theirs_grads = _grads(theirs_in)
    for name, g in _grads(ours_in).items():
        _close(f"grad of input {name}", g, theirs_grads[name], tol)
    pyg_params = dict(pyg_layer.named_parameters())
    for name, p in layer.named_parameters():
        _close(f"grad of parameter {name}", p.grad, pyg_params[name].grad, tol)
    return ours.detach(), theirs.detach()


def assert_permutation_equivariant(
    layer: torch.nn.Module,
    graph: Graph,
    *,
    call: Optional[Callable[[torch.nn.Module, Tensor, Graph], Tensor]] = None,
    seed: int = 0,
    tol: Optional[float] = None,
) -> None:
    """``layer(P x, P A P^T) == P layer(x, A)``: relabel the nodes at random, shuffle the edge order too.

    ``call(layer, x, graph)`` defaults to ``layer(x, graph)``; node-level outputs only.
    """
    call = call or (lambda m, x, g: m(x, g))
    gen = torch.Generator().manual_seed(seed)
    n = graph.num_nodes
    perm = torch.randperm(n, generator=gen)  # new node k is old node perm[k]
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(n)
    edge_order = torch.randperm(graph.num_edges, generator=gen)
    fields: Dict[str, Any] = {}
    for name in graph.keys():
        value = getattr(graph, name)
        kind = graph.kind(name)
        if kind == "node":
            fields[name] = value[perm]
        elif kind == "edge":
            fields[name] = value[edge_order]
    ei = inverse[graph.edge_index][:, edge_order]
    permuted = Graph(edge_index=ei, num_nodes=n, **fields)
    layer.eval()
    with torch.no_grad():
        out = call(layer, graph.x, graph)
        out_p = call(layer, permuted.x, permuted)
    tol = tolerance(out.dtype) if tol is None else tol
    err = (out[perm] - out_p).abs().max().item() if out.numel() else 0.0
    scale = max(1.0, out.abs().max().item() if out.numel() else 0.0)
    assert err <= tol * scale, f"not permutation equivariant: max difference {err:.3e}"
