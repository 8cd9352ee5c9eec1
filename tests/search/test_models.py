"""Retrievers against hand computations and independent peers (bm25s, numpy, faiss flat)."""

from __future__ import annotations

import math

import bm25s
import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.models.search.base import (
    QueryBatch,
    candidates_from_scores,
    count_ties,
    restrict,
    search,
)
from skewbench.models.search.bm25 import BM25Retriever
from skewbench.models.search.dense import DenseRetriever
from skewbench.models.search.fusion import PopularityPrior, RRFHybrid, rrf_scores
from skewbench.models.search.group_norm import group_normalise, group_zscore

DOCS = [
    "cold cereal grocery national brand",
    "kids cereal cold cereal private label",
    "dry soup grocery",
    "canned soup chicken noodle",
    "fluid milk white only",
]


def test_bm25_exact_match_first_and_equals_bm25s():
    m = BM25Retriever().fit(DOCS)
    s = m.score(QueryBatch(["chicken noodle soup", "kids cereal"]))
    assert int(np.argmax(s[0])) == 3 and int(np.argmax(s[1])) == 1
    ref = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    ref.index(bm25s.tokenize(DOCS, stopwords="en", show_progress=False), show_progress=False)
    want = ref.get_scores(["chicken", "noodle", "soup"])
    np.testing.assert_allclose(np.where(want > 0, want, -np.inf), s[0], rtol=1e-6)


def test_bm25_matches_lucene_formula():
    m = BM25Retriever().fit(DOCS)
    got = m.score(QueryBatch(["soup"]))[0]
    # document lengths after bm25s' tokenisation and stop-word removal
    toks = bm25s.tokenize(DOCS, stopwords="en", return_ids=False, show_progress=False)
    n, avgdl = len(DOCS), np.mean([len(t) for t in toks])
    df = sum("soup" in t for t in toks)
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    for i, t in enumerate(toks):
        tf = t.count("soup")
        want = idf * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * len(t) / avgdl))
        assert (got[i] == -np.inf) if tf == 0 else got[i] == pytest.approx(want, rel=1e-5)


def hashed_encoder(texts: list[str]) -> np.ndarray:
    """A deterministic bag-of-words encoder (64 hashed dims), so dense tests need no model."""
    out = np.zeros((len(texts), 64), np.float32)
    for i, t in enumerate(texts):
        for w in t.split():
            out[i, sum(map(ord, w)) % 64] += 1.0
    return out


def test_dense_exact_equals_numpy_bruteforce():
    m = DenseRetriever(encoder=hashed_encoder).fit(DOCS)
    q = ["cereal kids", "soup"]
    got = m.score(QueryBatch(q))
    d = hashed_encoder(DOCS)
    e = hashed_encoder(q)
    want = (e / np.linalg.norm(e, axis=1, keepdims=True)) @ (
        d / np.linalg.norm(d, axis=1, keepdims=True)
    ).T
    np.testing.assert_allclose(got, want, rtol=1e-6)
    ranked = search(m, QueryBatch(q), 3).items
    assert ranked.tolist() == [np.argsort(-want[r], kind="stable")[:3].tolist() for r in range(2)]


def test_hnsw_finds_bruteforce_topk_on_small_catalog():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(300, 16)).astype(np.float32)
    texts = [f"t{i}" for i in range(300)]
    lookup = {t: emb[i] for i, t in enumerate(texts)}
    enc = lambda ts: np.stack([lookup.get(t, emb[0]) for t in ts])  # noqa: E731
    exact = search(DenseRetriever(encoder=enc).fit(texts), QueryBatch(texts[:20]), 5)
    ann = search(DenseRetriever(index="hnsw", encoder=enc).fit(texts), QueryBatch(texts[:20]), 5)
    assert (exact.items == ann.items).mean() > 0.95
    assert ann.ties_boundary is None


def test_rrf_hand_computed():
    a = np.array([[3.0, 2.0, 1.0, -np.inf]])  # ranks: 0→1, 1→2, 2→3
    b = np.array([[0.1, 0.9, -np.inf, 0.5]])  # ranks: 1→1, 3→2, 0→3
    got = rrf_scores([a, b], depth=3, k_rrf=60)[0]
    want = [1 / 61 + 1 / 63, 1 / 62 + 1 / 61, 1 / 63, 1 / 62]
    np.testing.assert_allclose(got, want)
    got2 = rrf_scores([a, b], depth=1, k_rrf=60)[0]
    np.testing.assert_allclose(got2, [1 / 61, 1 / 61, -np.inf, -np.inf])


def test_hybrid_model_fuses_bm25_and_dense():
    m = RRFHybrid([BM25Retriever(), DenseRetriever(encoder=hashed_encoder)], depth=5)
    m.fit(DOCS)
    s = m.score(QueryBatch(["chicken soup"]))
    assert int(np.argmax(s[0])) == 3


def test_popularity_prior():
    pop = np.array([0, 10, 0, 100, 0])
    m = PopularityPrior(BM25Retriever(), w=0.5).fit(DOCS, popularity=pop)
    base = BM25Retriever().fit(DOCS).score(QueryBatch(["soup"]))[0]
    got = m.score(QueryBatch(["soup"]))[0]
    np.testing.assert_allclose(got[[2, 3]], base[[2, 3]] + 0.5 * np.log1p(pop[[2, 3]]))
    assert np.isneginf(got[[0, 1, 4]]).all()  # the prior adds no candidates


def test_tie_counting():
    s = np.array([[1.0, 2.0, 2.0, 2.0, 0.5], [5.0, 4.0, 3.0, 2.0, 1.0]])
    c = candidates_from_scores(s, 2)
    assert c.items.tolist() == [[1, 2], [0, 1]]  # ties by item index
    assert (c.ties_within, c.ties_boundary, c.units_with_boundary_ties) == (1, 1, 1)
    assert count_ties(s, np.array([[1, -1], [0, 1]])) == (0, 0, 0)  # short list: no boundary


def test_group_zscore_and_rerank():
    scores = np.array([[10.0, 8.0, 3.0, 2.0, 1.0]])
    cands = np.array([[0, 1, 2, 3, 4]])
    groups = np.array([0, 0, 1, 1, 1])
    z = group_zscore(scores, groups[cands], cands >= 0)[0]
    np.testing.assert_allclose(z, [1, -1, 1.224744871, 0, -1.224744871], rtol=1e-6)
    assert group_normalise(cands, scores, 3, groups).tolist() == [[2, 0, 3]]


def test_restrict_keeps_every_allowed_item_and_nothing_else():
    scores = np.array([[0.5, -np.inf, 2.0, 1.0], [-np.inf, -np.inf, 3.0, -np.inf]])
    allowed = sp.csr_matrix(np.array([[1, 1, 0, 1], [1, 1, 0, 0]]))
    out = restrict(scores, QueryBatch(["a", "b"], allowed=allowed))
    # row 0: item 2 is not judged; unscored item 1 goes last (lowest finite 0.5 − 1)
    assert out[0].tolist() == [0.5, -0.5, -np.inf, 1.0]
    # row 1: nothing scored among the allowed items: both at −1, tied (index tie-break)
    assert out[1].tolist() == [-1.0, -1.0, -np.inf, -np.inf]
    assert restrict(scores, QueryBatch(["a", "b"])) is scores


def test_search_and_rrf_honour_the_candidate_restriction():
    m = BM25Retriever().fit(DOCS)
    allowed = sp.csr_matrix(np.array([[0, 1, 0, 0, 1], [1, 0, 1, 1, 0]]))
    q = QueryBatch(["kids cereal", "soup"], allowed=allowed)
    got = search(m, q, 5)
    assert got.items[0].tolist() == [1, 4, -1, -1, -1]  # milk (4) has no term: last, kept
    assert got.items[1].tolist()[:2] in ([2, 3], [3, 2]) and got.items[1, 2] == 0
    assert q.take(np.array([1])).allowed.toarray().tolist() == [[1, 0, 1, 1, 0]]
    hyb = RRFHybrid([BM25Retriever(), BM25Retriever(k1=1.2)], depth=2).fit(DOCS)
    fused = search(hyb, q, 5)
    for r in range(2):
        listed = {i for i in fused.items[r] if i >= 0}
        assert listed == set(allowed[r].indices)
