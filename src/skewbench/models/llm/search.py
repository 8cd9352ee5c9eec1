"""An LLM re-ranker for search: a first-stage retriever's top ``depth`` products per query are
re-ranked by the LLM (:mod:`skewbench.models.llm.rank`); other products score −inf, as for the
cross-encoder (so lists hold at most ``depth`` products). ``pop_tau`` > 0 subtracts
τ·log(pop + 1) (training-period purchases) from the pointwise log-odds. Facts for the cell are
in ``train_info_`` (prompts, model calls, parse failures, position bias for listwise runs).
"""

from __future__ import annotations

import numpy as np

from skewbench.metrics.topk import topk
from skewbench.models.search.base import QueryBatch


class LLMSearchReranker:
    """First stage + LLM re-ranking of its top ``depth`` (module docstring)."""

    def __init__(
        self,
        first_stage,
        depth: int = 10,
        mode: str = "pointwise",
        orders: int = 1,
        window: int = 10,
        step: int = 5,
        pop_tau: float = 0.0,
        model: str = "smollm2-135m",
        dtype: str = "auto",
    ):
        from skewbench.models.llm.rank import check_policy

        check_policy(mode, orders, pop_tau, depth=depth, window=window, step=step)
        self.first_stage, self.depth, self.mode, self.orders = (
            first_stage,
            int(depth),
            mode,
            int(orders),
        )
        self.window, self.step, self.pop_tau, self.model = (
            int(window),
            int(step),
            float(pop_tau),
            model,
        )
        self.dtype = dtype

    def fit(self, texts: list[str], **data: object) -> LLMSearchReranker:
        from skewbench.models.llm.scorer import LLMScorer

        self.first_stage.fit(texts, **data)
        self.texts_ = list(texts)
        pop = data.get("popularity")
        self.log_pop_ = np.log1p(np.asarray(pop, dtype=np.float64)) if pop is not None else None
        self.seed_ = int(data.get("seed", 0))  # type: ignore[call-overload]
        self.scorer_ = LLMScorer(self.model, dtype=self.dtype)
        self.train_info_: dict = {
            "llm_model_id": self.scorer_.model_id,
            "llm_prompts": 0,
            "llm_model_calls": 0,
            "llm_parse_failures": 0,
        }
        self._ins: list[list[int]] = []
        self._outs: list[list[int]] = []
        return self

    def score(self, queries: QueryBatch) -> np.ndarray:
        from skewbench.models.llm import rank as R
        from skewbench.models.llm.prompts import search_context

        first = self.first_stage.score(queries)
        cand = topk(first, self.depth)
        out = np.full(first.shape, -np.inf, dtype=np.float64)
        calls0 = self.scorer_.calls
        if self.mode == "pointwise":
            items, scores = R.pointwise_rerank(
                self.scorer_, queries.texts, cand, self.texts_, "search"
            )
            if self.pop_tau > 0 and self.log_pop_ is not None:
                scores = scores - self.pop_tau * self.log_pop_[np.maximum(items, 0)]
            for r in range(items.shape[0]):
                ok = items[r] >= 0
                out[r, items[r][ok]] = scores[r][ok]
            self.train_info_["llm_prompts"] += int((cand >= 0).sum())
        else:
            rng = np.random.default_rng(self.seed_)
            orders, failures, ins, outs = R.bootstrap_listwise_many(
                self.scorer_,
                [search_context(t) for t in queries.texts],
                cand,
                self.texts_,
                self.orders,
                rng,
                self.window,
                self.step,
            )
            for r, order in enumerate(orders):
                out[r, order] = self.depth - np.arange(len(order), dtype=np.float64)
            self.train_info_["llm_parse_failures"] += sum(failures)
            self._ins += ins
            self._outs += outs
        self.train_info_["llm_model_calls"] += self.scorer_.calls - calls0
        if self._ins:
            self.train_info_["position_bias"] = R.position_bias(self._ins, self._outs)
        return out
