"""The nbgrader pipeline end to end: release -> submissions -> autograde -> feedback -> export."""
import csv
import json
import shutil
from pathlib import Path

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


@pytest.mark.parametrize("assignment", [p.parent.name for p in sorted((ROOT / "course" / "source").glob("*/*.ipynb"))
                                        if p.parent.name != ASSIGNMENT])
def test_every_assignment_grades_key_full_and_blank_zero(assignment, tmp_path):
    """Through the whole pipeline and the sandbox: key full marks, blank zero, partly wrong in between."""
    shutil.copy(ROOT / "course" / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "course" / "source" / assignment, tmp_path / "source" / assignment)
    course = Course(tmp_path)
    course.release(assignment)
    demo.make_submissions(tmp_path, assignment)
    outcomes = {o.student: o for o in course.grade(assignment, ["ada", "bo", "chen"])}
    assert all(o.ok for o in outcomes.values())
    got = {r["student"]: r for r in course.scores(assignment)}
    assert got["ada"]["score"] == got["ada"]["max_score"] > 0
    assert got["chen"]["score"] == 0 and "unanswered" in got["chen"]["status"]
    assert 0 < got["bo"]["score"] < got["bo"]["max_score"]


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` right now (read from /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def test_killed_grader_resumes_with_nothing_lost_or_counted_twice(tmp_path):
    """Kill the grader mid-batch, run it again: is every student graded once, correctly?"""
    import os
    import signal
    import subprocess
    import sys
    import time

    shutil.copy(ROOT / "course" / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "course" / "source" / ASSIGNMENT, tmp_path / "source" / ASSIGNMENT)
    course = Course(tmp_path)
    course.release(ASSIGNMENT)
    demo.make_submissions(tmp_path, ASSIGNMENT)
    command = [sys.executable, "-m", "autograder", "grade", "--assignment", ASSIGNMENT, "--course", str(tmp_path)]
    grader = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    reports = tmp_path / "reports" / ASSIGNMENT
    deadline = time.time() + 120
    while not list(reports.glob("*/*.json")) and time.time() < deadline and grader.poll() is None:
        time.sleep(0.2)
    tree = descendants(grader.pid)
    os.killpg(grader.pid, signal.SIGKILL)
    grader.wait()
    done_before = {p.parent.name for p in reports.glob("*/*.json")}
    assert 0 < len(done_before) < 4, "the grader should have been killed part-way through the batch"
    time.sleep(1)
    assert not [pid for pid in tree if Path(f"/proc/{pid}").exists()], "a sandboxed process outlived the grader"
    assert subprocess.run(command, cwd=ROOT, capture_output=True).returncode == 0
    got = {r["student"]: r["score"] for r in course.scores(ASSIGNMENT)}
    assert got == {"ada": 10, "bo": pytest.approx(5.6667, abs=1e-3), "chen": 0, "dee": 0}
    with course.here(), course.gradebook() as gb:
        assert sorted(s.student.id for s in gb.assignment_submissions(ASSIGNMENT)) == ["ada", "bo", "chen", "dee"]
