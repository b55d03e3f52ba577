"""Any nbgrader assignment: classic test cells, manual answers and tasks, graded like stock nbgrader.

``tests/classic/source/pc1`` is an assignment written the way nbgrader's documentation writes
them, with no spec: plain ``assert`` tests (one with hidden tests), an ``### AUTOTEST``
instantiated at release, a partial-credit cell, a cell that fails by writing to stderr, a file
the notebook reads, manually graded code and markdown answers and a task, in two notebooks.
The same honest submissions are graded by ``make grade`` (the sandbox) and by stock
``nbgrader autograde`` (a kernel per notebook), and must get the same auto score cell by cell
and the same cells pending manual grading. The hostile cases show that a classic test cell
gets the sandbox's walls and its failure handling like a spec problem does.

Before this change ``make grade`` gave every one of these submissions 0 ("autograding
failed": no spec) and recorded the written answers as 0 with nothing pending. Weakened on
purpose (``classic.clean`` dropping stderr streams), the stock comparison fails for "partly":
``('functions', 'stderr_clip'): (1.0, False) != (0.0, False)``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import notebooks
from autograder.pipeline import Course
from autograder.results import JUDGED_OUTSIDE, RAN_INSIDE
from classic.fixture import A, HONEST, make_course, submit
from conftest import ROOT, STOCK_CONFIG

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("classic")]
CELL_SECONDS = 4
HOSTILE = ("endless_loop", "os_exit", "killed_kernel", "reads_instructor_files", "writes_gradebook", "not_json",
           "edits_tests")


def grades(course: Course, student: str) -> dict[tuple[str, str], tuple]:
    """(notebook, grade_id) -> (auto_score, needs_manual_grade) from the gradebook."""
    with course.here(), course.gradebook() as gb:
        sub = gb.find_submission(A, student)
        return {(nb.name, g.name): (g.auto_score, g.needs_manual_grade) for nb in sub.notebooks for g in nb.grades}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("classic")
    ours_config = (ROOT / "course" / "nbgrader_config.py").read_text() + f"\nc.TrustedExecute.cell_seconds = {CELL_SECONDS}\n"
    ours = make_course(base / "ours", ours_config)
    stock = make_course(base / "stock", STOCK_CONFIG)
    submit(ours, {s: s for s in HONEST + HOSTILE})
    submit(stock, {s: s for s in HONEST})
    outcomes = {o.student: o for o in ours.grade(A, quiet=True)}
    result = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", A, "--force"],
                            cwd=stock.root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return ours, stock, outcomes


@pytest.mark.parametrize("student", HONEST)
def test_same_auto_scores_and_manual_cells_as_stock_nbgrader(graded, student):
    """Cell by cell: the same auto score, and the same cells left for the formgrader, as stock?"""
    ours, stock, outcomes = graded
    assert outcomes[student].ok
    assert grades(ours, student) == grades(stock, student)


def test_the_honest_submissions_score_what_their_code_earns(graded):
    """The comparison must be able to fail: the three honest submissions differ, as expected."""
    ours, _, _ = graded
    correct, blank, partly = (grades(ours, s) for s in HONEST)
    auto = [k for k, (score, manual) in correct.items() if not manual]
    assert {correct[k][0] for k in auto} - {None} and all(correct[k][0] > 0 for k in auto)
    assert sorted(k for k, (_, manual) in correct.items() if manual) == [  # the written answers and the task
        ("functions", "clip_unit"), ("written", "task_isclose"), ("written", "why_float")]
    assert all(score == 0 for score, _ in blank.values() if score is not None)
    assert partly[("functions", "correct_column_mean")] == (0.0, False)
    assert partly[("functions", "partial_clip")] == (2.0, False)  # the cell's value: 2 of 3 cases
    assert partly[("functions", "stderr_clip")] == (0.0, False)  # wrote to stderr
    assert partly[("functions", "autotest_clip")] == (0.0, False)  # clip([1, 5, 9], 2, 6) is not [2, 5, 6]


def test_feedback_says_how_each_test_cell_was_graded(graded):
    """Classic test cells say they ran inside the student's process; hidden tests stay out."""
    ours, _, _ = graded
    nb = notebooks.read(ours.root / "autograded" / "partly" / A / "functions.ipynb")
    tests = {notebooks.nbgrader_meta(c)["grade_id"]: c for c in nb.cells if notebooks.is_test_cell(c)}
    for cell in tests.values():
        assert RAN_INSIDE.en in cell.outputs[0]["text"] and JUDGED_OUTSIDE.en not in json.dumps(cell.outputs)
    hidden = tests["correct_column_mean"]
    assert "data.csv\", \"y\"" not in hidden.source and "data.csv\", \"y\"" not in json.dumps(hidden.outputs)
    assert hidden.outputs[-1]["output_type"] == "error" and hidden.outputs[-1]["ename"] == "AssertionError"


def test_endless_loop_costs_only_the_cells_it_takes(graded):
    ours, _, _ = graded
    got = grades(ours, "endless_loop")
    for gid in ("autotest_clip", "partial_clip", "stderr_clip"):  # each calls clip, each times out
        assert got[("functions", gid)] == (0.0, False)
    assert got[("functions", "correct_column_mean")] == (2.0, False)
    assert got[("written", "correct_area")] == (1.0, False)
    report = json.loads((ours.root / "reports" / A / "endless_loop" / "functions.json").read_text())
    assert {p["grade_id"]: p["status"] for p in report["problems"]}["partial_clip"] == "timeout"


@pytest.mark.parametrize("student", ["os_exit", "killed_kernel"])
def test_a_dead_process_costs_only_the_test_cell_that_killed_it(graded, student):
    """The other test cells keep their points; and code that calls os._exit or faulthandler is
    flagged for the instructor's review (needs_manual_grade on every autograded cell, scores kept).
    (The segfault comes from faulthandler: ``ctypes.string_at(0)`` is refused in the sandbox.)"""
    ours, _, _ = graded
    got = grades(ours, student)
    assert got[("functions", "correct_column_mean")] == (0.0, True)
    assert got[("functions", "partial_clip")] == (3.0, True) and got[("functions", "autotest_clip")] == (1.0, True)
    report = json.loads((ours.root / "reports" / A / student / "functions.json").read_text())
    assert {p["grade_id"]: p["status"] for p in report["problems"]}["correct_column_mean"] == "crashed"


@pytest.mark.parametrize("student", ["reads_instructor_files", "writes_gradebook"])
def test_instructor_files_are_out_of_reach_of_classic_cells(graded, student):
    """``clip`` is right only if the student's process could open the file: it must not."""
    ours, _, _ = graded
    assert grades(ours, student)[("functions", "partial_clip")] == (0.0, False)
    assert grades(ours, "correct")[("functions", "partial_clip")] == (3.0, False)


def test_unreadable_submission_zeroes_only_autograded_cells(graded):
    """A non-JSON notebook: auto cells 0, written answers and tasks still pending, with the reason."""
    ours, _, outcomes = graded
    assert not outcomes["not_json"].ok and "JSON" in outcomes["not_json"].reason.en
    got = grades(ours, "not_json")
    manual = {("functions", "clip_unit"), ("written", "why_float"), ("written", "task_isclose")}
    assert {k for k, (_, pending) in got.items() if pending} == manual
    assert all(score == 0.0 for k, (score, _) in got.items() if k not in manual)


def test_regrading_keeps_what_the_instructor_graded_by_hand(graded):
    """A manual score given in the formgrader survives grading the same submission again,
    and grading a now-broken resubmission."""
    ours, _, _ = graded
    with ours.here(), ours.gradebook() as gb:
        grade = gb.find_grade("why_float", "written", A, "correct")
        grade.manual_score = 1.5
        gb.db.commit()
    ours.grade(A, ["correct"], quiet=True)
    with ours.here(), ours.gradebook() as gb:
        assert gb.find_grade("why_float", "written", A, "correct").manual_score == 1.5
    (ours.root / "submitted" / "correct" / A / "written.ipynb").write_text("{ broken")
    ours.grade(A, ["correct"], quiet=True)
    with ours.here(), ours.gradebook() as gb:
        kept = gb.find_grade("why_float", "written", A, "correct")
        assert kept.manual_score == 1.5 and kept.score == 1.5
        assert gb.find_grade("correct_area", "written", A, "correct").score == 0



def test_edited_test_cells_are_restored_before_they_run(graded):
    """Test cells emptied by the student: nbgrader's OverwriteCells puts them back, so the wrong
    answers still fail them (the same scores as the partly wrong submission)."""
    ours, _, _ = graded
    got, partly = grades(ours, "edits_tests"), grades(ours, "partly")
    for gid in ("correct_column_mean", "autotest_clip", "partial_clip", "stderr_clip"):
        assert got[("functions", gid)] == partly[("functions", gid)]
    assert got[("functions", "correct_column_mean")] == (0.0, False)


def test_a_course_assignment_mixing_spec_classic_and_manual_cells(tmp_path):
    """a02: spec problems judged outside, a classic assert problem, a written answer, in one notebook."""
    import shutil

    from autograder import demo

    a = "a02_tensor_operations"
    shutil.copy(ROOT / "course" / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "course" / "source" / a, tmp_path / "source" / a)
    course = Course(tmp_path)
    course.release(a)
    demo.make_submissions(tmp_path, a)
    course.grade(a, ["ada", "chen"], quiet=True)
    with course.here(), course.gradebook() as gb:
        ada = {g.name: g for g in gb.find_submission_notebook(a, a, "ada").grades}
        chen = {g.name: g for g in gb.find_submission_notebook(a, a, "chen").grades}
    assert ada["test_contiguous_strides"].auto_score == 1.5 and chen["test_contiguous_strides"].auto_score == 0
    assert ada["written_view_reshape"].needs_manual_grade and ada["written_view_reshape"].auto_score is None
    assert not chen["written_view_reshape"].needs_manual_grade and chen["written_view_reshape"].auto_score == 0
    assert ada["test_broadcast_shape"].auto_score == 1.5
    nb = notebooks.read(tmp_path / "autograded" / "ada" / a / f"{a}.ipynb")
    tests = {notebooks.nbgrader_meta(c)["grade_id"]: json.dumps(c.outputs, ensure_ascii=False)
             for c in nb.cells if notebooks.is_test_cell(c)}
    assert RAN_INSIDE.en in tests["test_contiguous_strides"] and JUDGED_OUTSIDE.en in tests["test_broadcast_shape"]
