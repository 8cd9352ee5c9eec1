"""Expansion of a validated config into cells, each checked by its task before any work."""

from __future__ import annotations

import itertools

from skewbench.errors import ConfigError
from skewbench.runner.cell import Cell
from skewbench.runner.config import RunConfig
from skewbench.tasks import get_task


def expand(config: RunConfig, *, check: bool = True) -> list[Cell]:
    """All cells of the grid, in a stable order, duplicates (same key) dropped.

    Order groups cells by (task, dataset, imbalance, seed) so that a worker's in-process data
    caches are reused by consecutive cells. A task module may define ``sweep_options(levels)``:
    options every cell of an experiment gets from its whole imbalance list (e.g. categorize's
    fixed training size, which depends on every level of the sweep).
    """
    cells: list[Cell] = []
    seen: set[str] = set()
    for i, exp in enumerate(config.experiments):
        task = get_task(exp.task) if check else None
        hook = getattr(get_task(exp.task), "sweep_options", None)
        extra = hook(list(exp.imbalance)) if hook is not None else {}
        clash = sorted(set(extra) & set(exp.options))
        if clash:
            raise ConfigError(
                f"experiments.{i}.options.{clash[0]}: set from the experiment's imbalance "
                f"list; remove it from options"
            )
        datasets = [c for spec in exp.datasets for c in spec.expand()]
        models = [c for spec in exp.models for c in spec.expand()]
        treatments = [c for spec in exp.treatments for c in spec.expand()]
        checked: set[tuple[str, str, str, float | None]] = set()
        for dataset, imb, seed, model, treatment in itertools.product(
            datasets, exp.imbalance, config.seeds, models, treatments
        ):
            cell = Cell(
                task=exp.task,
                dataset=dataset,
                model=model,
                treatment=treatment,
                imbalance=imb,
                seed=seed,
                master_seed=config.seed,
                options={**exp.options, **extra},
            )
            combo = (dataset.label, model.label, treatment.label, imb)
            if task is not None and combo not in checked:
                checked.add(combo)
                try:
                    task.check(cell)
                except ConfigError as err:
                    raise ConfigError(
                        f"experiments.{i} ({exp.task}): dataset {dataset.label}, "
                        f"model {model.label}, treatment {treatment.label}: {err}"
                    ) from None
            if cell.key not in seen:
                seen.add(cell.key)
                cells.append(cell)
    return cells
