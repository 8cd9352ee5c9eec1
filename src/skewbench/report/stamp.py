"""Whether a results folder's report is up to date, decided without importing the report code
(a finished config run again then costs what ``run --no-report`` costs)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from skewbench.runner.store import ResultStore

STAMP = ".stamp"  # beside report.md: the stamp of the inputs it was written from


def report_stamp(store: ResultStore, sesoi: Mapping[str, float], exports: bool) -> str:
    """What a report depends on, hashed: the store's finished cells and failures, the source
    of the code that computes and renders it, and its settings."""
    h = hashlib.sha256(store.content_stamp().encode())
    root = Path(__file__).resolve().parent.parent
    for f in sorted([*root.joinpath("report").glob("*.py"), root / "metrics" / "stats.py"]):
        h.update(f.read_bytes())
    h.update(json.dumps({"sesoi": dict(sesoi), "exports": exports}, sort_keys=True).encode())
    return h.hexdigest()


def is_current(output: Path, sesoi: Mapping[str, float], exports: bool = True) -> bool:
    """True when ``<output>/report`` holds report.md, report.html and a stamp equal to the
    stamp of the store and code now: no cell finished or failed since it was written."""
    out = output / "report"
    files = [out / "report.md", out / "report.html", out / STAMP]
    if not all(f.is_file() for f in files) or not (output / "results.sqlite").is_file():
        return False
    with ResultStore(output / "results.sqlite") as store:
        return files[2].read_text(encoding="utf-8") == report_stamp(store, sesoi, exports)
