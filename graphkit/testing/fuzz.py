"""Fuzzing graphkit's public kernels in a worker process, so that a crash is a test failure, not a dead test run.

A *case* is a small JSON object (``{"op": "spmm", "seed": 7, "backend": "ext", "bad": null, ...}``) from which
:func:`run_case` builds its tensors deterministically, calls the public op and judges the outcome:

* a valid case (``bad`` is null) must match the plain-torch oracle :mod:`graphkit.testing.reference` (NaN-aware),
  and its gradients must match the oracle's (sum/mean) or the torch back end's (max/min, whose tie rule is ours);
* an invalid case (``bad`` names the corruption) must raise ``ValueError`` or ``TypeError``.

:class:`FuzzWorker` keeps one long-lived ``python -m graphkit.testing.fuzz`` child and feeds it cases over a
pipe, one JSON line each way (no pickle). A child that dies from a signal or answers nothing within ``timeout``
seconds is reported as ``crash`` or ``hang`` for that case and replaced by a fresh one. The child caps its
address space (``RLIMIT_AS``), so a runaway allocation fails inside it instead of exhausting the machine.

>>> from graphkit.testing.fuzz import run_case
>>> run_case({"op": "scatter", "seed": 0, "backend": "torch", "bad": None, "rows": 5, "width": 3,
...           "groups": 2, "reduce": "max", "dtype": "float64", "index_dtype": "int64", "nonfinite": True,
...           "grad": True, "dim_size": "exact"})
'ok'
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
from typing import Any, Callable, Dict, Optional, Tuple

import torch

__all__ = ["run_case", "FuzzWorker", "OUTCOMES"]

# ok: valid input matched the oracle; error: invalid input raised ValueError/TypeError. Anything else is a finding.
OUTCOMES = ("ok", "error", "wrong", "accepted", "unclear", "crash", "hang")
DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}
HUGE = (2**40, 2**62, 2**63 - 1)


class _Wrong(AssertionError):
    """A valid case whose result differs from the oracle."""


def _values(gen: torch.Generator, shape: Tuple[int, ...], dtype: torch.dtype, nonfinite: bool) -> torch.Tensor:
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    if nonfinite and x.numel():
        # few distinct values too, so that ties are common
        x = torch.where(torch.rand(shape, generator=gen) < 0.3, x.round(), x)
        for v, p in ((float("nan"), 0.08), (float("inf"), 0.05), (float("-inf"), 0.08)):
            x = torch.where(torch.rand(shape, generator=gen) < p, torch.full_like(x, v), x)
    return x.to(dtype)


def _close(name: str, got: Any, want: Any, dtype: torch.dtype) -> None:
    if want is None or got is None:
        if (want is None) != (got is None) and not (got is not None and got.abs().sum() == 0):
            raise _Wrong(f"{name}: got {got} want {want}")
        return
    tol = {torch.float16: 1e-2, torch.bfloat16: 5e-2, torch.float32: 1e-4}.get(dtype, 1e-9)
    try:
        torch.testing.assert_close(got.double(), want.double(), rtol=tol, atol=tol, equal_nan=True)
    except AssertionError as exc:
        raise _Wrong(f"{name}: {str(exc).splitlines()[0]}\ngot {got}\nwant {want}") from None


def _grads(fn: Callable[..., torch.Tensor], inputs: Tuple[torch.Tensor, ...]) -> Tuple[Optional[torch.Tensor], ...]:
    leaves = tuple(t.detach().clone().requires_grad_() for t in inputs)
    out = fn(*leaves)
    if out.numel():
        # a fixed, non-uniform upstream gradient; non-finite outputs contribute nothing (their grad is undefined)
        g = torch.linspace(0.5, 1.5, out.numel(), dtype=torch.float64).view(out.shape).to(out.dtype)
        (out.nan_to_num(0.0, 0.0, 0.0) * g).sum().backward()
    return tuple(t.grad for t in leaves)


def _index(gen: torch.Generator, n: int, hi: int, dtype: str) -> torch.Tensor:
    return torch.randint(0, max(hi, 1), (n,), generator=gen).to(getattr(torch, dtype))


def _edges(gen: torch.Generator, c: Dict[str, Any]) -> torch.Tensor:
    n, e = c["nodes"], c["edges"] if c["nodes"] else 0
    return torch.randint(0, max(n, 1), (2, e), generator=gen).to(getattr(torch, c.get("index_dtype", "int64")))


def _check_grads(c: Dict[str, Any], dtype: torch.dtype, fn: Callable, ref: Callable, inputs: Tuple) -> None:
    """Sum/mean: against the oracle's autograd. Max/min: against graphkit's torch back end (same tie rule)."""
    from graphkit.ops import use_backend

    if not c.get("grad") or not inputs:
        return
    got = _grads(fn, inputs)
    if c.get("reduce") in ("max", "min"):
        with use_backend("torch"):
            want = _grads(fn, inputs)
    else:
        want = _grads(ref, inputs)
    for i, (a, b) in enumerate(zip(got, want)):
        _close(f"grad[{i}]", a, b, dtype)


def _scatter(c: Dict[str, Any], gen: torch.Generator) -> Callable[[], None]:
    from graphkit import ops
    from graphkit.testing import reference as R

    dtype = DTYPES[c["dtype"]]
    src = _values(gen, (c["rows"], c["width"]), dtype, c["nonfinite"])
    index = _index(gen, c["rows"], c["groups"], c["index_dtype"])
    dim_size: Any = None if c["dim_size"] == "none" else int(index.max()) + 1 + c["groups"] % 3 if index.numel() else 2
    bad, reduce = c["bad"], c["reduce"]
    if bad == "index_oob":
        dim_size = int(index.max()) + 1 if index.numel() else 0
        index = torch.cat([index, index.new_tensor([dim_size + c["seed"] % 5])])
        src = torch.cat([src, src[:1] if src.numel() else torch.zeros(1, c["width"], dtype=dtype)])
    elif bad == "index_neg":
        index = torch.cat([index, index.new_tensor([-1 - c["seed"] % 3])])
        src = torch.cat([src, torch.zeros(1, c["width"], dtype=dtype)])
    elif bad == "dim_size_neg":
        dim_size = -1 - c["seed"] % 4
    elif bad == "dim_size_huge":
        dim_size = HUGE[c["seed"] % 3]
    elif bad == "dim_size_float":
        dim_size = 2.0
    elif bad == "index_float":
        index = index.double()
    elif bad == "src_int":
        src = src.nan_to_num(0, 0, 0).long()
    elif bad == "index_len":
        index = torch.cat([index, index[:1]]) if index.numel() else index.new_zeros(1)
    elif bad == "reduce_bad":
        reduce = "avg"
    elif bad == "index_huge":
        index = torch.cat([index, index.new_tensor([2**63 - 1 if c["index_dtype"] == "int64" else 2**31 - 1])])
        src = torch.cat([src, torch.zeros(1, c["width"], dtype=dtype)])
        dim_size = None

    def call() -> None:
        out = ops.scatter(src, index, dim_size, reduce)
        if bad:
            return
        _close("out", out, R.scatter(src.double(), index, dim_size, reduce).to(dtype), dtype)
        _check_grads(c, dtype, lambda s: ops.scatter(s, index, dim_size, reduce),
                     lambda s: R.scatter(s, index, dim_size, reduce), (src,))
        if reduce in ("max", "min"):
            _, arg = ops.scatter(src, index, dim_size, reduce, return_arg=True)
            picked = torch.where(arg >= 0, src.gather(0, arg.clamp(min=0)) if src.numel() else arg.to(dtype),
                                 torch.zeros_like(out))
            _close("arg", picked, out, dtype)

    return call


def _segment(c: Dict[str, Any], gen: torch.Generator) -> Callable[[], None]:
    from graphkit import ops
    from graphkit.testing import reference as R

    dtype = DTYPES[c["dtype"]]
    src = _values(gen, (c["rows"], c["width"]), dtype, c["nonfinite"])
    cuts = torch.randint(0, c["rows"] + 1, (c["groups"],), generator=gen).sort().values
    ptr = torch.cat([torch.zeros(1, dtype=torch.long), cuts]).to(getattr(torch, c["index_dtype"]))
    bad, reduce = c["bad"], c["reduce"]
    if bad == "ptr_nonmono" and ptr.numel() >= 2:
        ptr = torch.cat([ptr, ptr.new_tensor([-1])]) if ptr[-1] == 0 else torch.cat([ptr, ptr[-1:] - 1])
    elif bad == "ptr_first":
        ptr = ptr.clone()
        ptr[0] = 1
    elif bad == "ptr_last_big":
        ptr = torch.cat([ptr, ptr.new_tensor([c["rows"] + 1 + c["seed"] % 7])])
    elif bad == "ptr_empty":
        ptr = ptr[:0]
    elif bad == "ptr_float":
        ptr = ptr.float()
    elif bad == "ptr_nonmono":
        ptr = ptr.new_tensor([0, 1, 0])

    def call() -> None:
        out = ops.segment(src, ptr, reduce)
        if bad:
            return
        _close("out", out, R.segment(src.double(), ptr, reduce).to(dtype), dtype)
        _check_grads(c, dtype, lambda s: ops.segment(s, ptr, reduce), lambda s: R.segment(s, ptr, reduce), (src,))

    return call


def _spmm(c: Dict[str, Any], gen: torch.Generator) -> Callable[[], None]:
    from graphkit import ops
    from graphkit.testing import reference as R

    dtype = DTYPES[c["dtype"]]
    ei = _edges(gen, c)
    n = c["nodes"]
    x = _values(gen, (n, c["width"]), dtype, c["nonfinite"])
    w = _values(gen, (ei.size(1),), dtype, c["nonfinite"]) if c["weighted"] else None
    num_nodes: Any = None
    bad, reduce = c["bad"], c["reduce"]
    if bad == "ei_oob":
        ei = torch.cat([ei, ei.new_tensor([[0], [n + c["seed"] % 4]])], 1)
        w = torch.cat([w, w[:1] if w.numel() else w.new_ones(1)]) if w is not None else None
    elif bad == "ei_neg":
        ei = torch.cat([ei, ei.new_tensor([[-1 - c["seed"] % 3], [0]])], 1)
        w = torch.cat([w, w.new_ones(1)]) if w is not None else None
    elif bad == "ei_shape":
        ei = ei[:1]
    elif bad == "w_shape":
        w = torch.ones(ei.size(1) + 1, dtype=dtype)
    elif bad == "w_dtype":
        w = torch.ones(ei.size(1), dtype=torch.float64 if dtype != torch.float64 else torch.float32)
    elif bad == "num_nodes_neg":
        num_nodes = -1 - c["seed"] % 5
    elif bad == "num_nodes_huge":
        num_nodes = HUGE[c["seed"] % 3]
    elif bad == "x_int":
        x = x.nan_to_num(0, 0, 0).long()
    elif bad == "reduce_bad":
        reduce = "prod"

    def call() -> None:
        out = ops.spmm(ei, x, w, reduce, num_nodes)
        if bad:
            return
        want = R.spmm(ei, x.double(), w.double() if w is not None else None, reduce, n).to(dtype)
        _close("out", out, want, dtype)
        inputs = (x,) if w is None else (x, w)
        _check_grads(c, dtype, lambda *t: ops.spmm(ei, t[0], t[1] if len(t) > 1 else None, reduce),
                     lambda *t: R.spmm(ei, t[0], t[1] if len(t) > 1 else None, reduce, n), inputs)

    return call


def _sddmm(c: Dict[str, Any], gen: torch.Generator) -> Callable[[], None]:
    from graphkit import ops
    from graphkit.testing import reference as R

    dtype = DTYPES[c["dtype"]]
    ei = _edges(gen, c)
    n, shape = c["nodes"], (c["heads"], c["width"]) if c["heads"] else (c["width"],)
    a = _values(gen, (n,) + shape, dtype, c["nonfinite"])
    b = _values(gen, (n,) + shape, dtype, c["nonfinite"])
    bad, op = c["bad"], c["sddmm_op"]
    if bad == "ei_oob":
        ei = torch.cat([ei, ei.new_tensor([[n + c["seed"] % 3], [0]])], 1)
    elif bad == "shape_mismatch":
        b = torch.cat([b, b], -1) if b.dim() > 1 else b.unsqueeze(-1)
    elif bad == "dtype_mismatch":
        b = b.to(torch.float64 if dtype != torch.float64 else torch.float32)
    elif bad == "op_bad":
        op = "sub"
    elif bad == "a_int":
        a = a.nan_to_num(0, 0, 0).long()

    def call() -> None:
        out = ops.sddmm(ei, a, b, op)
        if bad:
            return
        _close("out", out, R.sddmm(ei, a.double(), b.double(), op).to(dtype), dtype)
        _check_grads(c, dtype, lambda p, q: ops.sddmm(ei, p, q, op), lambda p, q: R.sddmm(ei, p, q, op), (a, b))

    return call


def _edge_softmax(c: Dict[str, Any], gen: torch.Generator) -> Callable[[], None]:
    from graphkit import ops
    from graphkit.testing import reference as R

    dtype = DTYPES[c["dtype"]]
    ei = _edges(gen, c)
    e = ei.size(1)
    scores = torch.randn((e, c["heads"]) if c["heads"] else (e,), generator=gen, dtype=torch.float64).to(dtype)
    num_nodes: Any = c["nodes"] if c["given_nodes"] else None
    bad = c["bad"]
    if bad == "scores_len":
        scores = torch.cat([scores, scores[:1] if e else torch.zeros((1,) + scores.shape[1:], dtype=dtype)])
    elif bad == "ei_oob":
        num_nodes = c["nodes"]
        ei = torch.cat([ei, ei.new_tensor([[0], [c["nodes"] + c["seed"] % 3]])], 1)
        scores = torch.cat([scores, torch.zeros((1,) + scores.shape[1:], dtype=dtype)])
    elif bad == "scores_int":
        scores = scores.long()
    elif bad == "num_nodes_huge":
        num_nodes = HUGE[c["seed"] % 3]
    elif bad == "scores_3d":
        scores = scores.unsqueeze(-1).unsqueeze(-1)

    def call() -> None:
        out = ops.edge_softmax(ei, scores, num_nodes)
        if bad:
            return
        _close("out", out, R.edge_softmax(ei, scores.double(), num_nodes).to(dtype), dtype)
        _check_grads(c, dtype, lambda s: ops.edge_softmax(ei, s, num_nodes),
                     lambda s: R.edge_softmax(ei, s, num_nodes), (scores,))

    return call


def _reorder(c: Dict[str, Any], gen: torch.Generator) -> Callable[[], None]:
    from graphkit import Graph, ops

    n = c["nodes"]
    ei = _edges(gen, c).long()
    g = Graph(x=torch.randn(n, 2, generator=gen), edge_index=ei, num_nodes=n)
    method = "spectral" if c["bad"] == "method_bad" else c["method"]

    def call() -> None:
        new, perm = ops.reorder(g, method)
        if c["bad"]:
            return
        if sorted(perm.tolist()) != list(range(n)):
            raise _Wrong(f"perm is not a permutation: {perm.tolist()}")
        inv = torch.empty_like(perm)
        inv[perm] = torch.arange(n)
        if not (torch.equal(new.x, g.x[perm]) and torch.equal(new.edge_index, inv[ei])):
            raise _Wrong("reorder: x or edge_index not relabelled by perm")

    return call


def _sample(c: Dict[str, Any], gen: torch.Generator) -> Callable[[], None]:
    from graphkit import Graph
    from graphkit.loader import sample_neighbors

    n = c["nodes"]
    ei = _edges(gen, c).long()
    g = Graph(edge_index=ei, num_nodes=n)
    rowptr, col, perm = g.csr()
    graph: Any = (rowptr.clone(), col.clone(), perm.clone()) if c["as_tuple"] or c["bad"] else g
    b = min(c["batch"], n)
    seeds = torch.randperm(n, generator=gen)[:b]
    fanouts, replace, bad = list(c["fanouts"]), c["replace"], c["bad"]
    e = col.numel()
    if bad == "col_oob" and e:
        graph[1][int(c["seed"]) % e] = n + c["seed"] % 2**40
    elif bad == "col_neg" and e:
        graph[1][int(c["seed"]) % e] = -1
    elif bad == "perm_oob" and e:
        graph[2][int(c["seed"]) % e] = e + c["seed"] % 10**12
    elif bad == "rowptr_nonmono" and n >= 2:
        graph[0][1 + int(c["seed"]) % (n - 1)] = e + 1 + c["seed"] % 10**7
    elif bad == "rowptr_first":
        graph[0][0] = 1
    elif bad == "seed_dup":
        seeds = torch.cat([seeds, seeds[:1]]) if seeds.numel() else torch.tensor([0, 0])
    elif bad == "seed_oob":
        seeds = torch.cat([seeds, torch.tensor([n + c["seed"] % 3])])
    elif bad == "fanout_bad":
        fanouts = fanouts + [-2 - c["seed"] % 3]
    elif bad == "fanout_huge_replace":
        fanouts, replace = [2**61], True
    elif bad == "seeds_float":
        seeds = seeds.double()
    else:  # corruptions that need edges fall back to a bad fan-out
        fanouts = fanouts + [1.5] if bad else fanouts

    def call() -> None:
        out = sample_neighbors(graph, seeds, fanouts, replace=replace, seed=c["seed"])
        if bad:
            return
        n_id, src, dst = out.n_id, out.edge_index[0], out.edge_index[1]
        if not torch.equal(n_id[:b], seeds) or n_id.unique().numel() != n_id.numel():
            raise _Wrong(f"n_id {n_id.tolist()} does not start with the seeds {seeds.tolist()} or repeats")
        if out.e_id.numel() and not torch.equal(ei[:, out.e_id], torch.stack([n_id[src], n_id[dst]])):
            raise _Wrong("a sampled edge is not an edge of the graph")
        deg = rowptr[1:] - rowptr[:-1]
        got = torch.bincount(dst, minlength=n_id.numel())
        if not torch.equal(out.rowptr[1:] - out.rowptr[:-1], got):
            raise _Wrong("rowptr of the sub-graph does not match its edges")
        hop_of = torch.repeat_interleave(torch.arange(len(out.nodes_per_hop)), out.nodes_per_hop)
        for h, k in enumerate(fanouts):
            nodes = (hop_of == h).nonzero().view(-1)
            d = deg[n_id[nodes]]
            want = d if k < 0 else (torch.where(d > 0, torch.full_like(d, k), d) if replace else d.clamp(max=k))
            if not torch.equal(got[nodes], want):
                raise _Wrong(f"hop {h}: per-node edge counts {got[nodes].tolist()} want {want.tolist()}")

    return call


def _feature_store(c: Dict[str, Any], gen: torch.Generator) -> Callable[[], None]:
    from graphkit.loader import FeatureStore

    dtype = {"int64": torch.int64, "uint8": torch.uint8}.get(c["dtype"]) or DTYPES[c["dtype"]]
    data = (torch.randn(c["rows"], c["width"], generator=gen) * 100).to(dtype)
    fs = FeatureStore(data, pin=False)
    index = torch.randint(0, max(c["rows"], 1), (c["batch"] if c["rows"] else 0,), generator=gen)
    out: Optional[torch.Tensor] = torch.empty(index.numel(), c["width"], dtype=dtype) if c["with_out"] else None
    bad = c["bad"]
    if bad == "index_oob":
        index = torch.cat([index, torch.tensor([c["rows"] + c["seed"] % 5])])
        out = None
    elif bad == "index_neg":
        index = torch.cat([index, torch.tensor([-1])])
        out = None
    elif bad == "index_float":
        index = index.float()
    elif bad == "out_alias":
        index = torch.randint(0, max(c["rows"], 1), (max(c["rows"], 1),), generator=gen)
        out = fs.data if c["rows"] else torch.empty(0)
        if not c["rows"]:
            index = index[:0] + 5
    elif bad == "out_shape":
        out = torch.empty(index.numel() + 1, c["width"], dtype=dtype)
    elif bad == "out_dtype":
        out = torch.empty(index.numel(), c["width"], dtype=torch.float64 if dtype != torch.float64 else torch.float32)

    def call() -> None:
        got = fs.gather(index, out=out)
        if bad:
            return
        if not torch.equal(got, data[index]):
            raise _Wrong("gather differs from data[index]")
        if out is not None and got.data_ptr() != out.data_ptr():
            raise _Wrong("gather did not write into out")

    return call


_OPS: Dict[str, Callable[[Dict[str, Any], torch.Generator], Callable[[], None]]] = {
    "scatter": _scatter, "segment": _segment, "spmm": _spmm, "sddmm": _sddmm, "edge_softmax": _edge_softmax,
    "reorder": _reorder, "sample_neighbors": _sample, "FeatureStore.gather": _feature_store,
}


def run_case(case: Dict[str, Any]) -> str:
    """Run one case in this process; returns ``"ok"`` or ``"error"``, raises :class:`AssertionError` otherwise."""
    from graphkit.ops import use_backend

    gen = torch.Generator().manual_seed(int(case["seed"]))
    with use_backend(case.get("backend", "ext")):
        try:
            call = _OPS[case["op"]](case, gen)
            call()
        except _Wrong:
            raise
        except (ValueError, TypeError) as exc:
            if case["bad"]:
                return "error"
            raise AssertionError(f"unclear: valid input raised {type(exc).__name__}: {exc}") from None
        except Exception as exc:
            raise AssertionError(f"unclear: {type(exc).__name__}: {str(exc)[:300]}") from None
    if case["bad"]:
        raise AssertionError(f"accepted: invalid input ({case['bad']}) did not raise")
    return "ok"


def _serve() -> None:
    """The worker loop: one JSON case per stdin line, one JSON answer per stdout line."""
    import resource

    limit = int(os.environ.get("GRAPHKIT_FUZZ_MEMORY", str(4 << 30)))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    torch.set_num_threads(int(os.environ.get("GRAPHKIT_FUZZ_THREADS", "1")))  # cases are small: serial paths
    for line in sys.stdin:
        case = json.loads(line)
        try:
            status, detail = run_case(case), ""
        except _Wrong as exc:
            status, detail = "wrong", str(exc)
        except AssertionError as exc:
            status, detail = str(exc).split(":", 1)[0], str(exc)
        sys.stdout.write(json.dumps({"status": status, "detail": detail[:2000]}) + "\n")
        sys.stdout.flush()


class FuzzWorker:
    """One long-lived worker process fed cases over a pipe; replaced after a crash or a hang."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.proc: Optional[subprocess.Popen] = None
        self.restarts = 0
        self._stderr = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: warnings can never fill it up

    def _start(self) -> subprocess.Popen:
        env = dict(os.environ, PYTHONFAULTHANDLER="1")
        self._stderr.seek(0)
        self._stderr.truncate()
        return subprocess.Popen([sys.executable, "-m", "graphkit.testing.fuzz"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=self._stderr, text=True, bufsize=1, env=env)

    def run(self, case: Dict[str, Any]) -> Tuple[str, str]:
        """``(status, detail)`` of one case; ``status`` is one of :data:`OUTCOMES`."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        proc = self.proc
        try:
            proc.stdin.write(json.dumps(case) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            pass
        ready, _, _ = select.select([proc.stdout], [], [], self.timeout)
        line = proc.stdout.readline() if ready else ""
        if line:
            answer = json.loads(line)
            return answer["status"], answer["detail"]
        if not ready:
            proc.kill()
        rc = proc.wait()
        self._stderr.seek(0)
        err = self._stderr.read()[-2000:]
        self.proc, self.restarts = None, self.restarts + 1
        return ("hang", f"no answer in {self.timeout} s") if not ready else ("crash", f"return code {rc}\n{err}")

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        self.proc = None
        self._stderr.close()


if __name__ == "__main__":
    _serve()
