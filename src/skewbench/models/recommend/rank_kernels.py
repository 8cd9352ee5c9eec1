"""Exact top-k ranking without a dense score matrix, for the models that allow it.

Both paths rank as ``topk(model.score(users), k, exclude=...)`` does: score descending, ties by
item index ascending, excluded items never listed, -1 padding. What they save is most of the
catalogue: a tile of items whose upper bound cannot reach a user's k-th kept score is never
scored for that user. Each bound is widened by the float32 rounding of the score it bounds, and
a tile is skipped only when its bound is strictly below the k-th score, so no item that could
enter (a tie with a lower index included) is missed.

ItemKNN's scores are the dense scores bit for bit (the same float32 additions in the same
order). A factor model's score is a BLAS float32 dot product, and OpenBLAS picks its kernel by
the product's shape: a kernel may round a dot product differently (the dense path's own score
of a user changes with the size of its block), so the factor scores match the dense ones bit
for bit where both products take the same kernel (every benchmark data set) and otherwise to
float32 rounding.

- Factor models (ALS, BPR): items are visited in tiles of descending ‖v‖ (plus bias); a block
  of users × a tile is multiplied by BLAS into a buffer that stays in the core's L2 cache and
  each user's k-heap is updated from it. A user needs a tile while ‖u‖·max‖v‖ + max b over it
  (Cauchy–Schwarz) reaches their k-th score.
- ItemKNN: a user's score of item i is Σ_j x_uj S[j, i] over their history; over a tile of
  items it is at most Σ_j x_uj · max_i S[j, i], which one pass over per-tile maxima of S's rows
  gives for every tile. Tiles are scattered exactly, in descending bound, until the bound
  falls below the k-th score; a user with fewer than k positive scores gets the score-0 items
  in ascending index.

On Zipf-popular catalogues a user's top k sits in the first tiles, so most tiles are skipped
(``benchmarks/bench_rank_top.py``). The kernels are module-level functions so that numba
caches them on disk.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import scipy.sparse as sp

from skewbench.metrics.topk_kernels import push, sift_down

#: Users per block and items per tile of the factor path: 256 × 1,024 float32 scores = 1 MB,
#: half of a core's L2 cache here, and the item tile's factors (1,024 × 64 floats) beside it.
FACTOR_BLOCK_USERS = 256
FACTOR_TILE_ITEMS = 1024
#: Items per tile of ItemKNN's bounded scatter: its float32 scores (4 KB) stay in L1.
KNN_TILE_ITEMS = 1024
#: Users ranked with KNN_TILE_ITEMS before the share of tiles computed decides the rest.
KNN_PILOT_USERS = 64


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
def _find(a, lo, hi, v):
    """The position of v in the sorted a[lo:hi], or -1 (a binary search)."""
    end = hi
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < end and a[lo] == v else -1


@numba.njit(cache=True, nogil=True, boundscheck=False)
def tile_rows(unorm, t_norm, t_bias, s_norm, s_bias, slack, hs, n, k, done, rows):
    """Write into ``rows`` the block's rows that tile t (bound by its largest item norm and
    bias) could still change and return how many. A row needs the tile while its heap is not
    full, or when ``‖u‖·max‖v‖ + max b`` (widened by ``slack`` for float32 rounding) is not
    below its root; a row whose bound over every later tile (the suffix maxima) is below its
    root is done."""
    m = 0
    for r in range(n.size):
        if done[r]:
            continue
        if n[r] == k:
            root = hs[r, 0]
            if root < np.inf and _bound(unorm[r], s_norm, s_bias, slack) < root:
                done[r] = True
                continue
            if root < np.inf and _bound(unorm[r], t_norm, t_bias, slack) < root:
                continue
        rows[m] = r
        m += 1
    return m


@numba.njit(cache=True, nogil=True)
def _bound(unorm, vnorm, bias, slack):
    """An upper bound of fl(fl(u·v) + b) for ‖u‖ = unorm, ‖v‖ ≤ vnorm, b ≤ bias: the float32
    dot product errs by at most a relative ``slack`` of ‖u‖‖v‖ (any summation order), the
    float32 addition by half an ulp."""
    d = unorm * vnorm * (1.0 + slack)
    return d + bias + (d + abs(bias)) * 2.0**-23


@numba.njit(cache=True, nogil=True, boundscheck=False)
def factor_tile(buf, m, rows, items, t0, bias, ex_ptr, ex_idx, hs, hi, n, k):
    """Merge buf[j, c], the float32 score of tile item t0 + c for block row rows[j], plus its
    bias (added in float32, as the model adds it), into the row's heap. Items arrive in any
    index order, so entries compare by (score, original item index) in full; NaN and -inf
    never enter, nor excluded items."""
    w = buf.shape[1]
    with_bias = bias.size > 0
    for j in range(m):
        r = rows[j]
        cnt = n[r]
        h_s = hs[r]
        h_i = hi[r]
        for c in range(w):
            v = buf[j, c]
            if with_bias:
                v = v + bias[t0 + c]
            s = np.float64(v)
            if cnt == k and not (s >= h_s[0]):
                continue  # the common case once the heap is full: not even a tie
            if s != s or s == -np.inf:
                continue
            it = items[t0 + c]
            if cnt == k and s == h_s[0] and it > h_i[0]:
                continue
            if _find(ex_idx, ex_ptr[r], ex_ptr[r + 1], it) >= 0:  # excluded
                continue
            if cnt < k:
                cnt = push(h_s, h_i, cnt, s, it)
            else:
                h_s[0] = s
                h_i[0] = it
                sift_down(h_s, h_i, k)
        n[r] = cnt


@numba.njit(cache=True, nogil=True, boundscheck=False)
def finish_heaps(hs, hi, n, out, out_s):
    for r in range(n.size):
        _pop_all(hs[r], hi[r], n[r], out[r], out_s[r])


def _row_norms(A: np.ndarray) -> np.ndarray:
    """‖a_i‖ per row in float64, a slice of rows at a time (no float64 copy of A)."""
    out = np.empty(A.shape[0])
    for s in range(0, A.shape[0], 1 << 16):
        a = A[s : s + (1 << 16)].astype(np.float64)
        out[s : s + a.shape[0]] = np.sqrt(np.einsum("ij,ij->i", a, a))
    return out


def factor_rank(
    U: np.ndarray,
    V: np.ndarray,
    bias: np.ndarray | None,
    users: np.ndarray,
    exclude: sp.csr_matrix,
    k: int,
    stats: dict[str, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of U[users] @ V.T (+ bias) with exclude's items left out: (items, float64 scores),
    -1 / -inf padded; the lists and scores of ``topk`` over the dense product.

    Items are visited in tiles of descending bound (‖v‖ scaled by the mean user norm, plus the
    bias), and a user skips a tile once ‖u‖·max‖v‖ + max b over it cannot reach the k-th score
    already kept (Cauchy–Schwarz; the bound is widened for float32 rounding, so the lists stay
    exact). ``stats``, when given, receives the user × tile products computed and possible."""
    n_items, f = V.shape
    kk = min(k, n_items)
    out = np.full((users.size, k), -1, dtype=np.int64)
    out_s = np.full((users.size, k), -np.inf)
    with_bias = bias is not None
    b_all = np.zeros(n_items, np.float32) if bias is None else np.asarray(bias, np.float32)
    vnorm = _row_norms(V)
    scale = float(_row_norms(U[users[: 1 << 16]]).mean()) if users.size else 1.0
    order = np.argsort(-(vnorm * scale + b_all), kind="stable")
    Vp = np.ascontiguousarray(V[order])
    bp = b_all[order] if with_bias else np.zeros(0, np.float32)
    T = FACTOR_TILE_ITEMS
    starts = np.arange(0, n_items, T)
    t_norm = np.maximum.reduceat(vnorm[order], starts) if n_items else np.zeros(0)
    t_bias = np.maximum.reduceat(b_all[order].astype(np.float64), starts) if n_items else t_norm
    s_norm = np.maximum.accumulate(t_norm[::-1])[::-1]
    s_bias = np.maximum.accumulate(t_bias[::-1])[::-1]
    slack = 2.0 * f * 2.0**-24  # γ_f of the float32 dot product, doubled
    B = FACTOR_BLOCK_USERS
    buf = np.empty(max(B, 2) * T, dtype=np.float32)
    hs = np.empty((B, kk))
    hi = np.empty((B, kk), dtype=np.int64)
    n = np.zeros(B, dtype=np.int64)
    done = np.zeros(B, dtype=np.bool_)
    rows = np.empty(B, dtype=np.int64)
    computed = 0
    for start in range(0, users.size, B):
        u = users[start : start + B]
        b = u.size
        ex = exclude[u]
        ex.sort_indices()
        ex_idx = ex.indices.astype(np.int64, copy=False)
        ex_ptr = ex.indptr.astype(np.int64)
        Ub = U[u]
        unorm = _row_norms(Ub)
        n[:b] = 0
        done[:b] = False
        for ti, t in enumerate(starts):
            m = tile_rows(unorm, t_norm[ti], t_bias[ti], s_norm[ti], s_bias[ti], slack,
                          hs[:b], n[:b], kk, done[:b], rows)  # fmt: skip
            if m == 0:
                if done[:b].all():
                    break
                continue
            e = min(t + T, n_items)
            # two rows at least: a one-row product may take gemv, whose sums may differ
            sel = rows[:m] if m >= 2 else np.repeat(rows[:1], 2)
            G = Ub if m == b and b >= 2 else Ub[sel]
            tile = buf[: G.shape[0] * (e - t)].reshape(G.shape[0], e - t)
            np.dot(G, Vp[t:e].T, out=tile)
            factor_tile(tile, m, rows, order, t, bp, ex_ptr, ex_idx, hs[:b], hi[:b], n[:b], kk)
            computed += m
        finish_heaps(hs[:b], hi[:b], n[:b], out[start : start + b], out_s[start : start + b])
    if stats is not None:
        stats["computed"] = stats.get("computed", 0) + computed
        stats["possible"] = stats.get("possible", 0) + users.size * starts.size
    return out, out_s


class KnnTiles(NamedTuple):
    """S with its columns renumbered in tile order (descending column sum: the items most often
    a strong neighbour first) and each row sorted, so that a row's entries in one tile are one
    run, a segment; per row its segments' tiles, starts, ends and largest values."""

    order: np.ndarray  # tile-order position → item
    newid: np.ndarray  # item → tile-order position
    indices: np.ndarray
    data: np.ndarray
    seg_ptr: np.ndarray
    seg_tile: np.ndarray
    seg_start: np.ndarray
    seg_end: np.ndarray
    seg_max: np.ndarray
    tile_items: int
    n_tiles: int
    positive: bool  # the bound holds for positive S only (ItemKNN keeps positive similarities)


def knn_tiles(S: sp.csr_matrix, tile_items: int) -> KnnTiles:
    n_rows, n_items = S.shape
    if tile_items >= n_items:  # one tile: no order to give the items, each row one segment
        order = np.arange(n_items)
        newid = order
        Sp = S
    else:
        colsum = np.asarray(S.sum(axis=0, dtype=np.float64)).ravel()
        order = np.argsort(-colsum, kind="stable")
        newid = np.empty(n_items, dtype=np.int64)
        newid[order] = np.arange(n_items)
        Sp = sp.csr_matrix((S.data.copy(), newid[S.indices], S.indptr.copy()), shape=S.shape)
        Sp.sort_indices()
    tile = Sp.indices // tile_items
    row_of = np.repeat(np.arange(n_rows), np.diff(Sp.indptr))
    first = np.ones(Sp.nnz, dtype=np.bool_)
    first[1:] = (row_of[1:] != row_of[:-1]) | (tile[1:] != tile[:-1])
    seg_start = np.flatnonzero(first)
    seg_ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of[seg_start], minlength=n_rows), out=seg_ptr[1:])
    return KnnTiles(
        order, newid, Sp.indices, Sp.data, seg_ptr, tile[seg_start], seg_start,
        np.append(seg_start[1:], Sp.nnz),
        np.maximum.reduceat(Sp.data, seg_start) if Sp.nnz else Sp.data[:0],
        tile_items, -(-n_items // tile_items), bool(Sp.nnz == 0 or Sp.data.min() > 0),
    )  # fmt: skip


def itemknn_rank(
    X: sp.csr_matrix,
    S: sp.csr_matrix,
    users: np.ndarray,
    exclude: sp.csr_matrix,
    k: int,
    stats: dict[str, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of X[users] @ S (ItemKNN's scores) with exclude's items left out: (items, float64
    scores), -1 / -inf padded; the lists and scores of ``topk`` over the dense product.

    The catalogue is cut into tiles of items (``knn_tiles``). A user's bound on a tile,
    Σ_j x_uj · max over the tile of S[j, ·], costs one pass over the tile maxima of their
    history rows; tiles are scattered exactly in descending bound until the next bound, widened
    for float32 rounding, is below the k-th score kept. Where the bounds skip little (over half
    the tiles computed for ``KNN_PILOT_USERS`` users spread over ``users``), the rest are
    ranked with one tile, the whole catalogue, which costs less than many tiles all computed.
    ``stats``, when given, receives the user × tile scatters done and possible."""
    n_items = S.shape[1]
    tiles = knn_tiles(S, KNN_TILE_ITEMS)
    out = np.full((users.size, k), -1, dtype=np.int64)
    out_s = np.full((users.size, k), -np.inf)
    counts = np.zeros(2, dtype=np.int64)
    everyone = np.arange(users.size)
    pilot = np.zeros(0, dtype=np.int64)
    if tiles.n_tiles > 1 and users.size >= 4 * KNN_PILOT_USERS:  # spread over the users
        pilot = np.unique(np.linspace(0, users.size - 1, KNN_PILOT_USERS).astype(np.int64))
    rest = np.setdiff1d(everyone, pilot, assume_unique=True)
    # the pilot, then the rest a slice at a time (exclusion rows are copied per slice)
    parts = [pilot, *(rest[s : s + (1 << 14)] for s in range(0, rest.size, 1 << 14))]
    for n_part, pos in enumerate(parts):
        if n_part == 1 and pilot.size and counts[0] > 0.5 * counts[1]:
            tiles = knn_tiles(S, max(n_items, 1))
        u = users[pos]
        ex = exclude[u]
        part, part_s = out[pos], out_s[pos]
        knn_rank(X.indptr, X.indices, X.data, u, *tiles, ex.indptr, ex.indices, k, part,
                 part_s, counts)  # fmt: skip
        out[pos], out_s[pos] = part, part_s
        counts[1] += u.size * tiles.n_tiles
    if stats is not None:
        stats["computed"] = stats.get("computed", 0) + int(counts[0])
        stats["possible"] = stats.get("possible", 0) + int(counts[1])
    return out, out_s


@numba.njit(cache=True, nogil=True, boundscheck=False)
def knn_rank(x_ptr, x_idx, x_val, users, order, newid, s_idx, s_val, seg_ptr, seg_tile,
             seg_start, seg_end, seg_max, T, n_tiles, positive, ex_ptr, ex_idx, k, out, out_s,
             counts):  # fmt: skip
    """Per user r: the tiles their history reaches, by descending bound (every tile, unbounded,
    when a weight of theirs is not a positive finite number); each tile's scores Σ_j X[u, j]
    S[j, i] scatter-added in float32 in X's stored order (as ItemKNN.score adds them) and its
    positive, non-excluded items merged into a k-heap with full (score, index) compares; stop
    when the heap is full and the next bound cannot reach its root. If fewer than k, the rest
    in ascending index among the items scoring 0 that are not excluded."""
    n_items = order.size
    acc = np.zeros(n_items, dtype=s_val.dtype)  # by tile-order id
    bound = np.zeros(n_tiles, dtype=np.float64)
    tiles = np.empty(n_tiles, dtype=np.int64)
    mark = np.full(n_items, -1, dtype=np.int64)
    kk = min(k, n_items)
    hs = np.empty(kk, dtype=np.float64)
    hi = np.empty(kk, dtype=np.int64)
    for r in range(users.size):
        u = users[r]
        for p in range(ex_ptr[r], ex_ptr[r + 1]):
            mark[ex_idx[p]] = r
        bounded = positive
        for p in range(x_ptr[u], x_ptr[u + 1]):
            if not (x_val[p] > 0 and x_val[p] < np.inf):
                bounded = False
        m = 0
        if bounded:
            for p in range(x_ptr[u], x_ptr[u + 1]):
                x = np.float64(x_val[p])
                for g in range(seg_ptr[x_idx[p]], seg_ptr[x_idx[p] + 1]):
                    t = seg_tile[g]
                    if bound[t] == 0:
                        tiles[m] = t
                        m += 1
                    bound[t] += x * seg_max[g]
            by = np.argsort(-bound[tiles[:m]], kind="mergesort")
            visit = tiles[:m][by]
        else:
            m = n_tiles
            visit = np.arange(n_tiles)
        # float32 sums of at most h + 1 roundings of positive terms: γ_{h+2}, doubled
        widen = 1.0 + 2.0 * (x_ptr[u + 1] - x_ptr[u] + 2) * 2.0**-24
        cnt = 0
        done = 0
        for z in range(m):
            t = visit[z]
            if bounded and cnt == kk and hs[0] < np.inf and bound[t] * widen < hs[0]:
                break
            for p in range(x_ptr[u], x_ptr[u + 1]):
                g = _find(seg_tile, seg_ptr[x_idx[p]], seg_ptr[x_idx[p] + 1], t)  # j's run in t
                if g < 0:
                    continue
                x = x_val[p]
                for q in range(seg_start[g], seg_end[g]):
                    acc[s_idx[q]] += x * s_val[q]
            for c in range(t * T, min(t * T + T, n_items)):
                s = np.float64(acc[c])
                if cnt == kk and not s >= hs[0]:
                    continue
                if not s > 0:
                    continue
                i = order[c]
                if mark[i] == r:
                    continue
                if cnt < kk:
                    cnt = push(hs, hi, cnt, s, i)
                elif s > hs[0] or i < hi[0]:
                    hs[0] = s
                    hi[0] = i
                    sift_down(hs, hi, kk)
            done += 1
        counts[0] += done
        _pop_all(hs, hi, cnt, out[r], out_s[r])
        i = 0
        while cnt < kk and i < n_items:  # score-0 items, ascending index
            if mark[i] != r and not acc[newid[i]] > 0:
                out[r, cnt] = i
                out_s[r, cnt] = np.float64(acc[newid[i]])
                cnt += 1
            i += 1
        for z in range(done):
            t = visit[z]
            acc[t * T : min(t * T + T, n_items)] = 0
        for z in range(m if bounded else 0):
            bound[tiles[z]] = 0
