"""Your own data through a YAML config: tiny interaction/catalog files run recommend, tiny
query/judgment/catalog files run search (brand and price exposure in the results), and bad
files are refused by ``validate`` with every problem at once."""

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skewbench.cli import main
from skewbench.runner.config import load_config
from skewbench.runner.run import run_config, store_path
from skewbench.runner.store import ResultStore

BRANDS = ["Acme", "Bolt", "Own"]


def _catalog(n_items: int) -> pd.DataFrame:
    i = np.arange(n_items)
    return pd.DataFrame(
        {
            "sku": [f"s{k}" for k in i],
            "name": [f"{['red', 'blue', 'green'][k % 3]} {['mug', 'cup'][k % 2]} {k}" for k in i],
            "cat": [["Kitchen > Mugs", "Kitchen > Cups"][k % 2] for k in i],
            "brand": [BRANDS[k % 3] for k in i],
            "manufacturer": [f"m{k % 4}" for k in i],
            "price": (1.0 + i).astype(float),
        }
    )


CATALOG_MAP = "{item_id: sku, title: name, category_path: cat}"
OWN_DATA = Path(__file__).resolve().parents[2] / "docs" / "own-data.md"


def readme_config(task: str, root: Path) -> Path:
    """docs/own-data.md's bring-your-own-data config of ``task``, its data/ paths under ``root``."""
    text = OWN_DATA.read_text(encoding="utf-8").split(f"<!-- byod:{task} -->\n```yaml\n", 1)[1]
    path = root / f"{task}.yaml"
    path.write_text(text.split("```", 1)[0].replace("data/", f"{root}/data/"))
    return path


def _write_config(tmp_path, body: str) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(
        f"name: byod\nseeds: 1\noutput: {tmp_path / 'out'}\nexperiments:\n"
        + textwrap.indent(textwrap.dedent(body), "  ")
    )
    return str(path)


@pytest.fixture
def shop(tmp_path):
    """Tiny files with docs/own-data.md's names and columns, under tmp_path/data/."""
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    n_users, n_items = 40, 24
    rows = []
    for u in range(n_users):
        # popularity-skewed choices: low item numbers are bought most
        items = rng.choice(n_items, 8, replace=False, p=np.r_[np.full(6, 3.0), np.ones(18)] / 36)
        rows += [(f"c{u}", f"s{k}", t) for t, k in enumerate(items)]
    pd.DataFrame(rows, columns=["customer", "sku", "order"]).to_csv(data / "orders.csv")
    cat = _catalog(n_items)
    cat.to_csv(data / "items.csv", index=False)
    queries = pd.DataFrame({"qid": ["q1", "q2", "q3"], "q": ["red mug", "blue cup", "green"]})
    queries.to_csv(data / "queries.csv", index=False)
    judged = [
        (q, s, 2)
        for q, words in zip(queries["qid"], queries["q"], strict=True)
        for s, name in zip(cat["sku"], cat["name"], strict=True)
        if all(w in name for w in words.split())
    ]
    pd.DataFrame(judged, columns=["qid", "sku", "grade"]).to_parquet(data / "judgments.parquet")
    words = {"shoes": "lace sole heel", "hats": "brim wool cap", "bags": "strap zip leather"}
    reviews = [
        (f"{' '.join(rng.choice(w.split(), 3))} nice {i}", label)
        for label, w in words.items()
        for i in range({"shoes": 60, "hats": 30, "bags": 20}[label])
    ]
    pd.DataFrame(reviews, columns=["review", "category"]).to_csv(data / "reviews.csv")
    return tmp_path


def _run(config: Path, root: Path) -> pd.DataFrame:
    assert main(["validate", str(config)]) == 0
    summary = run_config(load_config(config), root / "out", progress=False)
    assert summary.failed == 0 and summary.finished == summary.total
    with ResultStore(store_path(root / "out")) as store:
        return store.table()


def test_readme_categorize_example_runs(shop):
    table = _run(readme_config("categorize", shop), shop)
    assert len(table) == 4
    assert (table["balanced_accuracy"] > 0.5).all()  # the classes' words separate them


def test_readme_recommend_example_runs(shop):
    table = _run(readme_config("recommend", shop), shop)
    assert len(table) == 4
    for brand in BRANDS:
        assert f"exposure_share[brand={brand}]" in table.columns
    assert "exposure_share[price=q1]" in table.columns
    assert "exposure_share[category=Kitchen]" in table.columns
    shares = table[[f"exposure_share[brand={b}]" for b in BRANDS]].sum(axis=1)
    np.testing.assert_allclose(shares.to_numpy(), 1.0)
    assert (table["ndcg@5"] > 0).all()


def test_readme_search_example_runs(shop):
    table = _run(readme_config("search", shop), shop)
    assert len(table) == 2
    for brand in BRANDS:
        assert f"exposure_share[brand={brand}]" in table.columns
    assert "exposure_share[price=q4]" in table.columns
    assert (table["ndcg@5"] > 0.5).all()  # the words of each query are in its relevant items


def test_bad_files_and_typos_are_all_reported_by_validate(shop, capsys):
    pd.DataFrame({"customer": ["a"], "sku": ["s1"]}).to_csv(
        shop / "data" / "no_time.csv", index=False
    )
    cat = _catalog(3)
    pd.concat([cat, cat.iloc[:1]]).to_csv(shop / "data" / "dup.csv", index=False)
    cfg = _write_config(
        shop,
        f"""\
        - task: recommend
          datasets:
            - name: table
              interactions:
                path: {shop / "data" / "no_time.csv"}
                columns: {{user_id: customer, item_id: sku}}
              user_kk: 2
          models: [popularity]
        - task: search
          datasets:
            - name: table
              queries: {shop / "data" / "missing.csv"}
              qrels: {shop / "data" / "missing.csv"}
              catalog: {{path: {shop / "data" / "dup.csv"}, columns: {CATALOG_MAP}}}
          models: [bm25]
        """,
    )
    assert main(["validate", cfg]) == 2
    err = capsys.readouterr().err
    assert "dataset.params.user_kk: unknown parameter" in err and "'user_k'" in err
    assert "path does not exist" in err and "missing.csv" in err
    assert "Traceback" not in err
    # the file check of a data set whose params are fine still runs
    cfg = _write_config(
        shop,
        f"""\
        - task: recommend
          datasets:
            - name: table
              interactions: {{path: {shop / "data" / "no_time.csv"}, columns: {{user_id: customer, item_id: sku}}}}
          models: [popularity]
        """,
    )
    assert main(["validate", cfg]) == 2
    assert "column 'timestamp'" in capsys.readouterr().err
