"""Every op test runs on both paths: the compiled extension (when built) and the pure-torch fallback."""
from __future__ import annotations

import pytest

from graphkit.ops import ext_available, load_error, use_backend


@pytest.fixture(params=["ext", "torch"])
def backend(request: pytest.FixtureRequest):
    if request.param == "ext" and not ext_available():
        pytest.skip(f"graphkit._C is not built: {load_error()}")
    with use_backend(request.param):
        yield request.param
