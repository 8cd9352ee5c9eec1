"""`skewbench evaluate` end to end: the results folder, its report and exports, the Python API,
and the categorize form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import skewbench
from skewbench.cli import main


def test_done_when(trec_files, tmp_path):
    """The issue's command: cells.csv holds each run's ndcg@10 (= trec_eval's, see test_peer),
    the report the paired A-vs-B test over distinct units and exposure by brand and category."""
    out = tmp_path / "out"
    f = trec_files
    argv = ["evaluate", "--task", "recommend", "--qrels", str(f["qrels"]), "--run",
            f"A={f['a']}", "--run", f"B={f['b']}", "--items", str(f["items"]),
            "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    cells = pd.read_csv(out / "report" / "cells.csv")
    ndcg = cells[cells["metric"] == "ndcg@10"].set_index("model")["value"]
    api = skewbench.evaluate(f["qrels"], {"A": f["a"], "B": f["b"]}, items=f["items"])
    assert ndcg.to_dict() == api[api["metric"] == "ndcg@10"].set_index("model")["value"].to_dict()
    units = pd.read_parquet(out / "report" / "units_recommend.parquet")
    for model in ("A", "B"):  # the cell value is the mean over every judged unit
        u = units[units["model"] == model]
        assert len(u) == 40 and ndcg[model] == pytest.approx(u["ndcg@10"].mean(), abs=1e-15)
    md = (out / "report" / "report.md").read_text()
    assert "Runs against each other (ndcg@10)" in md
    delta = ndcg["B"] - ndcg["A"]
    assert "paired randomization test over 40 distinct users" in md
    from skewbench.report.fmt import signed

    assert f"(Δ {signed(delta)})" in md  # the Δ printed is B − A, the mean of the unit Δs
    for grouping in ("brand", "category"):
        assert f"exposure_share[{grouping}=" in "".join(cells["metric"])
        assert f"| {grouping}" in md
    assert (out / "report" / "report.html").is_file()


def test_formats_agree(trec_files, tmp_path):
    """The same run as TREC, ranx JSON, CSV (score), Parquet (rank only) scores the same."""
    from skewbench.data.runfiles import read_run

    run = read_run(trec_files["a"])
    json_path = tmp_path / "a.json"
    nested: dict[str, dict[str, float]] = {}
    for u, i, s in zip(run["unit"], run["item"], run["score"], strict=True):
        nested.setdefault(u, {})[i] = s
    import json

    json_path.write_text(json.dumps(nested))
    run[["unit", "item", "score"]].to_csv(tmp_path / "a.csv", index=False)
    run[["unit", "item", "rank"]].sample(frac=1, random_state=0).to_parquet(tmp_path / "a.parquet")
    frames = [
        skewbench.evaluate(trec_files["qrels"], {n: p})
        for n, p in (("trec", trec_files["a"]), ("json", json_path),
                     ("csv", tmp_path / "a.csv"), ("parquet", tmp_path / "a.parquet"))
    ]  # fmt: skip
    values = [f.set_index("metric")["value"] for f in frames]
    for v in values[1:]:
        pd.testing.assert_series_equal(v, values[0], check_exact=True)


def test_train_and_users(trec_files, tmp_path):
    """--train gives popularity metrics (ARP = mean list popularity), --users the groups."""
    f = trec_files
    rng = np.random.default_rng(1)
    train = pd.DataFrame({"unit": [f"q{u}" for u in rng.integers(0, 40, 300)],
                          "item": [f"d{j:02d}" for j in rng.integers(0, 60, 300)]})  # fmt: skip
    train.to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame({"unit": [f"q{u}" for u in range(40)], "tier": ["gold", "basic"] * 20}).to_csv(
        tmp_path / "users.csv", index=False
    )
    out = tmp_path / "out"
    tidy = skewbench.evaluate(f["qrels"], {"A": f["a"]}, items=f["items"],
                              train=tmp_path / "train.csv", users=tmp_path / "users.csv",
                              output=out, report=False)  # fmt: skip
    m = tidy.set_index("metric")["value"]
    from skewbench.data.runfiles import read_run

    pop = train.drop_duplicates().groupby("item")["unit"].size()
    run = read_run(f["a"])
    top = run[run["rank"] <= 10].assign(p=lambda d: pop.reindex(d["item"]).fillna(0).to_numpy())
    assert m["arp"] == pytest.approx(top.groupby("unit")["p"].mean().mean(), abs=1e-12)
    assert {"non_head_share", "popularity_lift", "exposure_gini[brand]"} <= set(m.index)
    from skewbench.runner.store import ResultStore

    with ResultStore(out / "results.sqlite") as store:
        units = store.units(store.table()["key"].iloc[0])
    assert units.set_index("unit").loc["q1", "ug_tier"] == "basic"


def test_categorize(tmp_path):
    """Label-only and probability predictions: the task's metrics; AUC from the probabilities
    (sklearn's), none without them."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    rng = np.random.default_rng(0)
    classes = np.array(["a", "b", "c"])
    y = rng.choice(3, 90, p=[0.6, 0.3, 0.1])
    ids = [f"x{i}" for i in range(90)]
    pd.DataFrame({"id": ids, "label": classes[y]}).to_csv(tmp_path / "labels.csv", index=False)
    guess = np.where(rng.random(90) < 0.6, y, rng.integers(0, 3, 90))
    pd.DataFrame({"id": ids, "label": classes[guess]}).to_csv(tmp_path / "p1.csv", index=False)
    proba = rng.dirichlet([1, 1, 1], 90)
    proba[np.arange(90), y] += 0.5
    proba /= proba.sum(1, keepdims=True)
    frame = pd.DataFrame({"id": ids, **{f"proba_{c}": proba[:, j] for j, c in enumerate(classes)}})
    frame.to_csv(tmp_path / "p2.csv", index=False)
    out = tmp_path / "out"
    argv = ["evaluate", "--task", "categorize", "--labels", str(tmp_path / "labels.csv"),
            "--predictions", f"rules={tmp_path / 'p1.csv'}",
            "--predictions", f"model={tmp_path / 'p2.csv'}", "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    cells = pd.read_csv(out / "report" / "cells.csv")
    v = cells.set_index(["model", "metric"])["value"]
    assert v["rules", "balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, guess))
    read = pd.read_csv(tmp_path / "p2.csv")[[f"proba_{c}" for c in classes]].to_numpy()
    auc = np.mean([roc_auc_score(y == j, read[:, j]) for j in range(3)])
    assert v["model", "auc_macro_ovr"] == pytest.approx(auc, abs=1e-12)
    assert ("rules", "auc_macro_ovr") not in v.index  # no probabilities: no AUC
    assert (
        "Runs against each other (balanced_accuracy)" in (out / "report" / "report.md").read_text()
    )
