"""Models by name for ``graphkit train``: an input encoder, a ``graphkit.nn.models`` GNN, and pooling.

Input encoding depends on what the data set has:

* float node features ``x [N, F]`` pass through;
* integer features ``x [N, C]`` (ogbg-mol atom types, ...) become ``sum_c Emb_c(x[:, c])`` with one table per
  column, sized from the data (ogb's AtomEncoder, without hard-coding the molecule vocabulary);
* no features (ogbl-ddi, ogbl-connectome) become a learned embedding per node id.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Union

from torch import Tensor, nn

__all__ = ["BUILDERS", "NEEDS_STRUCTURE", "register_model", "build_gnn", "NodeInput", "global_pool"]

# A builder makes the GNN backbone: ``builder(in_channels, hidden_channels, num_layers, out_channels, dropout)``.
ModelBuilder = Callable[[int, int, int, int, float], nn.Module]

# ``--model`` name -> a builder, or the name of a class in graphkit.nn.models with PyG BasicGNN-style
# constructors (imported on first use, so that the registry costs nothing at start-up)
BUILDERS: Dict[str, Union[str, ModelBuilder]] = {"gcn": "GCN", "sage": "GraphSAGE", "graphsage": "GraphSAGE",
                                                 "gin": "GIN", "gat": "GAT", "gatv2": "GAT",
                                                 "transformer": "GraphTransformer", "pna": "PNA",
                                                 "edgecnn": "EdgeCNN"}
# extra constructor arguments of the built-in names
_EXTRA: Dict[str, Dict[str, Any]] = {
    "gatv2": {"v2": True},
    # the PNA paper's aggregators and scalers (PyG's examples use the same); deg comes from the training graph
    "pna": {"aggregators": ["mean", "min", "max", "std"], "scalers": ["identity", "amplification", "attenuation"]},
}
# built-in names whose constructor needs the training structure (PNA: its in-degree histogram)
NEEDS_STRUCTURE = ("pna",)
# attention heads of the attention stacks (hidden layers concatenate hidden // HEADS channels per head)
HEADS = 4


def register_model(name: str, builder: Optional[ModelBuilder] = None) -> Callable[[ModelBuilder], ModelBuilder]:
    """Make ``--model name`` (``TrainConfig.model``) build ``builder(in, hidden, layers, out, dropout)``.

    Usable as a decorator; registering an existing name replaces it.

    >>> from torch import nn
    >>> _ = register_model("mlp2", lambda i, h, layers, o, p: nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, o)))
    >>> build_gnn("mlp2", 3, 8, 2, 4, 0.0)[-1].out_features
    4
    >>> del BUILDERS["mlp2"]
    """
    def add(b: ModelBuilder) -> ModelBuilder:
        if not callable(b):
            raise TypeError(f"register_model({name!r}, ...) needs a callable builder, got {b!r}")
        BUILDERS[name.lower()] = b
        return b

    if builder is not None:
        add(builder)
    return add


def build_gnn(name: str, in_channels: int, hidden: int, layers: int, out_channels: int, dropout: float,
              structure: Any = None) -> nn.Module:
    """The registered model ``name`` (``graphkit.nn.models.<GCN|GraphSAGE|GIN|GAT|GraphTransformer|PNA|EdgeCNN>``
    for the built-in names; the attention stacks get ``HEADS`` heads when ``hidden`` divides by it).

    ``structure``: the graph (or graphs) the model is trained on; ``pna`` sizes its degree scalers from its
    in-degree histogram (:meth:`graphkit.nn.PNAConv.get_degree_histogram`) and needs it."""
    key = name.lower()
    if key in NEEDS_STRUCTURE and structure is None:
        raise ValueError(f"model {name!r} needs the training graph's degrees; this task does not provide them")
    if key not in BUILDERS:
        raise ValueError(f"model must be one of {', '.join(sorted(BUILDERS))}, got {name!r}")
    entry = BUILDERS[key]
    if callable(entry):
        return entry(in_channels, hidden, layers, out_channels, dropout)
    try:
        from graphkit.nn import models
    except ImportError as exc:  # the operators are a separate part of the library; say which one is missing
        raise ImportError(f"model {name!r} needs graphkit.nn.models ({exc})") from None
    cls = getattr(models, entry)
    kwargs = dict(_EXTRA.get(key, {}))
    if key in ("gat", "gatv2", "transformer"):
        kwargs["heads"] = HEADS if hidden % HEADS == 0 else 1
    if key == "pna":
        from graphkit.nn import PNAConv

        kwargs["deg"] = PNAConv.get_degree_histogram(structure)
    return cls(in_channels=in_channels, hidden_channels=hidden, num_layers=layers, out_channels=out_channels,
               dropout=dropout, **kwargs)


class NodeInput(nn.Module):
    r"""Turn whatever node input a data set has into ``[N, F_out]`` floats.

    .. math::
        h_v = x_v \;\text{(float)}, \qquad h_v = \sum_c E_c[x_{v,c}] \;\text{(integer)}, \qquad h_v = E[v]
        \;\text{(none)}

    Shapes:
        input: ``x`` ``(|V|, F)`` float, ``(|V|, C)`` integer, or ``None`` with ``num_nodes``
        output: ``(|V|, out_channels)``
    """

    def __init__(self, x: Optional[Tensor], num_nodes: int, hidden: int, vocab: Optional[List[int]] = None):
        super().__init__()
        self.mode = "none" if x is None else ("int" if not x.is_floating_point() else "float")
        if self.mode == "float":
            self.out_channels = x.size(-1)
        else:
            self.out_channels = hidden
            sizes = [num_nodes] if self.mode == "none" else (vocab or (x.max(0).values + 1).tolist())
            self.tables = nn.ModuleList(nn.Embedding(int(s), hidden) for s in sizes)
            for t in self.tables:
                nn.init.xavier_uniform_(t.weight)

    def forward(self, x: Optional[Tensor], num_nodes: int, n_id: Optional[Tensor] = None) -> Tensor:
        """``n_id``: global ids of a sampled sub-graph's nodes (only used for featureless graphs)."""
        if self.mode == "float":
            return x
        if self.mode == "none":
            return self.tables[0].weight[:num_nodes] if n_id is None else self.tables[0](n_id)
        x = x.view(x.size(0), -1)
        return sum(t(x[:, c]) for c, t in enumerate(self.tables))


def global_pool(x: Tensor, batch: Tensor, num_graphs: int, reduce: str = "mean") -> Tensor:
    """Readout ``[N, F] -> [B, F]``: graphkit.nn.pool when present, the scatter kernel it wraps otherwise."""
    try:
        from graphkit.nn import pool

        return getattr(pool, f"global_{'add' if reduce == 'sum' else reduce}_pool")(x, batch, num_graphs)
    except (ImportError, AttributeError):
        from graphkit.ops import scatter

        return scatter(x, batch, dim_size=num_graphs, reduce=reduce)
