"""``skewbench explain``: one user's (or query's) list from a finished cell, with each item's
groups, score, position before the treatment and its top reasons.

The list is read from the cell's stored per-unit table (column ``ranked``); the model is refit
from the cell's stored config — a cell is a pure function of its config and seed, so the refit
model is the one that produced the list (same data-side streams, same model seed). Cells stored
before lists were kept are re-run once to get the list.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.errors import ConfigError
from skewbench.explain.reasons import (
    EXACT,
    Reason,
    cosine_reasons,
    linear_contributions,
    recommend_reasons,
    search_reasons,
)
from skewbench.runner.cell import Cell, Component


def cell_from_config(cfg: dict[str, Any]) -> Cell:
    """The :class:`Cell` of a stored config (``Cell.to_dict()``); same key."""
    extra = {k: v for k, v in cfg.items() if k == "control" and v is not None}
    return Cell(
        task=cfg["task"],
        dataset=Component(
            cfg["dataset"]["name"],
            dict(cfg["dataset"]["params"]),
            tuple((cfg["dataset"].get("files") or {}).items()),
        ),
        model=Component(
            cfg["model"]["name"],
            dict(cfg["model"]["params"]),
            tuple((cfg["model"].get("files") or {}).items()),
        ),
        treatment=Component(cfg["treatment"]["name"], dict(cfg["treatment"]["params"])),
        imbalance=cfg["imbalance"],
        seed=int(cfg["seed"]),
        master_seed=int(cfg["master_seed"]),
        options=dict(cfg.get("options", {})),
        **extra,
    )


def load_cell(results: Path, key: str) -> tuple[Cell, pd.DataFrame]:
    """(cell, per-unit table) of a finished cell; a unique key prefix is enough."""
    from skewbench.runner.store import ResultStore

    path = Path(results) / "results.sqlite"
    if not path.is_file():
        raise FileNotFoundError(f"no results store at {path}")
    with ResultStore(path) as store:
        table = store.table()
        keys = [k for k in table["key"]] if not table.empty else []
        match = [k for k in keys if k.startswith(key)]
        if len(match) != 1:
            raise ConfigError(
                f"--cell {key!r}: {'no' if not match else len(match)} finished cells match in "
                f"{path}" + (f" (e.g. {keys[0]})" if keys and not match else "")
            )
        config = store.config(match[0])
        units = store.units(match[0])
    return cell_from_config(config), units


def _fmt_reasons(reasons: list[Reason], name: Any) -> str:
    return "; ".join(f"{name(r.source)} {r.value:+.3f}" for r in reasons)


def explain_recommend(cell: Cell, units: pd.DataFrame, user: str, top: int, n_reasons: int = 3):
    """(table of the user's list, header lines)."""
    from skewbench.data.groups import item_popularity_matrix, popularity_groups
    from skewbench.metrics.topk import topk
    from skewbench.tasks import recommend as R

    row = units[units["user_id"].astype(str) == str(user)]
    if row.empty:
        sample = ", ".join(units["user_id"].astype(str).head(5))
        raise ConfigError(f"--user {user!r} is not an evaluated user of this cell (e.g. {sample})")
    if "ranked" not in units.columns:  # stored before lists were kept: re-run the cell
        fresh = R.run(cell).units
        row = fresh[fresh["user_id"].astype(str) == str(user)]
    ranked = np.asarray(row["ranked"].iloc[0], dtype=np.int64)[:top]
    data, X, T, _ = R.load_split(cell)
    u = int(np.searchsorted(data.users, str(user)))
    base = R.base_cell(cell)
    emb = R.item_embeddings(data) if R.needs_embeddings(cell) else None
    model = R.build_model(cell.model.name, dict(cell.model.params), base.treatment, data, emb)
    model.fit(X, seed=base.seed_int("model"))
    scores = model.score(np.array([u]))[0]
    order = topk(scores[None, :], X.shape[1], exclude=X[[u]])[0]
    base_rank = {int(i): r + 1 for r, i in enumerate(order) if i >= 0}
    pop = item_popularity_matrix(X)
    labels = {"popularity": popularity_groups(pop), **data.labels}
    relevant = set(T[u].indices.tolist())
    hist = X[u]

    def name(src: Any) -> str:
        if isinstance(src, int | np.integer):
            return f"{data.items[src]} «{str(data.item_text[src])[:28]}»"
        return str(src)

    rows, kinds, worst = [], set(), 0.0
    for pos, i in enumerate(ranked, start=1):
        reasons, kind = recommend_reasons(model, hist, int(i), n_reasons)
        kinds.add(kind)
        if kind == EXACT and type(model).__name__ in ("EASE", "ItemKNN"):
            W = model.B_ if type(model).__name__ == "EASE" else model.similarity_
            worst = max(worst, abs(linear_contributions(hist, W, int(i))[1].sum() - scores[i]))
        rows.append(
            {
                "rank": pos,
                "item": data.items[i],
                "title": str(data.item_text[i])[:32],
                **{g: labels[g][i] for g in labels},
                "score": float(scores[i]),
                "base_rank": base_rank.get(int(i)),
                "relevant": "✓" if int(i) in relevant else "",
                f"top reasons ({'/'.join(sorted(kinds))})": _fmt_reasons(reasons, name),
            }
        )
    table = pd.DataFrame(rows)
    table.columns = [c if not c.startswith("top reasons") else "top reasons" for c in table.columns]
    head = [
        f"cell {cell.key}: recommend {cell.dataset.label} · {cell.model.label} · "
        f"{cell.treatment.label} · imbalance {cell.imbalance} · seed {cell.seed}",
        f"user {user}: {hist.nnz} training items, {len(relevant)} relevant test items; "
        f"base_rank = position in the untreated model's full ranking",
    ]
    head.append(_kind_line(kinds, worst))
    if cell.treatment.name in R.RERANKERS:
        head.append(
            f"treatment {cell.treatment.label} re-ranked the untreated model's top "
            f"{R.options(cell)['candidates']}; it promotes {_PROMOTES[cell.treatment.name]}. "
            "Reasons explain the model's score, not the re-ranker's choice."
        )
    return table, head


_PROMOTES = {
    "xquad": "long-tail (non-head) items, in proportion to the user's history",
    "fair": "long-tail (non-head) items up to FA*IR's minimum share p",
    "calibrated": "the item groups of the user's history, in their history proportions",
    "mmr": "items unlike those already listed (diversity)",
}


def _kind_line(kinds: set[str], worst: float) -> str:
    if kinds == {EXACT}:
        return (
            "reasons: exact additive contributions (history item / term → score share); they "
            f"sum to the score (largest |Σ − score| in this list: {worst:.2e})"
        )
    if "similarity" in kinds:
        return "reasons: similarity, not attribution (cosine of the model's vectors)"
    return "reasons: none available for this model"


def explain_search(cell: Cell, units: pd.DataFrame, query: str, top: int, n_reasons: int = 3):
    """(table of the query's list, header lines); ``query`` is a query_id or its exact text."""
    from skewbench.metrics.topk import topk
    from skewbench.models.search.base import QueryBatch
    from skewbench.pipeline.facts import search_labels
    from skewbench.tasks import search as S

    data = S.load_data(cell)
    qs = data.queries.reset_index(drop=True)
    hit = np.flatnonzero((qs["query_id"].astype(str) == str(query)) | (qs["text"] == query))
    if hit.size == 0:
        sample = ", ".join(qs["query_id"].astype(str).head(5))
        raise ConfigError(f"--query {query!r} is not a test query of this cell (e.g. {sample})")
    qi = int(hit[0])
    qid = str(qs["query_id"].iloc[qi])
    row = units[units["query_id"].astype(str) == qid]
    ranked = np.asarray(row["ranked"].iloc[0], dtype=np.int64)[:top]
    base = dataclasses.replace(cell, treatment=Component("none"))
    model = S.build_model(cell.model.name, cell.model.params)
    model.fit(list(data.catalog["text"]), **S.fit_data(data, base))
    batch = QueryBatch.from_frame(qs.iloc[[qi]], data.user_index)
    scores = np.asarray(model.score(batch), dtype=np.float64)[0]
    order = topk(np.where(np.isfinite(scores), scores, -np.inf)[None, :], scores.size)[0]
    base_rank = {int(i): r + 1 for r, i in enumerate(order)}
    text = str(qs["text"].iloc[qi])
    reasons, kind = search_reasons(model, text, ranked, n_reasons)
    if kind != EXACT:
        reasons, kind = _dense_reasons(model, batch, data, ranked, n_reasons)
    truth = data.truth()
    relevant = set(truth[qi].indices.tolist())
    labels = search_labels(data, cell.dataset.name)
    rows = []
    for pos, (i, rs) in enumerate(zip(ranked, reasons, strict=True), start=1):
        rows.append(
            {
                "rank": pos,
                "item": data.catalog["item_id"].iloc[i],
                "title": str(data.catalog["title"].iloc[i])[:32],
                **{g: labels[g][i] for g in labels},
                "score": float(scores[i]),
                "base_rank": base_rank.get(int(i)),
                "relevant": "✓" if int(i) in relevant else "",
                "top reasons": _fmt_reasons(rs, str),
            }
        )
    head = [
        f"cell {cell.key}: search {cell.dataset.label} · {cell.model.label} · "
        f"{cell.treatment.label} · seed {cell.seed}",
        f"query {qid} {text!r}: {len(relevant)} relevant items; base_rank = position in the "
        "untreated model's ranking",
        _kind_line({kind}, 0.0)
        if kind != EXACT
        else "reasons: exact per-term BM25 contributions (+ popularity prior); they sum to "
        "the score",
    ]
    return pd.DataFrame(rows), head


def _dense_reasons(model: Any, batch: Any, data: Any, items: np.ndarray, n: int):
    dense = None
    for obj in (
        model,
        getattr(model, "base", None),
        getattr(model, "dense", None),
        getattr(model, "first_stage", None),
    ):
        if obj is not None and hasattr(obj, "item_emb_") and hasattr(obj, "query_embeddings"):
            dense = obj
            break
    if dense is None:
        return [[] for _ in items], "none"
    from skewbench.models.search.base import QueryBatch

    qv = dense.query_embeddings(QueryBatch(batch.texts))[0]
    tq_vecs = tq_texts = tt = None
    if data.train_queries is not None and data.train_qrels is not None:
        tt_full = sp.csc_matrix(data.truth(data.train_queries, data.train_qrels))
        rows = np.unique(np.concatenate([tt_full[:, int(i)].indices for i in items] or [[]]))
        rows = rows.astype(np.int64)
        if rows.size:
            tq_texts = list(data.train_queries["text"].astype(str).iloc[rows])
            tq_vecs = dense.query_embeddings(QueryBatch(tq_texts))
            tt = sp.csr_matrix(tt_full)[rows]
    return cosine_reasons(qv, dense.item_emb_, items, tq_vecs, tq_texts, tt, n), "similarity"


def explain_command(
    results: Path, key: str, user: str | None, query: str | None, top: int = 10
) -> str:
    """The text ``skewbench explain`` prints."""
    if (user is None) == (query is None):
        raise ConfigError("explain: give exactly one of --user (recommend) or --query (search)")
    cell, units = load_cell(results, key)
    if cell.task == "recommend":
        if user is None:
            raise ConfigError("explain: a recommend cell takes --user")
        table, head = explain_recommend(cell, units, user, top)
    elif cell.task == "search":
        if query is None:
            raise ConfigError("explain: a search cell takes --query")
        table, head = explain_search(cell, units, query, top)
    else:
        raise ConfigError(f"explain: task {cell.task!r} has no ranked lists to explain")
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        return "\n".join(head) + "\n" + table.to_string(index=False)
