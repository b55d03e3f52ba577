"""The nbgrader pipeline end to end: release -> submissions -> autograde -> feedback -> export."""
import csv
import json
import shutil

import pytest

from autograder import demo
from autograder.pipeline import Course
from conftest import ROOT

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("pipeline")]
ASSIGNMENT = "a01_tensors"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course" / "source", root / "source")
    course = Course(root)
    course.release(ASSIGNMENT)
    demo.make_submissions(root, ASSIGNMENT)
    outcomes = course.grade(ASSIGNMENT)
    course.feedback(ASSIGNMENT, outcomes)
    return course, {o.student: o for o in outcomes}


def scores(course):
    return {r["student"]: r for r in course.scores(ASSIGNMENT)}


def test_release_hides_solutions_and_hidden_tests(graded):
    """Does the release keep every solution and hidden test out, while keeping the visible checks?"""
    course, _ = graded
    text = (course.root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8")
    for secret in ("BEGIN SOLUTION", "HIDDEN TESTS", "hidden=True", "torch.from_numpy(a)", "element_size()"):
        assert secret not in text
    assert "check(linspace)" in text and "raise NotImplementedError()" in text


def test_answer_key_full_marks_blank_zero(graded):
    """Does the answer key get full marks and the blank release zero?"""
    s = scores(graded[0])
    assert s["ada"]["score"] == s["ada"]["max_score"] == 10
    assert s["chen"]["score"] == 0


def test_partly_wrong_gets_partial_credit_with_reasons(graded):
    """Does the partly wrong student lose exactly the wrong problems, each with its reason?"""
    s = scores(graded[0])["bo"]
    assert s["test_shared_from_numpy"] == 0 and s["test_linspace"] == 0
    assert 0 < s["test_nbytes"] < 1  # right for float32 inputs only: partial credit per case
    assert s["test_copied_from_numpy"] == 1.5 and s["test_pick_device"] == 1
    assert "linspace=forbidden" in s["status"]


def test_broken_submission_gets_a_clear_message_and_zero(graded):
    """Is the invalid-JSON notebook scored zero with a bilingual reason, without stopping the batch?"""
    course, outcomes = graded
    assert not outcomes["dee"].ok and "JSON" in outcomes["dee"].reason.en and "JSON" in outcomes["dee"].reason.zh
    assert scores(course)["dee"]["score"] == 0
    page = (course.root / "feedback" / "dee" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
    assert "无法评分" in page and "could not be graded" in page
    assert outcomes["chen"].ok  # students after the broken one were graded


def test_feedback_shows_results_but_not_hidden_tests(graded):
    """Does the feedback explain each failure in both languages without the hidden test code?"""
    course, _ = graded
    page = (course.root / "feedback" / "bo" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text(encoding="utf-8")
    assert "aten::linspace" in page and "本题要求自己实现" in page
    assert "HIDDEN TESTS" not in page and "hidden=True" not in page


def test_export_writes_csv_and_plot(graded, tmp_path):
    """Does export write one CSV row per student and a PNG plot?"""
    course, _ = graded
    csv_path, png_path = course.export(ASSIGNMENT, tmp_path)
    rows = list(csv.DictReader(open(csv_path, encoding="utf-8")))
    assert [r["student"] for r in rows] == ["ada", "bo", "chen", "dee"]
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failed_regrade_does_not_leave_the_old_score(graded):
    """When a re-submission is unreadable, is the old full score replaced, not left standing?"""
    course, _ = graded
    nb_path = course.root / "submitted" / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    good = nb_path.read_bytes()
    try:
        nb_path.write_bytes(b"\xff\xfe not utf-8")
        [outcome] = course.grade(ASSIGNMENT, ["ada"])
        assert not outcome.ok and "UTF-8" in outcome.reason.en
        assert scores(course)["ada"]["score"] == 0
        report = json.loads((course.root / "reports" / ASSIGNMENT / "ada" / f"{ASSIGNMENT}.json").read_text())
        assert "unreadable" in report
    finally:
        nb_path.write_bytes(good)
        course.grade(ASSIGNMENT, ["ada"])
    assert scores(course)["ada"]["score"] == 10


def test_a_failed_feedback_page_makes_make_feedback_fail(graded, tmp_path):
    """`make feedback` exits 1 and names the student when nbgrader's generate_feedback fails for
    one (here: their graded notebook is no longer a notebook), instead of reporting success."""
    from autograder.cli import main as cli
    course, outcomes = graded
    copy = tmp_path / "course"
    shutil.copytree(course.root, copy)
    student = next(s for s, o in outcomes.items() if o.ok)
    broken = copy / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    broken.chmod(0o644)
    broken.write_text("not a notebook", encoding="utf-8")
    assert cli(["feedback", "--course", str(copy), "--assignment", ASSIGNMENT]) == 1
    assert Course(copy).feedback(ASSIGNMENT, list(outcomes.values())) == [student]
