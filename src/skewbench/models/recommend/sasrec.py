r"""SASRec: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018) in torch.

A user's training purchases in time order x_1 … x_t are embedded (item embedding + learned
position embedding), passed through ``blocks`` pre-LayerNorm transformer blocks with causal
self-attention (position j attends to positions ≤ j only) and a point-wise feed-forward layer,
and the hidden state h_j at each position scores every item by ⟨h_j, e_i⟩ (tied item
embeddings). Training predicts x_{j+1} from h_j with **full softmax cross-entropy** over the
catalogue (Klenitskiy & Vasilev, RecSys 2023: "Turning Dross Into Gold Loss: is BERT4Rec really
better than SASRec?" — CE instead of one sampled negative). For a user, the score of item i is
⟨h_t, e_i⟩ at the last position of the (latest ``max_len``) training history.

Item embeddings (``item_init``): ``random`` — a free table (normal, std 0.02); ``text`` — the
frozen text encoder's embedding t_i of the item text through a learned projection,
e_i = W t_i + b (the UniSRec / Recformer idea of language-model item representations), so
items share parameters through their text and a tail item with few purchases still gets a
representation — "does language-model knowledge help the tail?" becomes a measured question.

Popularity treatments (all optional, off by default):
- ``negatives`` > 0: sampled softmax over ``negatives`` items drawn ∝ pop^``neg_beta`` per
  batch, with the logQ correction (Yi et al., RecSys 2019): logit_j − log Q(j), so the
  sampled loss stays an estimate of the full softmax;
- ``ips_eta`` > 0: each target's loss weighted by w_i = min(clip, (p_max / p_i)^η), normalised
  to mean 1 over the batch's targets (inverse-propensity weighting with propensity ∝ pop^η);
- ``pop_tau`` > 0: logit adjustment at inference, s_ui − τ · log(pop_i + 1) (Menon et al.'s
  post-hoc correction applied to the popularity prior).

Training: each epoch visits every user with ≥ 2 training items once, in a seeded random order;
a user longer than ``max_len + 1`` contributes a random window of that length (seeded), so
long histories are seen in several parts over the epochs. Adam, ``lr``, ``weight_decay``.
Determinism as in :mod:`skewbench.models.recommend.bpr`: a NumPy Generator and
``torch.manual_seed`` from ``seed``, deterministic algorithms, one intra-op thread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from skewbench.data.groups import item_popularity_matrix
from skewbench.errors import ConfigError
from skewbench.models.determinism import deterministic_torch
from skewbench.models.recommend.base import Recommender, check_positive


class _Encoder(nn.Module):
    def __init__(
        self,
        n_items: int,
        dim: int,
        max_len: int,
        blocks: int,
        heads: int,
        dropout: float,
        text: torch.Tensor | None,
    ):
        super().__init__()
        self.text = text
        if text is None:
            self.items = nn.Parameter(torch.randn(n_items, dim) * 0.02)
        else:
            self.proj = nn.Linear(text.shape[1], dim)
        self.pos = nn.Embedding(max_len, dim)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=dim, dropout=dropout, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, blocks, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)
        self.max_len = max_len
        self.heads = heads

    def item_table(self) -> torch.Tensor:
        return self.items if self.text is None else self.proj(self.text)

    def forward(self, seq: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """Hidden states (batch × L × dim) of left-padded sequences (−1 = padding)."""
        pad = seq < 0
        x = table[seq.clamp(min=0)] * math.sqrt(table.shape[1])
        x = x + self.pos(torch.arange(seq.shape[1], device=seq.device))[None]
        x = self.drop(x.masked_fill(pad[..., None], 0.0))
        n, length = seq.shape
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool), 1)
        # blocked: a later position, or a padding key; the diagonal stays open so that no row
        # (a padding query included) attends to nothing, which would give NaN
        blocked = causal[None] | pad[:, None, :]
        blocked = blocked & ~torch.eye(length, dtype=torch.bool)[None]
        blocked = blocked.repeat_interleave(self.heads, dim=0)
        h = self.blocks(x, mask=blocked)
        return self.norm(h).masked_fill(pad[..., None], 0.0)


def _left_pad(seqs: Sequence[np.ndarray], length: int) -> np.ndarray:
    out = np.full((len(seqs), length), -1, dtype=np.int64)
    for r, s in enumerate(seqs):
        s = s[-length:]
        if s.size:
            out[r, length - s.size :] = s
    return out


class SASRec(Recommender):
    """Causal transformer over the user's item sequence, full-softmax CE (module docstring)."""

    uses_sequences = True  # fit takes the users' time-ordered training items
    #: searchable ranges for validation tuning (grid values)
    tune_space: ClassVar[dict[str, list[Any]]] = {
        "dim": [32, 64],
        "epochs": [10, 20, 40],
        "lr": [1e-3, 3e-3],
        "dropout": [0.1, 0.3],
    }

    def __init__(
        self,
        dim: int = 64,
        max_len: int = 50,
        blocks: int = 2,
        heads: int = 1,
        dropout: float = 0.2,
        epochs: int = 20,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        item_init: str = "random",
        negatives: int = 0,
        neg_beta: float = 0.75,
        ips_eta: float = 0.0,
        ips_clip: float = 100.0,
        pop_tau: float = 0.0,
        text_embeddings: np.ndarray | None = None,
    ):
        for name, value in (
            ("dim", dim),
            ("max_len", max_len),
            ("blocks", blocks),
            ("heads", heads),
            ("epochs", epochs),
            ("batch_size", batch_size),
            ("lr", lr),
            ("ips_clip", ips_clip),
        ):
            check_positive(name, value)
        for name, value in (
            ("weight_decay", weight_decay),
            ("negatives", negatives),
            ("neg_beta", neg_beta),
            ("ips_eta", ips_eta),
            ("pop_tau", pop_tau),
        ):
            check_positive(name, value, allow_zero=True)
        if not 0 <= dropout < 1:
            raise ConfigError(f"model.params.dropout: must be in [0, 1), got {dropout!r}")
        if dim % heads:
            raise ConfigError(f"model.params.heads: {heads} must divide dim = {dim}")
        if item_init not in ("random", "text"):
            raise ConfigError(f"model.params.item_init: 'random' or 'text', got {item_init!r}")
        self.dim, self.max_len, self.blocks, self.heads = (
            int(dim),
            int(max_len),
            int(blocks),
            int(heads),
        )
        self.dropout, self.epochs, self.batch_size = float(dropout), int(epochs), int(batch_size)
        self.lr, self.weight_decay, self.item_init = float(lr), float(weight_decay), item_init
        self.negatives, self.neg_beta = int(negatives), float(neg_beta)
        self.ips_eta, self.ips_clip, self.pop_tau = float(ips_eta), float(ips_clip), float(pop_tau)
        self.text_embeddings = text_embeddings

    # ----------------------------------------------------------------------------------
    def fit(
        self, X: sp.spmatrix, seed: int | None = None, sequences: Sequence[np.ndarray] | None = None
    ) -> SASRec:
        """Fit on the users' time-ordered training items (``sequences[u]``: item indices,
        oldest first). Without ``sequences`` the rows of ``X`` in item-index order are used —
        only sensible for tests; the recommend task always passes the time order."""
        self.sequences_ = (
            None if sequences is None else [np.asarray(s, np.int64) for s in sequences]
        )
        return super().fit(X, seed)

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        if self.item_init == "text" and (
            self.text_embeddings is None or len(self.text_embeddings) != X.shape[1]
        ):
            raise ConfigError("model.params.item_init=text needs one text embedding per item")
        seqs = self.sequences_
        if seqs is None:
            seqs = [X.indices[X.indptr[u] : X.indptr[u + 1]] for u in range(X.shape[0])]
        if len(seqs) != X.shape[0]:
            raise ConfigError(f"sequences: {len(seqs)} users for a matrix of {X.shape[0]}")
        self.seqs_ = seqs
        pop = item_popularity_matrix(X)
        self.log_pop_ = np.log(pop + 1.0).astype(np.float32)
        rng = np.random.default_rng(seed)
        with deterministic_torch(seed, threads=1):
            text = None
            if self.item_init == "text":
                text = torch.as_tensor(np.asarray(self.text_embeddings, np.float32))
            self.net_ = _Encoder(
                X.shape[1], self.dim, self.max_len, self.blocks, self.heads, self.dropout, text
            )
            self.history_ = self._train(seqs, pop, rng)
            self.net_.eval()
            with torch.no_grad():
                self.table_ = self.net_.item_table().detach().clone()

    def _train(self, seqs: Sequence[np.ndarray], pop: np.ndarray, rng: np.random.Generator):
        n_items = pop.size
        users = np.array([u for u, s in enumerate(seqs) if s.size >= 2], dtype=np.int64)
        if users.size == 0:
            raise ConfigError("SASRec needs at least one user with two or more training items")
        weights = None
        if self.ips_eta > 0:
            p = np.maximum(pop, 1.0)
            weights = torch.as_tensor(
                np.minimum(self.ips_clip, (p.max() / p) ** self.ips_eta), dtype=torch.float32
            )
        q = None
        if self.negatives > 0:
            q = np.maximum(pop, 1.0) ** self.neg_beta
            q = q / q.sum()
            log_q = torch.as_tensor(np.log(q), dtype=torch.float32)
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        L = self.max_len
        history = []
        self.net_.train()
        for _ in range(self.epochs):
            order = rng.permutation(users)
            total, count = 0.0, 0
            for start in range(0, order.size, self.batch_size):
                batch = order[start : start + self.batch_size]
                windows = []
                for u in batch:
                    s = seqs[u]
                    if s.size > L + 1:
                        off = int(rng.integers(0, s.size - L))
                        s = s[off : off + L + 1]
                    windows.append(s)
                w = torch.as_tensor(_left_pad(windows, L + 1))
                inp, tgt = w[:, :-1], w[:, 1:]
                valid = (inp >= 0) & (tgt >= 0)
                table = self.net_.item_table()
                h = self.net_(inp, table)[valid]  # (n_targets × dim)
                t = tgt[valid]
                if q is None:
                    logits = h @ table.T
                    target = t
                else:
                    neg = torch.as_tensor(rng.choice(n_items, size=self.negatives, p=q))
                    cand = torch.cat([t, neg])  # in-batch targets + sampled negatives
                    logits = h @ table[cand].T - log_q[cand][None]
                    target = torch.arange(t.numel())
                loss_each = nn.functional.cross_entropy(logits, target, reduction="none")
                if weights is not None:
                    wt = weights[t]
                    loss = (loss_each * wt).sum() / wt.sum()
                else:
                    loss = loss_each.mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * t.numel()
                count += t.numel()
            history.append(total / max(count, 1))
        return history

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        seq = torch.as_tensor(_left_pad([self.seqs_[u] for u in users], self.max_len))
        with torch.no_grad():
            h = self.net_(seq, self.table_)[:, -1]
            s = (h @ self.table_.T).numpy().astype(np.float32)
        if self.pop_tau > 0:
            s = s - self.pop_tau * self.log_pop_[None]
        empty = np.array([self.seqs_[u].size == 0 for u in users])
        if empty.any():  # no history: popularity order (the model has nothing to attend to)
            s[empty] = self.log_pop_[None]
        return s
