"""Deterministic torch training on CPU: one context for every trained model.

Inside, torch's global seed is set (when a seed is given), deterministic algorithms are on and,
when asked, the intra-op thread count is fixed; all are restored on exit, so a cell leaves the
worker process as it found it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def deterministic_torch(seed: int | None = None, threads: int | None = None) -> Iterator[None]:
    """Seed torch, turn deterministic algorithms on and optionally fix the thread count."""
    import torch

    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        if seed is not None:
            torch.manual_seed(seed)
        yield
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(prev_det)
