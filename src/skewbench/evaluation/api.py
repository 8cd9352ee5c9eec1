"""``skewbench evaluate`` and ``skewbench.evaluate(...)``: score external runs or predictions and
write a normal results folder (store, report, exports).

Every input is read and every run scored before anything is written, so bad input leaves the
output folder untouched. Each run is one cell: task as given, data set ``evaluate`` (naming
its input files and keyed by their content fingerprints, as every user data set), model = the
run's name, treatment ``none``, seed 0. The run file's own fingerprint is in the cell's info,
and a results folder that holds a run of the same name scored from other content is refused
rather than mixed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from skewbench.errors import ConfigError, StoreError
from skewbench.runner.cell import Cell, CellResult, Component

TASKS = ("recommend", "search", "categorize")


@dataclass
class Scored:
    """A scored run: its cell, its result and its file's fingerprint."""

    cell: Cell
    result: CellResult
    run_sha: str


def _paths(runs: Mapping[str, str | Path] | Sequence[str]) -> dict[str, Path]:
    """``{name: path}`` from a mapping or ``NAME=FILE`` strings; names must be unique."""
    if isinstance(runs, Mapping):
        pairs = [(str(k), Path(v)) for k, v in runs.items()]
    else:
        pairs = []
        for text in runs:
            name, sep, path = str(text).partition("=")
            if not sep or not name or not path:
                raise ConfigError(f"--run / --predictions: NAME=FILE expected, got {text!r}")
            pairs.append((name, Path(path)))
    if not pairs:
        raise ConfigError("give at least one run (--run NAME=FILE)")
    names = [n for n, _ in pairs]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise ConfigError(f"run name {dup!r} is given twice; name each run once")
    bad = next((n for n in names if not n.replace("_", "").replace("-", "").isalnum()), None)
    if bad is not None:
        raise ConfigError(f"run name {bad!r}: use letters, digits, '-' and '_' only")
    for name, file in pairs:
        if not file.is_file():
            raise ConfigError(f"run {name}: {file} is not a file")
    return dict(pairs)


def _cells(
    task: str,
    inputs: dict[str, Path],
    options: dict,
    results: dict[str, CellResult],
    paths: dict[str, Path],
) -> list[Scored]:
    """One cell per run: data set ``evaluate`` naming its input files, keyed by their content."""
    from skewbench.data.fingerprint import file_fingerprint

    files = tuple((str(p), file_fingerprint(p)) for p in inputs.values())
    dataset = Component("evaluate", {n: str(p) for n, p in inputs.items()}, files)
    out = []
    for name, result in results.items():
        cell = Cell(task, dataset, Component(name), Component("none"), None, 0, 0, options)
        sha = file_fingerprint(paths[name])
        result.info.update(run_file=str(paths[name]), run_fingerprint=sha)
        out.append(Scored(cell, result, sha))
    return out


def score_ranked(
    task: str,
    qrels: str | Path,
    runs: Mapping[str, str | Path] | Sequence[str],
    *,
    items: str | Path | None = None,
    groups: Sequence[str] = (),
    train: str | Path | None = None,
    users: str | Path | None = None,
    k: int = 10,
) -> list[Scored]:
    """Read and score every run of a recommend / search evaluation (nothing written)."""
    from skewbench.data.runfiles import read_qrels, read_run, read_table
    from skewbench.evaluation.ranked import CUTOFFS, judged, lists_of, score_run, train_frame

    if not isinstance(k, int) or k < 1:
        raise ConfigError(f"--k: a positive integer expected, got {k!r}")
    paths = _paths(runs)
    qrels_path = Path(qrels)
    q = read_qrels(qrels_path)
    read = {name: read_run(p) for name, p in paths.items()}
    side = {"items": items, "train": train, "users": users}
    given = {n: Path(p) for n, p in side.items() if p is not None}
    data = judged(
        q,
        read,
        items=read_table(given["items"]) if "items" in given else None,
        items_path=str(given.get("items")),
        groupings=list(groups),
        train=train_frame(str(given["train"])) if "train" in given else None,
        train_path=str(given.get("train")),
        users=read_table(given["users"]) if "users" in given else None,
        users_path=str(given.get("users")),
    )
    if groups and "items" not in given:
        raise ConfigError("--group names a column of --items; give --items too")
    cutoffs = tuple(sorted({*CUTOFFS, k}))
    depth = max(cutoffs)
    results = {
        name: score_run(lists_of(run, name, str(paths[name]), data, depth), data, task, k, cutoffs)
        for name, run in read.items()
    }
    options = {"k": k, "cutoffs": list(cutoffs), "groups": sorted(groups)}
    return _cells(task, {"qrels": qrels_path, **given}, options, results, paths)


def score_classified(
    labels: str | Path, predictions: Mapping[str, str | Path] | Sequence[str]
) -> list[Scored]:
    """Read and score every predictions file of a categorize evaluation (nothing written)."""
    from skewbench.data.runfiles import read_labels, read_predictions
    from skewbench.evaluation.classified import classes_of, score_predictions

    paths = _paths(predictions)
    labels_path = Path(labels)
    truth = read_labels(labels_path)
    read = {name: read_predictions(p) for name, p in paths.items()}
    classes = classes_of(truth, read)
    results = {
        name: score_predictions(truth, pred, classes, str(paths[name]))
        for name, pred in read.items()
    }
    return _cells("categorize", {"labels": labels_path}, {}, results, paths)


def store_scored(scored: list[Scored], output: Path) -> int:
    """Put the scored cells into ``output``'s store; a cell already there is kept (the same
    content gives the same key). Refuses, before writing, a run name the store already holds
    for the same qrels scored from a different file content. Returns cells written."""
    from skewbench.runner.store import ResultStore

    with ResultStore(output / "results.sqlite") as store:
        table = store.table()
        if not table.empty:
            for s in scored:
                same = table[
                    (table["task"] == s.cell.task)
                    & (table["dataset"] == s.cell.dataset.label)
                    & (table["model"] == s.cell.model.label)
                ]
                for key, info in zip(same["key"], same["info"], strict=True):
                    if key != s.cell.key or info.get("run_fingerprint") != s.run_sha:
                        raise StoreError(
                            f"{output} already holds a run named {s.cell.model.label!r} scored "
                            "from other inputs; write to a new --output or rename the run"
                        )
        return sum(store.put(s.cell, s.result, 0.0) for s in scored)


def evaluate(
    qrels: str | Path | None = None,
    runs: Mapping[str, str | Path] | Sequence[str] | None = None,
    *,
    task: str = "recommend",
    items: str | Path | None = None,
    groups: Sequence[str] = (),
    train: str | Path | None = None,
    users: str | Path | None = None,
    k: int = 10,
    labels: str | Path | None = None,
    predictions: Mapping[str, str | Path] | Sequence[str] | None = None,
    output: str | Path | None = None,
    report: bool = True,
) -> pd.DataFrame:
    """Score runs (recommend / search: ``qrels`` + ``runs``) or predictions (categorize:
    ``labels`` + ``predictions``) and return the tidy frame (one row per run × metric, as the
    report's ``cells.csv``). With ``output``, the results folder (store; with ``report`` the
    report and exports too) is written there; otherwise in a temporary folder, removed."""
    if task not in TASKS:
        raise ConfigError(f"--task: one of {list(TASKS)}, got {task!r}")
    if task == "categorize":
        if labels is None or predictions is None:
            raise ConfigError("categorize needs --labels and --predictions NAME=FILE")
        if qrels is not None or runs:
            raise ConfigError("categorize reads --labels and --predictions, not --qrels / --run")
        scored = score_classified(labels, predictions)
    else:
        if qrels is None or runs is None:
            raise ConfigError(f"{task} needs --qrels and --run NAME=FILE")
        if labels is not None or predictions:
            raise ConfigError(f"{task} reads --qrels and --run, not --labels / --predictions")
        scored = score_ranked(
            task, qrels, runs, items=items, groups=groups, train=train, users=users, k=k
        )
    if output is None:
        with tempfile.TemporaryDirectory(prefix="skewbench-evaluate-") as tmp:
            return _write(scored, Path(tmp), report=False)
    return _write(scored, Path(output), report=report)


def _write(scored: list[Scored], output: Path, *, report: bool) -> pd.DataFrame:
    from skewbench.report.aggregate import with_conditions
    from skewbench.report.build import build_report
    from skewbench.report.export import tidy_cells
    from skewbench.runner.store import ResultStore

    store_scored(scored, output)
    if report:
        build_report(output)
    keys = {s.cell.key for s in scored}
    with ResultStore(output / "results.sqlite") as store:
        table = store.table()
        table = with_conditions(table, store.configs())
        return tidy_cells(store, table[table["key"].isin(keys)].reset_index(drop=True))
