"""Content-based recommender on item-text embeddings (e.g. MiniLM from ``skewbench.encoders``).

Items: e_i = embedding / ‖embedding‖. User profile: the interaction-weighted mean of the
history, π_u = Σ_j x_uj e_j / Σ_j x_uj. score(u, i) = cos(π_u, e_i). Users without history
score 0 everywhere (ties, resolved by item index in ``topk``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from skewbench.errors import ConfigError
from skewbench.models.recommend.base import Recommender
from skewbench.vectors import unit_rows


class ContentModel(Recommender):
    def __init__(self, item_embeddings: np.ndarray):
        E = np.asarray(item_embeddings, dtype=np.float32)
        if E.ndim != 2 or not np.all(np.isfinite(E)):
            raise ConfigError("model content: item_embeddings must be a finite (items × dim) array")
        self.item_embeddings = E

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        if self.item_embeddings.shape[0] != X.shape[1]:
            raise ConfigError(
                f"model content: {self.item_embeddings.shape[0]} embeddings for {X.shape[1]} items"
            )
        self.item_unit_ = unit_rows(self.item_embeddings)

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        Xu = self.X_[users]
        total = np.asarray(Xu.sum(axis=1)).ravel()
        profile = (Xu @ self.item_unit_) / np.where(total > 0, total, 1.0)[:, None]
        return unit_rows(profile) @ self.item_unit_.T
