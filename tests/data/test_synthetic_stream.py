"""Streaming Zipf generator: exact totals, distinct items per user, seeded, chunk-independent,
and the documented law (first draws ∝ p; successive sampling = Gumbel top-n)."""

from __future__ import annotations

import numpy as np
import pytest

from skewbench.data.synthetic import user_activity, zipf_chunks, zipf_matrix
from skewbench.errors import ConfigError


def _stream(seed: int, chunk: int, **kw):
    args = dict(n_users=500, n_items=300, n_interactions=20_000, a=1.1, activity_a=0.7)
    args |= kw
    parts = list(zipf_chunks(np.random.default_rng(seed), **args, chunk_size=chunk))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), parts


def test_totals_distinct_seeded_and_chunk_independent():
    u, i, parts = _stream(0, 1000)
    assert u.size == 20_000 and len(parts) > 10
    assert (np.diff(u) >= 0).all()  # users ascending
    assert np.unique(u.astype(np.int64) * 300 + i).size == u.size  # distinct per user
    u2, i2, parts2 = _stream(0, 1 << 20)
    assert len(parts2) == 1
    np.testing.assert_array_equal(u, u2)
    np.testing.assert_array_equal(i, i2)
    u3, i3, _ = _stream(1, 1000)
    assert not np.array_equal(i, i3)
    # Activity: heavier users first, capped at n_items // 2 = 150.
    counts = np.bincount(u, minlength=500)
    assert counts.max() <= 150 and counts[:10].mean() > 3 * counts[-100:].mean()


def test_activity_is_exact_and_capped():
    rng = np.random.default_rng(3)
    c = user_activity(rng, 10, 95, activity_a=3.0, max_per_user=10)
    assert c.sum() == 95 and c.max() == 10
    assert (user_activity(rng, 4, 100, 0.0) >= 10).all()
    with pytest.raises(ConfigError, match="do not fit"):
        user_activity(rng, 10, 101, 0.0, max_per_user=10)
    with pytest.raises(ConfigError, match="activity_a"):
        user_activity(rng, 10, 10, -1.0)


def test_first_draws_follow_zipf_and_sets_follow_gumbel_topn():
    n_items, a = 20, 1.0
    p = (np.arange(n_items) + 1.0) ** -a
    p /= p.sum()
    n_users = 40_000
    u, i, _ = _stream(5, 1 << 20, n_users=n_users, n_items=n_items, n_interactions=3 * n_users,
                      a=a, activity_a=0.0, max_per_user=3)  # fmt: skip
    first = i[::3]
    freq = np.bincount(first, minlength=n_items) / n_users
    assert np.abs(freq - p).max() < 0.01  # first draw ∝ p (3σ ≈ 0.0045 at p_0 ≈ 0.28)
    # Inclusion frequencies of a 3-item set match a Gumbel top-3 of log p (the old sampler).
    g = np.argsort(-(np.log(p) + np.random.default_rng(9).gumbel(size=(n_users, n_items))), 1)
    ref = np.bincount(g[:, :3].ravel(), minlength=n_items) / n_users
    ours = np.bincount(i, minlength=n_items) / n_users
    assert np.abs(ours - ref).max() < 0.015


def test_matrix_and_holdout():
    train, test = zipf_matrix(np.random.default_rng(2), 300, 200, 6000, test_frac=0.25)
    assert train.nnz + test.nnz == 6000 and train.has_canonical_format
    assert 0.2 < test.nnz / 6000 < 0.3
    assert train.multiply(test).nnz == 0  # disjoint
    only, none = zipf_matrix(np.random.default_rng(2), 300, 200, 6000)
    assert none is None and only.nnz == 6000
