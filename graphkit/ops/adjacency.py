r"""``Adjacency``: the one sparse-structure type of graphkit, and the one memo of data derived from it.

Every op (:func:`~graphkit.ops.spmm`, :func:`~graphkit.ops.sddmm`, :func:`~graphkit.ops.edge_softmax`) and every
layer runs on an ``Adjacency``. It holds

* ``edge_index`` in *message direction*: row 0 the sources :math:`j`, row 1 the targets :math:`i`;
* ``num_src`` / ``num_dst``: the sizes of the two node sets (equal unless bipartite);
* ``value``: optional stored values (a sparse matrix's entries), in ``edge_index`` order;

and, built lazily and kept in its memo, the CSR of incoming edges by target (``csr()``), the CSR of outgoing
edges by source (``csr_t()``), the in-degrees, and whatever a layer derives with :meth:`Adjacency.derived`
(GCN normalisation, self-loop structure, ...). CSR indices keep the dtype of ``edge_index`` (int32 stays int32).

Where an ``Adjacency`` comes from (:data:`graphkit.typing.AdjLike` is any of these):

* a ``Graph``/``Batch``: ``graph.adj``, cached on the graph and rebuilt when ``edge_index`` or ``num_nodes``
  changes, so every layer and every epoch share one CSR and one memo;
* a bare ``[2, E]`` tensor: :meth:`Adjacency.of`. One weak table, keyed on the tensor's identity, gives the same
  memo back while the tensor lives and is unchanged, so passing the same ``edge_index`` again does not re-sort;
* a torch-sparse ``SparseTensor`` or a ``torch.sparse`` matrix (PyG's transposed ``adj_t``): :meth:`from_adj`.

**When the memo is dropped.** Derived data is valid while ``edge_index`` is the same tensor with the same content.
An edit through torch (``ei[0, 3] = 5``) bumps the tensor's version counter, which is compared on every use (O(1)).
An edit that bypasses it (through ``.data``, ``.numpy()``, or another tensor sharing the storage) does not, so a
CPU structure also records a position-weighted checksum of ``edge_index`` (one pass over ``2E`` integers) when its
memo is first filled, and :meth:`Adjacency.stale` compares it. A bare tensor is checked on every
:meth:`Adjacency.of` (still far cheaper than the sort it saves); a ``Graph`` is checked by ``validate()``,
``to()`` and ``clone()``, not by every op: a per-use pass would cost up to a third of an ``F=16`` ``spmm``. On an
accelerator only the version counter is read (``.numpy()`` cannot write there; a checksum would synchronise).

>>> import torch
>>> adj = Adjacency.from_adj(torch.tensor([[0, 1, 2], [1, 2, 1]]), size=(3, 3))
>>> adj.spmm(torch.tensor([[1.0], [2.0], [4.0]])).view(-1).tolist()
[0.0, 5.0, 2.0]
>>> adj.degree().tolist()
[0, 2, 1]
>>> adj.derived("ones", lambda: torch.ones(adj.num_edges)) is adj.derived("ones", lambda: None)
True
"""
from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any, Callable, Dict, Optional, Protocol, Tuple, TypeVar, Union

import torch
from torch import Tensor

from graphkit.ops._checks import check_bounds, check_index, check_range, check_size

__all__ = ["Adjacency", "HasAdjacency", "structure_of", "resolve", "build_csr", "is_sparse_adj", "is_compiling",
           "check_bounds", "FLOWS", "CSR"]

CSR = Tuple[Tensor, Tensor, Tensor]
T = TypeVar("T")
FLOWS = ("source_to_target", "target_to_source")
_MISSING = object()


class HasAdjacency(Protocol):
    """Anything that carries its own cached structure as a property ``adj``: ``Graph`` and ``Batch`` (``ops``
    never imports them; :func:`structure_of` recognises them)."""

    @property
    def adj(self) -> "Adjacency": ...


def structure_of(obj: Any) -> Optional["Adjacency"]:
    """``obj`` itself if it is an :class:`Adjacency`, ``obj.adj`` if its class defines an ``adj`` property
    (a ``Graph``), else ``None``. (A class-level look-up: the property runs once, unlike a Protocol check.)"""
    if isinstance(obj, Adjacency):
        return obj
    if isinstance(getattr(type(obj), "adj", None), property):
        return obj.adj
    return None


def is_compiling() -> bool:
    """Inside ``torch.compile`` tracing: memo look-ups and data-dependent checks are skipped there."""
    return bool(getattr(torch, "compiler", None) and torch.compiler.is_compiling())


def is_sparse_adj(adj: Any) -> bool:
    """A torch-sparse ``SparseTensor`` or a ``torch.sparse`` matrix (both read as PyG's transposed ``adj_t``)."""
    if type(adj).__name__ == "SparseTensor" and hasattr(adj, "coo"):
        return True
    return isinstance(adj, Tensor) and adj.layout != torch.strided


def build_csr(rows: Tensor, cols: Tensor, num_rows: int, *, grouped: bool = False) -> CSR:
    """Group the pairs ``(rows[e], cols[e])`` by row: ``(rowptr [R+1], col [E], perm [E])``.

    ``perm[k]`` is the original position of the k-th grouped pair, so ``edge_attr[perm]`` lines up with ``col``.
    The sort is stable (pairs keep their input order inside a row), which keeps every reduction deterministic;
    torch's stable sort of a 1-D integer key is a radix sort, linear in E. Indices come back in the dtype of
    ``rows`` (int32 stays int32, which is what the kernels then read).

    ``grouped=True``: the caller guarantees ``rows`` is non-decreasing (the pairs are in CSR order already). Then
    nothing is sorted or copied: ``col`` *is* ``cols`` and ``perm`` is ``arange(E)``, which at 124M edges saves
    the sort's two ``[E]`` temporaries and the ``[E]`` gather of ``col``.
    """
    num_rows = check_size("num_nodes", num_rows)  # before bincount allocates num_rows counters (2**40: 8 TiB)
    try:
        counts = torch.bincount(rows, minlength=num_rows) if rows.numel() else rows.new_zeros(num_rows,
                                                                                              dtype=torch.long)
        rowptr = counts.new_zeros(num_rows + 1)
    except RuntimeError as exc:  # e.g. num_nodes=2**40: name the size rather than the allocator
        raise ValueError(f"a CSR over {num_rows} rows needs {8 * (num_rows + 1)} bytes for its row pointer, which "
                         f"cannot be allocated ({str(exc).splitlines()[0][:80]}); is num_nodes right?") from exc
    torch.cumsum(counts, 0, out=rowptr[1:])
    if grouped:
        perm, col = torch.arange(rows.numel(), device=rows.device, dtype=rows.dtype), cols
    else:
        perm = torch.sort(rows, stable=True).indices
        col = cols[perm]
    if rows.dtype == torch.int32:
        return rowptr.int(), col.int(), perm.int()
    return rowptr, col, perm


# ------------------------------------------------------------------------------------------- content stamps
def _version(t: Tensor) -> Optional[int]:
    try:
        return t._version
    except RuntimeError:  # tensors made under torch.inference_mode() have no version counter
        return None


_WEIGHTS: Dict[torch.dtype, Tensor] = {}
# Weights repeat every _BLOCK entries, each block scaled by its own odd multiplier: the table stays 8 MiB however
# long the tensor (a table as long as a 124M-edge edge_index was 2 GiB, held for the life of the process).
_BLOCK = 1 << 20
_MASK = (1 << 64) - 1


def _checksum(t: Tensor) -> Optional[int]:
    """A position-weighted sum (odd random weights, wrapping): any single changed entry changes it; CPU only.

    Entry ``k`` weighs ``w[k % B] * m[k // B]`` (mod 2**64) with odd ``w`` and odd per-block ``m``: the weight is
    odd, so a change ``d != 0`` of one entry changes the sum by ``d * odd != 0`` (mod 2**64).
    """
    if t.device.type != "cpu" or t.numel() == 0 or t.dtype not in (torch.int64, torch.int32):
        return None
    flat = t.reshape(-1)
    w = _WEIGHTS.get(t.dtype)
    if w is None:
        gen = torch.Generator().manual_seed(0x9E3779B9)
        w = (torch.randint(-2**31, 2**31 - 1, (_BLOCK,), generator=gen, dtype=torch.int64) | 1).to(t.dtype)
        _WEIGHTS[t.dtype] = w
    total = 0
    for b, start in enumerate(range(0, flat.numel(), _BLOCK)):
        part = flat[start:start + _BLOCK]
        total += int(torch.dot(part, w[: part.numel()])) * (0x9E3779B97F4A7C15 * (2 * b + 1) | 1)
    return total & _MASK


def _stamp(t: Tensor) -> Tuple[Optional[int], int, Optional[int]]:
    """``(version, storage address, checksum)``: equal stamps mean derived data is still valid."""
    return _version(t), t.data_ptr() if t.numel() else 0, _checksum(t)


class _Memo:
    """Derived values of one structure plus the stamp of the ``edge_index`` they were derived from."""

    __slots__ = ("values", "stamp")

    def __init__(self) -> None:
        self.values: Dict[Any, Any] = {}
        self.stamp: Optional[Tuple[Optional[int], int, Optional[int]]] = None


class _Entry:
    """The weak table's record of one bare ``edge_index``: its stamp, row bounds and one memo per size."""

    __slots__ = ("ref", "stamp", "lo", "hi", "memos")

    def __init__(self, ref: "weakref.ref[Tensor]", t: Tensor) -> None:
        self.ref, self.stamp = ref, _stamp(t)
        if t.numel():
            lo, hi = t.min(dim=1).values.tolist(), t.max(dim=1).values.tolist()  # one sync for both rows
        else:
            lo, hi = [0, 0], [-1, -1]
        self.lo, self.hi = lo, hi
        self.memos: Dict[Tuple[int, int], _Memo] = {}


# The single memo for bare tensors: id(edge_index) -> _Entry, dropped by a weakref callback when the tensor dies.
# Entries never hold the tensor itself. A derived value might (a layer's structure object that keeps its
# edge_index): then the tensor lives on, so the table also keeps only the most recently used _TABLE_SIZE tensors.
_TABLE: "OrderedDict[int, _Entry]" = OrderedDict()
_TABLE_SIZE = 16


def _forget(key: int) -> Callable[[Any], None]:
    # The table is bound now: at interpreter exit the module's globals are gone before the last tensors die.
    def drop(ref: Any, table: "OrderedDict[int, _Entry]" = _TABLE) -> None:
        entry = table.get(key)
        if entry is not None and entry.ref is ref:  # not a newer tensor that reused the id
            del table[key]

    return drop


class Adjacency:
    """See the module docstring. Build with :meth:`from_adj` or :meth:`of`, or read ``graph.adj``."""

    __slots__ = ("edge_index", "num_src", "num_dst", "value", "_memo", "__weakref__")

    def __init__(self, edge_index: Tensor, num_src: int, num_dst: int, value: Optional[Tensor] = None, *,
                 csr: Optional[CSR] = None, csr_in_order: bool = False) -> None:
        """A structure trusted as given (no bounds check: call :meth:`check_bounds`). ``csr`` seeds the memo
        with an incoming-edge CSR the caller already has (the sampler emits one); ``csr_in_order`` says that its
        ``perm`` is the identity, so :meth:`csr_eid` is ``None`` without the check (a prefix of a checked CSR)."""
        self.edge_index, self.num_src, self.num_dst = edge_index, int(num_src), int(num_dst)
        self.value = value
        self._memo = _Memo()
        if csr is not None:
            self._memo.values["csr"] = csr
            if csr_in_order:
                self._memo.values["csr_eid"] = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def of(cls, edge_index: Tensor, num_src: Optional[int] = None, num_dst: Optional[int] = None, *,
           src_bound: str = "num_nodes", dst_bound: str = "num_nodes") -> "Adjacency":
        """The structure of a bare ``edge_index [2, E]``, its memo shared by every call with the same tensor.

        Missing sizes are inferred (largest index + 1, or the other side's size). The bounds are checked here
        with the one wording (``edge_index[1] has index 17 but num_nodes is 12``; ``src_bound``/``dst_bound``
        name the bounds), from row minima and maxima computed once per tensor content.
        """
        ei = check_index("edge_index", edge_index)
        if ei.dim() != 2 or ei.size(0) != 2:
            raise ValueError(f"edge_index must have shape [2, E], got {list(ei.shape)}")
        if is_compiling():
            n_src, n_dst = _fill_sizes(num_src, num_dst, lambda: int(ei.max()) + 1 if ei.numel() else 0)
            return cls(ei, n_src, n_dst)
        key = id(ei)
        entry = _TABLE.get(key)
        if entry is None or entry.ref() is not ei or entry.stamp != _stamp(ei):
            entry = _Entry(weakref.ref(ei, _forget(key)), ei)
            _TABLE[key] = entry
            if len(_TABLE) > _TABLE_SIZE:
                _TABLE.popitem(last=False)
        else:
            _TABLE.move_to_end(key)
        n_src, n_dst = _fill_sizes(num_src, num_dst, lambda: max(entry.hi) + 1)
        n_src, n_dst = check_size(src_bound, n_src), check_size(dst_bound, n_dst)  # before any allocation
        for row, bound, what in ((0, n_src, src_bound), (1, n_dst, dst_bound)):
            check_range(f"edge_index[{row}]", entry.lo[row], entry.hi[row], bound, what)
        out = cls(ei, n_src, n_dst)
        out._memo = entry.memos.setdefault((n_src, n_dst), out._memo)
        if out._memo.stamp is None:
            out._memo.stamp = entry.stamp
        return out

    @staticmethod
    def unpack(adj: Any) -> Tuple[Tensor, Optional[Tensor], Optional[Tuple[int, int]], Optional["Adjacency"]]:
        """``(edge_index [2, E] as (source, target), value or None, (num_src, num_dst) or None, structure or
        None)``; the structure is the cached one of a ``Graph``/``Batch`` or an ``Adjacency`` passed in."""
        a = structure_of(adj)
        if a is not None:
            return a.edge_index, a.value, (a.num_src, a.num_dst), a
        if is_sparse_adj(adj):
            if isinstance(adj, Tensor):  # torch.sparse, adj_t[target, source]
                coo = adj.to_sparse_coo().coalesce()
                row, col = coo.indices()
                value = coo.values()
                n_dst, n_src = int(adj.size(0)), int(adj.size(1))
            else:  # torch_sparse.SparseTensor, adj_t[target, source]
                row, col, value = adj.coo()
                n_dst, n_src = int(adj.sparse_size(0)), int(adj.sparse_size(1))
            return torch.stack([col, row]), value, (n_src, n_dst), None
        if not isinstance(adj, Tensor):
            raise TypeError(
                f"adj must be an edge_index tensor, a graphkit.Graph or a SparseTensor, got {type(adj).__name__}"
            )
        if adj.is_floating_point() or adj.dtype == torch.bool or adj.dim() != 2 or adj.size(0) != 2:
            raise ValueError(f"edge_index must be an integer tensor of shape [2, E], got {adj.dtype} {list(adj.shape)}")
        return (adj if adj.dtype == torch.long else adj.long()), None, None, None

    @classmethod
    def from_adj(cls, adj: Any, size: Optional[Tuple[Optional[int], Optional[int]]] = None,
                 flow: str = "source_to_target") -> "Adjacency":
        """Resolve any :data:`~graphkit.typing.AdjLike`; ``size`` = ``(num_src, num_dst)`` with either side
        possibly ``None`` (then inferred). ``flow="target_to_source"`` reverses the edges (memoised)."""
        if flow not in FLOWS:
            raise ValueError(f"flow must be one of {FLOWS}, got {flow!r}")
        n_src, n_dst = size if size is not None else (None, None)
        ei, value, known, struct = cls.unpack(adj)
        if known is not None:
            for what, given, have in (("source", n_src, known[0]), ("target", n_dst, known[1])):
                if given is not None and given != have:
                    raise ValueError(f"the node features have {given} rows but adj has {have} {what} nodes")
        if struct is None and value is None:  # a bare edge_index: the shared per-tensor memo
            if flow == "target_to_source":
                n_src, n_dst = n_dst, n_src
            out = cls.of(ei, n_src, n_dst, src_bound="the number of source nodes",
                         dst_bound="the number of target nodes")
            return out.reversed() if flow == "target_to_source" else out
        if struct is None:
            assert known is not None
            struct = cls(ei, known[0], known[1], value)
        return struct.reversed() if flow == "target_to_source" else struct

    def reversed(self) -> "Adjacency":
        """The same edges in the other direction (``flow="target_to_source"``), memoised on this structure."""
        return self.derived("reversed", lambda: Adjacency(self.edge_index.flip(0), self.num_dst, self.num_src,
                                                          self.value))

    def check_bounds(self, src_bound: str = "num_nodes", dst_bound: str = "num_nodes") -> "Adjacency":
        """Raise ``ValueError`` unless every source is in ``[0, num_src)`` and every target in ``[0, num_dst)``."""
        if self.edge_index.numel():
            lo, hi = self.edge_index.min(dim=1).values.tolist(), self.edge_index.max(dim=1).values.tolist()
            for row, bound, what in ((0, self.num_src, src_bound), (1, self.num_dst, dst_bound)):
                check_range(f"edge_index[{row}]", lo[row], hi[row], bound, what)
        return self

    # ------------------------------------------------------------------ memo
    def derived(self, key: Any, build: Callable[[], T]) -> T:
        """``build()`` once per structure: later calls with the same ``key`` return the first result.

        The value lives as long as the structure (a ``Graph``'s, or a bare tensor's) and is dropped with
        everything else derived when ``edge_index`` changes. Put every input that changes the result into
        ``key`` (e.g. ``("gcn_norm", improved, dtype)``), and never return something that holds the
        ``edge_index`` itself or this object (that would keep a bare tensor alive).
        """
        memo = self._memo
        hit = memo.values.get(key, _MISSING)
        if hit is _MISSING:
            hit = build()
            if not is_compiling():
                if memo.stamp is None:
                    memo.stamp = _stamp(self.edge_index)
                memo.values[key] = hit
        return hit  # type: ignore[return-value]

    def has(self, key: Any) -> bool:
        """Whether ``key`` is in the memo already (``"csr"``, ``"csr_t"``, or a layer's key)."""
        return key in self._memo.values

    def stale(self) -> bool:
        """Whether ``edge_index`` changed since the memo was filled (then nothing derived may be used)."""
        memo = self._memo
        if not memo.values or is_compiling():
            return False
        if memo.stamp is None:  # seeded by a trusted builder: take the content as it is now
            memo.stamp = _stamp(self.edge_index)
            return False
        return memo.stamp != _stamp(self.edge_index)

    def transfer(self, edge_index: Tensor, fn: Callable[[Tensor], Tensor]) -> "Adjacency":
        """The structure of ``edge_index`` (``fn`` applied to this one's), its CSRs carried over through ``fn``
        (so ``graph.to(device)`` does not rebuild them); other derived values are recomputed where needed."""
        out = Adjacency(edge_index, self.num_src, self.num_dst, None if self.value is None else fn(self.value))
        if self.has("csr") and self.device.type == "cpu" and not is_compiling():
            self.csr_eid()  # free here (no device sync), and carried: a sampled batch moved to a GPU never checks
        for key in ("csr", "csr_t", "csr_eid"):
            if key in self._memo.values:
                v = self._memo.values[key]
                out._memo.values[key] = None if v is None else tuple(fn(t) for t in v) if key != "csr_eid" else fn(v)
        return out

    # ------------------------------------------------------------------ views
    @property
    def src(self) -> Tensor:
        """Source node :math:`j` of every edge ``[E]``."""
        return self.edge_index[0]

    @property
    def dst(self) -> Tensor:
        """Target node :math:`i` of every edge ``[E]`` (the ``index`` aggregations group by)."""
        return self.edge_index[1]

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.size(1))

    @property
    def device(self) -> torch.device:
        return self.edge_index.device

    def csr(self) -> CSR:
        """Incoming edges grouped by target: ``(rowptr [num_dst+1], col [E] = sources, perm [E] = edge ids)``."""
        fresh = not self.has("csr")
        csr = self.derived("csr", self._build_csr)
        if fresh:
            self.csr_eid()  # with the build (which syncs on a GPU anyway): no op needs a sync for it later
        return csr

    def _build_csr(self) -> CSR:
        return build_csr(self.dst, self.src, self.num_dst)

    def csr_eid(self) -> Optional[Tensor]:
        """``csr()``'s ``perm`` as the kernels' edge-id argument, or ``None`` when it is the identity (the edges
        are already grouped by target, as the samplers emit them). With ``None`` the kernels read and write
        per-edge tensors (weights, scores, attention) at their CSR position, coalesced, instead of through a
        permutation (CUDA review P9). Checked once per structure: one pass over ``perm``, one host sync on a GPU;
        inside ``torch.compile`` an unchecked structure keeps ``perm`` (always correct)."""

        def build() -> Optional[Tensor]:
            perm = self.derived("csr", self._build_csr)[2]
            if is_compiling():
                return perm
            ident = torch.arange(perm.numel(), device=perm.device, dtype=perm.dtype)
            return None if bool(torch.equal(perm, ident)) else perm

        return self.derived("csr_eid", build)

    def csr_t(self) -> CSR:
        """Outgoing edges grouped by source: ``(rowptr [num_src+1], col [E] = targets, perm [E] = edge ids)``."""
        return self.derived("csr_t", lambda: build_csr(self.src, self.dst, self.num_src))

    def kernel_weights(self, w: Optional[Tensor], transpose: bool = False) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        """``(eid, weight)`` for a kernel that walks ``csr()`` (``csr_t()`` when ``transpose``) and reads the
        per-edge weights ``w [E, H]`` (edge order; ``None``: no weights): ``(perm, w)``, which the kernel reads as
        ``w[perm[k]]``, or ``(None, w[perm])``, the weights already in the walk's order.

        Why: a random read ``w[perm[k]]`` per edge cost a third of an ``F=16``/``F=64`` sum on a 2M-edge graph, and
        the weights of GCN-style layers (``gcn_norm``'s, memoised on the structure) are the same tensor every
        call. So a constant ``w`` (no gradient, one weight per edge, not inside ``torch.compile``) is permuted
        once and kept: one slot per direction, keyed on the tensor (its base's identity, version counter, offset,
        shape and strides, and a checksum of its values, for writes the version counter misses), replaced when
        another ``w`` comes, dropped with the rest of the memo.

        >>> adj = Adjacency(torch.tensor([[0, 1, 2], [2, 0, 1]]), 3, 3)
        >>> w = torch.tensor([[1.0], [2.0], [3.0]])
        >>> eid, ordered = adj.kernel_weights(w)
        >>> eid is None, ordered.view(-1).tolist()  # targets 0, 1, 2 receive edges 1, 2, 0
        (True, [2.0, 3.0, 1.0])
        """
        if w is None:
            return None, None
        perm = self.csr_t()[2] if transpose else self.csr_eid()
        if perm is None:
            return None, w
        if w.requires_grad or w.dim() != 2 or w.size(1) != 1 or is_compiling() or _version(w) is None:
            return perm, w
        # the version counter misses writes through .data or numpy: the checksum of w's bits catches those too
        # (one pass over E values, against the E random reads it saves per product)
        bits = {4: torch.int32, 8: torch.int64}.get(w.element_size())
        total = _checksum(w.view(bits)) if bits is not None else None
        if total is None:  # half precision or a non-CPU tensor: no checksum, so no cache
            return perm, w
        root = w if w._base is None else w._base
        key = (_version(w), w.storage_offset(), tuple(w.shape), w.stride(), w.dtype, w.device, total)
        slot = ("kernel_weights", transpose)
        hit = self._memo.values.get(slot)
        if hit is not None and hit[0]() is root and hit[1] == key:
            return None, hit[2]
        ordered = w.index_select(0, perm)
        memo = self._memo
        if memo.stamp is None:  # as derived() does: what the memo's values were derived from
            memo.stamp = _stamp(self.edge_index)
        memo.values[slot] = (weakref.ref(root), key, ordered)
        return None, ordered

    def degree(self, dtype: Optional[torch.dtype] = None) -> Tensor:
        """In-degree of every target ``[num_dst]``, read off the CSR."""
        rowptr = self.csr()[0]
        deg = rowptr[1:] - rowptr[:-1]
        return deg if dtype is None else deg.to(dtype)

    # ------------------------------------------------------------------ fused ops
    def reduce_messages(self, msg: Tensor, reduce: str) -> Tensor:
        """Reduce per-edge messages ``[E, *]`` (edge order) per target: a segment over the CSR (no sort)."""
        from graphkit.ops.scatter import segment

        rowptr, _, perm = self.csr()
        return segment(msg.index_select(0, perm), rowptr, reduce=reduce)

    def spmm(self, x: Tensor, edge_weight: Optional[Tensor] = None, reduce: str = "sum", *,
             diag: Optional[Tensor] = None, bias: Optional[Tensor] = None, act: Optional[str] = None) -> Tensor:
        r""":math:`\mathrm{out}_i = \mathrm{reduce}_{j \to i}\, w_{ji} x_j` (then ``spmm``'s epilogue: ``diag``,
        ``bias``, ``act``) through :func:`graphkit.ops.spmm`."""
        from graphkit.ops.spmm import spmm

        return spmm(self, x, edge_weight, reduce=reduce, diag=diag, bias=bias, act=act)

    def sddmm(self, a_dst: Tensor, b_src: Tensor, op: str = "dot") -> Tensor:
        """Per edge ``(j -> i)``: ``op(a_dst[i], b_src[j])`` through :func:`graphkit.ops.sddmm`."""
        from graphkit.ops.sddmm import sddmm

        return sddmm(self, a_dst, b_src, op=op)

    def edge_softmax(self, scores: Tensor) -> Tensor:
        """Softmax of ``[E]``/``[E, H]`` scores over each target's incoming edges."""
        from graphkit.ops.softmax import edge_softmax

        return edge_softmax(self, scores)

    def __repr__(self) -> str:
        return f"Adjacency(num_edges={self.num_edges}, size=({self.num_src}, {self.num_dst}))"


def _fill_sizes(num_src: Optional[int], num_dst: Optional[int], infer: Callable[[], int]) -> Tuple[int, int]:
    if num_src is None and num_dst is None:
        num_src = num_dst = infer()
    num_src = num_dst if num_src is None else num_src
    num_dst = num_src if num_dst is None else num_dst
    return int(num_src), int(num_dst)  # type: ignore[arg-type]


def resolve(adj: Union[Adjacency, HasAdjacency, Tensor], num_src: Optional[int], num_dst: Optional[int],
            device: torch.device, src_name: str = "x") -> Adjacency:
    """What every op calls first: the :class:`Adjacency` of ``adj``, checked against the operands.

    ``num_src``: rows of the source-side operand ``src_name``; ``num_dst``: the number of targets (``None``:
    ``num_src``). A structure (``Adjacency``, ``Graph``) was checked when it was built: only its sizes and
    device are compared here, no pass over the edges.
    """
    a = structure_of(adj)
    if a is not None:
        what = "the graph has num_nodes" if not isinstance(adj, Adjacency) else "adj has"
        if num_src is not None and num_src != a.num_src:
            if isinstance(adj, Adjacency):
                raise ValueError(f"{src_name} has {num_src} rows but adj has {a.num_src} source nodes")
            raise ValueError(f"{src_name} has {num_src} rows but {what} {a.num_src}")
        if num_dst is not None and num_dst != a.num_dst:
            if isinstance(adj, Adjacency):
                raise ValueError(f"num_nodes is {num_dst} but adj has {a.num_dst} target nodes")
            raise ValueError(f"num_nodes is {num_dst} but {what} {a.num_dst}")
        if a.device != device:
            raise ValueError(f"the graph is on {a.device} but {src_name} is on {device}")
        return a
    ei = check_index("edge_index", adj)
    if ei.dim() != 2 or ei.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {list(ei.shape)}")
    if ei.device != device:
        raise ValueError(f"edge_index is on {ei.device} but {src_name} is on {device}")
    src_bound = "num_nodes" if num_dst in (None, num_src) else f"{src_name}.size(0)"
    return Adjacency.of(ei, num_src, num_dst, src_bound=src_bound)  # sizes not given are inferred
