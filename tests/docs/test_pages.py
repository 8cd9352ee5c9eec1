"""The README is a short front door whose links resolve; the docs pages' generated tables
(metrics, components) equal their sources, so docs and code cannot drift."""

import re
from pathlib import Path

import pytest

from skewbench.cli import page_with_metric_table

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_metric_table_matches_the_registry():
    text = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert page_with_metric_table(text) == text, (
        "docs/metrics.md metric table is stale: run `skewbench metrics --update-doc`"
    )


def test_component_tables_are_generated():
    from skewbench.specs import page_with_component_tables

    text = (ROOT / "docs" / "components.md").read_text(encoding="utf-8")
    assert page_with_component_tables(text) == text, (
        "docs/components.md tables are stale: run `skewbench components --update-doc`"
    )


def _words(markdown: str) -> int:
    return len(markdown.split())


def test_readme_is_at_most_3000_words():
    assert _words(README.read_text(encoding="utf-8")) <= 3000


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_local_link_resolves(page):
    text = page.read_text(encoding="utf-8")
    missing = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            missing.append(target)
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_readme_links_every_docs_page():
    """Every docs page is linked from the README, or from a docs page the README links (a
    page added by one change is reachable before the README's own list names it)."""
    text = README.read_text(encoding="utf-8")
    direct = {p.name for p in (ROOT / "docs").glob("*.md") if f"(docs/{p.name})" in text}
    reachable = set(direct)
    for name in direct:
        page = (ROOT / "docs" / name).read_text(encoding="utf-8")
        reachable |= {t.split("#", 1)[0] for t in LINK.findall(page) if t.endswith(".md")}
    unlinked = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if p.name not in reachable]
    assert not unlinked, f"README does not link {unlinked}"


@pytest.mark.parametrize("phrase", ["previous README", "this branch", "helpers' jobs", "this work"])
def test_user_pages_hold_no_development_history(phrase):
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    hits = [p.name for p in pages if phrase.lower() in p.read_text(encoding="utf-8").lower()]
    assert not hits, f"{phrase!r} in {hits}: development history belongs in CHANGELOG.md"
