"""The report from a real (small) run: each unit counted once, deterministic replicates
detected, conditions never mixed, one self-contained HTML file and exports that load in pandas.

The run: MovieLens-100k, 3 seeds. A per-user random split with 200 sampled users per seed
(replicates differ, users overlap partly across seeds) and a global temporal split (the seed
changes nothing for popularity / EASE and the re-rankers: deterministic replicates).
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from skewbench.metrics.stats import paired_test
from skewbench.report import fmt
from skewbench.report.aggregate import (
    compare_models,
    comparison_rng,
    resamples_for,
    significance,
    summarise,
    unit_summary,
    with_conditions,
)
from skewbench.report.build import build_report
from skewbench.report.render import Table
from skewbench.report.stamp import is_current, report_stamp
from skewbench.runner.config import parse_config
from skewbench.runner.run import run_config
from skewbench.runner.store import ResultStore

OPTS = {"cutoffs": [10, 20], "exposure_k": 10}
CONFIG = {
    "name": "report",
    "seed": 5,
    "seeds": 3,
    "experiments": [
        {
            "task": "recommend",
            "datasets": ["movielens100k"],
            "models": [
                "popularity",
                {"name": "itemknn", "neighbours": 50},
                {"name": "itemknn", "neighbours": 20},
            ],
            "treatments": ["none", {"name": "fair", "p": 0.5}],
            "options": {**OPTS, "max_users": 200},
        },
        {
            "task": "recommend",
            "datasets": [{"name": "movielens100k", "split": "temporal"}],
            "models": ["popularity", {"name": "ease", "l2": 200}],
            "treatments": ["none", {"name": "xquad", "lambda": 0.5}],
            "options": OPTS,
        },
    ],
}
RANDOM = "movielens100k"
TEMPORAL = "movielens100k(split=temporal)"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run_config(parse_config(CONFIG), out, progress=False)
    return out


@pytest.fixture(scope="module")
def store_table(run_dir):
    with ResultStore(run_dir / "results.sqlite") as store:
        yield store, with_conditions(store.table(), store.configs())


def _cell(table, dataset, model, treatment, seed):
    sel = table[
        (table["dataset"] == dataset)
        & (table["model"] == model)
        & (table["treatment"] == treatment)
        & (table["seed"] == seed)
    ]
    return sel["key"].item()


def test_summary_is_the_t_interval_over_seeds(store_table):
    _, table = store_table
    summary = summarise(table, ["ndcg@10"])
    sel = (summary["dataset"] == RANDOM) & (summary["model"] == "popularity")
    row = summary[sel & (summary["treatment"] == "fair(p=0.5)")]
    values = table[
        (table["dataset"] == RANDOM)
        & (table["model"] == "popularity")
        & (table["treatment"] == "fair(p=0.5)")
    ]["ndcg@10"].to_numpy()
    assert row["n_seeds"].item() == 3
    half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / np.sqrt(3)
    assert row["ndcg@10"].item() == pytest.approx(values.mean())
    assert row["ndcg@10_hi"].item() - row["ndcg@10"].item() == pytest.approx(half)


def test_deterministic_cell_counts_each_user_once(store_table):
    store, table = store_table
    sig = significance(store, table, "ndcg@10")
    row = sig[(sig["dataset"] == TEMPORAL) & (sig["model"] == "ease(l2=200)")].iloc[0]
    a0 = store.units(_cell(table, TEMPORAL, "ease(l2=200)", "xquad(lambda=0.5)", 0))
    b0 = store.units(_cell(table, TEMPORAL, "ease(l2=200)", "none", 0))
    # the seed changed nothing: seeds 1 and 2 are identical to seed 0
    for s in (1, 2):
        pd.testing.assert_frame_equal(
            store.units(_cell(table, TEMPORAL, "ease(l2=200)", "none", s)), b0
        )
    users = a0["ndcg@10"].notna() & b0["ndcg@10"].notna()
    assert row["deterministic"] is True or row["deterministic"] == True  # noqa: E712
    assert row["replicates"] == 3
    assert row["n_units"] == users.sum() == a0["user_id"].nunique()  # n = #users, not 3×
    a, b = a0["ndcg@10"][users].to_numpy(), b0["ndcg@10"][users].to_numpy()
    # randomization p equals the test on the de-duplicated vectors, same stream and resolution
    n_perm = resamples_for(len(sig))
    labels = {k: row[k] for k in ["task", "dataset", "imbalance", "control", "setting", "model"]}
    labels["treatment"] = row["treatment"]
    ref = paired_test(a, b, "randomization", rng=comparison_rng("ndcg@10", labels), n_perm=n_perm)
    assert row["p"] == ref.pvalue and ref.n == row["n_units"]
    # and the paired t-test equals scipy's on them
    t = significance(store, table, "ndcg@10", method="t")
    trow = t[(t["dataset"] == TEMPORAL) & (t["model"] == "ease(l2=200)")].iloc[0]
    assert trow["p"] == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-12)
    # pooling the 3 identical seeds would have given 3n units and a far smaller p
    pooled = stats.ttest_rel(np.tile(a, 3), np.tile(b, 3)).pvalue
    assert pooled < trow["p"]


def _shares_by_hand(store, table, dataset, model, a_treat, b_treat, metric):
    """c_i = Σ_r d_ir / (R · n_r) from the stored per-unit tables, by plain pandas."""
    parts = []
    for s in range(3):
        a = store.units(_cell(table, dataset, model, a_treat, s))
        b = store.units(_cell(table, dataset, model, b_treat, s))
        m = a[["user_id", metric]].merge(b[["user_id", metric]], on="user_id").dropna()
        parts.append(pd.Series((m[f"{metric}_x"] - m[f"{metric}_y"]).to_numpy() / len(m),
                               index=m["user_id"]))  # fmt: skip
    return pd.concat(parts).groupby(level=0).sum() / 3


def test_random_split_tests_exactly_the_printed_delta(store_table):
    """Seeds hold different users here: the test flips the signs of each user's share c_i of
    Δ, the c_i sum to the printed Δ, and that Δ is the leaderboards' difference of cell means."""
    store, table = store_table
    sig = significance(store, table, "ndcg@10", method="t")
    row = sig[(sig["dataset"] == RANDOM) & (sig["model"] == "popularity")].iloc[0]
    c = _shares_by_hand(store, table, RANDOM, "popularity", "fair(p=0.5)", "none", "ndcg@10")
    assert row["deterministic"] is False or row["deterministic"] == False  # noqa: E712
    assert 200 < row["n_units"] == len(c) < 600  # users overlap partly across seeds
    assert row["p"] == pytest.approx(stats.ttest_1samp(c, 0.0).pvalue, rel=1e-10)
    cells = table[(table["dataset"] == RANDOM) & (table["model"] == "popularity")]
    mean = cells.groupby("treatment")["ndcg@10"].mean()
    assert row["delta"] == pytest.approx(c.sum(), abs=1e-12)
    assert abs(row["delta"] - (mean["fair(p=0.5)"] - mean["none"])) <= 1e-12
    assert row["base"] == pytest.approx(mean["none"], rel=1e-12)
    assert ((sig["p_holm"] >= sig["p"]) & (sig["p_holm"] <= 1)).all()
    # the old per-unit mean (each user's mean over the seeds holding it) tests another number


def test_every_stored_comparison_tests_its_printed_delta(store_table):
    """For every comparison the report makes on this store — each treatment against none and
    each model contrast, both tested metrics — Σ c_i equals the cells' Δ to 1e-12."""
    store, table = store_table
    tables = [significance(store, table, m) for m in ("ndcg@10", "non_head_share")]
    tables.append(compare_models(store, table, "ndcg@10", "popularity", ["itemknn(neighbours=50)"]))
    checked = 0
    for t in tables:
        assert (t["delta"] - t["cell_delta"]).abs().max() <= 1e-12
        checked += len(t)
    assert checked == 11


def test_p_values_reanalysed_with_scipy_permutation_test(store_table):
    """An independent re-analysis: scipy's paired permutation test on the units' shares from
    the stored per-unit tables gives the report's p within Monte-Carlo error."""
    store, table = store_table
    sig = significance(store, table, "ndcg@10")
    for model in ("popularity", "itemknn(neighbours=50)"):
        row = sig[(sig["dataset"] == RANDOM) & (sig["model"] == model)].iloc[0]
        c = _shares_by_hand(store, table, RANDOM, model, "fair(p=0.5)", "none", "ndcg@10")
        ref = stats.permutation_test(
            (c.to_numpy(), np.zeros(len(c))),
            lambda x, y, axis: np.sum(x - y, axis=axis),
            permutation_type="samples",
            n_resamples=20_000,
            vectorized=True,
            random_state=1,
        ).pvalue
        n_perm = sig.attrs["n_perm"]
        se = np.sqrt(ref * (1 - ref) / 20_000 + row["p"] * (1 - row["p"]) / n_perm)
        assert abs(row["p"] - ref) <= 4 * se + 1e-4


def test_unit_bootstrap_for_deterministic_cells(store_table):
    store, table = store_table
    us = unit_summary(store, table, ["ndcg@10"])
    det = us[us["dataset"] == TEMPORAL]
    assert det["deterministic"].eq(True).all()
    assert not us[us["dataset"] == RANDOM]["deterministic"].eq(True).any()
    row = det[(det["model"] == "popularity") & (det["treatment"] == "none")].iloc[0]
    units = store.units(_cell(table, TEMPORAL, "popularity", "none", 0))
    assert row["n_units"] == len(units)
    assert row["ndcg@10_units"] == pytest.approx(units["ndcg@10"].mean())
    # a real interval (not ± 0), containing the mean
    assert row["ndcg@10_blo"] < row["ndcg@10_units"] < row["ndcg@10_bhi"]
    again = unit_summary(store, table, ["ndcg@10"])
    assert again["ndcg@10_blo"].equals(us["ndcg@10_blo"])  # seeded


def test_model_contrast_counts_distinct_users(store_table):
    store, table = store_table
    cmp = compare_models(store, table, "ndcg@10", "popularity", ["itemknn(neighbours=50)"])
    assert len(cmp) == 1 and cmp["dataset"].item() == RANDOM
    assert cmp["delta"].item() > 0 and cmp["p_holm"].item() < 0.01  # ItemKNN beats popularity
    assert cmp["n_units"].item() < 3 * 200


def test_one_factor_pairs_differ_in_exactly_one_parameter():
    from skewbench.report.contrast import one_factor_pairs

    configs = {
        "k0": {"model": {"name": "ease", "params": {}}},
        "k1": {"model": {"name": "ease", "params": {"l2": 200.0}}},
        "k2": {"model": {"name": "itemknn", "params": {"neighbours": 5, "shrink": 1.0}}},
        "k3": {"model": {"name": "itemknn", "params": {"neighbours": 100}}},  # the default
        "k4": {"model": {"name": "itemknn", "params": {"neighbours": 5}}},
        "k5": {"model": {"name": "popularity", "params": {}}},
    }
    labels = ["ease", "ease(l2=200)", "knn-a", "itemknn", "knn-b", "popularity"]
    data = pd.DataFrame({"key": list(configs), "model": labels})
    pairs = {p[:3]: p[3:] for p in one_factor_pairs(data, configs, "recommend")}
    # a parameter left at its declared default counts as written; the default side is the base
    assert set(pairs) == {
        ("ease", "ease(l2=200)", "l2"),
        ("itemknn", "knn-b", "neighbours"),
        ("knn-b", "knn-a", "shrink"),
    }
    assert pairs[("itemknn", "knn-b", "neighbours")] == (100, 5)


def test_one_factor_contrast_tables_rederive(store_table, tmp_path):
    """The factor table's rows are the plain model comparison under each treatment, and the
    treatment table's rows are the plain treatment tests of each side."""
    from skewbench.report.aggregate import paired_tests
    from skewbench.report.contrast import one_factor_blocks, one_factor_pairs
    from skewbench.report.spec import REPORTS

    store, table = store_table
    data = table[table["dataset"] == RANDOM]
    configs = store.configs()
    pairs = one_factor_pairs(data, configs, "recommend")
    base, variant = "itemknn(neighbours=20)", "itemknn(neighbours=50)"
    assert pairs == [(base, variant, "neighbours", 20, 50)]
    blocks = one_factor_blocks(store, data, configs, "recommend", REPORTS["recommend"], {})
    factor, treat = [b.frame for b in blocks if isinstance(b, Table)]
    assert list(factor["treatment"]) == ["fair(p=0.5)", "none"]
    plain = compare_models(store, data, "ndcg@10", base, [variant], treatment="none")
    row = factor[factor["treatment"] == "none"].iloc[0]
    mean = lambda m, t: data[(data["model"] == m) & (data["treatment"] == t)]["ndcg@10"].mean()  # noqa: E731
    assert float(row["Δ ndcg@10"].replace("−", "-")) == pytest.approx(
        mean(variant, "none") - mean(base, "none"), abs=5e-4
    )
    assert int(row["n units"].replace(",", "")) == plain["n_units"].item()
    sig = significance(store, data[data["model"].isin([base, variant])], "ndcg@10")
    assert len(treat) == len(sig) == 2
    # with the task's family given, the treatment table shows that family's p_holm
    family = significance(store, table, "ndcg@10")
    blocks = one_factor_blocks(
        store, data, configs, "recommend", REPORTS["recommend"], {}, {"ndcg@10": family}
    )
    treat = [b.frame for b in blocks if isinstance(b, Table)][1]
    for _, r in treat.iterrows():
        model = base if r["neighbours"] == "20" else variant
        f = family[(family["dataset"] == RANDOM) & (family["model"] == model)].iloc[0]
        assert r["p_holm (ndcg@10)"].startswith(fmt.pvalue(f["p_holm"]))
    assert set(treat["neighbours"]) == {"20", "50"}
    assert paired_tests(store, [], "ndcg@10").empty


def test_conditions_are_never_mixed(store_table):
    store, table = store_table
    # a matched control of the temporal data must be summarised apart from the skewed data
    fake = table.assign(control=np.where(table["seed"] == 2, "uniform", ""))
    s = summarise(fake, ["ndcg@10"])
    tem = s[(s["dataset"] == TEMPORAL) & (s["model"] == "popularity") & (s["treatment"] == "none")]
    assert sorted(tem["control"]) == ["", "uniform"] and sorted(tem["n_seeds"]) == [1, 2]
    # options differ only between data sets here: no setting label
    assert set(table["setting"]) == {""}
    # options that differ between cells of one data set become a setting
    configs = store.configs()
    for key in table.loc[table["seed"] == 1, "key"]:
        configs[key] = {**configs[key], "options": {**configs[key]["options"], "candidates": 50}}
    marked = with_conditions(table.drop(columns=["setting"]), configs)
    assert set(marked.loc[marked["seed"] == 1, "setting"]) == {"candidates=50"}
    assert set(marked.loc[marked["seed"] != 1, "setting"]) == {"candidates=default"}


def test_markdown_html_and_exports(run_dir, capsys, monkeypatch):
    monkeypatch.delenv("SKEWBENCH_QUIET", raising=False)
    md, page = build_report(run_dir)
    assert "skewbench: report: recommend (" in capsys.readouterr().err  # progress lines
    # a finished config run again sees that the report is up to date; other settings do not
    assert is_current(run_dir, {}) and not is_current(run_dir, {"ndcg@10": 0.02})
    with ResultStore(run_dir / "results.sqlite") as store:
        assert report_stamp(store, {}, True) != report_stamp(store, {}, False)
    text = md.read_text()
    assert "## Headline" in text
    assert text.index("## Headline") < text.index("## Task: recommend")
    # per task first one figure, then the three plain sentences of the best trade-off
    lead = text.split("## Headline")[1].split("\n**")[0]
    assert re.search(r"### recommend: .+\n\n!\[headline_recommend\]\(headline_recommend\.svg\)"
                     r"\n\nBest trade-off in .+\n\nIt costs .+\n\nThe non_head_share change is "
                     r".+\n\n\*The figure: one point per system.+ Numbered: 1 = ", lead), lead  # fmt: skip
    # each figure is drawn once, as the SVG Markdown links and the HTML inlines
    assert (run_dir / "report" / "headline_recommend.svg").is_file()
    assert not list((run_dir / "report").glob("*.png"))
    # the glossary: one line per term a column header names, each header linked to its line
    gloss = text.split("## Glossary")[1]
    assert "- **non_head_share**: Non-head share: " in gloss and "- **p_holm**: " in gloss
    assert "- **popularity**: " in gloss and "not the non-head items" in gloss
    assert "### Leaderboard — movielens100k(split=temporal), data as collected" in text
    assert "units (deterministic)" in text and "seeds (t)" in text
    assert "± 0.0000" not in text and "[0, 0]" not in text.split("non_head_share")[0]
    assert "distinct users (deterministic replicates" in text
    # the seeds' unit overlap is stated: 200 sampled users per seed, partly shared
    part = text.split("Replicates: which units each seed evaluates")[1].split("\n#")[0]
    assert re.search(r"\| 200 +\| [2-5]\d\d +\|", part)  # units per seed, distinct units
    # every non-significant comparison says what it could have detected, or its equivalence
    for line in text.splitlines():
        if "does not differ significantly" in line or "no significant change" in line:
            assert "MDE ±" in line or "equivalent within ±" in line, line
    html = page.read_text()
    assert "<svg" in html and "<script>" in html and "class='toc'" in html
    assert "<th class='num' scope='col' title='ndcg@k: nDCG@k: graded gain" in html
    for target in set(re.findall(r"<a class='gl' href='#([^']+)'", html)):
        assert f"<dt id='{target}'>" in html, target
    # self-contained: no image, script or stylesheet loaded from anywhere else
    assert not re.search(r"<img[^>]+src=['\"](?!data:)", html)
    assert not re.search(r"<script[^>]+src=", html) and "<link" not in html
    out = run_dir / "report"
    cells = pd.read_parquet(out / "cells.parquet")
    assert {"metric", "value", "model.name", "treatment.p", "option.exposure_k"} <= set(cells)
    assert set(pd.read_csv(out / "cells.csv")["key"]) == set(cells["key"])
    units = pd.read_parquet(out / "units_recommend.parquet")
    assert {"key", "seed", "user_id", "ndcg@10"} <= set(units)
    with ResultStore(run_dir / "results.sqlite") as store:  # each cell's rows, its identity
        cells_by_key = store.table().set_index("key")
        for key, rows in units.groupby("key", sort=False):
            own, cell = store.units(key), cells_by_key.loc[key]
            assert rows["user_id"].astype(str).tolist() == own["user_id"].astype(str).tolist()
            assert np.array_equal(rows["ndcg@10"], own["ndcg@10"], equal_nan=True)
            assert (rows["seed"] == cell["seed"]).all() and (rows["model"] == cell["model"]).all()
    summary = pd.read_parquet(out / "summary.parquet")
    assert {"deterministic", "n_units", "ndcg@10_blo"} <= set(summary)
    tex = (out / "leaderboards.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex
    # the paired tests reach the LaTeX tables: ★ exactly where the report's p_holm < 0.01
    assert r"$^{\star}$ ndcg@10 differs from the same model untreated" in tex
    with ResultStore(run_dir / "results.sqlite") as store:
        table = with_conditions(store.table(), store.configs())
        sig = significance(store, table[table["task"] == "recommend"], "ndcg@10")
    marked = tex.count(r"] $^{\star}$")
    assert marked == (sig["p_holm"] < 0.01).sum() > 0, (marked, sig["p_holm"].tolist())
    assert not list(out.glob(".*tmp*"))  # atomic writes leave no temporary files


def test_the_report_code_loads_no_model_library():
    # The report reads stored results: importing it and every task's layout must not load
    # scikit-learn, scipy.stats or torch (a second of CPU per report before).
    code = (
        "import sys\n"
        "from skewbench.report.build import build_report\n"
        "from skewbench.report.spec import REPORTS\n"
        "[REPORTS[t] for t in REPORTS]\n"
        "print(sorted(m for m in ('sklearn', 'scipy.stats', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results store"):
        build_report(tmp_path)


def test_resolution_lets_holm_reach_alpha():
    for m in (1, 10, 54, 300, 2000):
        n = resamples_for(m)
        assert n >= 10_000
        assert m / (n + 1) <= 0.01 / 2  # smallest attainable p_holm


def test_compare_two_runs(run_dir, tmp_path, capsys):
    from skewbench.cli import main
    from skewbench.report.compare import compare_runs

    res = compare_runs(run_dir, run_dir)
    assert len(res) == 10 * 2  # every condition × system, ndcg@10 and non_head_share
    assert (res["delta"] == 0).all() and (res["p_holm"] == 1).all()
    det = res[(res["dataset"] == TEMPORAL) & (res["metric"] == "ndcg@10")]
    assert (det["n_units"] == det["n_units"].iloc[0]).all()
    assert main(["compare", str(run_dir), str(run_dir), "--csv", str(tmp_path / "c.csv")]) == 0
    out = capsys.readouterr().out
    assert "Δ (B−A)" in out and len(pd.read_csv(tmp_path / "c.csv")) == len(res)
    assert main(["compare", str(run_dir), str(tmp_path / "nothing")]) != 0


def test_plan_sizes_each_comparison_from_the_pilot(run_dir, capsys):
    """N is the smallest unit count whose MDE (80 % power, α/m) reaches the target; seeds add
    units only where the pilot's replicates hold different users."""
    from skewbench.cli import main
    from skewbench.errors import ConfigError
    from skewbench.metrics.stats import min_detectable_effect
    from skewbench.report.plan import plan

    res = plan(run_dir, {"": 0.02, "non_head_share": 0.005})
    assert set(res["metric"]) == {"ndcg@10", "non_head_share"}
    # every treatment against none, and the one-factor pair (neighbours 20 → 50) under each
    # treatment, each in its own Holm family
    assert (res["vs"] == "none").sum() == 10 and (res.loc[res["vs"] == "none", "family"] == 5).all()
    factor = res[res["vs"] == "itemknn(neighbours=20)"]
    assert len(factor) == 4 and set(factor["model"]) == {"itemknn(neighbours=50)"}
    assert (factor["family"] == 2).all()
    assert set(res.loc[res["metric"] == "ndcg@10", "target"]) == {0.02}
    for _, r in res.iterrows():
        n, m, sigma = r["units_needed"], r["family"], r["se"] * np.sqrt(r["n_units"])
        assert n >= 2
        assert min_detectable_effect(sigma / np.sqrt(n), n, 0.01 / m) <= r["target"]
        if n > 2:
            assert min_detectable_effect(sigma / np.sqrt(n - 1), n - 1, 0.01 / m) > r["target"]
        # the MDE now is the report's MDE of the same comparison
        assert r["mde_now"] == pytest.approx(
            min_detectable_effect(r["se"], r["n_units"], 0.01 / m), rel=1e-12
        )
    rnd = res[(res["dataset"] == RANDOM) & (res["units_needed"] > res["n_units"])]
    assert len(rnd) and (rnd["seeds_needed"] > 3).all()  # each seed samples ~200 new users
    tem = res[(res["dataset"] == TEMPORAL) & (res["units_needed"] > res["n_units"])]
    assert (tem["seeds_needed"] == -1).all()  # the same users every seed: seeds add none
    # the observed target: each comparison's own pilot |Δ|
    seen = plan(run_dir, {"ndcg@10": "observed"})
    acc = seen[seen["metric"] == "ndcg@10"]
    assert np.allclose(acc["target"], acc["delta"].abs()) and (acc["target"] > 0).any()
    # --versus: each other untreated model against a baseline model, per metric
    vs = plan(run_dir, {"": 0.02}, versus="popularity")
    base = vs[vs["vs"] == "popularity"]
    assert set(base["model"]) == {
        "itemknn(neighbours=20)",
        "itemknn(neighbours=50)",
        "ease(l2=200)",
    }
    assert len(base) == 2 * 3 and set(base["treatment"]) == {"none"}
    with pytest.raises(ConfigError, match="--versus: no model 'pop'"):
        plan(run_dir, versus="pop")
    assert main(["plan", str(run_dir), "--delta", "ndcg@10=0.05"]) == 0
    assert "units needed" in capsys.readouterr().out
    assert main(["plan", str(run_dir), "--delta", "-1"]) == 2
    assert "--delta: expected a positive number" in capsys.readouterr().err


_CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var head = document.querySelector('p.headline');
  // the headline figure: the first figure of the page; its smallest text in CSS pixels
  var fig = document.querySelector('figure'), minText = 1e9, svgText = 1e9;
  document.querySelectorAll('figure svg').forEach(function (svg) {
    var vb = svg.viewBox.baseVal;
    var scale = svg.getBoundingClientRect().width / (vb && vb.width ? vb.width : 1);
    svg.querySelectorAll('text').forEach(function (t) {
      if (!t.textContent.trim()) { return; }
      var px = parseFloat(getComputedStyle(t).fontSize) * scale;
      svgText = Math.min(svgText, px);
      if (svg.closest('figure') === fig) { minText = Math.min(minText, px); }
    });
  });
  var links = Array.prototype.slice.call(document.querySelectorAll('th a.gl'));
  // inside the phone-width frame the result goes to the outer page, which is what is dumped
  var target = window.parent !== window ? window.parent.document.body : document.body;
  target.setAttribute('data-check', JSON.stringify({
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    innerWidth: window.innerWidth,
    images: imgs.length, broken: imgs.filter(function (i) {
      return !i.complete || i.naturalWidth === 0; }).length,
    svgs: document.querySelectorAll('figure svg').length,
    headline: head ? head.getBoundingClientRect().top : -1,
    figure: fig ? fig.getBoundingClientRect().top : -1,
    figureRight: fig ? fig.getBoundingClientRect().right : -1,
    headlineSvg: fig ? fig.querySelectorAll('svg').length : 0,
    minTextPx: minText, allSvgTextPx: svgText,
    unscrolledTables: Array.prototype.slice.call(document.querySelectorAll('table')).filter(
      function (t) { return !t.parentElement.classList.contains('scroll'); }).length,
    tooltips: document.querySelectorAll('th[title]').length,
    glossaryLinks: links.length,
    deadGlossaryLinks: links.filter(function (a) {
      return !document.getElementById(a.getAttribute('href').slice(1)); }).length,
  }));
});
</script></body>"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [390, 1024, 1440])
def test_report_in_headless_chromium(run_dir, tmp_path, width):
    """Rendered by a real browser at a phone's and two desktop widths: no horizontal page
    overflow (every table and wide plot in its scroll box), every image loaded, the headline
    figure (SVG inside the page) and its first sentence on the first screen, every plot's text
    >= 10 px, and every column header's glossary link resolving."""
    import json
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Chromium not installed (Debian: apt-get install chromium)")
    _, page = build_report(run_dir)
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", _CHECK), encoding="utf-8")
    shown = probe
    if width < 500:  # headless Chromium's window is at least 500 px wide: a frame is not
        shown = tmp_path / "phone.html"
        shown.write_text(
            f"<html><body style='margin:0'><iframe src='{probe.name}' width='{width}' "
            "height='900' style='border:0'></iframe></body></html>",
            encoding="utf-8",
        )
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--allow-file-access-from-files", f"--window-size={max(width, 500)},900",
         "--virtual-time-budget=5000", "--dump-dom", shown.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    found = re.search(r"data-check=\"([^\"]+)\"", dom)
    assert found, "the probe script did not run"
    check = json.loads(found.group(1).replace("&quot;", '"'))
    assert check["innerWidth"] == width and check["overflow"] <= 0, check
    assert check["broken"] == 0 and check["svgs"] >= 2 and check["images"] == 0, check  # SVG
    assert 0 < check["figure"] < check["headline"] < 900, check  # figure, then its sentences
    assert check["headlineSvg"] == 1 and check["figureRight"] <= width, check
    assert check["minTextPx"] >= 10 and check["allSvgTextPx"] >= 10, check  # every plot's text
    assert check["unscrolledTables"] == 0, check
    assert check["tooltips"] > 0 and check["glossaryLinks"] > 0, check
    assert check["deadGlossaryLinks"] == 0, check
