"""Tasks: categorize, recommend, search. Each is a module (or package) implementing
:class:`skewbench.runner.tasks.Task`: ``MODELS``, ``TREATMENTS``, ``REPORT`` (its report layout),
``check(cell)``, ``prepare(cells)`` and ``run(cell) -> CellResult``. Recommend and search run
their cells through the shared :mod:`skewbench.pipeline`.
"""

from __future__ import annotations

from skewbench.runner.tasks import TASKS, Task, get_task

__all__ = ["TASKS", "Task", "get_task"]
