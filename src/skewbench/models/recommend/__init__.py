"""Recommenders for full ranking: fit on users × items weights, score all items per user.

Each model is imported on first use (PEP 562 ``__getattr__``), so validating or running a
popularity-only config never imports torch (BPR) or scipy.stats (Hybrid).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ALS": "als",
    "BPR": "bpr",
    "ContentModel": "content",
    "EASE": "ease",
    "Hybrid": "hybrid",
    "ItemKNN": "itemknn",
    "Popularity": "popularity",
    "Precomputed": "precomputed",
    "RandomRanker": "popularity",
    "Recommender": "base",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
