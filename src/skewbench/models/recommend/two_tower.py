r"""A fine-tuned two-tower text recommender: the user's recent history as text → the next item.

Both towers are one MiniLM sentence encoder (shared weights). A user is represented by the
text of their last ``history_items`` training items (oldest first, joined by " ; "), an item by
its own catalogue text; score(u, i) = cos(enc(history_u), enc(text_i)).

Fine-tuning (CPU-bounded by ``max_pairs``): training pairs (history text before position t,
text of the item at t) are drawn from the users' time-ordered training sequences — per pair a
seeded user (∝ number of eligible positions) and a seeded position t ≥ 1 —, at most
``max_pairs`` of them, and trained with sentence-transformers'
``MultipleNegativesRankingLoss`` (in-batch negatives, cosine × ``scale``; batches never hold the
same history or item text twice, so no false in-batch negative), AdamW, ``lr``, ``epochs``.
``max_pairs = 0`` is the frozen encoder (no fine-tuning) — the control for "what did
fine-tuning buy?". Seeded like the other trained encoders (``torch.manual_seed``,
deterministic algorithms, data order from ``np.random.default_rng(seed)``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from skewbench.errors import ConfigError
from skewbench.models.recommend.base import Recommender, check_positive


def history_text(texts: Sequence[str], seq: np.ndarray, n: int) -> str:
    """The last ``n`` items of ``seq`` as one text, oldest first."""
    return " ; ".join(texts[i] for i in seq[-n:])


def next_item_pairs(
    seqs: Sequence[np.ndarray],
    texts: Sequence[str],
    history_items: int,
    max_pairs: int,
    rng: np.random.Generator,
) -> list[tuple[str, str]]:
    """Up to ``max_pairs`` distinct (history text, next item text) pairs (module docstring)."""
    lengths = np.array([max(s.size - 1, 0) for s in seqs], dtype=np.float64)
    if max_pairs == 0 or lengths.sum() == 0:
        return []
    users = rng.choice(lengths.size, size=max_pairs, p=lengths / lengths.sum())
    pairs: dict[tuple[str, str], None] = {}
    for u in users:
        s = seqs[u]
        t = int(rng.integers(1, s.size))
        pairs[(history_text(texts, s[:t], history_items), texts[s[t]])] = None
    return list(pairs)


class TwoTowerText(Recommender):
    """History-text → item-text bi-encoder, optionally fine-tuned (module docstring)."""

    tune_space: ClassVar[dict[str, list[float]]] = {"lr": [2e-5, 5e-5], "history_items": [3, 5]}
    uses_sequences = True  # fit takes the users' time-ordered training items
    chunk_size = 256

    def __init__(
        self,
        history_items: int = 5,
        max_pairs: int = 1000,
        epochs: int = 1,
        batch_size: int = 32,
        lr: float = 2e-5,
        scale: float = 20.0,
        item_text: Sequence[str] | None = None,
        encoder: str = "minilm",
        device: str = "auto",
        dtype: str = "fp32",
    ):
        self.encoder, self.device, self.dtype = encoder, device, dtype
        check_positive("history_items", history_items)
        check_positive("max_pairs", max_pairs, allow_zero=True)
        for name, value in (
            ("epochs", epochs),
            ("batch_size", batch_size),
            ("lr", lr),
            ("scale", scale),
        ):
            check_positive(name, value)
        self.history_items, self.max_pairs, self.epochs = (
            int(history_items),
            int(max_pairs),
            int(epochs),
        )
        self.batch_size, self.lr, self.scale = int(batch_size), float(lr), float(scale)
        self.item_text = None if item_text is None else list(item_text)

    def fit(
        self, X: sp.spmatrix, seed: int | None = None, sequences: Sequence[np.ndarray] | None = None
    ) -> TwoTowerText:
        """Fit on time-ordered training sequences (``sequences[u]``, oldest first)."""
        self.sequences_ = (
            None if sequences is None else [np.asarray(s, np.int64) for s in sequences]
        )
        return super().fit(X, seed)

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        from skewbench import encoders
        from skewbench.encoders.device import autocast, deterministic_cuda, placement
        from skewbench.models.determinism import deterministic_torch
        from skewbench.models.search.trained import _mnrl, _prep, unique_batches

        if self.item_text is None or len(self.item_text) != X.shape[1]:
            raise ConfigError("two_tower needs one catalogue text per item (item_text)")
        seqs = self.sequences_ or [
            X.indices[X.indptr[u] : X.indptr[u + 1]] for u in range(X.shape[0])
        ]
        self.seqs_ = seqs
        rng = np.random.default_rng(seed)
        pairs = next_item_pairs(seqs, self.item_text, self.history_items, self.max_pairs, rng)
        t0 = time.perf_counter()
        steps = 0
        epoch_losses: list[float] = []
        hist = [history_text(self.item_text, s, self.history_items) if s.size else "" for s in seqs]
        device, dtype = placement(self.device, self.dtype)
        if not pairs:
            # the frozen encoder: the shared embedding cache (the very vectors the content model
            # and text-initialised SASRec read), so a frozen fit encodes each text once per cache
            enc: dict[str, Any] = {"model_name": self.encoder, "device": device}
            self.item_emb_ = np.asarray(encoders.encode(self.item_text, **enc), dtype=np.float32)
            self.user_emb_ = np.asarray(encoders.encode(hist, **enc), dtype=np.float32)
        else:
            deterministic_cuda(device)
            with deterministic_torch(seed):
                model = SentenceTransformer(encoders.encoder_path(self.encoder), device=device)
                loss_fn = _mnrl(model, self.scale)
                prep = _prep(model, device)
                opt = torch.optim.AdamW(model.parameters(), lr=self.lr)
                model.train()
                for _ in range(self.epochs):
                    epoch_loss, n_batches = 0.0, 0
                    shuffled = [pairs[i] for i in rng.permutation(len(pairs))]
                    for batch in unique_batches(shuffled, self.batch_size):
                        if len(batch) < 2:
                            continue
                        with autocast(device, dtype):
                            loss = loss_fn(
                                [prep([h for h, _ in batch]), prep([d for _, d in batch])], None
                            )
                        loss.backward()
                        opt.step()
                        opt.zero_grad()
                        steps += 1
                        epoch_loss, n_batches = epoch_loss + float(loss.detach()), n_batches + 1
                    epoch_losses.append(epoch_loss / max(n_batches, 1))
                model.eval()
                # encoded like the frozen cache (same precision), so fine-tuning is the only
                # difference between the two
                prec = encoders.resolve_precision("auto", device=device)
                self.item_emb_ = encoders.run_encoder(model, self.item_text, 64, prec)
                self.user_emb_ = encoders.run_encoder(model, hist, 64, prec)
        self.train_info_ = {
            "train_pairs": len(pairs),
            "train_steps": steps,
            "train_s": time.perf_counter() - t0,
            "epoch_loss": epoch_losses,
            "device": device,
            "dtype": dtype,
        }

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        return self.user_emb_[users] @ self.item_emb_.T
