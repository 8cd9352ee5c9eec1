"""Random over-/under-sampling and SMOTE (imbalanced-learn), for the TRAINING split only.

Follows imbalanced-learn's ``fit_resample`` contract: resampling is a training-time step and is
never applied when predicting or scoring. :func:`resample` takes the training rows only, so a
validation or test row cannot reach it, and returns which training row each output row comes
from, so callers (and tests) can prove it.

Methods (``sampling_strategy="auto"`` throughout, imbalanced-learn's default):
- ``"oversample"``: ``RandomOverSampler`` — every class but the majority is drawn with
  replacement up to the majority count.
- ``"undersample"``: ``RandomUnderSampler`` — every class but the minority is drawn without
  replacement down to the minority count.
- ``"smote"``: ``SMOTE(k_neighbors=k)`` — every class but the majority is topped up to the
  majority count with points interpolated between a row and one of its k nearest same-class
  neighbours (Chawla et al., 2002). Needs k < the smallest class count; k is lowered to
  (smallest count − 1) when it is not, and a class of 1 example is an error.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from skewbench.errors import ConfigError

METHODS = ("oversample", "undersample", "smote")


def resample(
    X_train: np.ndarray | sp.spmatrix,
    y_train: np.ndarray,
    method: str,
    seed: int,
    *,
    k_neighbors: int = 5,
) -> tuple[np.ndarray | sp.spmatrix, np.ndarray, np.ndarray]:
    """Resample training rows. Returns ``(X, y, source)``.

    ``source[i]`` is the position in ``X_train`` of output row i, or −1 for a synthetic SMOTE
    row (an interpolation of two training rows of its class). Output rows are ordered as
    imbalanced-learn returns them.
    """
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from imblearn.under_sampling import RandomUnderSampler

    y = np.asarray(y_train)
    if X_train.shape[0] != y.shape[0]:
        raise ValueError(f"X_train has {X_train.shape[0]} rows but y_train has {y.shape[0]}")
    if method == "oversample":
        sampler = RandomOverSampler(random_state=seed)
    elif method == "undersample":
        sampler = RandomUnderSampler(random_state=seed)
    elif method == "smote":
        smallest = int(np.bincount(np.unique(y, return_inverse=True)[1]).min())
        if smallest < 2:
            raise ConfigError("treatment smote: a training class has 1 example; SMOTE needs 2")
        sampler = SMOTE(k_neighbors=min(int(k_neighbors), smallest - 1), random_state=seed)
    else:
        raise ConfigError(
            f"treatment: unknown resampling method {method!r}; choose one of {list(METHODS)}"
        )
    X_res, y_res = sampler.fit_resample(X_train, y)
    if method == "smote":
        # imblearn's SMOTE returns the original rows unchanged first, then the synthetic ones
        n = X_train.shape[0]
        source = np.concatenate([np.arange(n), np.full(X_res.shape[0] - n, -1)])
    else:
        source = np.asarray(sampler.sample_indices_, dtype=np.int64)
    return X_res, np.asarray(y_res), source.astype(np.int64)
