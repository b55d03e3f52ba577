"""nbgrader's exchange for the course / 通过 nbgrader 的交换目录收发作业.

The instructor's side (``python -m autograder release-exchange|collect|return-feedback``)
and the student's side (fetch, submit, fetch feedback: what JupyterLab's Assignment List does),
both through nbgrader's own exchange classes, so a folder exchange (``c.Exchange.root`` in
``course/nbgrader_config.py``; ``course/exchange/`` on one machine, a shared folder under
JupyterHub) behaves as nbgrader documents it, except that ``collect`` is nbgrader's collect with
names, timestamps, owners and copying checked (``autograder.collect.SafeCollect``: no symlink followed,
only regular files copied, a submission for X accepted only from X's Unix user, every problem reported
per student). Grading stays with the trusted grader (``Course.grade``); nbgrader's exchange only moves files.

教师端：发布到交换目录、收作业、生成并发回反馈；学生端：取作业、提交、取反馈。评分仍由可信评分程序完成。
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError, ExchangeFactory
from traitlets.config import Config

from autograder.collect import valid_id
from autograder.pipeline import Course, Outcome, console


class ExchangeStepError(RuntimeError):
    """An exchange step failed; the message carries nbgrader's log."""


def _run(app, what: str) -> None:
    try:
        app.start()
    except ExchangeError as exc:
        raise ExchangeStepError(f"nbgrader {what} failed / 失败: {exc}") from exc


class Instructor:
    """The instructor's exchange steps for a course root (the folder holding ``nbgrader_config.py``)."""

    def __init__(self, course: Course | Path):
        self.course = course if isinstance(course, Course) else Course(Path(course))
        self.problems = []  # what the last collect refused or changed (autograder.collect.Problem)

    def _app(self, kind: str, assignment: str, **traits):
        config = copy.deepcopy(self.course.config)
        if kind == "Collect":  # names, times, owners and copying checked (autograder/collect.py)
            config.merge(Config({"ExchangeFactory": {"collect": "autograder.collect.SafeCollect"}}))
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = assignment
        factory = ExchangeFactory(config=config)
        app = getattr(factory, kind)(coursedir=coursedir, authenticator=Authenticator(config=config),
                                    config=config)
        for name, value in traits.items():
            setattr(app, name, value)
        return app

    @property
    def exchange_root(self) -> Path:
        return Path(self._app("List", "*").root)

    def release(self, assignment: str) -> Path:
        """generate_assignment (solutions and hidden tests removed), then release_assignment to the exchange."""
        self.course.release(assignment)
        with self.course.here():
            _run(self._app("ReleaseAssignment", assignment, force=True), "release_assignment")
        return self.exchange_root / self.course.coursedir.course_id / "outbound" / assignment

    def collect(self, assignment: str) -> list[str]:
        """nbgrader collect, made safe (``autograder.collect.SafeCollect``): the newest acceptable
        submission of each student into ``submitted/<student>/``; returns every student with one there.

        What was refused or changed is in ``self.problems`` (one ``Problem`` per entry, bilingual), printed,
        and written to ``reports/<assignment>/collect.json``; one student's problem never stops the others.
        """
        app = self._app("Collect", assignment, update=True)
        with self.course.here():
            _run(app, "collect")
        self.problems = list(app.problems)
        students = [s for s in self.course.submitted(assignment) if valid_id(s)]
        with self.course.here(), self.course.gradebook() as gb:
            for student in students:
                gb.update_or_create_student(student)
        self._report(assignment, students, app.copied)
        return students

    def _report(self, assignment: str, students: list[str], copied: list[str]) -> None:
        out = self.course.root / "reports" / assignment
        out.mkdir(parents=True, exist_ok=True)
        record = {"assignment": assignment, "students": students, "copied": sorted(copied),
                  "problems": [p.as_dict() for p in self.problems]}
        (out / "collect.json").write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        for p in self.problems:
            mark = "✘" if p.refused else "!"
            console.print(f"  {mark} {p.student or p.entry}: {p.message.zh}", markup=False, highlight=False)
            console.print(f"    {p.message.en}", markup=False, highlight=False)
        if self.problems:
            console.print(f"  collect report / 收取报告: {out / 'collect.json'}", markup=False, highlight=False)

    def return_feedback(self, assignment: str) -> list[Path]:
        """generate_feedback for every graded submission, then release_feedback to the exchange."""
        graded = [s for s in self.course.submitted(assignment)
                  if (self.course.root / "autograded" / s / assignment).is_dir()]
        failed = self.course.feedback(assignment, [Outcome(s, True) for s in graded])
        with self.course.here():
            _run(self._app("ReleaseFeedback", assignment), "release_feedback")
        if failed:  # the others' feedback is released; these students' is not there to fetch
            raise ExchangeStepError(f"没有为这些学生生成反馈 / no feedback was generated for: {', '.join(failed)}")
        return sorted((self.exchange_root / self.course.coursedir.course_id / "feedback").glob("*.html"))


class Student:
    """One student's side of the exchange: what the Assignment List does, from Python.

    ``workspace`` is where assignments are fetched to (nbgrader's ``Exchange.assignment_dir``);
    ``student_id`` defaults to the login name, as in the Assignment List; ``cache`` is nbgrader's
    per-user record of submissions (``Exchange.cache``; default: in the Jupyter data folder), which
    fetch_feedback reads, so two students simulated by one login need one each.
    """

    def __init__(self, course_root: Path, workspace: Path, student_id: str | None = None,
                 cache: Path | None = None):
        self.course = Course(Path(course_root))
        self.workspace = Path(workspace).resolve()
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.student_id = student_id
        self.cache = cache

    def _app(self, kind: str, assignment: str):
        config = copy.deepcopy(self.course.config)
        config.merge(Config({"Exchange": {"assignment_dir": str(self.workspace)}}))
        if self.cache is not None:
            config.merge(Config({"Exchange": {"cache": str(self.cache)}}))
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = assignment
        if self.student_id:
            coursedir.student_id = self.student_id
        factory = ExchangeFactory(config=config)
        return getattr(factory, kind)(coursedir=coursedir, authenticator=Authenticator(config=config),
                                      config=config)

    def released(self) -> list[dict]:
        return self._app("List", "*").start()

    def fetch(self, assignment: str) -> Path:
        _run(self._app("FetchAssignment", assignment), "fetch_assignment")
        return self.workspace / assignment

    def submit(self, assignment: str) -> None:
        _run(self._app("Submit", assignment), "submit")

    def fetch_feedback(self, assignment: str) -> list[Path]:
        _run(self._app("FetchFeedback", assignment), "fetch_feedback")
        return sorted((self.workspace / assignment / "feedback").rglob("*.html"))


def report(paths) -> None:
    for p in paths:
        console.print(f"  {os.fspath(p)}")
