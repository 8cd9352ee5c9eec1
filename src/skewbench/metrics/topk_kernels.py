"""Compiled kernel of :func:`skewbench.metrics.topk.topk`'s general path: a k-heap per row.

Imported on first use (importing numba is not free). The kernels are module-level functions so
that ``select``, which calls ``sift_down``, is cached on disk: a jitted closure that calls
another one is compiled afresh in every process.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, boundscheck=False)
def sift_down(hs, hi, size):
    """Move the root of the heap hs[:size] (worst on top) down to its place."""
    pos = 0
    while True:
        c = 2 * pos + 1
        if c >= size:
            break
        if c + 1 < size and (hs[c + 1] < hs[c] or (hs[c + 1] == hs[c] and hi[c + 1] > hi[c])):
            c += 1
        if hs[c] < hs[pos] or (hs[c] == hs[pos] and hi[c] > hi[pos]):
            hs[c], hs[pos] = hs[pos], hs[c]
            hi[c], hi[pos] = hi[pos], hi[c]
            pos = c
        else:
            break


@numba.njit(cache=True, nogil=True, boundscheck=False)
def push(hs, hi, n, s, i):
    """Add (s, i) to the heap hs[:n] (worst on top: lower score, or equal score and higher
    index); returns the new size."""
    pos = n
    hs[pos] = s
    hi[pos] = i
    while pos > 0:
        parent = (pos - 1) >> 1
        if hs[pos] < hs[parent] or (hs[pos] == hs[parent] and hi[pos] > hi[parent]):
            hs[pos], hs[parent] = hs[parent], hs[pos]
            hi[pos], hi[parent] = hi[parent], hi[pos]
            pos = parent
        else:
            break
    return n + 1


@numba.njit(cache=True, nogil=True, boundscheck=False)
def select(block, indptr, indices, k, out):
    """Per row, a k-heap whose root is the worst kept item: items arrive in ascending
    index, so a newcomer enters only with a strictly higher score than the root. Then a
    heap sort writes the k best (score desc, index asc); -1 pads. Once the heap is full,
    a score not above the root (NaN and -inf never are) is dropped before anything else
    is read: the scan is one compare per item."""
    n_rows, n_items = block.shape
    mark = np.full(n_items, -1, dtype=np.int64)  # mark[i] == u: i excluded for row u
    hs = np.empty(k, dtype=np.float64)
    hi = np.empty(k, dtype=np.int64)
    for u in range(n_rows):
        for p in range(indptr[u], indptr[u + 1]):
            mark[indices[p]] = u
        n = 0
        i = 0
        while i < n_items and n < k:  # fill the heap (sift up)
            s = np.float64(block[u, i])
            if not (s != s or s == -np.inf or mark[i] == u):
                n = push(hs, hi, n, s, i)
            i += 1
        root = hs[0]
        for t in range(i, n_items):
            s = np.float64(block[u, t])
            if s > root and mark[t] != u:
                hs[0] = s
                hi[0] = t
                sift_down(hs, hi, k)
                root = hs[0]
        for j in range(n - 1, -1, -1):  # pop the worst into the last free slot
            out[u, j] = hi[0]
            hs[0] = hs[j]
            hi[0] = hi[j]
            sift_down(hs, hi, j)
