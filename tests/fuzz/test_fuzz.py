"""Fuzz the public kernels, the sampler and FeatureStore: 5,100 hypothesis cases, each run in a worker process.

Valid cases must match ``graphkit.testing.reference`` (gradients too), invalid ones must raise ValueError or
TypeError; a signal, a hang, a wrong result or any other exception fails the case (``graphkit.testing.fuzz``).
Both back ends are drawn. ``GRAPHKIT_FUZZ_SCALE`` multiplies the case counts (e.g. 10 for a long local run).
"""
from __future__ import annotations

import os
import sys
import time
from collections import Counter
from typing import Any, Dict, Iterator, List, Optional

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from graphkit.ops import ext_available  # noqa: E402
from graphkit.testing.fuzz import FuzzWorker  # noqa: E402

SCALE = float(os.environ.get("GRAPHKIT_FUZZ_SCALE", "1"))
BACKENDS = ["ext", "torch"] if ext_available() else ["torch"]
TALLY: Counter = Counter()


@pytest.fixture(scope="module")
def worker() -> Iterator[FuzzWorker]:
    w = FuzzWorker(timeout=60.0)
    t0 = time.perf_counter()
    yield w
    w.close()
    total = sum(TALLY.values())
    print(f"\nfuzz: {total} cases in {time.perf_counter() - t0:.1f} s, outcomes {dict(TALLY)}, "
          f"worker restarts {w.restarts}", file=sys.stderr)


def _settings(n: int):
    return settings(max_examples=max(1, int(n * SCALE)), derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


def _check(worker: FuzzWorker, case: Dict[str, Any]) -> None:
    status, detail = worker.run(case)
    TALLY[status] += 1
    assert status in ("ok", "error"), f"{status} for case {case}:\n{detail}"


def _case(op: str, bads: List[Optional[str]], **fields: Any) -> st.SearchStrategy:
    return st.fixed_dictionaries({
        "op": st.just(op), "seed": st.integers(0, 2**31 - 1), "backend": st.sampled_from(BACKENDS),
        "bad": st.one_of(st.none(), st.sampled_from(bads)), **fields,
    })


FLOATS = st.sampled_from(["float32", "float64", "float32", "float64", "float16", "bfloat16"])
INDEX = st.sampled_from(["int64", "int32"])
WIDTHS = st.sampled_from([0, 1, 3, 4, 7, 8, 9, 16, 17, 33, 64, 67])  # every register tile and tail
REDUCES = st.sampled_from(["sum", "mean", "max", "min"])
GRAPH = {"nodes": st.integers(0, 30), "edges": st.integers(0, 90), "index_dtype": INDEX}


@_settings(900)
@given(case=_case("scatter", ["index_oob", "index_neg", "dim_size_neg", "dim_size_huge", "dim_size_float",
                              "index_float", "src_int", "index_len", "reduce_bad", "index_huge"],
                  rows=st.integers(0, 30), width=WIDTHS, groups=st.integers(1, 10), reduce=REDUCES, dtype=FLOATS,
                  index_dtype=INDEX, nonfinite=st.booleans(), grad=st.booleans(),
                  dim_size=st.sampled_from(["none", "exact"])))
def test_scatter(worker: FuzzWorker, case: Dict[str, Any]) -> None:
    _check(worker, case)


@_settings(600)
@given(case=_case("segment", ["ptr_nonmono", "ptr_first", "ptr_last_big", "ptr_empty", "ptr_float"],
                  rows=st.integers(0, 30), width=WIDTHS, groups=st.integers(0, 8), reduce=REDUCES, dtype=FLOATS,
                  index_dtype=INDEX, nonfinite=st.booleans(), grad=st.booleans()))
def test_segment(worker: FuzzWorker, case: Dict[str, Any]) -> None:
    _check(worker, case)


@_settings(900)
@given(case=_case("spmm", ["ei_oob", "ei_neg", "ei_shape", "w_shape", "w_dtype", "num_nodes_neg", "num_nodes_huge",
                           "x_int", "reduce_bad"],
                  width=WIDTHS, weighted=st.booleans(), reduce=REDUCES, dtype=FLOATS, nonfinite=st.booleans(),
                  grad=st.booleans(), **GRAPH))
def test_spmm(worker: FuzzWorker, case: Dict[str, Any]) -> None:
    _check(worker, case)


@_settings(600)
@given(case=_case("sddmm", ["ei_oob", "shape_mismatch", "dtype_mismatch", "op_bad", "a_int"],
                  width=st.integers(1, 20), heads=st.integers(0, 3), sddmm_op=st.sampled_from(["dot", "add", "mul"]),
                  dtype=FLOATS, nonfinite=st.booleans(), grad=st.booleans(), **GRAPH))
def test_sddmm(worker: FuzzWorker, case: Dict[str, Any]) -> None:
    _check(worker, case)


@_settings(600)
@given(case=_case("edge_softmax", ["scores_len", "ei_oob", "scores_int", "num_nodes_huge", "scores_3d"],
                  heads=st.integers(0, 3), given_nodes=st.booleans(), dtype=FLOATS, grad=st.booleans(), **GRAPH))
def test_edge_softmax(worker: FuzzWorker, case: Dict[str, Any]) -> None:
    _check(worker, case)


@_settings(300)
@given(case=_case("reorder", ["method_bad"], method=st.sampled_from(["rcm", "degree"]), nodes=st.integers(0, 30),
                  edges=st.integers(0, 90)))
def test_reorder(worker: FuzzWorker, case: Dict[str, Any]) -> None:
    _check(worker, case)


@_settings(700)
@given(case=_case("sample_neighbors", ["col_oob", "col_neg", "perm_oob", "rowptr_nonmono", "rowptr_first",
                                       "seed_dup", "seed_oob", "fanout_bad", "fanout_huge_replace", "seeds_float"],
                  nodes=st.integers(0, 40), edges=st.integers(0, 150), batch=st.integers(0, 10),
                  fanouts=st.lists(st.sampled_from([-1, 0, 1, 2, 3, 5, 10]), max_size=3), replace=st.booleans(),
                  as_tuple=st.booleans()))
def test_sample_neighbors(worker: FuzzWorker, case: Dict[str, Any]) -> None:
    _check(worker, case)


@_settings(500)
@given(case=_case("FeatureStore.gather", ["index_oob", "index_neg", "index_float", "out_alias", "out_shape",
                                          "out_dtype"],
                  rows=st.integers(0, 50), width=st.integers(1, 40),
                  dtype=st.sampled_from(["float32", "float64", "float16", "int64", "uint8"]),
                  batch=st.integers(0, 60), with_out=st.booleans()))
def test_feature_store_gather(worker: FuzzWorker, case: Dict[str, Any]) -> None:
    _check(worker, case)
