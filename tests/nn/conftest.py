"""Layer tests run on tiny graphs: one intra-op thread is much faster there than two on a shared, busy machine
(OpenMP's barrier waits dominate a 30 x 8 matmul), so each test runs single-threaded and restores the setting."""
from __future__ import annotations

from typing import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)
