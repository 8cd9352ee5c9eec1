"""A user's categorization class (``model: plugin``) run under the task's treatments.

The task does for the plug-in what it does for a shipped model, within its declared
capabilities (:mod:`skewbench.specs.plugins`): over/undersampling picks training texts before
``fit``; ``class_weight`` becomes ``sample_weight`` (one weight per text, mean example weight 1)
or, for a ``custom_loss`` class, the weighted loss; loss treatments hand ``fit`` the task's own
:class:`~skewbench.models.categorize.base.TrainLoss`; ``logit_adjust_posthoc`` subtracts
τ·log π from the log-probabilities the class returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from skewbench.errors import ConfigError, IncompatibleError
from skewbench.models.categorize.base import CategorizeModel, Treatment, make_torch_loss
from skewbench.specs.plugins import build, plugin_errors
from skewbench.treatments.losses import log_prior, posthoc_logit_adjust, softmax
from skewbench.treatments.sampling import resample

LOSS_TREATMENTS = ("focal", "logit_adjust_loss", "balanced_softmax", "ldam", "drw")


class PluginModel(CategorizeModel):
    name: ClassVar[str] = "plugin"

    @classmethod
    def resolve_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        return dict(params)  # checked against the class itself (check)

    @classmethod
    def check(cls, treatment: Treatment, params: dict[str, Any]) -> None:
        from skewbench.specs import names_of
        from skewbench.specs.plugins import capabilities, plugin_treatments

        errors, klass = plugin_errors("categorize", params)
        if errors or klass is None:
            raise ConfigError(errors[0])
        every = tuple(names_of("treatment", "categorize"))
        accepted, reasons = plugin_treatments("categorize", capabilities(klass), every)
        if treatment.name not in accepted:
            why = reasons.get(treatment.name, "")
            raise IncompatibleError(
                f"model 'plugin' cannot apply treatment {treatment.name!r}"
                + (f": {why}" if why else "")
                + f"; it supports {sorted(accepted)}"
            )

    def fit(
        self,
        texts: Sequence[str],
        y: np.ndarray,
        val_texts: Sequence[str],
        val_y: np.ndarray,
        n_classes: int,
    ) -> PluginModel:
        from skewbench.specs.plugins import capabilities

        self.model_ = build(self.params)
        caps = capabilities(type(self.model_))
        y = np.asarray(y, dtype=np.int64)
        counts = np.bincount(y, minlength=n_classes)
        self.log_prior_ = log_prior(counts)
        self.n_classes_ = n_classes
        rows = np.arange(len(texts))
        if self.treatment.sampling:
            _, y, rows = resample(rows[:, None], y, self.treatment.sampling, self.seed)
            self.resample_source_ = rows
        kwargs: dict[str, Any] = {}
        name = self.treatment.name
        w = self.treatment.weights(counts)
        if name == "class_weight" and "sample_weights" in caps:
            kwargs["sample_weight"] = np.asarray(w)[y]
        elif name in (*LOSS_TREATMENTS, "adaptive_recall", "class_weight"):
            kwargs["loss"] = make_torch_loss(self.treatment, counts)
        self.model_.fit(
            [texts[int(i)] for i in rows],
            y,
            val_texts=list(val_texts),
            val_y=np.asarray(val_y),
            n_classes=n_classes,
            seed=self.seed,
            **kwargs,
        )
        self.weight_history_ = getattr(kwargs.get("loss"), "weight_history", None)
        self.plugin_info_ = {"class": self.params["class"], "capabilities": sorted(caps)}
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        proba = np.asarray(self.model_.predict_proba(list(texts)), dtype=np.float64)
        if proba.shape != (len(texts), self.n_classes_):
            raise ValueError(
                f"plug-in {type(self.model_).__name__}.predict_proba returned shape "
                f"{proba.shape}, expected ({len(texts)}, {self.n_classes_})"
            )
        tau = self.treatment.posthoc_tau
        if not tau:
            return proba
        with np.errstate(divide="ignore"):
            z = np.log(proba)
        return softmax(posthoc_logit_adjust(z, self.log_prior_, tau))
