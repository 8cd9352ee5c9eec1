"""LLM rankers: answer parsing, sliding windows, Borda aggregation, the prompt cache, and (slow)
the real SmolLM2-135M scorer's determinism."""

from __future__ import annotations

import numpy as np
import pytest

from skewbench.models.llm.rank import (
    bootstrap_listwise,
    borda,
    listwise_rerank,
    parse_permutation,
    pointwise_rerank,
    position_bias,
)
from skewbench.models.llm.scorer import LLMScorer, PromptCache


@pytest.mark.parametrize(
    ("answer", "order", "ok"),
    [
        ("[2] > [1] > [3]", [1, 0, 2], True),
        ("3, 1", [2, 0, 1], True),  # bare numbers; the unnamed item follows in input order
        ("[2] > [2] > [9] > [1]", [1, 0, 2], True),  # repeats and out-of-range ignored
        ("I cannot rank these.", [0, 1, 2], False),
        ("", [0, 1, 2], False),
    ],
)
def test_parse_permutation(answer, order, ok):
    assert parse_permutation(answer, 3) == (order, ok)


class _ScriptedLM:
    """Answers listwise prompts by a hidden relevance (item text = its relevance number), or
    with garbage for the prompts listed in ``fail``; counts calls like the real scorer."""

    def __init__(self, fail=()):
        self.fail, self.calls = set(fail), 0

    def generate(self, prompts):
        self.calls += len(prompts)
        out = []
        for p in prompts:
            lines = [ln for ln in p.splitlines() if ln.startswith("[")]
            rel = [float(ln.split("] ", 1)[1]) for ln in lines]
            order = np.argsort(-np.asarray(rel), kind="stable")
            out.append(
                "no idea" if self.calls in self.fail else " > ".join(f"[{i + 1}]" for i in order)
            )
        return out

    def yes_no(self, prompts):
        return np.array([float(p.split("Product: ")[1].split("\n")[0]) for p in prompts])


def test_sliding_window_brings_the_best_to_the_top():
    texts = [str(v) for v in range(30)]  # item i has relevance i
    items = list(range(30))  # worst first
    order, failures = listwise_rerank(_ScriptedLM(), "ctx", items, texts, window=10, step=5)
    assert failures == 0
    assert order[:5] == [29, 28, 27, 26, 25]  # a sliding pass from the bottom sorts the top
    assert sorted(order) == items


def test_failures_keep_the_window_and_are_counted():
    texts = [str(v) for v in range(6)]
    order, failures = listwise_rerank(_ScriptedLM(fail={1}), "ctx", list(range(6)), texts, 6, 3)
    assert failures == 1 and order == list(range(6))


def test_borda_and_bootstrap():
    assert borda([[1, 2, 3], [2, 1, 3]], [3, 2, 1]) == [2, 1, 3]  # 1 and 2 tie: reference order
    texts = [str(v) for v in range(8)]
    lm = _ScriptedLM()
    order, failures, ins, outs = bootstrap_listwise(
        lm, "ctx", list(range(8)), texts, 3, np.random.default_rng(0), window=8, step=4
    )
    assert order == list(range(7, -1, -1)) and failures == 0 and ins[0] == list(range(8))
    bias = position_bias(ins, outs)  # the scripted ranker ignores input order entirely
    assert len(bias["mean_output_position"]) == 8


def test_pointwise_sorts_by_score_and_keeps_padding_last():
    texts = ["0.1", "0.9", "0.5"]
    items, scores = pointwise_rerank(
        _ScriptedLM(), ["q"], np.array([[0, 1, -1, 2]]), texts, "search"
    )
    assert items.tolist() == [[1, 2, 0, -1]] and np.isneginf(scores[0, -1])


def test_prompt_cache_round_trip(tmp_path):
    cache = PromptCache(tmp_path / "c.sqlite")
    k = PromptCache.key("m", "yes_no", "hello")
    assert cache.get_many([k]) == {}
    cache.put_many({k: 1.5})
    assert PromptCache(tmp_path / "c.sqlite").get_many([k]) == {k: 1.5}
    assert PromptCache.key("m", "yes_no", "hello") != PromptCache.key("m2", "yes_no", "hello")


def test_scorer_calls_the_model_once_per_distinct_prompt(tmp_path):
    scorer = LLMScorer(cache_dir=tmp_path)
    seen = []
    scorer._run_yes_no = lambda ps: (seen.extend(ps), [float(len(p)) for p in ps])[1]
    a = scorer.yes_no(["ab", "abc", "ab"])
    assert a.tolist() == [2.0, 3.0, 2.0] and seen == ["ab", "abc"] and scorer.calls == 2
    scorer.yes_no(["abc"])  # a cache hit: no model call
    assert scorer.calls == 2


@pytest.mark.slow
def test_real_smollm2_is_deterministic_and_prefers_the_relevant_product(tmp_path):
    pytest.importorskip("gguf")
    scorer = LLMScorer(cache_dir=tmp_path)
    prompts = [
        "Search query: milk\nProduct: whole milk, dairy, 1 gallon\nIs this product relevant to the search query? Answer yes or no.",
        "Search query: milk\nProduct: motor oil, automotive, 5 quart\nIs this product relevant to the search query? Answer yes or no.",
    ]
    first = scorer._run_yes_no(prompts)
    assert scorer._run_yes_no(prompts) == first  # greedy, deterministic forward pass
    assert first[0] > first[1]


def test_policy_parameters_are_checked():
    from skewbench.errors import ConfigError
    from skewbench.models.llm.rank import check_policy

    check_policy("listwise", 3)
    with pytest.raises(ConfigError, match="needs mode listwise"):
        check_policy("pointwise", 3)
    with pytest.raises(ConfigError, match="model.params.mode"):
        check_policy("pairwise", 1)
    with pytest.raises(ConfigError, match="model.params.depth: must be > 0"):
        check_policy("pointwise", 1, depth=0)
    with pytest.raises(ConfigError, match="model.params.pop_tau: must be >= 0"):
        check_policy("pointwise", 1, -0.5)
    # both re-rankers refuse through it (search skipped the counts before)
    from skewbench.models.llm.search import LLMSearchReranker

    with pytest.raises(ConfigError, match="model.params.window"):
        LLMSearchReranker(None, window=0)


def test_batched_bootstrap_matches_one_unit_at_a_time():
    from skewbench.models.llm.rank import bootstrap_listwise_many

    texts = [str(v) for v in range(25)]
    cands = np.array([list(range(12)) + [-1] * 3, list(range(24, 9, -1)), [-1] * 15])
    one, lm1 = [], _ScriptedLM()
    rng = np.random.default_rng(7)
    for row in cands[:2]:  # the empty unit (last) sends nothing and fails nothing
        one.append(bootstrap_listwise(lm1, "ctx", row, texts, 3, rng, window=6, step=3))
    one.append(([], 0, [[]] * 3, [[]] * 3))
    lm2 = _ScriptedLM()
    orders, failures, ins, outs = bootstrap_listwise_many(
        lm2, ["ctx"] * 3, cands, texts, 3, np.random.default_rng(7), window=6, step=3
    )
    assert orders == [o[0] for o in one] and failures == [o[1] for o in one]
    assert ins == [x for o in one for x in o[2]] and outs == [x for o in one for x in o[3]]
    assert orders[2] == [] and orders[0][:3] == [11, 10, 9]
    assert lm2.calls == lm1.calls  # same prompts, sent in batches


def test_final_order_scores_put_the_llm_order_first_then_the_first_stage():
    from skewbench.models.llm.recommender import final_order_scores

    s = final_order_scores([4, 1], np.array([1, 0, 3, 4, 2]))
    assert s.tolist() == [-2.0, -1.0, -4.0, -3.0, 0.0]
    assert np.argsort(-s, kind="stable").tolist() == [4, 1, 0, 3, 2]
