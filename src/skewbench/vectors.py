"""Row-vector helpers shared by models and re-rankers (one home for L2 row normalisation)."""

from __future__ import annotations

import numpy as np


def unit_rows(x: np.ndarray, dtype: type | None = np.float32) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), computed in ``x``'s own precision,
    then cast to ``dtype`` (``None`` keeps ``x``'s)."""
    x = np.asarray(x)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    out = x / np.where(norm > 0, norm, 1.0)
    return out if dtype is None else out.astype(dtype, copy=False)
