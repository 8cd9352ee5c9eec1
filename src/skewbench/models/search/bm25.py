"""BM25 over product text, with ``bm25s``.

Default variant ``method="lucene"`` (bm25s): for query terms t in q and document d,
``score(q, d) = Σ_t idf(t) · tf(t,d) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))`` (Lucene ≥ 8
drops the constant factor (k1 + 1) of Robertson's form; rankings are the same) with
``idf(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))``; k1 = 1.5, b = 0.75. Tokens: bm25s'
default (lower-case, ``\\b\\w\\w+\\b``, English stop words removed), no stemming (no stemmer is
installed; ``wines`` and ``wine`` are different terms). A repeated query term counts once per
occurrence, as in bm25s. Items that share no term with the query are not retrieved: their
score is ``-inf`` (a BM25 score of 0 carries no evidence, and counting the thousands of items at
0 as ties would drown the tie counts).
"""

from __future__ import annotations

from typing import ClassVar

import bm25s
import numpy as np

from skewbench.models.search.base import QueryBatch


class BM25Retriever:
    """Lexical retrieval; ``score`` gives every item's BM25 score (-inf where no term matches).

    ``tune_space``: the grid searched by ``tune: true`` (around the Lucene/Robertson defaults;
    b = 1 is full length normalisation)."""

    tune_space: ClassVar[dict[str, list[float]]] = {
        "k1": [0.9, 1.2, 1.5, 2.0],
        "b": [0.4, 0.75, 1.0],
    }

    def __init__(self, k1: float = 1.5, b: float = 0.75, method: str = "lucene") -> None:
        self.k1, self.b, self.method = float(k1), float(b), method

    def fit(self, texts: list[str], **data: object) -> BM25Retriever:
        tokens = bm25s.tokenize(list(texts), stopwords="en", show_progress=False)
        self.index_ = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        self.index_.index(tokens, show_progress=False)
        self.n_items_ = len(texts)
        return self

    def score(self, queries: QueryBatch) -> np.ndarray:
        toks = bm25s.tokenize(
            list(queries.texts), stopwords="en", return_ids=False, show_progress=False
        )
        out = np.zeros((len(queries), self.n_items_), dtype=np.float32)
        for i, t in enumerate(toks):
            if t:
                out[i] = self.index_.get_scores(t)
        out[out <= 0] = -np.inf
        return out
