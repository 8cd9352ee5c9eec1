"""The command line for people: every subcommand's --help names its arguments and shows an
example; a closed pipe ends the command quietly with exit 0; --quiet silences library logs."""

import subprocess
import sys

import pytest

from skewbench.cli import EXAMPLES, build_parser, main

SUBCOMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_help_names_its_arguments_with_an_example(name, capsys):
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert name in EXAMPLES, f"add an example of `skewbench {name}` to skewbench.cli.EXAMPLES"
    assert f"example:\n  skewbench {name}" in text
    command = build_parser()._subparsers._group_actions[0].choices[name]  # type: ignore[union-attr]
    for action in command._actions:
        if not action.option_strings:  # a positional argument says what it is
            assert action.help, f"`skewbench {name}`: argument {action.dest} has no help"


def test_broken_pipe_exits_quietly_with_0():
    # what `skewbench metrics | head -1` does: the reader closes the pipe after one line
    proc = subprocess.Popen(
        [sys.executable, "-m", "skewbench.cli", "metrics"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert b"Broken pipe" not in err and b"Traceback" not in err


def test_quiet_silences_a_library_that_logs_at_debug(tmp_path):
    # bm25s sets its own logger to DEBUG, which the root handler would print without a level
    code = (
        "import logging, sys\n"
        "from skewbench.cli import main\n"
        f"code = main(['report', {str(tmp_path)!r}] + sys.argv[1:])\n"
        "chatty = logging.getLogger('bm25s')\n"
        "chatty.setLevel(logging.DEBUG)\n"
        "chatty.debug('Building index from tokens')\n"
        "chatty.error('a real error')\n"
    )
    for flags, shown in (([], False), (["--quiet"], False), (["-v"], True)):
        argv = [sys.executable, "-c", code, *flags] if flags != ["-v"] else None
        if argv is None:  # -v goes before the subcommand
            argv = [sys.executable, "-c", code.replace("['report'", "['-v', 'report'")]
        err = subprocess.run(argv, capture_output=True, text=True, timeout=120).stderr
        assert ("Building index" in err) is shown, (flags, err)
        assert "a real error" in err
