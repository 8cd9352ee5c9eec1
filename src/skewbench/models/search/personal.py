"""Personalised dense search: the query embedding mixed with the household's history embedding.

After the query–user mixing of Ai et al. (SIGIR 2017, HEM: ``M_uq = λ q + (1 − λ) u``), with a
frozen encoder instead of learned embeddings:

- history vector ``h_u = normalise(Σ_i ln(1 + c_ui) · ê_i)`` over the items i the household
  bought in the training period (c_ui purchase lines), so repeat buys count sub-linearly;
- query vector ``m = normalise(α q̂ + (1 − α) h_u)`` (α = 0.7); users without history get q̂;
- ``score(q, u, d) = <m, ê_d> + β · ln(1 + c_ud)`` — the β term (default 0.05) is a repeat-
  purchase prior: grocery households re-buy, and equal-text products have equal embeddings, so
  only an item-level term can prefer the very product a household bought before.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from skewbench.models.search.base import QueryBatch
from skewbench.models.search.dense import DenseRetriever
from skewbench.vectors import unit_rows


class PersonalisedDense:
    """Dense retrieval personalised by household history; ``fit`` needs ``history=`` (users ×
    items CSR of training purchase counts); queries need ``users`` (history rows, −1 = none).

    ``tune_space``: the query/history mix α and the repeat-purchase weight β for ``tune: true``."""

    tune_space: ClassVar[dict[str, list[float]]] = {
        "alpha": [0.5, 0.7, 0.9],
        "beta": [0.0, 0.05, 0.2],
    }

    def __init__(self, dense: DenseRetriever, alpha: float = 0.7, beta: float = 0.05) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
        self.dense, self.alpha, self.beta = dense, float(alpha), float(beta)

    def fit(self, texts: list[str], **data: object) -> PersonalisedDense:
        self.dense.fit(texts, **data)
        hist = sp.csr_matrix(data["history"], dtype=np.float64)
        self.log_hist_ = hist.copy()
        self.log_hist_.data = np.log1p(self.log_hist_.data)
        self.user_emb_ = unit_rows(np.asarray(self.log_hist_ @ self.dense.item_emb_, np.float32))
        return self

    def score(self, queries: QueryBatch) -> np.ndarray:
        q = self.dense.query_embeddings(queries)
        users = queries.users if queries.users is not None else np.full(len(queries), -1)
        has = users >= 0
        h = np.zeros_like(q)
        h[has] = self.user_emb_[users[has]]
        mixed = np.where(
            has[:, None],
            unit_rows(np.asarray(self.alpha * q + (1 - self.alpha) * h, np.float32)),
            q,
        )
        out = mixed @ self.dense.item_emb_.T
        if self.beta and has.any():
            out[has] += self.beta * self.log_hist_[users[has]].toarray()
        return out
