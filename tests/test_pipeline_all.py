"""Every assignment through the whole pipeline, and a grader killed mid-batch.

Kept apart from test_pipeline.py so that pytest-xdist can spread these slow tests over workers
(test_pipeline.py's shared graded batch stays on one worker).
"""
import json
import shutil

import pytest

from autograder import demo, sandbox
from autograder.pipeline import Course
from conftest import ROOT, alive, descendants

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
    # every autograded point; written answers wait for the formgrader
    assert got["ada"]["score"] + got["ada"]["manual_pending"] == got["ada"]["max_score"] > 0
    assert got["chen"]["score"] == 0 and "unanswered" in got["chen"]["status"]
    assert 0 < got["bo"]["score"] < got["bo"]["max_score"]


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
    deadline = time.time() + 10  # the workers are in their own session: they die with it (PDEATHSIG, level by level)
    while [pid for pid in tree if alive(pid)] and time.time() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in tree if alive(pid)], "a sandboxed process outlived the grader"
    assert subprocess.run(command, cwd=ROOT, capture_output=True).returncode == 0
    got = {r["student"]: r["score"] for r in course.scores(ASSIGNMENT)}
    assert got == {"ada": 10, "bo": pytest.approx(5.6667, abs=1e-3), "chen": 0, "dee": 0}
    with course.here(), course.gradebook() as gb:
        assert sorted(s.student.id for s in gb.assignment_submissions(ASSIGNMENT)) == ["ada", "bo", "chen", "dee"]


@pytest.mark.skipif(not sandbox.bwrap_available(), reason="bubblewrap not installed: the fallback path has no walls")
def test_bubblewrap_fallback_gives_the_same_scores_and_says_so(tmp_path):
    """Forced onto the slower bubblewrap path (what a machine without the fork path gets): same
    scores as the fork path, one worker or two, and every report and the batch record say so?"""
    shutil.copy(ROOT / "course" / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "course" / "source" / ASSIGNMENT, tmp_path / "source" / ASSIGNMENT)
    course = Course(tmp_path)
    course.release(ASSIGNMENT)
    demo.make_submissions(tmp_path, ASSIGNMENT)
    course.grade(ASSIGNMENT, workers=2, sandbox_path="bwrap")
    got = {r["student"]: r["score"] for r in course.scores(ASSIGNMENT)}
    assert got == {"ada": 10, "bo": pytest.approx(5.6667, abs=1e-3), "chen": 0, "dee": 0}
    reports = [r for s in ("ada", "bo", "chen") for r in course.reports().read(ASSIGNMENT, s)]
    assert {r.sandbox_path for r in reports} == {"bwrap"}
    assert all(any("slower" in m for m in r.sandbox) for r in reports)
    batch = json.loads((tmp_path / "reports" / ASSIGNMENT / "batch.json").read_text())
    assert batch["sandbox_path"] == "bwrap" and batch["workers"] == 2


def test_ctrl_c_stops_the_batch_and_records_nothing_half_done(tmp_path):
    """Ctrl-C (SIGINT to the grader's process group, as a terminal sends it) mid-batch: the grader
    stops within seconds, says so, leaves no process behind, and every student is either graded
    completely or not at all; a second run finishes the batch. (On 8fe0864 the workers shared the
    grader's process group, died of the same SIGINT and the submission in progress was recorded
    as a failed 0.)"""
    import os
    import signal
    import subprocess
    import sys
    import time

    from autograder.demo import fill, key_answers

    shutil.copy(ROOT / "course" / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "course" / "source" / ASSIGNMENT, tmp_path / "source" / ASSIGNMENT)
    course = Course(tmp_path)
    release = course.release(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
    master = ROOT / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    import nbformat
    slow = {**key_answers(master), "sol_linspace": "import time\ndef linspace(start, end, steps, device):\n"
                                                   "    time.sleep(1000)\n"}
    students = [f"s{k}" for k in range(6)]
    for k, student in enumerate(students):
        folder = tmp_path / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nb = fill(nbformat.read(str(release), as_version=4), slow if k % 2 else key_answers(master))
        nbformat.write(nb, str(folder / f"{ASSIGNMENT}.ipynb"))
    command = [sys.executable, "-m", "autograder", "grade", "--assignment", ASSIGNMENT, "--course", str(tmp_path),
               "--workers", "1"]
    grader = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    reports = tmp_path / "reports" / ASSIGNMENT
    deadline = time.time() + 120
    while not list(reports.glob("*/*.json")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # now in the middle of a slow submission
    tree = descendants(grader.pid)
    os.killpg(grader.pid, signal.SIGINT)
    t0 = time.time()
    out, _ = grader.communicate(timeout=60)
    assert time.time() - t0 < 15 and grader.returncode == 130, out[-2000:]
    assert "grading interrupted" in out
    deadline = time.time() + 10
    while [pid for pid in tree if alive(pid)] and time.time() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in tree if alive(pid)], "a worker or sandboxed process outlived Ctrl-C"
    graded = {p.parent.name for p in reports.glob("*/*.json")}
    assert 0 < len(graded) < len(students)
    with course.here(), course.gradebook() as gb:
        recorded = {s.student.id for s in gb.assignment_submissions(ASSIGNMENT) if s.notebooks and
                    all(g.auto_score is not None for nb in s.notebooks for g in nb.grades)}
    assert recorded == graded, "a student half recorded"
    assert all(course.reports().read(ASSIGNMENT, s)[0].problems for s in graded)
    assert subprocess.run(command, cwd=ROOT, capture_output=True, timeout=900).returncode == 0
    assert {r["student"] for r in course.scores(ASSIGNMENT)} == set(students)
