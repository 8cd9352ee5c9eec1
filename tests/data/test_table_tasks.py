"""Your own data through a YAML config: the tiny files docs/own-data.md's examples read (run
end to end by ``tests/docs/test_own_data.py``), and bad files refused by ``validate`` with
every problem at once."""

import textwrap

import pandas as pd
import pytest

from skewbench.cli import main
from tests.data.own_files import catalog, write_files

CATALOG_MAP = "{item_id: sku, title: name, category_path: cat}"


def _write_config(tmp_path, body: str) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(
        f"name: byod\nseeds: 1\noutput: {tmp_path / 'out'}\nexperiments:\n"
        + textwrap.indent(textwrap.dedent(body), "  ")
    )
    return str(path)


@pytest.fixture
def shop(tmp_path):
    return write_files(tmp_path)


def test_bad_files_and_typos_are_all_reported_by_validate(shop, capsys):
    pd.DataFrame({"customer": ["a"], "sku": ["s1"]}).to_csv(
        shop / "data" / "no_time.csv", index=False
    )
    cat = catalog(3)
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
