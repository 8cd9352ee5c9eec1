"""``skewbench profile`` on any registered data set and grouping: counts re-derived from the
files independently, outputs under the output folder (never the working folder)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from skewbench.cli import main

FIX = Path(__file__).parent / "fixtures"
RECBOLE = FIX / "recbole" / "shop"


def _pairs() -> pd.DataFrame:
    inter = pd.read_csv(RECBOLE / "shop.inter", sep="\t").iloc[:, :2]
    inter.columns = ["user_id", "item_id"]
    items = pd.read_csv(RECBOLE / "shop.item", sep="\t")
    items.columns = [c.split(":")[0] for c in items.columns]
    return inter.drop_duplicates().merge(items, on="item_id")


def _counts(folder: Path, stem: str) -> dict[str, int]:
    (csv,) = folder.glob(f"{stem}*.csv")
    assert csv.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    df = pd.read_csv(csv, dtype={0: str})
    return dict(zip(df.iloc[:, 0], df["count"], strict=True))


def test_profile_any_grouping_of_a_reader(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    pairs = _pairs()
    base = ["profile", "recbole", "--param", f"path={RECBOLE}", "--output", "out"]
    assert main([*base, "--by", "brand"]) == 0
    assert (
        _counts(tmp_path / "out", "profile_recbole_brand")
        == pairs["brand"].value_counts().to_dict()
    )
    assert main(base) == 0  # default: popularity, one class per item
    assert _counts(tmp_path / "out", "profile_recbole_popularity") == (
        pairs["item_id"].value_counts().to_dict()
    )
    assert main([*base, "--by", "category"]) == 0
    first = pairs["categories"].str.split().str[0].value_counts().to_dict()
    assert _counts(tmp_path / "out", "profile_recbole_category") == first
    assert main([*base, "--by", "price"]) == 0
    prices = pairs.drop_duplicates("item_id")["price"].to_numpy()
    edges = np.quantile(prices, [0.25, 0.5, 0.75])
    band = pairs["price"].map(lambda p: f"q{1 + int((p >= edges).sum())}")
    assert _counts(tmp_path / "out", "profile_recbole_price") == band.value_counts().to_dict()
    assert "one row = an interaction" in capsys.readouterr().out
    assert main([*base, "--by", "colour"]) == 2
    assert "no grouping 'colour'" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing else written here


def test_profile_a_config_writes_under_its_output_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pairs = _pairs()
    pairs.rename(columns={"item_id": "sku"}).assign(t=0).to_csv(tmp_path / "orders.csv")
    items = pairs.drop_duplicates("item_id")[["item_id", "title", "brand"]]
    items.to_csv(tmp_path / "items.csv", index=False)
    config = tmp_path / "shop.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            name: shop
            output: {tmp_path / "results" / "shop"}
            experiments:
              - task: recommend
                datasets:
                  - name: table
                    interactions:
                      path: {tmp_path / "orders.csv"}
                      columns: {{item_id: sku, timestamp: t}}
                    catalog: {tmp_path / "items.csv"}
                models: [popularity]
            """
        )
    )
    assert main(["profile", str(config), "--by", "brand"]) == 0
    counts = _counts(tmp_path / "results" / "shop" / "profile", "profile_table_brand")
    assert counts == pairs["brand"].value_counts().to_dict()


def test_the_profile_commands_of_the_docs_run(tmp_path, monkeypatch, capsys):
    """docs/own-data.md's profile commands, verbatim from the repository root (output
    redirected into tmp_path)."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "own-data.md").read_text(encoding="utf-8")
    block = text.split("### Profiles of your data", 1)[1].split("```\n", 2)[1]
    commands = [line.split()[1:] for line in block.splitlines() if line.startswith("skewbench")]
    assert len(commands) == 3
    monkeypatch.chdir(root)
    for argv in commands:
        assert main([*argv, "--output", str(tmp_path)]) == 0, argv
    assert len(list(tmp_path.glob("profile_*.png"))) == 5  # the config holds three data sets
    assert "Lorenz" not in capsys.readouterr().err
