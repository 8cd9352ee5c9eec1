"""The categorize task end to end on a small labelled-text table (real loader, real models)."""

import numpy as np
import pandas as pd
import pytest

from skewbench.data import subsample
from skewbench.errors import ConfigError, IncompatibleError
from skewbench.models.categorize import MiniLMFinetune, TfidfLR, Treatment
from skewbench.runner.cell import Cell, Component
from skewbench.tasks import categorize

WORDS = {
    "dress": "dress skirt hem flowy summer",
    "jeans": "jeans denim waist zipper pocket",
    "sweater": "sweater wool knit cozy warm",
    "jacket": "jacket coat zipper lining hood",
    "swim": "swimsuit bikini beach pool strap",
    "sleep": "pajama sleep night soft lounge",
}
SIZES = {"dress": 120, "jeans": 60, "sweater": 40, "jacket": 25, "swim": 20, "sleep": 15}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    rng = np.random.default_rng(0)
    filler = ["nice", "fit", "color", "fabric", "size", "love", "great", "ok", "quality", "price"]
    rows = []
    for label, n in SIZES.items():
        vocab = WORDS[label].split()
        for _ in range(n):
            words = list(rng.choice(vocab, 2)) + list(rng.choice(filler, 6))
            rng.shuffle(words)
            rows.append({"text": " ".join(words), "label": label})
    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def _cell(path, model="tfidf_lr", treatment="none", tparams=None, rho=4.0, seed=0, mparams=None):
    ds = Component("table", {"path": path, "kind": "labelled_text", "min_class_count": 10})
    return Cell(
        "categorize",
        ds,
        Component(model, mparams or {}),
        Component(treatment, tparams or {}),
        rho,
        seed,
    )


def test_same_cell_twice_gives_identical_results(table):
    for model, treatment in [("tfidf_lr", "smote"), ("tfidf_lr", "class_weight")]:
        params = {"scheme": "inverse"} if treatment == "class_weight" else {}
        a = categorize.run(_cell(table, model, treatment, params))
        b = categorize.run(_cell(table, model, treatment, params))
        assert a.metrics == pytest.approx(b.metrics, nan_ok=True, rel=0, abs=0)
        pd.testing.assert_frame_equal(a.units, b.units)


def test_frozen_minilm_cell_is_deterministic(table, tmp_path, monkeypatch):
    monkeypatch.setenv("SKEWBENCH_CACHE", str(tmp_path))
    cell = _cell(table, "minilm_frozen", "focal", {"gamma": 2.0, "alpha": "inverse"})
    a, b = categorize.run(cell), categorize.run(cell)
    assert a.metrics == pytest.approx(b.metrics, nan_ok=True, rel=0, abs=0)
    assert a.metrics["accuracy"] > 0.5  # the classes are separable by their words


def test_result_shape_and_data_side_streams(table):
    a = categorize.run(_cell(table, "tfidf_lr", "none"))
    b = categorize.run(_cell(table, "tfidf_lr", "undersample"))
    names = set(a.metrics)
    for m in ("macro_f1", "recall_tail", "bal_macro_f1", "bal_recall_tail", "ece", "gini_gap"):
        assert m in names
    assert names == set(b.metrics)
    # every model and treatment of a replicate sees the same split, subsample and test view
    pd.testing.assert_frame_equal(
        a.units[["unit", "true", "in_balanced_view"]],
        b.units[["unit", "true", "in_balanced_view"]],
    )
    assert a.info["train_counts"] == b.info["train_counts"]
    assert b.info["n_train_fit"] < b.info["n_train"]
    assert a.info["achieved_imbalance_ratio"] == pytest.approx(4.0, rel=0.25)
    view = a.units[a.units["in_balanced_view"]]
    assert view["true"].value_counts().nunique() == 1  # equal count per class
    assert len(a.units) == a.info["n_test"]


def test_incompatible_and_bad_configs_are_refused(table):
    with pytest.raises(IncompatibleError, match="'tfidf_lr' cannot apply treatment 'focal'"):
        categorize.check(_cell(table, "tfidf_lr", "focal"))
    with pytest.raises(IncompatibleError, match="logit_adjust_loss"):
        categorize.check(_cell(table, "tfidf_lr", "logit_adjust_loss", {"tau": 1.0}))
    with pytest.raises(IncompatibleError, match="SMOTE makes synthetic feature vectors"):
        categorize.check(_cell(table, "minilm_finetune", "smote"))
    with pytest.raises(ConfigError, match=r"treatment.params.scheme"):
        categorize.check(_cell(table, "tfidf_lr", "class_weight", {"scheme": "balanced"}))
    with pytest.raises(ConfigError, match=r"treatment.params.gama"):
        categorize.check(_cell(table, "minilm_frozen", "focal", {"gama": 2}))
    with pytest.raises(ConfigError, match=r"model.params.Cc"):
        categorize.check(_cell(table, "tfidf_lr", mparams={"Cc": 1}))
    with pytest.raises(ConfigError, match="model.name"):
        categorize.check(_cell(table, "bert"))
    with pytest.raises(ConfigError, match="imbalance"):
        categorize.check(_cell(table, rho=0.5))


def _texts(table):
    df = pd.read_csv(table)
    codes = pd.factorize(df["label"], sort=True)[0]
    return df["text"].tolist(), codes


def test_resampling_inside_a_model_uses_training_rows_only(table):
    texts, y = _texts(table)
    idx = np.arange(len(texts))
    tr, va = idx[idx % 4 != 0], idx[idx % 4 == 0]
    for name in ("oversample", "undersample", "smote"):
        m = TfidfLR(Treatment.parse(name), seed=0)
        m.fit([texts[i] for i in tr], y[tr], [texts[i] for i in va], y[va], 6)
        src = m.resample_source_
        assert src is not None and src.max() < tr.size and src.min() >= -1


def test_posthoc_tau_zero_equals_no_treatment(table):
    texts, y = _texts(table)
    fit = [
        TfidfLR(Treatment.parse(t, p), seed=5).fit(texts, y, texts[:10], y[:10], 6)
        for t, p in (("none", {}), ("logit_adjust_posthoc", {"tau": 0.0}))
    ]
    np.testing.assert_array_equal(fit[0].predict_proba(texts), fit[1].predict_proba(texts))


def test_finetune_smoke(table):
    texts, y = _texts(table)
    sel = np.concatenate([np.flatnonzero(y == c)[:8] for c in range(4)])  # 32 texts, 4 classes
    m = MiniLMFinetune(
        Treatment.parse("class_weight", {"scheme": "inverse"}),
        seed=0,
        max_train=32,
        max_seq_length=16,
        batch_size=32,
    )
    m.fit([texts[i] for i in sel], y[sel], [texts[i] for i in sel[::5]], y[sel][::5], 4)
    p = m.predict_proba([texts[i] for i in sel[:5]])
    assert p.shape == (5, 4)
    np.testing.assert_allclose(p.sum(1), 1.0)


@pytest.mark.slow
def test_finetune_is_deterministic(table):
    texts, y = _texts(table)
    probs = []
    for _ in range(2):
        m = MiniLMFinetune(
            Treatment.parse("focal"),
            seed=3,
            max_train=60,
            epochs=2,
            max_seq_length=24,
            batch_size=16,
        )
        m.fit(texts, y, texts[:30], y[:30], 6)
        probs.append(m.predict_proba(texts[:20]))
    np.testing.assert_array_equal(probs[0], probs[1])


def test_unit_balanced_accuracy_shares_average_to_the_metric(table):
    res = categorize.run(_cell(table, "tfidf_lr", "none"))
    for name in ("balanced_accuracy", "recall_head", "recall_tail", "head_tail_gap"):
        assert res.units[name].mean() == pytest.approx(res.metrics[name], abs=1e-12, nan_ok=True)
    assert res.units["unit"].is_unique


def test_group_column_must_exist(table):
    ds = Component(
        "table", {"path": table, "kind": "labelled_text", "min_class_count": 10, "group": "sku"}
    )
    cell = Cell("categorize", ds, Component("tfidf_lr"), Component("none"), None, 0)
    with pytest.raises(ConfigError, match="dataset.params.group: table has no column 'sku'"):
        categorize.run(cell)


def test_dataset_without_categorize_loader_is_refused_before_work():
    # The Complete Journey loaders take no label/text parameters: refused at check time
    # instead of failing inside the loader mid-run.
    cell = Cell(
        "categorize",
        Component("completejourney", {"label": "department"}),
        Component("tfidf_lr"),
        Component("none"),
        None,
        0,
    )
    with pytest.raises(ConfigError, match="is not a categorize dataset"):
        categorize.check(cell)


def _sweep_cell(path, rho, levels, train_size=None, model="tfidf_lr"):
    opts = {"imbalance_levels": levels}
    if train_size is not None:
        opts["train_size"] = train_size
    ds = Component("table", {"path": path, "kind": "labelled_text", "min_class_count": 10})
    return Cell("categorize", ds, Component(model), Component("none"), rho, 0, options=opts)


def test_fixed_size_sweep_trains_every_level_on_the_same_number(table):
    levels = [1.0, 2.0, 4.0]
    res = {r: categorize.run(_sweep_cell(table, r, levels)) for r in levels}
    sizes = {r: x.info["n_train"] for r, x in res.items()}
    assert len(set(sizes.values())) == 1, sizes
    for r, x in res.items():
        assert sum(x.info["train_counts"]) == x.info["n_train"]
        assert x.info["achieved_imbalance_ratio"] == pytest.approx(r, rel=0.2)
    # the common size is the smallest level's profile total; "natural" gives each level its own
    avail = np.asarray(res[1.0].info["available_train_counts"], dtype=float)
    assert sizes[1.0] == subsample.common_train_size(avail, levels)
    natural = {
        r: categorize.run(_sweep_cell(table, r, levels, "natural")).info["n_train"] for r in levels
    }
    assert len(set(natural.values())) == 3 and min(natural.values()) == sizes[1.0]


def test_fixed_size_targets_hand_computed():
    avail = np.array([100.0, 50.0, 40.0])
    # ρ = 4, K = 3: shares ∝ (1, 1/2, 1/4) → 60 · (4/7, 2/7, 1/7) = (34.29, 17.14, 8.57)
    t = subsample.fixed_size_targets(avail, 4.0, 60)
    np.testing.assert_array_equal(t, [34, 17, 9])  # remainder 1 to the largest fraction (.57)
    assert subsample.profile_total(avail, 1.0) == pytest.approx(120.0)  # 3 · min avail
    # ρ = 4: n_max = min(100, 50·2, 40·4) = 100 → 100 + 50 + 25
    assert subsample.profile_total(avail, 4.0) == pytest.approx(175.0)
    assert subsample.common_train_size(avail, [1.0, 4.0]) == 120


def test_unreachable_ratio_is_refused_with_the_largest_reachable(table):
    cell = _sweep_cell(table, 1e6, [1.0, 1e6])
    with pytest.raises(ConfigError, match=r"ratio 1e\+06 is not reachable.*largest reachable"):
        categorize.check(cell)
    msg = ""
    try:
        categorize.check(cell)
    except ConfigError as err:
        msg = str(err)
    best = float(msg.rsplit(" ", 1)[-1])
    assert best >= 2
    categorize.check(_sweep_cell(table, best, [1.0, best]))  # the named value does run
    with pytest.raises(ConfigError, match="not reachable"):
        categorize.check(_sweep_cell(table, best * 1.5, [1.0, best * 1.5]))


def test_grid_gives_every_cell_the_sweep_levels():
    from skewbench.runner.config import parse_config
    from skewbench.runner.grid import expand

    cfg = {
        "name": "t",
        "experiments": [
            {
                "task": "categorize",
                "datasets": ["clothing"],
                "imbalance_ratio": [10, 1],
                "models": ["tfidf_lr"],
            }
        ],
    }
    cells = expand(parse_config(cfg), check=False)
    assert [sorted(c.options["imbalance_levels"]) for c in cells] == [[1, 10]] * 2
    cfg["experiments"][0]["options"] = {"imbalance_levels": [1]}
    with pytest.raises(ConfigError, match="options.imbalance_levels: set from"):
        expand(parse_config(cfg), check=False)


def test_tuning_on_validation_records_trials_and_uses_the_best(table):
    ds = Component("table", {"path": table, "kind": "labelled_text", "min_class_count": 10})
    tune = {"space": {"C": [0.01, 10.0]}, "method": "grid", "trials": 20, "metric": None}
    cell = Cell("categorize", ds, Component("tfidf_lr"), Component("none"), 4.0, 0, tune=tune)
    res = categorize.run(cell)
    rec = res.info["tuning"]
    assert rec["metric"] == "balanced_accuracy" and rec["refit"] is False
    assert [t["params"]["C"] for t in rec["trials"]] == [0.01, 10.0]
    scores = [t["score"] for t in rec["trials"]]
    assert rec["chosen"]["C"] == [0.01, 10.0][int(np.argmax(scores))]
    # the cell's test numbers are those of a plain fit with the chosen C
    plain = categorize.run(
        Cell(
            "categorize",
            ds,
            Component("tfidf_lr", {"C": rec["chosen"]["C"]}),
            Component("none"),
            4.0,
            0,
        )
    )
    assert res.metrics["balanced_accuracy"] == plain.metrics["balanced_accuracy"]
    # one set of timing keys (as recommend and search): a tuned cell's fit is inside tune
    for info, fit_inside_tune in ((res.info, True), (plain.info, False)):
        t = info["timings_s"]
        assert list(t) == ["data", "tune", "fit", "score", "rerank", "metrics", "total"]
        assert t["rerank"] == 0.0
        assert (t["fit"] == 0.0) is fit_inside_tune and (t["tune"] == 0.0) is not fit_inside_tune
        # stages nest inside the total (each value rounded to 1 ms); the untimed glue between
        # stages is not bounded here, since it grows with machine load
        assert min(t.values()) >= 0.0
        assert sum(v for k, v in t.items() if k != "total") <= t["total"] + 0.004
        assert not any(k.endswith("_seconds") for k in info)
    bad = {**tune, "space": {"max_iter": [10]}}
    with pytest.raises(ConfigError, match="'max_iter' is not tunable"):
        categorize.check(
            Cell("categorize", ds, Component("tfidf_lr"), Component("none"), 4.0, 0, tune=bad)
        )


def test_old_scheme_name_in_a_config_names_the_new_one(table):
    with pytest.raises(ConfigError, match="renamed 'majority_weighted'"):
        categorize.check(_cell(table, "tfidf_lr", "class_weight", {"scheme": "source_formula"}))


def test_prepare_encodes_exactly_the_rows_the_cells_read(table, monkeypatch):
    import skewbench.encoders as encoders

    got: dict[str, list[str]] = {}
    monkeypatch.setattr(
        encoders,
        "encode",
        lambda texts, model_name, progress, **settings: got.setdefault(model_name, texts),
    )
    cells = [
        _cell(table, "minilm_frozen", t, p, rho=rho, seed=seed)
        for rho in (1.0, 4.0)
        for seed in (0, 1)
        for t, p in (("none", None), ("class_weight", {"scheme": "inverse"}))
    ] + [_cell(table, "tfidf_lr")]  # no encoder: reads nothing from the cache
    categorize.prepare(cells)
    df, text, label = categorize.load_dataset(cells[0].dataset)
    codes = np.unique(df[label].astype(str).to_numpy(), return_inverse=True)[1]
    rows = set()
    for c in cells[:-1]:
        tr, va, te, _, _ = categorize.cell_positions(c, codes)
        rows |= {*tr.tolist(), *va.tolist(), *te.tolist()}
    assert list(got) == ["minilm"]
    assert got["minilm"] == df[text].to_numpy(dtype=object)[sorted(rows)].tolist()
    assert len(rows) < len(df)  # the subsampled training rows leave texts out
