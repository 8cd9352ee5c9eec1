"""A user's retriever class (``model: plugin``) behind the search task's model interface."""

from __future__ import annotations

from typing import Any

import numpy as np

from skewbench.models.search.base import QueryBatch
from skewbench.specs.plugins import build, capabilities


class PluginRetriever:
    """Fits and scores through the plug-in; checks the shape of what it returns."""

    def __init__(self, params: dict[str, Any]):
        self.model_ = build(params)
        self.train_info_ = {
            "plugin_class": params["class"],
            "plugin_capabilities": sorted(capabilities(type(self.model_))),
        }

    def fit(self, texts: list[str], **data: Any) -> PluginRetriever:
        self.n_items_ = len(texts)
        self.model_.fit(list(texts), **data)
        return self

    def score(self, queries: QueryBatch) -> np.ndarray:
        S = np.asarray(self.model_.score(queries), dtype=np.float64)
        if S.shape != (len(queries), self.n_items_):
            raise ValueError(
                f"plug-in {type(self.model_).__name__}.score returned shape {S.shape}, "
                f"expected ({len(queries)}, {self.n_items_})"
            )
        return S
