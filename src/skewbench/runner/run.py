"""Run a config: expand, skip finished cells, prepare shared work, execute, store as they finish."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from skewbench.runner.cell import Cell
from skewbench.runner.config import RunConfig
from skewbench.runner.executors import run_inline, run_local, run_ray
from skewbench.runner.grid import expand
from skewbench.runner.store import ResultStore
from skewbench.runner.tasks import get_task

log = logging.getLogger(__name__)

STORE_NAME = "results.sqlite"


@dataclass
class RunSummary:
    total: int
    skipped: int
    finished: int
    failed: int
    output: Path


def store_path(output: Path) -> Path:
    return output / STORE_NAME


def prepare(cells: list[Cell]) -> None:
    """Shared one-off work per task (e.g. filling the embedding cache), in this process."""
    by_task: dict[str, list[Cell]] = {}
    for cell in cells:
        by_task.setdefault(cell.task, []).append(cell)
    for name, task_cells in by_task.items():
        hook = getattr(get_task(name), "prepare", None)
        if hook is not None:
            hook(task_cells)


def prepare_in_child(cells: list[Cell]) -> None:
    """Run :func:`prepare` in a short-lived spawned process with every core.

    Encoding a catalog loads the encoder and its activations (about 2 GB for the Clothing
    reviews); in a child that memory goes back to the OS when it exits, instead of staying in
    the parent for the whole run beside the workers.
    """
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        pool.submit(prepare, cells).result()


def run_config(
    config: RunConfig,
    output: Path | None = None,
    *,
    workers: int | None = None,
    executor: str | None = None,
    max_cells: int | None = None,
    progress: bool = True,
) -> RunSummary:
    """Run every unfinished cell of ``config``; finished cells (same key) are skipped."""
    output = output or config.output_dir()
    cells = expand(config)
    workers = workers or config.workers
    executor = executor or config.executor
    with ResultStore(store_path(output)) as store:
        done = store.finished_keys()
        todo = [c for c in cells if c.key not in done]
        if max_cells is not None:
            todo = todo[:max_cells]
        summary = RunSummary(len(cells), len(cells) - len(todo), 0, 0, output)
        if not todo:
            return summary
        prepare_in_child(todo)
        if executor == "ray":
            outcomes = run_ray(todo, config.ray_address)
        elif workers == 1:
            outcomes = run_inline(todo)
        else:
            outcomes = run_local(todo, workers, max(1, (os.cpu_count() or 1) // workers))
        bar = tqdm(total=len(todo), disable=not progress, file=sys.stderr, unit="cell")
        for outcome in outcomes:
            if outcome.result is not None:
                store.put(outcome.cell, outcome.result, outcome.seconds)
                summary.finished += 1
            else:
                store.put_failure(outcome.cell, outcome.error or "unknown error")
                summary.failed += 1
                log.error("cell %s failed:\n%s", outcome.cell.key, outcome.error)
            bar.set_postfix_str(f"{outcome.cell.model.label} / {outcome.cell.treatment.label}")
            bar.update(1)
        bar.close()
    return summary
