"""Search plug-in: TF-IDF cosine similarity between the query and each item's text."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


class TfidfScorer:
    """Cosine of L2-normalised TF-IDF vectors (character n-grams within word boundaries, so
    'mugs' still meets 'mug'); items sharing nothing with the query get -inf."""

    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, ngram_min: int = 3, ngram_max: int = 5):
        self.ngram_range = (ngram_min, ngram_max)

    def fit(self, texts: list[str], **data: Any) -> TfidfScorer:
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range)
        self.items_ = self.vectorizer_.fit_transform(texts)
        return self

    def score(self, queries: Any) -> np.ndarray:
        S = (self.vectorizer_.transform(queries.texts) @ self.items_.T).toarray()
        S[S <= 0] = -np.inf
        return S
