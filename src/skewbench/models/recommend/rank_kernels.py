"""Exact top-k ranking without a dense score matrix, for the models that allow it.

Both paths give the lists (and float32 scores) of ``topk(model.score(users), k, exclude=...)``
element for element: score descending, ties by item index ascending, excluded items never
listed, -1 padding. What they save is the dense pass over every item.

- Factor models (ALS, BPR): a block of users × a tile of items is multiplied by BLAS into a
  buffer that stays in the core's L2 cache, and each user's k-heap is updated from it while it
  is hot (the item tiles arrive in ascending index, as in ``topk``), instead of writing a
  users × items block to memory and reading it back.
- ItemKNN: a user's scores are non-zero only on the items reachable from their history through
  the kept neighbours; the scatter-add records those, the heap looks only at them, and only a
  user with fewer than k positive candidates walks the catalogue for score-0 items.

The kernels are module-level functions so that numba caches them on disk.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from skewbench.metrics.topk_kernels import push, sift_down

#: Users per block and items per tile of the factor path: 256 × 1,024 float32 scores = 1 MB,
#: half of a core's L2 cache here, and the item tile's factors (1,024 × 64 floats) beside it.
FACTOR_BLOCK_USERS = 256
FACTOR_TILE_ITEMS = 1024


@numba.njit(cache=True, nogil=True, boundscheck=False)
def _pop_all(hs, hi, n, out, out_s):
    """Write the heap's n entries best first into out[:n] (scores into out_s[:n])."""
    for j in range(n - 1, -1, -1):
        out[j] = hi[0]
        out_s[j] = hs[0]
        hs[0] = hs[j]
        hi[0] = hi[j]
        sift_down(hs, hi, j)


@numba.njit(cache=True, nogil=True, boundscheck=False)
def factor_tile(buf, t0, bias, ex_end, ex_idx, ptr, hs, hi, n, k):
    """Merge the scores buf[r, c] of items t0 + c (+ bias, in float32 as the model adds it)
    into row r's heap. ``ptr[r]`` walks r's sorted excluded items up to ``ex_end[r]``; items
    arrive in ascending index, so once the heap is full a newcomer needs a strictly higher
    score than the root (as in ``topk``'s kernel)."""
    b, w = buf.shape
    with_bias = bias.size > 0
    for r in range(b):
        cnt = n[r]
        p = ptr[r]
        end = ex_end[r]
        h_s = hs[r]
        h_i = hi[r]
        c = 0
        while c < w and cnt < k:
            v = buf[r, c]
            if with_bias:
                v = v + bias[t0 + c]
            s = np.float64(v)
            it = t0 + c
            while p < end and ex_idx[p] < it:
                p += 1
            if not (s != s or s == -np.inf or (p < end and ex_idx[p] == it)):
                cnt = push(h_s, h_i, cnt, s, it)
            c += 1
        if cnt == k:
            root = h_s[0]
            for c2 in range(c, w):
                v = buf[r, c2]
                if with_bias:
                    v = v + bias[t0 + c2]
                s = np.float64(v)
                if s > root:
                    it = t0 + c2
                    while p < end and ex_idx[p] < it:
                        p += 1
                    if p < end and ex_idx[p] == it:
                        continue
                    h_s[0] = s
                    h_i[0] = it
                    sift_down(h_s, h_i, k)
                    root = h_s[0]
        n[r] = cnt
        ptr[r] = p


@numba.njit(cache=True, nogil=True, boundscheck=False)
def finish_heaps(hs, hi, n, out, out_s):
    for r in range(n.size):
        _pop_all(hs[r], hi[r], n[r], out[r], out_s[r])


def factor_rank(
    U: np.ndarray,
    V: np.ndarray,
    bias: np.ndarray | None,
    users: np.ndarray,
    exclude: sp.csr_matrix,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of U[users] @ V.T (+ bias) with exclude's items left out: (items, float64 scores),
    -1 / -inf padded; the lists and scores of ``topk`` over the dense product."""
    n_items = V.shape[0]
    kk = min(k, n_items)
    out = np.full((users.size, k), -1, dtype=np.int64)
    out_s = np.full((users.size, k), -np.inf)
    b_arr = np.zeros(0, np.float32) if bias is None else np.asarray(bias, np.float32)
    B, T = FACTOR_BLOCK_USERS, FACTOR_TILE_ITEMS
    buf = np.empty(B * T, dtype=np.float32)
    hs = np.empty((B, kk))
    hi = np.empty((B, kk), dtype=np.int64)
    n = np.zeros(B, dtype=np.int64)
    for start in range(0, users.size, B):
        u = users[start : start + B]
        b = u.size
        ex = exclude[u]
        ex.sort_indices()
        ex_idx = ex.indices.astype(np.int64, copy=False)
        ptr = ex.indptr[:-1].astype(np.int64)
        ex_end = ex.indptr[1:].astype(np.int64)
        Ub = U[u]
        n[:b] = 0
        for t in range(0, n_items, T):
            e = min(t + T, n_items)
            tile = buf[: b * (e - t)].reshape(b, e - t)
            np.dot(Ub, V[t:e].T, out=tile)
            factor_tile(tile, t, b_arr, ex_end, ex_idx, ptr, hs[:b], hi[:b], n[:b], kk)
        finish_heaps(hs[:b], hi[:b], n[:b], out[start : start + b], out_s[start : start + b])
    return out, out_s


def itemknn_rank(
    X: sp.csr_matrix, S: sp.csr_matrix, users: np.ndarray, exclude: sp.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of X[users] @ S (ItemKNN's scores) with exclude's items left out: (items, float64
    scores), -1 / -inf padded; the lists and scores of ``topk`` over the dense product."""
    out = np.full((users.size, k), -1, dtype=np.int64)
    out_s = np.full((users.size, k), -np.inf)
    for start in range(0, users.size, 1 << 14):  # exclusion rows copied a slice at a time
        u = users[start : start + (1 << 14)]
        ex = exclude[u]
        knn_rank(X.indptr, X.indices, X.data, u, S.indptr, S.indices, S.data,
                 ex.indptr, ex.indices, k, out[start : start + u.size],
                 out_s[start : start + u.size])  # fmt: skip
    return out, out_s


@numba.njit(cache=True, nogil=True, boundscheck=False)
def knn_rank(x_ptr, x_idx, x_val, users, s_ptr, s_idx, s_val, ex_ptr, ex_idx, k, out, out_s):
    """Per user r: scores Σ_j X[u, j] S[j] scatter-added in float32 in X's stored order (as
    ItemKNN.score), the touched items recorded; a k-heap over the touched items with a positive
    score that are not excluded (they arrive in any order: full (score, index) compares); if
    fewer than k, the rest in ascending index among the items scoring 0 that are not excluded."""
    n_items = s_ptr.size - 1
    acc = np.zeros(n_items, dtype=s_val.dtype)
    hit = np.zeros(n_items, dtype=np.bool_)
    touched = np.empty(n_items, dtype=np.int64)
    mark = np.full(n_items, -1, dtype=np.int64)
    kk = min(k, n_items)
    hs = np.empty(kk, dtype=np.float64)
    hi = np.empty(kk, dtype=np.int64)
    for r in range(users.size):
        u = users[r]
        for p in range(ex_ptr[r], ex_ptr[r + 1]):
            mark[ex_idx[p]] = r
        m = 0
        for p in range(x_ptr[u], x_ptr[u + 1]):
            j = x_idx[p]
            x = x_val[p]
            for q in range(s_ptr[j], s_ptr[j + 1]):
                i = s_idx[q]
                if not hit[i]:
                    hit[i] = True
                    touched[m] = i
                    m += 1
                acc[i] += x * s_val[q]
        cnt = 0
        for z in range(m):
            i = touched[z]
            s = np.float64(acc[i])
            if not s > 0 or mark[i] == r:
                continue
            if cnt < kk:
                cnt = push(hs, hi, cnt, s, i)
            elif s > hs[0] or (s == hs[0] and i < hi[0]):
                hs[0] = s
                hi[0] = i
                sift_down(hs, hi, kk)
        _pop_all(hs, hi, cnt, out[r], out_s[r])
        i = 0
        while cnt < kk and i < n_items:  # score-0 items, ascending index
            if mark[i] != r and not acc[i] > 0:
                out[r, cnt] = i
                out_s[r, cnt] = np.float64(acc[i])
                cnt += 1
            i += 1
        for z in range(m):
            acc[touched[z]] = 0
            hit[touched[z]] = False
