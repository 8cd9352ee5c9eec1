"""Every bad input a careful user might try is refused before any work with ONE line on stderr
(exit code 2) that names the file, field or row and says what to fix — never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from skewbench.cli import main


def _labelled(rows: int = 12, classes: tuple[str, ...] = ("a", "b"), **extra) -> str:
    lines = ["id,text,label"]
    for i in range(rows):
        lines.append(f"{i},words number {i} here,{classes[i % len(classes)]}")
    return "\n".join(lines) + "\n"


def _cat_config(path: str, **params) -> dict:
    ds = {"name": "table", "path": path, "kind": "labelled_text", "min_class_count": 3}
    ds.update({"group": None, **params})
    return {
        "name": "bad",
        "experiments": [{"task": "categorize", "datasets": [ds], "models": ["tfidf_lr"]}],
    }


REC = {
    "name": "bad",
    "experiments": [
        {
            "task": "recommend",
            "datasets": ["movielens100k"],
            "models": ["popularity"],
            "options": {"cutoffs": [10], "exposure_k": 10},
        }
    ],
}


def _rec(**options) -> dict:
    exp = dict(REC["experiments"][0], options={**REC["experiments"][0]["options"], **options})
    return {**REC, "experiments": [exp]}


# (id, files to write {name: text|bytes}, config (dict, or raw bytes/text for the YAML), needles)
CASES = [
    ("yaml not utf-8", {}, b"name: caf\xe9\n", ["cfg.yaml", "line 1", "not UTF-8", "UTF-8"]),
    ("yaml not a mapping", {}, "- a\n- b\n", ["cfg.yaml", "must be a mapping", "list"]),
    ("yaml empty", {}, "", ["cfg.yaml", "empty", "name and experiments"]),
    ("yaml syntax", {}, "name: [x\n", ["cfg.yaml", "line 2", "not valid YAML"]),
    ("unknown key", {}, {**REC, "seeed": 1}, ["seeed", "unknown key", "did you mean 'seed'?"]),
    (
        "unknown task",
        {},
        {**REC, "experiments": [{**REC["experiments"][0], "task": "rank"}]},
        ["experiments.0.task", "rank"],
    ),
    (
        "unknown model",
        {},
        {**REC, "experiments": [{**REC["experiments"][0], "models": ["pop"]}]},
        ["model.name", "'pop'", "popularity"],
    ),
    (
        "unknown dataset",
        {},
        _cat_config("x.csv")
        | {
            "experiments": [{"task": "categorize", "datasets": ["clothes"], "models": ["tfidf_lr"]}]
        },
        ["'clothes'", "clothing"],
    ),
    ("zero workers", {}, {**REC, "workers": 0}, ["workers", "greater than or equal to 1"]),
    ("negative seeds", {}, {**REC, "seeds": -1}, ["seeds", "positive count"]),
    ("zero cutoff", {}, _rec(cutoffs=[0]), ["options.cutoffs", "greater than or equal to 1"]),
    ("huge k", {}, _rec(k=1_000_000), ["options.k", "1000000", "1682", "movielens100k"]),
    ("huge candidates", {}, _rec(candidates=10**7), ["options.candidates", "1682"]),
    (
        "zero min_class_count",
        {"d.csv": _labelled()},
        _cat_config("{d}/d.csv", min_class_count=0),
        ["min_class_count", "greater than or equal to 3"],
    ),
    ("missing data path", {}, _cat_config("{d}/nope.csv"), ["nope.csv", "does not exist"]),
    ("data path is a dir", {"sub/x.csv": "a"}, _cat_config("{d}/sub"), ["sub", "directory"]),
    (
        "unsupported type",
        {"d.xlsx": "x"},
        _cat_config("{d}/d.xlsx"),
        ["d.xlsx", "unknown file type", ".csv"],
    ),
    ("empty file", {"d.csv": ""}, _cat_config("{d}/d.csv"), ["d.csv", "empty"]),
    ("header only", {"d.csv": "id,text,label\n"}, _cat_config("{d}/d.csv"), ["d.csv", "no rows"]),
    (
        "data not utf-8",
        {"d.csv": b"id,text,label\n0,caf\xe9,a\n"},
        _cat_config("{d}/d.csv"),
        ["d.csv", "UTF-8", "row 0"],
    ),
    (
        "missing column",
        {"d.csv": "id,body,label\n0,x,a\n"},
        _cat_config("{d}/d.csv"),
        ["d.csv", "'text'", "columns present", "body"],
    ),
    (
        "mis-mapped column",
        {"d.csv": _labelled()},
        _cat_config("{d}/d.csv", columns={"text": "body"}),
        ["d.csv", "'body'", "not in the file"],
    ),
    (
        "empty label",
        {"d.csv": "id,text,label\n0,x,a\n1,y,\n"},
        _cat_config("{d}/d.csv"),
        ["d.csv", "'label'", "row 1", "missing"],
    ),
    (
        "NaN text",
        {"d.csv": "id,text,label\n0,x,a\n1,,b\n"},
        _cat_config("{d}/d.csv"),
        ["d.csv", "'text'", "row 1", "missing"],
    ),
    (
        "duplicate ids",
        {"d.csv": "id,text,label\n0,x,a\n0,y,b\n"},
        _cat_config("{d}/d.csv", id_column="id"),
        ["d.csv", "duplicate id", "row 1"],
    ),
    (
        "one class",
        {"d.csv": _labelled(classes=("a",))},
        _cat_config("{d}/d.csv"),
        ["d.csv", "1 class", "'a': 12", "at least two"],
    ),
    (
        "too small",
        {"d.csv": _labelled(rows=8, classes=("a", "a", "a", "b"))},
        _cat_config("{d}/d.csv", min_class_count=5),
        ["d.csv", "'a': 6", "'b': 2", "min_class_count=5"],
    ),
    (
        "wrong kind",
        {"d.csv": _labelled()},
        _cat_config("{d}/d.csv", kind="texts"),
        ["kind", "'texts'", "labelled_text"],
    ),
    (
        "unknown dataset param",
        {"d.csv": _labelled()},
        _cat_config("{d}/d.csv", colour=1),
        ["colour"],
    ),
]


def _write(tmp_path: Path, files: dict, config) -> Path:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
    cfg = tmp_path / "cfg.yaml"
    if isinstance(config, dict):
        text = yaml.safe_dump(config).replace("{d}", str(tmp_path))
        cfg.write_text(text)
    else:
        cfg.write_bytes(config if isinstance(config, bytes) else config.encode())
    return cfg


@pytest.mark.parametrize(
    ("files", "config", "needles"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_input_is_one_clear_line(tmp_path, capsys, command, files, config, needles):
    cfg = _write(tmp_path, files, config)
    argv = [command, str(cfg)]
    if command == "run":
        argv += ["--output", str(tmp_path / "out"), "--quiet", "--no-report"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("skewbench: error: "), err
    assert "Traceback" not in err and "\n" not in err, err
    for needle in needles:
        assert needle.replace("{d}", str(tmp_path)) in err, (needle, err)
    # refused before any work: no cell stored
    db = tmp_path / "out" / "results.sqlite"
    if db.exists():
        import sqlite3

        assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM cells").fetchone() == (0,)


def test_config_path_is_a_directory(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and "YAML file" in err


def test_missing_config(tmp_path, capsys):
    assert main(["run", str(tmp_path / "none.yaml")]) == 2
    assert "none.yaml' does not exist" in capsys.readouterr().err


def test_executor_ray_without_ray_is_a_validation_error(tmp_path, capsys, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec  # Ray hidden, whether or not it is installed
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "ray" else real_find_spec(name, *a),
    )
    cfg = _write(tmp_path, {}, {**REC, "executor": "ray"})
    assert main(["validate", str(cfg)]) == 2
    assert "needs Ray" in capsys.readouterr().err
    cfg = _write(tmp_path, {}, REC)
    assert main(["run", str(cfg), "--executor", "ray", "--output", str(tmp_path / "o")]) == 2
    assert "needs Ray" in capsys.readouterr().err
    assert not (tmp_path / "o" / "results.sqlite").exists()


def test_unreachable_ray_address_fails_in_seconds_naming_it():
    import time

    from skewbench.errors import ConfigError
    from skewbench.runner.executors import probe_address

    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"cannot reach the Ray head at '127\.0\.0\.1:9'"):
        probe_address("127.0.0.1:9", timeout=2)
    assert time.monotonic() - start < 5
    with pytest.raises(ConfigError, match="is not host:port"):
        probe_address("nonsense")
