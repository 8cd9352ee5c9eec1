"""A Keras embedding + MLP classifier: token ids → Embedding → Flatten → Dense → softmax.

Architecture::

    ids (max_len) → Embedding(vocab_size, 128) → Flatten → Dense(64, relu) → Dense(K, softmax)

compiled with ``adam`` (Keras defaults, lr 0.001) and ``categorical_crossentropy`` on one-hot
labels, trained ``epochs`` = 10 passes with ``batch_size`` = 32 (Keras shuffles each epoch), the
validation split passed as ``validation_data`` so every epoch logs ``loss``, ``accuracy``,
``val_loss`` and ``val_accuracy`` (stored per cell in ``info["history"]``; no early stopping,
as in the source). Keras 3 runs on the **torch backend** (``KERAS_BACKEND=torch`` is set here,
before Keras is imported; no TensorFlow). Deterministic on CPU: ``keras.utils.set_random_seed``
with the cell's model seed (Python, NumPy and torch generators: init and shuffles); the CPU
kernels it uses (embedding gather/scatter, matmul, Adam) are deterministic, checked by a test
(same seed → identical histories and probabilities). torch's ``use_deterministic_algorithms``
is not switched on: it changed no number and slows every epoch.

Tokenizer (ours; Keras' ``TextVectorization`` needs TensorFlow): lower-case, tokens are runs of
``[a-z0-9']``; the vocabulary is the ``vocab_size`` − 2 most frequent tokens of the TRAINING
texts (ties: alphabetical), id 0 = padding, id 1 = out of vocabulary; the Embedding's input
dimension is the vocabulary actually built (+ 2), at most ``vocab_size`` (a training split with
fewer distinct words would otherwise carry untrainable rows); sequences are cut after
``max_len`` = 100 tokens and padded with 0 at the end.

Treatments: ``class_weight`` via Keras ``fit(class_weight=…)`` (weights rescaled to mean example
weight 1, as everywhere); ``focal`` via ``keras.losses.CategoricalFocalCrossentropy(alpha=1,
gamma=γ)`` (Keras' scalar α would only rescale the loss; a per-class α goes through
``class_weight``; γ = 0 is cross-entropy); ``logit_adjust_loss`` / ``balanced_softmax``: the
softmax output p gives the adjusted loss exactly, −log(p_y π_y^τ / Σ_j p_j π_j^τ) = cross-entropy
of z + τ log π; ``logit_adjust_posthoc``: p_k / π_k^τ renormalised; ``oversample`` /
``undersample`` on the training id rows; ``drw``: plain loss for epochs 1 … start−1, then
``class_weight`` from the DRW scheme (``DRW_START`` = 6 by default: the second half);
``adaptive_recall``: one ``fit`` call per epoch, ``class_weight`` re-set after each from the
validation recall (:class:`.base.TrainLoss`'s rule). Refused: SMOTE (interpolating token ids
makes no text), LDAM, cRT, τ-norm (written for the torch heads).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from skewbench.models.categorize.base import TREATMENT_PARAMS, CategorizeModel, TrainLoss
from skewbench.treatments.losses import log_prior, posthoc_logit_adjust
from skewbench.treatments.sampling import resample

TOKEN = re.compile(r"[a-z0-9']+")
PAD, OOV = 0, 1
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def import_keras() -> Any:
    """Keras on the torch backend (set before the first import; refused if another is active)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    if keras.backend.backend() != "torch":
        raise RuntimeError(
            f"Keras was loaded with backend {keras.backend.backend()!r}; skewbench needs "
            "KERAS_BACKEND=torch (set it before anything imports keras)"
        )
    return keras


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(str(text).lower())


def build_vocabulary(texts: Sequence[str], vocab_size: int) -> dict[str, int]:
    """token → id (2 …) for the ``vocab_size`` − 2 most frequent tokens (ties alphabetical)."""
    counts = Counter(tok for t in texts for tok in tokenize(t))
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: max(vocab_size - 2, 0)]
    return {tok: i + 2 for i, (tok, _) in enumerate(top)}


def to_ids(texts: Sequence[str], vocab: dict[str, int], max_len: int) -> np.ndarray:
    """(n, max_len) int32 ids: first ``max_len`` tokens, OOV = 1, padded with 0 at the end."""
    out = np.zeros((len(texts), max_len), dtype=np.int32)
    for i, t in enumerate(texts):
        ids = [vocab.get(tok, OOV) for tok in tokenize(t)[:max_len]]
        out[i, : len(ids)] = ids
    return out


class KerasEmbedMLP(CategorizeModel):
    name: ClassVar[str] = "keras_embed_mlp"
    DRW_START: ClassVar[int] = 6
    # the source's architecture and schedule are the object of study: nothing is tuned
    tune_space: ClassVar[dict[str, list[Any]]] = {}
    PARAMS: ClassVar[dict[str, Any]] = {
        "vocab_size": 20_000,
        "max_len": 100,
        "embedding_dim": 128,
        "hidden": 64,
        "epochs": 10,
        "batch_size": 32,
    }
    SUPPORTS: ClassVar[frozenset[str]] = frozenset(TREATMENT_PARAMS) - {
        "smote",
        "ldam",
        "crt",
        "tau_norm",
    }
    REASONS: ClassVar[dict[str, str]] = {
        "smote": "SMOTE interpolates feature vectors; interpolated token ids are no text",
        "ldam": "LDAM is implemented for the torch heads (minilm_frozen, minilm_finetune)",
        "crt": "cRT is implemented for the torch heads (minilm_frozen, minilm_finetune)",
        "tau_norm": "τ-normalisation is implemented for the torch heads",
    }

    def _build(self, keras: Any, n_classes: int) -> Any:
        p = self.params
        model = keras.Sequential(
            [
                keras.Input(shape=(int(p["max_len"]),), dtype="int32"),
                keras.layers.Embedding(len(self.vocab_) + 2, int(p["embedding_dim"])),
                keras.layers.Flatten(),
                keras.layers.Dense(int(p["hidden"]), activation="relu"),
                keras.layers.Dense(n_classes, activation="softmax"),
            ]
        )
        model.compile(optimizer="adam", loss=self._loss(keras), metrics=["accuracy"])
        return model

    def _loss(self, keras: Any) -> Any:
        t = self.treatment
        if t.name == "focal":
            return keras.losses.CategoricalFocalCrossentropy(
                alpha=1.0, gamma=float(t.params["gamma"])
            )
        if t.name in ("logit_adjust_loss", "balanced_softmax"):
            tau = float(t.params["tau"]) if t.name == "logit_adjust_loss" else 1.0
            log_pi = keras.ops.convert_to_tensor(self.log_prior_.astype(np.float32))
            ops = keras.ops

            def adjusted_cross_entropy(y_true: Any, y_pred: Any) -> Any:
                # log p_y + τ log π_y − log Σ_j p_j π_j^τ, from the softmax output (class doc)
                y_true = ops.convert_to_tensor(y_true, dtype="float32")
                y_pred = ops.convert_to_tensor(y_pred, dtype="float32")
                logp = ops.log(ops.clip(y_pred, 1e-7, 1.0)) + tau * log_pi
                return -ops.sum(y_true * (logp - ops.logsumexp(logp, axis=-1, keepdims=True)), -1)

            return adjusted_cross_entropy
        return "categorical_crossentropy"

    def fit(
        self,
        texts: Sequence[str],
        y: np.ndarray,
        val_texts: Sequence[str],
        val_y: np.ndarray,
        n_classes: int,
    ) -> KerasEmbedMLP:
        keras = import_keras()
        p = self.params
        y = np.asarray(y, dtype=np.int64)
        vy = np.asarray(val_y, dtype=np.int64)
        counts = np.bincount(y, minlength=n_classes)
        self.n_classes_ = n_classes
        self.log_prior_ = log_prior(counts)
        self.vocab_ = build_vocabulary(texts, int(p["vocab_size"]))
        X = to_ids(texts, self.vocab_, int(p["max_len"]))
        Xv = to_ids(val_texts, self.vocab_, int(p["max_len"]))
        if self.treatment.sampling:
            X, y, self.resample_source_ = resample(X, y, self.treatment.sampling, self.seed)
        Y = np.eye(n_classes, dtype=np.float32)[y]
        Yv = np.eye(n_classes, dtype=np.float32)[vy]
        # class weights of every epoch: fixed (class_weight, focal α), DRW's switch, or the
        # adaptive rule — TrainLoss holds them for the torch heads and here alike
        schedule = TrainLoss(self.treatment, counts, self.DRW_START)

        keras.utils.set_random_seed(self.seed)
        self.model_ = self._build(keras, n_classes)
        history: dict[str, list[float]] = {k: [] for k in HISTORY_KEYS}
        for epoch in range(1, int(p["epochs"]) + 1):
            schedule.begin_epoch(epoch)
            w = None if schedule.weight is None else schedule.weight.double().numpy()
            h = self.model_.fit(
                X,
                Y,
                batch_size=int(p["batch_size"]),
                epochs=epoch,
                initial_epoch=epoch - 1,
                validation_data=(Xv, Yv),
                class_weight=None if w is None else {k: float(v) for k, v in enumerate(w)},
                shuffle=True,
                verbose=0,
            )
            for k in HISTORY_KEYS:
                history[k].append(float(h.history[k][-1]))
            if self.treatment.name == "adaptive_recall":
                schedule.after_validation(self._proba(Xv), vy)
        self.history_ = history
        self.weight_history_ = schedule.weight_history
        return self

    def _proba(self, X: np.ndarray) -> np.ndarray:
        out = self.model_.predict(X, batch_size=256, verbose=0)
        return np.asarray(out, dtype=np.float64)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        proba = self._proba(to_ids(texts, self.vocab_, int(self.params["max_len"])))
        tau = self.treatment.posthoc_tau
        if tau == 0.0:
            return proba / proba.sum(axis=1, keepdims=True)
        adj = posthoc_logit_adjust(np.log(np.maximum(proba, 1e-300)), self.log_prior_, tau)
        adj = np.exp(adj - adj.max(axis=1, keepdims=True))
        return adj / adj.sum(axis=1, keepdims=True)
