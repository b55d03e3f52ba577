"""One autograde batch: nbgrader's bookkeeping in one process, grading on warm workers / 批量评分.

Stock ``nbgrader autograde`` handles one student after another and runs each notebook in a
kernel. Here one nbgrader :class:`~nbgrader.converters.Autograde` converter serves the whole
batch, split at the kernel step, and the grading in between runs on a pool of warm workers
(:mod:`autograder.engine`):

1. *prepare* (this process, one student at a time): nbgrader's own ``init_destination`` and
   ``init_assignment`` (student, submission, timestamp, copied files), then the sanitize
   preprocessors (:class:`~autograder.preprocessors.RepairSubmission`, ``ClearOutput``,
   ``OverwriteCells``, ...) into ``autograded/``; the sanitized code goes to the pool;
2. *grade* (the pool, in parallel): sandboxed runs and the trusted judge, one report each;
3. *record* (this process, the only gradebook writer): nbgrader's autograde preprocessors on
   each sanitized notebook, with :class:`~autograder.preprocessors.TrustedExecute` taking the
   pool's report (checked against the notebook's code) and ``SaveAutoGrades`` writing it.

So the gradebook has one writer (SQLite stays safe), nbgrader's feedback and formgrader see
exactly what stock nbgrader would write, and grading overlaps with the bookkeeping.
"""
from __future__ import annotations

import glob
import os
import signal
import stat
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.writers import FilesWriter
from nbgrader import utils
from nbgrader.converters import Autograde
from nbgrader.converters.base import BaseConverter
from nbgrader.utils import find_all_files, rmtree

from autograder.bookkeeping import one_transaction
from autograder.collect import repair_timestamp
from autograder.notebooks import grading_cells
from autograder.engine import Done, Job
from autograder.results import Msg, copy_regular_file


SUBMITTED_FILES_LIMIT = 64 << 20  # bytes of a submission's extra files copied for grading
GRADEBOOK_WAIT_SECONDS = 60.0  # how long a lost gradebook connection (e.g. PostgreSQL restarting) is waited for


class GradebookUnavailable(RuntimeError):
    """The gradebook database stayed unreachable: the batch stops, the student in progress unrecorded."""


def lost_connection(exc: BaseException | None) -> bool:
    """A database error that a retry can cure: the server went away, restarted, or is busy.
    nbgrader re-raises some of them as ``InvalidEntry`` inside its ``except``: the cause is then
    the exception's context, so the whole chain is looked at."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, (OperationalError, InterfaceError)) or (
                isinstance(exc, DBAPIError) and exc.connection_invalidated):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def with_gradebook(step, what: str):
    """Run ``step`` (a gradebook write that is safe to repeat: nbgrader's ``update_or_create_*``,
    a whole student's record); while the database connection is lost, wait and repeat it, for at
    most GRADEBOOK_WAIT_SECONDS, then raise :class:`GradebookUnavailable`."""
    deadline, delay = time.monotonic() + GRADEBOOK_WAIT_SECONDS, 0.5
    while True:
        try:
            return step()
        except Exception as exc:
            if not lost_connection(exc):
                raise
            if time.monotonic() > deadline:
                raise GradebookUnavailable(
                    f"成绩库连接中断超过 {GRADEBOOK_WAIT_SECONDS:g} 秒，评分已停止（{what} 没有记录；已记录的成绩完整保留），"
                    f"数据库恢复后再运行一次 make grade 即可 / the gradebook database was unreachable for more than "
                    f"{GRADEBOOK_WAIT_SECONDS:g} s, so grading stopped ({what} was not recorded; every grade recorded "
                    f"before is kept). Run make grade again once the database is back: {error_text(exc)}") from None
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


class RegularFilesOnly(BaseConverter):
    """nbgrader's copying of a submission's extra files, made safe: only regular files, never
    through a symbolic link (a link to ``/etc/shadow`` or to the master notebook is not copied),
    no FIFOs or devices (opening one would hang the batch), at most SUBMITTED_FILES_LIMIT bytes.
    Sits between ``Autograde`` and ``BaseConverter``, so Autograde's own ``init_assignment``
    (which then overwrites with the instructor's files) calls this instead."""

    def init_assignment(self, assignment_id: str, student_id: str) -> None:
        source = self._format_source(assignment_id, student_id)
        dest = self._format_dest(assignment_id, student_id)
        budget, skipped = SUBMITTED_FILES_LIMIT, []
        for filename in find_all_files(source, self.coursedir.ignore + ["*.ipynb"]):
            rel = os.path.relpath(filename, source)
            info = os.lstat(filename)
            if not stat.S_ISREG(info.st_mode) or any(os.path.islink(p) for p in _parents(filename, source)):
                skipped.append(rel)
                continue
            if info.st_size > budget:
                skipped.append(rel)
                continue
            budget -= info.st_size
            path = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.lexists(path):
                os.remove(path)
            copy_regular_file(filename, path)
        if skipped:
            names = ", ".join(sorted(skipped)[:10])
            self.notes_for(student_id).append(Msg(
                f"提交中的这些文件不是普通文件（链接、管道、设备）或过大，未用于评分：{names}",
                f"these files of the submission are not regular files (links, pipes, devices) or are too large, "
                f"and were not used for grading: {names}"))


def _parents(path: str, top: str):
    """The folders between ``top`` (excluded) and ``path``."""
    parent = os.path.dirname(path)
    while len(parent) > len(top):
        yield parent
        parent = os.path.dirname(parent)


class BatchAutograde(Autograde, RegularFilesOnly):
    """nbgrader's Autograde converter, driven per student and per phase instead of by ``start``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.notes: dict[str, list[Msg]] = {}  # student -> what preparing the submission noticed
        self.reports: dict[tuple[str, str], object] = {}
        self._made: dict[bool, list] = {}  # phase (sanitizing or not) -> its preprocessors
        self.writer = FilesWriter(parent=self, config=self.config)
        self.exporter = self.exporter_class(parent=self, config=self.config)
        # validate once after all of a phase's preprocessors, not after each (nbconvert's option)
        self.exporter.optimistic_validation = True

    def _init_preprocessors(self) -> None:
        """Each phase's preprocessors are made once per batch and reused: nbgrader's own reset
        their per-notebook state in ``preprocess`` (making them is ~4 ms each, 13 per student)."""
        phase = self._sanitizing
        if phase not in self._made:
            super()._init_preprocessors()
            self._made[phase] = list(self.exporter._preprocessors)
        self.exporter._preprocessors = list(self._made[phase])

    def init_single_notebook_resources(self, notebook_filename: str) -> dict:
        resources = super().init_single_notebook_resources(notebook_filename)
        info = resources["nbgrader"]
        report = self.reports.get((info["student"], info["notebook"]))
        if report is not None and not self._sanitizing:
            resources["autograder_report"] = report
            resources["autograder_notes"] = list(self.notes.get(info["student"], []))
        return resources

    def notes_for(self, student: str) -> list[Msg]:
        return self.notes.setdefault(student, [])

    def _notebooks_of(self, assignment: str, student: str) -> list[str]:
        pattern = os.path.join(self._format_source(assignment, student), self.coursedir.notebook_id + ".ipynb")
        return sorted(glob.glob(pattern))

    def prepare(self, assignment: str, student: str) -> list[Path]:
        """nbgrader's set-up and sanitizing for one student; returns the sanitized notebooks."""
        self._sanitizing = True
        self.notebooks = self._notebooks_of(assignment, student)
        self.notes.pop(student, None)
        self.init_destination(assignment, student)
        self.run_pre_convert_hook()
        note = repair_timestamp(self._format_source(assignment, student), self.log)  # a bad one would fail it
        if note is not None:
            self.notes_for(student).append(note)
        self.init_assignment(assignment, student)
        self._init_preprocessors()
        out = []
        for filename in self.notebooks:
            super(Autograde, self).convert_single_notebook(filename)
            out.append(Path(self.writer.build_directory) / os.path.basename(filename))
        return out

    def record(self, assignment: str, student: str, notebooks: list[Path]) -> None:
        """nbgrader's autograde preprocessors on the sanitized notebooks (gradebook writes)."""
        self._sanitizing = False
        self._init_preprocessors()
        try:
            with utils.setenv(NBGRADER_EXECUTION="autograde"), one_transaction():  # whole or not at all
                for path in notebooks:
                    super(Autograde, self).convert_single_notebook(str(path))
        finally:
            self._sanitizing = True
        self.set_permissions(assignment, student)
        self.run_post_convert_hook()

    def discard(self, assignment: str, student: str) -> None:
        """Remove a failed student's partial output (as nbgrader does on failure)."""
        dest = os.path.normpath(self._format_dest(assignment, student))
        if os.path.exists(dest):
            rmtree(dest)


@dataclass
class Pending:
    notebooks: list[Path]
    waiting: set[str]
    failed: str | None = None


@contextmanager
def deferred_interrupt():
    """Hold Ctrl-C (SIGINT) until the block is done, then raise it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def read_cells(path: Path) -> list[dict]:
    return grading_cells(nbformat.read(str(path), as_version=4))


def error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class Batch:
    """Prepare, grade on ``engine``, record: the three phases, interleaved."""

    def __init__(self, app: BatchAutograde, engine, assignment: str, job_settings: dict, on_done, on_failed):
        self.app, self.engine, self.assignment = app, engine, assignment
        self.settings = job_settings
        self.on_done, self.on_failed = on_done, on_failed  # callbacks(student[, reason])
        self.pending: dict[str, Pending] = {}
        self.seconds = {"prepare": 0.0, "record": 0.0}  # nbgrader's bookkeeping, in this process

    def add(self, student: str) -> None:
        t0 = time.perf_counter()
        try:
            notebooks = with_gradebook(lambda: self.app.prepare(self.assignment, student), student)
            jobs = [Job((student, p.stem), self.assignment, read_cells(p), files=str(p.parent), **self.settings)
                    for p in notebooks]
        except GradebookUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - that student fails, the batch goes on
            self.app.discard(self.assignment, student)
            self.on_failed(student, error_text(exc))
            return
        finally:
            self.seconds["prepare"] += time.perf_counter() - t0
        self.pending[student] = Pending(notebooks, {p.stem for p in notebooks})
        if not jobs:
            self._finish(student)
        for job in jobs:
            self.engine.submit(job)
        self.collect(block=False)

    def collect(self, block: bool = True) -> None:
        for done in self.engine.completed(block=block):
            self._take(done)

    def _take(self, done: Done) -> None:
        student, notebook = done.job.key
        entry = self.pending[student]
        entry.waiting.discard(notebook)
        if done.report is None:
            entry.failed = entry.failed or done.error or "no report"
        else:
            self.app.reports[(student, notebook)] = done.report
        if not entry.waiting:
            self._finish(student)

    def _finish(self, student: str) -> None:
        entry = self.pending.pop(student)
        if entry.failed is None:
            t0 = time.perf_counter()
            try:
                with deferred_interrupt():  # a student's grades are written whole or not at all
                    with_gradebook(lambda: self.app.record(self.assignment, student, entry.notebooks), student)
            except GradebookUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001
                entry.failed = error_text(exc)
            self.seconds["record"] += time.perf_counter() - t0
        for p in entry.notebooks:
            self.app.reports.pop((student, p.stem), None)
        self.app.notes.pop(student, None)
        if entry.failed is not None:
            self.app.discard(self.assignment, student)
            self.on_failed(student, entry.failed)
        else:
            self.on_done(student)
