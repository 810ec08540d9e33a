"""The edge cases of the CUDA review as data, shared by ``tests/cuda`` and ``tools/gpu_check.py``.

Every CUDA op is compared with a reference run of the same primitive: the CPU extension on the same inputs
(float16/bfloat16 inputs are rounded first and the reference runs in float64), or, in a dry run without a GPU,
the pure-torch backend against the CPU extension. Cases cover hubs (rows longer than the split threshold of
the CUDA kernels), empty rows, zero edges, N = 0, feature tails (H*F not a multiple of 32 or 64), heads,
int32/int64 indices, segment form (``col=None``), weights with and without ``eid`` and NaN / -inf rows.

>>> rowptr, col, perm = csr_case(5, 4, 12, hub=6)
>>> int(rowptr[-1]), int((rowptr[1:] - rowptr[:-1]).max()) >= 6
(12, True)
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "HF_GRID", "SIZES", "TOL", "csr_case", "ref_dtype", "close", "nan_case", "run_csr_reduce", "run_sddmm",
    "run_softmax", "reference_backend",
]

# (H, F): feature tails on both sides of the 16-wide narrow path and the 64-wide tiles, heads, and the vector
# layouts of the wide kernel (H*F = 64, 80, 130: 2-wide; 128, 256: 4-wide; 65, 999: scalar)
HF_GRID: List[Tuple[int, int]] = [(1, 1), (1, 5), (1, 16), (1, 31), (1, 33), (1, 64), (1, 65), (2, 40), (4, 16),
                                  (8, 8), (1, 130), (3, 333), (2, 64), (4, 64)]
# (nodes, edges, hub degree): N = 0, no edges, small, hubs of 70 and 1000 edges (beyond the split threshold)
SIZES: List[Tuple[int, int, Optional[int]]] = [(0, 0, None), (13, 0, None), (17, 40, None), (40, 300, 70),
                                               (200, 3000, 1000)]
TOL = {torch.float32: (1e-5, 1e-5), torch.float64: (1e-11, 1e-11), torch.float16: (2e-3, 2e-3),
       torch.bfloat16: (1.6e-2, 1.6e-2)}


def ref_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the reference runs in: float64 for half types (on inputs rounded to the half type)."""
    return dtype if dtype in (torch.float32, torch.float64) else torch.float64


def csr_case(n_src: int, n_dst: int, num_edges: int, hub: Optional[int] = None, empty_frac: float = 0.3,
             index_dtype: torch.dtype = torch.int64, seed: int = 0) -> Tuple[Tensor, Tensor, Tensor]:
    """A random CSR ``(rowptr [n_dst+1], col [E] < n_src, perm [E])`` with empty rows and an optional hub row 0."""
    rng = np.random.default_rng(seed)
    tgt = rng.integers(0, max(n_dst, 1), num_edges)
    if n_dst > 2:
        allowed = np.nonzero(rng.random(n_dst) > empty_frac)[0]
        if allowed.size:
            tgt = allowed[rng.integers(0, allowed.size, num_edges)]
    if hub is not None and num_edges:
        tgt[: min(hub, num_edges)] = 0
    src = rng.integers(0, max(n_src, 1), num_edges)
    order = np.argsort(tgt, kind="stable")
    rowptr = np.zeros(n_dst + 1, np.int64)
    np.cumsum(np.bincount(tgt, minlength=n_dst), out=rowptr[1:])
    return tuple(torch.from_numpy(a).to(index_dtype) for a in (rowptr, src[order], order))  # type: ignore


def nan_case() -> Tuple[Tensor, Tensor, List[Tuple[float, int]], List[Tuple[float, int]]]:
    """Segment rows ``[1, NaN, 3]``, ``[NaN, NaN]``, ``[-inf]``, ``[-inf, -inf]``, ``[]``, ``[2, 2]`` and the
    expected ``(value, arg)`` per row for max and for min (NaN wins with its first position; an all -inf row
    keeps its first edge; ties keep the first edge; an empty row gives 0 and -1)."""
    nan, inf = float("nan"), float("inf")
    vals = torch.tensor([1.0, nan, 3.0, nan, nan, -inf, -inf, -inf, 2.0, 2.0], dtype=torch.float64)
    rowptr = torch.tensor([0, 3, 5, 6, 8, 8, 10])
    exp_max = [(nan, 1), (nan, 3), (-inf, 5), (-inf, 6), (0.0, -1), (2.0, 8)]
    exp_min = [(nan, 1), (nan, 3), (-inf, 5), (-inf, 6), (0.0, -1), (2.0, 8)]
    return rowptr, vals.view(-1, 1, 1), exp_max, exp_min


def close(a: Tensor, b: Tensor, dtype: torch.dtype, scale: float = 1.0) -> Tuple[bool, float]:
    """``allclose`` at the tolerance of ``dtype`` (NaN equal to NaN) and the largest absolute difference."""
    rtol, atol = TOL[dtype]
    a, b = a.double().cpu(), b.double().cpu()
    err = (a - b).abs().nan_to_num(0).max().item() if a.numel() else 0.0
    return bool(torch.allclose(a, b, rtol=rtol * scale, atol=atol * scale, equal_nan=True)), err


@contextlib.contextmanager
def reference_backend(device: torch.device) -> Iterator[Callable[[Tensor], Tensor]]:
    """Where the reference runs: the CPU extension for a GPU run; the torch backend in a CPU dry run."""
    from graphkit.ops import use_backend

    cpu = torch.device("cpu")
    if device.type == "cuda":
        yield lambda t: t.to(cpu) if t is not None else None
    else:
        with use_backend("torch"):
            yield lambda t: t


def _on(t: Optional[Tensor], device: torch.device, dtype: Optional[torch.dtype] = None) -> Optional[Tensor]:
    if t is None:
        return None
    return t.to(device, dtype) if dtype is not None else t.to(device)


def run_csr_reduce(device: torch.device, dtype: torch.dtype, hf: Tuple[int, int], weighted: str, segment: bool,
                   index_dtype: torch.dtype, size: Tuple[int, int, Optional[int]], reduce: str,
                   seed: int = 0) -> Tuple[bool, str]:
    """One ``csr_reduce`` case on ``device`` against the reference; ``(ok, detail)``. ``weighted``: ``"none"``,
    ``"plain"`` (weight row k) or ``"eid"`` (weight row ``eid[k]``)."""
    from graphkit.ops import _kernels as K

    H, F = hf
    n, E, hub = size
    rng = np.random.default_rng(seed)
    rowptr, col, perm = csr_case(E if segment else n, n, E, hub, index_dtype=index_dtype, seed=seed)
    col = None if segment else col
    # values on a grid of quarters: max/min ties happen, and the sums are exact in every dtype
    x = torch.from_numpy(np.round(rng.standard_normal((E if segment else n, H, F)) * 4) / 4)
    w = torch.from_numpy(np.round(rng.standard_normal((E, H)) * 2) / 2) if weighted != "none" else None
    eid = perm if weighted == "eid" else None
    out, arg = K.csr_reduce(_on(rowptr, device), _on(col, device), _on(eid, device), _on(w, device, dtype),
                            _on(x, device, dtype), reduce)
    rd = ref_dtype(dtype)
    with reference_backend(device) as to_ref:
        r_out, r_arg = K.csr_reduce(to_ref(rowptr), to_ref(col), to_ref(eid),
                                    to_ref(w.to(dtype).to(rd)) if w is not None else None, to_ref(x.to(dtype).to(rd)),
                                    reduce)
    ok, err = close(out, r_out, dtype, scale=10 if reduce in ("sum", "mean") else 1)
    arg_ok = True
    if reduce in ("max", "min") and dtype in (torch.float32, torch.float64):
        arg_ok = torch.equal(arg.cpu(), r_arg.cpu())
    return ok and arg_ok, f"max err {err:.3g}, arg equal {arg_ok}"


def run_sddmm(device: torch.device, dtype: torch.dtype, hf: Tuple[int, int], index_dtype: torch.dtype,
              use_eid: bool, size: Tuple[int, int, Optional[int]], op: str, seed: int = 0) -> Tuple[bool, str]:
    """One ``sddmm`` case on ``device`` against the reference."""
    from graphkit.ops import _kernels as K

    H, F = hf
    n, E, hub = size
    gen = torch.Generator().manual_seed(seed)
    rowptr, col, perm = csr_case(n, n, E, hub, index_dtype=index_dtype, seed=seed)
    a = torch.randn(n, H, F, dtype=torch.float64, generator=gen)
    b = torch.randn(n, H, F, dtype=torch.float64, generator=gen)
    eid = perm if use_eid else None
    out = K.sddmm(_on(rowptr, device), _on(col, device), _on(eid, device), _on(a, device, dtype),
                  _on(b, device, dtype), op)
    rd = ref_dtype(dtype)
    with reference_backend(device) as to_ref:
        ref = K.sddmm(to_ref(rowptr), to_ref(col), to_ref(eid), to_ref(a.to(dtype).to(rd)),
                      to_ref(b.to(dtype).to(rd)), op)
    ok, err = close(out, ref, dtype, scale=10)
    return ok, f"max err {err:.3g}"


def run_softmax(device: torch.device, dtype: torch.dtype, heads: int, index_dtype: torch.dtype, use_eid: bool,
                size: Tuple[int, int, Optional[int]], seed: int = 0) -> Tuple[bool, str]:
    """Edge softmax forward and backward on ``device`` against the reference."""
    from graphkit.ops import _kernels as K

    n, E, hub = size
    gen = torch.Generator().manual_seed(seed)
    rowptr, _, perm = csr_case(n, n, E, hub, index_dtype=index_dtype, seed=seed)
    eid = perm if use_eid else None
    s = torch.randn(E, heads, dtype=torch.float64, generator=gen) * 4
    g = torch.randn(E, heads, dtype=torch.float64, generator=gen)
    y = K.softmax_fwd(_on(rowptr, device), _on(eid, device), _on(s, device, dtype))
    gy = K.softmax_bwd(_on(rowptr, device), _on(eid, device), y, _on(g, device, dtype))
    rd = ref_dtype(dtype)
    with reference_backend(device) as to_ref:
        ry = K.softmax_fwd(to_ref(rowptr), to_ref(eid), to_ref(s.to(dtype).to(rd)))
        rg = K.softmax_bwd(to_ref(rowptr), to_ref(eid), to_ref(y.to(rd)), to_ref(g.to(dtype).to(rd)))
    ok1, e1 = close(y, ry, dtype)
    ok2, e2 = close(gy, rg, dtype, scale=10)
    return ok1 and ok2, f"fwd err {e1:.3g}, bwd err {e2:.3g}"
