"""The search data a cell evaluates on (:class:`SearchData`) and its relevance matrix.

Built by :func:`skewbench.data.queries.build_search_data` (Complete Journey), the ESCI loader
and the ``table`` source; the protocol that fills it is described in :mod:`skewbench.data.queries`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass
class SearchData:
    """Everything a search cell needs; row i of ``catalog`` is item index i.

    ``queries``/``qrels`` are the test queries and their graded relevance (``grade`` int, and
    ``gain`` float used as the NDCG gain: equal to grade for Complete Journey, the chosen ESCI
    mapping for ESCI). ``train_queries``/``train_qrels`` are the queries a model may be fitted
    on, with a ``fold`` column: "train", or "validation" for the validation-fold texts (fitted
    only when a tuned model is refitted; :meth:`fit_queries`). ``item_popularity`` counts
    training-period purchase lines per catalog item; ``history`` is (users × items)
    training-period purchase counts with ``user_index`` mapping user_id → row. ``queries`` has
    a ``group`` column (head/tail). ``validation`` is the validation view (a SearchData over the
    same catalog whose ``queries`` are the validation queries; see the module docstring), or
    None. ``judged_only``: each query ranks only its own judged products (ESCI task 1).
    """

    catalog: pd.DataFrame
    queries: pd.DataFrame
    qrels: pd.DataFrame
    train_queries: pd.DataFrame | None = None
    train_qrels: pd.DataFrame | None = None
    item_popularity: np.ndarray | None = None
    history: sp.csr_matrix | None = None
    user_index: dict[str, int] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    validation: SearchData | None = None
    judged_only: bool = False

    def truth(self, queries: pd.DataFrame | None = None, qrels: pd.DataFrame | None = None):
        """(queries × items) CSR of gains, rows in ``queries`` order."""
        queries = self.queries if queries is None else queries
        qrels = self.qrels if qrels is None else qrels
        return truth_matrix(queries, qrels, self.catalog["item_id"])

    def allowed(
        self, queries: pd.DataFrame | None = None, qrels: pd.DataFrame | None = None
    ) -> sp.csr_matrix | None:
        """(queries × items) CSR of each query's judged products (any grade, 0 included) when
        ``judged_only``; None (every catalog item is a candidate) otherwise."""
        if not self.judged_only:
            return None
        queries = self.queries if queries is None else queries
        qrels = self.qrels if qrels is None else qrels
        judged = qrels.assign(gain=1.0)
        return truth_matrix(queries, judged, self.catalog["item_id"])

    def fit_queries(self, refit: bool = False) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """Training queries and qrels a model is fitted on: the train fold, plus the
        validation fold when ``refit`` (a tuned model refitted on train + validation)."""
        if self.train_queries is None or self.train_qrels is None:
            return None
        tq = self.train_queries
        if "fold" in tq.columns:
            tq = tq[tq["fold"].isin(("train", "validation") if refit else ("train",))]
        tq = tq.reset_index(drop=True)
        tr = self.train_qrels[self.train_qrels["query_id"].isin(tq["query_id"])]
        return tq, tr.reset_index(drop=True)


def truth_matrix(queries: pd.DataFrame, qrels: pd.DataFrame, item_ids: pd.Series) -> sp.csr_matrix:
    """CSR (len(queries) × len(item_ids)) with ``qrels.gain`` (or ``grade``) at each pair.

    Pairs whose query or item is not present are dropped (e.g. items outside a filtered catalog),
    as are pairs with gain <= 0 (judged non-relevant: their unit keeps an empty row).
    """
    qpos = pd.Series(np.arange(len(queries)), index=queries["query_id"].to_numpy())
    ipos = pd.Series(np.arange(len(item_ids)), index=np.asarray(item_ids))
    q = qpos.reindex(qrels["query_id"].to_numpy()).to_numpy()
    i = ipos.reindex(qrels["item_id"].to_numpy()).to_numpy()
    gain_col = "gain" if "gain" in qrels.columns else "grade"
    g = qrels[gain_col].to_numpy(dtype=np.float64)
    keep = ~(np.isnan(q) | np.isnan(i)) & (g > 0)
    m = sp.csr_matrix(
        (g[keep], (q[keep].astype(np.int64), i[keep].astype(np.int64))),
        shape=(len(queries), len(item_ids)),
    )
    m.sum_duplicates()
    return m
