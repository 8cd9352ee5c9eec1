"""The candidate stage's output and its one cache."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Candidates:
    """Each unit's top ``depth`` items of the fitted (untreated) model.

    ``items``: (units × depth) item indices, best first, −1 = padding; ``scores``: their model
    scores (−inf at padding), or None where no list-side treatment needs them; ``seconds``:
    time spent per stage (``tune``, ``fit``, ``score``); ``info``: what the fitted model
    reports (parameters, tuning record, training facts).
    """

    items: np.ndarray
    scores: np.ndarray | None
    seconds: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def kept_scores(self) -> np.ndarray:
        """The scores, for a list-side treatment (they are kept whenever one is configured)."""
        if self.scores is None:
            raise RuntimeError("candidate scores were dropped although a treatment needs them")
        return self.scores


def candidate_key(base_key: str, depth: int, n_units: int) -> str:
    """Cache key of candidates: the untreated cell's key, list depth and number of units."""
    return f"{base_key}:{depth}:{n_units}"


class CandidateCache:
    """Least-recently-used store of :class:`Candidates` (a few entries: cells sharing a base
    model run together, and candidate arrays are large)."""

    def __init__(self, size: int = 2):
        self.size = size
        self._store: OrderedDict[str, Candidates] = OrderedDict()

    def get(self, key: str, make: Callable[[], Candidates], *, store: bool = True) -> Candidates:
        """The candidates under ``key``, made (and kept when ``store``) on a miss."""
        if key in self._store:
            self._store.move_to_end(key)
            return self._store[key]
        out = make()
        if store:
            while len(self._store) >= self.size:
                self._store.popitem(last=False)
            self._store[key] = out
        return out

    def clear(self) -> None:
        self._store.clear()

    def __len__(self) -> int:
        return len(self._store)
