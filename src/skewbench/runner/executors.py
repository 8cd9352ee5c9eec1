"""Where cells run: in-process, a local process pool, or a Ray cluster.

Every executor yields ``Outcome``s as cells finish, in completion order; the caller (the parent
process) writes each one to the store at once, so nothing finished waits on anything else.

Child processes (pool workers, the prepare child) never outlive the parent: each asks the
kernel for SIGKILL when its parent dies (Linux ``PR_SET_PDEATHSIG``; elsewhere a watchdog
thread polls the parent pid), and ignores Ctrl-C, which the parent handles by stopping them.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from skewbench.errors import ConfigError
from skewbench.runner.cell import Cell, CellResult
from skewbench.runner.tasks import get_task

# the handshake: anything not a Ray head is refused within it (a head answers in milliseconds;
# with the start-up before it, a refusal comes within 10 s)
RAY_CONNECT_TIMEOUT_S = 5.0
RAY_INIT_TIMEOUT_S = 30.0  # ray.init on an address that passed the handshake
RAY_LOCAL_START_TIMEOUT_S = 300.0  # starting a local Ray instance
_PR_SET_PDEATHSIG = 1


@dataclass
class Outcome:
    """A finished cell: its result, or the error text if it raised."""

    cell: Cell
    result: CellResult | None
    seconds: float
    error: str | None = None


def limit_threads(n: int) -> None:
    """Cap the BLAS/OpenMP/torch threads of this process (one worker per core by default).

    The environment variables cover libraries loaded later (torch reads ``OMP_NUM_THREADS``
    when first imported); torch is only capped here if a cell already imported it, so a worker
    whose cells need no torch never imports it.
    """
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except Exception:  # threadpoolctl is optional; the variables above still apply
        pass


def die_with_parent(parent_pid: int) -> None:
    """Make this process exit when ``parent_pid`` dies (kill -9 and the OOM killer included).

    Linux delivers the signal when the parent THREAD that spawned the child ends: pools here
    spawn their workers from the caller's thread (``submit``, no ``max_tasks_per_child``) and
    are shut down by that thread, so this fires only when the whole parent is gone.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # the parent died before prctl took effect
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def init_child(parent_pid: int, threads: int | None = None) -> None:
    """Initializer of every child process: die with the parent, leave Ctrl-C to the parent."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if threads is not None:
        limit_threads(threads)


@contextlib.contextmanager
def sigint_ignored_in_children() -> Iterator[None]:
    """Start children inside this block: they inherit an ignored SIGINT from their first
    instruction (an ignored disposition survives exec), so a Ctrl-C that arrives while a child
    is still importing cannot print a KeyboardInterrupt traceback. The parent's handler is back
    when the block ends (a Ctrl-C during the few milliseconds of process start is dropped)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def submit_first(pool: ProcessPoolExecutor, fn: Any, *args: Any) -> Future[Any]:
    """``pool.submit`` for the first task: a spawn pool starts all its workers here."""
    with sigint_ignored_in_children():
        return pool.submit(fn, *args)


def child_pool(workers: int, threads: int | None = None) -> ProcessPoolExecutor:
    """A pool of spawned children set up by :func:`init_child`.

    'spawn' rather than 'fork': torch and BLAS thread pools do not survive a fork safely.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp.get_context("spawn"),
        initializer=init_child,
        initargs=(os.getpid(), threads),
    )


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel queued cells and terminate the workers (no waiting for cells).

    A worker terminated while sending its result leaves half a message in the result pipe; the
    pool's manager thread then waits forever for the rest, and interpreter exit joins that
    thread, so the process would hang after a Ctrl-C. Once the workers are gone, closing the
    pipe's last write end (ours) turns that wait into an end-of-file: the thread marks the pool
    broken and ends.
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
    if manager is not None:
        manager.join(timeout=2)
        if manager.is_alive():
            manager.result_queue._writer.close()
            manager.join(timeout=10)


def run_one(cell: Cell) -> Outcome:
    """Run one cell, catching its error so one bad cell never stops the grid."""
    start = time.perf_counter()
    try:
        result = get_task(cell.task).run(cell)
    except Exception:
        return Outcome(cell, None, time.perf_counter() - start, traceback.format_exc())
    return Outcome(cell, result, time.perf_counter() - start)


def run_one_capped(cell: Cell, threads: int = 1) -> Outcome:
    """:func:`run_one` with this process's threads capped first, as a pool worker's are (a Ray
    worker is not started by us, and Ray caps only ``OMP_NUM_THREADS``)."""
    limit_threads(threads)
    return run_one(cell)


def run_inline(cells: Iterable[Cell]) -> Iterator[Outcome]:
    """Run cells one after another in this process (debugging, tiny grids)."""
    for cell in cells:
        yield run_one(cell)


def run_local(cells: list[Cell], workers: int, threads_per_worker: int = 1) -> Iterator[Outcome]:
    """Run cells in a pool of ``workers`` spawned processes.

    At most ``2 × workers`` cells are in flight, so a long grid does not queue everything up
    front. If the consumer stops early (Ctrl-C, an error), the workers are terminated at once
    rather than left to finish their cells.
    """
    pool = child_pool(workers, threads_per_worker)
    pending: dict[Future[Outcome], Cell] = {}
    todo = iter(cells)
    completed = False
    try:
        for cell in todo:
            submit = submit_first if not pending else ProcessPoolExecutor.submit
            pending[submit(pool, run_one, cell)] = cell
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
        completed = True
    finally:
        if completed:
            pool.shutdown(wait=True)
        else:
            stop_pool(pool)


HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # an empty SETTINGS frame (type 4, stream 0)


def ray_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def probe_address(address: str, timeout: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """Raise ConfigError unless ``host:port`` answers like a Ray head within ``timeout``.

    A Ray head's GCS (and a ``ray://`` client server) speaks gRPC, i.e. HTTP/2: after our
    connection preface it sends its SETTINGS frame. A closed port, a silent listener or any
    other protocol is refused within ``timeout`` — Ray itself retries for minutes.
    ``auto``/``local`` are skipped.
    """
    if address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"ray_address: {address!r} is not host:port (e.g. 10.0.0.5:6379)")
    deadline = time.monotonic() + timeout
    fix = "start it with `ray start --head` or fix ray_address"
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            sock.sendall(HTTP2_PREFACE + _SETTINGS)
            head = b""
            while len(head) < 9:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(9 - len(head))
                if not chunk:
                    break
                head += chunk
    except TimeoutError:
        head = None
    except OSError as err:
        raise ConfigError(
            f"ray_address: cannot reach the Ray head at {address!r} within {timeout:g} s "
            f"({err}); {fix}"
        ) from None
    if head is None or len(head) < 9 or head[3] != 4 or head[5:9] != b"\0\0\0\0":
        what = "did not answer" if not head else f"answered {head[:9]!r}"
        raise ConfigError(
            f"ray_address: {address!r} is not a Ray head: it {what} within {timeout:g} s "
            f"where a Ray head answers the gRPC (HTTP/2) handshake; {fix}"
        )


# settings a cell reads from the environment: sent with the job so that every Ray worker, on
# any node, reads the same cache folder and stays offline (a node's own shell may lack them)
WORKER_ENV = ("SKEWBENCH_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME")


def worker_env() -> dict[str, str]:
    """The job's environment for Ray workers: the variables of :data:`WORKER_ENV` set here, with
    ``SKEWBENCH_CACHE`` made absolute (the default ``.cache/skewbench`` would otherwise resolve
    against each worker's own working folder)."""
    env = {k: os.environ[k] for k in WORKER_ENV if k in os.environ}
    env["SKEWBENCH_CACHE"] = os.path.abspath(env.get("SKEWBENCH_CACHE", ".cache/skewbench"))
    return env


def connect_ray(
    address: str | None,
    timeout: float = RAY_CONNECT_TIMEOUT_S,
    *,
    num_cpus: int | None = None,
) -> Any:
    """Import Ray and connect (or start a local Ray when ``address`` is None), before any work.

    ``num_cpus`` caps a local Ray (the config's ``workers``: cells at once); a cluster's CPUs
    are its own. An already initialised Ray (e.g. by the caller) is used as it is.
    """
    if not ray_available():
        raise ConfigError("executor: 'ray' needs Ray installed: pip install 'skewbench[ray]'")
    if address is not None:
        probe_address(address, timeout)
    import ray

    if not ray.is_initialized():
        local: dict[str, Any] = (
            {"num_cpus": num_cpus, "include_dashboard": False} if address is None else {}
        )
        where = address or "a new local Ray instance"
        # ray.init retries a head that does not answer for minutes: give it a hard deadline
        # (a head that passed the handshake connects in seconds; a local start takes longer)
        outcome: list[BaseException | None] = []

        def init() -> None:
            try:
                ray.init(
                    address=address,
                    log_to_driver=False,
                    runtime_env={"env_vars": worker_env()},
                    **local,
                )
                outcome.append(None)
            except BaseException as err:  # handed to the caller's thread below
                outcome.append(err)

        thread = threading.Thread(target=init, name="ray-init", daemon=True)
        thread.start()
        thread.join(RAY_INIT_TIMEOUT_S if address is not None else RAY_LOCAL_START_TIMEOUT_S)
        if not outcome:
            raise ConfigError(
                f"ray_address: {where} did not accept a Ray connection within "
                f"{RAY_INIT_TIMEOUT_S:g} s; check that it is a Ray head of the same Ray version"
            )
        if outcome[0] is not None:
            raise ConfigError(f"ray_address: cannot connect to {where}: {outcome[0]}") from None
    return ray


def check_ray_gpus(ray: Any, gpus_per_cell: float) -> None:
    """Refuse, before any work, GPUs per cell that no node of the Ray cluster can give (the
    tasks would wait forever)."""
    if gpus_per_cell <= 0:
        return
    have = float(ray.cluster_resources().get("GPU", 0.0))
    if have < gpus_per_cell:
        raise ConfigError(
            f"gpus_per_cell: {gpus_per_cell:g} GPU(s) per cell, but the Ray cluster has "
            f"{have:g}; start Ray on GPU nodes (ray start --num-gpus N) or set gpus_per_cell: 0"
        )


def run_ray(
    cells: list[Cell],
    address: str | None = None,
    num_cpus: int | None = None,
    gpus_per_cell: float = 0.0,
) -> Iterator[Outcome]:
    """Run cells as Ray tasks (one CPU and ``gpus_per_cell`` GPUs each) on a cluster, or a
    local Ray if no address. Ray sets each task's ``CUDA_VISIBLE_DEVICES`` to its GPUs, so a
    model on ``device: auto`` uses the one it was given.

    Each task gets the pickled :class:`Cell` (a small frozen dataclass) and returns its
    :class:`Outcome` (metrics, per-unit table, info) through Ray's object store; the worker
    loads the data itself, from the installed packages and ``$SKEWBENCH_CACHE``. Only this
    process writes the results store.
    """
    ray = connect_ray(address, num_cpus=num_cpus)
    check_ray_gpus(ray, gpus_per_cell)
    remote = ray.remote(num_cpus=1, num_gpus=gpus_per_cell)(run_one_capped)
    refs = {remote.remote(cell): cell for cell in cells}
    try:
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            for ref in done:
                cell = refs.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception:  # the worker process died, or its node left the cluster
                    yield Outcome(cell, None, 0.0, traceback.format_exc())
    finally:
        for ref in refs:
            ray.cancel(ref, force=True)
