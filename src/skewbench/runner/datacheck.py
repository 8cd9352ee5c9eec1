"""Checks that need the data loaded, run once per data set before any cell (``check_data``).

Categorize: after the rare classes are dropped, at least two classes must remain, each with
enough examples for the train/validation/test split; the message lists the class counts.
"""

from __future__ import annotations

from collections.abc import Callable

from skewbench.errors import ConfigError
from skewbench.runner.cell import Cell


def _counts_text(counts: dict[str, int], limit: int = 8) -> str:
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{k!r}: {v}" for k, v in items[:limit])
    more = f", … {len(items) - limit} more" if len(items) > limit else ""
    return "{" + shown + more + "}"


def check_categorize(cells: list[Cell]) -> None:
    """Refuse a data set with fewer than two usable classes, naming the class counts."""
    from skewbench.data.sources import load
    from skewbench.runner.tasks import get_task

    categorize = get_task("categorize")  # resolved by name: the runner imports no task module

    seen: set[str] = set()
    for cell in cells:
        ds = cell.dataset
        if ds.label in seen:
            continue
        seen.add(ds.label)
        df, _, label = categorize.load_dataset(ds)
        kept = df[label].astype(str).value_counts()
        mcc = int(ds.params.get("min_class_count", categorize.DEFAULT_MIN_CLASS_COUNT))
        if kept.size >= 2:
            continue
        params = {k: v for k, v in ds.params.items() if k not in ("min_class_count", "group")}
        params.setdefault("label", label)
        raw = load(ds.name, **params)[label].astype(str).value_counts()
        where = ds.params.get("path", ds.name)
        if raw.size < 2:
            raise ConfigError(
                f"dataset {where}: column {label!r} has {raw.size} class "
                f"{_counts_text(raw.to_dict())}; classification needs at least two classes: "
                "choose another label column (dataset.params.label)"
            )
        raise ConfigError(
            f"dataset {where}: only {kept.size} of {raw.size} classes in column {label!r} "
            f"have at least min_class_count={mcc} examples (counts: "
            f"{_counts_text(raw.to_dict())}); classification needs two: lower "
            "dataset.params.min_class_count (>= 3) or add examples"
        )


CHECKS: dict[str, Callable[[list[Cell]], None]] = {"categorize": check_categorize}
