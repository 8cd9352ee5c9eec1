"""The README's generated tables (metrics, components) equal their sources, so docs and code cannot drift."""

from pathlib import Path

from skewbench.cli import readme_with_metric_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_metric_table_matches_the_registry():
    text = README.read_text(encoding="utf-8")
    assert readme_with_metric_table(text) == text, (
        "README metric table is stale: run `skewbench metrics --update-readme README.md`"
    )


def test_readme_component_tables_are_generated():
    from skewbench.specs import readme_with_component_tables

    text = README.read_text(encoding="utf-8")
    assert readme_with_component_tables(text) == text, (
        "README component tables are stale: run `skewbench components --update-readme README.md`"
    )
