"""Common interface of the search models, candidate lists and tie counting.

A retriever is fitted on the catalog's document texts (row i = item index i) and scores query
batches against every item: ``score(queries) -> (units × items)`` float array, where ``-inf``
marks an item that is not a candidate (e.g. outside a re-ranker's first-stage list). Models whose
index cannot score every item (HNSW) also define ``native_search(queries, k)``.

A query batch may restrict each query to its own candidate set (``QueryBatch.allowed``, e.g. the
ESCI task-1 protocol: a query ranks only its judged products): :func:`restrict` sets every other
item to ``-inf``; :func:`search` applies it to every score block (and then never uses a native
ANN search, which cannot honour it), and models that cut intermediate top lists (RRF, the
cross-encoder's first stage) apply it before cutting.

Ranking follows the metrics engine (:func:`skewbench.metrics.topk.topk`): score descending, then
item index ascending. Text-only models give many products identical scores (Complete Journey
products that share category, brand, manufacturer and size have the same text), so the order of
those products is decided by the tie-break, not the model. :func:`count_ties` says how often.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.metrics.topk import topk


@dataclass
class QueryBatch:
    """Queries to score: texts, and (for personalised models) the row of each query's user in
    the training history matrix, -1 for a user without history."""

    texts: list[str]
    users: np.ndarray | None = None
    allowed: sp.csr_matrix | None = None  # (queries × items): nonzero = a candidate; None = all

    def __len__(self) -> int:
        return len(self.texts)

    def slice(self, start: int, stop: int) -> QueryBatch:
        users = None if self.users is None else self.users[start:stop]
        allowed = None if self.allowed is None else self.allowed[start:stop]
        return QueryBatch(self.texts[start:stop], users, allowed)

    def take(self, rows: np.ndarray) -> QueryBatch:
        """The queries at positions ``rows`` (in that order)."""
        rows = np.asarray(rows, dtype=np.int64)
        users = None if self.users is None else self.users[rows]
        allowed = None if self.allowed is None else sp.csr_matrix(self.allowed)[rows]
        return QueryBatch([self.texts[i] for i in rows], users, allowed)

    @classmethod
    def from_frame(cls, queries: pd.DataFrame, user_index: dict[str, int] | None) -> QueryBatch:
        users = None
        if user_index is not None and "user_id" in queries.columns:
            users = np.array(
                [user_index.get(u, -1) for u in queries["user_id"].astype(str)], dtype=np.int64
            )
        return cls(list(queries["text"].astype(str)), users)


@runtime_checkable
class Retriever(Protocol):
    """fit on document texts, then score query batches against all items."""

    def fit(self, texts: list[str], **data: object) -> Retriever: ...

    def score(self, queries: QueryBatch) -> np.ndarray: ...


@dataclass
class Candidates:
    """Top-K lists: ``items`` (units × K) int64 (-1 pads), ``scores`` (units × K) float64
    (-inf at pads), and tie counts (see :func:`count_ties`; ``None`` where not computable)."""

    items: np.ndarray
    scores: np.ndarray
    ties_within: int = 0
    ties_boundary: int | None = 0
    units_with_boundary_ties: int | None = 0

    def tie_info(self, prefix: str = "ties") -> dict[str, int | None]:
        return {
            f"{prefix}_within": int(self.ties_within),
            f"{prefix}_boundary": self.ties_boundary,
            f"{prefix}_units_boundary": self.units_with_boundary_ties,
        }


def count_ties(scores: np.ndarray, ranked: np.ndarray) -> tuple[int, int, int]:
    """Tie counts for lists ``ranked`` (units × k, -1 pads) cut from ``scores`` (units × items).

    - within: adjacent positions (r, r+1) of a list whose scores are equal — pairs ordered by the
      item-index tie-break rather than by the model;
    - boundary: items *outside* a list scoring exactly the list's last (k-th) score — items the
      tie-break shut out; counted only for full lists and finite k-th scores;
    - units_boundary: number of units with at least one boundary tie.
    """
    n, k = ranked.shape
    if n == 0 or k == 0:
        return 0, 0, 0
    valid = ranked >= 0
    safe = np.where(valid, ranked, 0)
    top = np.take_along_axis(scores, safe, axis=1).astype(np.float64)
    top[~valid] = -np.inf
    both = valid[:, 1:] & valid[:, :-1]
    within = int(np.sum((top[:, 1:] == top[:, :-1]) & both))
    last = top[:, -1]
    full = valid[:, -1] & np.isfinite(last)
    boundary_per_unit = np.zeros(n, dtype=np.int64)
    if full.any():
        rows = np.nonzero(full)[0]
        s = scores[rows].astype(np.float64)
        eq_all = (s == last[rows, None]).sum(axis=1)
        eq_in = (top[rows] == last[rows, None]).sum(axis=1)
        boundary_per_unit[rows] = eq_all - eq_in
    return within, int(boundary_per_unit.sum()), int((boundary_per_unit > 0).sum())


def candidates_from_scores(scores: np.ndarray, k: int) -> Candidates:
    """Top-k of a score block with the engine's tie-break, plus tie counts."""
    ranked = topk(scores, k)
    safe = np.where(ranked >= 0, ranked, 0)
    top = np.take_along_axis(scores, safe, axis=1).astype(np.float64)
    top[ranked < 0] = -np.inf
    within, boundary, units = count_ties(scores, ranked)
    return Candidates(ranked, top, within, boundary, units)


def concat(parts: list[Candidates]) -> Candidates:
    """Stack candidate blocks row-wise, summing tie counts (None if any part lacks them)."""
    b = [p.ties_boundary for p in parts]
    u = [p.units_with_boundary_ties for p in parts]
    return Candidates(
        np.vstack([p.items for p in parts]),
        np.vstack([p.scores for p in parts]),
        sum(p.ties_within for p in parts),
        None if any(x is None for x in b) else sum(x or 0 for x in b),
        None if any(x is None for x in u) else sum(x or 0 for x in u),
    )


def restrict(scores: np.ndarray, queries: QueryBatch) -> np.ndarray:
    """``scores`` with every item outside ``queries.allowed`` set to ``-inf`` (a new array;
    ``scores`` itself when there is no restriction).

    Every allowed item stays a candidate: one the model gave ``-inf`` (no BM25 term match,
    outside a first stage's list) gets its row's lowest finite score minus 1 (−1 if none), so
    it is ranked after every scored candidate, tied with the other unscored ones (the task-1
    protocol ranks all of a query's judged products)."""
    if queries.allowed is None:
        return scores
    allowed = sp.csr_matrix(queries.allowed)
    if allowed.shape != scores.shape:
        raise ValueError(f"allowed {allowed.shape} does not match scores {scores.shape}")
    out = np.full(scores.shape, -np.inf, dtype=np.float64)
    rows, cols = allowed.nonzero()
    vals = scores[rows, cols].astype(np.float64)
    finite = np.isfinite(vals)
    low = np.full(scores.shape[0], np.inf)
    np.minimum.at(low, rows[finite], vals[finite])
    floor = np.where(np.isfinite(low), low, 0.0) - 1.0
    out[rows, cols] = np.where(finite, vals, floor[rows])
    return out


def search(model: Retriever, queries: QueryBatch, k: int, batch_size: int = 256) -> Candidates:
    """Top-k candidates of every query: the model's own ``native_search(queries, k)`` when it
    has one, it does not return None (an ANN index) and the queries are unrestricted; else
    ``score`` in batches of ``batch_size`` queries (memory O(batch × items)), :func:`restrict`
    and top-k."""
    own = getattr(model, "native_search", None)
    if callable(own) and queries.allowed is None:
        found = own(queries, k)
        if found is not None:
            return found
    parts = []
    for s in range(0, len(queries), batch_size):
        batch = queries.slice(s, s + batch_size)
        parts.append(candidates_from_scores(restrict(model.score(batch), batch), k))
    if not parts:
        return Candidates(np.empty((0, k), np.int64), np.empty((0, k)))
    return concat(parts)
