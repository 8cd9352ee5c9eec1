"""Expansion of a validated config into cells, each checked by its task before any work.

Every problem of every cell (and of user-supplied data files) is collected, de-duplicated and
raised together, so one ``validate`` run shows them all."""

from __future__ import annotations

import itertools
from typing import Any

from skewbench.errors import ConfigError, SchemaError
from skewbench.runner.cell import Cell, Component
from skewbench.runner.config import MAX_CELLS, Experiment, RunConfig
from skewbench.runner.tasks import get_task
from skewbench.specs import dataset_errors
from skewbench.specs.validate import check_cell
from skewbench.tuning import TuneSettings


def _tune_request(spec_tune: Any, settings: TuneSettings | None) -> dict[str, Any] | None:
    """The cell's ``tune`` record: the space as written plus the experiment's settings."""
    if spec_tune is None:
        return None
    s = settings or TuneSettings()
    return {
        "space": spec_tune,
        "method": s.method,
        "trials": s.trials,
        "metric": s.metric,
        "refit": s.refit,
    }


def _conditions(exp: Experiment) -> list[tuple[float | None, str | None]]:
    """(imbalance, control) pairs: each level, then its matched uniform control if asked."""
    out: list[tuple[float | None, str | None]] = []
    for imb in exp.imbalance:
        out.append((imb, None))
        if imb is not None and exp.controls():
            out.append((imb, "uniform"))
    return out


def with_fingerprints(
    task: str, dataset: Component, *, strict: bool = True, kind: str = "dataset"
) -> Component:
    """``dataset`` (or a component of another ``kind``: a model reading a run file) with the
    content fingerprint of each user file or folder it reads (its
    :class:`~skewbench.specs.base.DataPath` fields); bundled data sets are returned as is.

    A file that cannot be read raises ConfigError when ``strict``; otherwise (``expand`` with
    checks, which report it with the data set's other problems) and for malformed parameters
    (reported by the spec check) the data set is returned unchanged."""
    from dataclasses import replace

    from skewbench.data.fingerprint import file_fingerprint, folder_fingerprint
    from skewbench.specs import find
    from skewbench.specs.base import data_files

    entry = find(kind, task, dataset.name)
    if entry is None:
        return dataset
    files = []
    try:
        for path, marker in data_files(entry.spec, dataset.params):
            if marker.folder:
                files.append((path, folder_fingerprint(path, marker.files)))
            else:
                files.append((path, file_fingerprint(path)))
    except (ConfigError, SchemaError):
        if strict:
            raise
        return dataset
    except (TypeError, AttributeError, ValueError):
        return dataset
    return replace(dataset, files=tuple(files)) if files else dataset


def expand(config: RunConfig, *, check: bool = True) -> list[Cell]:
    """All cells of the grid, in a stable order, duplicates (same key) dropped.

    Order groups cells by (task, dataset, imbalance, control, seed) so that a worker's
    in-process data caches are reused by consecutive cells. A recommend imbalance sweep gets,
    beside each target level, a matched uniform control (``Cell.control == "uniform"``) unless
    the experiment sets ``uniform_control: false``. A task that holds the training size fixed
    across a sweep (``SIZE_MATCHED_SWEEPS = True``) gets the sweep's levels in
    ``options["imbalance_levels"]``.
    """
    if (n := config.size()) > MAX_CELLS:  # a config built in Python skips parse_config
        raise ConfigError(f"the grid has {n:,} cells; at most {MAX_CELLS:,}")
    cells: list[Cell] = []
    problems: dict[str, None] = {}  # every problem of every cell, once, in order
    for i, exp in enumerate(config.experiments):
        task_module = get_task(exp.task)
        task = task_module if check else None
        options = dict(exp.options)
        if getattr(task_module, "SIZE_MATCHED_SWEEPS", False) and any(
            v is not None for v in exp.imbalance
        ):
            # The task holds the training size fixed across the sweep's levels, so each cell
            # must know its siblings.
            if "imbalance_levels" in options:
                raise ConfigError(
                    f"experiments.{i}.options.imbalance_levels: set from the experiment's "
                    "target_gini list; do not write it"
                )
            options["imbalance_levels"] = list(exp.imbalance)
        datasets = [c for spec in exp.datasets for c in spec.expand()]
        datasets = [with_fingerprints(exp.task, d, strict=not check) for d in datasets]
        models: list[tuple[Component, dict[str, Any] | None]] = [
            (
                with_fingerprints(exp.task, c, strict=not check, kind="model"),
                _tune_request(spec.tune, exp.tune),
            )
            for spec in exp.models
            for c in spec.expand()
        ]
        treatments = [c for spec in exp.treatments for c in spec.expand()]
        checked: set[tuple[Any, ...]] = set()
        bad_datasets: set[str] = set()  # parameter problems: their files are not opened
        where = f"experiments.{i} ({exp.task})"
        for (di, dataset), (ci, (imb, control)), seed, (mi, (model, tune)), (
            ti,
            treatment,
        ) in itertools.product(
            enumerate(datasets),
            enumerate(_conditions(exp)),
            config.seeds,
            enumerate(models),
            enumerate(treatments),
        ):
            cell = Cell(
                task=exp.task,
                dataset=dataset,
                model=model,
                treatment=treatment,
                imbalance=imb,
                seed=seed,
                master_seed=config.seed,
                options=dict(options),
                tune=tune,
                control=control,
            )
            # One check per combination, before any key is hashed; the replicate index matters
            # only where an imbalance level is drawn (its reachability depends on the
            # replicate's split and draws); the specs alone depend on the components only.
            combo = (di, ci, seed if imb is not None else None, mi, ti) if task else (di, mi, ti)
            if combo not in checked:
                checked.add(combo)
                lines = _cell_problems(task, cell)
                for line in lines:
                    problems.setdefault(f"{where}: {line}", None)
                if any(line.startswith("dataset") for line in lines):
                    bad_datasets.add(dataset.label)
            cells.append(cell)
        if check:
            for dataset in datasets:  # the files of user-supplied data sets, opened once
                if dataset.label in bad_datasets:
                    continue
                for line in dataset_errors(exp.task, dataset):
                    problems.setdefault(f"{where}: {line}", None)
    if problems:
        lines = list(problems)
        if len(lines) == 1:
            raise ConfigError(lines[0])
        raise ConfigError(f"{len(lines)} problems:\n  - " + "\n  - ".join(lines))
    unique: dict[str, Cell] = {}
    for cell in cells:  # keys only now: every parameter has been checked
        unique.setdefault(cell.key, cell)
    return list(unique.values())


def _cell_problems(task: Any, cell: Cell) -> list[str]:
    """Every problem of ``cell``: its task's own check, or (``task`` None) its specs only."""
    lines = []
    if task is not None and cell.tune is not None and not getattr(task, "TUNABLE", False):
        lines.append(f"model.tune: task {cell.task} does not tune models")
    try:
        if task is not None:
            task.check(cell)
        else:
            check_cell(cell)
    except ConfigError as err:
        lines += getattr(err, "errors", None) or [str(err)]
    return lines


def check_data(cells: list[Cell]) -> None:
    """Checks that need the data loaded (class counts …), once per data set, before any cell
    runs: :mod:`skewbench.runner.datacheck`, then a task's own ``check_data(cells)`` if any."""
    from skewbench.runner.datacheck import CHECKS

    by_task: dict[str, list[Cell]] = {}
    for cell in cells:
        by_task.setdefault(cell.task, []).append(cell)
    for name, task_cells in by_task.items():
        if name in CHECKS:
            CHECKS[name](task_cells)
        hook = getattr(get_task(name), "check_data", None)
        if hook is not None:
            hook(task_cells)
