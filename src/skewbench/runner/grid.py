"""Expansion of a validated config into cells, each checked by its task before any work.

Every problem of every cell (and of user-supplied data files) is collected, de-duplicated and
raised together, so one ``validate`` run shows them all."""

from __future__ import annotations

import itertools

from skewbench.errors import ConfigError
from skewbench.runner.cell import Cell
from skewbench.runner.config import RunConfig
from skewbench.specs import dataset_errors
from skewbench.tasks import get_task


def expand(config: RunConfig, *, check: bool = True) -> list[Cell]:
    """All cells of the grid, in a stable order, duplicates (same key) dropped.

    Order groups cells by (task, dataset, imbalance, seed) so that a worker's in-process data
    caches are reused by consecutive cells.
    """
    cells: list[Cell] = []
    seen: set[str] = set()
    problems: dict[str, None] = {}  # every problem of every cell, once, in order
    for i, exp in enumerate(config.experiments):
        task = get_task(exp.task) if check else None
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
                options=dict(exp.options),
            )
            combo = (dataset.label, model.label, treatment.label, imb)
            if task is not None and combo not in checked:
                checked.add(combo)
                try:
                    task.check(cell)
                except ConfigError as err:
                    for line in getattr(err, "errors", None) or [str(err)]:
                        problems.setdefault(f"experiments.{i} ({exp.task}): {line}", None)
            if cell.key not in seen:
                seen.add(cell.key)
                cells.append(cell)
        if check:
            for dataset in datasets:  # the files of user-supplied data sets, opened once
                for line in dataset_errors(exp.task, dataset):
                    problems.setdefault(f"experiments.{i} ({exp.task}): {line}", None)
    if problems:
        lines = list(problems)
        if len(lines) == 1:
            raise ConfigError(lines[0])
        raise ConfigError(f"{len(lines)} problems:\n  - " + "\n  - ".join(lines))
    return cells
