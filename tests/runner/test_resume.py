"""End to end through the real runner: a run killed mid-grid resumes to the same results as an
uninterrupted one, with no duplicate and no lost cell; the pool gives the inline numbers."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from skewbench.runner.config import parse_config
from skewbench.runner.run import run_config
from skewbench.runner.store import ResultStore

CONFIG = {
    "name": "resume",
    "seed": 11,
    "seeds": 2,
    "workers": 1,
    "experiments": [
        {
            "task": "recommend",
            "datasets": ["movielens100k"],
            "models": ["random", "popularity", {"name": "itemknn", "neighbours": 50}],
            "treatments": ["none"],
            "options": {"cutoffs": [10], "exposure_k": 10},
        },
        {
            "task": "recommend",
            "datasets": ["movielens100k"],
            "models": ["popularity"],
            "treatments": [{"name": "fair", "p": 0.5}],
            "options": {"cutoffs": [10], "exposure_k": 10},
        },
    ],
}
N_CELLS = 8


def _metrics(path: Path) -> dict[str, dict[str, float]]:
    with ResultStore(path / "results.sqlite") as store:
        table = store.table()
    cols = [c for c in table.columns if "@" in c or c in ("exposure_gini", "coverage")]
    return {row["key"]: {c: row[c] for c in cols} for _, row in table.iterrows()}


def _finished(path: Path) -> int:
    db = path / "results.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet
        return 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, dict[str, float]]:
    out = tmp_path_factory.mktemp("ref")
    summary = run_config(parse_config(CONFIG), out, progress=False)
    assert (summary.total, summary.finished, summary.failed) == (N_CELLS, N_CELLS, 0)
    return _metrics(out)


def test_same_config_same_numbers(reference, tmp_path):
    run_config(parse_config(CONFIG), tmp_path, progress=False)
    assert _metrics(tmp_path) == reference
    again = run_config(parse_config(CONFIG), tmp_path, progress=False)
    assert (again.skipped, again.finished) == (N_CELLS, 0)  # all finished: nothing re-run


def test_killed_run_resumes_without_loss_or_duplicates(reference, tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "skewbench.cli", "run", str(cfg), "--output", str(out)]
    cmd += ["--quiet", "--no-report"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _finished(out) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if proc.poll() is None:  # usually mid-grid; a run that beat the kill resumes as a no-op
        os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up
    proc.wait()
    done = _finished(out)
    assert done >= 2
    summary = run_config(parse_config(CONFIG), out, progress=False)
    assert summary.skipped == done and summary.finished == N_CELLS - done
    assert _metrics(out) == reference
    with sqlite3.connect(out / "results.sqlite") as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM cells")]
    assert len(keys) == len(set(keys)) == N_CELLS


def test_chaos_random_group_kills_then_resume(reference, tmp_path):
    """kill -9 of the whole process group (parent, workers, tracker) at random moments while
    cells are being stored, twice, then a resume: every cell once, the uninterrupted numbers."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "skewbench.cli", "run", str(cfg), "--output", str(out)]
    cmd += ["--quiet", "--no-report", "--workers", "2"]
    rng = random.Random(20261128)
    for _ in range(2):
        before = _finished(out)
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while _finished(out) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.0))  # somewhere in the next cells' work or writes
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = _finished(out)
    summary = run_config(parse_config(CONFIG), out, progress=False)
    assert summary.skipped == done and summary.finished == N_CELLS - done
    assert summary.failed == 0
    assert _metrics(out) == reference
    with sqlite3.connect(out / "results.sqlite") as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM cells")]
    assert len(keys) == len(set(keys)) == N_CELLS


def test_process_pool_gives_the_inline_numbers(reference, tmp_path):
    run_config(parse_config(CONFIG), tmp_path, workers=2, progress=False)
    assert _metrics(tmp_path) == reference


@pytest.mark.slow  # a local Ray starts in ~10-60 s
def test_ray_executor_gives_the_inline_numbers(reference, tmp_path):
    pytest.importorskip("ray", reason="Ray is the optional extra skewbench[ray]")
    run_config(parse_config(CONFIG), tmp_path, executor="ray", progress=False)
    assert _metrics(tmp_path) == reference
