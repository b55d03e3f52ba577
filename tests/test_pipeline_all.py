"""Every assignment through the whole pipeline, and a grader killed mid-batch.

Kept apart from test_pipeline.py so that pytest-xdist can spread these slow tests over workers
(test_pipeline.py's shared graded batch stays on one worker).
"""
import shutil
from pathlib import Path

import pytest

from autograder import demo
from autograder.pipeline import Course
from conftest import ROOT

pytestmark = pytest.mark.pipeline
ASSIGNMENT = "a01_tensors"


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
