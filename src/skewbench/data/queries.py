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
*tail*. A query takes its type's group. So the head is a few dozen best-selling types; about
half of personalised queries (sampled from purchases) are head, far fewer of the type queries.

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

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from skewbench.data.schema import validate_catalog, validate_qrels, validate_queries
from skewbench.errors import ConfigError, SchemaError

SECONDS_PER_WEEK = 7 * 86400
MAX_GRADE = 3

_NON_WORD = re.compile(r"[^0-9a-z.]+")


FOLDS = ("train", "validation", "test")
QUERY_SPLITS = ("unseen", "seen")


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


# ---------------------------------------------------------------------------------------------
# the query-level split


def query_key(text: str) -> str:
    """The form in which query texts are compared across folds: case-folded, runs of
    whitespace collapsed to one space (works for any script, unlike :func:`normalize_text`)."""
    return " ".join(str(text).casefold().split())


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


# ---------------------------------------------------------------------------------------------
# text views


def normalize_text(text: str) -> str:
    """Lower-case, turn every run of characters other than ``[0-9a-z.]`` into one space."""
    return _NON_WORD.sub(" ", str(text).lower()).strip()


def _dedupe_tokens(text: str) -> str:
    seen: dict[str, None] = {}
    for tok in text.split():
        seen.setdefault(tok, None)
    return " ".join(seen)


def type_query_text(product_type: str) -> str:
    """Query text of a type query: the normalised product_type words."""
    return normalize_text(product_type)


def path_query_text(product_category: str, product_type: str) -> str:
    """Ai et al.-style query: category then type words, normalised, repeated tokens dropped."""
    return _dedupe_tokens(normalize_text(f"{product_category} {product_type}"))


def product_text(products: pd.DataFrame, *, index_type: bool = False) -> pd.Series:
    """Indexed document text of each product from its own fields.

    ``"{category}. {department}. {National brand|Private label}. manufacturer {id}. {size}"``,
    normalised; ``index_type=True`` prepends the product_type (the ablation in the module
    docstring). Missing fields are left out.
    """
    brand = products["brand"].map({"National": "national brand", "Private": "private label"})
    parts = [products["product_category"], products["department"], brand]
    parts.append("manufacturer " + products["manufacturer_id"].astype(str))
    parts.append(products["package_size"])
    if index_type:
        parts.insert(0, products["product_type"])
    frame = pd.concat([p.astype("object") for p in parts], axis=1)
    return frame.apply(
        lambda row: ". ".join(normalize_text(v) for v in row if isinstance(v, str) and v.strip()),
        axis=1,
    ).astype(str)


# ---------------------------------------------------------------------------------------------
# grades, groups, split


def purchase_grade(counts: np.ndarray | pd.Series) -> np.ndarray:
    """``min(3, 1 + floor(log2(count)))`` for counts >= 1 (0 for counts <= 0)."""
    c = np.asarray(counts, dtype=np.float64)
    out = np.zeros(c.shape, dtype=np.int64)
    pos = c >= 1
    out[pos] = np.minimum(MAX_GRADE, 1 + np.floor(np.log2(c[pos]))).astype(np.int64)
    return out


def head_tail(type_counts: pd.Series, head_share: float = 0.5) -> pd.Series:
    """Map each type (index) to "head"/"tail" by its training-period purchase count.

    Sorted by count descending then name ascending; head = the shortest prefix whose counts
    reach ``head_share`` of the total; zero-count types are always tail.
    """
    if not 0.0 < head_share < 1.0:
        raise ConfigError(f"head_share must be in (0, 1), got {head_share!r}")
    counts = type_counts.astype(np.float64)
    order = sorted(counts.index, key=lambda t: (-counts[t], str(t)))
    ordered = counts.reindex(order)
    total = float(ordered.sum())
    before = ordered.cumsum() - ordered  # share held by strictly more popular types
    head = (before < head_share * total) & (ordered > 0)
    return pd.Series(np.where(head, "head", "tail"), index=ordered.index).reindex(type_counts.index)


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
# query builders


def _qrels_from_counts(df: pd.DataFrame) -> pd.DataFrame:
    grade = purchase_grade(df["count"].to_numpy())
    return pd.DataFrame(
        {
            "query_id": df["query_id"].to_numpy(),
            "item_id": df["item_id"].to_numpy(),
            "grade": grade,
            "gain": grade.astype(np.float64),
        }
    )


def build_type_queries(
    products: pd.DataFrame,
    purchases: pd.DataFrame,
    groups: pd.Series | None = None,
    keep_texts: Collection[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One query per product_type bought in ``purchases``; relevant = that type's products bought.

    ``products``: item_id, product_type (others ignored); ``purchases``: user_id, item_id (one row
    per purchase line). ``groups`` maps type → head/tail (missing types become tail).
    ``keep_texts``: query keys (:func:`query_key`) to keep; None keeps all. Returns
    (queries: query_id, text, product_type, group; qrels: query_id, item_id, grade, gain).
    """
    typed = purchases.merge(products[["item_id", "product_type"]], on="item_id", how="inner")
    typed = typed[typed["product_type"].notna()]
    if keep_texts is not None:
        keep = set(keep_texts)
        ok = {t: query_key(type_query_text(t)) in keep for t in typed["product_type"].unique()}
        typed = typed[typed["product_type"].map(ok).astype(bool)]
    counts = typed.groupby(["product_type", "item_id"]).size().rename("count").reset_index()
    counts["query_id"] = "type:" + counts["product_type"].astype(str)
    types = sorted(counts["product_type"].unique())
    queries = pd.DataFrame(
        {
            "query_id": ["type:" + t for t in types],
            "text": [type_query_text(t) for t in types],
            "product_type": types,
        }
    )
    queries["group"] = _group_of(queries["product_type"], groups)
    return queries, _qrels_from_counts(counts)


def build_personalised_queries(
    products: pd.DataFrame,
    purchases: pd.DataFrame,
    groups: pd.Series | None = None,
    max_queries: int | None = None,
    rng: np.random.Generator | None = None,
    keep_texts: Collection[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One query per (household, category-path text) in ``purchases`` (Ai et al. 2017).

    Relevant = the products with that path the household bought in ``purchases``, graded by
    count. ``keep_texts``: query keys to keep (None = all), applied before sampling.
    ``max_queries`` keeps a uniform random sample of units (needs ``rng``), drawn after
    sorting units by id so the sample depends only on the rng. Returns (queries: query_id,
    text, user_id, product_type, group; qrels).
    """
    cols = ["item_id", "product_category", "product_type"]
    typed = purchases.merge(products[cols], on="item_id", how="inner")
    typed = typed[typed["product_type"].notna() & typed["product_category"].notna()]
    pairs = typed[["product_category", "product_type"]].drop_duplicates()
    text_of = {
        (c, t): path_query_text(c, t)
        for c, t in zip(pairs["product_category"], pairs["product_type"], strict=True)
    }
    typed = typed.assign(
        text=[
            text_of[(c, t)]
            for c, t in zip(typed["product_category"], typed["product_type"], strict=True)
        ]
    )
    if keep_texts is not None:
        keep = set(keep_texts)
        ok = {t: query_key(t) in keep for t in text_of.values()}
        typed = typed[typed["text"].map(ok).astype(bool)].copy()
    typed["query_id"] = typed["user_id"].astype(str) + "|" + typed["text"]
    units = (
        typed.groupby("query_id", sort=True)
        .agg(
            text=("text", "first"),
            user_id=("user_id", "first"),
            product_type=("product_type", "first"),
        )
        .reset_index()
    )
    if max_queries is not None and len(units) > max_queries:
        if rng is None:
            raise ConfigError("max_queries needs an rng to sample queries reproducibly")
        keep = np.sort(rng.choice(len(units), size=max_queries, replace=False))
        units = units.iloc[keep].reset_index(drop=True)
    units["group"] = _group_of(units["product_type"], groups)
    typed = typed[typed["query_id"].isin(units["query_id"])]
    counts = typed.groupby(["query_id", "item_id"]).size().rename("count").reset_index()
    return units, _qrels_from_counts(counts)


def _group_of(types: pd.Series, groups: pd.Series | None) -> np.ndarray:
    if groups is None:
        return np.full(len(types), "all", dtype=object)
    return types.map(groups).fillna("tail").to_numpy(dtype=object)


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
    pop, history, user_index = _item_side(catalog, train)
    vpop, vhistory, vuser_index = _item_side(catalog, before_val)
    q = validate_queries(q, f"{source} test queries")
    r = validate_qrels(r, f"{source} test qrels")
    n_fit = int((tq["fold"] == "train").sum())
    split_info = {
        "query_split": query_split,
        "test_share": test_share,
        "validation_share": validation_share,
        **{f"n_{f}_texts": len(fold_keys[f]) for f in FOLDS},
    }
    validation = SearchData(
        catalog=catalog,
        queries=vq.reset_index(drop=True),
        qrels=vr.reset_index(drop=True),
        train_queries=vtq.reset_index(drop=True),
        train_qrels=vtr.reset_index(drop=True),
        item_popularity=vpop,
        history=vhistory,
        user_index=vuser_index,
        info={"n_validation_queries": len(vq), "n_train_queries": len(vtq)},
    )
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
