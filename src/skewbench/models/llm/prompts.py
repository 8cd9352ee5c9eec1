"""Every prompt the LLM rankers send, in one place.

Pointwise (relevance as a yes/no question; the score is log P(yes) − log P(no) of the first
answer token, after Nogueira et al.'s monoT5 and Hou et al. 2024's pointwise baseline):
- search: the query and one product's text;
- recommend: the user's recent purchases (oldest first) and one candidate product.
Listwise (a permutation prompt after RankGPT, Sun et al. EMNLP 2023, and Hou et al. ECIR 2024):
the candidates numbered [1] … [n] in the order given, and the instruction to answer with the
numbers from most to least relevant, e.g. "[2] > [1] > [3]".
Product texts are cut to ``MAX_ITEM_CHARS`` characters so a prompt's length is bounded.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_ITEM_CHARS = 120
SYSTEM = "You are a careful shopping assistant. Answer briefly."


def _item(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_ITEM_CHARS else text[: MAX_ITEM_CHARS - 1] + "…"


def pointwise_search(query: str, item: str) -> str:
    return (
        f"Search query: {query}\nProduct: {_item(item)}\n"
        "Is this product relevant to the search query? Answer yes or no."
    )


def pointwise_recommend(history: Sequence[str], item: str) -> str:
    bought = "; ".join(_item(h) for h in history)
    return (
        f"A customer recently bought, oldest first: {bought}\nCandidate product: {_item(item)}\n"
        "Is the customer likely to buy this product next? Answer yes or no."
    )


def listwise(context: str, items: Sequence[str]) -> str:
    numbered = "\n".join(f"[{i + 1}] {_item(t)}" for i, t in enumerate(items))
    return (
        f"{context}\nRank these {len(items)} products from most to least relevant:\n{numbered}\n"
        "Answer only with the numbers in order, like [2] > [1] > [3]."
    )


def search_context(query: str) -> str:
    return f"Search query: {query}"


def recommend_context(history: Sequence[str]) -> str:
    return "A customer recently bought, oldest first: " + "; ".join(_item(h) for h in history)
