"""Every bad input a careful user might try is refused before any work with ONE line on stderr
(exit code 2) that names the file, field or row and says what to fix — never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from skewbench.cli import main

INF = float("inf")


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


def _interactions(per_user: int) -> str:
    """60 users × ``per_user`` distinct items out of 7."""
    lines = ["user_id,item_id,timestamp"]
    for u in range(60):
        lines += [f"u{u},i{(u + j) % 7},{j}" for j in range(per_user)]
    return "\n".join(lines) + "\n"


def _table_rec(path: str, **options) -> dict:
    exp = {
        "task": "recommend",
        "datasets": [{"name": "table", "interactions": path}],
        "models": ["popularity"],
    }
    if options:
        exp["options"] = options
    return {"name": "bad", "experiments": [exp]}


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
    ("huge k", {}, _rec(k=100_000), ["options.k", "100000", "1682", "movielens100k"]),
    ("huge candidates", {}, _rec(candidates=10**5), ["options.candidates", "1682"]),
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
    (
        "dataset param typo",
        {"d.csv": _labelled()},
        _cat_config("{d}/d.csv", lable="label"),
        ["dataset.params.lable", "unknown parameter", "did you mean 'label'?"],
    ),
    (
        "numeric text column",
        {"d.csv": "id,text,label\n" + "".join(f"{i},{i * 7},{'ab'[i % 2]}\n" for i in range(12))},
        _cat_config("{d}/d.csv"),
        ["d.csv", "column 'text'", "holds numbers, not text"],
    ),
    (
        "one interaction per user",
        {"i.csv": _interactions(per_user=1)},
        _table_rec("{d}/i.csv"),
        ["i.csv", "60 users has a single interaction", "at least two"],
    ),
    (
        "own k longer than the catalog",
        {"i.csv": _interactions(per_user=3)},
        _table_rec("{d}/i.csv", k=50, cutoffs=[10]),
        ["options.k: 50", "7 items", "i.csv", "k <= 7"],
    ),
    (
        "own candidates longer than the catalog",
        {"i.csv": _interactions(per_user=3)},
        _table_rec("{d}/i.csv", candidates=20, cutoffs=[5]),
        ["options.candidates: 20", "7 items"],
    ),
    ("billion seeds", {}, {**REC, "seeds": 10**9}, ["seeds", "1,000,000,000 replicates", "1,000"]),
    ("too many workers", {}, {**REC, "workers": 10**6}, ["workers", "256"]),
    (
        "grid too large",
        {},
        {
            **REC,
            "seeds": 500,
            "experiments": [
                {
                    **REC["experiments"][0],
                    "models": [{"name": "ease", "sweep": {"l2": [*range(1, 301)]}}],
                }
            ],
        },
        ["the grid has 150,000 cells", "at most 100,000"],
    ),
    ("name ..", {}, {**REC, "name": ".."}, ["name", "'..'", "no folder of its own"]),
    ("name too long", {}, {**REC, "name": "n" * 300}, ["name", "at most 100 characters"]),
    ("huge k, any data set", {}, _rec(k=10**9), ["options.k", "100000"]),
    ("huge cutoff", {}, _rec(cutoffs=[10**9]), ["options.cutoffs.0", "100000"]),
    (
        "infinite l2",
        {},
        {
            **REC,
            "experiments": [{**REC["experiments"][0], "models": [{"name": "ease", "l2": INF}]}],
        },
        ["model.params.l2", "finite number"],
    ),
    (
        "infinite temperature",
        {},
        {
            **REC,
            "experiments": [
                {
                    **REC["experiments"][0],
                    "treatments": [{"name": "plackett_luce", "temperature": INF}],
                }
            ],
        },
        ["treatment.params.temperature", "finite number"],
    ),
    (
        "infinite tau",
        {"d.csv": _labelled()},
        _cat_config("{d}/d.csv")
        | {
            "experiments": [
                {
                    **_cat_config("{d}/d.csv")["experiments"][0],
                    "treatments": [{"name": "logit_adjust_posthoc", "tau": INF}],
                }
            ]
        },
        ["treatment.params.tau", "finite number"],
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


def _alias_bomb(levels: int = 9) -> str:
    """A YAML value of ~1 KB that expands to 10**levels strings through nested aliases."""
    chain = ["&a0 [x, x, x, x, x, x, x, x, x, x]"]
    chain += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "[" + ", ".join(chain) + "]"


_BOMB_SPOTS = {
    "model parameter": "  models: [{{name: ease, l2: {bomb}}}]\n",
    "option": "  models: [popularity]\n  options: {{cutoffs: {bomb}}}\n",
    "data-set field": "  models: [popularity]\n  datasets: [{{name: movielens100k, min_rating: {bomb}}}]\n",
}


def _bomb_config(spot: str) -> str:
    body = _BOMB_SPOTS[spot].format(bomb=_alias_bomb())
    if "datasets" not in body:
        body += "  datasets: [movielens100k]\n"
    return f"name: bomb\nexperiments:\n- task: recommend\n{body}"


# Measured in one child process: its peak resident memory (imports included) and the CPU time of each
# main() alone, with the modules it reads a config with imported first (CPU, not wall-clock,
# time: the test machine may be shared; each refusal itself takes milliseconds).
_MEASURE = """
import contextlib, io, json, resource, sys, time
import skewbench.runner.config, skewbench.runner.grid, skewbench.specs
from skewbench.cli import main
out = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    start = time.process_time()
    with contextlib.redirect_stderr(err):
        rc = main(argv)
    out.append({"rc": rc, "seconds": time.process_time() - start, "err": err.getvalue()})
try:  # this program's own peak (ru_maxrss would also count the forked test process's pages)
    status = open("/proc/self/status").read()
    mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
except OSError:
    mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"cases": out, "mb": mb}))
"""


def test_config_bombs_are_refused_fast_and_small(tmp_path):
    """``seeds: 1000000000`` and a ~1 KB alias bomb inside a model parameter, an option or a
    data-set field: refused by ``validate`` and ``run`` in < 2 s of CPU with < 200 MB."""
    import json
    import subprocess
    import sys

    configs = {spot: _bomb_config(spot) for spot in _BOMB_SPOTS}
    configs["billion seeds"] = "name: many\nseeds: 1000000000\n" + _bomb_config("option").split(
        "\n", 1
    )[1].replace(_alias_bomb(), "[5]")
    argvs, names = [], []
    for name, text in configs.items():
        assert len(text) < 1500
        cfg = tmp_path / f"{len(names)}.yaml"
        cfg.write_text(text)
        argvs += [["validate", str(cfg)], ["run", str(cfg), "--output", str(tmp_path / "o")]]
        names += [f"validate {name}", f"run {name}"]
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps(argvs)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["mb"] < 200, got["mb"]
    for name, case in zip(names, got["cases"], strict=True):
        err = case["err"].strip()
        assert case["rc"] == 2 and "\n" not in err, (name, err)
        assert case["seconds"] < 2.0, (name, case["seconds"])
        needle = "1,000,000,000 replicates" if "seeds" in name else "expands to 1,234,567,9"
        assert needle in err, (name, err)
    assert not (tmp_path / "o").exists()


def _listener(reply: bytes | None):
    """A TCP server on 127.0.0.1 that answers each connection with ``reply`` (None: says
    nothing and holds the connection); returns (address, stop)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if reply is not None:
                conn.recv(1024)
                conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()

    def stop():
        server.close()
        for conn in held:
            conn.close()

    return f"127.0.0.1:{server.getsockname()[1]}", stop


@pytest.mark.parametrize(
    "reply",
    [b"HTTP/1.1 400 Bad Request\r\n\r\n", b"-ERR unknown command\r\n", None],
    ids=["http", "redis", "silent"],
)
def test_a_listener_that_is_not_a_ray_head_is_refused_in_seconds(reply):
    """Without Ray installed too: the handshake is ours (HTTP/2 SETTINGS, which a Ray head's
    gRPC server answers). A silent listener is refused when the timeout ends (10 s by
    default; 1 s here to keep the test fast)."""
    import time

    from skewbench.errors import ConfigError
    from skewbench.runner.executors import RAY_CONNECT_TIMEOUT_S, probe_address

    assert RAY_CONNECT_TIMEOUT_S <= 10
    address, stop = _listener(reply)
    try:
        start = time.monotonic()
        with pytest.raises(ConfigError, match="is not a Ray head"):
            probe_address(address, timeout=1.0 if reply is None else RAY_CONNECT_TIMEOUT_S)
        assert time.monotonic() - start < (3 if reply is None else 1)
    finally:
        stop()


def test_a_grpc_style_listener_passes_the_handshake():
    """The other side of the probe: a server that answers HTTP/2 with SETTINGS is let through
    (to ``ray.init``, which then has its own hard deadline)."""
    from skewbench.runner.executors import probe_address

    address, stop = _listener(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    try:
        probe_address(address, timeout=5)
    finally:
        stop()


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("skewbench: error: ") and "\n" not in err, err
    return err


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--workers", "-1", "--workers: a count from 1 to 256, got -1"),
        ("--workers", "0", "--workers: a count from 1 to 256, got 0"),
        ("--max-cells", "-1", "--max-cells: a count >= 1"),
        ("--max-cells", "0", "--max-cells: a count >= 1"),
    ],
)
def test_run_flags_out_of_range(tmp_path, capsys, flag, value, needle):
    cfg = _write(tmp_path, {}, REC)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--output", str(out), "--quiet", flag, value]) == 2
    assert needle in _one_line(capsys)
    assert not out.exists()


def test_unwritable_output_is_refused_by_validate_and_run(tmp_path, capsys):
    import os

    if os.geteuid() == 0:  # root writes through permission bits: use a file system that refuses
        out = Path("/proc/skewbench-output")
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        out = tmp_path / "ro" / "out"
    cfg = _write(tmp_path, {}, REC)
    assert main(["validate", str(cfg), "--no-data", "--output", str(out)]) == 2
    assert "cannot write in" in _one_line(capsys)
    assert main(["run", str(cfg), "--output", str(out), "--quiet"]) == 2
    assert "cannot write in" in _one_line(capsys)


def test_another_config_in_a_used_output_is_refused(tmp_path, capsys):
    """A folder holds one config's results; the same config (resumed, extended) goes on."""
    out = tmp_path / "out"
    first = _write(tmp_path, {}, {**REC, "name": "first"})
    assert main(["run", str(first), "--output", str(out), "--quiet", "--no-report"]) == 0
    capsys.readouterr()
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**REC, "name": "second"}))
    for argv in (["validate", str(other), "--no-data"], ["run", str(other), "--quiet"]):
        assert main([*argv, "--output", str(out)]) == 2
        err = _one_line(capsys)
        assert "holds the results of config 'first'" in err and "'second'" in err
    assert main(["run", str(first), "--output", str(out), "--quiet", "--no-report"]) == 0
    assert "1 already finished" in capsys.readouterr().out


def test_another_master_seed_in_a_used_output_is_refused(tmp_path, capsys):
    """The same config under another master seed would pool two seeds' replicates in one
    report: refused in one line naming the folder and both seeds; the first seed goes on."""
    out = tmp_path / "out"
    first = _write(tmp_path, {}, {**REC, "name": "same", "seed": 1})
    assert main(["run", str(first), "--output", str(out), "--quiet", "--no-report"]) == 0
    capsys.readouterr()
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**REC, "name": "same", "seed": 2}))
    for argv in (["validate", str(other), "--no-data"], ["run", str(other), "--quiet"]):
        assert main([*argv, "--output", str(out)]) == 2
        err = _one_line(capsys)
        assert repr(str(out)) in err and "master seed 1" in err and "seed 2" in err, err
    from skewbench.runner.store import ResultStore

    with ResultStore(out / "results.sqlite") as store:
        assert len(store.finished_keys()) == 1  # nothing of seed 2 was written
    assert main(["run", str(first), "--output", str(out), "--quiet", "--no-report"]) == 0
    assert "1 already finished" in capsys.readouterr().out


def test_a_full_disk_is_exit_2_with_what_to_do(tmp_path, capsys, monkeypatch):
    import sqlite3

    from skewbench.runner.store import ResultStore

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(ResultStore, "put", full)
    cfg = _write(tmp_path, {}, REC)
    assert main(["run", str(cfg), "--output", str(tmp_path / "o"), "--quiet"]) == 2
    err = _one_line(capsys)
    assert "the disk is full" in err and "free space" in err and "resumes" in err
    assert "bug" not in err


def test_run_and_validate_refuse_a_non_ray_listener_before_any_data(tmp_path, capsys):
    """Through the CLI (needs Ray installed: otherwise ``executor: ray`` is refused earlier,
    by ``test_executor_ray_without_ray_is_a_validation_error``)."""
    import time

    pytest.importorskip("ray", reason="executor: ray is refused at validation without Ray")
    address, stop = _listener(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    try:
        cfg = _write(tmp_path, {}, {**REC, "executor": "ray", "ray_address": address})
        for argv in (["validate", str(cfg)], ["run", str(cfg), "--quiet", "--no-report"]):
            start = time.monotonic()
            assert main([*argv, "--output", str(tmp_path / "o")]) == 2
            assert time.monotonic() - start < 10
            assert f"{address!r} is not a Ray head" in _one_line(capsys)
        assert not (tmp_path / "o").exists()
    finally:
        stop()
