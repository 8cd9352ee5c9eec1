"""A RecBole folder, Amazon-2023 JSONL files and a MovieLens folder run through recommend end
to end — validate, run, report — as docs/own-data.md's example, and user attributes (RecBole
``.user``, MovieLens ``users.dat``, a ``table``'s ``users`` file) reach the per-user table
("who is served")."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from skewbench import specs
from skewbench.cli import main
from skewbench.data.sources.table import freeze
from skewbench.runner.run import store_path
from skewbench.runner.store import ResultStore
from skewbench.tasks.recommend.data import load

FIX = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "own-data" / "formats.yaml"
DOC = ROOT / "docs" / "own-data.md"


def test_formats_example_runs_through_recommend_with_report(tmp_path, monkeypatch):
    """docs/own-data.md's example, verbatim, from another working folder."""
    assert EXAMPLE.read_text() in DOC.read_text()  # the page shows the file as it is
    monkeypatch.chdir(tmp_path)
    assert main(["validate", str(EXAMPLE)]) == 0
    assert main(["run", str(EXAMPLE), "--output", "out"]) == 0
    report = tmp_path / "out" / "report"
    assert (report / "report.md").is_file() and (report / "report.html").is_file()
    with ResultStore(store_path(tmp_path / "out")) as store:
        cells = store.table()
    sets = cells["dataset"].str.split("(").str[0]
    assert sorted(sets) == ["amazon2023", "movielens", "recbole"]
    units = pd.read_parquet(report / "units_recommend.parquet")
    by_set = dict(list(units.groupby(units["dataset"].str.split("(").str[0])))
    assert set(by_set["recbole"]["ug_gender"]) == {"F", "M"}  # from shop.user
    assert set(by_set["movielens"]["ug_gender"]) <= {"F", "M"}  # from users.dat
    amazon = cells[sets == "amazon2023"].iloc[0]
    shares = [amazon[f"exposure_share[brand={b}]"] for b in ("Acme", "Bolt", "Own")]
    assert abs(sum(shares) - 1) < 1e-9 and min(shares) > 0
    assert (cells["ndcg@10"] > 0).all()
    assert "Who is served" in (report / "report.md").read_text()


def test_table_users_file_gives_the_user_groups(tmp_path):
    orders = pd.read_csv(FIX / "recbole" / "shop" / "shop.inter", sep="\t")
    orders.columns = ["customer", "sku", "rating", "time"]
    orders.to_csv(tmp_path / "orders.csv", index=False)
    ids = [f"u{i}" for i in range(40)]
    plans = pd.DataFrame({"customer": ids, "plan": ["a"] * 25 + ["b"] * 15, "age": range(40)})
    plans.iloc[:38].to_csv(tmp_path / "customers.csv", index=False)  # u38, u39: no row
    params = {
        "interactions": {
            "path": str(tmp_path / "orders.csv"),
            "columns": {"user_id": "customer", "item_id": "sku", "timestamp": "time"},
        },
        "users": {"path": str(tmp_path / "customers.csv"), "columns": {"user_id": "customer"}},
    }
    defaults = specs.defaults(specs.find("dataset", "recommend", "table").spec)
    data = load("table", freeze({**defaults, **params}))
    plan = pd.Series(data.user_attributes["plan"], index=data.users)
    # b (13 users with a row) and unknown (u38, u39) are both under 20 users: merged
    assert plan["u0"] == "a" and plan["u30"] == "other" and plan["u39"] == "other"
    assert plan.value_counts().to_dict() == {"a": 25, "other": 15}
    assert set(data.user_attributes) == {"plan"}  # age: four bands of < 20 users → dropped
