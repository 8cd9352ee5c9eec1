"""Synthetic data with known ground truth, for tests and scale runs.

- :func:`labelled_text`: K classes with exponential-profile sizes (ratio ρ), each class with its
  own vocabulary, so a bag-of-words model can learn it and the true label is known.
- :func:`zipf_interactions`: implicit feedback whose item popularity follows a Zipf law
  p_i ∝ (i + 1)^(−a), with known item popularity ranks (a small DataFrame).
- :func:`zipf_chunks` / :func:`zipf_matrix`: the same law at scale, streamed in chunks of integer
  (user, item) arrays, with configurable user activity and catalogue size: 10⁷ interactions in
  seconds and O(n_users + n_items + chunk) memory (no users × items temporaries).

Sampling law (all generators): user u draws n_u distinct items by successive sampling without
replacement from p (draw i ∝ p, redraw while i is already among u's items) — the same law as a
Gumbel top-n_u of log p. Activity: E[n_u] ∝ (u + 1)^(−b) (``activity_a`` = b; 0 = equal), the
counts a multinomial of ``n_interactions`` over users, each capped at ``max_per_user`` (default
n_items // 2, so redraws stay cheap) with the excess re-dealt to users below the cap.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.errors import ConfigError


def class_sizes(n_classes: int, n_max: int, rho: float) -> np.ndarray:
    """n_k = round(n_max · ρ^(−k/(K−1))), k = 0 … K−1 (class 0 largest), at least 1."""
    if n_classes == 1:
        return np.array([n_max], dtype=np.int64)
    k = np.arange(n_classes)
    return np.maximum(np.round(n_max * rho ** (-k / (n_classes - 1))), 1).astype(np.int64)


def labelled_text(
    rng: np.random.Generator,
    n_classes: int = 5,
    n_max: int = 200,
    rho: float = 10.0,
    words_per_class: int = 20,
    shared_words: int = 50,
    length: int = 12,
    signal: float = 0.5,
) -> pd.DataFrame:
    """Labelled texts: each word is drawn from the class's own vocabulary ("c{k}w{j}") with
    probability ``signal``, else from a shared vocabulary ("s{j}"). Columns ``doc_id``,
    ``text``, ``label`` ("class{k}", class 0 the largest); sizes from :func:`class_sizes`.
    Rows are shuffled."""
    sizes = class_sizes(n_classes, n_max, rho)
    labels = np.repeat(np.arange(n_classes), sizes)
    n = labels.size
    own = rng.integers(0, words_per_class, size=(n, length))
    shared = rng.integers(0, shared_words, size=(n, length))
    use_own = rng.random((n, length)) < signal
    words = np.where(
        use_own,
        np.char.add(
            np.char.add(np.char.add("c", labels[:, None].astype(str)), "w"), own.astype(str)
        ),
        np.char.add("s", shared.astype(str)),
    )
    text = [" ".join(row) for row in words]
    perm = rng.permutation(n)
    return pd.DataFrame(
        {
            "doc_id": np.arange(n).astype(str)[perm],
            "text": np.asarray(text, dtype=object)[perm],
            "label": np.char.add("class", labels.astype(str))[perm],
        }
    ).astype({"doc_id": "str", "text": "str", "label": "str"})


def zipf_interactions(
    rng: np.random.Generator,
    n_users: int = 200,
    n_items: int = 500,
    per_user: int = 20,
    a: float = 1.0,
) -> pd.DataFrame:
    """Implicit interactions: each user picks ``per_user`` distinct items with probability
    p_i ∝ (i + 1)^(−a) (successive sampling, module docstring), so item "i0" is the most
    popular. Columns ``user_id`` ("u{n}"), ``item_id`` ("i{n}"), ``timestamp`` (0 … per_user−1
    in pick order), ``weight`` 1.0."""
    if per_user > n_items:
        raise ValueError("per_user must be <= n_items")
    counts = np.full(n_users, per_user, dtype=np.int64)
    users, items = _draw_items(rng, counts, _zipf_cdf(n_items, a))
    return pd.DataFrame(
        {
            "user_id": np.char.add("u", users.astype(str)),
            "item_id": np.char.add("i", items.astype(str)),
            "timestamp": np.tile(np.arange(per_user), n_users).astype(np.int64),
            "weight": 1.0,
        }
    ).astype({"user_id": "str", "item_id": "str"})


def user_activity(
    rng: np.random.Generator,
    n_users: int,
    n_interactions: int,
    activity_a: float = 0.0,
    max_per_user: int | None = None,
) -> np.ndarray:
    """n_u per user: multinomial(n_interactions, w ∝ (u + 1)^(−activity_a)), capped at
    ``max_per_user`` with the excess re-dealt among users below the cap (exact total)."""
    if n_users < 1 or n_interactions < 0:
        raise ConfigError(f"synthetic: need n_users >= 1 and n_interactions >= 0, got "
                          f"{n_users}, {n_interactions}")  # fmt: skip
    if not np.isfinite(activity_a) or activity_a < 0:
        raise ConfigError(f"synthetic.activity_a: must be >= 0, got {activity_a!r}")
    cap = np.iinfo(np.int64).max if max_per_user is None else int(max_per_user)
    if cap * n_users < n_interactions:
        raise ConfigError(
            f"synthetic: {n_interactions} interactions do not fit {n_users} users × at most "
            f"{cap} items each; raise n_users or n_items"
        )
    w = (np.arange(n_users) + 1.0) ** (-float(activity_a))
    counts = np.zeros(n_users, dtype=np.int64)
    left = int(n_interactions)
    while left:
        room = counts < cap
        ww = np.where(room, w, 0.0)
        counts += rng.multinomial(left, ww / ww.sum())
        left = int(np.maximum(counts - cap, 0).sum())
        counts = np.minimum(counts, cap)
    return counts


def zipf_chunks(
    rng: np.random.Generator,
    n_users: int,
    n_items: int,
    n_interactions: int,
    a: float = 1.0,
    activity_a: float = 0.0,
    max_per_user: int | None = None,
    chunk_size: int = 1 << 20,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stream (users, items) int32 arrays of about ``chunk_size`` interactions, users
    ascending, each user's items distinct, in draw order. Law: module docstring. The stream is
    a pure function of ``rng``'s state and the arguments (not of ``chunk_size``)."""
    if n_items < 1 or not np.isfinite(a) or a < 0:
        raise ConfigError(f"synthetic: need n_items >= 1 and a >= 0, got {n_items}, {a!r}")
    cap = n_items // 2 if max_per_user is None else int(max_per_user)
    if not 1 <= cap <= n_items:
        raise ConfigError(f"synthetic.max_per_user: must be in [1, {n_items}], got {cap}")
    counts = user_activity(rng, n_users, n_interactions, activity_a, cap)
    cdf = _zipf_cdf(n_items, a)
    state = np.array([rng.integers(1, 2**63)], dtype=np.uint64)
    ends = np.cumsum(counts)
    start = 0
    while start < n_users:
        base = ends[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, base + chunk_size, side="right")))
        users, items = _draw_kernel()(np.arange(start, stop), counts[start:stop], cdf, state)
        yield users, items
        start = stop


def zipf_matrix(
    rng: np.random.Generator,
    n_users: int,
    n_items: int,
    n_interactions: int,
    a: float = 1.0,
    activity_a: float = 0.0,
    max_per_user: int | None = None,
    test_frac: float = 0.0,
) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
    """:func:`zipf_chunks` assembled into a binary users × items CSR (float32), and with
    ``test_frac`` > 0 a per-user random hold-out: each interaction goes to the test matrix with
    probability ``test_frac`` (drawn per chunk from ``rng``). Returns (train, test or None)."""
    parts_u, parts_i, parts_t = [], [], []
    for users, items in zipf_chunks(rng, n_users, n_items, n_interactions, a, activity_a,
                                    max_per_user):  # fmt: skip
        parts_u.append(users)
        parts_i.append(items)
        if test_frac > 0:
            parts_t.append(rng.random(users.size) < test_frac)
    users = np.concatenate(parts_u) if parts_u else np.zeros(0, np.int32)
    items = np.concatenate(parts_i) if parts_i else np.zeros(0, np.int32)
    del parts_u, parts_i
    if test_frac <= 0:
        return _csr(users, items, n_users, n_items), None
    is_test = np.concatenate(parts_t) if parts_t else np.zeros(0, bool)
    train = _csr(users[~is_test], items[~is_test], n_users, n_items)
    test = _csr(users[is_test], items[is_test], n_users, n_items)
    return train, test


def _csr(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> sp.csr_matrix:
    """CSR from (user-ascending, per-user-distinct) pairs without a COO detour."""
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(users, minlength=n_users), out=indptr[1:])
    m = sp.csr_matrix(
        (np.ones(items.size, np.float32), items.astype(np.int32, copy=False), indptr),
        shape=(n_users, n_items),
    )
    m.sort_indices()
    return m


def _zipf_cdf(n_items: int, a: float) -> np.ndarray:
    p = (np.arange(n_items) + 1.0) ** (-float(a))
    cdf = np.cumsum(p)
    return cdf / cdf[-1]


def _draw_items(rng: np.random.Generator, counts: np.ndarray, cdf: np.ndarray):
    state = np.array([rng.integers(1, 2**63)], dtype=np.uint64)
    return _draw_kernel()(np.arange(counts.size), counts, cdf, state)


@functools.cache
def _draw_kernel():
    import numba

    @numba.njit(cache=True, nogil=True, boundscheck=False)
    def draw(user_ids, counts, cdf, state):
        """Per user, counts[u] distinct items by successive sampling from the cdf (inverse-cdf
        draws from a xorshift64* stream; a per-item mark finds repeats in O(1))."""
        n_items = cdf.size
        total = 0
        for c in counts:
            total += c
        users = np.empty(total, dtype=np.int32)
        items = np.empty(total, dtype=np.int32)
        mark = np.full(n_items, -1, dtype=np.int64)
        x = state[0]
        pos = 0
        for t in range(user_ids.size):
            u = user_ids[t]
            for _ in range(counts[t]):
                while True:
                    x ^= x >> np.uint64(12)
                    x ^= x << np.uint64(25)
                    x ^= x >> np.uint64(27)
                    r = ((x * np.uint64(0x2545F4914F6CDD1D)) >> np.uint64(11)) * (
                        1.0 / 9007199254740992.0
                    )
                    i = min(np.searchsorted(cdf, r, side="right"), n_items - 1)
                    if mark[i] != u:
                        break
                mark[i] = u
                users[pos] = u
                items[pos] = i
                pos += 1
        state[0] = x
        return users, items

    return draw
