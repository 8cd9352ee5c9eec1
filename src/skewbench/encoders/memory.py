"""Give the memory of encoder activations back to the OS as each chunk finishes (glibc only).

Why encoding held far more than model + one batch: glibc serves a block above
``M_MMAP_THRESHOLD`` with its own ``mmap`` (returned to the OS on free), but after the first
such block is freed it raises the threshold to that block's size (up to 32 MiB). From then
on the activation tensors of every batch (tens of MiB, a different size for each padded
length) come from the heap, which they fragment; the process kept growing chunk after chunk.
Inside :func:`returning_memory` the threshold is fixed at 1 MiB (large tensors are mapped and
unmapped, as at process start) and :func:`trim` hands free heap pages back after each chunk.
Neither changes any computation, so embeddings stay bit-identical.

A process-wide allocator setting: on leaving, the threshold is set to glibc's dynamic ceiling
(32 MiB, where a long-running process ends up anyway), not to the 128 KiB start value.
Elsewhere than glibc (macOS, musl) both are no-ops.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h
ENCODING_MMAP_THRESHOLD = 1 << 20
GLIBC_DYNAMIC_CEILING = 32 << 20  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit glibc


@lru_cache(maxsize=1)
def _glibc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt  # noqa: B018 - both exist in glibc only
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def trim() -> None:
    """Return free heap memory to the OS (``malloc_trim(0)``)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@contextlib.contextmanager
def returning_memory() -> Iterator[None]:
    """Large blocks mapped on their own while inside (module doc); trimmed on leaving."""
    libc = _glibc()
    if libc is None:
        yield
        return
    libc.mallopt(M_MMAP_THRESHOLD, ENCODING_MMAP_THRESHOLD)
    try:
        yield
    finally:
        libc.mallopt(M_MMAP_THRESHOLD, GLIBC_DYNAMIC_CEILING)
        libc.malloc_trim(0)
