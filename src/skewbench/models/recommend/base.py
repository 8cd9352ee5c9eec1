"""Common base of the recommenders: fit on a users × items matrix, score users in row chunks.

Conventions (scikit-learn-like): constructor arguments are configuration, everything learnt in
``fit`` ends in ``_``. ``fit(X, seed=...)`` takes a ``scipy.sparse.csr_matrix`` of non-negative
interaction weights (users × items); ``score(users)`` returns dense ``float32`` scores
(len(users) × n_items) for full ranking. Excluding the users' training items is the caller's
job (``skewbench.metrics.topk.topk(..., exclude=X[users])``), so every model ranks all items.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, ClassVar, Self

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


def memory_budget_bytes(budget_gb: float | None = None) -> int:
    """The memory a single fit may use: ``budget_gb`` if given, else the environment variable
    SKEWBENCH_MEMORY_BUDGET_GB, else half the machine's physical memory."""
    if budget_gb is None:
        env = os.environ.get("SKEWBENCH_MEMORY_BUDGET_GB")
        if env:
            try:
                budget_gb = float(env)
            except ValueError:
                raise ConfigError(f"SKEWBENCH_MEMORY_BUDGET_GB: not a number: {env!r}") from None
        else:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    if not np.isfinite(budget_gb) or budget_gb <= 0:
        raise ConfigError(f"memory budget: must be > 0 GB, got {budget_gb!r}")
    return int(budget_gb * 1e9)


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
    #: Searchable hyper-parameters for ``tune: true`` (param → candidate values); see
    #: ``skewbench.tuning``. Empty = not tunable.
    tune_space: ClassVar[dict[str, list[Any]]] = {}

    def fit(self, X: sp.spmatrix, seed: int | None = None) -> Self:
        X = as_interactions(X)
        self.check_memory(*X.shape)
        self.n_users_, self.n_items_ = X.shape
        self.X_ = X  # kept: user histories are the input of item-item and content models
        self._fit(X, 0 if seed is None else int(seed))
        return self

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        raise NotImplementedError

    def fit_memory_bytes(self, n_users: int, n_items: int) -> int | None:
        """Peak memory of fitting, for models whose memory grows faster than the data (dense
        items × items); None = no check. Overridden by such models."""
        return None

    def check_memory(self, n_users: int, n_items: int) -> None:
        """Refuse, before any work, a fit whose peak memory exceeds the budget
        (:func:`memory_budget_bytes`; a model may carry ``memory_budget_gb``)."""
        need = self.fit_memory_bytes(n_users, n_items)
        if need is None:
            return
        budget = memory_budget_bytes(getattr(self, "memory_budget_gb", None))
        if need > budget:
            raise ConfigError(
                f"model {type(self).__name__}: fitting {n_items:,} items needs about "
                f"{need / 1e9:.1f} GB, over the memory budget of {budget / 1e9:.1f} GB "
                "(model.params.memory_budget_gb, or SKEWBENCH_MEMORY_BUDGET_GB; default half "
                f"of RAM). {self.memory_alternatives()}"
            )

    def memory_alternatives(self) -> str:
        return (
            "Alternatives: restrict the catalogue (dataset.params item_k / minimum users per "
            "item), or a model whose memory is linear in the catalogue: als, bpr, itemknn."
        )

    def score(self, users: np.ndarray) -> np.ndarray:
        """Scores of every item for each user in ``users``: float32 (len(users) × n_items);
        a read-only broadcast of one row when the model is ``user_independent``."""
        users = self._checked_users(users)
        if self.user_independent and users.size:
            row = np.asarray(self._score_chunk(users[:1])[0], dtype=np.float32)
            return np.broadcast_to(row, (users.size, self.n_items_))
        out = np.empty((users.size, self.n_items_), dtype=np.float32)
        for sl in chunks(users.size, self.chunk_size):
            out[sl] = self._score_chunk(users[sl])
        return out

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _checked_users(self, users: np.ndarray) -> np.ndarray:
        if not hasattr(self, "n_items_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        users = np.asarray(users, dtype=np.int64)
        if users.size and (users.min() < 0 or users.max() >= self.n_users_):
            raise IndexError(f"user index out of range [0, {self.n_users_})")
        return users

    def rank_top(
        self, users: np.ndarray, exclude: sp.csr_matrix, k: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The model's own exact top-k, for models that can rank without a dense score row
        per user: (items, float64 scores) equal to those of ``topk`` over ``score``. None (the
        default) = rank through ``score``."""
        return None


#: Scores held at once while ranking (4M floats = 16 MB): small enough for the allocator to
#: reuse the same memory block after block (a fresh 400 MB block per 1,024 users over 10⁵ items
#: spent more CPU on page faults than on the products), at most 512 users per block.
RANK_BLOCK_ELEMENTS = 1 << 22


def rank_users(
    model: Any,
    exclude: sp.csr_matrix,
    users: np.ndarray,
    k: int,
    with_scores: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Each user's top-``k`` items by ``model.score`` (``exclude[u]``'s items left out; -1
    pads) and, with ``with_scores``, their scores as float64 (−inf at padding). Users are
    scored a block at a time, so memory stays flat in the number of users."""
    from skewbench.metrics.topk import topk

    users = np.asarray(users, dtype=np.int64)
    own = getattr(model, "rank_top", None)
    exclude = sp.csr_matrix(exclude)
    usable = isinstance(k, int | np.integer) and k >= 1
    mine = own(users, exclude, int(k)) if own is not None and usable else None
    if mine is not None:
        return mine[0], (mine[1] if with_scores else None)
    step = int(max(1, min(512, RANK_BLOCK_ELEMENTS // max(int(exclude.shape[1]), 1))))
    if getattr(model, "user_independent", False):  # one shared row, ordered once for all
        step = max(users.size, 1)
    ranked_parts, score_parts = [], []
    for start in range(0, users.size, step):
        u = users[start : start + step]
        S = model.score(u)
        top = topk(S, k, exclude=exclude[u])
        ranked_parts.append(top)
        if with_scores:
            s = np.take_along_axis(S, np.maximum(top, 0), axis=1).astype(np.float64)
            score_parts.append(np.where(top >= 0, s, -np.inf))
    ranked = np.concatenate(ranked_parts) if ranked_parts else np.zeros((0, k), np.int64)
    return ranked, (np.concatenate(score_parts) if score_parts else None)
