"""Status lines for slow steps go to stderr, and --quiet (SKEWBENCH_QUIET) silences them."""

from __future__ import annotations

from skewbench.progress import QUIET_ENV, step


def test_step_prints_and_quiet_silences(capsys, monkeypatch):
    monkeypatch.delenv(QUIET_ENV, raising=False)
    with step("loading x"):
        pass
    err = capsys.readouterr().err
    assert "skewbench: loading x …" in err and "loading x: done in" in err
    monkeypatch.setenv(QUIET_ENV, "1")
    with step("loading y"):
        pass
    assert capsys.readouterr().err == ""
