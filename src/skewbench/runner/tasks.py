"""Task lookup by name. Task modules are resolved by their dotted path at run time, so the
runner depends on the task interface (see :mod:`skewbench.tasks`), never on a task module."""

from __future__ import annotations

import importlib
from types import ModuleType

from skewbench.errors import ConfigError

TASKS: dict[str, str] = {
    "categorize": "skewbench.tasks.categorize",
    "recommend": "skewbench.tasks.recommend",
    "search": "skewbench.tasks.search",
}


def get_task(name: str) -> ModuleType:
    """Import the module of task ``name``."""
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; choose one of {sorted(TASKS)}")
    return importlib.import_module(TASKS[name])
