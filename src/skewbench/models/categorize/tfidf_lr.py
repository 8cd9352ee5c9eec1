"""TF-IDF + multinomial logistic regression (scikit-learn).

Features: ``TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 1),
max_features=20000)`` fitted on
the training texts (before any resampling). Classifier: ``LogisticRegression`` (multinomial
softmax, L2 with inverse strength ``C`` = 1, scikit-learn's default), solver lbfgs with
tol 1e-4 and up to 1,000 iterations. Why not saga: its step size is set by the largest
per-example Lipschitz constant, which class weights of 50–100 on tail examples blow up, so at
ρ = 100 it stopped unconverged even after 1,000 epochs and its numbers depended on the
iteration budget (tail recall moved with the number of epochs on one and the same cell); lbfgs
converges there. Whether the solver converged is
recorded per cell (``info["converged"]``) and the report lists cells that did not.
Unigrams scored higher than uni+bigrams at a quarter of the cost. Treatments: class weights
(as ``class_weight``, rescaled to mean example weight 1 — see :mod:`.base`), random
over/under sampling and SMOTE on the sparse TF-IDF rows, post-hoc logit adjustment of the
decision function. Focal and logit-adjusted training losses cannot be expressed in
scikit-learn's logistic regression and are refused.

Model selection: ``C`` is fixed at 1 by default; ``tune: true`` searches ``tune_space`` (C on a
log grid) on the validation split's balanced accuracy (:mod:`skewbench.tuning`, task-side).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from skewbench.models.categorize.base import TORCH_ONLY, TREATMENT_PARAMS, CategorizeModel
from skewbench.treatments.losses import log_prior, posthoc_logit_adjust, softmax
from skewbench.treatments.sampling import resample


class TfidfLR(CategorizeModel):
    name: ClassVar[str] = "tfidf_lr"
    PARAMS: ClassVar[dict[str, Any]] = {
        "C": 1.0,
        "solver": "lbfgs",
        "tol": 1e-4,
        "max_iter": 1000,
        "min_df": 2,
        "ngram_range": [1, 1],
        "max_features": 20_000,
    }
    tune_space: ClassVar[dict[str, list[Any]]] = {"C": [0.1, 0.3, 1.0, 3.0, 10.0]}
    SUPPORTS: ClassVar[frozenset[str]] = frozenset(TREATMENT_PARAMS) - {
        "focal",
        "logit_adjust_loss",
        *TORCH_ONLY,
    }
    REASONS: ClassVar[dict[str, str]] = {
        "focal": "scikit-learn's LogisticRegression has a fixed log-loss (no focal term); "
        "use minilm_frozen or minilm_finetune",
        "logit_adjust_loss": "scikit-learn's LogisticRegression cannot add τ·log π to its "
        "logits during training; use logit_adjust_posthoc or a torch model",
        **{
            t: "scikit-learn's LogisticRegression has a fixed loss and no epoch schedule; "
            "use minilm_frozen, minilm_finetune (or seed_keras where it applies)"
            for t in TORCH_ONLY
        },
    }

    def fit(
        self,
        texts: Sequence[str],
        y: np.ndarray,
        val_texts: Sequence[str],
        val_y: np.ndarray,
        n_classes: int,
    ) -> TfidfLR:
        p = self.params
        y = np.asarray(y, dtype=np.int64)
        counts = np.bincount(y, minlength=n_classes)
        self.n_classes_ = n_classes
        self.log_prior_ = log_prior(counts)
        self.vectorizer_ = TfidfVectorizer(
            sublinear_tf=True,
            min_df=int(p["min_df"]),
            ngram_range=tuple(p["ngram_range"]),
            max_features=p["max_features"],
            dtype=np.float32,
        )
        X = self.vectorizer_.fit_transform(texts)
        if self.treatment.sampling:
            X, y, self.resample_source_ = resample(
                X,
                y,
                self.treatment.sampling,
                self.seed,
                k_neighbors=int(self.treatment.params.get("k_neighbors", 5)),
            )
        w = self.treatment.weights(counts)
        class_weight = None if w is None else {k: float(w[k]) for k in range(n_classes)}
        clf = LogisticRegression(
            C=float(p["C"]),
            solver=p["solver"],
            tol=float(p["tol"]),
            max_iter=int(p["max_iter"]),
            class_weight=class_weight,
            random_state=self.seed,
        )
        # A solver that stops at max_iter is recorded in converged_ (and the cell's info,
        # listed by the report) instead of one warning per cell flooding the run's output.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf.fit(X, y)
        self.converged_ = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        self.clf_ = clf
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        z = self.clf_.decision_function(self.vectorizer_.transform(texts))
        if z.ndim == 1:  # two classes: scikit-learn returns one column
            z = np.column_stack([np.zeros_like(z), z])
        full = np.full((z.shape[0], self.n_classes_), -np.inf)
        full[:, self.clf_.classes_] = z
        return softmax(posthoc_logit_adjust(full, self.log_prior_, self.treatment.posthoc_tau))
