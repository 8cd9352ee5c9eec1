"""docs/evaluate.md's examples run as written (from a folder holding the repository's
``examples/``), and the example files are what ``make_files.py`` writes."""

from __future__ import annotations

import re
import runpy
import shlex
from pathlib import Path

import pytest

from skewbench.cli import main

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "evaluate.md"
EXAMPLES = ROOT / "examples" / "evaluate"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def _commands() -> list[str]:
    return [ln for b in _blocks("bash") for ln in b.splitlines() if ln.startswith("skewbench ")]


@pytest.fixture
def in_repo_copy(tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [pytest.param(c, marks=pytest.mark.slow) if " run " in c else c for c in _commands()],
)
def test_doc_command_runs(in_repo_copy, command):
    argv = shlex.split(command)
    assert main(argv[1:]) == 0
    output = Path(argv[argv.index("--output") + 1])
    assert (in_repo_copy / output / "report" / "report.html").is_file()


def test_doc_python_example_is_the_file_and_runs(in_repo_copy, capsys):
    (block,) = _blocks("python")
    assert block == (EXAMPLES / "api.py").read_text(encoding="utf-8")
    runpy.run_path(str(EXAMPLES / "api.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "ndcg@10" in printed and "exposure_gini[brand]" in printed


def test_example_files_are_make_files_output(tmp_path):
    make = runpy.run_path(str(EXAMPLES / "make_files.py"))
    make["main"](tmp_path)
    for path in sorted(tmp_path.iterdir()):
        assert path.read_bytes() == (EXAMPLES / path.name).read_bytes(), path.name
