r"""Why an item is in a list: exact additive reasons where the model allows, labelled
similarities elsewhere.

Exact (``kind="exact"``: the reasons sum to the item's score up to float rounding):

- **EASE** and **ItemKNN** are linear in the user's history: s_ui = Σ_j x_uj W_ji with W = B
  (EASE) or the kept neighbour similarities S (ItemKNN), so history item j contributes
  x_uj W_ji (:func:`linear_contributions`).
- **Popularity**: s_ui = number of distinct training users of i (one reason).
- **BM25** (lucene variant, bm25s): s(q, d) = Σ_{t∈q} idf(t) · tf(t,d) / (tf(t,d) + k1(1 − b +
  b|d|/avgdl)), each query-token occurrence once, so term t contributes (count of t in q) ×
  its single-term score (:func:`bm25_term_contributions`); ``bm25_pop`` adds the prior term
  w · ln(1 + popularity).

Similarity, not attribution (``kind="similarity"``): BPR, ALS, content, hybrid (recommend) —
the user's history items most similar to the item by cosine of the model's item vectors (item
factors, or MiniLM text embeddings for content/hybrid); dense search models — the cosine of
query and item embeddings and the training queries most similar to the query that led to the
item. These say what the item resembles, not what caused its score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

EXACT, SIMILARITY = "exact", "similarity"


@dataclass(frozen=True)
class Reason:
    """One reason: ``source`` (a history item index, a query term, a training query, or a
    named term such as ``popularity``), its ``value`` (a score contribution when ``kind`` is
    exact; a cosine similarity otherwise) and ``kind``."""

    source: object
    value: float
    kind: str


def linear_contributions(history: sp.spmatrix, W: np.ndarray | sp.spmatrix, item: int):
    """(history item indices j, contributions x_uj · W[j, item]) of one user (1 × n history
    row); they sum to (x_u W)[item]."""
    row = sp.csr_matrix(history)
    js, x = row.indices, row.data.astype(np.float64)
    if sp.issparse(W):
        col = np.asarray(sp.csc_matrix(W)[:, item].todense()).ravel()
    else:
        col = np.asarray(W)[:, item]
    return js.astype(np.int64), x * col[js].astype(np.float64)


def _top(reasons: list[Reason], n: int) -> list[Reason]:
    return sorted(reasons, key=lambda r: -abs(r.value))[:n]


def _cosine_to_history(vectors: np.ndarray, history_items: np.ndarray, item: int) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float64)
    h = v[history_items]
    t = v[item]
    denom = np.linalg.norm(h, axis=1) * np.linalg.norm(t)
    return np.where(denom > 0, h @ t / np.where(denom > 0, denom, 1.0), 0.0)


def item_vectors(model: object) -> np.ndarray | None:
    """The vectors a similarity explanation uses for a recommender, or None."""
    for obj in (model, getattr(model, "content", None)):
        if obj is None:
            continue
        for attr in ("item_factors_", "item_unit_"):
            if hasattr(obj, attr):
                return np.asarray(getattr(obj, attr))
    return None


def recommend_reasons(
    model: object, history: sp.spmatrix, item: int, n: int = 3
) -> tuple[list[Reason], str]:
    """Top-``n`` reasons for ``item`` in the list of the user with 1 × items ``history``, and
    their kind ("exact", "similarity" or "none")."""
    name = type(model).__name__
    if name == "EASE":
        js, c = linear_contributions(history, model.B_, item)  # type: ignore[attr-defined]
        return _top([Reason(int(j), float(v), EXACT) for j, v in zip(js, c, strict=True)], n), EXACT
    if name == "ItemKNN":
        js, c = linear_contributions(history, model.similarity_, item)  # type: ignore[attr-defined]
        reasons = [Reason(int(j), float(v), EXACT) for j, v in zip(js, c, strict=True) if v != 0]
        return _top(reasons, n), EXACT
    if name == "Popularity":
        return [Reason("popularity", float(model.popularity_[item]), EXACT)], EXACT  # type: ignore[attr-defined]
    vecs = item_vectors(model)
    js = sp.csr_matrix(history).indices
    if vecs is None or js.size == 0:
        return [], "none"
    sims = _cosine_to_history(vecs, js, item)
    return _top(
        [Reason(int(j), float(s), SIMILARITY) for j, s in zip(js, sims, strict=True)], n
    ), SIMILARITY


def bm25_term_contributions(
    retriever: object, query: str, items: np.ndarray
) -> dict[str, np.ndarray]:
    """{query term: its contribution to each of ``items``' BM25 scores} (module docstring);
    summed over terms this is the BM25 score (0 where no term matches)."""
    import bm25s

    toks = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)[0]
    items = np.asarray(items, dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    index = retriever.index_  # type: ignore[attr-defined]
    for t in dict.fromkeys(toks):
        out[t] = toks.count(t) * np.asarray(index.get_scores([t]), dtype=np.float64)[items]
    return out


def search_reasons(
    model: object, query: str, items: np.ndarray, n: int = 3
) -> tuple[list[list[Reason]], str]:
    """Reasons for each of ``items`` in the list of ``query`` and their kind. Exact for BM25
    and BM25 + popularity prior; for other retrievers the caller adds similarities
    (:func:`cosine_reasons`)."""
    base, prior = model, None
    if type(model).__name__ == "PopularityPrior":
        base, prior = model.base, model.prior_  # type: ignore[attr-defined]
    if type(base).__name__ != "BM25Retriever":
        return [[] for _ in items], "none"
    contrib = bm25_term_contributions(base, query, items)
    out = []
    for pos, i in enumerate(np.asarray(items, dtype=np.int64)):
        rs = [Reason(t, float(v[pos]), EXACT) for t, v in contrib.items() if v[pos] != 0]
        if prior is not None:
            rs.append(Reason("popularity prior", float(prior[i]), EXACT))
        out.append(_top(rs, n))
    return out, EXACT


def cosine_reasons(
    query_vec: np.ndarray,
    item_vecs: np.ndarray,
    items: np.ndarray,
    train_query_vecs: np.ndarray | None = None,
    train_query_texts: list[str] | None = None,
    train_truth: sp.spmatrix | None = None,
    n: int = 2,
) -> list[list[Reason]]:
    """Similarity reasons for dense search: cos(query, item), then the training queries most
    similar to the query among those whose relevant items include the item."""
    q = np.asarray(query_vec, dtype=np.float64)
    q = q / (np.linalg.norm(q) or 1.0)
    out = []
    T = None if train_truth is None else sp.csc_matrix(train_truth)
    tq = None
    if train_query_vecs is not None:
        tq = np.asarray(train_query_vecs, dtype=np.float64)
        tq = tq / np.maximum(np.linalg.norm(tq, axis=1, keepdims=True), 1e-12)
    for i in np.asarray(items, dtype=np.int64):
        v = np.asarray(item_vecs[i], dtype=np.float64)
        rs = [Reason("cos(query, item)", float(q @ v / (np.linalg.norm(v) or 1.0)), SIMILARITY)]
        if T is not None and tq is not None and train_query_texts is not None:
            rows = T[:, i].indices
            if rows.size:
                sims = tq[rows] @ q
                for r in rows[np.argsort(-sims, kind="stable")[:n]]:
                    rs.append(
                        Reason(
                            f"training query {train_query_texts[r]!r}", float(tq[r] @ q), SIMILARITY
                        )
                    )
        out.append(rs)
    return out
