"""Frozen sentence embeddings (cached) + a linear softmax head trained in torch.

Embeddings: :func:`skewbench.encoders.encode` (``encoder``: ``minilm`` = all-MiniLM-L6-v2,
the default, ``mpnet`` = all-mpnet-base-v2, a local sentence-transformers / Hugging Face folder
or a hub id already in the local cache; on ``device`` in ``dtype``, ``encode_batch_size`` texts
at a time; unit norm, from the disk cache), standardised per dimension with the training rows'
mean and std. Head: z = xW + b,
trained with the treatment's loss (:func:`.base.make_torch_loss`) plus L2 ``weight_decay`` on
W, by full-batch Adam (``batch_size=None``) or minibatch Adam with a seeded shuffle.
Early stopping: every ``eval_every`` epochs the same loss is computed on the validation split;
training stops after ``patience`` checks without improvement and the best weights are kept.
Every treatment applies; resampling (SMOTE included) runs on the training embeddings.
Schedules: DRW switches to its weights at epoch ``DRW_START`` (default 100 of ``max_epochs``;
early stopping is held until then and restarts at the switch); ``adaptive_recall`` re-weights
at every validation check (every ``eval_every`` epochs). ``crt``: the encoder is frozen, so
Kang et al.'s stage 1 (representation learning) has nothing to keep; cRT here is stage 2
alone — a fresh head trained with plain cross-entropy on a class-balanced sample (with
replacement, as many draws as training rows, seeded) of the training embeddings.
``tau_norm``: the head is trained with plain cross-entropy, then its class columns of W are
divided by their norm^τ. Per-check weight vectors of a schedule land in ``weight_history_``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from skewbench.models.categorize.base import CategorizeModel, make_torch_loss
from skewbench.treatments.losses import (
    class_balanced_sample,
    log_prior,
    posthoc_logit_adjust,
    softmax,
    tau_normalize,
)
from skewbench.treatments.sampling import resample


class MiniLMFrozen(CategorizeModel):
    name: ClassVar[str] = "minilm_frozen"
    DRW_START: ClassVar[int] = 100
    tune_space: ClassVar[dict[str, list[Any]]] = {
        "lr": [0.003, 0.01, 0.03],
        "weight_decay": [0.0, 1e-4, 1e-3],
    }
    PARAMS: ClassVar[dict[str, Any]] = {
        "encoder": "minilm",
        "lr": 0.01,
        "weight_decay": 1e-4,
        "max_epochs": 300,
        "batch_size": None,
        "eval_every": 10,
        "patience": 3,
        "device": "auto",
        "dtype": "auto",
        "encode_batch_size": 64,
        "backend": "torch",
    }

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        from skewbench.encoders import encode

        return encode(list(texts), **encode_settings(self.params))

    def fit(
        self,
        texts: Sequence[str],
        y: np.ndarray,
        val_texts: Sequence[str],
        val_y: np.ndarray,
        n_classes: int,
    ) -> MiniLMFrozen:
        y = np.asarray(y, dtype=np.int64)
        counts = np.bincount(y, minlength=n_classes)
        self.n_classes_ = n_classes
        self.log_prior_ = log_prior(counts)
        X = self._embed(texts)
        self.mean_ = X.mean(axis=0)
        self.std_ = X.std(axis=0) + 1e-6
        if self.treatment.sampling:
            X, y, self.resample_source_ = resample(
                X,
                y,
                self.treatment.sampling,
                self.seed,
                k_neighbors=int(self.treatment.params.get("k_neighbors", 5)),
            )
        Xv = self._embed(val_texts)
        X = (X - self.mean_) / self.std_
        if self.treatment.name == "crt":
            rows = class_balanced_sample(y, y.size, np.random.default_rng(self.seed))
            X, y = X[rows], y[rows]
        loss = make_torch_loss(self.treatment, counts, self.DRW_START)
        self.W_, self.b_, self.epochs_ = train_linear_head(
            X,
            y,
            (Xv - self.mean_) / self.std_,
            np.asarray(val_y, dtype=np.int64),
            n_classes,
            loss,
            seed=self.seed,
            **{
                k: self.params[k]
                for k in (
                    "lr",
                    "weight_decay",
                    "max_epochs",
                    "batch_size",
                    "eval_every",
                    "patience",
                )
            },
        )
        if self.treatment.name == "tau_norm":
            self.W_ = tau_normalize(self.W_, float(self.treatment.params["tau"]), class_axis=1)
        self.weight_history_ = loss.weight_history
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        X = (self._embed(texts) - self.mean_) / self.std_
        z = X.astype(np.float64) @ self.W_ + self.b_
        return softmax(posthoc_logit_adjust(z, self.log_prior_, self.treatment.posthoc_tau))


def encode_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The :func:`skewbench.encoders.encode` keywords of a frozen-encoder model's params
    (device resolved on this machine; dtype ``auto``: bf16 where the device computes it
    natively, else fp32)."""
    from skewbench.encoders.device import placement

    backend = params.get("backend", "torch")
    if backend != "torch":  # ONNX Runtime on the CPU, its own (fp32 or int8) graph
        device, dtype = "cpu", "fp32"
    else:
        device, dtype = placement(params.get("device", "auto"), params.get("dtype", "auto"))
    return {
        "model_name": params.get("encoder", "minilm"),
        "device": device,
        "precision": dtype,
        "batch_size": int(params.get("encode_batch_size", 64)),
        "backend": backend,
    }


def train_linear_head(
    X: np.ndarray,
    y: np.ndarray,
    Xv: np.ndarray,
    yv: np.ndarray,
    n_classes: int,
    loss_fn: Any,
    *,
    seed: int,
    lr: float = 0.01,
    weight_decay: float = 1e-4,
    max_epochs: int = 300,
    batch_size: int | None = None,
    eval_every: int = 10,
    patience: int = 3,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Adam on loss_fn(xW + b, y) + weight_decay/2 · ‖W‖²; returns (W, b, epochs run).

    ``loss_fn`` may be a :class:`.base.TrainLoss` (schedule hooks are then called: DRW's switch,
    adaptive weights after each check) or a plain callable. Deterministic under ``seed`` on CPU
    (seeded init and shuffle, deterministic algorithms).
    """
    import torch

    prev = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        gen = torch.Generator().manual_seed(int(seed))
        Xt = torch.as_tensor(X, dtype=torch.float32)
        yt = torch.as_tensor(y, dtype=torch.long)
        Xvt = torch.as_tensor(Xv, dtype=torch.float32)
        yvt = torch.as_tensor(yv, dtype=torch.long)
        d = Xt.shape[1]
        W = (torch.randn(d, n_classes, generator=gen) * 0.01).requires_grad_()
        b = torch.zeros(n_classes, requires_grad=True)
        opt = torch.optim.Adam([W, b], lr=lr)
        n = Xt.shape[0]
        bs = n if batch_size is None else int(batch_size)
        best = (np.inf, W.detach().clone(), b.detach().clone())
        bad, epoch = 0, 0
        hooks = hasattr(loss_fn, "begin_epoch")
        monitor = loss_fn.monitor if hooks else loss_fn
        hold = int(getattr(loss_fn, "hold_until", 0))
        for epoch in range(1, int(max_epochs) + 1):
            if hooks and loss_fn.begin_epoch(epoch):
                best, bad = (np.inf, W.detach().clone(), b.detach().clone()), 0
            order = torch.randperm(n, generator=gen) if bs < n else None
            for s in range(0, n, bs):
                idx = order[s : s + bs] if order is not None else slice(None)
                opt.zero_grad()
                loss = loss_fn(Xt[idx] @ W + b, yt[idx]) + 0.5 * weight_decay * (W * W).sum()
                loss.backward()
                opt.step()
            if epoch % eval_every == 0 or epoch == max_epochs:
                with torch.no_grad():
                    zv = Xvt @ W + b
                    v = float(monitor(zv, yvt))
                if v < best[0] - 1e-6:
                    best, bad = (v, W.detach().clone(), b.detach().clone()), 0
                elif epoch >= hold:
                    bad += 1
                    if bad >= patience:
                        break
                if hooks:
                    loss_fn.after_validation(zv.numpy(), yv)
        return best[1].double().numpy(), best[2].double().numpy(), epoch
    finally:
        torch.use_deterministic_algorithms(prev)
