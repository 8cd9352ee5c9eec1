"""Own-data cells are keyed by the content of their files, not by the path: a changed file at
the same path is recomputed, the same bytes at another path are not, and the report names the
fingerprint. Bundled data sets keep their keys (tests/pipeline/test_pinned.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from skewbench.data.fingerprint import file_fingerprint, folder_fingerprint
from skewbench.runner.config import parse_config
from skewbench.runner.grid import expand
from skewbench.runner.run import run_config, store_path
from skewbench.runner.store import ResultStore


def _orders(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = [
        (f"u{u}", f"i{k}", t)
        for u in range(30)
        for t, k in enumerate(
            rng.choice(20, 6, replace=False, p=np.r_[np.full(5, 3.0), np.ones(15)] / 30)
        )
    ]
    pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]).to_csv(path, index=False)


def _config(data: Path, out: Path) -> dict:
    return {
        "name": "fp",
        "output": str(out),
        "experiments": [
            {
                "task": "recommend",
                "datasets": [{"name": "table", "interactions": str(data), "user_k": 2}],
                "models": ["popularity", "random"],
                "options": {"k": 5, "cutoffs": [5], "exposure_k": 5},
            }
        ],
    }


def _table(out: Path) -> pd.DataFrame:
    with ResultStore(store_path(out)) as store:
        return store.table().sort_values("model").reset_index(drop=True)


def test_file_fingerprint_is_size_and_content(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x,y\n1,2\n")
    b.write_text("x,y\n1,2\n")
    assert file_fingerprint(a) == file_fingerprint(b)
    assert file_fingerprint(a).startswith("8-")
    b.write_text("x,y\n1,3\n")
    assert file_fingerprint(a) != file_fingerprint(b)
    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copy(a, sub / "a.csv")
    assert folder_fingerprint(sub) == folder_fingerprint(sub, ("a.csv",))
    (sub / "a.csv").write_text("changed\n")
    assert folder_fingerprint(sub) != folder_fingerprint(sub, ("missing.csv",))


def test_keys_follow_content_not_path(tmp_path):
    """The keys alone (no run): a moved file keeps them, changed bytes get new ones."""
    data = tmp_path / "orders.csv"
    _orders(data, 0)

    def keys(path: Path) -> set[str]:
        return {c.key for c in expand(parse_config(_config(path, tmp_path / "out")), check=False)}

    first = keys(data)
    moved = tmp_path / "elsewhere" / "renamed.csv"
    moved.parent.mkdir()
    shutil.move(data, moved)
    assert keys(moved) == first
    _orders(moved, 1)
    assert keys(moved).isdisjoint(first)


@pytest.mark.slow  # two runs, each with its prepare child (~15 s on a loaded machine)
def test_key_follows_content_not_path(tmp_path):
    data = tmp_path / "orders.csv"
    _orders(data, 0)
    out = tmp_path / "out"
    first = run_config(parse_config(_config(data, out)), out, progress=False)
    assert (first.finished, first.failed) == (2, 0)
    before = _table(out)

    moved = tmp_path / "elsewhere" / "renamed.csv"
    moved.parent.mkdir()
    shutil.move(data, moved)
    again = run_config(parse_config(_config(moved, out)), out, progress=False)
    assert (again.skipped, again.finished) == (2, 0)  # same bytes: nothing recomputed

    _orders(moved, 1)  # new content at the same path
    fresh = run_config(parse_config(_config(moved, out)), out, progress=False)
    assert (fresh.skipped, fresh.finished, fresh.failed) == (0, 2, 0)
    after = _table(out)
    new = after[~after["key"].isin(before["key"])].reset_index(drop=True)
    assert len(new) == 2
    assert new.loc[0, "ndcg@5"] != before.loc[0, "ndcg@5"]  # popularity read the new bytes
    # the same new bytes at a third path give the very same keys
    copy = tmp_path / "copy.csv"
    shutil.copy(moved, copy)
    keys = {c.key for c in expand(parse_config(_config(copy, out)), check=False)}
    assert keys == set(new["key"])


def test_stored_config_and_report_name_the_fingerprint(tmp_path):
    data = tmp_path / "orders.csv"
    _orders(data, 0)
    config = parse_config(_config(data, tmp_path / "out"))
    cell = expand(config, check=False)[0]
    fp = file_fingerprint(data)
    assert cell.dataset.files == ((str(data), fp),)
    stored = cell.to_dict()["dataset"]
    assert stored["files"] == {str(data): fp} and stored["fingerprint"] == cell.dataset.fingerprint
    assert str(data) not in yaml.safe_dump(cell.to_dict(keyed=True))

    from skewbench.report.build import fingerprint_blocks

    (block,) = fingerprint_blocks({cell.key: cell.to_dict()})
    assert cell.dataset.fingerprint in block.text and fp in block.text


def test_bundled_data_sets_carry_no_files():
    config = parse_config(
        {
            "name": "b",
            "experiments": [
                {"task": "recommend", "datasets": ["movielens100k"], "models": ["popularity"]}
            ],
        }
    )
    (cell,) = expand(config, check=False)
    assert cell.dataset.files == () and "files" not in cell.to_dict()["dataset"]
    assert cell.to_dict(keyed=True) == cell.to_dict()


def test_recommend_runs_without_a_catalog_or_with_only_some_optional_columns(tmp_path):
    """No catalog; a catalog of item_id, title, brand only (no category, manufacturer or
    price): both run (one run, one prepare child), and brand exposure is reported."""
    data = tmp_path / "orders.csv"
    _orders(data, 0)
    items = pd.DataFrame({"item_id": [f"i{k}" for k in range(20)]})
    items["title"] = "thing " + items["item_id"]
    items["brand"] = ["Acme", "Own"] * 10
    items.to_csv(tmp_path / "items.csv", index=False)
    config = _config(data, tmp_path / "out")
    bare = config["experiments"][0]["datasets"][0]
    config["experiments"][0]["datasets"] = [bare, {**bare, "catalog": str(tmp_path / "items.csv")}]
    config["experiments"][0]["models"] = ["popularity"]
    summary = run_config(parse_config(config), tmp_path / "out", progress=False)
    assert (summary.finished, summary.failed) == (2, 0)
    table = _table(tmp_path / "out")
    branded = table[table["dataset"].str.contains("catalog=")]
    shares = branded[["exposure_share[brand=Acme]", "exposure_share[brand=Own]"]].sum(axis=1)
    assert len(branded) == 1
    np.testing.assert_allclose(shares.to_numpy(), 1.0)


def test_esci_folder_fingerprints_the_two_files_its_reader_reads(tmp_path):
    from skewbench.data.sources import esci
    from skewbench.specs.base import DataPath
    from skewbench.specs.search import Esci

    (marker,) = [m for m in Esci.model_fields["path"].metadata if isinstance(m, DataPath)]
    assert marker.folder and marker.files == (esci.EXAMPLES_FILE, esci.PRODUCTS_FILE)
    for name in marker.files:
        (tmp_path / name).write_bytes(b"x")
    before = folder_fingerprint(tmp_path, marker.files)
    (tmp_path / "notes.txt").write_text("not read by the reader")
    assert folder_fingerprint(tmp_path, marker.files) == before
    (tmp_path / esci.PRODUCTS_FILE).write_bytes(b"y")
    assert folder_fingerprint(tmp_path, marker.files) != before
