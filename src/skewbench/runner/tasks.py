"""Task lookup by name, the interface every task module implements, and what a task's report
shows. Task modules are resolved by their dotted path at run time, so the runner (and the
report) depend on this interface, never on a task module.

Adding a task: write a module (or package) that satisfies :class:`Task` — its names, ``check``,
``prepare``, ``run`` and its ``REPORT`` layout — and add its dotted path to :data:`TASKS`. The
report builder finds the layout through :func:`report_spec`; nothing in ``skewbench.report``
names a task.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from skewbench.errors import ConfigError

if TYPE_CHECKING:
    from skewbench.runner.cell import Cell, CellResult

TASKS: dict[str, str] = {
    "categorize": "skewbench.tasks.categorize",
    "recommend": "skewbench.tasks.recommend",
    "search": "skewbench.tasks.search",
}


@dataclass(frozen=True)
class TaskReport:
    """Report layout of one task. Metrics absent from a run are left out, never invented."""

    primary: str  # the metric tested for significance against the base treatment
    columns: list[str]  # leaderboard columns, in order
    unit_metric: str | None = None  # per-unit column used for paired tests
    # (accuracy metric, exposure metric) pairs, one Pareto plot each
    tradeoff: list[tuple[str, str]] = field(default_factory=list)
    # per-unit exposure metric whose change is reported beside the primary one
    unit_exposure: str | None = None
    vs_imbalance: list[str] = field(default_factory=list)  # metrics plotted against imbalance
    # (base model, model-name prefixes): paired tests of those models against the base, e.g.
    # "does fine-tuning beat the frozen encoder?" (held-out only if the data's info says so)
    model_contrast: tuple[str, tuple[str, ...]] | None = None
    # facts from each cell's ``info`` shown per model (mean over cells), with their meaning
    info_facts: dict[str, str] = field(default_factory=dict)
    # what the imbalance axis is (None: the task has no imbalance setting), and the info keys
    # of the training size and of the imbalance actually reached
    imbalance_name: str | None = None
    size_fact: str = "n_train"
    achieved_fact: str | None = None


@runtime_checkable
class Task(Protocol):
    """What a task module provides.

    - ``MODELS``, ``TREATMENTS``: the names it accepts (error messages, listings; its data
      sets and every parameter are declared in :mod:`skewbench.specs`);
    - ``REPORT``: its report layout;
    - ``check(cell)``: raise ``ConfigError``/``IncompatibleError`` for a cell that cannot run
      (unknown name, bad parameter, a model × treatment pair that cannot apply), before any work;
    - ``prepare(cells)``: one-off work shared by many cells, run once in the parent process
      before the workers start (load a data set, encode a catalog into the embedding cache);
    - ``run(cell) -> CellResult``: the cell itself, a pure function of the cell.

    Optional flags: ``TUNABLE`` (models may carry ``tune:``), ``SIZE_MATCHED_SWEEPS`` (the grid
    passes a sweep's levels as ``options["imbalance_levels"]``).
    """

    MODELS: tuple[str, ...]
    TREATMENTS: tuple[str, ...]
    REPORT: TaskReport

    def check(self, cell: Cell) -> None: ...

    def prepare(self, cells: Iterable[Cell]) -> None: ...

    def run(self, cell: Cell) -> CellResult: ...


def get_task(name: str) -> ModuleType:
    """Import the module of task ``name``."""
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; choose one of {sorted(TASKS)}")
    return importlib.import_module(TASKS[name])


def report_spec(name: str) -> TaskReport:
    """The report layout task ``name`` declares."""
    return get_task(name).REPORT
