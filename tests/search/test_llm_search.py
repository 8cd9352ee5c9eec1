"""The LLM search re-ranker in the search pipeline: what the fair re-rankers see after it, and
the seeded sample of type queries (``max_queries``) that bounds its prompt budget."""

from __future__ import annotations

import numpy as np

from skewbench.data.queries import build_search_data
from skewbench.models.llm.search import LLMSearchReranker
from skewbench.models.search.base import QueryBatch, search
from skewbench.treatments.rerank import Fair, RerankContext, XQuAD, rerank_lists
from tests.search.test_queries import many_products, many_purchases


class _FirstStage:
    """Scores item i of query q as the fixed matrix ``s[q, i]``."""

    def __init__(self, s):
        self.s = np.asarray(s, dtype=float)

    def fit(self, texts, **data):
        return self

    def score(self, queries):
        return self.s[: len(queries.texts)].copy()


class _Scorer:
    """yes/no log-odds = the number written in the product text (a tiny scripted prompt set)."""

    calls = 0

    def yes_no(self, prompts):
        return np.array([float(p.split("Product: ")[1].split("\n")[0]) for p in prompts])


def _reranker(first, texts, depth):
    model = LLMSearchReranker(first, depth=depth).fit(texts, seed=0)
    model.scorer_ = _Scorer()  # no model load: the scripted scores stand in for SmolLM2
    return model


def test_llm_search_reranks_only_the_first_stage_top_and_treatments_see_its_scores():
    texts = ["0.1", "0.9", "0.5", "0.8", "0.7"]  # LLM score of each product
    groups = np.array([0, 0, 1, 1, 0])  # 1 = protected
    first = _FirstStage([[5, 4, 3, 2, 1]])  # first stage: 0 > 1 > 2 > 3 > 4
    model = _reranker(first, texts, depth=3)
    cand = search(model, QueryBatch(texts=["q"]), 4)
    # top 3 of the first stage (0, 1, 2) re-ordered by the LLM: 1 (0.9), 2 (0.5), 0 (0.1);
    # items 3 and 4 lie beyond depth: never shown, whatever the LLM would say of them
    assert cand.items[0].tolist() == [1, 2, 0, -1]
    assert model.train_info_["llm_prompts"] == 3
    # FA*IR after the LLM: p = 0.9 is met by the protected item 2 at rank 2 (the LLM's order
    # stands), p = 0.99 demands it at the top; the protected item 3 lies beyond the LLM's
    # candidates and is never shown. xQuAD at λ = 0 keeps the LLM's order.
    context = RerankContext(cand.items, cand.scores, groups, protected=(1,))
    assert rerank_lists(Fair(0.9, 0.1), context, 3)[0].tolist() == [1, 2, 0]
    assert rerank_lists(Fair(0.99, 0.1), context, 3)[0].tolist() == [2, 1, 0]
    assert rerank_lists(XQuAD(0.0, "smooth"), context, 3)[0].tolist() == [1, 2, 0]


def test_type_queries_sample_the_test_queries_only():
    prods = many_products()
    kw = dict(queries="type", test_weeks=2)
    full = build_search_data(prods, many_purchases(prods), rng=np.random.default_rng(1), **kw)
    n = len(full.queries)
    assert n > 3
    part = build_search_data(
        prods, many_purchases(prods), rng=np.random.default_rng(1), max_queries=3, **kw
    )
    assert len(part.queries) == 3
    assert set(part.queries["query_id"]) <= set(full.queries["query_id"])
    assert set(part.qrels["query_id"]) == set(part.queries["query_id"])
    # the folds and training queries are drawn before the sample: unchanged
    assert part.train_queries["query_id"].tolist() == full.train_queries["query_id"].tolist()
