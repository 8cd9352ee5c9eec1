"""MiniLM fine-tuned end to end with a linear softmax head (torch, CPU).

The encoder (all-MiniLM-L6-v2, mean pooling) and a linear head on its 384-d sentence embedding
are trained together with AdamW (``lr`` for the encoder, ``head_lr`` for the head) on the
treatment's loss, for ``epochs`` passes over at most ``max_train`` training examples (a
class-stratified random subset under the seed, at least one per class), inputs truncated to
``max_seq_length`` word pieces. With ``epochs > 1`` the validation loss (on at most
``max_val`` validation rows) is checked after each epoch and the best epoch's weights are kept.
Deterministic under the seed on CPU: seeded init/shuffle/dropout and
``torch.use_deterministic_algorithms(True)``.

Treatments: class weights, focal, logit-adjusted loss, post-hoc adjustment, random over/under
sampling (of training texts), balanced softmax, LDAM(-DRW), DRW (from epoch ``DRW_START`` = 2
by default; it needs ``epochs`` ≥ its start), ``adaptive_recall`` (after every epoch; needs
``epochs`` ≥ 2), cRT (stage 1: fine-tune with cross-entropy; stage 2: the fine-tuned encoder's
embeddings of the training rows, a fresh linear head trained alone on a class-balanced sample
of them — :func:`.minilm_frozen.train_linear_head`, early-stopped on validation) and τ-norm of
the head's rows. SMOTE is refused: it interpolates feature vectors and there is no text for a
synthetic point to fine-tune on. ``encoder`` picks the pretrained model (``minilm`` |
``mpnet``, :data:`skewbench.encoders.ENCODERS`). Slow on CPU: every epoch runs the whole encoder
forwards and backwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from skewbench.errors import IncompatibleError
from skewbench.models.categorize.base import TREATMENT_PARAMS, CategorizeModel, make_torch_loss
from skewbench.treatments.losses import (
    class_balanced_sample,
    log_prior,
    posthoc_logit_adjust,
    softmax,
    tau_normalize,
)
from skewbench.treatments.sampling import resample


def stratified_cap(y: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of a class-stratified random subset of at most ``cap`` rows.

    Class k keeps max(1, ⌊cap · n_k / n⌋) rows (never more than it has).
    """
    n = y.size
    if cap >= n:
        return np.arange(n)
    counts = np.bincount(y)
    take = np.minimum(np.maximum(1, (cap * counts) // n), counts)
    u = rng.random(n)
    order = np.lexsort((u, y))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    within = np.arange(n) - starts[y[order]]
    return np.sort(order[within < take[y[order]]])


def _features(model: Any, texts: list[str]) -> dict[str, Any]:
    """Tokenised inputs on the model's device; sentence-transformers 5+ calls it
    ``preprocess`` (``tokenize`` warns)."""
    from skewbench.encoders.device import to_device

    feats = (model.preprocess if hasattr(model, "preprocess") else model.tokenize)(texts)
    return to_device(feats, str(model.device))


class MiniLMFinetune(CategorizeModel):
    name: ClassVar[str] = "minilm_finetune"
    DRW_START: ClassVar[int] = 2
    tune_space: ClassVar[dict[str, list[Any]]] = {"lr": [1e-5, 2e-5, 5e-5]}
    PARAMS: ClassVar[dict[str, Any]] = {
        "encoder": "minilm",
        "max_train": 2000,
        "max_val": 500,
        "epochs": 1,
        "max_seq_length": 128,
        "batch_size": 16,
        "lr": 2e-5,
        "head_lr": 1e-3,
        "device": "auto",
        "dtype": "fp32",
    }
    SUPPORTS: ClassVar[frozenset[str]] = frozenset(TREATMENT_PARAMS) - {"smote"}
    REASONS: ClassVar[dict[str, str]] = {
        "smote": "SMOTE makes synthetic feature vectors, and fine-tuning needs texts; use "
        "oversample, or smote with minilm_frozen",
    }

    @classmethod
    def check(cls, treatment: Any, params: dict[str, Any]) -> None:
        super().check(treatment, params)
        full = cls.resolve_params(params)
        epochs = full["epochs"]
        start = None
        if treatment.name == "drw":
            start = treatment.params["start"] or cls.DRW_START
        elif treatment.name == "ldam":
            start = treatment.params["drw_start"]
        if start is not None and start > epochs:
            raise IncompatibleError(
                f"treatment {treatment.name!r} re-weights from epoch {start}, but "
                f"model.params.epochs is {epochs}: raise epochs or lower the start"
            )
        if treatment.name == "adaptive_recall" and epochs < 2:
            raise IncompatibleError(
                "treatment 'adaptive_recall' re-weights after each epoch; with "
                f"model.params.epochs = {epochs} it would never act: use epochs >= 2"
            )

    def fit(
        self,
        texts: Sequence[str],
        y: np.ndarray,
        val_texts: Sequence[str],
        val_y: np.ndarray,
        n_classes: int,
    ) -> MiniLMFinetune:
        import torch

        from skewbench.encoders.device import autocast, deterministic_cuda, placement
        from skewbench.encoders.models import encoder_path

        path = encoder_path(
            self.params["encoder"]
        )  # before importing sentence-transformers: offline mode
        from sentence_transformers import SentenceTransformer

        p = self.params
        device, dtype = placement(p["device"], p["dtype"])
        self.amp_ = (device, dtype)
        deterministic_cuda(device)
        texts = list(texts)
        y = np.asarray(y, dtype=np.int64)
        counts = np.bincount(y, minlength=n_classes)
        self.n_classes_ = n_classes
        self.log_prior_ = log_prior(counts)
        rng = np.random.default_rng(self.seed)
        rows = stratified_cap(y, int(p["max_train"]), rng)
        if self.treatment.sampling:
            _, _, src = resample(rows[:, None], y[rows], self.treatment.sampling, self.seed)
            rows = rows[src]
            self.resample_source_ = rows
        vrows = stratified_cap(np.asarray(val_y, dtype=np.int64), int(p["max_val"]), rng)
        vtexts = [val_texts[i] for i in vrows]
        vy = torch.as_tensor(np.asarray(val_y)[vrows], dtype=torch.long)
        loss_fn = make_torch_loss(self.treatment, counts, self.DRW_START)

        prev = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True)
        try:
            torch.manual_seed(self.seed)  # init of the head and dropout masks
            # a fresh copy (not the process-wide load_encoder instance): it gets trained
            model = SentenceTransformer(path, device=device)
            model.max_seq_length = int(p["max_seq_length"])
            dim_of = getattr(model, "get_embedding_dimension", None) or (
                model.get_sentence_embedding_dimension  # sentence-transformers < 6
            )
            dim = dim_of()
            assert dim is not None  # MiniLM declares its embedding size
            head = torch.nn.Linear(dim, n_classes).to(device)
            opt = torch.optim.AdamW(
                [
                    {"params": model.parameters(), "lr": float(p["lr"])},
                    {"params": head.parameters(), "lr": float(p["head_lr"])},
                ]
            )
            gen = torch.Generator().manual_seed(self.seed)
            yt = torch.as_tensor(y[rows], dtype=torch.long)
            bs = int(p["batch_size"])
            best: tuple[float, Any] = (np.inf, None)
            for epoch in range(1, int(p["epochs"]) + 1):
                if loss_fn.begin_epoch(epoch):
                    best = (np.inf, None)  # the loss changed: earlier values do not compare
                model.train()
                head.train()
                order = torch.randperm(rows.size, generator=gen).numpy()
                for s in range(0, rows.size, bs):
                    idx = order[s : s + bs]
                    feats = _features(model, [texts[rows[i]] for i in idx])
                    with autocast(device, dtype):
                        z = head(model(feats)["sentence_embedding"])
                    loss = loss_fn(z.float().cpu(), yt[idx])  # the loss's tensors are on the CPU
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                if int(p["epochs"]) > 1:
                    self.model_, self.head_ = model, head
                    zv = self._logits(vtexts)
                    v = float(loss_fn.monitor(torch.as_tensor(zv), vy))
                    loss_fn.after_validation(zv, vy.numpy())
                    if v < best[0]:
                        state = (
                            {k: t.clone() for k, t in model.state_dict().items()},
                            {k: t.clone() for k, t in head.state_dict().items()},
                        )
                        best = (v, state)
            if best[1] is not None:
                model.load_state_dict(best[1][0])
                head.load_state_dict(best[1][1])
            self.model_, self.head_ = model, head
            if self.treatment.name == "crt":
                self._retrain_classifier(texts, y, rows, vtexts, vy.numpy(), n_classes)
            if self.treatment.name == "tau_norm":
                w = tau_normalize(
                    head.weight.detach().double().cpu().numpy(),
                    float(self.treatment.params["tau"]),
                    class_axis=0,
                )
                with torch.no_grad():
                    head.weight.copy_(torch.as_tensor(w, dtype=head.weight.dtype))
        finally:
            torch.use_deterministic_algorithms(prev)
        self.weight_history_ = loss_fn.weight_history
        return self

    def _embeddings(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        from skewbench.encoders.device import autocast

        self.model_.eval()
        out = []
        with torch.inference_mode(), autocast(*self.amp_):
            for s in range(0, len(texts), 64):
                feats = _features(self.model_, list(texts[s : s + 64]))
                out.append(self.model_(feats)["sentence_embedding"].float().cpu())
        return torch.cat(out).numpy()

    def _retrain_classifier(
        self,
        texts: list[str],
        y: np.ndarray,
        rows: np.ndarray,
        vtexts: list[str],
        vy: np.ndarray,
        n_classes: int,
    ) -> None:
        """cRT stage 2: a fresh linear head on class-balanced samples of the fine-tuned
        encoder's (fixed) training embeddings."""
        import torch

        from skewbench.models.categorize.base import Treatment
        from skewbench.models.categorize.minilm_frozen import train_linear_head

        uniq = np.unique(rows)
        X = self._embeddings([texts[i] for i in uniq])
        yu = y[uniq]
        pick = class_balanced_sample(yu, yu.size, np.random.default_rng(self.seed + 1))
        W, b, _ = train_linear_head(
            X[pick],
            yu[pick],
            self._embeddings(vtexts),
            vy,
            n_classes,
            make_torch_loss(Treatment.parse("none"), np.bincount(yu, minlength=n_classes)),
            seed=self.seed + 1,
        )
        with torch.no_grad():
            self.head_.weight.copy_(torch.as_tensor(W.T, dtype=self.head_.weight.dtype))
            self.head_.bias.copy_(torch.as_tensor(b, dtype=self.head_.bias.dtype))
            # copy_ moves the CPU values onto the head's device

    def _logits(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        from skewbench.encoders.device import autocast

        self.model_.eval()
        self.head_.eval()
        out = []
        with torch.inference_mode(), autocast(*self.amp_):
            for s in range(0, len(texts), 64):
                feats = _features(self.model_, list(texts[s : s + 64]))
                z = self.head_(self.model_(feats)["sentence_embedding"])
                out.append(z.double().cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, self.n_classes_))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        z = self._logits(list(texts))
        return softmax(posthoc_logit_adjust(z, self.log_prior_, self.treatment.posthoc_tau))
