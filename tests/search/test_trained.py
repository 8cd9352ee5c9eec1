"""Trained encoders: a tiny smoke run by default, a real fine-tuning check marked slow."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.models.search.base import QueryBatch, search
from skewbench.models.search.bm25 import BM25Retriever
from skewbench.models.search.trained import (
    CrossEncoderReranker,
    FineTunedBiEncoder,
    training_pairs,
    unique_batches,
)

DOCS = ["cold cereal grocery", "dry soup grocery", "fluid milk dairy", "frozen pizza", "bread"]
QUERIES = QueryBatch(["kids cereal", "chicken soup", "white milk", "pepperoni pizza"])
TRUTH = sp.csr_matrix(
    np.array([[2, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 3, 0, 0], [0, 0, 0, 1, 0]], float)
)


def test_training_pairs_and_batches():
    pairs = training_pairs(QUERIES, TRUTH, DOCS, 3, np.random.default_rng(0))
    assert len(pairs) == 3 and len(set(pairs)) == 3
    assert all(
        (q, d)
        in {
            ("kids cereal", DOCS[0]),
            ("chicken soup", DOCS[1]),
            ("white milk", DOCS[2]),
            ("pepperoni pizza", DOCS[3]),
        }
        for q, d in pairs
    )
    batches = list(unique_batches([("a", "x"), ("a", "y"), ("b", "x"), ("c", "z")], 4))
    assert batches == [[("a", "x"), ("c", "z")], [("a", "y"), ("b", "x")]]


def test_finetune_smoke():
    fit = {"train_queries": QUERIES, "train_truth": TRUTH, "seed": 3}
    a = FineTunedBiEncoder(max_pairs=4, batch_size=4).fit(DOCS, **fit)
    assert a.train_info_["train_steps"] == 1 and a.train_info_["train_queries"] == 4
    assert a.score(QueryBatch(["cereal"])).shape == (1, len(DOCS))


@pytest.mark.slow
def test_finetune_is_deterministic():
    fit = {"train_queries": QUERIES, "train_truth": TRUTH, "seed": 3}
    a = FineTunedBiEncoder(max_pairs=4, batch_size=4).fit(DOCS, **fit)
    b = FineTunedBiEncoder(max_pairs=4, batch_size=4).fit(DOCS, **fit)
    np.testing.assert_array_equal(a.score(QueryBatch(["cereal"])), b.score(QueryBatch(["cereal"])))


def test_cross_encoder_smoke():
    m = CrossEncoderReranker(BM25Retriever(), depth=3, negatives=1, batch_size=4)
    m.fit(DOCS, train_queries=QUERIES, train_truth=TRUTH, seed=1)
    c = search(m, QueryBatch(["cereal grocery"]), 3)
    assert set(c.items[0][c.items[0] >= 0]) <= {0, 1}  # only BM25 candidates are re-scored


@pytest.mark.slow
def test_finetune_learns_training_pairs():
    """After a few epochs the fine-tuned model ranks each training query's document first."""
    fit = {"train_queries": QUERIES, "train_truth": TRUTH, "seed": 0}
    m = FineTunedBiEncoder(epochs=20, max_pairs=4, batch_size=4, lr=1e-4).fit(DOCS, **fit)
    top = search(m, QUERIES, 1).items[:, 0]
    assert top.tolist() == [0, 1, 2, 3]
