"""Encoders trained on the training-period queries: a fine-tuned bi-encoder and a cross-encoder.

Training pairs (:func:`training_pairs`): the distinct (query text, relevant document text)
pairs of the training queries (many products share a text), drawn without replacement with
probability ∝ their summed gain, at most ``max_pairs``. Popular types have more relevant
products and larger gains, so the training signal is as skewed as the purchases — on purpose.

- :class:`FineTunedBiEncoder`: MiniLM fine-tuned with sentence-transformers'
  ``MultipleNegativesRankingLoss`` (in-batch negatives, cosine × scale 20), AdamW, lr 2e-5,
  batch 32, 1 epoch over ≤ 1,000 pairs by default; batches never hold the same query or
  document text twice (a duplicate would be a false negative). Then dense exact search.
- :class:`CrossEncoderReranker`: sentence-transformers ``CrossEncoder`` built on the MiniLM
  folder with ``num_labels=1`` (a fresh linear head), trained with binary cross-entropy on
  (query, positive) = 1 and (query, first-stage hard negative) = 0 pairs, ``negatives`` per
  positive taken from the first stage's top ``depth`` non-relevant items; at test time it
  re-scores the first stage's top ``depth`` items (others −inf). Defaults: 200 training queries,
  3 negatives per positive, at most 800 pairs (a uniform subsample), 1 epoch, batch 16.

Both train on CPU with a plain torch loop (no ``datasets``/``accelerate`` needed), seeded with
``torch.manual_seed(seed)`` and ``torch.use_deterministic_algorithms(True)``, data order from
``np.random.default_rng(seed)``, so the same seed gives the same model.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from skewbench.encoders.device import autocast, deterministic_cuda, placement, to_device
from skewbench.encoders.models import encoder_path
from skewbench.models.determinism import deterministic_torch
from skewbench.models.search.base import QueryBatch, Retriever, search
from skewbench.models.search.dense import DenseRetriever
from skewbench.models.search.encoding import st_encoder


def _prep(model: Any, device: str) -> Any:
    """The model's tokeniser (``preprocess`` since sentence-transformers 6), onto ``device``."""
    tokenize = getattr(model, "preprocess", None) or model.tokenize

    def prep(texts: list[str]) -> dict[str, Any]:
        return to_device(tokenize(texts), device)

    return prep


def training_pairs(
    queries: QueryBatch,
    truth: sp.csr_matrix,
    texts: list[str],
    max_pairs: int,
    rng: np.random.Generator,
) -> list[tuple[str, str]]:
    """Distinct (query text, document text) pairs, ≤ ``max_pairs``, drawn ∝ summed gain."""
    coo = sp.coo_matrix(truth)
    gains: dict[tuple[str, str], float] = {}
    for r, c, g in zip(coo.row, coo.col, coo.data, strict=True):
        key = (queries.texts[r], texts[c])
        gains[key] = gains.get(key, 0.0) + float(g)
    keys = sorted(gains)  # a fixed order, so the draw depends only on rng
    if len(keys) <= max_pairs:
        order = rng.permutation(len(keys))
    else:
        p = np.array([gains[k] for k in keys])
        order = rng.choice(len(keys), size=max_pairs, replace=False, p=p / p.sum())
    return [keys[i] for i in order]


def unique_batches(
    pairs: list[tuple[str, str]], batch_size: int
) -> Iterator[list[tuple[str, str]]]:
    """Consecutive batches with no repeated query or document text (deferred pairs go later)."""
    pending = list(pairs)
    while pending:
        batch: list[tuple[str, str]] = []
        rest: list[tuple[str, str]] = []
        qs: set[str] = set()
        ds: set[str] = set()
        for q, d in pending:
            if len(batch) < batch_size and q not in qs and d not in ds:
                batch.append((q, d))
                qs.add(q)
                ds.add(d)
            else:
                rest.append((q, d))
        yield batch
        pending = rest


def _mnrl(model: Any, scale: float) -> Any:
    try:  # sentence-transformers >= 5 moved the losses
        from sentence_transformers.sentence_transformer.losses import (
            MultipleNegativesRankingLoss,
        )
    except ImportError:  # pragma: no cover - older sentence-transformers
        from sentence_transformers.losses import (  # type: ignore[no-redef]
            MultipleNegativesRankingLoss,
        )
    return MultipleNegativesRankingLoss(model, scale=scale)


class FineTunedBiEncoder:
    """MiniLM fine-tuned on training pairs with MNRL, then exact dense search.

    ``fit`` needs ``train_queries`` (QueryBatch), ``train_truth`` (CSR train queries × items)
    and ``seed`` (int). ``train_info_`` holds pairs, steps, seconds and pairs/s.
    ``tune_space``: epochs and learning rates searched by ``tune: true`` (each trial trains a
    model and re-encodes the catalog, so the grid is kept small).
    """

    tune_space: ClassVar[dict[str, list[float]]] = {"epochs": [1, 2], "lr": [1e-5, 2e-5, 5e-5]}

    def __init__(
        self,
        epochs: int = 1,
        max_pairs: int = 1000,
        batch_size: int = 32,
        lr: float = 2e-5,
        scale: float = 20.0,
        encoder: str = "minilm",
        device: str = "auto",
        dtype: str = "fp32",
    ) -> None:
        self.epochs, self.max_pairs, self.batch_size = int(epochs), int(max_pairs), int(batch_size)
        self.lr, self.scale = float(lr), float(scale)
        self.encoder, self.device, self.dtype = encoder, device, dtype

    def fit(self, texts: list[str], **data: Any) -> FineTunedBiEncoder:
        import torch
        from sentence_transformers import SentenceTransformer

        seed = int(data["seed"])
        rng = np.random.default_rng(seed)
        pairs = training_pairs(
            data["train_queries"],
            data["train_truth"],
            texts,
            self.max_pairs,
            rng,
        )
        t0 = time.perf_counter()
        steps = 0
        device, dtype = placement(self.device, self.dtype)
        deterministic_cuda(device)
        with deterministic_torch(seed):
            model = SentenceTransformer(encoder_path(self.encoder), device=device)
            loss_fn = _mnrl(model, self.scale)
            prep = _prep(model, device)
            opt = torch.optim.AdamW(model.parameters(), lr=self.lr)
            model.train()
            for _ in range(self.epochs):
                shuffled = [pairs[i] for i in rng.permutation(len(pairs))]
                for batch in unique_batches(shuffled, self.batch_size):
                    if len(batch) < 2:  # one pair has no in-batch negative
                        continue
                    qf = prep([q for q, _ in batch])
                    df = prep([d for _, d in batch])
                    with autocast(device, dtype):
                        loss = loss_fn([qf, df], None)
                    loss.backward()
                    opt.step()
                    opt.zero_grad()
                    steps += 1
            model.eval()
        dt = time.perf_counter() - t0
        self.train_info_ = {
            "train_pairs": len(pairs),
            "train_queries": len({q for q, _ in pairs}),  # distinct query texts fitted
            "train_steps": steps,
            "train_s": dt,
            "train_pairs_per_s": self.epochs * len(pairs) / dt if dt > 0 else float("nan"),
            "device": device,
            "dtype": dtype,
        }
        self.model_ = model
        self.dense_ = DenseRetriever(encoder=st_encoder(model)).fit(texts)
        return self

    def score(self, queries: QueryBatch) -> np.ndarray:
        return self.dense_.score(queries)


class CrossEncoderReranker:
    """First-stage retrieval, then a MiniLM cross-encoder re-scores its top ``depth`` items.

    ``fit`` needs ``train_queries``, ``train_truth`` and ``seed`` (as the bi-encoder) and passes
    everything on to the first stage. Training queries are subsampled to ``max_queries``.
    """

    def __init__(
        self,
        first_stage: Retriever,
        depth: int = 20,
        max_queries: int = 200,
        max_pairs: int = 800,
        negatives: int = 3,
        epochs: int = 1,
        batch_size: int = 16,
        lr: float = 2e-5,
        max_length: int = 64,
        encoder: str = "minilm",
        device: str = "auto",
        dtype: str = "fp32",
    ) -> None:
        self.encoder, self.device, self.dtype = encoder, device, dtype
        self.first_stage, self.depth = first_stage, int(depth)
        self.max_queries, self.negatives, self.epochs = (
            int(max_queries),
            int(negatives),
            int(epochs),
        )
        self.batch_size, self.lr, self.max_length = int(batch_size), float(lr), int(max_length)
        self.max_pairs = int(max_pairs)

    def _pairs(
        self, queries: QueryBatch, truth: sp.csr_matrix, texts: list[str], rng: np.random.Generator
    ) -> list[tuple[str, str, float]]:
        cand = search(self.first_stage, queries, self.depth)
        out: list[tuple[str, str, float]] = []
        for r in range(len(queries)):
            rel = truth.indices[truth.indptr[r] : truth.indptr[r + 1]]
            rel_texts = {texts[i] for i in rel}
            q = queries.texts[r]
            for t in sorted(rel_texts):
                out.append((q, t, 1.0))
            negs = sorted({texts[i] for i in cand.items[r] if i >= 0} - rel_texts)
            take = min(len(negs), self.negatives * max(1, len(rel_texts)))
            for j in rng.choice(len(negs), size=take, replace=False) if take else []:
                out.append((q, negs[j], 0.0))
        return out

    def fit(self, texts: list[str], **data: Any) -> CrossEncoderReranker:
        import torch
        from sentence_transformers import CrossEncoder

        self.first_stage.fit(texts, **data)
        self.texts_ = list(texts)
        seed = int(data["seed"])
        rng = np.random.default_rng(seed)
        tq: QueryBatch = data["train_queries"]
        truth = sp.csr_matrix(data["train_truth"])
        rows = np.nonzero(np.diff(truth.indptr) > 0)[0]
        if len(rows) > self.max_queries:
            rows = np.sort(rng.choice(rows, size=self.max_queries, replace=False))
        sub = tq.take(rows)
        pairs = self._pairs(sub, truth[rows], self.texts_, rng)
        if len(pairs) > self.max_pairs:  # type queries have many positives: cap the work
            pairs = [
                pairs[i] for i in np.sort(rng.choice(len(pairs), self.max_pairs, replace=False))
            ]
        t0 = time.perf_counter()
        device, dtype = placement(self.device, self.dtype)
        deterministic_cuda(device)
        self.amp_ = (device, dtype)
        with deterministic_torch(seed):
            ce = CrossEncoder(
                encoder_path(self.encoder), num_labels=1, device=device, max_length=self.max_length
            )
            net = ce.model
            opt = torch.optim.AdamW(net.parameters(), lr=self.lr)
            bce = torch.nn.BCEWithLogitsLoss()
            net.train()
            for _ in range(self.epochs):
                order = rng.permutation(len(pairs))
                for s in range(0, len(order), self.batch_size):
                    batch = [pairs[i] for i in order[s : s + self.batch_size]]
                    logits = self._logits(ce, [(q, d) for q, d, _ in batch])
                    target = torch.tensor([y for _, _, y in batch], device=logits.device)
                    loss = bce(logits, target)
                    loss.backward()
                    opt.step()
                    opt.zero_grad()
            net.eval()
        dt = time.perf_counter() - t0
        self.train_info_ = {
            "train_pairs": len(pairs),
            "train_queries": len({q for q, _, _ in pairs}),  # distinct query texts fitted
            "train_s": dt,
            "train_pairs_per_s": self.epochs * len(pairs) / dt if dt > 0 else float("nan"),
            "device": device,
            "dtype": dtype,
        }
        self.ce_ = ce
        return self

    def _logits(self, ce: object, pairs: list[tuple[str, str]]):
        feats = ce.tokenizer(  # type: ignore[attr-defined]
            [q for q, _ in pairs],
            [d for _, d in pairs],
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        net = ce.model  # type: ignore[attr-defined]
        with autocast(*self.amp_):
            out = net(**to_device(feats, str(net.device))).logits.view(-1)
        return out.float()

    def score(self, queries: QueryBatch) -> np.ndarray:
        import torch

        cand = search(self.first_stage, queries, self.depth)
        out = np.full((len(queries), len(self.texts_)), -np.inf)
        # Score each distinct (query, document text) once: equal texts get equal scores.
        keys: dict[tuple[str, str], int] = {}
        for r in range(len(queries)):
            for i in cand.items[r]:
                if i >= 0:
                    keys.setdefault((queries.texts[r], self.texts_[i]), len(keys))
        pairs = list(keys)
        vals = np.empty(len(pairs))
        with torch.no_grad():
            for s in range(0, len(pairs), 128):
                vals[s : s + 128] = self._logits(self.ce_, pairs[s : s + 128]).cpu().numpy()
        for r in range(len(queries)):
            for i in cand.items[r]:
                if i >= 0:
                    out[r, i] = vals[keys[(queries.texts[r], self.texts_[i])]]
        return out
