"""The component specs: typos refused with the allowed names, every error in one run, and the
specs' defaults equal to the implementations' own defaults (so docs and code cannot drift)."""

import inspect
import re
import textwrap

import pytest

from skewbench import specs
from skewbench.cli import main
from skewbench.errors import IncompatibleError
from skewbench.runner.cell import Cell, Component
from skewbench.tasks import recommend, search


def _validate(tmp_path, capsys, body: str) -> tuple[int, str]:
    path = tmp_path / "c.yaml"
    path.write_text("name: t\nexperiments:\n" + textwrap.indent(textwrap.dedent(body), "  "))
    rc = main(["validate", str(path)])
    return rc, capsys.readouterr().err


def test_search_typos_all_refused_in_one_run(tmp_path, capsys):
    rc, err = _validate(
        tmp_path,
        capsys,
        """\
        - task: search
          datasets: [{name: completejourney, min_item_count: 20}]
          models: [bm25]
          treatments:
            - {name: fair, groop: manufacturer, pp: 0.9}
            - {name: xquad, lamda: 0.9}
          options: {cutof: [5]}
        """,
    )
    assert rc == 2 and "Traceback" not in err
    assert "4 problems" in err
    assert (
        "treatment.params.groop: unknown parameter for search treatment 'fair'; allowed: "
        "['alpha', 'group', 'p']; did you mean 'group'?" in err
    )
    assert "treatment.params.pp: unknown parameter" in err and "did you mean 'p'?" in err
    assert "treatment.params.lamda" in err and "did you mean 'lambda'?" in err
    # the options typo is reported once, not once per cell
    assert err.count("options.cutof: unknown option for task search; allowed: ") == 1
    assert "did you mean 'cutoffs'?" in err


def test_categorize_dataset_typo_and_old_names(tmp_path, capsys):
    rc, err = _validate(
        tmp_path,
        capsys,
        """\
        - task: categorize
          datasets: [{name: clothing, min_clas_count: 5, min_class_size: 3}]
          models: [tfidf_lr]
        """,
    )
    assert rc == 2
    assert "dataset.params.min_clas_count: unknown parameter for categorize dataset " in err
    assert "did you mean 'min_class_count'?" in err
    # the loader's old name for the same thing points at the config's one name
    assert "dataset.params.min_class_size" in err


def test_recommend_ease_lambda_names_l2_and_imbalance_is_refused(tmp_path, capsys):
    rc, err = _validate(
        tmp_path,
        capsys,
        """\
        - task: recommend
          datasets: [movielens100k]
          models: [{name: ease, lambda: 500}]
        """,
    )
    assert rc == 2
    assert "model.params.lambda: unknown parameter for recommend model 'ease'; allowed: " in err
    assert "['dtype', 'l2', 'memory_budget_gb']; did you mean 'l2'?" in err
    rc, err = _validate(
        tmp_path,
        capsys,
        """\
        - task: recommend
          datasets: [movielens100k]
          imbalance: [0.5]
          models: [popularity]
        """,
    )
    assert rc == 2 and "write target_gini: [...]" in err
    rc, err = _validate(
        tmp_path,
        capsys,
        """\
        - task: search
          datasets: [completejourney]
          target_gini: [0.5]
          models: [bm25]
        """,
    )
    assert rc == 2 and "target_gini: only for task recommend, not search" in err


def test_range_type_and_incompatibility_errors_name_the_field():
    cell = Cell(
        "recommend",
        Component("movielens100k", {"test_frac": 1.5}),
        Component("ease", {"l2": -1, "dtype": "float16"}),
        Component("ips", {"eta": 0.5}),
        None,
        0,
        options={"cutoffs": [5, 50], "k": 10},
    )
    errors, incompatible = specs.cell_errors(cell)
    assert not incompatible
    text = "\n".join(errors)
    assert "dataset.params.test_frac: Input should be less than 1 (got 1.5)" in text
    assert "model.params.l2: Input should be greater than 0 (got -1)" in text
    assert "model.params.dtype: Input should be 'float64' or 'float32' (got 'float16')" in text
    assert "options: Value error" not in text and "k = 10 is shorter than" in text
    assert "model 'ease' cannot apply treatment 'ips'" in text
    ok = Cell("recommend", Component("movielens100k"), Component("bpr"), Component("ips"), None, 0)
    assert specs.cell_errors(ok) == ([], False)


def test_tune_keys_must_be_model_parameters():
    cell = Cell(
        "recommend",
        Component("movielens100k"),
        Component("ease"),
        Component("none"),
        None,
        0,
        tune={"space": {"l_2": [1, 2]}, "method": "grid"},
    )
    assert specs.cell_errors(cell)[0] == [
        "model.tune.l_2: not a parameter of recommend model 'ease'; allowed: "
        "['dtype', 'l2', 'memory_budget_gb']; did you mean 'l2'?"
    ]


def _init_defaults(cls, skip=()):
    return {
        n: p.default
        for n, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty and n not in skip
    }


def _spec(kind, task, name):
    entry = specs.find(kind, task, name)
    assert entry is not None, (kind, task, name)
    return specs.defaults(entry.spec)


def _same(a, b):
    norm = {k: list(v) if isinstance(v, tuple) else v for k, v in a.items()}
    return norm == {k: list(v) if isinstance(v, tuple) else v for k, v in b.items()}


def test_categorize_specs_match_the_models():
    from skewbench.models.categorize import MODELS
    from skewbench.models.categorize.base import TREATMENT_PARAMS
    from skewbench.treatments.weights import SCHEMES

    assert list(MODELS) == specs.names_of("model", "categorize")
    for name, cls in MODELS.items():
        if name == "plugin":  # its parameters and treatments are its class's (tests/plugins)
            continue
        assert _same(_spec("model", "categorize", name), cls.PARAMS), name
        entry = specs.find("model", "categorize", name)
        assert set(specs.treatments_for(entry)) == set(cls.SUPPORTS), name
    assert list(TREATMENT_PARAMS) == specs.names_of("treatment", "categorize")
    cw = specs.find("treatment", "categorize", "class_weight").spec
    assert cw.model_fields["scheme"].annotation.__args__ == SCHEMES


def test_recommend_specs_match_the_models():
    from skewbench.models import recommend as R
    from skewbench.tasks import recommend as task

    pairs = {"itemknn": R.ItemKNN, "ease": R.EASE, "bpr": R.BPR, "als": R.ALS}
    for name, cls in pairs.items():
        impl = _init_defaults(cls, skip=("block_size", "num_threads"))
        impl = {k: v for k, v in impl.items() if not k.startswith(("ips_", "neg_"))}
        assert _spec("model", "recommend", name) == impl, name
    hybrid = _spec("model", "recommend", "hybrid")
    assert {k: hybrid[k] for k in ("alpha", "normalise")} == _init_defaults(R.Hybrid)
    assert list(task.MODELS) == specs.names_of("model", "recommend")
    assert list(task.TREATMENTS) == specs.names_of("treatment", "recommend")
    from skewbench.runner.cell import Cell, Component
    from skewbench.tasks.recommend.config import dataset_params

    for name in task.DATASETS:  # the task's filled-in parameters are its spec's defaults
        cell = Cell("recommend", Component(name), Component("ease"), Component("none"), None, 0)
        assert dataset_params(cell) == _spec("dataset", "recommend", name), name


def test_search_specs_match_the_models():
    from skewbench.models.search.bm25 import BM25Retriever
    from skewbench.models.search.dense import DenseRetriever
    from skewbench.models.search.fusion import RRFHybrid
    from skewbench.models.search.personal import PersonalisedDense
    from skewbench.models.search.trained import CrossEncoderReranker, FineTunedBiEncoder
    from skewbench.tasks import search as task

    skip = ("model_name", "encoder")
    assert _spec("model", "search", "bm25") == _init_defaults(BM25Retriever)
    assert _spec("model", "search", "dense") == _init_defaults(DenseRetriever, skip)
    assert _spec("model", "search", "hybrid") == _init_defaults(RRFHybrid)
    assert _spec("model", "search", "personal") == _init_defaults(PersonalisedDense)
    assert _spec("model", "search", "finetuned") == _init_defaults(FineTunedBiEncoder)
    ce = _spec("model", "search", "cross_encoder")
    assert ce.pop("first_stage") == "dense"
    assert ce == _init_defaults(CrossEncoderReranker)
    assert list(task.MODELS) == specs.names_of("model", "search")
    assert list(task.TREATMENTS) == specs.names_of("treatment", "search")


def test_describe_and_components(capsys):
    assert main(["components"]) == 0
    out = capsys.readouterr().out
    assert "search:" in out and "cross_encoder" in out and "table" in out
    assert main(["describe", "ease"]) == 0
    out = capsys.readouterr().out
    assert "ease — recommend model" in out
    assert re.search(r"\bl2 +float; default 500.0; range > 0", out)
    assert "treatments: none, calibrated, xquad, fair, mmr" in out
    assert "not ips: " in out
    assert main(["describe", "eas"]) == 2
    assert "did you mean 'ease'?" in capsys.readouterr().err


def test_table_data_sets_refuse_what_they_cannot_feed():
    ds = Component("table", {"interactions": "x.csv"})
    cell = Cell("recommend", ds, Component("content"), Component("none"), None, 0)
    with pytest.raises(IncompatibleError, match="dataset.params.catalog: content"):
        recommend.check(cell)
    files = {"queries": "q.csv", "qrels": "j.csv", "catalog": "c.csv"}
    cell = Cell(
        "search", Component("table", files), Component("finetuned"), Component("none"), None, 0
    )
    with pytest.raises(IncompatibleError, match="trains on training queries"):
        search.check(cell)
    cell = Cell(
        "recommend",
        Component("movielens100k"),
        Component("ease"),
        Component("calibrated", {"lambda": 0.5, "groups": "genres"}),
        None,
        0,
    )
    assert "treatment.params.groups: Input should be" in specs.cell_errors(cell)[0][0]
