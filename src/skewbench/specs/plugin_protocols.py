"""The three model plug-in protocols, one per task (what ``fit`` receives, what the scoring
method returns, which capabilities a class may declare).

A plug-in class is constructed with its own parameters only (``Class(**params)``); every random
stream it needs comes from the ``seed`` that ``fit`` receives (derived from the run's one seed).
It may declare ``capabilities`` (a subset of ``{"sample_weights", "custom_loss"}``) and
``config_class`` (a pydantic model of its parameters, checked at validation). Only the
treatments its capabilities allow are accepted; the rest are refused before any work.
Type-check your class against these with ``mypy`` (they are ``typing.Protocol`` classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp


@runtime_checkable
class CategorizePlugin(Protocol):
    """Text → class. ``y`` / ``val_y`` are integer codes 0..n_classes−1.

    ``sample_weight`` (capability ``sample_weights``): one weight per training text, from the
    ``class_weight`` treatment (mean 1). ``loss`` (capability ``custom_loss``): a callable
    ``loss(logits, targets) -> scalar`` on torch tensors (focal, logit-adjusted, LDAM, DRW …);
    call ``loss.begin_epoch(epoch)`` before each 1-based epoch and
    ``loss.after_validation(val_logits, val_y)`` after each validation check so that schedules
    (DRW, adaptive_recall) apply. ``predict_proba`` returns (n, n_classes) rows summing to 1;
    the task applies ``logit_adjust_posthoc`` itself. Over/undersampling are applied by the task
    to the training texts before ``fit``."""

    def fit(
        self,
        texts: Sequence[str],
        y: np.ndarray,
        *,
        val_texts: Sequence[str],
        val_y: np.ndarray,
        n_classes: int,
        seed: int,
        sample_weight: np.ndarray | None = None,
        loss: Any | None = None,
    ) -> Any: ...

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class RecommendPlugin(Protocol):
    """Users × items → scores. ``X``: ``scipy.sparse.csr_matrix`` of training interaction
    weights (users × items, row = user index). ``sample_weight`` (capability
    ``sample_weights``): a CSR matrix of the same pattern holding the ``ips`` treatment's
    weight of each interaction. ``score(users)`` returns (len(users), n_items) floats; the task
    removes each user's training items and ranks (ties: lower item index first). A class that
    sets ``uses_sequences = True`` also gets ``sequences``: each user's items in time order."""

    def fit(
        self, X: sp.csr_matrix, *, seed: int, sample_weight: sp.csr_matrix | None = None
    ) -> Any: ...

    def score(self, users: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class SearchPlugin(Protocol):
    """Query texts → scores of every catalog item. ``fit`` gets the item texts (row i = item
    i) and keywords: ``seed``, ``popularity`` (training purchases per item), and where the data
    set has them ``train_queries`` (texts of the training queries, ``.texts``) with
    ``train_truth`` (their relevant items) and ``history``. ``score(queries)`` takes an object
    with ``.texts`` (a list of query strings) and returns (len(queries), n_items) floats;
    ``-inf`` marks an item that is no candidate."""

    def fit(self, texts: list[str], **data: Any) -> Any: ...

    def score(self, queries: Any) -> np.ndarray: ...
