"""Process hygiene, end to end through the real CLI in a subprocess: no child outlives the run,
one run per output folder, Ctrl-C stops cleanly, random kills lose and repeat nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from skewbench.cli import main
from skewbench.errors import LockError
from skewbench.runner.lock import OutputLock

# Slow enough per cell (ItemKNN on MovieLens, ~1 s) that a run is caught mid-grid.
SLOW = {
    "name": "slow",
    "seed": 5,
    "seeds": 3,
    "workers": 2,
    "experiments": [
        {
            "task": "recommend",
            "datasets": ["movielens100k"],
            "models": [{"name": "itemknn", "sweep": {"neighbours": [20, 40, 60, 80]}}],
            "options": {"cutoffs": [10], "exposure_k": 10},
        }
    ],
}


def _pids() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, process group) of every process, from /proc."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            out[int(entry.name)] = (int(fields[1]), int(fields[2]))
    return out


def _descendants(root: int) -> set[int]:
    procs = _pids()
    found, frontier = set(), {root}
    while frontier:
        frontier = {p for p, (ppid, _) in procs.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":  # a zombie has exited; only its reaper is late
            alive.add(pid)
    return alive


def _finished(out: Path) -> int:
    db = out / "results.sqlite"
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
    except sqlite3.Error:
        return 0


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(tmp_path: Path, config: dict, *extra: str) -> tuple[subprocess.Popen, Path]:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(config))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "skewbench.cli", "run", str(cfg), "--output", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--quiet", "--no-report", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a terminal job
        # a terminal job gets Ctrl-C; a test run started in the background (`pytest &`) would
        # pass on an ignored SIGINT, and Python then never installs its handler
        preexec_fn=_default_sigint,
    )
    return proc, out


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _cleanup(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_no_child_outlives_a_killed_parent(tmp_path):
    proc, out = _start(tmp_path, SLOW)
    try:
        # pool workers (2) + multiprocessing's resource tracker are up and a cell is running
        _wait_for(lambda: len(_descendants(proc.pid)) >= 3 and proc.poll() is None)
        children = _descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, as the OOM killer does
        proc.wait()
        deadline = time.monotonic() + 5
        while _alive(children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(children), f"orphans left: {_alive(children)}"
    finally:
        _cleanup(proc)


def test_prepare_child_dies_with_the_parent(tmp_path):
    code = (
        "import os, sys, time\n"
        "from skewbench.runner.executors import child_pool\n"
        "pool = child_pool(1)\n"
        "pool.submit(os.getpid).result()\n"  # the worker is up
        "fut = pool.submit(time.sleep, 600)\n"
        "print('up', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout.readline().strip() == "up"
        children = _descendants(proc.pid)
        assert len(children) >= 2  # the child + the resource tracker
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        _wait_for(lambda: not _alive(children), timeout=5)
    finally:
        _cleanup(proc)


def _send_half_a_result_then_die() -> None:
    """In a pool worker: write the header and the first bytes of a result message, then die,
    as a worker terminated in the middle of sending a large result does."""
    import struct

    frame = sys._getframe()
    while "result_queue" not in frame.f_locals:  # concurrent.futures' _process_worker
        frame = frame.f_back
    writer = frame.f_locals["result_queue"]._writer
    os.write(writer.fileno(), struct.pack("!i", 1000) + b"x" * 10)  # 990 bytes never come
    os._exit(1)


def test_stop_pool_ends_when_a_worker_died_mid_result():
    from skewbench.runner.executors import child_pool, stop_pool

    pool = child_pool(1)
    manager = None
    try:
        pool.submit(_send_half_a_result_then_die)
        manager = pool._executor_manager_thread
        proc = next(iter(pool._processes.values()))
        proc.join(timeout=60)  # the worker is gone; the manager is stuck inside recv()
        assert not proc.is_alive()
        stop_pool(pool)
        manager.join(timeout=30)
        assert not manager.is_alive(), "the pool's manager thread still waits for the result"
    finally:
        if manager is not None and manager.is_alive():  # do not hang the test session
            manager.result_queue._writer.close()


def test_second_run_on_the_same_output_is_refused_naming_the_holder(tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(SLOW))
    out = tmp_path / "out"
    with OutputLock(out):
        assert main(["run", str(cfg), "--output", str(out), "--quiet", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert f"{out} is in use by another run (pid {os.getpid()} on " in err
    assert "--wait" in err and "Traceback" not in err
    assert not (out / "results.sqlite").exists()  # refused before touching the store
    with OutputLock(out):  # the lock is released: a later run gets it
        pass


def test_wait_starts_when_the_holder_ends(tmp_path):
    holder = OutputLock(tmp_path)
    holder.acquire()
    threading.Timer(0.5, holder.release).start()
    start = time.monotonic()
    with OutputLock(tmp_path, wait=True, poll=0.05):
        assert time.monotonic() - start >= 0.4
    with pytest.raises(LockError, match="holder unknown|pid"), OutputLock(tmp_path):
        OutputLock(tmp_path).acquire()


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    code = (
        f"from skewbench.runner.lock import OutputLock\nimport time\n"
        f"OutputLock({str(tmp_path)!r}).acquire()\nprint('held', flush=True)\ntime.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(LockError, match=f"pid {proc.pid} on"):
            OutputLock(tmp_path).acquire()
        proc.kill()
        proc.wait()
        with OutputLock(tmp_path):  # the kernel dropped the dead holder's lock
            pass
    finally:
        _cleanup(proc)


def test_ctrl_c_stops_cleanly_with_the_count(tmp_path):
    proc, out = _start(tmp_path, SLOW)
    try:
        # a stored cell: the workers are up and the run is in its grid loop (12 cells, 2 workers,
        # so others are still running or queued)
        _wait_for(lambda: _finished(out) >= 1 or proc.poll() is not None, timeout=120)
        assert proc.poll() is None, "the run ended before its first cell was stored"
        children = _descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends: the whole group
        _, err = proc.communicate(timeout=30)
    finally:
        _cleanup(proc)
    assert proc.returncode == 130
    n = _finished(out)
    assert f"interrupted — {n} finished cells are stored; run the same command to resume" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    _wait_for(lambda: not _alive(children), timeout=5)


def test_a_cell_imports_only_what_it_needs():
    """validate + a popularity cell (what a warm re-run or a pool worker does) import no torch,
    no matplotlib and no sentence-transformers."""
    code = (
        "import sys\n"
        "from skewbench.runner.config import parse_config\n"
        "from skewbench.runner.grid import expand\n"
        "from skewbench.runner.executors import run_one\n"
        f"cells = expand(parse_config({SLOW!r}))\n"
        "from skewbench.runner.cell import Cell, Component\n"
        "import dataclasses\n"
        "cell = dataclasses.replace(cells[0], model=Component('popularity'))\n"
        "out = run_one(cell)\n"
        "assert out.result is not None, out.error\n"
        "heavy = ['torch', 'matplotlib', 'sentence_transformers', 'transformers']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
