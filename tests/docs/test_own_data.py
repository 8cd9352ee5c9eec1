"""Every config of docs/own-data.md runs verbatim from a folder holding tiny files with its
names and columns, end to end: validate, run, and the full report (Markdown, HTML, exports) —
with the page's own column mappings and cutoffs, so a report on any data-set label and any
cutoff cannot regress."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skewbench.cli import main
from skewbench.runner.run import store_path
from skewbench.runner.store import ResultStore
from tests.data.own_files import BRANDS, write_files

PAGE = Path(__file__).resolve().parents[2] / "docs" / "own-data.md"
EXAMPLE = re.compile(r"<!-- byod:(\w+) -->\n```yaml\n(.*?)```", re.S)


def examples() -> dict[str, str]:
    """Task → the page's config for it, as written."""
    return dict(EXAMPLE.findall(PAGE.read_text(encoding="utf-8")))


@pytest.fixture
def shop(tmp_path):
    return write_files(tmp_path)


def test_the_page_has_one_example_per_task():
    assert sorted(examples()) == ["categorize", "recommend", "search"]


def _run_verbatim(task: str, root: Path, monkeypatch) -> tuple[pd.DataFrame, Path]:
    """Run the page's ``task`` config as written, from ``root``; (cells, report folder)."""
    monkeypatch.chdir(root)
    text = examples()[task]
    (root / f"{task}.yaml").write_text(text, encoding="utf-8")
    name = re.search(r"^name: (\S+)", text, re.M).group(1)
    assert main(["validate", f"{task}.yaml"]) == 0
    assert main(["run", f"{task}.yaml", "--quiet"]) == 0
    out = root / "results" / name
    with ResultStore(store_path(out)) as store:
        table = store.table()
    report = out / "report"
    for export in ("report.md", "report.html", "cells.csv", "summary.csv", "leaderboards.tex"):
        assert (report / export).is_file(), export
    assert (report / f"units_{task}.parquet").is_file()
    for figure in report.glob("*.svg"):
        # a table's label holds paths and column mappings: the name is cut, with a hash of it
        assert len(figure.name) <= 120, figure.name
    return table, report


def _has_brand_and_price_shares(table: pd.DataFrame) -> None:
    for group in [*(f"brand={b}" for b in BRANDS), "price=q1", "price=q4"]:
        assert f"exposure_share[{group}]" in table.columns, group


def test_categorize_example(shop, monkeypatch):
    table, report = _run_verbatim("categorize", shop, monkeypatch)
    assert len(table) == 4
    assert (table["balanced_accuracy"] > 0.5).all()  # the classes' words separate them
    assert "balanced_accuracy" in (report / "report.md").read_text(encoding="utf-8")


def test_recommend_example(shop, monkeypatch):
    table, report = _run_verbatim("recommend", shop, monkeypatch)
    assert len(table) == 4
    _has_brand_and_price_shares(table)
    assert "exposure_share[category=Kitchen]" in table.columns
    shares = table[[f"exposure_share[brand={b}]" for b in BRANDS]].sum(axis=1)
    np.testing.assert_allclose(shares.to_numpy(), 1.0)
    assert (table["ndcg@5"] > 0).all()
    md = (report / "report.md").read_text(encoding="utf-8")
    # cutoffs: [5]: the headline and its paired tests are at @5, the leaderboard follows
    head = md.split("## Headline", 1)[1].split("## Task:", 1)[0]
    assert "Δ ndcg@5" in head and "p_holm (ndcg@5)" in head
    assert "| recall@5 " in md and "recall@20" not in md
    assert list(report.glob("recommend_*.svg"))  # the trade-off plots at @5 are drawn
    # group inequality per grouping, beside the catalog's and the relevant pairs' Gini
    assert "Exposure inequality between groups" in md
    for g in ("popularity", "brand", "category", "manufacturer", "price"):
        assert table[f"exposure_gini[{g}]"].between(0, 1).all(), g
        assert f"catalog_gini[{g}]" in table.columns
    # the unsold catalog items count: brands cycle over all 30 items, 10 each
    np.testing.assert_allclose(table["catalog_share[brand=Acme]"], 1 / 3)
    # GAUC re-derived from the stored per-user table: Σ n_test·auc / Σ n_test
    with ResultStore(store_path(report.parent)) as store:
        for _, cell in table.iterrows():
            units = store.units(cell["key"])
            want = (units["auc"] * units["n_test"]).sum() / units["n_test"].sum()
            assert cell["gauc"] == pytest.approx(want)


def test_search_example(shop, monkeypatch):
    table, report = _run_verbatim("search", shop, monkeypatch)
    assert len(table) == 4
    _has_brand_and_price_shares(table)
    assert (table["ndcg@5"] > 0.5).all()  # the words of each query are in its relevant items
    md = (report / "report.md").read_text(encoding="utf-8")
    assert "| ndcg@5 " in md and "ndcg@10" not in md
    # category_level: 2, popularity from the orders file, a prior that uses it
    assert "exposure_share[category=Kitchen > Mugs]" in table.columns
    assert "exposure_gini[popularity]" in table.columns
    arp = table.set_index("model")["arp"]
    assert (arp > 0).all() and arp["bm25_pop"].min() > arp["bm25"].max()
    assert "Not available on this data: private_share" in md
