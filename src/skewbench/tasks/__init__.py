"""Tasks: categorize, recommend, search. Each is a module with the same small interface.

A task module defines
- ``MODELS`` and ``TREATMENTS``: the names it accepts (for error messages and ``skewbench list``);
- ``check(cell) -> None``: raise ``ConfigError``/``IncompatibleError`` for a cell that cannot run
  (unknown name, bad parameter, a model × treatment pair that cannot apply), before any work;
- ``prepare(cells) -> None`` (optional): one-off work shared by many cells, run once in the parent
  process before the pool starts (e.g. encode a catalog into the embedding cache);
- ``run(cell) -> CellResult``: the cell itself, a pure function of the cell.
"""

from __future__ import annotations

from skewbench.runner.tasks import TASKS, get_task

__all__ = ["TASKS", "get_task"]
