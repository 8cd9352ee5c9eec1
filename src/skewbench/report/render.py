"""Blocks of the report and their two renderings: Markdown and one self-contained HTML page.

A report is a list of typed blocks — :class:`Heading`, :class:`Paragraph`, :class:`Table`,
:class:`Figure`, :class:`Glossary`, :class:`Details` — and both renderers handle every type (a ``match`` ending in
``assert_never``), so a block they do not know is a type error, never a silent drop. Both come
from the same list, so they always say the same thing. The HTML page loads nothing from anywhere
else: plots are inlined (SVG), the stylesheet and the small table-sorting script are in the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, assert_never

import numpy as np
import pandas as pd

from skewbench.report import fmt, glossary


@dataclass(frozen=True)
class Heading:
    """A section title; level 1 (the report), 2 (a task) or 3; ``toc``: listed in the contents."""

    text: str
    level: Literal[1, 2, 3] = 2
    toc: bool = True


@dataclass(frozen=True)
class Paragraph:
    """Running text; ``note`` is set smaller, ``headline`` is highlighted."""

    text: str
    style: Literal["plain", "note", "headline"] = "plain"


@dataclass(frozen=True, eq=False)
class Table:
    """A table; cells shown as :func:`display_cells` writes them. ``sticky``: leading columns
    kept in view; ``group``: column whose value change starts a new row group; ``heat``:
    columns shaded by their value in [0, 1]."""

    frame: pd.DataFrame
    sticky: int = 0
    group: str | None = None
    heat: Sequence[str] = ()


@dataclass(frozen=True)
class Figure:
    """A plot written next to the report: an SVG, which Markdown links and the HTML page
    inlines (a PNG is embedded as an image).
    ``fit``: shrunk to the page's width (a plot drawn for a phone's width, such as the
    headline's); otherwise shown at its drawn size in a box that scrolls sideways where the
    page is narrower, so its text stays at least 10 px."""

    path: Path
    fit: bool = False


@dataclass(frozen=True)
class Glossary:
    """Term → one-line meaning; each term an anchor the column headers naming it link to."""

    entries: list[tuple[str, str]]


@dataclass(frozen=True)
class Details:
    """Blocks collapsed under a summary line in HTML (shown in full in Markdown)."""

    summary: str
    blocks: list[Block]


Block = Heading | Paragraph | Table | Figure | Glossary | Details


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "section"


MAX_FILE_NAME = 120  # characters; file systems refuse names over 255 bytes


def file_name(text: str, suffix: str = "") -> str:
    """A safe file name for ``text`` + ``suffix``: characters outside [A-Za-z0-9._-] become
    "_"; a long name (a data set label holding file paths) is cut and ends in a hash of it."""
    import hashlib

    name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text)
    if len(name) + len(suffix) > MAX_FILE_NAME:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        name = f"{name[: MAX_FILE_NAME - len(suffix) - 13]}-{digest}"
    return name + suffix


# ------------------------------------------------------------------------------ markdown


def display_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell as display text: strings as they are, numbers to 3 significant digits,
    missing values (None, NaN, NA) as a dash."""

    def show(v: object) -> str:
        if isinstance(v, str):
            return v
        if isinstance(v, bool | np.bool_):
            return str(bool(v))
        if v is None or v is pd.NA:
            return fmt.DASH
        if isinstance(v, int | float | np.integer | np.floating):
            return fmt.num(v)
        return str(v)

    return df.astype(object).map(show)


_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def md_text(text: object) -> str:
    """``text`` safe inside Markdown: a ``<`` that could open an HTML tag, comment or
    processing instruction becomes ``&lt;`` (own data's names and labels reach the report)."""
    return _TAG.sub("&lt;", str(text))


def to_markdown(blocks: list[Block], out: Path) -> str:
    parts: list[str] = []
    for b in blocks:
        match b:
            case Heading():
                parts.append("#" * b.level + " " + md_text(b.text))
            case Paragraph():
                text = md_text(b.text)
                parts.append(f"*{text}*" if b.style == "note" else text)
            case Table():
                cells = display_cells(b.frame).map(lambda v: md_text(v).replace("|", "\\|"))
                cells.columns = [md_text(c).replace("|", "\\|") for c in cells.columns]
                parts.append(cells.to_markdown(index=False, disable_numparse=True))
            case Figure():
                parts.append(f"![{b.path.stem}]({Path(b.path).relative_to(out).as_posix()})")
            case Glossary():
                parts.append(
                    "\n".join(f"- **{md_text(t)}**: {md_text(line)}" for t, line in b.entries)
                )
            case Details():
                parts.append(f"**{md_text(b.summary)}**")
                parts.append(to_markdown(b.blocks, out).rstrip("\n"))
            case _:
                assert_never(b)
    return "\n\n".join(parts) + "\n"


# ------------------------------------------------------------------------------ html

_CSS = """
:root{--ink:#1b1f24;--muted:#5c6670;--line:#d7dce1;--head:#f2f4f6;--accent:#0b5cad}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);margin:0;
 padding:1.5em clamp(0.75em,3vw,2.5em);max-width:100%}
main{max-width:1600px;margin:0 auto}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.3em;margin-top:2em;border-bottom:2px solid var(--line)}
h3{font-size:1.05em;margin-top:1.6em}
h1,h2,h3,p,li,summary,dt,dd{overflow-wrap:anywhere}p{max-width:75ch}.note{color:var(--muted);font-size:.9em;max-width:90ch}
nav.toc{background:var(--head);border:1px solid var(--line);padding:.5em 1em;margin:1em 0;
 font-size:.9em;max-width:75ch}
nav.toc ul{margin:.2em 0;padding-left:1.2em}
.scroll{overflow-x:auto;max-width:100%;margin:.4em 0 1.2em;border:1px solid var(--line)}
table{border-collapse:separate;border-spacing:0;font-size:13px;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
th{background:var(--head);position:sticky;top:0;cursor:pointer;user-select:none;text-align:left}
th.num{text-align:right}td.num{text-align:right}td.txt{text-align:left}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
.sticky{position:sticky;background:#fff;z-index:1}th.sticky{background:var(--head);z-index:2}
tr.gstart td{border-top:2px solid #9aa5b1}
.ci{color:var(--muted);font-size:.85em}
.headline{border-left:4px solid var(--accent);padding:.2em 1em;background:#f7fafd}
details{margin:.6em 0 1em}summary{cursor:pointer;font-weight:600}
a.gl{color:inherit;text-decoration:underline dotted #9aa5b1}
dl.glossary{max-width:90ch}dl.glossary dt{font-weight:600;margin-top:.4em}
dl.glossary dd{margin:0 0 0 1.5em}dl.glossary dt:target{background:#fff3c4}
figure{margin:.5em 0 1.5em;max-width:100%;overflow-x:auto}figure svg{height:auto}
figure.fit svg,figure img{max-width:100%;height:auto}
@media print{nav.toc{display:none}.scroll{overflow:visible;border:0}th{position:static}
 .sticky{position:static}details>*{display:block}body{font-size:11px}
 h2{break-before:page}table,figure{break-inside:avoid}}
"""

# Click a header to sort its table by that column (numbers by value, text alphabetically);
# row groups are dissolved while sorted by anything but the first column.
_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
 t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(e){
  if(e.target.closest('a')){return}
  var asc=th.getAttribute('aria-sort')!=='ascending';
  t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort')});
  th.setAttribute('aria-sort',asc?'ascending':'descending');
  var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
  function key(r){var c=r.cells[i],v=c.getAttribute('data-v');
   if(v!==null&&v!==''){return parseFloat(v)}return c.textContent.trim().toLowerCase()}
  rows.sort(function(x,y){var a=key(x),c=key(y);
   if(typeof a==='number'&&typeof c==='number'){return asc?a-c:c-a}
   a=String(a);c=String(c);return asc?a.localeCompare(c):c.localeCompare(a)});
  rows.forEach(function(r){r.classList.remove('gstart');b.appendChild(r)});
 })})});
"""

_NUM = re.compile(r"^[+\-−]?(\d[\d,]*\.?\d*(e[+\-−]?\d+)?|∞)( %)?$")


def _lead_number(text: str) -> str:
    head = text.split(" [", 1)[0].strip()
    return head if _NUM.match(head) else ""


def _numeric_value(text: str) -> str:
    head = _lead_number(text)
    if not head or head.endswith("∞"):
        return ""
    return head.replace("−", "-").replace(",", "").replace(" %", "").lstrip("+")


def _cell_html(text: str) -> str:
    if " [" in text and text.endswith("]") and _lead_number(text):
        mean, ci = text.split(" [", 1)
        return f"{html.escape(mean)} <span class='ci'>[{html.escape(ci)}</span>"
    return html.escape(text)


def _header_html(name: str, linked: set[str]) -> str:
    """A column header's attributes and text: a metric, group or statistic name carries its
    glossary lines as a tooltip and links to its entry (when the page has one)."""
    found = glossary.lookup(name)
    if not found:
        return f" scope='col'>{html.escape(name)}"
    tip = html.escape("\n".join(f"{t}: {line}" for t, line in found), quote=True)
    target = glossary.anchor(found[0][0])
    text = html.escape(name)
    if target in linked:
        text = f"<a class='gl' href='#{target}'>{text}</a>"
    return f" scope='col' title='{tip}'>{text}"


def _table_html(table: Table, linked: set[str]) -> str:
    cols = list(table.frame.columns)
    cells = display_cells(table.frame)
    numeric = {
        c: bool(len(cells)) and all(v == "–" or _lead_number(v) for v in cells[c]) for c in cols
    }
    sticky = min(int(table.sticky), len(cols))
    heat = set(table.heat)
    group = table.group
    # Sticky columns need fixed left offsets: give each a fixed width in ch.
    widths = [max([len(str(c))] + [len(v) for v in cells[c]]) + 3 for c in cols[:sticky]]
    lefts = [sum(widths[:i]) for i in range(sticky)]

    def attrs(j: int, head: bool) -> str:
        cls = ["num" if numeric[cols[j]] else "txt"]
        style = ""
        if j < sticky:
            cls.append("sticky")
            style = f"left:{lefts[j]}ch;min-width:{widths[j]}ch;max-width:{widths[j]}ch;"
        return f" class='{' '.join(cls)}'" + (f" style='{style}'" if style else "")

    out = ["<div class='scroll'><table class='sortable'><thead><tr>"]
    out += [f"<th{attrs(j, True)}{_header_html(str(c), linked)}</th>" for j, c in enumerate(cols)]
    out.append("</tr></thead><tbody>")
    prev = None
    for _, row in cells.iterrows():
        start = group is not None and prev is not None and row[group] != prev
        prev = row[group] if group is not None else None
        out.append("<tr class='gstart'>" if start else "<tr>")
        for j, c in enumerate(cols):
            v = row[c]
            extra = f" data-v='{_numeric_value(v)}'" if numeric[c] else ""
            a = attrs(j, False)
            if c in heat and _numeric_value(v):
                share = max(0.0, min(1.0, float(_numeric_value(v))))
                a = a.replace(
                    " class=", f" style='background:rgba(11,92,173,{0.55 * share:.3f})' class="
                )
            out.append(f"<td{a}{extra}>{_cell_html(v)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _blocks_html(blocks: list[Block], anchors: dict[int, str], linked: set[str]) -> list[str]:
    """HTML of the blocks; each heading's anchor goes into ``anchors`` (by block id);
    ``linked``: the glossary entries' anchors on the page."""
    parts: list[str] = []
    for b in blocks:
        match b:
            case Heading():
                anchor = slug(b.text)
                while anchor in anchors.values():
                    anchor += "-"
                anchors[id(b)] = anchor
                tag = f"h{b.level}"
                parts.append(f"<{tag} id='{anchor}'>{html.escape(b.text)}</{tag}>")
            case Paragraph():
                cls = {"plain": "", "note": " class='note'", "headline": " class='headline'"}
                parts.append(f"<p{cls[b.style]}>{html.escape(b.text)}</p>")
            case Table():
                parts.append(_table_html(b, linked))
            case Figure():
                parts.append(_figure_html(Path(b.path), b.fit))
            case Glossary():
                items = "".join(
                    f"<dt id='{glossary.anchor(t)}'>{html.escape(t)}</dt><dd>{html.escape(line)}</dd>"
                    for t, line in b.entries
                )
                parts.append(f"<dl class='glossary'>{items}</dl>")
            case Details():
                parts.append(f"<details><summary>{html.escape(b.summary)}</summary>")
                parts += _blocks_html(b.blocks, anchors, linked)
                parts.append("</details>")
            case _:
                assert_never(b)
    return parts


def _figure_html(path: Path, fit: bool) -> str:
    if path.suffix == ".svg":  # inlined: sharp at any zoom, still one file
        body = path.read_text(encoding="utf-8")
        body = body[body.find("<svg") :]
        cls = " class='fit'" if fit else ""
        return f"<figure{cls} role='img' aria-label='{html.escape(path.stem)}'>{body}</figure>"
    import base64

    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f"<figure><img alt='{html.escape(path.stem)}' src='data:image/png;base64,{data}'></figure>"
    )


def to_html(blocks: list[Block], title: str = "skewbench report") -> str:
    anchors: dict[int, str] = {}
    linked = {
        glossary.anchor(t) for b in _flat(blocks) if isinstance(b, Glossary) for t, _ in b.entries
    }
    body = _blocks_html(blocks, anchors, linked)
    # Anchors were assigned while rendering; the table of contents goes after the first <h1>
    # and the first paragraphs (the headline stays on the first screen).
    toc = _toc_from([b for b in blocks if isinstance(b, Heading) and b.level in (2, 3)], anchors)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body><main>"
        + "\n".join(body[:1])
        + toc
        + "\n".join(body[1:])
        + f"</main><script>{_JS}</script></body></html>"
    )


def _flat(blocks: list[Block]) -> list[Block]:
    """``blocks`` with the contents of every Details block in place after it."""
    out: list[Block] = []
    for b in blocks:
        out.append(b)
        if isinstance(b, Details):
            out += _flat(b.blocks)
    return out


def table_headers(blocks: list[Block]) -> set[str]:
    """Every column header of the tables in ``blocks``, collapsed ones included."""
    return {str(c) for b in _flat(blocks) if isinstance(b, Table) for c in b.frame.columns}


def _toc_from(headings: list[Heading], anchors: dict[int, str]) -> str:
    items, open_sub = [], False
    for h in headings:
        a, t = anchors.get(id(h), slug(h.text)), html.escape(h.text)
        if h.level == 2:
            if open_sub:
                items.append("</ul></li>")
            items.append(f"<li><a href='#{a}'>{t}</a><ul>")
            open_sub = True
        elif h.toc:
            items.append(f"<li><a href='#{a}'>{t}</a></li>")
    if open_sub:
        items.append("</ul></li>")
    return (
        "<nav class='toc'><details><summary>Contents</summary><ul>"
        + "".join(items)
        + "</ul></details></nav>"
    )
