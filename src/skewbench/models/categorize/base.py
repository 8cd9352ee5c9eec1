"""What every categorization model shares: the treatment spec, the model interface, losses.

Labels inside models are integer codes 0..K−1. ``counts`` are the training class counts after
the controlled-imbalance subsample and before any resampling; class weights and the class prior
π (for logit adjustment) come from them.

Treatments (name → parameters with defaults):
- ``none``;
- ``class_weight`` {scheme: inverse | sqrt_inverse | effective_number | majority_weighted,
  beta: 0.999 (effective_number only)} — see :mod:`skewbench.treatments.weights`;
- ``focal`` {gamma: 2.0, alpha: null | scheme name | list of K floats};
- ``logit_adjust_loss`` {tau: 1.0}; ``logit_adjust_posthoc`` {tau: 1.0};
- ``oversample``, ``undersample``, ``smote`` {k_neighbors: 5} — training rows only;
- ``balanced_softmax`` {} — Ren et al. 2020 (= ``logit_adjust_loss`` with τ = 1);
- ``ldam`` {max_margin: 0.5, scale: 1.0, drw_start: null} — Cao et al. 2019; with
  ``drw_start`` = an epoch, LDAM-DRW: from that epoch on the loss is weighted by the effective
  number scheme with β = 0.9999 (the paper's choice);
- ``drw`` {start: null, scheme: effective_number, beta: 0.9999} — deferred re-weighting (Cao et
  al. 2019, §3.3): plain cross-entropy for epochs 1 … start−1, weighted by ``scheme`` from epoch
  ``start`` on (null = the model's default, see its ``DRW_START``);
- ``adaptive_recall`` {step: 1.0, smoothing: 0.5, lower: 0.1, upper: 10.0} — class weights
  re-set after every validation check from the classes' validation recall
  (:func:`skewbench.treatments.weights.recall_adaptive_update`: EMA-smoothed recall with factor
  ``smoothing``, multiplicative step ``step``, class-mean 1, clipped to [lower, upper]);
- ``crt`` {} — classifier re-training (Kang et al. 2020): train as usual, then re-initialise
  the linear classifier and re-train it alone on class-balanced samples of the training set;
- ``tau_norm`` {tau: 1.0} — τ-normalised classifier (Kang et al. 2020): train as usual, then
  w_k ← w_k / ‖w_k‖^τ (bias unchanged; τ = 0 is the identity).
The last six are for the torch heads (and, where a model says so, Keras).

Weights given to a model are rescaled to mean example weight 1 (w ← w · N / Σ_k N_k w_k) so
that schemes differ only in their relative weights, not in the effective regularisation of a
model whose loss is a weighted sum (scikit-learn's logistic regression); for the weighted-mean
torch losses the rescaling changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from skewbench.errors import ConfigError, IncompatibleError
from skewbench.specs import defaults, entries, param_errors, raise_errors
from skewbench.treatments.weights import RENAMED, check_scheme, class_weights


def _treatment_entry(name: str):  # the spec registry is the one list of names and defaults
    from skewbench.specs import find

    return find("treatment", "categorize", name)


TREATMENT_PARAMS: dict[str, dict[str, Any]] = {
    e.name: defaults(e.spec) for e in entries("treatment", "categorize")
}
LDAM_DRW_BETA = 0.9999  # Cao et al. 2019's β for LDAM-DRW's re-weighting phase
SAMPLING = ("oversample", "undersample", "smote")
# treatments that need a training loop of our own (epochs, a torch loss or classifier)
TORCH_ONLY = ("balanced_softmax", "ldam", "drw", "adaptive_recall", "crt", "tau_norm")


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
        # a renamed scheme gets a message naming its new name (before the generic check)
        for key in ("scheme", "alpha"):
            if isinstance(params.get(key), str) and params[key] in RENAMED:
                check_scheme(params[key], f"treatment.params.{key}")
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
    # searchable ranges for ``tune: true`` (param → values), see skewbench.tuning
    tune_space: ClassVar[dict[str, list[Any]]] = {}
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
        cls.resolve_params(params)  # unknown parameters refused
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


def make_torch_loss(treatment: Treatment, counts: np.ndarray, default_start: int = 1) -> TrainLoss:
    """The training loss (logits, targets) → scalar for ``treatment`` (torch models), with its
    schedule; ``default_start`` is the model's DRW epoch when the treatment leaves it null."""
    return TrainLoss(treatment, counts, default_start)


class TrainLoss:
    """A torch training loss with an optional schedule (DRW) or adaptive weights.

    Call it as ``loss(logits, targets)``. A training loop calls :meth:`begin_epoch` before each
    epoch (1-based) and :meth:`after_validation` after each validation check; both return True
    when the loss has just changed, so that early stopping restarts its comparison (losses
    under different weights are not comparable). ``hold_until``: no early stop before this
    epoch (DRW must reach its re-weighting phase). :meth:`monitor` is the validation loss for
    early stopping: the loss itself, except for ``adaptive_recall``, whose weights move every
    check — it is monitored by the class-balanced cross-entropy (weights 1/n_k of the
    validation counts), which does not move. ``weight_history`` records each weight vector set.
    """

    def __init__(self, treatment: Treatment, counts: np.ndarray, default_start: int = 1):
        import torch

        from skewbench.treatments.losses import ldam_margins, log_prior

        self.treatment = treatment
        self.counts = np.asarray(counts)
        p = treatment.params
        w = treatment.weights(counts)
        self.weight = None if w is None else torch.as_tensor(w, dtype=torch.float32)
        self.log_prior = torch.as_tensor(log_prior(counts), dtype=torch.float32)
        self.margins = (
            torch.as_tensor(ldam_margins(counts, p["max_margin"]), dtype=torch.float32)
            if treatment.name == "ldam"
            else None
        )
        self.start: int | None = None
        if treatment.name == "drw":
            self.start = int(p["start"] if p["start"] is not None else default_start)
        elif treatment.name == "ldam" and p["drw_start"] is not None:
            self.start = int(p["drw_start"])
        self.hold_until = self.start or 0
        self.recall_ema: np.ndarray | None = None
        self.weight_history: list[list[float]] = []

    def _delayed_weights(self) -> np.ndarray:
        from skewbench.treatments.weights import class_weights

        p = self.treatment.params
        if self.treatment.name == "drw":
            w = class_weights(self.counts, p["scheme"], beta=p["beta"])
        else:
            w = class_weights(self.counts, "effective_number", beta=LDAM_DRW_BETA)
        c = self.counts.astype(float)
        return w * c.sum() / np.dot(c, w)

    def begin_epoch(self, epoch: int) -> bool:
        import torch

        if self.start is not None and epoch == self.start:
            w = self._delayed_weights()
            self.weight = torch.as_tensor(w, dtype=torch.float32)
            self.weight_history.append(w.tolist())
            return True
        return False

    def after_validation(self, val_logits: np.ndarray, val_y: np.ndarray) -> bool:
        import torch

        from skewbench.treatments.weights import ema, recall_adaptive_update

        if self.treatment.name != "adaptive_recall":
            return False
        p = self.treatment.params
        k = self.counts.size
        yv = np.asarray(val_y)
        pred = np.asarray(val_logits).argmax(axis=1)
        n_k = np.bincount(yv, minlength=k)
        hits = np.bincount(yv[pred == yv], minlength=k)
        # a class absent from validation keeps the mean recall (no signal → no move)
        present = n_k > 0
        recall = np.where(present, hits / np.maximum(n_k, 1), 0.0)
        recall[~present] = recall[present].mean() if present.any() else 0.0
        self.recall_ema = ema(self.recall_ema, recall, float(p["smoothing"]))
        old = np.ones(k) if self.weight is None else self.weight.double().numpy()
        w = recall_adaptive_update(
            old,
            self.recall_ema,
            step=float(p["step"]),
            lower=float(p["lower"]),
            upper=float(p["upper"]),
        )
        self.weight = torch.as_tensor(w, dtype=torch.float32)
        self.weight_history.append(w.tolist())
        return False  # monitored by a fixed loss (class doc): nothing to restart

    def __call__(self, z: Any, t: Any) -> Any:
        from skewbench.treatments.losses import (
            balanced_softmax_loss,
            focal_loss,
            ldam_loss,
            logit_adjusted_loss,
            weighted_cross_entropy,
        )

        name, p = self.treatment.name, self.treatment.params
        if name == "focal":
            return focal_loss(z, t, gamma=float(p["gamma"]), alpha=self.weight)
        if name == "logit_adjust_loss":
            return logit_adjusted_loss(z, t, self.log_prior, tau=float(p["tau"]))
        if name == "balanced_softmax":
            return balanced_softmax_loss(z, t, self.log_prior)
        if name == "ldam":
            assert self.margins is not None  # set in __init__ for ldam
            return ldam_loss(z, t, self.margins, float(p["scale"]), weight=self.weight)
        return weighted_cross_entropy(z, t, weight=self.weight)

    def monitor(self, z: Any, t: Any) -> Any:
        import torch

        from skewbench.treatments.losses import weighted_cross_entropy

        if self.treatment.name != "adaptive_recall":
            return self(z, t)
        n_k = torch.bincount(t, minlength=z.shape[1]).to(z.dtype)
        w = torch.where(n_k > 0, 1.0 / n_k.clamp(min=1), torch.zeros_like(n_k))
        return weighted_cross_entropy(z, t, weight=w)
