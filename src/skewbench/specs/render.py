"""Text renderings of the specs: ``skewbench components``, ``skewbench describe`` and the
docs/components.md's tables (generated; ``tests/docs`` keeps the page in sync)."""

from __future__ import annotations

from skewbench.errors import ConfigError
from skewbench.specs.base import Entry, fields, suggest

_KINDS = ("dataset", "model", "treatment", "options")


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _params_cell(entry: Entry) -> str:
    parts = []
    for name, _type, default, rng, _doc in fields(entry.spec):
        extra = f" {rng}" if rng else ""
        parts.append(f"`{name}`={default}{extra}")
    return _md("; ".join(parts)) or "—"


def component_tables() -> str:
    """Markdown: per task, one table of its data sets, models, treatments and options."""
    from skewbench.specs import TASKS, entries, treatments_for

    out = []
    for task in TASKS:
        out += [
            f"**{task}**",
            "",
            "| kind | name | what | parameters (default, range) |",
            "|---|---|---|---|",
        ]
        for kind in _KINDS:
            for e in entries(kind, task):
                what = e.doc
                if kind == "model" and e.treatments is not None:
                    all_t = treatments_for(Entry(e.kind, e.task, e.name, e.spec, e.doc))
                    refused = sorted(set(all_t) - set(e.treatments))
                    what += f" (not: {', '.join(refused)})"
                out.append(f"| {kind} | {e.name} | {_md(what)} | {_params_cell(e)} |")
        out.append("")
    return "\n".join(out)


def components_text() -> str:
    """Every component, grouped by task and kind (``skewbench components``)."""
    from skewbench.specs import TASKS, entries

    lines = []
    for task in TASKS:
        lines.append(f"{task}:")
        for kind in _KINDS[:3]:
            names = ", ".join(e.name for e in entries(kind, task))
            lines.append(f"  {kind + 's':<11} {names}")
    lines.append("`skewbench describe NAME` shows a component's parameters.")
    return "\n".join(lines)


def describe(name: str) -> str:
    """Parameters (type, default, range, description) of every component called ``name``,
    with the tasks and treatments that apply."""
    from skewbench.specs import REGISTRY, treatments_for

    found = [e for e in REGISTRY if e.name == name or (name in ("options",) and e.kind == name)]
    if not found:
        known = sorted({e.name for e in REGISTRY})
        raise ConfigError(f"describe: no component {name!r}{suggest(name, known)}")
    blocks = []
    for e in found:
        lines = [f"{e.name} — {e.task} {e.kind}: {e.doc}"]
        rows = fields(e.spec)
        if rows:
            w = max(len(r[0]) for r in rows)
            for pname, ptype, default, rng, doc in rows:
                lines.append(f"  {pname:<{w}}  {ptype}; default {default}")
                if rng:
                    lines[-1] += f"; range {rng}"
                if doc:
                    lines.append(f"  {'':<{w}}  {doc}")
        else:
            lines.append("  (no parameters)")
        if e.kind == "model":
            lines.append(f"  treatments: {', '.join(treatments_for(e))}")
            for t, why in e.reasons.items():
                lines.append(f"  not {t}: {why}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


COMPONENT_MARKERS = ("<!-- components:start -->", "<!-- components:end -->")


def page_with_component_tables(text: str) -> str:
    """``text`` with the generated component tables between a docs page's component markers."""
    from skewbench.doc_sections import replace_between

    return replace_between(text, COMPONENT_MARKERS, component_tables())
