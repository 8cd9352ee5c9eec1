"""Top-k selection from a dense score matrix with a deterministic tie-break.

Order: score descending, then item index ascending (stable). Items whose score is ``-inf`` or
NaN, and items in ``exclude``, are not candidates and never appear; a row with fewer than k
candidates is padded with -1 on the right.

Scores that do not depend on the unit (popularity: ``np.broadcast_to(row, (units, items))``,
a read-only view whose rows share memory, stride 0) take a shared-row path with the same
result: the row is ordered once, then each unit walks that order skipping its excluded items —
O(k + excluded) per unit instead of a selection over every item.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from skewbench.errors import SchemaError

# Score elements per kernel call (rows are selected in place; only a strided input is copied,
# one chunk at a time, so extra memory stays flat in the number of units).
_CHUNK_ELEMENTS = 1 << 22


def topk(
    scores: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | sp.csr_array | None = None,
) -> np.ndarray:
    """Return the k best items per row as a (units × k) int64 array of item indices.

    Ranking: score descending; ties broken by item index ascending (so the result does not
    depend on the sort algorithm); ``exclude[u, i] != 0`` (any stored entry, e.g. the training
    interactions) removes item i for unit u, as does a score of ``-inf`` or NaN. Rows with fewer
    than k candidates are padded with -1. Each row is scanned once with a k-heap (compiled);
    extra memory is O(items + k), not O(units × items).
    """
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise SchemaError("topk", f"scores must be 2-D (units × items), got shape {scores.shape}")
    if not isinstance(k, int | np.integer) or k < 1:
        raise SchemaError("topk", f"k must be a positive integer, got {k!r}")
    n_units, n_items = scores.shape
    if exclude is not None:
        exclude = sp.csr_matrix(exclude)
        if exclude.shape != scores.shape:
            raise SchemaError(
                "topk", f"exclude has shape {exclude.shape}, scores have shape {scores.shape}"
            )
    k = int(k)
    kk = min(k, n_items)
    out = np.full((n_units, k), -1, dtype=np.int64)
    if n_units == 0 or kk == 0:
        return out
    if n_units > 1 and scores.strides[0] == 0:  # every row is the same memory: one selection
        return _topk_shared(scores[0], k, n_units, exclude)
    if exclude is None:
        indptr, indices = np.zeros(n_units + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    else:
        indptr = exclude.indptr.astype(np.int64, copy=False)
        indices = exclude.indices.astype(np.int64, copy=False)
    if scores.dtype not in (np.float32, np.float64):
        scores = scores.astype(np.float64)
    step = max(1, _CHUNK_ELEMENTS // max(n_items, 1))
    for start in range(0, n_units, step):
        stop = min(n_units, start + step)
        block = np.ascontiguousarray(scores[start:stop])  # a view unless strided
        _heap_kernel()(block, indptr[start : stop + 1], indices, kk, out[start:stop])
    return out


def _topk_shared(row: np.ndarray, k: int, n_units: int, exclude: sp.csr_matrix | None):
    """The shared row ordered once (score desc, item index asc; NaN and -inf dropped), then
    per unit the first k items of that order not excluded for it."""
    row = np.asarray(row, dtype=np.float64)
    order = np.argsort(-row, kind="stable")  # stable: ascending item index among equal scores
    order = order[~(np.isnan(row[order]) | (row[order] == -np.inf))]
    if exclude is None:
        out = np.full((n_units, k), -1, dtype=np.int64)
        out[:, : min(k, order.size)] = order[:k]
        return out
    return _shared_kernel()(
        order.astype(np.int64),
        exclude.indptr.astype(np.int64, copy=False),
        exclude.indices.astype(np.int64, copy=False),
        row.size,
        k,
    )


@functools.cache
def _shared_kernel():
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def walk(order, indptr, indices, n_items, k):
        n_units = indptr.size - 1
        out = np.full((n_units, k), -1, dtype=np.int64)
        mark = np.full(n_items, -1, dtype=np.int64)  # mark[i] == u: i excluded for unit u
        for u in range(n_units):
            for p in range(indptr[u], indptr[u + 1]):
                mark[indices[p]] = u
            j = 0
            for i in order:
                if mark[i] != u:
                    out[u, j] = i
                    j += 1
                    if j == k:
                        break
        return out

    return walk


def _heap_kernel():
    from skewbench.metrics.topk_kernels import select

    return select
