"""Exports beside the report, for notebooks and papers.

- ``cells.csv`` / ``cells.parquet``: tidy, one row per cell × metric, with the cell's identity
  and its full resolved config as columns (``dataset.<param>``, ``model.<param>``,
  ``treatment.<param>``, ``option.<name>``);
- ``summary.csv`` / ``summary.parquet``: per condition × system, the mean over seeds with its
  t-interval, the replicate facts (``deterministic``, ``n_units``) and unit-bootstrap intervals;
- ``units_<task>.parquet``: every cell's per-unit table with the cell's identity columns;
- ``leaderboards.tex``: one LaTeX (booktabs) table per task and condition.

Every file is written under a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from skewbench.report import fmt
from skewbench.report.aggregate import ALPHA_SIG
from skewbench.report.conditions import (
    by_condition,
    condition_label,
    higher_is_better,
    order_systems,
    unit_word,
)
from skewbench.report.leaderboard import leaderboard
from skewbench.report.spec import REPORTS, TaskReport
from skewbench.runner.store import ResultStore

IDENTITY = ["key", "task", "dataset", "imbalance", "control", "setting", "model", "treatment",
            "seed"]  # fmt: skip


def _atomic(path: Path, write: Callable[..., object]) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    write(tmp)
    os.replace(tmp, path)


def _config_columns(configs: dict[str, dict], keys: pd.Series) -> pd.DataFrame:
    rows = []
    for key in keys:
        cfg = configs.get(key, {})
        row: dict[str, object] = {"master_seed": cfg.get("master_seed")}
        for part in ("dataset", "model", "treatment"):
            comp = cfg.get(part) or {}
            row[f"{part}.name"] = comp.get("name")
            for p, v in (comp.get("params") or {}).items():
                row[f"{part}.{p}"] = v
        for o, v in (cfg.get("options") or {}).items():
            row[f"option.{o}"] = v
        rows.append(row)
    frame = pd.DataFrame(rows, index=keys.index)
    for c in frame.columns:  # one type per column, so Parquet can store it
        vals = frame[c].dropna()
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals)
        if not numeric:
            frame[c] = [
                None
                if v is None or (isinstance(v, float) and pd.isna(v))
                else (v if isinstance(v, str) else json.dumps(v))
                for v in frame[c]
            ]
    return frame


def tidy_cells(store: ResultStore, table: pd.DataFrame) -> pd.DataFrame:
    """One row per cell × metric: identity, config columns, ``metric``, ``value``."""
    ident = [c for c in IDENTITY if c in table.columns]
    metric_cols = [c for c in table.columns if c not in (*IDENTITY, "info", "seconds")]
    long = table[ident + ["seconds", *metric_cols]].melt(
        id_vars=[*ident, "seconds"], var_name="metric", value_name="value"
    )
    long = long[long["value"].notna()]
    cfg = _config_columns(store.configs(), table["key"]).assign(key=table["key"].to_numpy())
    return long.merge(cfg, on="key", how="left").reset_index(drop=True)


def unit_tables(store: ResultStore, table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per task, every cell's per-unit rows with the cell's identity columns in front."""
    ident = [c for c in IDENTITY if c in table.columns]
    out = {}
    for task, grp in table.groupby("task", sort=True):
        units = [store.units(key).reset_index(drop=True) for key in grp["key"]]
        # each cell's identity row repeated once per unit row, in one take
        rows = np.repeat(np.arange(len(grp)), [len(u) for u in units])
        front = grp[ident].iloc[rows].reset_index(drop=True)
        out[str(task)] = pd.concat([front, pd.concat(units, ignore_index=True)], axis=1)
    return out


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}  # fmt: skip


def _tex(text: object) -> str:
    s = str(text)
    if s.startswith("\\textbf{") and s.endswith("}"):  # bold made by paper_table
        return r"\textbf{" + _tex(s[len("\\textbf{") : -1]) + "}"
    s = "".join(_LATEX.get(ch, ch) for ch in s)
    s = s.replace("−", "$-$").replace("Δ", r"$\Delta$").replace("ρ", r"$\rho$")
    return s.replace("★", r"$^{\star}$")


def paper_table(
    grp: pd.DataFrame, columns: list[str], sig: pd.DataFrame, task: str, spec: TaskReport
) -> tuple[pd.DataFrame, str]:
    """One condition's leaderboard as a paper shows it, and its caption: readable column names,
    the best mean per column in bold (direction from the metric metadata), ★ where the
    primary metric differs from the same model untreated (p_holm < ALPHA_SIG)."""
    grp = order_systems(grp, spec.primary).reset_index(drop=True)
    cols = [c for c in columns if c in grp.columns]
    board = leaderboard(grp, cols).drop(columns=["seeds", "interval", "units"])
    p_of: dict[tuple[str, str], float] = {}
    if not sig.empty:
        keys = ["dataset", "setting", "control", "model", "treatment"]
        first = grp.iloc[0]
        mine = sig
        for k in ("dataset", "setting", "control"):
            mine = mine[mine[k] == first[k]]
        imb = first["imbalance"]
        mine = mine[mine["imbalance"].isna()] if pd.isna(imb) else mine[mine["imbalance"] == imb]
        p_of = {
            (str(r["model"]), str(r["treatment"])): float(r["p_holm"])
            for _, r in mine[keys + ["p_holm"]].iterrows()
        }
    if spec.primary in board:
        board[spec.primary] = [
            f"{v} ★" if p_of.get((m, tr), 1.0) < ALPHA_SIG else v
            for v, m, tr in zip(board[spec.primary], grp["model"], grp["treatment"], strict=True)
        ]
    for c in cols:
        values = grp[c].astype(float)
        if values.nunique() > 1:  # all equal: no best
            best = values.max() if higher_is_better(c) else values.min()
            board[c] = [
                rf"\textbf{{{v}}}" if x == best else v
                for v, x in zip(board[c], values, strict=True)
            ]
    n = float(grp["n_units"].max()) if "n_units" in grp else math.nan
    n_text = f"n = {fmt.num(int(n))} distinct {unit_word(task)}" if n == n else "n as shown"
    caption = (
        f"{task}, {condition_label(grp.iloc[0], spec)}. Mean [95 % interval] over seeds (unit "
        f"bootstrap where replicates are identical); {n_text}. Best per column in bold."
    )
    if not sig.empty:  # the mark is explained only where the tests were given
        caption += (
            f" ★ {spec.primary} differs from the same model untreated: paired randomization "
            f"test over distinct units, Holm-corrected over the task's comparisons, "
            f"p_holm < {ALPHA_SIG}."
        )
    board = board.rename(columns={c: c.replace("_", " ") for c in board.columns})
    return board, caption


def latex_table(frame: pd.DataFrame, caption: str, label: str) -> str:
    """A booktabs table: text columns left, numeric columns right."""
    numeric = [
        all(str(v).removeprefix("\\textbf{")[:1] in "0123456789−+–" for v in frame[c].astype(str))
        for c in frame.columns
    ]
    spec = "".join("r" if n else "l" for n in numeric)
    lines = [
        r"\begin{table}[t]",
        r"\centering\small",
        rf"\caption{{{_tex(caption)}}}\label{{{label}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(_tex(c) for c in frame.columns) + r" \\",
        r"\midrule",
    ]
    prev = None
    for _, row in frame.iterrows():
        if prev is not None and row.iloc[0] != prev:
            lines.append(r"\addlinespace")
        prev = row.iloc[0]
        lines.append(" & ".join(_tex(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def write_exports(
    store: ResultStore,
    table: pd.DataFrame,
    summaries: dict[str, pd.DataFrame],
    out: Path,
    specs: Mapping[str, TaskReport] | None = None,
    tests: Mapping[str, pd.DataFrame] | None = None,
) -> list[str]:
    """Write every export under ``out``; returns the file names written. ``specs``: each
    task's layout as the report resolved it (default: as declared); ``tests``: each task's
    paired tests of its primary metric (the LaTeX tables' significance marks)."""
    written: list[str] = []
    cells = tidy_cells(store, table)
    cells["imbalance"] = cells["imbalance"].astype(float)
    _atomic(out / "cells.csv", lambda p: cells.to_csv(p, index=False))
    _atomic(out / "cells.parquet", lambda p: cells.to_parquet(p, index=False))
    written += ["cells.csv", "cells.parquet"]
    summary = pd.concat(summaries.values(), ignore_index=True) if summaries else pd.DataFrame()
    if not summary.empty:
        summary["imbalance"] = summary["imbalance"].astype(float)
        summary["deterministic"] = summary["deterministic"].astype("boolean")
        _atomic(out / "summary.csv", lambda p: summary.to_csv(p, index=False))
        _atomic(out / "summary.parquet", lambda p: summary.to_parquet(p, index=False))
        written += ["summary.csv", "summary.parquet"]
    for task, units in unit_tables(store, table).items():
        units["imbalance"] = units["imbalance"].astype(float)
        name = f"units_{task}.parquet"
        _atomic(out / name, lambda p, u=units: u.to_parquet(p, index=False))
        written.append(name)
    tex: list[str] = []
    for task, merged in summaries.items():
        spec = (specs or {}).get(task) or REPORTS[task]
        sig = (tests or {}).get(task, pd.DataFrame())
        for _, grp in by_condition(merged):
            board, caption = paper_table(grp, spec.columns[:5], sig, task, spec)
            tex.append(latex_table(board, caption, f"tab:{task}-{len(tex)}"))
    if tex:
        header = "% skewbench leaderboards; needs \\usepackage{booktabs}\n"
        _atomic(
            out / "leaderboards.tex",
            lambda p: p.write_text(header + "\n".join(tex), encoding="utf-8"),
        )
        written.append("leaderboards.tex")
    return written
