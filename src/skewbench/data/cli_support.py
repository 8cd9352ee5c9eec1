"""Text for the ``skewbench datasets`` and ``skewbench profile`` commands."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pandas as pd

from skewbench.data.imbalance import GroupRule, plot_lorenz, profile
from skewbench.data.sources import get_info, list_datasets, load, loader_params
from skewbench.errors import ConfigError


def datasets_table() -> str:
    """Markdown table of the registered data sets."""
    lines = [
        "| name | tasks | tables | size | licence | description |",
        "|---|---|---|---|---|---|",
    ]
    for d in list_datasets():
        size = ", ".join(f"{k} {v:,}" for k, v in d.sizes.items()) or "—"
        lines.append(
            f"| {d.name} | {', '.join(d.tasks)} | {', '.join(d.tables)} | {size} | {d.licence} "
            f"| {d.description} |"
        )
    return "\n".join(lines)


#: groupings ``profile --by`` knows besides plain columns (recommend and search data)
GROUPINGS = {
    "popularity": "the item (its share of interactions)",
    "brand": "the item's brand",
    "manufacturer": "the item's manufacturer",
    "category": "the first level of the item's category path",
    "price": "the item's price quartile band (over the items that occur)",
}


def profile_rows(
    name: str, params: dict[str, Any], by: str | None, table: str = ""
) -> tuple[pd.Series, str, str]:
    """(one label per row, what a row is, the grouping) for ``profile``.

    Interaction data (recommend sources): a row is an interaction; search data (``queries`` +
    ``qrels``): a judgment with grade > 0; any other table (``table=`` of a bundled source,
    labelled texts): a row of it. ``by`` is a column of the rows or of their items' catalog, or
    one of :data:`GROUPINGS`; default: the item (popularity), or the label of labelled texts.
    """
    from skewbench.data import groups as G
    from skewbench.data.sources import recommend_frames
    from skewbench.data.sources import table as table_source

    catalog: pd.DataFrame | None = None
    if table:
        rows, what = load(name, table=table, **params), f"a row of {name}:{table}"
    elif "qrels" in params:
        data = table_source.search_data(params)
        rows, catalog, what = (
            data.qrels[data.qrels["grade"] > 0],
            data.catalog,
            "a relevant judgment",
        )
    elif "recommend" in get_info(name).tasks and "kind" not in params:
        frames = recommend_frames(name, params)
        rows, catalog, what = frames.interactions, frames.catalog, "an interaction"
    else:
        rows, what = load(name, **loader_params(name, params)), f"a row of {name}"
        by = by or params.get("label")
    if by is None:
        by = "popularity" if catalog is not None else ""
    if by in rows.columns:
        return rows[by], what, by
    if catalog is not None and by in (*GROUPINGS, *catalog.columns):
        items = catalog.drop_duplicates("item_id").set_index("item_id")
        items = items.reindex(pd.Index(rows["item_id"].unique()))
        if by == "popularity":
            labels = pd.Series(items.index, index=items.index)
        elif by == "price":  # an item without a price has no band: left out, counted
            bands = pd.Series(G.price_bands(items["price"].to_numpy(), 4), index=items.index)
            labels = bands.mask(bands == G.UNKNOWN)
        elif by == "category":
            path = items["category_path"].fillna(items["category"])
            first = path.str.split(" > ", regex=False).str[0] if path.notna().any() else path
            labels = first
        else:
            labels = items[by]
        return labels.reindex(rows["item_id"]).reset_index(drop=True), what, by
    columns = list(map(str, rows.columns)) + (list(catalog.columns) if catalog is not None else [])
    known = list(GROUPINGS) if catalog is not None else []
    raise ConfigError(
        f"profile: no grouping {by!r} in {name}; use a column ({sorted(set(columns))})"
        + (f" or one of {known}" if known else "")
    )


def profile_command(
    name: str,
    by: str | None,
    output: str | Path,
    rule: GroupRule = "share",
    params: dict[str, Any] | None = None,
    head: float = 0.5,
    tail: float = 0.2,
) -> str:
    """Profile data set ``name`` (``"name:table"`` picks a bundled table, e.g.
    ``completejourney:products``; ``params`` are its data-set parameters) by ``by``
    (:func:`profile_rows`), write the Lorenz PNG and the per-group counts (CSV) into the
    folder ``output``, and return the text."""
    dataset, _, table = name.partition(":")
    params = dict(params or {})
    if dataset == "table" and not params:
        raise ConfigError(
            "profile: the 'table' source needs its files: give a config, or --param path=… "
            "(labelled texts) / --param interactions=…"
        )
    labels, what, by = profile_rows(dataset, params, by, table)
    n_missing = int(labels.isna().sum())
    if n_missing == len(labels):
        raise ConfigError(f"profile: {name} has no {by} values (every row misses it)")
    prof = profile(labels.dropna().astype(str), kind="labels", rule=rule, head=head, tail=tail)
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"profile_{_slug(name)}_{_slug(by)}"
    if params:  # the same name with other files or settings: its own outputs
        stem += "_" + hashlib.sha256(repr(sorted(params.items())).encode()).hexdigest()[:8]
    png = plot_lorenz(prof.counts, folder / f"{stem}.png", title=f"{name}: {by}")
    table_out = pd.DataFrame({by: prof.classes, "count": prof.counts, "group": prof.groups})
    table_out.to_csv(folder / f"{stem}.csv", index=False)
    lines = [f"## {name}: {by} (one row = {what})", ""]
    if n_missing:
        lines.append(f"({n_missing:,} rows with missing {by} left out)")
    lines += [prof.to_text(), "", f"written: {png} and {png.with_suffix('.csv')}"]
    return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:40]
