"""An LLM re-ranker on top of any recommender: the first stage's top ``depth`` items per user
are re-scored by the LLM from the user's recent purchases (:mod:`skewbench.models.llm.rank`).

Scores returned for full ranking are minus the position in the final order: the LLM's order
of the candidates (scores 0, −1, …), then every other item in first-stage order. So the
caller's exclusion of training items works as for any model, and a list-side re-ranker applied
after the LLM (xQuAD, FA*IR, calibrated: they min-max normalise the scores of their candidate
pool) sees a relevance linear in the final rank, whatever the pool size. ``pop_tau`` > 0
subtracts τ·log(pop + 1) from the pointwise log-odds (calibration against the popularity
prior). Facts for the cell (prompts sent, cache hits, parse failures, position bias) are in
``llm_info_``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import scipy.sparse as sp

from skewbench.models.recommend.base import Recommender


def final_order_scores(head: Sequence[int], full_order: np.ndarray) -> np.ndarray:
    """Scores −position for the order ``head`` followed by ``full_order`` without ``head``."""
    n = full_order.size
    rest = full_order[~np.isin(full_order, np.asarray(head, dtype=np.int64))]
    final = np.concatenate([np.asarray(head, dtype=np.int64), rest])
    out = np.empty(n, dtype=np.float32)
    out[final] = -np.arange(n, dtype=np.float32)
    return out


class LLMReranker(Recommender):
    """First stage + LLM re-ranking of its top ``depth`` (module docstring)."""

    chunk_size = 256
    uses_sequences = True

    def __init__(
        self,
        first_stage: Recommender,
        item_text: Sequence[str],
        depth: int = 10,
        mode: str = "pointwise",
        orders: int = 1,
        history_items: int = 5,
        window: int = 10,
        step: int = 5,
        pop_tau: float = 0.0,
        model: str = "smollm2-135m",
        dtype: str = "auto",
    ):
        from skewbench.models.llm.rank import check_policy

        check_policy(
            mode,
            orders,
            pop_tau,
            depth=depth,
            history_items=history_items,
            window=window,
            step=step,
        )
        self.first_stage, self.item_text = first_stage, list(item_text)
        self.depth, self.mode, self.orders = int(depth), mode, int(orders)
        self.history_items, self.window, self.step = int(history_items), int(window), int(step)
        self.pop_tau, self.model, self.dtype = float(pop_tau), model, dtype

    def fit(
        self, X: sp.spmatrix, seed: int | None = None, sequences: Sequence[np.ndarray] | None = None
    ) -> LLMReranker:
        self.sequences_ = sequences
        return super().fit(X, seed)

    def _fit(self, X: sp.csr_matrix, seed: int) -> None:
        from skewbench.models.llm.scorer import LLMScorer

        if getattr(self.first_stage, "uses_sequences", False):
            cast(Any, self.first_stage).fit(X, seed=seed, sequences=self.sequences_)
        else:
            self.first_stage.fit(X, seed=seed)
        seqs = self.sequences_ or [
            X.indices[X.indptr[u] : X.indptr[u + 1]] for u in range(X.shape[0])
        ]
        self.seqs_ = seqs
        self.seed_ = seed
        self.log_pop_ = np.log1p(np.asarray((X > 0).sum(axis=0)).ravel())
        self.scorer_ = LLMScorer(self.model, dtype=self.dtype)
        self.llm_info_: dict[str, Any] = {
            "model_id": self.scorer_.model_id,
            "prompts": 0,
            "model_calls": 0,
            "parse_failures": 0,
            "position_inputs": [],
            "position_outputs": [],
        }

    def _score_chunk(self, users: np.ndarray) -> np.ndarray:
        from skewbench.metrics.topk import topk
        from skewbench.models.llm import rank as R

        base = self.first_stage.score(users)
        cand = topk(base, self.depth, exclude=self.X_[users])
        order_all = topk(base, base.shape[1])
        hist = [[self.item_text[i] for i in self.seqs_[u][-self.history_items :]] for u in users]
        calls0 = self.scorer_.calls
        if self.mode == "pointwise":
            items, scores = R.pointwise_rerank(
                self.scorer_, hist, cand, self.item_text, "recommend"
            )
            if self.pop_tau > 0:
                valid = items >= 0
                adj = np.where(
                    valid, scores - self.pop_tau * self.log_pop_[np.maximum(items, 0)], -np.inf
                )
                order = np.argsort(-adj, axis=1, kind="stable")
                items = np.take_along_axis(items, order, 1)
            self.llm_info_["prompts"] += int((cand >= 0).sum())
            ranked: list[list[int]] = [list(r[r >= 0]) for r in items]
        else:
            from skewbench.models.llm.prompts import recommend_context

            rng = np.random.default_rng([self.seed_, int(users[0]) if users.size else 0])
            ranked, failures, ins, outs = R.bootstrap_listwise_many(
                self.scorer_,
                [recommend_context(h) for h in hist],
                cand,
                self.item_text,
                self.orders,
                rng,
                self.window,
                self.step,
            )
            self.llm_info_["parse_failures"] += sum(failures)
            self.llm_info_["position_inputs"] += ins
            self.llm_info_["position_outputs"] += outs
        self.llm_info_["model_calls"] += self.scorer_.calls - calls0
        out = np.empty_like(base)
        for row, chosen in enumerate(ranked):
            out[row] = final_order_scores(chosen, order_all[row])
        return out

    def info(self) -> dict:
        """Facts for the cell's info: counts and, for listwise runs, the position-bias probe."""
        from skewbench.models.llm.rank import position_bias

        info = {k: v for k, v in self.llm_info_.items() if not k.startswith("position_")}
        if self.llm_info_["position_inputs"]:
            info["position_bias"] = position_bias(
                self.llm_info_["position_inputs"], self.llm_info_["position_outputs"]
            )
        return info
