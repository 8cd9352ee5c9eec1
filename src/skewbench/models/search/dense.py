"""Dense retrieval with MiniLM: exact inner product, or an HNSW index (faiss) for big catalogs.

Documents and queries are encoded and scaled to unit norm, so the inner product is the cosine
``score(q, d) = <q̂, d̂>``. ``index="exact"`` scores every item (a matrix product, ties exact
because equal texts share one vector). ``index="hnsw"`` builds ``faiss.IndexHNSWFlat`` (inner
product, ``hnsw_m`` links, ``ef_construction`` 200, ``ef_search`` 128) and returns only its
approximate top-k — use it when the catalog is too big to score exhaustively per query; its
boundary ties cannot be counted (reported as None). The index is built on one thread so the
graph, and hence the results, are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from skewbench.errors import ConfigError
from skewbench.models.search.base import Candidates, QueryBatch
from skewbench.models.search.encoding import DEFAULT_MODEL, embed, frozen_encoder

EncodeFn = Callable[[list[str]], np.ndarray]


class DenseRetriever:
    """Bi-encoder retrieval; ``encoder`` defaults to the cached frozen MiniLM."""

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        index: str = "exact",
        hnsw_m: int = 32,
        ef_search: int = 128,
        encoder: EncodeFn | None = None,
        backend: str = "torch",
    ) -> None:
        if index not in ("exact", "hnsw"):
            raise ConfigError(f"model.params.index must be 'exact' or 'hnsw', got {index!r}")
        self.model_name, self.index, self.hnsw_m, self.ef_search = (
            model_name,
            index,
            int(hnsw_m),
            int(ef_search),
        )
        self.encoder, self.backend = encoder, backend

    def _encode(self) -> EncodeFn:
        return (
            self.encoder
            if self.encoder is not None
            else frozen_encoder(self.model_name, self.backend)
        )

    def fit(self, texts: list[str], **data: object) -> DenseRetriever:
        self.item_emb_, self.encode_stats_ = embed(texts, self._encode())
        self.faiss_ = None
        if self.index == "hnsw":
            import faiss

            threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)
            try:
                idx = faiss.IndexHNSWFlat(
                    self.item_emb_.shape[1], self.hnsw_m, faiss.METRIC_INNER_PRODUCT
                )
                idx.hnsw.efConstruction = 200
                idx.add(np.ascontiguousarray(self.item_emb_))
                idx.hnsw.efSearch = self.ef_search
            finally:
                faiss.omp_set_num_threads(threads)
            self.faiss_ = idx
        return self

    def query_embeddings(self, queries: QueryBatch) -> np.ndarray:
        return embed(queries.texts, self._encode())[0]

    def score(self, queries: QueryBatch) -> np.ndarray:
        return self.query_embeddings(queries) @ self.item_emb_.T

    def native_search(self, queries: QueryBatch, k: int) -> Candidates | None:
        """HNSW top-k (None for the exact index: the caller scores every item instead)."""
        if self.faiss_ is None:
            return None
        q = np.ascontiguousarray(self.query_embeddings(queries))
        scores, items = self.faiss_.search(q, k)
        items = items.astype(np.int64)
        scores = np.where(items >= 0, scores.astype(np.float64), -np.inf)
        # faiss does not promise the item-index tie-break: re-sort each list by (−score, item).
        order = np.lexsort((np.where(items >= 0, items, np.iinfo(np.int64).max), -scores), axis=1)
        items = np.take_along_axis(items, order, axis=1)
        scores = np.take_along_axis(scores, order, axis=1)
        both = (items[:, 1:] >= 0) & (items[:, :-1] >= 0)
        within = int(np.sum((scores[:, 1:] == scores[:, :-1]) & both))
        return Candidates(items, scores, within, None, None)
