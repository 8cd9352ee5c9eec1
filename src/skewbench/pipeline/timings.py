"""Stage timings of a cell, the one set of keys every task reports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGES: tuple[str, ...] = ("data", "tune", "fit", "score", "rerank", "metrics", "total")


class Timings:
    """Seconds per stage since construction; ``to_info`` gives ``info["timings_s"]``."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.seconds: dict[str, float] = dict.fromkeys(STAGES[:-1], 0.0)

    def add(self, stage: str, seconds: float) -> None:
        if stage not in self.seconds:
            raise KeyError(f"timing stage {stage!r} is not one of {STAGES[:-1]}")
        self.seconds[stage] += seconds

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def to_info(self) -> dict[str, float]:
        """Every stage rounded to milliseconds, plus ``total`` since construction."""
        out = {k: round(v, 3) for k, v in self.seconds.items()}
        out["total"] = round(time.perf_counter() - self.start, 3)
        return out
