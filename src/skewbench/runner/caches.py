"""``skewbench cache verify`` and ``cache clear``: every cache entry under
``$SKEWBENCH_CACHE`` checked against its checksum (bad ones moved aside, as a run would), or
the caches removed."""

from __future__ import annotations

import shutil
from pathlib import Path

#: the cache folders skewbench writes under ``$SKEWBENCH_CACHE`` (``clear`` removes only these
#: and the data sets' Parquet caches, never anything else in the folder)
KINDS = ("embeddings", "tuning", "llm", "models", "recommend_data")


def verify_caches(root: Path) -> list[str]:
    """One line per kind: entries checked and entries moved aside."""
    from skewbench.data.stored import verify as verify_stored
    from skewbench.encoders.cache import EmbeddingStore
    from skewbench.encoders.models import verify_assembled
    from skewbench.models.llm.scorer import PromptCache
    from skewbench.tuning_memo import read_record

    lines = []
    shards = sorted((root / "embeddings").glob("*/shard-*.npz"))
    for folder in sorted({p.parent for p in shards}):
        EmbeddingStore(folder).refresh()  # reads every shard: bad ones are moved aside
    lines.append(_line("embedding shards", len(shards), sum(not p.exists() for p in shards)))
    records = sorted((root / "tuning").glob("*.json"))
    bad = sum(read_record(p) is None for p in records)
    lines.append(_line("tuning records", len(records), bad))
    checked = moved = 0
    for path in sorted((root / "llm").glob("*.sqlite")):
        cache = PromptCache(path)
        try:
            n, b = cache.verify()
        finally:
            cache.close()
        checked, moved = checked + n, moved + b
    lines.append(_line("LLM answers", checked, moved))
    folders = verify_assembled(root / "models") if (root / "models").is_dir() else (0, 0)
    lines.append(_line("assembled model folders", *folders))
    lines.append(_line("loaded data sides", *verify_stored(root / "recommend_data")))
    return lines


def _line(what: str, checked: int, moved: int) -> str:
    tail = f"{moved} did not match and were moved aside" if moved else "all match"
    return f"{what}: {checked} checked, {tail}"


def clear_caches(root: Path) -> list[str]:
    """Remove skewbench's cache folders and Parquet caches under ``root``; one line each."""
    lines = []
    targets = [root / kind for kind in KINDS] + sorted(root.glob("*.parquet"))
    for path in targets:
        if not path.exists():
            continue
        size = (
            sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            if path.is_dir()
            else path.stat().st_size
        )
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        lines.append(f"removed {path} ({size / 1e6:.1f} MB)")
    return lines or [f"nothing to remove under {root}"]
