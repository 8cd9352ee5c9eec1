"""Search query sets derived from purchases and the product taxonomy (no query log exists).

Nothing here is a logged query. Complete Journey ships purchases and a three-level taxonomy
(department › product_category › product_type) but no search log, so queries and their graded
relevance are *constructed* from what households bought:

- ``personalised`` (after Ai et al., SIGIR 2017, "Learning a Hierarchical Embedding Model for
  Personalized Product Search"): every test-period purchase becomes a query made of its product's
  category path (product_category words followed by product_type words, lower-cased, duplicate
  tokens dropped), asked by the household that bought it. One query unit per (household, query
  text); its relevant items are the products with that path the household bought in the test
  period (usually one), graded by how often it bought each.
- ``type`` (non-personalised): one query per product_type bought in the test period, text =
  the product_type words; relevant = the products of that type bought in the test period.

Grades: ``grade = min(3, 1 + floor(log2(count)))`` for a product bought ``count`` times in the
test period (1 → 1, 2–3 → 2, ≥ 4 → 3), so a best-seller cannot outweigh the rest of the list.

Head vs tail queries: product types are sorted by training-period purchase lines (descending,
ties by type name); the *head* is the shortest prefix that holds ``head_share`` (default 50 %) of
all training-period purchase lines, the rest (including types never bought in training) is the
*tail*. A query takes its type's group. Personalised queries are sampled from purchases, so a
larger share of them is head than of the type queries (one per type).

Query view vs document view — the choice that keeps lexical search honest. The indexed product
text (:func:`product_text`) is built from the product's own fields *except* product_type:
product_category, department, brand (National brand / Private label), manufacturer id and
package size. The query is built from a different view, the product_type (plus the category for
personalised queries, as Ai et al. use the whole path). Consequences, by design:
1. exact string match of the query's type words is impossible, so BM25 only scores through
   words the type shares with its category (``kids cereal`` → ``cold cereal``) — the
   vocabulary gap dense and fine-tuned encoders are meant to close;
2. products of different types in one category that share brand, manufacturer and size have
   identical text, so text-only models tie on them (the tie counts are reported) and cannot
   reach NDCG 1; popularity, personal history and trained encoders (which can learn
   manufacturer/size ↔ type associations from training queries) are what break those ties;
3. ``index_type=True`` puts product_type back into the document text — an ablation in which
   type-level lexical matching becomes exact and near-trivial, and only the order *within* a
   type (which product was bought) is left to the model.

What "held out" holds out — two splits, both always applied:

1. By time (relevance): purchases in the last ``test_weeks`` weeks (by timestamp) are the test
   period. Test qrels come from the test period only; training queries, popularity, household
   histories, the head/tail rule and the catalog filter use only the training period, so no
   test-period purchase leaks into them.
2. By query text (``query_split``, :func:`split_query_texts`): the distinct query texts —
   product types for type queries, category-path texts for personalised queries — are shuffled
   with the data-side ``split`` stream and cut into *train*, *validation* and *test* folds
   (``test_share``, ``validation_share`` of the texts; stratified by head/tail group, so each
   fold holds about the same share of head texts). Texts are compared after
   :func:`query_key` (case-folded, whitespace collapsed). Queries of a text are used only in its
   fold:

   - ``query_split: unseen`` (default): test queries are test-period queries whose text is in
     the *test* fold. Models train on training-period queries of the *train* fold (plus the
     *validation* fold when a tuned model is refitted), so no test query text — hence no
     (query, relevant product) pair — was ever seen in training. Personalised queries: a
     household's test query never shares its category-path text with any training query of
     any household.
   - ``query_split: seen`` — the named memorisation contrast: test queries are test-period
     queries whose text is in the *train* fold, i.e. texts the trained models were fitted on
     (with new, test-period relevance). Training queries are the same as in ``unseen``, so the
     two conditions differ only in which test queries are asked.

   Item-side signals are not query text and are not split: popularity and household histories
   count every training-period purchase, including purchases of products whose type is a test
   text.

Validation (for tuning, never touching the test period): the same protocol one period earlier.
The last ``test_weeks`` weeks of the training period are the validation period;
``SearchData.validation`` holds the *validation*-fold queries with validation-period relevance,
*train*-fold queries from before the validation period as training queries, and popularity and
histories from before the validation period. The catalog (and its ``min_item_count`` filter,
which counts the whole training period) is the same object as for test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.data.query_builders import (
    build_personalised_queries,
    build_type_queries,
    head_tail,
)
from skewbench.data.query_text import path_query_text, product_text, query_key, type_query_text
from skewbench.data.schema import validate_catalog, validate_qrels, validate_queries
from skewbench.data.search_data import SearchData
from skewbench.errors import ConfigError, SchemaError

SECONDS_PER_WEEK = 7 * 86400
FOLDS = ("train", "validation", "test")
QUERY_SPLITS = ("unseen", "seen")


# ---------------------------------------------------------------------------------------------
# the query-level split and the time split


def split_query_texts(
    texts: pd.Series,
    rng: np.random.Generator,
    test_share: float,
    validation_share: float,
) -> pd.Series:
    """Assign each distinct text to a fold: "train", "validation" or "test".

    ``texts``: index = text (compared via :func:`query_key`), value = its stratum (e.g.
    head/tail). Within each stratum (sorted), keys are sorted, permuted with ``rng``, and the
    first ``round(test_share · n)`` go to test, the next ``round(validation_share · n)`` to
    validation, the rest to train. Returns a Series key → fold, indexed by query key.
    """
    _check_shares(test_share, validation_share)
    strata = pd.Series(texts.to_numpy(), index=[query_key(t) for t in texts.index])
    strata = strata[~strata.index.duplicated(keep="first")].astype(str)
    folds: dict[str, str] = {}
    for stratum in sorted(strata.unique()):
        keys = sorted(strata.index[strata.to_numpy() == stratum])
        order = [keys[i] for i in rng.permutation(len(keys))]
        n_test = int(round(test_share * len(keys)))
        n_val = int(round(validation_share * len(keys)))
        for j, key in enumerate(order):
            folds[key] = "test" if j < n_test else "validation" if j < n_test + n_val else "train"
    return pd.Series(folds, dtype=object).sort_index()


def _check_shares(test_share: float, validation_share: float) -> None:
    for name, v in (("test_share", test_share), ("validation_share", validation_share)):
        if not isinstance(v, int | float) or isinstance(v, bool) or not 0.0 < v < 1.0:
            raise ConfigError(f"dataset.params.{name} must be in (0, 1), got {v!r}")
    if test_share + validation_share >= 1.0:
        raise ConfigError(
            f"dataset.params: test_share + validation_share must be < 1 (training needs texts), "
            f"got {test_share} + {validation_share}"
        )


def fold_of(queries: pd.DataFrame, folds: pd.Series) -> np.ndarray:
    """The fold of each query (by its text's key); texts not in ``folds`` raise KeyError."""
    return folds.loc[[query_key(t) for t in queries["text"]]].to_numpy(dtype=object)


def split_by_time(purchases: pd.DataFrame, test_weeks: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training = before ``max(timestamp) − test_weeks·7 days``; test = from then on.

    ``timestamp`` is in seconds.
    """
    if not isinstance(test_weeks, int) or test_weeks < 1:
        raise ConfigError(f"test_weeks must be a positive integer, got {test_weeks!r}")
    cutoff = int(purchases["timestamp"].max()) - test_weeks * SECONDS_PER_WEEK
    is_test = purchases["timestamp"].to_numpy() > cutoff
    return purchases[~is_test], purchases[is_test]


# ---------------------------------------------------------------------------------------------
# Complete Journey


_CJ_CACHE: dict[str, Any] = {}


def load_completejourney_raw() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Products and purchase lines from :mod:`skewbench.data.sources.completejourney`.

    products: item_id, department, product_category, product_type, brand, manufacturer_id,
    package_size — the loader's catalog (FUEL and COUPON/MISC ITEMS already removed) minus the
    products without a category or type (0.6 %: they carry no searchable taxonomy).
    purchases: user_id, item_id, timestamp (Unix seconds), one row per purchase line, products
    kept above only. Cached per process.
    """
    if "raw" not in _CJ_CACHE:
        from skewbench.data.sources import completejourney

        p = completejourney.load_products()
        p = p[p["product_category"].notna() & p["product_type"].notna()]
        cols = ["item_id", "department", "product_category", "product_type", "brand"]
        products = p[[*cols, "manufacturer_id", "package_size"]].reset_index(drop=True)
        lines = completejourney.load_purchases(aggregate=False)
        purchases = lines.loc[
            lines["item_id"].isin(products["item_id"]), ["user_id", "item_id", "timestamp"]
        ].reset_index(drop=True)
        _CJ_CACHE["raw"] = (products, purchases)
    return _CJ_CACHE["raw"]


def _item_side(
    catalog: pd.DataFrame, purchases: pd.DataFrame
) -> tuple[np.ndarray, sp.csr_matrix, dict[str, int]]:
    """Popularity (purchase lines per catalog item) and the (users × items) history of
    ``purchases`` (catalog items only), with the user_id → row map."""
    ids = catalog["item_id"]
    bought = purchases[purchases["item_id"].isin(set(ids))]
    pop = bought.groupby("item_id").size().reindex(ids).fillna(0).to_numpy(dtype=np.float64)
    users = sorted(bought["user_id"].unique())
    user_index = {u: i for i, u in enumerate(users)}
    ipos = pd.Series(np.arange(len(catalog)), index=ids.to_numpy())
    history = sp.csr_matrix(
        (
            np.ones(len(bought)),
            (
                bought["user_id"].map(user_index).to_numpy(),
                ipos.reindex(bought["item_id"].to_numpy()).to_numpy(),
            ),
        ),
        shape=(len(users), len(catalog)),
    )
    history.sum_duplicates()
    return pop, history, user_index


def _texts_and_strata(products: pd.DataFrame, queries: str, groups: pd.Series) -> pd.Series:
    """Every query text the catalog can produce (index) → the head/tail group of its type."""
    if queries == "type":
        types = sorted(products["product_type"].dropna().unique())
        texts = [type_query_text(t) for t in types]
    else:
        pairs = (
            products[["product_category", "product_type"]]
            .dropna()
            .drop_duplicates()
            .sort_values(["product_category", "product_type"])
        )
        types = pairs["product_type"].tolist()
        texts = [
            path_query_text(c, t)
            for c, t in zip(pairs["product_category"], pairs["product_type"], strict=True)
        ]
    strata = pd.Series(types).map(groups).fillna("tail").to_numpy(dtype=object)
    return pd.Series(strata, index=texts)


def build_search_data(
    products: pd.DataFrame,
    purchases: pd.DataFrame,
    *,
    queries: str = "type",
    test_weeks: int = 8,
    min_item_count: int = 0,
    max_queries: int | None = None,
    index_type: bool = False,
    head_share: float = 0.5,
    query_split: str = "unseen",
    test_share: float = 0.3,
    validation_share: float = 0.15,
    rng: np.random.Generator | None = None,
    source: str = "completejourney",
) -> SearchData:
    """Catalog, test, training and validation query sets from products and purchases.

    See the module docstring for the two splits. ``min_item_count``: keep only products with
    at least that many training-period purchase lines (0 = every product). Test-period relevant
    items outside the catalog are dropped and queries left with no relevant item are dropped
    (both counted in ``info``). ``max_queries`` caps the test and the validation queries (a
    uniform sample, ``rng``) — personalised queries; for type queries (one per type) it samples
    the test queries only. Training queries are capped at 20 × max_queries. ``rng`` (required)
    draws the text folds, then the samples.
    """
    if queries not in ("type", "personalised"):
        raise ConfigError(
            f"dataset.params.queries must be 'type' or 'personalised', got {queries!r}"
        )
    if query_split not in QUERY_SPLITS:
        raise ConfigError(
            f"dataset.params.query_split must be one of {QUERY_SPLITS}, got {query_split!r}"
        )
    _check_shares(test_share, validation_share)
    if rng is None:
        raise ConfigError("build_search_data needs an rng (the data-side split stream)")
    for col in ("item_id", "product_type", "product_category"):
        if col not in products.columns:
            raise SchemaError(source, "products table lacks a column", column=col)
    for col in ("user_id", "item_id", "timestamp"):
        if col not in purchases.columns:
            raise SchemaError(source, "purchases table lacks a column", column=col)
    train, test = split_by_time(purchases, test_weeks)
    before_val, val_period = split_by_time(train, test_weeks)
    if before_val.empty:
        raise ConfigError(
            f"dataset.params.test_weeks={test_weeks}: the training period is too short to carve "
            "a validation period of the same length from it"
        )
    item_counts = train.groupby("item_id").size()
    if min_item_count > 0:
        keep_ids = set(item_counts.index[item_counts >= min_item_count])
        products = products[products["item_id"].isin(keep_ids)]
    products = products.sort_values("item_id", kind="stable").reset_index(drop=True)
    type_counts = (
        train.merge(products[["item_id", "product_type"]], on="item_id")
        .groupby("product_type")
        .size()
        .reindex(sorted(products["product_type"].dropna().unique()), fill_value=0)
    )
    groups = head_tail(type_counts, head_share)
    folds = split_query_texts(
        _texts_and_strata(products, queries, groups), rng, test_share, validation_share
    )
    fold_keys = {f: set(folds.index[folds.to_numpy() == f]) for f in FOLDS}
    test_keys = fold_keys["test"] if query_split == "unseen" else fold_keys["train"]
    fit_keys = fold_keys["train"] | fold_keys["validation"]
    in_cat = set(products["item_id"])

    def period(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["item_id"].isin(in_cat)]

    cap = None if max_queries is None else 20 * max_queries

    def build(df: pd.DataFrame, keys: set[str], limit: int | None):
        if queries == "type":
            return build_type_queries(products, period(df), groups, keys)
        return build_personalised_queries(products, period(df), groups, limit, rng, keys)

    q, r = build(test, test_keys, max_queries)
    if queries == "type" and max_queries is not None and len(q) > max_queries:
        q = q.iloc[np.sort(rng.choice(len(q), max_queries, replace=False))].reset_index(drop=True)
        r = r[r["query_id"].isin(q["query_id"])].reset_index(drop=True)
    tq, tr = build(train, fit_keys, cap)
    tq["fold"] = fold_of(tq, folds)
    vq, vr = build(val_period, fold_keys["validation"], max_queries)
    vtq, vtr = build(before_val, fold_keys["train"], cap)
    vtq["fold"] = "train"

    text = product_text(products, index_type=index_type)
    catalog = pd.DataFrame(
        {
            "item_id": products["item_id"],
            "title": text,  # no product titles exist: the indexed view doubles as the title
            "text": text,
            "category": products["product_type"],
            "category_path": products["department"].astype(str)
            + " > "
            + products["product_category"].astype(str)
            + " > "
            + products["product_type"].astype(str),
            "brand": products["brand"],
            "manufacturer": products["manufacturer_id"].astype(str),
            "product_category": products["product_category"],
            "department": products["department"],
        }
    )
    catalog = validate_catalog(catalog, source)
    q = validate_queries(q, f"{source} test queries")
    r = validate_qrels(r, f"{source} test qrels")
    n_fit = int((tq["fold"] == "train").sum())
    split_info = {
        "query_split": query_split,
        "test_share": test_share,
        "validation_share": validation_share,
        **{f"n_{f}_texts": len(fold_keys[f]) for f in FOLDS},
    }

    def view(q, r, tq, tr, history_period: pd.DataFrame, info, validation=None) -> SearchData:
        """One view over the shared catalog; popularity and histories from ``history_period``."""
        pop, history, user_index = _item_side(catalog, history_period)
        return SearchData(
            catalog=catalog,
            queries=q.reset_index(drop=True),
            qrels=r.reset_index(drop=True),
            train_queries=tq.reset_index(drop=True),
            train_qrels=tr.reset_index(drop=True),
            item_popularity=pop,
            history=history,
            user_index=user_index,
            info=info,
            validation=validation,
        )

    info_val = {"n_validation_queries": len(vq), "n_train_queries": len(vtq)}
    validation = view(vq, vr, vtq, vtr, before_val, info_val)
    info = {
        "n_items": len(catalog),
        "n_test_queries": len(q),
        "n_train_queries": n_fit,
        "n_validation_queries": len(vq),
        "n_test_purchases": len(test),
        "n_test_purchases_outside_catalog": int(len(test) - len(period(test))),
        "n_head_types": int((groups == "head").sum()),
        "n_types": len(groups),
        "test_weeks": test_weeks,
        "min_item_count": min_item_count,
        "index_type": index_type,
        **split_info,
    }
    return view(q, r, tq, tr, train, info, validation)
