"""Run a config: expand, skip finished cells, prepare shared work, execute, store as they finish.

Guarantees (each pinned by a test; the README's "How a run works" lists them):
- one run per output folder (:class:`skewbench.runner.lock.OutputLock`);
- the store is checked before use and a finished cell is written in one transaction;
- no child process outlives this one (:func:`skewbench.runner.executors.init_child`);
- Ctrl-C stops the workers and raises :class:`skewbench.errors.Interrupted` with the number of
  finished cells stored.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from skewbench.errors import ConfigError, Interrupted
from skewbench.runner.cell import Cell
from skewbench.runner.config import MAX_WORKERS, RunConfig
from skewbench.runner.executors import (
    check_ray_gpus,
    child_pool,
    connect_ray,
    probe_address,
    ray_available,
    run_inline,
    run_local,
    run_ray,
    stop_pool,
    submit_first,
)
from skewbench.runner.grid import check_data, expand
from skewbench.runner.lock import OutputLock
from skewbench.runner.output import check_output, claim_output
from skewbench.runner.store import ResultStore, last_line
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
    the parent for the whole run beside the workers. The child dies with the parent.
    """
    pool = child_pool(1)
    try:
        submit_first(pool, prepare, cells).result()
    except BaseException:
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def run_config(
    config: RunConfig,
    output: Path | None = None,
    *,
    workers: int | None = None,
    executor: str | None = None,
    max_cells: int | None = None,
    progress: bool = True,
    wait: bool = False,
) -> RunSummary:
    """Run every unfinished cell of ``config``; finished cells (same key) are skipped.

    Holds the output folder's lock throughout (``wait=True`` waits for another run to end
    instead of refusing). The per-cell checks and the data checks run only when some cell is
    left to run, so a warm re-run of a finished config imports no model code.
    """
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers: a count from 1 to {MAX_WORKERS}, got {workers}")
    if max_cells is not None and max_cells < 1:
        raise ConfigError(
            f"--max-cells: a count >= 1 (leave it out to run every cell), got {max_cells}"
        )
    output = output or config.output_dir()
    workers = workers or config.workers
    executor = executor or config.executor
    if executor == "ray" and not ray_available():
        raise ConfigError("executor: 'ray' needs Ray installed: pip install 'skewbench[ray]'")
    if executor == "ray" and config.ray_address is not None:
        probe_address(config.ray_address)  # seconds, before any data is read
    cells = expand(config, check=False)
    check_output(output, config.name, config.seed)
    with OutputLock(output, wait=wait), ResultStore(store_path(output)) as store:
        claim_output(output, config.name, config.seed)
        done = store.finished_keys()
        todo = [c for c in cells if c.key not in done]
        if max_cells is not None:
            todo = todo[:max_cells]
        summary = RunSummary(len(cells), len(cells) - len(todo), 0, 0, output)
        if not todo:
            return summary
        check_data(todo)  # data sets load and hold what the cells need
        expand(config)  # every cell checked by its task: refuse before any work
        try:
            if executor == "ray":  # fail in seconds, before prepare
                check_ray_gpus(
                    connect_ray(config.ray_address, num_cpus=workers), config.gpus_per_cell
                )
            elif config.gpus_per_cell:
                raise ConfigError(
                    "gpus_per_cell: only with executor ray (a local run's cells see every GPU; "
                    "pick one with a model's device: cuda:N)"
                )
            prepare_in_child(todo)
            if executor == "ray":
                outcomes = run_ray(todo, config.ray_address, workers, config.gpus_per_cell)
            elif workers == 1:
                outcomes = run_inline(todo)
            else:
                outcomes = run_local(todo, workers, max(1, (os.cpu_count() or 1) // workers))
            _consume(outcomes, store, summary, len(todo), progress)
        except KeyboardInterrupt:
            raise Interrupted(len(store.finished_keys())) from None
    return summary


def _consume(outcomes, store: ResultStore, summary: RunSummary, n: int, progress: bool) -> None:
    from tqdm import tqdm

    bar = tqdm(total=n, disable=not progress, file=sys.stderr, unit="cell")
    try:
        for outcome in outcomes:
            if outcome.result is not None:
                store.put(outcome.cell, outcome.result, outcome.seconds)
                summary.finished += 1
            else:
                error = outcome.error or "unknown error"
                store.put_failure(outcome.cell, error)
                summary.failed += 1
                cell = outcome.cell
                log.warning(
                    "cell %s (%s / %s / %s, seed %s) failed: %s",
                    cell.key,
                    cell.dataset.label,
                    cell.model.label,
                    cell.treatment.label,
                    cell.seed,
                    last_line(error),
                )
                log.debug("cell %s traceback:\n%s", cell.key, error)
            bar.set_postfix_str(f"{outcome.cell.model.label} / {outcome.cell.treatment.label}")
            bar.update(1)
    finally:
        bar.close()
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()  # a generator's finally (stopping the pool) runs now, not at collection
