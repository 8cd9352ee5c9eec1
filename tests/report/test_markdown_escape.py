"""report.md carries own data's names and labels: HTML in them is shown, not interpreted."""

from pathlib import Path

import pandas as pd

from skewbench.report.render import Heading, Paragraph, Table, to_markdown

PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<!-- hidden", "a|b"]


def test_markdown_escapes_tags_and_pipes():
    table = pd.DataFrame({"model <b>": PAYLOADS, "ndcg@5": [0.1, 0.2, 0.3, 0.4]})
    md = to_markdown(
        [Heading(PAYLOADS[0], 2), Paragraph(PAYLOADS[1], style="note"), Table(table)], Path(".")
    )
    assert "<script" not in md and "<img" not in md and "<!--" not in md and "<b>" not in md
    assert "&lt;script>alert(1)&lt;/script>" in md and "a\\|b" in md
    assert "p < 0.05" in to_markdown([Paragraph("p < 0.05")], Path("."))  # not a tag: kept
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert {line.count("|") - line.count("\\|") for line in rows} == {3}  # two columns each
