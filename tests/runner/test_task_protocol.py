"""Every task implements the task protocol, and the report finds a task's layout by name."""

from __future__ import annotations

import sys
import types

import pytest

from skewbench.report.spec import REPORTS
from skewbench.runner import tasks as registry
from skewbench.runner.cell import CellResult
from skewbench.runner.tasks import TASKS, Task, TaskReport, get_task


@pytest.mark.parametrize("name", sorted(TASKS))
def test_each_task_implements_the_protocol(name):
    task = get_task(name)
    assert isinstance(task, Task)
    assert REPORTS[name] is task.REPORT
    assert REPORTS[name].primary in REPORTS[name].columns


def test_layouts_are_the_ones_the_report_used():
    assert REPORTS["categorize"].primary == "balanced_accuracy"
    assert REPORTS["recommend"].tradeoff == [
        ("ndcg@10", "exposure_gini"),
        ("ndcg@10", "non_head_share"),
    ]
    assert REPORTS["search"].model_contrast == ("dense", ("finetuned", "cross_encoder"))
    assert REPORTS.get("nope") is None and sorted(REPORTS) == sorted(TASKS)


def test_a_new_task_needs_no_report_edit(monkeypatch):
    """A module with the protocol's names, registered by dotted path, is a task the report
    builder can lay out — nothing in skewbench.report names it."""
    mod = types.ModuleType("skewbench_toy_task")
    mod.MODELS, mod.TREATMENTS = ("echo",), ("none",)
    mod.REPORT = TaskReport(primary="hit", columns=["hit"])
    mod.check = lambda cell: None
    mod.prepare = lambda cells: None
    mod.run = lambda cell: CellResult(metrics={"hit": 1.0}, units=None)
    monkeypatch.setitem(sys.modules, "skewbench_toy_task", mod)
    monkeypatch.setitem(registry.TASKS, "toy", "skewbench_toy_task")
    assert isinstance(get_task("toy"), Task)
    assert REPORTS["toy"].primary == "hit" and "toy" in list(REPORTS)
    broken = types.ModuleType("skewbench_broken_task")
    broken.run = mod.run
    monkeypatch.setitem(sys.modules, "skewbench_broken_task", broken)
    monkeypatch.setitem(registry.TASKS, "broken", "skewbench_broken_task")
    assert not isinstance(get_task("broken"), Task)
