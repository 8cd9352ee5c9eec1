"""A user's recommender class (``model: plugin``) behind the task's model interface.

``ips`` (capability ``sample_weights``) reaches the class as ``sample_weight``: a CSR matrix with
the pattern of X holding each interaction's item weight w_i = min(1/p_i, clip), p_i ∝ pop^η
(:func:`skewbench.treatments.propensity.ips_weights`, as BPR's IPS), divided by the mean over
the training interactions when ``self_normalised``. List-side treatments re-rank its scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from skewbench.specs.plugins import build, capabilities


class PluginRecommender:
    """Fits and scores through the plug-in; checks the shape of what it returns."""

    def __init__(self, params: dict[str, Any], treatment: Any):
        self.model_ = build(params)
        self.ref = params["class"]
        self.treatment = treatment
        self.uses_sequences = bool(getattr(self.model_, "uses_sequences", False))

    def fit(self, X: sp.csr_matrix, seed: int | None = None, **extra: Any) -> PluginRecommender:
        from skewbench.data.groups import item_popularity_matrix
        from skewbench.treatments.propensity import ips_weights

        X = sp.csr_matrix(X, dtype=np.float32)
        self.n_users_, self.n_items_ = X.shape
        kwargs = dict(extra)
        if self.treatment is not None and self.treatment.name == "ips":
            p = self.treatment.params
            w = ips_weights(item_popularity_matrix(X), p.get("eta", 0.5), p.get("clip", 100.0))
            W = X.copy()
            W.data = w[W.indices].astype(np.float32)
            if p.get("self_normalised", False):
                W.data /= W.data.mean()
            kwargs["sample_weight"] = W
        self.model_.fit(X, seed=0 if seed is None else int(seed), **kwargs)
        return self

    def score(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, dtype=np.int64)
        S = np.asarray(self.model_.score(users), dtype=np.float32)
        if S.shape != (users.size, self.n_items_):
            raise ValueError(
                f"plug-in {type(self.model_).__name__}.score returned shape {S.shape}, "
                f"expected ({users.size}, {self.n_items_})"
            )
        return S

    def info(self) -> dict[str, Any]:
        own = getattr(self.model_, "info", None)
        return {
            "plugin": {"class": self.ref, "capabilities": sorted(capabilities(type(self.model_)))},
            **(own() if callable(own) else {}),
        }
