"""Both renderers handle every block type, and refuse one they do not know."""

from __future__ import annotations

import pandas as pd
import pytest

from skewbench.report.render import (
    Details,
    Figure,
    Heading,
    Paragraph,
    Table,
    to_html,
    to_markdown,
)


def _blocks(tmp_path):
    png = tmp_path / "plot.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    frame = pd.DataFrame({"model": ["ease", "ease"], "ndcg@10": [0.31234, 0.1]})
    return [
        Heading("Report", 1),
        Paragraph("The headline.", style="headline"),
        Heading("Recommend", 2),
        Heading("Leaderboard", 3),
        Table(frame, sticky=1, group="model", heat=["ndcg@10"]),
        Paragraph("a note", style="note"),
        Details("More", [Heading("Hidden", 3, toc=False), Figure(png)]),
    ]


def test_markdown_renders_every_block(tmp_path):
    md = to_markdown(_blocks(tmp_path), tmp_path)
    assert md.startswith("# Report\n\nThe headline.\n\n## Recommend\n\n### Leaderboard\n\n")
    assert "| ease    | 0.312     |" in md and "*a note*" in md
    assert "**More**\n\n### Hidden\n\n![plot](plot.png)" in md


def test_html_renders_every_block_and_lists_headings(tmp_path):
    page = to_html(_blocks(tmp_path))
    assert "<p class='headline'>The headline.</p>" in page and "<p class='note'>a note</p>" in page
    assert "<h3 id='leaderboard'>Leaderboard</h3>" in page
    assert "<details><summary>More</summary>" in page and "data:image/png;base64," in page
    toc = page[page.index("<nav") : page.index("</nav>")]
    assert "#recommend" in toc and "#leaderboard" in toc and "Hidden" not in toc
    assert "background:rgba(11,92,173,0.172)" in page  # heat: 0.312 of the full shade


@pytest.mark.parametrize("render", [lambda b, p: to_markdown(b, p), lambda b, p: to_html(b)])
def test_an_unknown_block_is_refused_not_dropped(tmp_path, render):
    with pytest.raises(AssertionError):
        render([Heading("x", 2), "tabel"], tmp_path)


def test_an_svg_figure_is_linked_in_markdown_and_inlined_in_html(tmp_path):
    svg = tmp_path / "plot.svg"
    svg.write_text(
        "<?xml version='1.0'?>\n<svg xmlns='http://www.w3.org/2000/svg'><text>x</text></svg>"
    )
    assert "![plot](plot.svg)" in to_markdown([Figure(svg, fit=True)], tmp_path)
    page = to_html([Figure(svg, fit=True)])
    assert "<figure class='fit' role='img' aria-label='plot'><svg xmlns=" in page
    assert "<?xml" not in page and "<img" not in page
