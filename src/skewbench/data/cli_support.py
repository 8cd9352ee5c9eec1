"""Text for the ``skewbench datasets`` and ``skewbench profile`` commands."""

from __future__ import annotations

from pathlib import Path

from skewbench.data.imbalance import GroupRule, plot_lorenz, profile
from skewbench.data.sources import get_info, list_datasets, load
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


def profile_command(
    name: str,
    label: str,
    out_png: str | Path,
    rule: GroupRule = "share",
    head: float = 0.5,
    tail: float = 0.2,
) -> str:
    """Load data set ``name`` (``"name:table"`` picks a table, e.g.
    ``completejourney:products``), profile column ``label`` (one row = one example; e.g.
    ``item_id`` on interactions profiles item popularity), write the Lorenz PNG, return the text.
    """
    dataset, _, table = name.partition(":")
    info = get_info(dataset)
    params = {"table": table} if table else {}
    if dataset == "table":
        raise ConfigError("profile: the 'table' source needs path/kind parameters; use a config")
    df = load(dataset, **params)
    if label not in df.columns:
        raise ConfigError(
            f"profile: column {label!r} not in {name} (table {table or info.tables[0]}); "
            f"columns: {list(map(str, df.columns))}"
        )
    n_missing = int(df[label].isna().sum())
    prof = profile(df[label].dropna(), kind="labels", rule=rule, head=head, tail=tail)
    png = plot_lorenz(prof.counts, out_png, title=f"{name}: {label}")
    lines = [f"## {name}: {label}", ""]
    if n_missing:
        lines.append(f"({n_missing:,} rows with missing {label} left out)")
    lines += [prof.to_text(), "", f"Lorenz curve written to {png}"]
    return "\n".join(lines)
