"""Two-tower text recommender: training pairs and fine-tuning with the real MiniLM."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.errors import ConfigError
from skewbench.models.recommend.two_tower import TwoTowerText, history_text, next_item_pairs

COLOURS = ["red", "green", "blue", "yellow", "black", "white", "pink", "grey"]
THINGS = ["shirt", "mug", "lamp", "chair"]


def _data(n_users=40, length=6, seed=0):
    """Items "colour thing"; each user buys one thing-type in successive colours, so the next
    item is the same thing in the next colour — learnable from text, not from co-counts."""
    texts = [f"{c} {t}" for t in THINGS for c in COLOURS]
    rng = np.random.default_rng(seed)
    seqs = []
    for _ in range(n_users):
        t, c0 = rng.integers(len(THINGS)), rng.integers(len(COLOURS))
        seqs.append(np.array([t * len(COLOURS) + (c0 + j) % len(COLOURS) for j in range(length)]))
    rows = np.repeat(np.arange(n_users), length)
    X = sp.csr_matrix(
        (np.ones(rows.size), (rows, np.concatenate(seqs))), shape=(n_users, len(texts))
    )
    return X, seqs, texts


def test_pairs_are_next_items_and_seeded():
    _, seqs, texts = _data()
    a = next_item_pairs(seqs, texts, 2, 50, np.random.default_rng(0))
    assert a == next_item_pairs(seqs, texts, 2, 50, np.random.default_rng(0))
    assert len(set(a)) == len(a) and 0 < len(a) <= 50
    for hist, nxt in a:
        assert len(hist.split(" ; ")) <= 2 and nxt in texts
    assert history_text(texts, np.array([0, 1, 2]), 2) == "green shirt ; blue shirt"
    assert next_item_pairs(seqs, texts, 2, 0, np.random.default_rng(0)) == []


def test_frozen_scores_and_validation():
    X, seqs, texts = _data()
    m = TwoTowerText(max_pairs=0, item_text=texts).fit(X, seed=0, sequences=seqs)
    s = m.score(np.arange(4))
    assert s.shape == (4, len(texts)) and np.isfinite(s).all()
    assert m.train_info_["train_steps"] == 0
    with pytest.raises(ConfigError, match="catalogue text"):
        TwoTowerText(item_text=texts[:3]).fit(X, seed=0, sequences=seqs)


@pytest.mark.slow
def test_fine_tuning_fits_the_training_pairs():
    X, seqs, texts = _data()
    m = TwoTowerText(
        history_items=2, max_pairs=200, epochs=3, lr=1e-4, batch_size=16, item_text=texts
    ).fit(X, seed=0, sequences=seqs)
    frozen = TwoTowerText(max_pairs=0, item_text=texts).fit(X, seed=0, sequences=seqs)
    losses = m.train_info_["epoch_loss"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert not np.allclose(m.item_emb_, frozen.item_emb_)


def test_frozen_vectors_are_the_shared_embedding_cache():
    """The frozen control reads the very vectors the content model and text-initialised SASRec
    read (the encoder cache), for the items and for each user's history text."""
    from skewbench import encoders

    X, seqs, texts = _data(n_users=6)
    m = TwoTowerText(history_items=2, max_pairs=0, item_text=texts).fit(X, 0, sequences=seqs)
    np.testing.assert_array_equal(m.item_emb_, encoders.encode(texts))
    hist = [history_text(texts, s, 2) for s in seqs]
    np.testing.assert_array_equal(m.user_emb_, encoders.encode(hist))
    # cosine of unit vectors: the best item of user 0 is the item most similar to its history
    assert (
        m.score(np.array([0]))[0].argmax() == (encoders.encode(hist[:1]) @ m.item_emb_.T).argmax()
    )


def test_two_tower_tuning_is_checked_before_any_data_is_read():
    from skewbench.runner.config import parse_config
    from skewbench.runner.grid import expand

    exp = {"task": "recommend", "datasets": ["movielens100k"], "treatments": ["none"]}
    ok = {"name": "two_tower", "max_pairs": 0, "tune": {"history_items": [3, 5]}}
    cells = expand(parse_config({"name": "t", "experiments": [{**exp, "models": [ok]}]}))
    assert [c.tune["space"] for c in cells] == [{"history_items": [3, 5]}]
    bad = {"name": "two_tower", "tune": {"dim": [8]}}
    with pytest.raises(ConfigError, match="tune.dim: not a parameter"):
        expand(parse_config({"name": "t", "experiments": [{**exp, "models": [bad]}]}))
