"""Score combinations: reciprocal-rank fusion and a popularity prior.

- Hybrid by RRF (Cormack, Clarke & Büttcher, SIGIR 2009): each base model contributes its top
  ``depth`` list; ``rrf(d) = Σ_m 1 / (k_rrf + rank_m(d))`` with 1-based ranks and k_rrf = 60;
  items in no list are not candidates (−inf). Ranks come from the engine's tie-break, so the
  fused order inherits it.
- Popularity prior: ``score(q, d) + w · ln(1 + pop(d))`` with pop = training-period purchase
  lines of d. Default w depends on the base score's scale: 0.1 for BM25 (scores ~1–20), 0.01
  for cosine (scores in [−1, 1]); both mostly break ties among equal-text products in favour
  of best-sellers — the popularity bias the exposure metrics then show.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from skewbench.metrics.topk import topk
from skewbench.models.search.base import QueryBatch, Retriever, restrict

RRF_K = 60


def rrf_scores(score_blocks: list[np.ndarray], depth: int, k_rrf: int = RRF_K) -> np.ndarray:
    """(units × items) RRF scores from each model's (units × items) scores (see module doc)."""
    n, m = score_blocks[0].shape
    out = np.zeros((n, m), dtype=np.float64)
    rows = np.arange(n)[:, None]
    ranks = np.arange(1, depth + 1, dtype=np.float64)[None, :]
    for s in score_blocks:
        top = topk(s, depth)
        contrib = np.where(top >= 0, 1.0 / (k_rrf + ranks), 0.0)
        np.add.at(out, (np.broadcast_to(rows, top.shape), np.maximum(top, 0)), contrib)
    out[out == 0] = -np.inf
    return out


class RRFHybrid:
    """Reciprocal-rank fusion of several retrievers (default BM25 + dense).

    ``tune_space``: k_rrf values searched by ``tune: true`` (small k trusts the top ranks more)."""

    tune_space: ClassVar[dict[str, list[int]]] = {"k_rrf": [10, 30, 60, 100, 200]}

    def __init__(self, models: list[Retriever], depth: int = 100, k_rrf: int = RRF_K) -> None:
        self.models, self.depth, self.k_rrf = models, int(depth), int(k_rrf)

    def fit(self, texts: list[str], **data: object) -> RRFHybrid:
        for m in self.models:
            m.fit(texts, **data)
        return self

    def score(self, queries: QueryBatch) -> np.ndarray:
        blocks = [restrict(m.score(queries), queries) for m in self.models]
        return rrf_scores(blocks, self.depth, self.k_rrf)


class PopularityPrior:
    """``base score + w · ln(1 + popularity)``; ``fit`` needs ``popularity=`` (items,).

    w's scale follows the base score's, so two spaces are declared for ``tune: true``:
    ``tune_space_bm25`` (BM25 scores ~1–20) and ``tune_space_cosine`` (cosine in [−1, 1]);
    both include w = 0 (the base model alone)."""

    tune_space_bm25: ClassVar[dict[str, list[float]]] = {"w": [0.0, 0.03, 0.1, 0.3, 1.0]}
    tune_space_cosine: ClassVar[dict[str, list[float]]] = {"w": [0.0, 0.003, 0.01, 0.03, 0.1]}

    def __init__(self, base: Retriever, w: float) -> None:
        self.base, self.w = base, float(w)

    def fit(self, texts: list[str], **data: object) -> PopularityPrior:
        pop = np.asarray(data["popularity"], dtype=np.float64)
        if pop.shape != (len(texts),) or (pop < 0).any():
            raise ValueError("popularity must be one non-negative count per item")
        self.prior_ = self.w * np.log1p(pop)
        self.base.fit(texts, **data)
        return self

    def score(self, queries: QueryBatch) -> np.ndarray:
        # −inf (not retrieved) stays −inf: the prior re-orders candidates, it adds none.
        return self.base.score(queries) + self.prior_[None, :]
