"""``skewbench explain`` and the report's explanation / who-is-served sections on a tiny real run."""

from __future__ import annotations

import re

import pytest

from skewbench.cli import main
from skewbench.report.build import build_report
from skewbench.runner.config import parse_config
from skewbench.runner.run import run_config
from skewbench.runner.store import ResultStore

CONFIG = {
    "name": "explain",
    "seed": 3,
    "seeds": 1,
    "workers": 1,
    "experiments": [
        {
            "task": "recommend",
            "datasets": ["movielens100k"],
            "models": [{"name": "itemknn", "neighbours": 50}],
            "treatments": ["none", {"name": "xquad", "lambda": 0.9}],
            "options": {"cutoffs": [10, 20], "exposure_k": 10, "max_users": 150},
        },
    ],
}
SEARCH = {
    "task": "search",
    "datasets": [{"name": "completejourney", "queries": "type", "min_item_count": 300}],
    "models": ["bm25_pop"],
    "treatments": ["none"],
    "options": {"k": 10, "cutoffs": [10], "candidates": 30},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run_config(parse_config(CONFIG), out, progress=False)
    return out


def _key(run_dir, model_prefix, treatment_prefix):
    with ResultStore(run_dir / "results.sqlite") as store:
        t = store.table()
    row = t[
        t["model"].str.startswith(model_prefix) & t["treatment"].str.startswith(treatment_prefix)
    ]
    return row["key"].iloc[0]


def test_explain_recommend_prints_the_stored_list_with_exact_reasons(run_dir, capsys):
    key = _key(run_dir, "itemknn", "xquad")
    with ResultStore(run_dir / "results.sqlite") as store:
        units = store.units(key)
    user = str(units["user_id"].iloc[0])
    assert main(["explain", str(run_dir), "--cell", key[:10], "--user", user, "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "exact additive contributions" in out and "re-ranked" in out
    m = re.search(r"largest \|Σ − score\| in this list: ([0-9.e+-]+)\)", out)
    assert m and float(m.group(1)) < 1e-4
    # the printed items are the stored list, in order
    listed = re.findall(r"^\s+(\d+)\s+(\S+)", out, flags=re.M)
    assert [int(r) for r, _ in listed] == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_explain_search_gives_exact_term_reasons(tmp_path, capsys):
    run_dir = tmp_path
    run_config(parse_config({**CONFIG, "experiments": [SEARCH]}), run_dir, progress=False)
    key = _key(run_dir, "bm25_pop", "none")
    with ResultStore(run_dir / "results.sqlite") as store:
        units = store.units(key)
    qid = str(units["query_id"].iloc[0])
    assert main(["explain", str(run_dir), "--cell", key, "--query", qid, "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "exact per-term BM25 contributions" in out and "popularity prior" in out


def test_explain_refuses_user_mistakes_without_traceback(run_dir, capsys):
    key = _key(run_dir, "itemknn", "none")
    assert main(["explain", str(run_dir), "--cell", key, "--user", "no-such-user"]) == 2
    assert "not an evaluated user" in capsys.readouterr().err
    assert main(["explain", str(run_dir), "--cell", "zzzz", "--user", "1"]) == 2
    assert main(["explain", str(run_dir), "--cell", key, "--query", "x"]) == 2


def test_units_carry_user_groups_and_info_the_decomposition_steps(run_dir):
    key = _key(run_dir, "itemknn", "xquad")
    with ResultStore(run_dir / "results.sqlite") as store:
        units = store.units(key)
        info = store.table().set_index("key").loc[key, "info"]
    for c in (
        "ug_activity",
        "ug_mainstream",
        "ug_age",
        "ug_gender",
        "ug_occupation",
        "profile_pop",
        "list_pop",
        "miscalibration",
        "list_share[popularity=tail]",
    ):
        assert c in units.columns, c
    shares = info["group_shares"]["popularity"]
    assert set(shares["tail"]) == {"catalog", "train", "pool", "before"}
    for step in ("catalog", "train", "pool", "before"):
        assert sum(v[step] for v in shares.values()) == pytest.approx(1.0)
    edges = info["user_group_edges"]["activity"]
    n_train = units["n_train"].to_numpy()
    q1 = units["ug_activity"].to_numpy() == "q1"
    assert (n_train[q1] <= edges[0]).all() and (n_train[~q1] > edges[0]).all()
    # tail ⊂ long tail (= not head), whose share is the non_head_share column
    tail, long_tail = units["list_share[popularity=tail]"], units["non_head_share"]
    assert (tail <= long_tail + 1e-12).all() and tail.mean() < long_tail.mean()


def test_report_has_explanation_and_who_is_served_sections(run_dir, monkeypatch):
    import skewbench.explain.lists as lists

    def refit(*args, **kwargs):
        raise AssertionError("the report refitted a model")

    monkeypatch.setattr(lists, "explain_recommend", refit)
    md, _ = build_report(run_dir)
    text = md.read_text()
    for head in (
        "Exposure vs relevance by item group — movielens100k",
        "Where the skew comes from — movielens100k",
        "Popularity lift and miscalibration — movielens100k",
        "Who is served — movielens100k",
    ):
        assert head in text, head
    assert "Worked example" in text
    assert "Δ gap" in text
    # the worked example, re-derived from the two stored lists and per-user shares
    example = re.search(
        r"seed 0, user (\S+): (\d+) of the top 10 items \(ranks ([\d, ]+)\) were not in the "
        r"untreated model's top 10; its non_head_share \(top 10\) went from ([\d.]+) to ([\d.]+)"
        r" .+`skewbench explain \S+ --cell (\w+) --user \1 --top 10`",
        text,
    )
    assert example, text[text.index("Worked example") :][:800]
    user, n_new, ranks, before, after, cell = example.groups()
    with ResultStore(run_dir / "results.sqlite") as store:
        treated, base = (
            store.units(_key(run_dir, "itemknn", t)).set_index("user_id").rename(index=str)
            for t in ("xquad", "none")
        )
    assert _key(run_dir, "itemknn", "xquad").startswith(cell)
    top = set(base.loc[user, "ranked"][:10])
    new = [r for r, i in enumerate(treated.loc[user, "ranked"][:10], 1) if i not in top]
    assert new == [int(r) for r in ranks.split(", ")] and len(new) == int(n_new)
    rise = treated["non_head_share"] - base["non_head_share"].reindex(treated.index)
    assert float(after) - float(before) == pytest.approx(rise.max(), abs=0.01)
    assert float(before) == pytest.approx(base.loc[user, "non_head_share"], abs=0.005)
