"""Common base of the recommenders: fit on a users × items matrix, score users in row chunks.

Conventions (scikit-learn-like): constructor arguments are configuration, everything learnt in
``fit`` ends in ``_``. ``fit(X, seed=...)`` takes a ``scipy.sparse.csr_matrix`` of non-negative
interaction weights (users × items); ``score(users)`` returns dense ``float32`` scores
(len(users) × n_items) for full ranking. Excluding the users' training items is the caller's
job (``skewbench.metrics.topk.topk(..., exclude=X[users])``), so every model ranks all items.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Self

import numpy as np
import scipy.sparse as sp

from skewbench.errors import ConfigError, SchemaError


def as_interactions(X: sp.spmatrix | np.ndarray, source: str = "interactions") -> sp.csr_matrix:
    """Validate a users × items weight matrix and return it as float32 CSR (duplicates summed)."""
    X = sp.csr_matrix(X, dtype=np.float32)
    X.sum_duplicates()
    if X.shape[0] == 0 or X.shape[1] == 0 or X.nnz == 0:
        raise SchemaError(source, f"empty interaction matrix of shape {X.shape}")
    if not np.all(np.isfinite(X.data)) or (X.data < 0).any():
        bad = int(np.flatnonzero(~np.isfinite(X.data) | (X.data < 0))[0])
        row = int(np.searchsorted(X.indptr, bad, side="right") - 1)
        raise SchemaError(source, "weights must be finite and >= 0", column="weight", row=row)
    return X


def binarize(X: sp.csr_matrix) -> sp.csr_matrix:
    """1 where a user interacted with an item (weight > 0), else 0."""
    B = X.copy()
    B.data = (B.data > 0).astype(np.float32)
    B.eliminate_zeros()
    return B


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    """Raise ConfigError unless ``value`` is > 0 (or >= 0 with ``allow_zero``)."""
    ok = value >= 0 if allow_zero else value > 0
    if not np.isfinite(value) or not ok:
        raise ConfigError(
            f"model.params.{name}: must be {'>=' if allow_zero else '>'} 0, got {value!r}"
        )


def chunks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


class Recommender:
    """Base class: subclasses implement ``_fit`` and ``_score_chunk``."""

    #: Users scored per chunk: bounds the temporary memory of ``score`` to chunk × items floats.
    chunk_size: int = 1024
    #: True when the scores do not depend on the user (popularity): ``score`` then returns one
    #: row broadcast to every user (a read-only view), which ``topk`` ranks once for all.
    user_independent: bool = False

    def fit(self, X: sp.spmatrix, seed: int | None = None) -> Self:
        X = as_interactions(X)
        self.n_users_, self.n_items_ = X.shape
        self.X_ = X  # kept: user histories are the input of item-item and content models
        self._fit(X, 0 if seed is None else int(seed))
        return self

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        raise NotImplementedError

    def score(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for each user in ``users``: float32 (len(users) × n_items);
        a read-only broadcast of one row when the model is ``user_independent``."""
        if not hasattr(self, "n_items_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        users = np.asarray(users, dtype=np.int64)
        if users.size and (users.min() < 0 or users.max() >= self.n_users_):
            raise IndexError(f"user index out of range [0, {self.n_users_})")
        if self.user_independent and users.size:
            row = np.asarray(self._score_chunk(users[:1])[0], dtype=np.float32)
            return np.broadcast_to(row, (users.size, self.n_items_))
        out = np.empty((users.size, self.n_items_), dtype=np.float32)
        for sl in chunks(users.size, self.chunk_size):
            out[sl] = self._score_chunk(users[sl])
        return out

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError
