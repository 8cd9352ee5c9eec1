"""The README's metric table is the registry's, so documentation and code cannot drift."""

from pathlib import Path

from skewbench.cli import readme_with_metric_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_metric_table_matches_the_registry():
    text = README.read_text(encoding="utf-8")
    assert readme_with_metric_table(text) == text, (
        "README metric table is stale: run `skewbench metrics --update-readme README.md`"
    )
