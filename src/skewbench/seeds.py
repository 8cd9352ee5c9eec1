"""One master seed derives every random stream, keyed by names (LensKit-style derived seeds).

A stream's seed depends only on the master seed and its keys, so adding a cell, a model or a
treatment to a config never changes the random numbers any other part sees.
"""

from __future__ import annotations

import hashlib

import numpy as np

SeedKey = str | int | float | None


def _key_words(keys: tuple[SeedKey, ...]) -> list[int]:
    # A stable digest of the keys: Python's hash() is salted per process, so it cannot be used.
    text = "\x1f".join(repr(k) for k in keys)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def derive_seed(master: int, *keys: SeedKey) -> np.random.SeedSequence:
    """Return the SeedSequence for the stream named by ``keys`` under ``master``."""
    if not isinstance(master, int | np.integer) or master < 0:
        raise ValueError(f"seed must be a non-negative integer, got {master!r}")
    return np.random.SeedSequence(entropy=int(master), spawn_key=tuple(_key_words(keys)))


def make_rng(master: int, *keys: SeedKey) -> np.random.Generator:
    """A NumPy Generator for the stream named by ``keys``."""
    return np.random.default_rng(derive_seed(master, *keys))


def int_seed(master: int, *keys: SeedKey) -> int:
    """A 31-bit integer seed for libraries that take ints (scikit-learn, torch, implicit)."""
    return int(derive_seed(master, *keys).generate_state(1, dtype=np.uint32)[0] >> 1)
