"""SASRec learns sequential structure, is deterministic per seed, and its treatments act."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.errors import ConfigError
from skewbench.metrics.topk import topk
from skewbench.models.recommend.sasrec import SASRec


def _cyclic(n_users=60, n_items=20, length=12, seed=0):
    """Each user walks the items in a cycle i → i+1 from a random start: the next item is
    fully determined by the last one, which a popularity or item-set model cannot know."""
    rng = np.random.default_rng(seed)
    seqs = [(rng.integers(0, n_items) + np.arange(length)) % n_items for _ in range(n_users)]
    rows = np.repeat(np.arange(n_users), length)
    X = sp.csr_matrix((np.ones(rows.size), (rows, np.concatenate(seqs))), shape=(n_users, n_items))
    return X, seqs


def _fit(seed=0, **kw):
    X, seqs = _cyclic()
    params = {
        "dim": 16,
        "max_len": 8,
        "blocks": 1,
        "epochs": 30,
        "lr": 5e-3,
        "dropout": 0.0,
        "batch_size": 16,
    }
    params.update(kw)
    return SASRec(**params).fit(X, seed=seed, sequences=[s[:-1] for s in seqs]), X, seqs


def test_learns_the_next_item():
    model, X, seqs = _fit()
    users = np.arange(X.shape[0])
    top = topk(model.score(users), 1)[:, 0]
    hits = np.mean(top == np.array([s[-1] for s in seqs]))
    assert hits > 0.9  # popularity would be right 1/20 of the time
    assert model.history_[-1] < model.history_[0]


def test_deterministic_per_seed():
    a, _, _ = _fit(seed=3, epochs=3)
    b, _, _ = _fit(seed=3, epochs=3)
    c, _, _ = _fit(seed=4, epochs=3)
    users = np.arange(5)
    np.testing.assert_array_equal(a.score(users), b.score(users))
    assert not np.array_equal(a.score(users), c.score(users))


def test_text_init_and_treatments_run():
    X, seqs = _cyclic()
    text = np.random.default_rng(0).normal(size=(X.shape[1], 12)).astype(np.float32)
    m = SASRec(
        dim=16,
        max_len=8,
        blocks=1,
        epochs=2,
        item_init="text",
        text_embeddings=text,
        negatives=5,
        ips_eta=0.5,
        pop_tau=1.0,
    )
    s = m.fit(X, seed=0, sequences=seqs).score(np.arange(3))
    assert s.shape == (3, X.shape[1]) and np.isfinite(s).all()
    # pop_tau shifts scores by exactly −τ·log(pop + 1)
    m.pop_tau = 0.0
    s0 = m.score(np.arange(3))
    np.testing.assert_allclose(s0 - s, np.broadcast_to(m.log_pop_, s.shape), rtol=1e-5, atol=1e-5)


def test_refuses_bad_parameters():
    with pytest.raises(ConfigError, match="heads"):
        SASRec(dim=10, heads=3)
    with pytest.raises(ConfigError, match="item_init"):
        SASRec(item_init="bert")
    X, seqs = _cyclic()
    with pytest.raises(ConfigError, match="text embedding"):
        SASRec(item_init="text", epochs=1).fit(X, seed=0, sequences=seqs)
