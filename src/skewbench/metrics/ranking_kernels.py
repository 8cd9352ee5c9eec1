"""Compiled kernels of :mod:`skewbench.metrics.ranking` (numba, compiled on first use and
cached on disk): the one-pass ranking-metric kernel, the range/repeat check of ranked lists and
the grade lookup. Formulas, conventions and input checks are in :mod:`skewbench.metrics.ranking`.

One pass over each unit's list with one per-item marker array ``mark`` (int32 or int64,
n_items): before unit u's list is walked, each of its truth entries p (a <= p < b in the CSR
arrays) is written as mark[item] = p. Walking the list, mark[item] in [a, b) with data[p] > 0 is
a relevant item of this unit, anything else (another unit's entry, a tag, or the initial -1) a
non-relevant item; each listed item's marker is then overwritten with the unit's tag -2 - u, so
meeting the tag again is a repeat. Padding (-1) takes no rank: the rank is the count of items
listed before, as if the list had been closed up. Marking the truth row also checks it: a
non-finite grade returns code 3, an item stored twice in the row (non-canonical CSR) code 4, so
the caller needs no separate pass over the truth or the lists. One load and one store per list
slot whatever the catalogue size, and the array never needs clearing because CSR ranges and
unit tags never recur. The cut metrics come in the order of ``ranking._CUT``; ``slot`` maps
each to its output row (-1 = not asked for).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Kernels(NamedTuple):
    rank: Callable[..., tuple[int, int]]
    first_bad_row: Callable[..., tuple[int, int]]
    grades: Callable[..., np.ndarray]


@functools.cache
def kernels() -> Kernels:
    import numba  # imported on first use: importing the metrics stays cheap

    jit = numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")

    @jit
    def first_bad_row(ranked, mark):
        """(row, 1) for an index outside [-1, n_items), (row, 2) for a repeat, else (-1, 0) —
        or (-1, -1) when some list has padding before an item (a gap to close). ``mark``: -1
        per item (n_items); a listed item's marker becomes the row number."""
        n_items = mark.size
        n, width = ranked.shape
        gap = False
        for u in range(n):
            pad = False
            for r in range(width):
                it = ranked[u, r]
                if it < 0:
                    if it < -1:
                        return u, 1
                    pad = True
                    continue
                if it >= n_items:
                    return u, 1
                if mark[it] == u:
                    return u, 2
                mark[it] = u
                gap |= pad
        return -1, -1 if gap else 0

    @jit
    def grades(block, indptr, indices, data, n_items):
        n, width = block.shape
        out = np.zeros((n, width), dtype=np.float64)
        mark = np.full(n_items, -1, dtype=np.int64)
        for u in range(n):
            a, b = indptr[u], indptr[u + 1]
            for p in range(a, b):
                mark[indices[p]] = p
            for r in range(width):
                it = block[u, r]
                if it >= 0:
                    m = mark[it]
                    if a <= m < b and data[m] > 0:
                        out[u, r] = data[m]
        return out

    @jit
    def rank(ranked, checked, indptr, indices, data, mark, cutoffs, slot, discount, ncand, fill,
             res, auc):  # fmt: skip
        # Per unit: (1) one scan of the whole list — range and repeat checks, grade lookup,
        # AUC counts — that records the hits (rank, grade); (2) per cutoff, running sums over
        # the hits and the ideal grades up to it. Sums run in rank order, as a cumulative sum
        # over every rank would (adding a non-hit's 0 changes nothing).
        n, width = ranked.shape
        n_cut = cutoffs.size
        do_auc = auc.size > 0
        s_prec, s_rec, s_recc, s_f1 = slot[0], slot[1], slot[2], slot[3]
        s_hit, s_mrr, s_map, s_mapc = slot[4], slot[5], slot[6], slot[7]
        s_ndcg, s_exp, s_bin = slot[8], slot[9], slot[10]
        do_lin = s_ndcg >= 0
        do_exp = s_exp >= 0
        n_items = mark.size
        # Grades are looked up only up to the largest cutoff unless AUC needs the whole list.
        scan = width if do_auc else (min(width, cutoffs[n_cut - 1]) if n_cut else 0)
        max_row = 0
        for u in range(n):
            max_row = max(max_row, indptr[u + 1] - indptr[u])
        ideal = np.zeros(max_row, dtype=np.float64)
        at_least = np.zeros(16, dtype=np.int64)
        kmax = cutoffs[n_cut - 1] if n_cut else 0
        hit_r = np.zeros(width + 1, dtype=np.int64)
        hit_g = np.zeros(width + 1, dtype=np.float64)
        # Results go to a small per-block buffer first, then to ``res`` one (metric, cutoff)
        # row segment at a time: writing res[:, :, u] directly touches a different page per
        # value.
        blk = 64
        inv_cut = 1.0 / cutoffs.astype(np.float64)
        out = np.empty((res.shape[0], n_cut, blk), dtype=np.float64)
        # Checked lists are read only up to ``scan``: their heads are copied a block at a time
        # first, a tight loop whose cache misses overlap — read inside the scan, each list's
        # head waits for its own miss (the hardware prefetcher does not follow the gaps).
        head = np.empty((blk, scan if checked else 0), dtype=ranked.dtype)
        for u in range(n):
            o = u % blk
            if o == 0:
                if u > 0:
                    for j in range(res.shape[0]):
                        for c in range(n_cut):
                            res[j, c, u - blk : u] = out[j, c]
                if checked:
                    for v in range(u, min(n, u + blk)):
                        for r in range(scan):
                            head[v - u, r] = ranked[v, r]
            a, b = indptr[u], indptr[u + 1]
            nrel = 0
            whole = True  # every relevant grade an integer
            gmax = 0.0
            for p in range(a, b):
                g = data[p]
                if g - g != 0.0:  # NaN or ±inf
                    return u, 3
                it = indices[p]
                if mark[it] >= a:  # the item already has an entry in this row
                    return u, 4
                mark[it] = p
                if g > 0:
                    whole &= g == np.floor(g)
                    gmax = max(gmax, g)
                    ideal[nrel] = g
                    nrel += 1
            fnrel = float(nrel)
            # (1) the scan. ``n_valid`` is the rank: padding (-1) inside a list takes none, as
            # if the list had been closed up. A listed item's marker becomes this unit's tag
            # -2 - u (never a CSR position, never another unit's tag), so meeting the tag again
            # is a repeat — no second pass to clear anything. Lists checked where they were
            # built (``checked``: in range, no repeats, padding only at the end) are read only
            # up to ``scan`` and not checked again. Two loops with the same hit bookkeeping on
            # purpose: one loop branching on ``checked`` per slot costs the plain array 15 %.
            n_hit = 0
            n_valid = 0
            n_neg = ncand[u] - fnrel if do_auc else 0.0
            listed = 0.0
            if checked:
                if nrel > 0:
                    for r in range(scan):
                        it = head[o, r]
                        if it < 0:
                            break
                        m = mark[it]
                        if a <= m < b and data[m] > 0:
                            if do_auc:  # non-relevant listed items above: n_valid − n_hit
                                listed += n_neg - (n_valid - n_hit)
                            hit_r[n_hit] = n_valid
                            hit_g[n_hit] = data[m]
                            n_hit += 1
                        n_valid += 1
            else:
                bad = 0
                tag = -2 - u
                for r in range(width):
                    it = ranked[u, r]
                    if it < 0:
                        if it < -1:
                            bad = 1
                            break
                        continue
                    if it >= n_items:
                        bad = 1
                        break
                    m = mark[it]
                    if m == tag:
                        bad = 2
                        break
                    mark[it] = tag
                    if n_valid < scan and a <= m < b and data[m] > 0:
                        if do_auc:  # non-relevant listed items above: n_valid − n_hit
                            listed += n_neg - (n_valid - n_hit)
                        hit_r[n_hit] = n_valid
                        hit_g[n_hit] = data[m]
                        n_hit += 1
                    n_valid += 1
                if bad:
                    return u, bad
            if do_auc:
                if nrel == 0:
                    auc[u] = fill
                elif n_neg > 0:
                    # Relevant items missing from the list tie with the unlisted non-relevant
                    # ones (½ each); a listed relevant item beats every non-relevant one below.
                    tied = (fnrel - n_hit) * 0.5 * (n_neg - (n_valid - n_hit))
                    auc[u] = (listed + tied) / (fnrel * n_neg)
                else:
                    auc[u] = np.nan
            if n_cut == 0:
                continue
            if nrel == 0:
                for c in range(n_cut):
                    for j in range(res.shape[0]):
                        out[j, c, o] = fill
                continue
            # Relevant grades descending, for IDCG, as far as the largest cutoff reads them.
            # Integer grades up to 16 (the usual 1..3 or 1..5): the q-th largest is the number
            # of values v in 1..max with more than q grades >= v — fixed-length loops without
            # branches, where an insertion sort mispredicts on almost every grade. (Helpers
            # are inlined: a kernel calling another jitted closure is not cacheable.)
            if (do_lin or do_exp) and nrel > 1:
                if whole and gmax <= 16.0:
                    gm = int(gmax)
                    for v in range(gm):
                        c = 0
                        for t in range(nrel):
                            c += ideal[t] >= v + 1.0
                        at_least[v] = c
                    for q in range(min(nrel, kmax)):
                        c = 0
                        for v in range(gm):
                            c += at_least[v] > q
                        ideal[q] = c
                elif nrel <= 32:
                    for q in range(1, nrel):
                        v = ideal[q]
                        t = q - 1
                        while t >= 0 and ideal[t] < v:
                            ideal[t + 1] = ideal[t]
                            t -= 1
                        ideal[t + 1] = v
                else:
                    y = np.sort(ideal[:nrel])
                    for q in range(nrel):
                        ideal[q] = y[nrel - 1 - q]
            # (2) the cutoffs
            hits = 0.0
            ap = 0.0
            dcg = 0.0
            dcg_exp = 0.0
            dcg_bin = 0.0
            idcg = 0.0
            idcg_exp = 0.0
            idcg_bin = 0.0
            first = hit_r[0] if n_hit else -1
            rr = 1.0 / (first + 1.0) if first >= 0 else 0.0
            inv_nrel = 1.0 / fnrel
            h = 0
            q = 0
            hit_r[n_hit] = 1 << 62  # sentinel: beyond every cutoff
            for c in range(n_cut):
                kk = cutoffs[c]
                while hit_r[h] < kk:
                    r = hit_r[h]
                    g = hit_g[h]
                    d = discount[r]
                    hits += 1.0
                    ap += hits / (r + 1.0)
                    dcg_bin += d
                    if do_lin:
                        dcg += g * d
                    if do_exp:  # 2^g − 1: an exact shift for small integer grades
                        if g == np.floor(g) and g < 53:
                            dcg_exp += float((1 << np.int64(g)) - 1) * d
                        else:
                            dcg_exp += (2.0**g - 1.0) * d
                    h += 1
                top = min(nrel, kk)
                while q < top:
                    d = discount[q]
                    if do_lin:
                        idcg += ideal[q] * d
                    if do_exp:
                        gi = ideal[q]
                        if gi == np.floor(gi) and gi < 53:
                            idcg_exp += float((1 << np.int64(gi)) - 1) * d
                        else:
                            idcg_exp += (2.0**gi - 1.0) * d
                    idcg_bin += d
                    q += 1
                # Reciprocals instead of divisions where a value is shared (≤ 1 ulp apart);
                # 1/min(|R|, k) = max(1/|R|, 1/k) exactly, as 1/x rounds monotonically.
                inv_k = inv_cut[c]
                inv_cap = max(inv_nrel, inv_k)
                prec = hits * inv_k
                rec = hits * inv_nrel
                if s_prec >= 0:
                    out[s_prec, c, o] = prec
                if s_rec >= 0:
                    out[s_rec, c, o] = rec
                if s_recc >= 0:
                    out[s_recc, c, o] = hits * inv_cap
                if s_f1 >= 0:
                    sm = prec + rec
                    out[s_f1, c, o] = 2.0 * prec * rec / sm if sm > 0 else 0.0
                if s_hit >= 0:
                    out[s_hit, c, o] = 1.0 if hits > 0 else 0.0
                if s_mrr >= 0:
                    out[s_mrr, c, o] = rr if 0 <= first < kk else 0.0
                if s_map >= 0:
                    out[s_map, c, o] = ap * inv_nrel
                if s_mapc >= 0:
                    out[s_mapc, c, o] = ap * inv_cap
                if s_ndcg >= 0:
                    out[s_ndcg, c, o] = dcg / idcg
                if s_exp >= 0:
                    out[s_exp, c, o] = dcg_exp / idcg_exp
                if s_bin >= 0:
                    out[s_bin, c, o] = dcg_bin / idcg_bin
        if n:
            last = (n - 1) // blk * blk
            for j in range(res.shape[0]):
                for c in range(n_cut):
                    res[j, c, last:n] = out[j, c, : n - last]
        return -1, 0

    return Kernels(rank, first_bad_row, grades)
