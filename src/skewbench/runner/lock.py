"""One run per output folder: an exclusive ``flock`` on ``<output>/.lock``.

The lock file holds the holder's pid, host and start time, so a refused run can say who holds
the folder. The kernel drops a ``flock`` when its process dies, however it dies (kill -9, OOM),
so a stale lock file never blocks the next run: only a live holder does.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from skewbench.errors import LockError

LOCK_NAME = ".lock"


class OutputLock:
    """Context manager holding the output folder's lock; ``wait=True`` waits for the holder."""

    def __init__(self, output: str | Path, *, wait: bool = False, poll: float = 0.5):
        self.path = Path(output) / LOCK_NAME
        self.wait, self.poll = wait, poll
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not self.wait:
                    os.close(fd)
                    raise LockError(
                        f"{self.path.parent} is in use by another run ({holder(self.path)}); "
                        "wait for it to finish, or pass --wait to start when it does"
                    ) from None
                if not told:
                    print(f"waiting for the run holding {self.path.parent} ({holder(self.path)})")
                    told = True
                time.sleep(self.poll)
        stamp = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(stamp).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def holder(path: Path) -> str:
    """'pid 123 on host since 2026-11-28 07:30:00' from a lock file (best effort)."""
    try:
        stamp = json.loads(path.read_text(encoding="utf-8"))
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp["started"]))
        return f"pid {stamp['pid']} on {stamp['host']} since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"
