"""Relative data paths in a config resolve against the config file's folder, not the working
folder (absolute and ``~`` paths are kept; other parameters untouched)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from skewbench.runner.config import load_config


def test_relative_data_paths_resolve_against_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "project" / "configs"
    folder.mkdir(parents=True)
    config = folder / "c.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            name: paths
            experiments:
              - task: recommend
                datasets:
                  - name: table
                    interactions: {path: ../data/orders.csv, columns: {user_id: customer}}
                    catalog: ../data/items.csv
                    users: /abs/users.csv
                  - name: recbole
                    path: shop
                    dataset: shop
                    sweep: {min_rating: [3, 4]}
                  - name: amazon2023
                    reviews: ~/Shop.jsonl
                    meta: meta/Shop.jsonl
                models: [popularity]
              - task: categorize
                datasets: [{name: table, path: reviews.csv, label: category}]
                models: [tfidf_lr]
            """
        )
    )
    monkeypatch.chdir(tmp_path)  # elsewhere: the working folder must not matter
    exp, cat = load_config(Path("project/configs/c.yaml")).experiments
    table, recbole, amazon = (d.params for d in exp.datasets)
    assert table["interactions"] == {
        "path": str(folder / "../data/orders.csv"),
        "columns": {"user_id": "customer"},
    }
    assert table["catalog"] == str(folder / "../data/items.csv")
    assert table["users"] == "/abs/users.csv"
    assert recbole == {"path": str(folder / "shop"), "dataset": "shop"}  # a name, not a path
    assert amazon == {"reviews": "~/Shop.jsonl", "meta": str(folder / "meta/Shop.jsonl")}
    assert cat.datasets[0].params["path"] == str(folder / "reviews.csv")


def test_reader_cells_are_keyed_by_content_not_path(tmp_path):
    """A moved RecBole folder keeps its cells' keys; an edited Amazon meta file (an optional
    path parameter) changes them."""
    import shutil

    from skewbench.runner.grid import expand

    fix = Path(__file__).resolve().parents[1] / "data" / "fixtures"
    for name in ("recbole", "amazon2023"):
        shutil.copytree(fix / name, tmp_path / "a" / name)

    def keys(root: Path) -> list[str]:
        config = root / "c.yaml"
        config.write_text(
            textwrap.dedent(
                """\
                name: keys
                experiments:
                  - task: recommend
                    datasets:
                      - {name: recbole, path: recbole/shop}
                      - {name: amazon2023, reviews: amazon2023/Shop.jsonl, meta: amazon2023/meta_Shop.jsonl}
                    models: [popularity]
                """
            )
        )
        return [c.key for c in expand(load_config(config), check=False)]

    before = keys(tmp_path / "a")
    shutil.move(tmp_path / "a", tmp_path / "b")
    assert keys(tmp_path / "b") == before  # moved: same content, same keys
    with open(tmp_path / "b" / "amazon2023" / "meta_Shop.jsonl", "a") as fh:
        fh.write('{"parent_asin": "B9999", "title": "new"}\n')
    after = keys(tmp_path / "b")
    assert after[0] == before[0] and after[1] != before[1]
