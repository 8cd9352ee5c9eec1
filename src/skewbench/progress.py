"""One-line status messages for the steps of a run that take seconds (loading a data set,
building queries, encoding a catalog), on standard error; silent under ``--quiet``.

``--quiet`` sets ``SKEWBENCH_QUIET=1`` in the environment, so spawned children (the prepare
step, pool workers) stay quiet too.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

QUIET_ENV = "SKEWBENCH_QUIET"


def quiet() -> bool:
    return os.environ.get(QUIET_ENV, "") not in ("", "0")


@contextmanager
def step(message: str) -> Iterator[None]:
    """Print "message …" before a step and its duration after it (unless quiet)."""
    if quiet():
        yield
        return
    print(f"skewbench: {message} …", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    yield
    print(
        f"skewbench: {message}: done in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
        flush=True,
    )


def note(message: str) -> None:
    """Print one status line (unless quiet)."""
    if not quiet():
        print(f"skewbench: {message}", file=sys.stderr, flush=True)
