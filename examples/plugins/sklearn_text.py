"""Categorize plug-in: a scikit-learn pipeline (TF-IDF → logistic regression trained by SGD).

Declares ``sample_weights``, so ``class_weight`` treatments reach it as per-text weights; the
task itself applies over/undersampling and post-hoc logit adjustment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.pipeline import Pipeline


class TextPipelineConfig(BaseModel):
    """The parameters a config may set (checked by ``skewbench validate``)."""

    model_config = ConfigDict(extra="forbid")
    alpha: float = Field(1e-4, gt=0, description="L2 strength of the linear model")
    ngram_max: int = Field(2, ge=1, le=3, description="word n-grams up to this length")
    epochs: int = Field(20, ge=1, description="passes of stochastic gradient descent")


class TextPipeline:
    """TF-IDF word n-grams + a logistic-loss linear model trained by SGD."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"sample_weights"})
    config_class: ClassVar[type[BaseModel]] = TextPipelineConfig

    def __init__(self, **params: Any):
        self.config = TextPipelineConfig(**params)

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
    ) -> TextPipeline:
        c = self.config
        self.n_classes_ = n_classes
        self.pipeline_ = Pipeline(
            [
                ("tfidf", TfidfVectorizer(sublinear_tf=True, ngram_range=(1, c.ngram_max))),
                (
                    "clf",
                    SGDClassifier(
                        loss="log_loss",
                        alpha=c.alpha,
                        max_iter=c.epochs,
                        tol=None,
                        random_state=seed,
                    ),
                ),
            ]
        )
        self.pipeline_.fit(list(texts), y, clf__sample_weight=sample_weight)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        p = self.pipeline_.predict_proba(list(texts))
        out = np.zeros((p.shape[0], self.n_classes_))
        out[:, self.pipeline_.classes_] = p  # a class absent from training gets 0
        return out
