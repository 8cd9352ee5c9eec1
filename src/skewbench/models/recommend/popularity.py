"""Non-personalised baselines: most-popular and random ranking (the sanity floor)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from skewbench.data.groups import item_popularity_matrix
from skewbench.models.recommend.base import Recommender


class Popularity(Recommender):
    """Score(u, i) = distinct users of i in training; ties broken by item index in ``topk``."""

    user_independent = True

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        self.popularity_ = item_popularity_matrix(X)

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity_.astype(np.float32), (users.size, self.n_items_))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    # A stateless hash: the score of (user, item) does not depend on chunking or call order.
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class RandomRanker(Recommender):
    """Uniformly random scores in [0, 1): a hash of (seed, user, item), so a user's ranking is a
    uniformly random permutation that is the same for any chunking."""

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        self.seed_ = int(seed)

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            key = users.astype(np.uint64)[:, None] * np.uint64(self.n_items_) + np.arange(
                self.n_items_, dtype=np.uint64
            )
            h = _splitmix64(key ^ _splitmix64(np.array([self.seed_], dtype=np.uint64)))
        return ((h >> np.uint64(40)).astype(np.float64) / float(1 << 24)).astype(np.float32)
