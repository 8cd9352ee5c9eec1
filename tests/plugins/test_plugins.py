"""Model plug-ins: the shipped examples run through a config on tiny table data (their stored
numbers re-derived from the class itself), and bad plug-ins are refused before any work."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from skewbench.cli import main
from skewbench.runner.config import load_config
from skewbench.runner.run import run_config, store_path
from skewbench.runner.store import ResultStore
from tests.data.test_table_tasks import shop  # noqa: F401 - the tiny data files fixture

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"
SK = "examples.plugins.sklearn_text:TextPipeline"
ALS = "examples.plugins.implicit_als:ImplicitALS"
TFIDF = "examples.plugins.tfidf_search:TfidfScorer"


def _config(root: Path, body: str) -> Path:
    path = root / "c.yaml"
    path.write_text(
        f"name: plug\nseeds: 1\noutput: {root / 'out'}\nexperiments:\n"
        + textwrap.indent(textwrap.dedent(body), "  ")
    )
    return path


def _data(root: Path, name: str) -> str:
    return str(root / "data" / name)


def _body(root: Path) -> str:
    items = f"{{path: {_data(root, 'items.csv')}, columns: {{item_id: sku, title: name, category_path: cat}}}}"
    return f"""\
    - task: categorize
      datasets:
        - {{name: table, path: {_data(root, "reviews.csv")}, label: category, text: review, min_class_count: 5}}
      models: [{{name: plugin, class: "{SK}", params: {{alpha: 1.0e-3}}}}]
      treatments: [none, {{name: class_weight, scheme: inverse}}]
    - task: recommend
      datasets:
        - name: table
          interactions:
            path: {_data(root, "orders.csv")}
            columns: {{user_id: customer, item_id: sku, timestamp: order}}
          catalog: {items}
      models: [{{name: plugin, class: "{ALS}", params: {{factors: 4, iterations: 3}}}}]
      treatments: [none, {{name: ips, eta: 0.5}}, {{name: fair, p: 0.5}}]
      options: {{cutoffs: [5], k: 5, exposure_k: 5, candidates: 10}}
    - task: search
      datasets:
        - name: table
          queries: {{path: {_data(root, "queries.csv")}, columns: {{query_id: qid, text: q}}}}
          qrels: {{path: {_data(root, "judgments.parquet")}, columns: {{query_id: qid, item_id: sku}}}}
          catalog: {items}
      models: [{{name: plugin, class: "{TFIDF}"}}]
      treatments: [none]
      options: {{k: 5, cutoffs: [5], candidates: 10}}
    """


def test_the_example_plugins_run_from_a_config_and_store_their_own_numbers(shop):  # noqa: F811
    cfg = _config(shop, _body(shop))
    assert main(["validate", str(cfg)]) == 0
    summary = run_config(load_config(cfg), shop / "out", progress=False)
    assert summary.failed == 0 and summary.finished == summary.total == 6
    with ResultStore(store_path(shop / "out")) as store:
        table = store.table()
        configs = store.configs()
        search_key = table.loc[table["task"] == "search", "key"].iloc[0]
        units = store.units(search_key)
    assert {c["model"]["name"] for c in configs.values()} == {"plugin"}
    assert {c["model"]["params"]["class"] for c in configs.values()} == {SK, ALS, TFIDF}
    cat = table[table["task"] == "categorize"]
    assert (cat["balanced_accuracy"] > 0.5).all()  # the classes' words separate them

    # the search plug-in's stored lists re-derived from the class itself: its scores, ranked
    # by score descending then item index (the engine's tie-break)
    from examples.plugins.tfidf_search import TfidfScorer

    from skewbench.tasks.search.data import load_data

    data = load_data(_cell(configs[search_key]))
    scorer = TfidfScorer().fit(list(data.catalog["text"]))
    S = scorer.score(type("Q", (), {"texts": list(data.queries["text"])})())
    for row, ranked in zip(S, units["ranked"], strict=True):
        order = np.lexsort((np.arange(row.size), -row))[:5]
        assert list(order[np.isfinite(row[order])]) == [i for i in ranked if i >= 0]


def _cell(d: dict):
    from skewbench.runner.cell import Cell, Component

    comp = {k: Component(d[k]["name"], d[k]["params"]) for k in ("dataset", "model", "treatment")}
    return Cell(
        task=d["task"],
        imbalance=d["imbalance"],
        seed=d["seed"],
        master_seed=d["master_seed"],
        options=d["options"],
        **comp,
    )


def test_class_weights_and_sampling_reach_a_categorize_plugin():
    from skewbench.models.categorize.base import Treatment
    from skewbench.models.categorize.plugin import PluginModel

    texts = [f"shoe lace {i}" for i in range(6)] + [f"wool hat {i}" for i in range(2)]
    y = np.array([0] * 6 + [1] * 2)
    seen = {}

    model = PluginModel(Treatment.parse("class_weight", {"scheme": "inverse"}), 0, **{"class": SK})
    import examples.plugins.sklearn_text as mod

    real = mod.TextPipeline.fit

    def spy(self, texts, y, **kw):
        seen.update(kw, texts=list(texts), y=y)
        return real(self, texts, y, **kw)

    mod.TextPipeline.fit = spy
    try:
        model.fit(texts, y, texts[:2], y[:2], 2)
        # inverse weights 1/n_k rescaled to mean example weight 1: 8/(2·6), 8/(2·2)
        np.testing.assert_allclose(seen["sample_weight"], [2 / 3] * 6 + [2.0] * 2)
        seen.clear()
        model = PluginModel(Treatment.parse("oversample"), 0, **{"class": SK})
        model.fit(texts, y, texts[:2], y[:2], 2)
        assert np.bincount(seen["y"]).tolist() == [6, 6] and "sample_weight" not in seen
    finally:
        mod.TextPipeline.fit = real
    assert model.predict_proba(texts).shape == (8, 2)


def test_ips_reaches_the_plugin_as_per_interaction_weights():
    from skewbench.data.groups import item_popularity_matrix
    from skewbench.models.recommend.plugin import PluginRecommender
    from skewbench.runner.cell import Component
    from skewbench.treatments.propensity import ips_weights

    seen = {}

    X = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [1, 0, 1.0]], dtype=np.float32))
    model = PluginRecommender(
        {"class": ALS, "factors": 2, "iterations": 1}, Component("ips", {"eta": 0.5, "clip": 100.0})
    )
    fit = model.model_.fit

    def spy(X, *, seed, sample_weight=None):
        seen["w"] = sample_weight
        return fit(X, seed=seed, sample_weight=sample_weight)

    model.model_.fit = spy
    model.fit(X, seed=3)
    w = ips_weights(item_popularity_matrix(X), 0.5, 100.0)
    np.testing.assert_allclose(seen["w"].toarray(), X.toarray() * w[None, :], rtol=1e-6)
    assert model.score(np.array([0, 2])).shape == (2, 3)


BAD_MODULE = """
from pydantic import BaseModel, ConfigDict, Field

class NoScore:
    def fit(self, X, *, seed): return self

class Strict:
    class Config(BaseModel):
        model_config = ConfigDict(extra="forbid")
        factors: int = Field(8, ge=1)
    config_class = Config
    def __init__(self, factors=8): self.factors = factors
    def fit(self, X, *, seed): return self
    def score(self, users): return None

class Plain:
    def __init__(self, factors=8): self.factors = factors
    def fit(self, X, *, seed): return self
    def score(self, users): return None

class Claims:
    capabilities = frozenset({"telepathy"})
    def fit(self, X, *, seed): return self
    def score(self, users): return None
"""


@pytest.mark.parametrize(
    ("model", "treatment", "needles"),
    [
        ({"class": "no_such_pkg.mod:X"}, "none", ["cannot import", "no_such_pkg", "PYTHONPATH"]),
        ({"class": "badplug:Missing"}, "none", ["has no attribute 'Missing'"]),
        ({"class": "nonsense"}, "none", ["entry point", "skewbench.models"]),
        ({"class": "badplug:NoScore"}, "none", ["NoScore lacks score", "fit and score"]),
        ({"class": "badplug:Strict", "params": {"factors": 0}}, "none", ["factors", "greater"]),
        ({"class": "badplug:Strict", "params": {"factor": 3}}, "none", ["factor", "unknown"]),
        (
            {"class": "badplug:Plain", "params": {"rank": 3}},
            "none",
            ["rank", "allowed: ['factors']"],
        ),
        ({"class": "badplug:Claims"}, "none", ["telepathy", "known"]),
        ({"class": "badplug:Plain"}, "ips", ["cannot apply treatment 'ips'", "sample_weights"]),
        ({"class": "badplug:Plain"}, "pda", ["cannot apply treatment 'pda'", "bpr"]),
    ],
)
def test_a_bad_plugin_is_one_line_before_any_work(
    tmp_path, capsys, monkeypatch, model, treatment, needles
):
    (tmp_path / "badplug.py").write_text(BAD_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import yaml

    cfg = tmp_path / "c.yaml"
    exp = {
        "task": "recommend",
        "datasets": ["movielens100k"],
        "models": [{"name": "plugin", **model}],
        "treatments": [treatment],
        "options": {"cutoffs": [10]},
    }
    cfg.write_text(yaml.safe_dump({"name": "bad", "experiments": [exp]}))
    assert main(["run", str(cfg), "--output", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("skewbench: error: ") and "\n" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    db = tmp_path / "out" / "results.sqlite"
    if db.exists():  # refused before any work: no cell stored
        import sqlite3

        assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM cells").fetchone() == (0,)


def test_the_example_config_validates(capsys, monkeypatch):
    monkeypatch.chdir(EXAMPLES.parents[1])  # run from the repository root, as documented
    assert main(["validate", "--no-data", "examples/plugins/plugins.yaml"]) == 0
    assert "valid; 13 cells" in capsys.readouterr().out


@pytest.mark.slow
def test_the_example_config_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(EXAMPLES.parents[1])
    summary = run_config(load_config("examples/plugins/plugins.yaml"), tmp_path, progress=False)
    assert summary.failed == 0 and summary.finished == 13
    with ResultStore(store_path(tmp_path)) as store:
        table = store.table()
    plug = table[table["model"].str.startswith("plugin")]
    assert len(plug) == 7 and set(plug["task"]) == {"categorize", "recommend", "search"}


def test_a_custom_loss_plugin_trains_with_the_treatments_loss():
    import torch

    from skewbench.models.categorize.base import TrainLoss, Treatment
    from skewbench.models.categorize.plugin import PluginModel
    from skewbench.treatments.losses import focal_loss

    texts = [f"shoe lace {i}" for i in range(6)] + [f"wool hat {i}" for i in range(2)]
    y = np.array([0] * 6 + [1] * 2)
    ref = "tests.plugins.lossplug:HashedLinear"
    model = PluginModel(Treatment.parse("focal", {"gamma": 2.0}), 0, **{"class": ref})
    model.fit(texts, y, texts[:2], y[:2], 2)
    loss = model.model_.loss_
    assert isinstance(loss, TrainLoss) and loss.treatment.name == "focal"
    z, t = torch.tensor([[2.0, -1.0], [0.5, 0.3]]), torch.tensor([0, 1])
    assert torch.allclose(loss(z, t), focal_loss(z, t, gamma=2.0, alpha=None))
    assert (model.predict_proba(texts).argmax(axis=1) == y).all()
    # without custom_loss, the loss treatments are refused (TextPipeline: sample weights only)
    with pytest.raises(Exception, match="declare custom_loss"):
        PluginModel.check(Treatment.parse("focal"), {"class": SK})
