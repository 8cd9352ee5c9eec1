"""The report: Markdown plus one self-contained HTML page, and the exports beside them.

Layout: the headline (per task and condition, the accuracy–exposure trade-off of every
treatment on the Pareto front, with its paired test over distinct units) comes first; then per
task the leaderboards (one per condition), sweep and control tables, re-ranker caps, plots and,
collapsed, the full significance tables and other details. Every statistic counts each unit
(user, query, example) once: see :mod:`skewbench.report.aggregate`. This module assembles the
sections; each kind of section lives in its own ``report`` module.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from skewbench.progress import step
from skewbench.report import fmt
from skewbench.report.aggregate import (
    CONDITION,
    SESOI,
    significance,
    summarise,
    unit_summary,
    with_conditions,
)
from skewbench.report.categorize_blocks import learning_curve_blocks, majority_weighted_blocks
from skewbench.report.conditions import (
    by_condition,
    condition_label,
    condition_mask,
    info_values,
    order_systems,
    value_range,
)
from skewbench.report.contrast import one_factor_blocks
from skewbench.report.glossary import entries
from skewbench.report.headline import headline_blocks
from skewbench.report.leaderboard import INTERVAL_NOTE, leaderboard
from skewbench.report.plot_blocks import plot_blocks
from skewbench.report.render import (
    Block,
    Glossary,
    Heading,
    Paragraph,
    Table,
    table_headers,
    to_html,
    to_markdown,
)
from skewbench.report.runs_blocks import run_blocks
from skewbench.report.significance_blocks import (
    contrast_blocks,
    replicate_blocks,
    significance_details,
)
from skewbench.report.spec import REPORTS, TaskReport, configured_primary, for_metrics
from skewbench.report.stamp import STAMP, report_stamp
from skewbench.report.task_blocks import (
    caps_blocks,
    convergence_blocks,
    group_exposure_blocks,
    group_gini_blocks,
    info_fact_blocks,
    not_available_note,
    sweep_blocks,
    tuning_blocks,
)
from skewbench.runner.store import ResultStore

IDS = ["key", "task", "dataset", "imbalance", "control", "setting", "model", "treatment", "seed",
       "seconds", "info"]  # fmt: skip


def _skew_blocks(
    store: ResultStore, data: pd.DataFrame, task: str, out: Path, configs: dict[str, dict]
) -> list[Block]:
    """Explanation (item groups, decomposition, examples) and "who is served" sections."""
    from skewbench.report.explain_blocks import explain_blocks
    from skewbench.report.llm_blocks import llm_blocks
    from skewbench.report.users_blocks import users_blocks

    blocks = explain_blocks(store, data, task, out) + users_blocks(store, data, task, out)
    return blocks + llm_blocks(store, data, task, out, configs)


def task_spec(task: str, table: pd.DataFrame, configs: dict[str, dict]) -> TaskReport:
    """The task's declared layout at the cutoffs its cells computed, led by their ``primary:``
    option when set (:func:`~skewbench.report.spec.for_metrics`)."""
    present = [c for c in table.columns if c not in IDS and table[c].notna().any()]
    primary = configured_primary(configs[k] for k in table["key"] if k in configs)
    return for_metrics(REPORTS[task], present, primary)


def _task_blocks(
    store: ResultStore,
    table: pd.DataFrame,
    configs: dict[str, dict],
    task: str,
    spec: TaskReport,
    out: Path,
) -> tuple[list[Block], list[Block], pd.DataFrame, pd.DataFrame]:
    """(headline blocks, section blocks, merged summary, paired tests of the unit metric) of
    one task; ``configs``: cell key → stored cell config, read once per report."""
    blocks: list[Block] = [Heading(f"Task: {task}", 2)]
    metrics = [c for c in table.columns if c not in IDS and table[c].notna().any()]
    data = table[IDS + metrics]
    cache: dict = {}
    summary = summarise(data, metrics)
    # Bootstrap only what the report shows: the leaderboard columns and the tested metrics.
    shown = list(dict.fromkeys([*spec.columns, spec.unit_metric, spec.unit_exposure]))
    usum = unit_summary(store, data, [m for m in shown if m], cache=cache)
    keys = [*CONDITION, "model", "treatment"]
    merged = summary.merge(usum.drop(columns=["n_seeds"]), on=keys, how="left")

    sig_acc = (
        significance(store, data, spec.unit_metric, cache=cache)
        if spec.unit_metric
        else pd.DataFrame()
    )
    sig_exp = pd.DataFrame()
    if spec.unit_exposure and f"{spec.unit_exposure}_units" in usum.columns:
        sig_exp = significance(store, data, spec.unit_exposure, cache=cache)
    headline = headline_blocks(task, spec, merged, sig_acc, sig_exp, out)

    blocks.append(Paragraph(INTERVAL_NOTE, style="note"))
    for cond, grp in by_condition(merged):
        size = value_range(info_values(data[condition_mask(data, cond)], spec.size_fact))
        blocks.append(Heading(f"Leaderboard — {condition_label(cond, spec)}", 3))
        if size != fmt.DASH:
            blocks.append(Paragraph(f"{spec.size_fact} = {size}", style="note"))
        board = leaderboard(order_systems(grp, spec.primary), spec.columns)
        blocks.append(Table(board, sticky=2, group="model"))
        blocks += not_available_note(table[condition_mask(table, cond)], spec.columns)
    blocks += sweep_blocks(data, spec, merged)
    blocks += tuning_blocks(data, spec)
    blocks += caps_blocks(data, spec, task)
    if task == "categorize":
        blocks += majority_weighted_blocks(merged, spec)
        blocks += learning_curve_blocks(data, out)
    if spec.model_contrast and spec.unit_metric:
        blocks += contrast_blocks(
            store, data, spec.unit_metric, *spec.model_contrast, task, spec, cache
        )
    families = {m: t for m, t in ((spec.unit_metric, sig_acc), (spec.unit_exposure, sig_exp)) if m}
    blocks += one_factor_blocks(store, data, configs, task, spec, cache, families)
    blocks += replicate_blocks(store, data, spec, cache)
    blocks += run_blocks(store, data, configs, task, spec, cache)
    blocks += plot_blocks(merged, task, spec, out)
    blocks += group_gini_blocks(data, spec)
    blocks += group_exposure_blocks(data, spec)
    if task != "categorize":
        blocks += _skew_blocks(store, data, task, out, configs)
    if spec.info_facts:
        blocks += info_fact_blocks(data, spec.info_facts)
    for metric, sig in ((spec.unit_metric, sig_acc), (spec.unit_exposure, sig_exp)):
        if metric is not None and not sig.empty:
            blocks.append(significance_details(metric, sig, spec))
    return headline, blocks, merged, sig_acc


def fingerprint_blocks(configs: dict[str, dict]) -> list[Block]:
    """One note per user data set read from files: its content fingerprint and each file's, so
    a reader can tell which bytes the numbers come from."""
    seen: dict[str, dict] = {}
    for cfg in configs.values():
        ds = cfg.get("dataset", {})
        if ds.get("files"):
            seen.setdefault(ds["fingerprint"], ds)
    blocks: list[Block] = []
    for fp, ds in sorted(seen.items()):
        files = "; ".join(f"{path} ({digest})" for path, digest in sorted(ds["files"].items()))
        blocks.append(
            Paragraph(f"Data set {ds['name']} — content fingerprint {fp}: {files}.", style="note")
        )
    return blocks


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary name in the same folder, then rename: a reader (or a crash) never
    sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_report(
    output: Path,
    *,
    exports: bool = True,
    sesoi: Mapping[str, float] | None = None,
) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` (with SVG plots) under ``<output>/report``,
    and with ``exports`` the tidy cell metrics, per-unit tables and LaTeX leaderboards.

    ``sesoi``: smallest effect of interest per metric (the run config's ``sesoi:``) for the
    equivalence tests. Beside the report, the stamp of its inputs
    (:func:`skewbench.report.stamp.report_stamp`) lets a later run see that it is up to date.
    """
    store_file = output / "results.sqlite"
    if not store_file.is_file():
        raise FileNotFoundError(f"no results store at {store_file}; run the config first")
    out = output / "report"
    md, page, stamp_file = out / "report.md", out / "report.html", out / STAMP
    with ResultStore(store_file) as store, store.reading_units_once():
        # (opening checks the store before anything is written)
        stamp = report_stamp(store, sesoi or {}, exports)
        token = SESOI.set(dict(sesoi or {}))
        try:
            blocks = _blocks(store, out, exports)
        finally:
            SESOI.reset(token)
    with step("report: writing Markdown and HTML"):
        _write_atomic(md, to_markdown(blocks, out))
        _write_atomic(page, to_html(blocks))
    _write_atomic(stamp_file, stamp)
    return md, page


def _blocks(store: ResultStore, out: Path, exports: bool) -> list[Block]:
    """Every block of the report, reading the store once."""
    out.mkdir(parents=True, exist_ok=True)
    raw = store.table()
    configs = store.configs()
    table = with_conditions(raw, configs) if not raw.empty else raw
    failures = store.open_failures()
    seconds = table["seconds"].sum() if not table.empty else 0
    intro: list[Block] = [
        Heading(f"skewbench report — {out.parent.name}", 1),
        Paragraph(
            f"{len(table)} finished cells; {len(failures)} cells whose latest attempt "
            f"failed and that have not finished since; total cell time {seconds:.0f} s.",
            style="note",
        ),
    ]
    intro += fingerprint_blocks(configs)
    if not failures.empty:
        cols = ["task", "dataset", "imbalance", "model", "treatment", "seed", "attempts"]
        intro += [
            Heading(f"Open failures ({len(failures)} cells)", 2),
            Table(failures[[*cols, "error"]].reset_index(drop=True)),
        ]
    headline: list[Block] = []
    sections: list[Block] = convergence_blocks(table)
    summaries, specs, tests = {}, {}, {}
    for task, tgrp in table.groupby("task") if not table.empty else []:
        specs[task] = task_spec(str(task), tgrp, configs)
        with step(f"report: {task} ({len(tgrp)} cells): tables, tests and plots"):
            h, s, merged, sig = _task_blocks(store, tgrp, configs, str(task), specs[task], out)
        if specs[task].unit_metric == specs[task].primary:  # the LaTeX tables mark the primary
            tests[task] = sig
        headline += h
        sections += s
        summaries[task] = merged
    if exports and not table.empty:
        from skewbench.report.export import write_exports

        with step("report: exports"):
            links = write_exports(store, table, summaries, out, specs, tests)
        sections += [
            Heading("Exports", 2),
            Paragraph("Files beside this report: " + ", ".join(links) + "."),
        ]
    blocks = intro
    if headline:
        blocks += [Heading("Headline: the best trade-off per task", 2), *headline]
    blocks += sections
    terms = entries(table_headers(blocks))
    if terms:  # every metric, group and statistic a column header names, one line each
        blocks += [Heading("Glossary", 2), Glossary(terms)]
    return blocks
