"""The output folder: checked writable before any work, and kept to one config.

``<output>/run.json`` records the name and master seed of the config whose results the folder
holds. Another config (another name) or the same config under another master seed written into
the same folder is refused rather than merged into its store and report (the report would pool
both seeds' replicates as one); the same config, extended or resumed, goes on (finished cells
are skipped).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from skewbench.errors import ConfigError

RUN_FILE = "run.json"


def check_output(output: Path, name: str, seed: int | None = None) -> None:
    """ConfigError unless ``output`` can be created and written and holds no other config's
    results (another name, or another master ``seed``). Creates nothing (``validate`` runs it
    too)."""
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise ConfigError(f"output {str(output)!r} is a file, not a folder; choose another output")
    existing = output
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"output {str(output)!r}: {str(existing)!r} is a file, not a folder")
    try:  # the only sure test of writability (access() says yes to root on a read-only mount)
        with tempfile.TemporaryFile(dir=existing, prefix=".skewbench-probe-"):
            pass
    except OSError as err:
        raise ConfigError(
            f"output {str(output)!r}: cannot write in {str(existing)!r} ({err.strerror}); "
            "choose a writable output (--output or the config's output:)"
        ) from None
    owner = owner_of(output)
    if owner is not None and owner != name:
        raise ConfigError(
            f"output {str(output)!r} holds the results of config {owner!r}; config {name!r} "
            "would be merged into them: give it its own output (--output or output:), or "
            "rename it back"
        )
    recorded = seed_of(output)
    if seed is not None and recorded is not None and recorded != seed:
        raise ConfigError(
            f"output {str(output)!r} holds config {name!r} run with master seed {recorded}; "
            f"seed {seed} would be merged into its replicates: give it its own output "
            f"(--output or output:), or set seed: {recorded} back"
        )


def claim_output(output: Path, name: str, seed: int | None = None) -> None:
    """Record ``name`` and ``seed`` as the folder's config (after :func:`check_output`, under
    the lock)."""
    path = Path(output) / RUN_FILE
    if owner_of(Path(output)) == name and seed_of(Path(output)) == seed:
        return
    record: dict[str, object] = {"name": name}
    if seed is not None:
        record["seed"] = seed
    tmp = path.with_name(f".{RUN_FILE}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(record) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _record(output: Path) -> dict:
    try:
        record = json.loads((Path(output) / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def owner_of(output: Path) -> str | None:
    """The config name recorded in ``output``, or None (no record, or one that is unreadable:
    a folder from before the record existed)."""
    name = _record(output).get("name")
    return None if name is None else str(name)


def seed_of(output: Path) -> int | None:
    """The master seed recorded in ``output``, or None (no record, or one from before seeds
    were recorded: such a folder takes the next run's seed)."""
    seed = _record(output).get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None
