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
sampling (of training texts). SMOTE is refused: it interpolates feature vectors and there is no
text for a synthetic point to fine-tune on.
Slow: ~85 texts/s per epoch on this machine's CPU at the default 128 word pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from skewbench.models.categorize.base import TREATMENT_PARAMS, CategorizeModel, make_torch_loss
from skewbench.treatments.losses import log_prior, posthoc_logit_adjust, softmax
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
    """Tokenised inputs; sentence-transformers 5+ calls it ``preprocess`` (``tokenize`` warns)."""
    return (model.preprocess if hasattr(model, "preprocess") else model.tokenize)(texts)


class MiniLMFinetune(CategorizeModel):
    name: ClassVar[str] = "minilm_finetune"
    PARAMS: ClassVar[dict[str, Any]] = {
        "max_train": 2000,
        "max_val": 500,
        "epochs": 1,
        "max_seq_length": 128,
        "batch_size": 16,
        "lr": 2e-5,
        "head_lr": 1e-3,
    }
    SUPPORTS: ClassVar[frozenset[str]] = frozenset(TREATMENT_PARAMS) - {"smote"}
    REASONS: ClassVar[dict[str, str]] = {
        "smote": "SMOTE makes synthetic feature vectors, and fine-tuning needs texts; use "
        "oversample, or smote with minilm_frozen",
    }

    def fit(
        self,
        texts: Sequence[str],
        y: np.ndarray,
        val_texts: Sequence[str],
        val_y: np.ndarray,
        n_classes: int,
    ) -> MiniLMFinetune:
        import torch

        from skewbench.encoders.models import encoder_path

        path = encoder_path("minilm")  # before importing sentence-transformers: offline mode
        from sentence_transformers import SentenceTransformer

        p = self.params
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
        loss_fn = make_torch_loss(self.treatment, counts)

        prev = torch.are_deterministic_algorithms_enabled()
        torch.use_deterministic_algorithms(True)
        try:
            torch.manual_seed(self.seed)  # init of the head and dropout masks
            # a fresh copy (not the process-wide load_encoder instance): it gets trained
            model = SentenceTransformer(path, device="cpu")
            model.max_seq_length = int(p["max_seq_length"])
            dim_of = getattr(model, "get_embedding_dimension", None) or (
                model.get_sentence_embedding_dimension  # sentence-transformers < 6
            )
            head = torch.nn.Linear(dim_of(), n_classes)
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
            for _ in range(int(p["epochs"])):
                model.train()
                head.train()
                order = torch.randperm(rows.size, generator=gen).numpy()
                for s in range(0, rows.size, bs):
                    idx = order[s : s + bs]
                    feats = _features(model, [texts[rows[i]] for i in idx])
                    emb = model(feats)["sentence_embedding"]
                    loss = loss_fn(head(emb), yt[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                if int(p["epochs"]) > 1:
                    self.model_, self.head_ = model, head
                    v = float(loss_fn(torch.as_tensor(self._logits(vtexts)), vy))
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
        finally:
            torch.use_deterministic_algorithms(prev)
        return self

    def _logits(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self.model_.eval()
        self.head_.eval()
        out = []
        with torch.inference_mode():
            for s in range(0, len(texts), 64):
                feats = _features(self.model_, list(texts[s : s + 64]))
                out.append(self.head_(self.model_(feats)["sentence_embedding"]).double())
        return torch.cat(out).numpy() if out else np.zeros((0, self.n_classes_))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        z = self._logits(list(texts))
        return softmax(posthoc_logit_adjust(z, self.log_prior_, self.treatment.posthoc_tau))
