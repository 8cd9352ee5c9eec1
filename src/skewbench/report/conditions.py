"""How the report names and groups conditions, and the per-cell facts it reads from ``info``.

Helpers every report section shares: a condition's label, the cells of each condition (each
matched control right after the skewed level it matches), a metric's better direction, the
range of a fact the cells recorded, and the order in which systems are listed.
"""

from __future__ import annotations

import math

import pandas as pd

from skewbench.metrics import registry
from skewbench.report import fmt
from skewbench.report.aggregate import BASE_TREATMENT, CONDITION
from skewbench.report.spec import TaskReport


def higher_is_better(metric: str) -> bool:
    """A metric's better direction, from the metric registry (KeyError for an unknown metric).
    A group's share has no better direction of its own; the report reads more of it as better,
    since promoting the group is what a treatment that targets it aims at."""
    return registry.higher_is_better(metric) is not False


def imbalance_text(v: object, spec: TaskReport | None = None) -> str:
    """An imbalance level as text: "natural" for the data as collected."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "natural"
    return f"{v:g}"


def condition_label(r: pd.Series | dict, spec: TaskReport | None) -> str:
    """ "dataset, target training Gini 0.5 (matched uniform control), candidates=200"."""
    parts = [str(r["dataset"])]
    if spec is None or spec.imbalance_name is not None:
        name = spec.imbalance_name if spec else "imbalance"
        imb = r["imbalance"]
        natural = imb is None or (isinstance(imb, float) and math.isnan(imb))
        parts.append("data as collected" if natural else f"{name} = {imb:g}")
    if r.get("control"):
        parts[-1] += (
            f" ({'matched uniform control' if r['control'] == 'uniform' else r['control']})"
        )
    if r.get("setting"):
        parts.append(str(r["setting"]))
    return ", ".join(parts)


def by_condition(frame: pd.DataFrame) -> list[tuple[dict, pd.DataFrame]]:
    """Groups by condition, each control right after the skewed level it matches."""
    keyed = frame.assign(
        _imb=frame["imbalance"].astype(float).fillna(-1.0), _ctl=frame["control"].astype(str)
    )
    out = []
    for _, grp in keyed.groupby(["task", "dataset", "_imb", "setting", "_ctl"], sort=True):
        first = grp.iloc[0]
        cond = {c: first[c] for c in CONDITION}
        out.append((cond, grp.drop(columns=["_imb", "_ctl"])))
    return out


# Older stores recorded the training size only as the data set's ``train_rows``.
_FALLBACK = {"n_train": "train_rows"}


def info_values(data: pd.DataFrame, name: str) -> list[float]:
    """The numeric values of fact ``name`` the cells recorded in ``info`` (or its dataset)."""
    vals = []
    for info in data["info"]:
        v = info.get(name)
        if v is None and isinstance(info.get("dataset"), dict):
            v = info["dataset"].get(name, info["dataset"].get(_FALLBACK.get(name, "")))
        if isinstance(v, int | float) and not isinstance(v, bool):
            vals.append(float(v))
    return vals


def value_range(vals: list[float]) -> str:
    """ "lo–hi" (or the one value) of ``vals``, integers without decimals; a dash for none."""
    if not vals:
        return fmt.DASH
    lo, hi = min(vals), max(vals)
    as_int = all(float(v).is_integer() for v in vals)
    f = (lambda v: fmt.num(int(v))) if as_int else fmt.num
    return f(lo) if lo == hi else f"{f(lo)}–{f(hi)}"


def order_systems(grp: pd.DataFrame, primary: str) -> pd.DataFrame:
    """Rows grouped by model (best baseline first), the baseline first within a model, then
    treatments by the primary metric, best first."""
    if primary not in grp.columns:
        return grp.sort_values(["model", "treatment"])
    base = grp[grp["treatment"] == BASE_TREATMENT].set_index("model")[primary]
    model_rank = grp["model"].map(lambda m: -base.get(m, grp.loc[grp["model"] == m, primary].max()))
    return (
        grp.assign(_m=model_rank.fillna(0), _b=grp["treatment"] != BASE_TREATMENT, _p=-grp[primary])
        .sort_values(["_m", "model", "_b", "_p"])
        .drop(columns=["_m", "_b", "_p"])
    )


def condition_mask(data: pd.DataFrame, cond: dict) -> pd.Series:
    """The rows of ``data`` in condition ``cond`` (a missing imbalance matches NaN)."""
    m = pd.Series(True, index=data.index)
    for c in CONDITION:
        v = cond[c]
        if c == "imbalance":
            m &= data[c].isna() if v is None or pd.isna(v) else (data[c].astype(float) == float(v))
        else:
            m &= data[c] == v
    return m


def unit_word(task: str) -> str:
    """What one unit of ``task`` is, plural, for sentences."""
    return {"recommend": "users", "search": "queries", "categorize": "test examples"}.get(
        task, "units"
    )
