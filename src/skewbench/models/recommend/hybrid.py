"""Hybrid of a content and a collaborative recommender: a convex combination of normalised scores.

score(u, i) = α · norm(content_u)_i + (1 − α) · norm(collab_u)_i, normalised per user over all
items because raw scales differ (cosines in [−1, 1] vs unbounded dot products):
``"minmax"``: (s − min) / (max − min) (0 for a constant row); ``"rank"``: average rank / (n − 1)
in [0, 1] (1 = best), robust to outlying scores. α = 0 is the collaborative model, α = 1 the
content model.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from skewbench.errors import ConfigError
from skewbench.models.recommend.base import Recommender


def normalise_scores(S: np.ndarray, method: str) -> np.ndarray:
    """Per-row min-max or rank normalisation to [0, 1]."""
    S = np.asarray(S, dtype=np.float64)
    if method == "minmax":
        lo, hi = S.min(axis=1, keepdims=True), S.max(axis=1, keepdims=True)
        span = hi - lo
        return np.where(span > 0, (S - lo) / np.where(span > 0, span, 1.0), 0.0)
    if method == "rank":
        import scipy.stats  # here, not at import: it costs ~0.3 s to import

        return (scipy.stats.rankdata(S, axis=1, method="average") - 1) / max(S.shape[1] - 1, 1)
    raise ConfigError(f"model.params.normalise: {method!r} is not 'minmax' or 'rank'")


class Hybrid(Recommender):
    def __init__(
        self,
        content: Recommender,
        collaborative: Recommender,
        alpha: float = 0.5,
        normalise: str = "minmax",
    ):
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"model.params.alpha: must be in [0, 1], got {alpha!r}")
        if normalise not in ("minmax", "rank"):
            raise ConfigError(f"model.params.normalise: {normalise!r} is not 'minmax' or 'rank'")
        self.content, self.collaborative = content, collaborative
        self.alpha, self.normalise = float(alpha), normalise

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        self.content.fit(X, seed=seed)
        self.collaborative.fit(X, seed=seed)

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        a = normalise_scores(self.content.score(users), self.normalise)
        b = normalise_scores(self.collaborative.score(users), self.normalise)
        return (self.alpha * a + (1.0 - self.alpha) * b).astype(np.float32)
