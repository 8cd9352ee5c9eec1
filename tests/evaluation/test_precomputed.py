"""``model: {name: precomputed, path: …}``: an external run is the candidate model of the list
pipeline, so a list-side treatment re-ranks it and is tested against it."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from skewbench.runner.config import load_config
from skewbench.runner.run import run_config
from skewbench.runner.store import ResultStore


@pytest.fixture(scope="module")
def prod_run(tmp_path_factory):
    """A popularity-with-noise run over every MovieLens-100k user (150 items each)."""
    from skewbench import specs
    from skewbench.data.sources.table import freeze
    from skewbench.tasks.recommend.data import load

    params = specs.defaults(specs.find("dataset", "recommend", "movielens100k").spec)
    d = load("movielens100k", freeze(params))
    rng = np.random.default_rng(0)
    pop = np.bincount(d.interactions["item_id"], minlength=d.items.size).astype(float)
    lines = []
    for u in d.users:
        s = pop + rng.gumbel(size=pop.size) * 20
        top = np.argsort(-s)[:150]
        lines += [f"{u} Q0 {d.items[j]} {r + 1} {s[j]:.3f} prod" for r, j in enumerate(top)]
    path = tmp_path_factory.mktemp("prod") / "prod.trec"
    path.write_text("\n".join(lines) + "\n")
    return path, d


def test_rerank_a_production_run(prod_run, tmp_path):
    path, d = prod_run
    cfg = {
        "name": "prod",
        "experiments": [
            {
                "task": "recommend",
                "datasets": ["movielens100k"],
                "models": [{"name": "precomputed", "path": str(path)}],
                "treatments": ["none", {"name": "xquad", "params": {"lambda": 0.5}}],
                "options": {"max_users": 40, "cutoffs": [10], "k": 10, "candidates": 50},
            }
        ],
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    summary = run_config(load_config(tmp_path / "c.yaml"), out, workers=1, progress=False)
    assert summary.failed == 0
    with ResultStore(out / "results.sqlite") as store:
        table = store.table().set_index("treatment")
        none = store.units(table.loc["none", "key"])
    # the untreated cell's lists are the run's own, training items left out
    from skewbench.data.runfiles import read_run

    run = read_run(path)
    X_items = d.interactions.assign(user=d.users[d.interactions["user_id"]],
                                    item=d.items[d.interactions["item_id"]])  # fmt: skip
    for _, row in none.iterrows():
        seen = set(X_items.loc[X_items["user"] == row["user_id"], "item"])
        listed = run.loc[run["unit"] == row["user_id"], "item"].tolist()
        got = [d.items[i] for i in row["ranked"]]
        pos = [listed.index(g) for g in got]  # every listed item is the run's …
        assert len(got) == 10 and pos == sorted(pos)  # … in the run's order …
        skipped = set(listed[: pos[-1] + 1]) - set(got)
        assert skipped <= seen  # … skipping only items the user interacted with (training)
    # xQuAD re-ranks the run toward the long tail
    assert table.loc["xquad(lambda=0.5)", "non_head_share"] > table.loc["none", "non_head_share"]


def test_cells_are_keyed_by_the_run_content(tmp_path):
    """A changed run file is a new cell; the same bytes elsewhere are the same cell."""
    from skewbench.runner.grid import expand

    def key(path):
        cfg = {
            "name": "k",
            "experiments": [
                {
                    "task": "recommend",
                    "datasets": ["movielens100k"],
                    "models": [{"name": "precomputed", "path": str(path)}],
                }
            ],
        }
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
        return expand(load_config(tmp_path / "c.yaml"), check=False)[0].key

    run = tmp_path / "a.trec"
    run.write_text("1 Q0 1 1 2.0 x\n")
    first = key(run)
    moved = tmp_path / "b.trec"
    moved.write_text(run.read_text())
    assert key(moved) == first
    run.write_text("1 Q0 2 1 2.0 x\n")
    assert key(run) != first
