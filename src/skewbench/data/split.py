"""Splits: stratified (classification) and per-user / temporal / leave-last-out (interactions).

All randomness comes from the caller's ``np.random.Generator``; nothing touches global state.
Interaction splits take a frame with ``user_id``, ``item_id``, ``timestamp`` and return
``(train, test)`` frames that keep the input's index labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

SmallClasses = Literal["error", "drop", "train"]


def within_group_rank(codes: np.ndarray, order: np.ndarray, n_groups: int) -> np.ndarray:
    """For rows taken in ``order`` (grouped by code), their 0-based position inside the group."""
    sorted_codes = codes[order]
    starts = np.searchsorted(sorted_codes, np.arange(n_groups))
    return np.arange(codes.size) - starts[sorted_codes]


def allocate(n: int, fractions: np.ndarray) -> np.ndarray:
    """Split ``n`` examples by ``fractions``: floor(f·n), then at least 1 per non-zero fraction
    (taken from the largest parts), then the remainder by largest fractional part (ties: the
    earlier split). Requires n ≥ number of non-zero fractions.
    """
    exact = fractions * n
    alloc = np.floor(exact + 1e-9).astype(np.int64)
    need = (fractions > 0) & (alloc == 0)
    alloc[need] = 1
    while alloc.sum() > n:  # forced ones overshot: take from the largest part
        alloc[np.argmax(alloc)] -= 1
    rest = n - alloc.sum()
    if rest > 0:
        frac = np.where(fractions > 0, exact - np.floor(exact + 1e-9), -1.0)
        alloc[np.argsort(-frac, kind="stable")[:rest]] += 1
    return alloc


def _check_fractions(fractions: Sequence[float]) -> np.ndarray:
    f = np.asarray(fractions, dtype=float)
    if f.ndim != 1 or f.size < 2 or (f < 0).any() or abs(f.sum() - 1) > 1e-6:
        raise ValueError(f"fractions must be >= 0, at least two, summing to 1; got {fractions}")
    return f


def _check_small_classes(small_classes: str) -> None:
    if small_classes not in ("error", "drop", "train"):
        raise ValueError(f"small_classes must be 'error', 'drop' or 'train', got {small_classes!r}")


def _label_codes(values: object, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..k-1 in sorted order of the unique values; a missing value is an error."""
    codes, uniques = pd.factorize(pd.Series(values).to_numpy(), sort=True)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise ValueError(f"{what}: missing value at position {row}")
    return codes.astype(np.int64), np.asarray(uniques)


def stratified_split(
    labels: Sequence[object] | np.ndarray | pd.Series,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    rng: np.random.Generator | None = None,
    *,
    small_classes: SmallClasses = "error",
) -> tuple[np.ndarray, ...]:
    """Stratified split into ``len(fractions)`` parts; returns sorted 0-based positions per part.

    Rule: a class with n_c ≥ m examples (m = number of non-zero fractions; 3 by default) appears
    in every part, with sizes from :func:`allocate` (f·n_c rounded, at least 1 each); which
    examples go where is uniform at random under ``rng``. Classes with fewer than m examples:
    ``small_classes="error"`` (default) raises naming them, ``"drop"`` leaves them out of every
    part, ``"train"`` puts all their examples in the first part.
    """
    if rng is None:
        raise ValueError("stratified_split needs an explicit np.random.Generator (rng=)")
    f = _check_fractions(fractions)
    _check_small_classes(small_classes)
    codes, uniques = _label_codes(labels, "labels")
    counts = np.bincount(codes, minlength=len(uniques))
    m = int((f > 0).sum())
    small = counts < m
    if small.any() and small_classes == "error":
        names = ", ".join(f"{uniques[i]!r} ({counts[i]})" for i in np.flatnonzero(small)[:10])
        raise ValueError(
            f"{int(small.sum())} class(es) have fewer than {m} examples and cannot appear in "
            f"every split: {names}; drop them first or pass small_classes='drop' or 'train'"
        )
    alloc = np.zeros((len(uniques), f.size), dtype=np.int64)
    for c in np.flatnonzero(~small):
        alloc[c] = allocate(int(counts[c]), f)
    if small_classes == "train":
        alloc[small, 0] = counts[small]
    order = np.lexsort((rng.random(codes.size), codes))  # by class, random within class
    within = within_group_rank(codes, order, len(uniques))
    bounds = np.cumsum(alloc, axis=1)[codes[order]]  # (n, parts) cumulative sizes of own class
    part = (within[:, None] >= bounds).sum(axis=1)  # == parts for dropped rows
    return tuple(np.sort(order[part == s]) for s in range(f.size))


def stratified_group_split(
    labels: Sequence[object] | np.ndarray | pd.Series,
    groups: Sequence[object] | np.ndarray | pd.Series,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    rng: np.random.Generator | None = None,
    *,
    small_classes: SmallClasses = "error",
) -> tuple[np.ndarray, ...]:
    """Stratified split that keeps every group (e.g. item_id) wholly in one part; returns sorted
    0-based row positions per part, like :func:`stratified_split`.

    Target: T[c, s] = f_s · n_c rows of class c in part s. Groups are placed one at a time,
    largest first (big groups go while there is room, small ones fill the gaps; equal sizes in
    random order from ``rng``), each in the part with f_s > 0 that least raises Pearson's
    χ² = Σ_{c,s} (A[c,s] − T[c,s])² / T[c,s] (A = rows placed so far): adding a group with
    x_c rows of class c to part s changes it by Σ_c x_c (2 (A[c,s] − T[c,s]) + x_c) / T[c,s];
    ties go to the earlier part. Dividing by T makes errors relative, so small classes and the
    small val/test parts count as much as big ones. With single-class groups each class is
    placed independently, so the per-part class counts do not depend on ``rng``; ``rng`` only
    picks which of equally sized groups go where. Same ``rng`` state → same split. Chosen over
    sklearn's StratifiedGroupKFold, which makes k equal folds and orders groups by the spread
    of their class shares (0 for every single-class group, i.e. shuffle order only): on the
    clothing data it gives χ² ≈ 750 for 7/1/2 folds against ≈ 3 here.

    Coverage: a class found in ≥ m groups (m = number of non-zero fractions; 3 by default)
    appears in every part: when a class has no more unplaced groups than parts still lacking
    it, its next group (so its smallest ones) must go to one of those parts. A group may hold
    several classes (one clothing item does); if two such constraints on one group exclude
    each other (possible only with shared groups; no search for another placement is made),
    ``ValueError`` names the group and classes. Classes in fewer than m groups:
    ``small_classes="error"`` (default) raises naming them with their group counts,
    ``"drop"`` leaves their rows out of every part (other rows of their groups stay),
    ``"train"`` puts every group that holds one of their rows wholly in the first part.
    """
    if rng is None:
        raise ValueError("stratified_group_split needs an explicit np.random.Generator (rng=)")
    f = _check_fractions(fractions)
    _check_small_classes(small_classes)
    y, classes = _label_codes(labels, "labels")
    g, group_names = _label_codes(groups, "groups")
    if y.size != g.size:
        raise ValueError(f"labels has {y.size} rows but groups has {g.size}")
    n_cls, n_grp, n_parts = classes.size, int(g.max(initial=-1)) + 1, f.size
    # (group, class) cells with row counts, sorted by group then class
    cell, cnt = np.unique(g * n_cls + y, return_counts=True)
    cg, cc = cell // n_cls, cell % n_cls
    cnt = cnt.astype(float)
    n_groups_of = np.bincount(cc, minlength=n_cls)
    m = int((f > 0).sum())
    small = n_groups_of < m
    if small.any() and small_classes == "error":
        idx = np.flatnonzero(small)
        names = ", ".join(f"{classes[i]!r} ({n_groups_of[i]} group(s))" for i in idx[:10])
        raise ValueError(
            f"{idx.size} class(es) occur in fewer than {m} groups and cannot appear in every "
            f"split: {names}; drop them first or pass small_classes='drop' or 'train'"
        )
    if small_classes == "drop":
        cnt[small[cc]] = 0.0  # their rows neither count nor get placed
    target = np.bincount(y, minlength=n_cls)[:, None] * f[None, :]
    # 1/T over (class, part) cells that are scored: large classes, non-zero parts
    inv_t = np.zeros_like(target)
    np.divide(1.0, target, out=inv_t, where=(~small)[:, None] & (target > 0))
    closed = f == 0
    size = np.bincount(cg, weights=cnt, minlength=n_grp)
    tie = rng.random(n_grp)
    start = np.searchsorted(cg, np.arange(n_grp + 1))  # cells of group k: start[k]:start[k+1]
    part = np.full(n_grp, -1, dtype=np.int64)
    alloc = np.zeros((n_cls, n_parts))

    def cost(k: int) -> np.ndarray:
        c, x = cc[start[k] : start[k + 1]], cnt[start[k] : start[k + 1], None]
        delta = (x * (2.0 * (alloc[c] - target[c]) + x) * inv_t[c]).sum(axis=0)
        delta[closed] = np.inf
        return delta

    def place(k: int, s: int) -> None:
        part[k] = s
        sl = slice(start[k], start[k + 1])
        alloc[cc[sl], s] += cnt[sl]

    if small_classes == "train":
        for k in np.unique(cg[small[cc]]):
            place(int(k), 0)
    # coverage: a group with a class c whose unplaced groups are no more than the parts
    # still lacking c must go to one of those parts (so the invariant unplaced ≥ lacking holds)
    left = np.bincount(cc[part[cg] < 0], minlength=n_cls)  # unplaced groups per class
    for k in np.lexsort((tie, -size)):
        if part[k] >= 0 or size[k] == 0:
            continue
        c = cc[start[k] : start[k + 1]]
        delta = cost(int(k))
        lacking = ~closed & (alloc[c] == 0)  # (classes of k, parts)
        tight = ~small[c] & (left[c] <= lacking.sum(axis=1)) & lacking.any(axis=1)
        if tight.any():
            allowed = lacking[tight].all(axis=0)
            if not allowed.any():
                names = ", ".join(repr(classes[i]) for i in c[tight])
                raise ValueError(
                    f"groups: group {group_names[k]!r} holds classes {names}, whose other "
                    "groups are placed so that each needs it in a different split (a placement "
                    "covering all splits may exist; this greedy does not search for it); "
                    "pass them as small classes or regroup"
                )
            delta[~allowed] = np.inf
        place(int(k), int(np.argmin(delta)))
        left[c] -= 1
    row_part = part[g]
    if small_classes == "drop":
        row_part[small[y]] = -1
    return tuple(np.flatnonzero(row_part == s) for s in range(n_parts))


def _codes(df: pd.DataFrame, column: str) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(df[column], sort=False)
    return codes, len(uniques)


def per_user_ratio_split(
    interactions: pd.DataFrame,
    test_frac: float = 0.2,
    rng: np.random.Generator | None = None,
    *,
    min_train: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random per-user split: user u with n_u interactions gets
    n_test = min(⌊test_frac · n_u + 0.5⌋, n_u − min_train) of them, chosen uniformly at random,
    in the test part (so every user keeps ≥ ``min_train`` training interactions).
    """
    if rng is None:
        raise ValueError("per_user_ratio_split needs an explicit np.random.Generator (rng=)")
    if not 0 < test_frac < 1:
        raise ValueError(f"test_frac must be in (0, 1), got {test_frac}")
    codes, n_users = _codes(interactions, "user_id")
    n_u = np.bincount(codes, minlength=n_users)
    n_test = np.minimum(np.floor(test_frac * n_u + 0.5), np.maximum(n_u - min_train, 0))
    order = np.lexsort((rng.random(codes.size), codes))
    within = within_group_rank(codes, order, n_users)
    is_test = np.zeros(codes.size, dtype=bool)
    is_test[order] = within < n_test[codes[order]]
    return interactions.loc[~is_test], interactions.loc[is_test]


def leave_last_out(
    interactions: pd.DataFrame,
    n: int = 1,
    rng: np.random.Generator | None = None,
    *,
    min_train: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per user, the ``n`` latest interactions go to test; users with fewer than
    n + ``min_train`` interactions stay wholly in train. Ties in time are broken at random
    under ``rng`` if given, else by row order (later row = later).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    codes, n_users = _codes(interactions, "user_id")
    ts = interactions["timestamp"].to_numpy()
    tie = rng.random(codes.size) if rng is not None else np.arange(codes.size)
    order = np.lexsort((tie, ts, codes))  # by user, then time ascending
    within = within_group_rank(codes, order, n_users)
    n_u = np.bincount(codes, minlength=n_users)
    from_end = n_u[codes[order]] - within  # 1 = the user's latest
    eligible = n_u[codes[order]] >= n + min_train
    is_test = np.zeros(codes.size, dtype=bool)
    is_test[order] = eligible & (from_end <= n)
    return interactions.loc[~is_test], interactions.loc[is_test]


def temporal_split(
    interactions: pd.DataFrame,
    test_frac: float | None = 0.2,
    *,
    cut: int | None = None,
    last_n: int | None = None,
    drop_cold: bool = True,
    rng: np.random.Generator | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Temporal split, one of:

    - global cut (default): ``cut`` = the (1 − test_frac) quantile of timestamps (numpy's
      linear interpolation, then rounded up to an integer) unless given; train = rows with
      timestamp < cut, test = rows with timestamp ≥ cut;
    - ``last_n``: per-user last n interactions (:func:`leave_last_out`, ``rng`` breaks ties).

    ``drop_cold`` (global cut only) removes test rows whose user or item never occurs in train,
    since no collaborative model can score them; the count removed is in ``test.attrs``.
    """
    if last_n is not None:
        return leave_last_out(interactions, last_n, rng)
    ts = interactions["timestamp"].to_numpy()
    if cut is None:
        if test_frac is None or not 0 < test_frac < 1:
            raise ValueError(f"test_frac must be in (0, 1), got {test_frac}")
        cut = int(np.ceil(np.quantile(ts, 1 - test_frac)))
    is_test = ts >= cut
    train, test = interactions.loc[~is_test], interactions.loc[is_test]
    n_cold = 0
    if drop_cold:
        warm = test["user_id"].isin(train["user_id"]) & test["item_id"].isin(train["item_id"])
        n_cold = int((~warm).sum())
        test = test.loc[warm]
    test.attrs = {"cut": cut, "cold_rows_dropped": n_cold}
    return train, test
