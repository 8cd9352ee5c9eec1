"""Where cells run: in-process, a local process pool, or a Ray cluster.

Every executor yields ``Outcome``s as cells finish, in completion order; the caller (the parent
process) writes each one to the store at once, so nothing finished waits on anything else.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass

from skewbench.runner.cell import Cell, CellResult
from skewbench.runner.tasks import get_task


@dataclass
class Outcome:
    """A finished cell: its result, or the error text if it raised."""

    cell: Cell
    result: CellResult | None
    seconds: float
    error: str | None = None


def limit_threads(n: int) -> None:
    """Cap the BLAS/OpenMP/torch threads of this process (one worker per core by default)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        import torch

        torch.set_num_threads(n)
    except Exception:  # torch is optional for some tasks; nothing to cap then
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except Exception:
        pass


def run_one(cell: Cell) -> Outcome:
    """Run one cell, catching its error so one bad cell never stops the grid."""
    start = time.perf_counter()
    try:
        result = get_task(cell.task).run(cell)
    except Exception:
        return Outcome(cell, None, time.perf_counter() - start, traceback.format_exc())
    return Outcome(cell, result, time.perf_counter() - start)


def run_inline(cells: Iterable[Cell]) -> Iterator[Outcome]:
    """Run cells one after another in this process (debugging, tiny grids)."""
    for cell in cells:
        yield run_one(cell)


def _init_worker(threads: int) -> None:
    limit_threads(threads)


def run_local(cells: list[Cell], workers: int, threads_per_worker: int = 1) -> Iterator[Outcome]:
    """Run cells in a pool of ``workers`` spawned processes.

    'spawn' rather than 'fork': torch and BLAS thread pools do not survive a fork safely. At most
    ``2 × workers`` cells are in flight, so a long grid does not queue everything up front.
    """
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(threads_per_worker,),
    ) as pool:
        pending: dict[Future[Outcome], Cell] = {}
        todo = iter(cells)
        try:
            for cell in todo:
                pending[pool.submit(run_one, cell)] = cell
                if len(pending) >= 2 * workers:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    cell = pending.pop(fut)
                    try:
                        yield fut.result()
                    except Exception:  # the worker process itself died (e.g. out of memory)
                        yield Outcome(cell, None, 0.0, traceback.format_exc())
                    nxt = next(todo, None)
                    if nxt is not None:
                        pending[pool.submit(run_one, nxt)] = nxt
        finally:
            for fut in pending:
                fut.cancel()


def run_ray(cells: list[Cell], address: str | None = None) -> Iterator[Outcome]:
    """Run cells as Ray tasks (one CPU each) on a cluster, or a local Ray if no address."""
    try:
        import ray
    except ImportError as err:  # pragma: no cover - depends on the optional extra
        raise RuntimeError("executor 'ray' needs Ray: pip install 'skewbench[ray]'") from err
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    remote = ray.remote(num_cpus=1)(run_one)
    refs = {remote.remote(cell): cell for cell in cells}
    while refs:
        done, _ = ray.wait(list(refs), num_returns=1)
        for ref in done:
            cell = refs.pop(ref)
            try:
                yield ray.get(ref)
            except Exception:
                yield Outcome(cell, None, 0.0, traceback.format_exc())
