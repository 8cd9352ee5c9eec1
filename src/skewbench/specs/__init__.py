"""One typed spec per component (data set, model, treatment, task options) of every task.

``REGISTRY`` holds an :class:`Entry` per (kind, task, name); :func:`cell_errors` checks a cell
against it (all problems at once); :func:`describe` and :func:`component_tables` render the
specs for ``skewbench describe`` / ``skewbench components`` and docs/components.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from skewbench.specs import categorize, recommend, search
from skewbench.specs.base import Entry, Spec, defaults, fields, names, param_errors, suggest
from skewbench.specs.render import (
    component_tables,
    components_text,
    describe,
    page_with_component_tables,
)
from skewbench.specs.validate import ConfigErrors, cell_errors, dataset_errors, raise_errors

TASKS = ("categorize", "recommend", "search")
REGISTRY: tuple[Entry, ...] = (*categorize.ENTRIES, *recommend.ENTRIES, *search.ENTRIES)


def find(kind: str, task: str, name: str) -> Entry | None:
    """The entry of ``name`` among ``task``'s components of ``kind``, or None."""
    for e in REGISTRY:
        if e.kind == kind and e.task == task and e.name == name:
            return e
    return None


def resolve(kind: str, task: str, name: str, params: Mapping[str, Any]) -> Spec:
    """The component's spec instance: its parameters typed, every default filled in from the
    spec (the one place that declares them). The cell was checked before; KeyError for a
    component no spec declares."""
    entry = find(kind, task, name)
    if entry is None:
        raise KeyError(f"no {task} {kind} {name!r} in the specs")
    return entry.spec.model_validate(dict(params))


def entries(kind: str | None = None, task: str | None = None) -> list[Entry]:
    """Registered entries, filtered by kind and task, in registration order."""
    return [
        e for e in REGISTRY if (kind is None or e.kind == kind) and (task is None or e.task == task)
    ]


def names_of(kind: str, task: str) -> list[str]:
    return [e.name for e in entries(kind, task)]


def treatments_for(entry: Entry) -> tuple[str, ...]:
    """The treatments a model accepts (every treatment of its task unless it says otherwise)."""
    return (
        entry.treatments
        if entry.treatments is not None
        else tuple(names_of("treatment", entry.task))
    )


__all__ = [
    "REGISTRY",
    "TASKS",
    "ConfigErrors",
    "Entry",
    "Spec",
    "cell_errors",
    "component_tables",
    "components_text",
    "dataset_errors",
    "defaults",
    "describe",
    "entries",
    "fields",
    "find",
    "names",
    "names_of",
    "param_errors",
    "raise_errors",
    "resolve",
    "page_with_component_tables",
    "suggest",
    "treatments_for",
]
