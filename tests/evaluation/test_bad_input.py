"""Bad input to `skewbench evaluate`: ONE line on stderr naming the file, the line and what to
do; exit 2; nothing written."""

from __future__ import annotations

import pytest

from skewbench.cli import main

QRELS = "q1 0 d1 1\nq1 0 d2 0\nq2 0 d3 2\n"
GOOD = "q1 Q0 d1 1 2.5 x\nq1 Q0 d2 2 1.5 x\n"
CASES = {
    "unit not in qrels": (QRELS, GOOD + "q9 Q0 d1 1 1 x\n", "r.trec line 3 (run A): unit 'q9' is not in the qrels"),
    "item not in items": (QRELS, GOOD + "q2 Q0 d7 1 1 x\n", "r.trec line 3 (run A): item 'd7' (unit 'q2') is not in"),
    "non-numeric score": (QRELS, "q1 Q0 d1 1 high x\n", "r.trec line 1: score 'high' is not"),
    "grade not a number": ("q1 0 d1 yes\n", GOOD, "q.trec line 1: grade 'yes' is not a number"),
    "empty run": (QRELS, "\n", "r.trec: the file holds no lines"),
    "unit twice at a rank": (QRELS, GOOD + "q1 Q0 d3 2 0.5 x\n", "r.trec line 3: unit 'q1' lists rank 2 again (first at line 2)"),
    "item twice in a unit": (QRELS, GOOD + "q1 Q0 d1 3 0.5 x\n", "r.trec line 3: unit 'q1' lists item 'd1' again"),
    "wrong field count": (QRELS, GOOD + "q1 Q0 d3 3 0.5\n", "r.trec line 3: 6 fields expected"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_refused_with_one_line(tmp_path, capsys, case):
    qrels, run, expected = CASES[case]
    (tmp_path / "q.trec").write_text(qrels)
    (tmp_path / "r.trec").write_text(run)
    (tmp_path / "items.csv").write_text("item,brand\nd1,x\nd2,y\nd3,x\n")
    out = tmp_path / "out"
    argv = ["evaluate", "--task", "recommend", "--qrels", str(tmp_path / "q.trec"),
            "--run", f"A={tmp_path / 'r.trec'}", "--items", str(tmp_path / "items.csv"),
            "--output", str(out)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert expected in err, err
    assert not out.exists()  # nothing written


def test_categorize_bad_predictions(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("id,label\n1,a\n2,b\n")
    (tmp_path / "p.csv").write_text("id,proba_a,proba_b\n1,0.2,0.8\n2,x,0.1\n")
    out = tmp_path / "out"
    argv = ["evaluate", "--task", "categorize", "--labels", str(tmp_path / "labels.csv"),
            "--predictions", f"M={tmp_path / 'p.csv'}", "--output", str(out)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "p.csv line 3: proba_a 'x' is not a number" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_output_holding_another_run_of_that_name(tmp_path, capsys):
    (tmp_path / "q.trec").write_text(QRELS)
    (tmp_path / "r.trec").write_text(GOOD)
    out = tmp_path / "out"
    base = ["evaluate", "--task", "recommend", "--qrels", str(tmp_path / "q.trec"),
            "--output", str(out), "--no-report"]  # fmt: skip
    assert main([*base, "--run", f"A={tmp_path / 'r.trec'}"]) == 0
    assert main([*base, "--run", f"A={tmp_path / 'r.trec'}"]) == 0  # same content: kept
    (tmp_path / "r.trec").write_text("q1 Q0 d2 1 2.5 x\n")
    assert main([*base, "--run", f"A={tmp_path / 'r.trec'}"]) == 2
    assert "already holds a run named 'A'" in capsys.readouterr().err
