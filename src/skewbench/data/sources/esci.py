"""Amazon Shopping Queries (ESCI) reader, for users who have the public parquet files.

Layout (Reddy et al. 2022, github.com/amazon-science/esci-data), in one folder:
- ``shopping_queries_dataset_examples.parquet``: example_id, query, query_id, product_id,
  product_locale, esci_label (E/S/C/I), small_version, large_version, split (train/test);
- ``shopping_queries_dataset_products.parquet``: product_id, product_title,
  product_description, product_bullet_point, product_brand, product_color, product_locale.

Nothing is downloaded: pass the folder as ``path``.

Gains — the official code and the paper disagree, so the mapping is a parameter:
- ``"kddcup"`` (default; the KDD Cup 2022 evaluation code): E = 3, S = 2, C = 1, I = 0;
- ``"paper"`` (the paper's NDCG for task 1): E = 1.0, S = 0.1, C = 0.01, I = 0;
- or a dict ``{"E": g, "S": g, "C": g, "I": g}`` of non-negative numbers.
``qrels.grade`` is always the ordinal label E=3 > S=2 > C=1 > I=0; ``qrels.gain`` carries the
chosen mapping and is what NDCG uses (linear gain in the metrics engine).

Catalog: item_id = product_id, ``text`` = title, brand, colour and the first 300 characters of
the bullet points (description left out: long, often HTML, and slow to encode), ``brand`` =
product_brand, ``manufacturer`` = product_brand (ESCI has no manufacturer), no category. Only
products appearing in the selected examples (test, training and validation queries) are kept.
Products keep their locale: product ids repeat across locales, so rows are filtered to one
``locale`` (us/es/jp) first.

Candidates (``retrieval``):
- ``"judged"`` (default; the ESCI task-1 protocol, "query-product ranking"): each query ranks
  only its own judged products (every grade, Irrelevant included); other catalog items are not
  candidates (``SearchData.judged_only``).
- ``"catalogue"``: each query retrieves from the whole catalog above (every product judged for
  any selected query) — a harder, retrieval-style setting that is not the ESCI protocol.

Queries judged only Irrelevant (every label I) stay test units: they have no relevant product,
and the search task scores them as the metrics engine's trec_eval convention does (0), not
dropped; ``info["n_queries_no_relevant"]`` counts them.

Held out: ESCI's own ``split`` column is by query. Test queries are the ``split`` rows; the
``train`` rows are the training queries, minus any whose text (:func:`query_key`: case-folded,
whitespace collapsed) equals a test query's, so no test text is ever trained on. A validation
set is carved from the training queries by text: ``validation_share`` of the distinct training
texts (shuffled with the data-side ``split`` stream), which fitting for tuning never sees;
``SearchData.validation`` ranks them with the remaining training texts as its training queries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from skewbench.data.query_text import query_key
from skewbench.data.schema import (
    check_path,
    require_columns,
    require_nonempty,
    validate_catalog,
    validate_qrels,
    validate_queries,
)
from skewbench.data.search_data import SearchData
from skewbench.errors import ConfigError, SchemaError

EXAMPLES_FILE = "shopping_queries_dataset_examples.parquet"
PRODUCTS_FILE = "shopping_queries_dataset_products.parquet"
EXAMPLE_COLUMNS = (
    "example_id",
    "query",
    "query_id",
    "product_id",
    "product_locale",
    "esci_label",
    "small_version",
    "large_version",
    "split",
)
PRODUCT_COLUMNS = (
    "product_id",
    "product_title",
    "product_description",
    "product_bullet_point",
    "product_brand",
    "product_color",
    "product_locale",
)
ORDINAL = {"E": 3, "S": 2, "C": 1, "I": 0}
GAINS: dict[str, dict[str, float]] = {
    "kddcup": {"E": 3.0, "S": 2.0, "C": 1.0, "I": 0.0},
    "paper": {"E": 1.0, "S": 0.1, "C": 0.01, "I": 0.0},
}
BULLET_CHARS = 300
RETRIEVAL = ("judged", "catalogue")


def gain_mapping(gains: str | dict[str, float]) -> dict[str, float]:
    """The E/S/C/I → gain dict for a named mapping or a user dict (validated)."""
    if isinstance(gains, str):
        if gains not in GAINS:
            raise ConfigError(f"dataset.params.gains: {gains!r} is not one of {sorted(GAINS)}")
        return dict(GAINS[gains])
    if set(gains) != set(ORDINAL) or any(float(v) < 0 for v in gains.values()):
        raise ConfigError(
            f"dataset.params.gains: need non-negative values for exactly E, S, C, I; got {gains!r}"
        )
    return {k: float(v) for k, v in gains.items()}


def _text(products: pd.DataFrame) -> pd.Series:
    def field(col: str, limit: int | None = None) -> pd.Series:
        s = products[col].astype("object").where(products[col].notna(), "").astype(str)
        return s.str.slice(0, limit) if limit else s

    parts = [field("product_title"), field("product_brand"), field("product_color")]
    parts.append(field("product_bullet_point", BULLET_CHARS))
    frame = pd.concat(parts, axis=1)
    return frame.apply(lambda r: ". ".join(v.strip() for v in r if v.strip()), axis=1).astype(str)


def _queries_qrels(
    ex: pd.DataFrame, mapping: dict[str, float], source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    queries = (
        ex.groupby("query_id", sort=True)["query"]
        .first()
        .reset_index()
        .rename(columns={"query": "text"})
    )
    queries["group"] = "all"
    qrels = pd.DataFrame(
        {
            "query_id": ex["query_id"].to_numpy(),
            "item_id": ex["product_id"].to_numpy(),
            "grade": ex["esci_label"].map(ORDINAL).to_numpy(),
            "gain": ex["esci_label"].map(mapping).to_numpy(dtype=np.float64),
        }
    )
    queries = validate_queries(queries, f"{source} queries")
    qrels = validate_qrels(qrels, f"{source} qrels")
    return queries.reset_index(drop=True), qrels.reset_index(drop=True)


def load_esci(
    path: str | Path,
    *,
    version: str = "small",
    split: str = "test",
    locale: str = "us",
    gains: str | dict[str, float] = "kddcup",
    max_queries: int | None = None,
    retrieval: str = "judged",
    query_split: str = "unseen",
    validation_share: float = 0.15,
    rng: np.random.Generator | None = None,
) -> SearchData:
    """Test queries of ``split`` (and the ``train`` split as training queries) as SearchData.

    ``version``: "small" (task 1, the usual one) or "large" keeps rows whose ``<version>_version``
    flag is 1; ``max_queries`` samples that many test queries (needs ``rng``); ``retrieval`` and
    the training / validation queries are described in the module docstring. ``rng`` (the
    data-side split stream) is required when ``split="test"`` (it carves validation).
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise SchemaError("esci", f"dataset.params.path is not a folder: {str(folder)!r}")
    if version not in ("small", "large"):
        raise ConfigError(f"dataset.params.version must be 'small' or 'large', got {version!r}")
    if split not in ("train", "test"):
        raise ConfigError(f"dataset.params.split must be 'train' or 'test', got {split!r}")
    if retrieval not in RETRIEVAL:
        raise ConfigError(f"dataset.params.retrieval must be one of {RETRIEVAL}, got {retrieval!r}")
    if query_split != "unseen":
        raise ConfigError(
            "dataset.params.query_split: esci supports only 'unseen' (its test queries are not "
            f"in its training split), got {query_split!r}"
        )
    if not isinstance(validation_share, int | float) or not 0.0 < validation_share < 1.0:
        raise ConfigError(
            f"dataset.params.validation_share must be in (0, 1), got {validation_share!r}"
        )
    mapping = gain_mapping(gains)
    ex_path = check_path(Path(folder) / EXAMPLES_FILE, "esci")
    pr_path = check_path(Path(folder) / PRODUCTS_FILE, "esci")
    ex = pd.read_parquet(ex_path)
    pr = pd.read_parquet(pr_path)
    require_columns(ex, str(ex_path), EXAMPLE_COLUMNS)
    require_columns(pr, str(pr_path), PRODUCT_COLUMNS)
    bad = ~ex["esci_label"].isin(list(ORDINAL))
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise SchemaError(
            str(ex_path),
            f"esci_label must be one of E/S/C/I, got {ex['esci_label'].iloc[row]!r}",
            column="esci_label",
            row=row,
        )
    ex = ex[(ex["product_locale"] == locale) & (ex[f"{version}_version"] == 1)]
    pr = pr[pr["product_locale"] == locale].drop_duplicates("product_id")
    for c in ("query_id", "product_id"):
        ex = ex.assign(**{c: ex[c].astype(str)})
    ex = ex.assign(key=[query_key(t) for t in ex["query"]])
    pr = pr.assign(product_id=pr["product_id"].astype(str))
    test_ex = ex[ex["split"] == split]
    train_ex = ex[ex["split"] == "train"] if split == "test" else ex.iloc[0:0]
    require_nonempty(test_ex, f"{ex_path} (locale={locale}, {version}_version=1, split={split})")
    if len(train_ex) and rng is None:
        raise ConfigError("load_esci needs an rng (the data-side split stream) to carve validation")
    n_train_dropped = 0
    if len(train_ex):  # training texts that are test texts are not trained on
        clash = train_ex["key"].isin(set(test_ex["key"]))
        n_train_dropped = int(train_ex.loc[clash, "query_id"].nunique())
        train_ex = train_ex[~clash]
    val_ex = train_ex.iloc[0:0]
    if len(train_ex):
        keys = np.array(sorted(train_ex["key"].unique()))
        n_val = int(round(validation_share * len(keys)))
        val_keys = set(keys[rng.permutation(len(keys))[:n_val]])  # type: ignore[union-attr]
        is_val = train_ex["key"].isin(val_keys)
        val_ex, train_ex = train_ex[is_val], train_ex[~is_val]
    if max_queries is not None:
        ids = np.array(sorted(test_ex["query_id"].unique()))
        if len(ids) > max_queries:
            if rng is None:
                raise ConfigError("max_queries needs an rng to sample queries reproducibly")
            keep = set(ids[np.sort(rng.choice(len(ids), max_queries, replace=False))])
            test_ex = test_ex[test_ex["query_id"].isin(keep)]
    used = set(test_ex["product_id"]) | set(train_ex["product_id"]) | set(val_ex["product_id"])
    pr = pr[pr["product_id"].isin(used)].sort_values("product_id", kind="stable")
    missing = sorted(set(test_ex["product_id"]) - set(pr["product_id"]))
    if missing:
        raise SchemaError(
            str(pr_path),
            f"product_id {missing[0]!r} of the examples is not in the products file",
            column="product_id",
        )
    text = _text(pr)
    catalog = validate_catalog(
        pd.DataFrame(
            {
                "item_id": pr["product_id"].to_numpy(),
                "title": pr["product_title"].fillna("").astype(str).to_numpy(),
                "text": text.to_numpy(),
                "brand": pr["product_brand"].to_numpy(),
                "manufacturer": pr["product_brand"].to_numpy(),
            }
        ),
        str(pr_path),
    ).reset_index(drop=True)
    judged_only = retrieval == "judged"
    q, r = _queries_qrels(test_ex, mapping, f"{ex_path} split={split}")
    tq, tr, validation = None, None, None
    if len(train_ex):
        tq, tr = _queries_qrels(train_ex, mapping, f"{ex_path} split=train")
        tq["fold"] = "train"
        if len(val_ex):
            vq, vr = _queries_qrels(val_ex, mapping, f"{ex_path} split=train (validation)")
            validation = SearchData(
                catalog=catalog,
                queries=vq,
                qrels=vr,
                train_queries=tq,
                train_qrels=tr,
                item_popularity=np.zeros(len(catalog)),
                info={"n_validation_queries": len(vq), "n_train_queries": len(tq)},
                judged_only=judged_only,
            )
            vq = vq.assign(fold="validation")
            tq, tr = pd.concat([tq, vq], ignore_index=True), pd.concat([tr, vr], ignore_index=True)
    n_no_rel = int(len(q) - r.loc[r["gain"] > 0, "query_id"].nunique())
    return SearchData(
        catalog=catalog,
        queries=q,
        qrels=r,
        train_queries=tq,
        train_qrels=tr,
        item_popularity=np.zeros(len(catalog)),
        info={
            "n_items": len(catalog),
            "n_test_queries": len(q),
            "n_train_queries": 0 if tq is None else int((tq["fold"] == "train").sum()),
            "n_validation_queries": 0 if validation is None else len(validation.queries),
            "n_train_queries_dropped_as_test_text": n_train_dropped,
            "n_queries_no_relevant": n_no_rel,
            "gains": mapping,
            "version": version,
            "locale": locale,
            "retrieval": retrieval,
            "query_split": query_split,
            "validation_share": validation_share,
        },
        validation=validation,
        judged_only=judged_only,
    )


_NOT_SHIPPED = (
    "esci is not shipped with any installed package: download the two parquet files "
    "(github.com/amazon-science/esci-data) and pass their folder as path= (in a config: "
    "dataset.params.path)"
)


def check_folder(path: str | Path) -> list[str]:
    """Problems of an ESCI folder without loading it: the files, and their columns (read from
    the parquet schemas only)."""
    import pyarrow.parquet as pq

    folder = Path(path).expanduser()
    if not folder.is_dir():
        return [f"dataset.params.path: not a folder: {str(folder)!r} ({_NOT_SHIPPED})"]
    errors = []
    for name, columns in ((EXAMPLES_FILE, EXAMPLE_COLUMNS), (PRODUCTS_FILE, PRODUCT_COLUMNS)):
        file = folder / name
        if not file.is_file():
            errors.append(f"dataset.params.path: {str(folder)!r} has no {name}")
            continue
        try:
            present = set(pq.read_schema(file).names)
        except Exception as err:  # noqa: BLE001 - any unreadable file is a data error
            errors.append(f"dataset esci: {file} is not a readable parquet file: {err}")
            continue
        missing = [c for c in columns if c not in present]
        if missing:
            errors.append(f"dataset esci: {file} lacks column(s) {missing}")
    return errors


def load(table: str = "examples", path: str | Path | None = None) -> pd.DataFrame:
    """Registry entry: the raw ``examples`` or ``products`` table of the folder ``path``."""
    from skewbench.data.sources import unknown_table

    if table not in ("examples", "products"):
        raise unknown_table("esci", table, ("examples", "products"))
    if path is None:
        raise ConfigError(_NOT_SHIPPED)
    problems = check_folder(path)
    if problems:
        raise ConfigError("; ".join(problems))
    return pd.read_parquet(
        Path(path).expanduser() / (EXAMPLES_FILE if table == "examples" else PRODUCTS_FILE)
    )
