"""What every categorization model shares: the treatment spec, the model interface, losses.

Labels inside models are integer codes 0..K−1. ``counts`` are the training class counts after
the controlled-imbalance subsample and before any resampling; class weights and the class prior
π (for logit adjustment) come from them.

Treatments (name → parameters with defaults):
- ``none``;
- ``class_weight`` {scheme: inverse | sqrt_inverse | effective_number | source_formula,
  beta: 0.999 (effective_number only)} — see :mod:`skewbench.treatments.weights`;
- ``focal`` {gamma: 2.0, alpha: null | scheme name | list of K floats};
- ``logit_adjust_loss`` {tau: 1.0}; ``logit_adjust_posthoc`` {tau: 1.0};
- ``oversample``, ``undersample``, ``smote`` {k_neighbors: 5} — training rows only.

Weights given to a model are rescaled to mean example weight 1 (w ← w · N / Σ_k N_k w_k) so
that schemes differ only in their relative weights, not in the effective regularisation of a
model whose loss is a weighted sum (scikit-learn's logistic regression); for the weighted-mean
torch losses the rescaling changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from skewbench.errors import ConfigError, IncompatibleError
from skewbench.specs import defaults, entries, param_errors, raise_errors
from skewbench.treatments.weights import class_weights


def _treatment_entry(name: str):  # the spec registry is the one list of names and defaults
    from skewbench.specs import find

    return find("treatment", "categorize", name)


TREATMENT_PARAMS: dict[str, dict[str, Any]] = {
    e.name: defaults(e.spec) for e in entries("treatment", "categorize")
}
SAMPLING = ("oversample", "undersample", "smote")


@dataclass(frozen=True)
class Treatment:
    """A validated treatment with its defaults filled in."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, name: str, params: dict[str, Any] | None = None) -> Treatment:
        """Validate ``name`` and ``params``; ConfigError names the bad field."""
        params = dict(params or {})
        entry = _treatment_entry(name)
        if entry is None:
            raise ConfigError(
                f"treatment.name: unknown treatment {name!r} for categorize; "
                f"choose one of {list(TREATMENT_PARAMS)}"
            )
        raise_errors(param_errors(entry, params, "treatment.params"))
        full = {**defaults(entry.spec), **params}
        return cls(name, full)

    @property
    def sampling(self) -> str | None:
        return self.name if self.name in SAMPLING else None

    @property
    def posthoc_tau(self) -> float:
        return float(self.params["tau"]) if self.name == "logit_adjust_posthoc" else 0.0

    def weights(self, counts: np.ndarray) -> np.ndarray | None:
        """Per-class loss weights (mean example weight 1), or None for unweighted."""
        if self.name == "class_weight":
            w = class_weights(counts, self.params["scheme"], beta=self.params["beta"])
        elif self.name == "focal" and self.params["alpha"] is not None:
            a = self.params["alpha"]
            w = class_weights(counts, a) if isinstance(a, str) else np.asarray(a, dtype=float)
            if w.size != len(counts) or (w <= 0).any():
                raise ConfigError(
                    f"treatment.params.alpha: need {len(counts)} positive "
                    f"per-class values, got {list(a)}"
                )
        else:
            return None
        c = np.asarray(counts, dtype=float)
        return w * c.sum() / np.dot(c, w)


class CategorizeModel:
    """Interface of a categorization model (scikit-learn style: fitted state ends in ``_``).

    ``fit`` sees the training texts/codes (treatments apply to these only) and the validation
    split (for early stopping / model selection only); ``predict_proba`` returns (n, K) rows
    summing to 1, already post-hoc adjusted when the treatment asks for it.
    """

    name: ClassVar[str]
    PARAMS: ClassVar[dict[str, Any]] = {}
    SUPPORTS: ClassVar[frozenset[str]] = frozenset(TREATMENT_PARAMS)
    REASONS: ClassVar[dict[str, str]] = {}

    def __init__(self, treatment: Treatment, seed: int, **params: Any):
        self.treatment = treatment
        self.seed = int(seed)
        self.params = self.resolve_params(params)
        self.resample_source_: np.ndarray | None = None  # training rows used (−1 = synthetic)

    @classmethod
    def resolve_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        for key in params:
            if key not in cls.PARAMS:
                raise ConfigError(
                    f"model.params.{key}: unknown parameter for {cls.name!r}; "
                    f"allowed: {sorted(cls.PARAMS)}"
                )
        return {**cls.PARAMS, **params}

    @classmethod
    def check(cls, treatment: Treatment, params: dict[str, Any]) -> None:
        """Refuse params or a treatment this model cannot apply (before any work)."""
        cls.resolve_params(params)
        if treatment.name not in cls.SUPPORTS:
            why = cls.REASONS.get(treatment.name, "")
            raise IncompatibleError(
                f"model {cls.name!r} cannot apply treatment {treatment.name!r}"
                + (f": {why}" if why else "")
                + f"; it supports {sorted(cls.SUPPORTS)}"
            )

    def fit(
        self,
        texts: Sequence[str],
        y: np.ndarray,
        val_texts: Sequence[str],
        val_y: np.ndarray,
        n_classes: int,
    ) -> CategorizeModel:
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError


def make_torch_loss(treatment: Treatment, counts: np.ndarray) -> Callable[[Any, Any], Any]:
    """The training loss (logits, targets) → scalar for ``treatment`` (torch models)."""
    import torch

    from skewbench.treatments.losses import (
        focal_loss,
        log_prior,
        logit_adjusted_loss,
        weighted_cross_entropy,
    )

    w = treatment.weights(counts)
    weight = None if w is None else torch.as_tensor(w, dtype=torch.float32)
    if treatment.name == "focal":
        gamma = float(treatment.params["gamma"])
        return lambda z, t: focal_loss(z, t, gamma=gamma, alpha=weight)
    if treatment.name == "logit_adjust_loss":
        lp = torch.as_tensor(log_prior(counts), dtype=torch.float32)
        tau = float(treatment.params["tau"])
        return lambda z, t: logit_adjusted_loss(z, t, lp, tau=tau)
    return lambda z, t: weighted_cross_entropy(z, t, weight=weight)
