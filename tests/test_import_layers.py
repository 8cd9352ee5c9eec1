"""No upward import: every ``skewbench`` import (module level or inside a function) points to a
module of the same or a lower layer, read from the source with ``ast``.

Layers, low to high: shared helpers (errors, seeds, vectors …) < metrics < data, encoders,
treatments, tuning < specs < models < runner, pipeline < tasks < explain < report, evaluation
< cli. A task is found by name at run time (``skewbench.runner.tasks``), so the runner never
imports a task module. The facts a task records beside its metrics live in ``pipeline.facts``,
below the tasks; ``explain`` (rebuilding lists for the CLI and the report) sits above them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "skewbench"

LAYERS: dict[str, int] = {
    "skewbench": 0,  # errors, seeds, vectors, lazy, progress, doc_sections, integrity, prefetch …
    "skewbench.metrics": 1,
    "skewbench.data": 2,
    "skewbench.encoders": 2,
    "skewbench.treatments": 2,
    "skewbench.tuning": 2,
    "skewbench.tuning_memo": 2,
    "skewbench.specs": 3,
    "skewbench.models": 4,
    "skewbench.runner": 5,
    "skewbench.pipeline": 5,
    "skewbench.tasks": 6,
    "skewbench.explain": 7,
    "skewbench.report": 8,
    "skewbench.evaluation": 8,
    "skewbench.cli": 9,
}

# Imports that the layers allow but that still run the wrong way: a task is run by the runner
# and never runs the runner, writes the store, or builds a report.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "skewbench.tasks": (
        "skewbench.runner.run",
        "skewbench.runner.executors",
        "skewbench.runner.grid",
        "skewbench.runner.store",
    ),
}

# (importing module, imported module) pairs that run upward on purpose, each with its reason.
ALLOWED: dict[tuple[str, str], str] = {
    ("skewbench", "skewbench.evaluation.api"): "the public entry point skewbench.evaluate(...), "
    "imported when called",
}


def _layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str, name: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) of every skewbench import in ``source`` (module ``name``),
    relative ones resolved, function-level ones included."""
    package = name if is_package else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from skewbench.x import y`` may import module y: judge y where it is a module
            for a in node.names:
                full = SRC.parent / Path(*f"{base}.{a.name}".split("."))
                is_module = full.with_suffix(".py").is_file() or full.is_dir()
                out.append((node.lineno, f"{base}.{a.name}" if is_module else base))
    return [(line, m) for line, m in out if m == "skewbench" or m.startswith("skewbench.")]


def _check(source: str, name: str, where: str, is_package: bool = False) -> list[str]:
    found = []
    for line, target in _imports(source, name, is_package):
        what = f"{where}:{line}: {name} imports {target}"
        if (name, target) in ALLOWED:
            continue
        if _layer(target) > _layer(name):
            found.append(f"{what} (layer {_layer(name)} → {_layer(target)})")
        for prefix, banned in FORBIDDEN.items():
            if name == prefix or name.startswith(prefix + "."):
                found += [f"{what} (forbidden)" for b in banned if target.startswith(b)]
    return found


def _violations() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        where = str(path.relative_to(SRC.parent))
        text = path.read_text(encoding="utf-8")
        found += _check(text, _module_name(path), where, path.name == "__init__.py")
    return found


def test_no_module_imports_upward():
    assert _violations() == []


def test_every_source_file_has_a_layer():
    top = {p.name.removesuffix(".py") for p in SRC.iterdir() if not p.name.startswith("_")}
    shared = {"errors", "seeds", "vectors", "lazy", "progress", "doc_sections", "integrity"}
    shared |= {"prefetch"}
    shared |= {"py.typed"}
    assert sorted(top - shared - {p.split(".")[1] for p in LAYERS if "." in p}) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from skewbench.tasks.categorize import run\n", "layer 1 → 6"),
        ("def f():\n    import skewbench.report.build\n", "layer 1 → 8"),
        ("from ..tasks import categorize\n", "layer 1 → 6"),
        ("from skewbench.runner.run import run_config\n", "(forbidden)"),
    ],
)
def test_the_check_sees_every_kind_of_import(source, expected):
    """The check itself catches module-level, function-level and relative upward imports."""
    name = "skewbench.tasks.probe" if "forbidden" in expected else "skewbench.metrics.probe"
    assert [v for v in _check(source, name, "probe.py") if expected in v]
    assert _check("from skewbench.errors import ConfigError\n", name, "probe.py") == []
