"""The user's own CSV/Parquet files, mapped onto skewbench's schemas and validated.

One file (``load``; categorize reads labelled texts this way)::

    {name: table, path: data/reviews.csv, label: category, text: review}

Recommend: an interactions file plus an optional catalog and user-attributes file
(``recommend_frames``)::

    {name: table, interactions: {path: data/orders.csv, columns: {user_id: customer}},
     catalog: data/items.csv, users: data/customers.csv}

Search: queries, graded judgments and a catalog, optionally interactions whose rows per item
are its popularity (``search_data``)::

    {name: table, queries: data/q.csv, qrels: data/judgments.csv, catalog: data/items.csv,
     interactions: data/orders.csv}

A file is a path or ``{path, columns}``; ``columns`` maps our column → the file's column and
unmapped file columns keep their names. ``check_files`` opens and validates the files of a
config before any work (columns, types, emptiness, duplicate keys).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skewbench.data import schema
from skewbench.data.sources.frames import (
    Frames,
    ids_as_catalog,
    one_per_pair,
    require_covered,
    validate_users,
)
from skewbench.errors import ConfigError, SchemaError

KINDS = ("catalog", "interactions", "queries", "qrels", "labelled_text")
_VALIDATORS = {
    "catalog": schema.validate_catalog,
    "interactions": schema.validate_interactions,
    "queries": schema.validate_queries,
    "qrels": schema.validate_qrels,
}


def apply_mapping(df: pd.DataFrame, columns: dict[str, str] | None, source: str) -> pd.DataFrame:
    """Rename the file's columns to ours; a mapped column missing from the file is an error."""
    if not columns:
        return df
    if not isinstance(columns, dict):
        raise ConfigError(f"dataset table: columns must be a mapping, got {type(columns).__name__}")
    for ours, theirs in columns.items():
        if theirs not in df.columns:
            raise SchemaError(
                source,
                f"column {theirs!r} (mapped to {ours!r}) is not in the file; columns present: "
                f"{list(map(str, df.columns))}",
                column=str(theirs),
            )
    mapped = {ours: df[theirs] for ours, theirs in columns.items()}
    rest = {c: df[c] for c in df.columns if c not in columns.values() and c not in mapped}
    return pd.DataFrame({**mapped, **rest}, index=df.index)


def load(
    path: str | Path,
    kind: str = "catalog",
    columns: dict[str, str] | None = None,
    label: str = "label",
    text: str = "text",
    id_column: str | None = None,
) -> pd.DataFrame:
    """Read ``path``, apply ``columns``, validate as ``kind`` (catalog | interactions | queries
    | qrels | labelled_text; the last uses ``label``, ``text``, ``id_column``)."""
    if kind not in KINDS:
        raise ConfigError(f"dataset table: kind {kind!r} unknown; choose one of {KINDS}")
    source = str(path)
    df = apply_mapping(schema.read_table(path, source), columns, source)
    if kind == "labelled_text":
        return schema.validate_labelled_text(df, source, label, text=text, id_column=id_column)
    validate = _VALIDATORS[kind]
    return validate(df, source)


# --------------------------------------------------------------------------------------------
# multi-file data sets (recommend, search)

FILES = {
    "categorize": (),
    "recommend": ("interactions", "catalog"),
    "search": ("queries", "qrels", "catalog"),
}


def freeze(value: Any) -> Any:
    """A hashable form of nested params (dicts → sorted pairs), for in-process caches."""
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


def _file(spec: Any) -> tuple[str, dict[str, str] | None]:
    """(path, columns) of a file parameter: a path, a mapping or its frozen pairs."""
    if isinstance(spec, str | Path):
        return str(spec), None
    d = dict(spec)
    cols = d.get("columns")
    return str(d["path"]), (dict(cols) if cols else None)


def read_file(spec: Any, kind: str) -> pd.DataFrame:
    """Read one file parameter and validate it as ``kind`` (catalog, interactions, …)."""
    path, columns = _file(spec)
    df = apply_mapping(schema.read_table(path, path), columns, path)
    validate = _VALIDATORS[kind]
    return validate(df, path)


def recommend_frames(params: dict[str, Any]) -> Frames:
    """Interactions with one row per (user, item) (weight summed, first timestamp); the catalog
    file (or the interacted ids as titles when there is none); the ``users`` attributes file."""
    inter = one_per_pair(read_file(params["interactions"], "interactions"))
    if params.get("catalog") is None:
        catalog = ids_as_catalog(inter)
    else:
        catalog = read_file(params["catalog"], "catalog")
        require_covered(inter, catalog, _file(params["catalog"])[0])
    users = None
    if params.get("users") is not None:
        path, columns = _file(params["users"])
        users = validate_users(apply_mapping(schema.read_table(path, path), columns, path), path)
    return Frames(inter, catalog, users)


def search_popularity(params: dict[str, Any], catalog: pd.DataFrame) -> np.ndarray:
    """Each catalog item's popularity for search: its rows in the ``interactions`` file when one
    is given (the popularity priors and the popularity grouping read it), else the catalog's
    ``popularity`` column, else 0 for every item."""
    from skewbench.data.groups import item_popularity

    if params.get("interactions") is not None:
        inter = read_file(params["interactions"], "interactions")
        return item_popularity(inter, catalog["item_id"].to_numpy())
    if "popularity" in catalog.columns:
        path = _file(params["catalog"])[0]
        values = schema.as_float(catalog, path, "popularity", minimum=0.0)
        return values.to_numpy(dtype=np.float64)
    return np.zeros(len(catalog))


def require_in_catalog(qrels: pd.DataFrame, path: str, catalog: pd.DataFrame, cpath: str) -> None:
    """A judgment's item must be in the catalog: SchemaError naming the first row that is not."""
    unknown = ~qrels["item_id"].isin(catalog["item_id"])
    if unknown.any():
        row = int(np.argmax(unknown.to_numpy()))
        raise SchemaError(
            path,
            f"item_id {qrels['item_id'].iloc[row]!r} is not in the catalog {cpath}",
            column="item_id",
            row=row,
        )


def training_queries(
    params: dict[str, Any], catalog: pd.DataFrame, test: pd.DataFrame
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """(queries, judgments) a model may be fitted on, from the ``train_queries`` and
    ``train_qrels`` files (both or neither); a training query whose text equals a test query's
    (case and spacing ignored) is refused, so no test query is ever trained on."""
    if params.get("train_queries") is None and params.get("train_qrels") is None:
        return None, None
    if params.get("train_queries") is None or params.get("train_qrels") is None:
        raise ConfigError("dataset table: train_queries and train_qrels go together; give both")
    tq = read_file(params["train_queries"], "queries").reset_index(drop=True)
    tr = read_file(params["train_qrels"], "qrels").reset_index(drop=True)
    qpath, rpath = _file(params["train_queries"])[0], _file(params["train_qrels"])[0]

    def norm(texts: pd.Series) -> pd.Series:
        return texts.astype(str).str.lower().str.split().str.join(" ")

    seen = norm(tq["text"]).isin(set(norm(test["text"])))
    if seen.any():
        row = int(np.argmax(seen.to_numpy()))
        raise SchemaError(
            qpath,
            f"training query {tq['text'].iloc[row]!r} is also a test query: a model would be "
            "trained on what it is tested on",
            column="text",
            row=row,
        )
    require_in_catalog(tr, rpath, catalog, _file(params["catalog"])[0])
    tr["gain"] = tr["grade"].astype(np.float64)
    return tq.assign(fold="train"), tr


def search_data(params: dict[str, Any]) -> Any:
    """SearchData from queries + judgments + catalog files, with item popularity from an
    interactions file or a catalog ``popularity`` column (:func:`search_popularity`), and
    training queries when given (:func:`training_queries`)."""
    from skewbench.data.search_data import SearchData

    queries = read_file(params["queries"], "queries").reset_index(drop=True)
    qrels = read_file(params["qrels"], "qrels").reset_index(drop=True)
    catalog = read_file(params["catalog"], "catalog").reset_index(drop=True)
    qpath, cpath = _file(params["qrels"])[0], _file(params["catalog"])[0]
    if "group" not in queries.columns:
        queries["group"] = "all"
    qrels["gain"] = qrels["grade"].astype(np.float64)
    require_in_catalog(qrels, qpath, catalog, cpath)
    judged = queries["query_id"].isin(qrels.loc[qrels["grade"] > 0, "query_id"])
    if not judged.any():
        raise SchemaError(qpath, "no query has a judgment with grade > 0")
    pop = search_popularity(params, catalog)
    train_queries, train_qrels = training_queries(params, catalog, queries)
    return SearchData(
        catalog=catalog,
        queries=queries,
        qrels=qrels,
        train_queries=train_queries,
        train_qrels=train_qrels,
        item_popularity=pop,
        info={
            "source": "table",
            "n_items": len(catalog),
            "n_test_queries": len(queries),
            "n_queries_without_relevant": int((~judged).sum()),
            "n_train_queries_given": 0 if train_queries is None else len(train_queries),
            "query_split": "unseen",
        },
    )


def check_files(task: str, params: dict[str, Any]) -> list[str]:
    """Open and validate a ``table`` data set's files before any work; one message per bad
    file (missing file or column, wrong type, empty table, duplicate key), none if all is well
    or the params themselves are invalid (those are reported by the spec)."""
    errors = []
    try:
        if task == "categorize":
            p = {k: v for k, v in params.items() if k not in ("min_class_count", "group")}
            p.setdefault("kind", "labelled_text")
            df = load(**p)
            group = params.get("group")
            if group is not None and group not in df.columns:
                errors.append(
                    f"dataset.params.group: {p['path']} has no column {group!r} "
                    f"(columns: {list(map(str, df.columns))})"
                )
        elif task == "recommend":
            recommend_frames(params)
        elif task == "search":
            search_data(params)
    except (SchemaError, ConfigError) as err:
        errors.append(f"dataset table: {err}")
    except (KeyError, TypeError):
        pass  # malformed params: the spec already reported them
    return errors
