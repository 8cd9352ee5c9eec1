"""What the report shows for each task: the layout each task module declares as ``REPORT``
(:class:`~skewbench.runner.tasks.TaskReport`), looked up by task name."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from skewbench.runner.tasks import TASKS, TaskReport, report_spec

__all__ = ["REPORTS", "TaskReport"]


class _Reports(Mapping[str, TaskReport]):
    """Task name → its declared :class:`TaskReport`, imported on first use."""

    def __getitem__(self, task: str) -> TaskReport:
        if task not in TASKS:
            raise KeyError(task)
        return report_spec(task)

    def __iter__(self) -> Iterator[str]:
        return iter(TASKS)

    def __len__(self) -> int:
        return len(TASKS)


REPORTS: Mapping[str, TaskReport] = _Reports()
