"""The student/instructor loop through nbgrader's exchange, without a browser.

release_assignment -> fetch_assignment -> (solve, validate) -> submit -> collect -> trusted autograde
-> generate_feedback + release_feedback -> fetch_feedback, in a temp copy of the course with a
course-local exchange (as `make lab` + `make release-exchange collect grade return-feedback` do).
"""
import re
import shutil

import nbformat
import pytest
from nbgrader.validator import Validator

from autograder import demo
from autograder.cli import main as cli
from autograder.exchange import Instructor, Student
from autograder.pipeline import Course
from conftest import ROOT

pytestmark = pytest.mark.pipeline
ASSIGNMENT = "a01_tensors"


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    return run_loop(tmp_path_factory.mktemp("exchange"))


def run_loop(top):
    """The whole loop in ``top`` (also run on a busy machine by tests/hub/test_busy_machine.py)."""
    root = top / "course"
    root.mkdir()
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course" / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    course = Course(root)
    instructor = Instructor(course)
    outbound = instructor.release(ASSIGNMENT)

    ada, chen = (Student(root, top / "home" / name, name, cache=top / "cache" / name) for name in ("ada", "chen"))
    listed = ada.released()
    fetched = {s: s.fetch(ASSIGNMENT) for s in (ada, chen)}

    # ada types the answer key into her solution cells; chen submits the blank release
    path = fetched[ada] / f"{ASSIGNMENT}.ipynb"
    key = demo.key_answers(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    nbformat.write(demo.fill(nbformat.read(str(path), as_version=4), key), str(path))
    validation = {s.student_id: Validator(config=course.config).validate(str(fetched[s] / f"{ASSIGNMENT}.ipynb"))
                  for s in (ada, chen)}
    for s in (ada, chen):
        s.submit(ASSIGNMENT)

    collected = instructor.collect(ASSIGNMENT)
    assert cli(["grade", "--course", str(root), "--assignment", ASSIGNMENT]) == 0  # the trusted grader
    released_pages = instructor.return_feedback(ASSIGNMENT)
    feedback = {s.student_id: s.fetch_feedback(ASSIGNMENT) for s in (ada, chen)}
    return dict(course=course, outbound=outbound, listed=listed, fetched=fetched, validation=validation,
                collected=collected, collect_problems=list(instructor.problems), released_pages=released_pages,
                feedback=feedback, top=top)


def test_release_puts_the_student_version_in_the_exchange(loop):
    """Is the released notebook in the course-local exchange, without solutions or hidden tests?"""
    nb = (loop["outbound"] / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8")
    assert loop["outbound"].is_relative_to(loop["course"].root / "exchange")
    assert "BEGIN SOLUTION" not in nb and "hidden=True" not in nb
    assert [(a["assignment_id"], a["status"]) for a in loop["listed"]] == [(ASSIGNMENT, "released")]


def test_student_fetches_into_their_own_workspace(loop):
    """Does fetch_assignment copy the release into each student's workspace?"""
    for student, folder in loop["fetched"].items():
        assert (folder / f"{ASSIGNMENT}.ipynb").is_file()
        assert folder.is_relative_to(loop["top"] / "home" / student.student_id)


def test_validate_passes_the_solved_notebook(loop):
    """Does nbgrader's Validate (the student's button) accept the solved notebook?"""
    assert loop["validation"]["ada"] == {}, loop["validation"]["ada"]  # nothing failed, nothing changed
    assert loop["validation"]["chen"]["failed"]  # the blank release does not pass its own checks


def test_collect_brings_every_submission(loop):
    """Does collect put each student's submission into submitted/<student>/?"""
    assert loop["collected"] == ["ada", "chen"]
    assert loop["collect_problems"] == []  # honest submissions: nothing refused, nothing to report
    assert (loop["course"].root / "submitted" / "ada" / ASSIGNMENT / "timestamp.txt").is_file()


def test_trusted_grader_scores_the_exchanged_submissions(loop):
    """Are the submissions graded by the trusted grader: key full marks, blank zero?"""
    scores = {r["student"]: r for r in loop["course"].scores(ASSIGNMENT)}
    assert scores["ada"]["score"] == scores["ada"]["max_score"] == 10
    assert scores["chen"]["score"] == 0
    assert (loop["course"].root / "reports" / ASSIGNMENT / "ada" / f"{ASSIGNMENT}.json").is_file()


def test_student_fetches_feedback_with_the_score(loop):
    """Does each student end up with a feedback HTML showing their own score?"""
    assert len(loop["released_pages"]) == 2
    for student, expected in (("ada", "10.0"), ("chen", "0.0")):
        [page] = loop["feedback"][student]
        assert page.is_relative_to(loop["top"] / "home" / student / ASSIGNMENT / "feedback")
        text = page.read_text(encoding="utf-8")
        assert re.search(rf"Score:\s*{re.escape(expected)}\s*/\s*10\.0", text), text[:2000]


def test_class_deployment_configs_load():
    """Do deploy/jupyterhub_config.py and deploy/nbgrader_config.py load, pointing at one shared exchange, with
    the grader reachable for the instructor only?"""
    from types import SimpleNamespace

    from traitlets.config.loader import PyFileConfigLoader
    hub = PyFileConfigLoader("jupyterhub_config.py", path=str(ROOT / "deploy")).load_config()
    students = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "deploy")).load_config()
    assert hub.Spawner.default_url == "/lab" and "instructor" in hub.Authenticator.admin_users
    assert hub.Spawner.cmd == ["/opt/course/bin/jupyterhub-singleuser"]
    assert students.Exchange.root == "/srv/nbgrader/exchange"
    assert students.CourseDirectory.course_id == Course(ROOT / "course").config.CourseDirectory.course_id
    assert "ExchangeFactory" not in students  # names no grader class: a student's environment has none
    spawner = SimpleNamespace(user=SimpleNamespace(name="instructor"), environment={})
    hub.Spawner.pre_spawn_hook(spawner)
    assert spawner.environment["NBGRADER_EXCHANGE"] == students.Exchange.root
    assert spawner.environment["PYTHONPATH"].endswith("/instructor/torch-first-principles")
    student = SimpleNamespace(user=SimpleNamespace(name="alice"), environment={})
    hub.Spawner.pre_spawn_hook(student)
    assert student.environment == {"NBGRADER_EXCHANGE": students.Exchange.root, "JUPYTER_CONFIG_PATH": "/etc/jupyter"}


def test_validate_waits_long_enough_on_a_shared_machine():
    """Do the student and instructor configs give Validate more than nbgrader's 4 s IOPub timeout (which failed
    on a loaded 2-core machine), and the same in both?"""
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader
    hub = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT / "deploy")).load_config().Execute
    course = Course(ROOT / "course").config.Execute
    for key in ("iopub_timeout", "startup_timeout", "timeout"):
        assert hub[key] == course[key] > Execute.class_traits()[key].default_value, key
    assert course.iopub_timeout >= 60
