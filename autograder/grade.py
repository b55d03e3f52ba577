"""Grades one notebook: sandboxed runs, then the trusted judge / 评一份 notebook.

:class:`AssignmentPlan` holds an assignment's inputs and trusted torch references for a given
set of devices; it is made once and reused for every submission. :func:`grade_cells` runs the
student's code in a sandbox (any :mod:`autograder.sandbox` path) and judges what came back.
A problem that hangs or kills the process costs only that problem: the harness is started
again for the problems still to do (and a top-level cell that hung is skipped next time).
"""
from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import stat
import tempfile
import time
from pathlib import Path

import numpy as np

from autograder import classic, harness, judge, review, sandbox
from autograder.notebooks import cells_digest
from autograder.results import Msg, NotebookReport, ProblemResult, copy_regular_file, failed_problem, read_bounded
from autograder.specs import Assignment, Problem


class AssignmentPlan:
    """Every problem's inputs and trusted expectations on ``devices``: made once per assignment."""

    def __init__(self, assignment: Assignment, devices: list[str]):
        self.assignment, self.devices = assignment, list(devices)
        self.arrays: dict = {}
        self.plans = {p.function: judge.plan(p, self.arrays, self.devices) for p in assignment.problems}
        self.spec_tests = {p.grade_id for p in assignment.problems}
        self._inputs: bytes | None = None

    def runnable(self, cells: list[dict]) -> list[dict]:
        """The cells the student's process runs: all but the test cells a spec grades; the
        remaining test cells (classic nbgrader tests) keep their ``test`` mark."""
        return [c for c in cells if not (c.get("test") and c["test"]["grade_id"] in self.spec_tests)]

    def write_job(self, job_dir: Path, cells, skip, problems: list[Problem], files: Path | None = None,
                  seal: str = "") -> None:
        """The job folder for one run. ``seal``: a secret the harness reads (and deletes, with the
        hidden inputs) before any student code runs, and writes into every result; a result
        without it was not written by the harness."""
        (job_dir / harness.PROGRESS).mkdir(parents=True)
        (job_dir / harness.RESULTS).mkdir()
        if files is not None:
            copy_assignment_files(files, job_dir / harness.WORK)
        if self._inputs is None:  # serialised once, copied into every job folder
            harness.write_arrays(job_dir / "inputs.bin", {k: np.asarray(v) for k, v in self.arrays.items()})
            self._inputs = (job_dir / "inputs.bin").read_bytes()
        else:
            (job_dir / "inputs.bin").write_bytes(self._inputs)
        job = {"cells": self.runnable(cells), "skip_cells": sorted(skip), "seal": seal,
               "problems": [{"function": p.function, "cases": self.plans[p.function].wire} for p in problems]}
        (job_dir / "job.json").write_text(json.dumps(job))

    def judge(self, problem: Problem, job_dir: Path, seal: str = "") -> ProblemResult:
        name = problem.function
        results = job_dir / harness.RESULTS
        try:
            data = json.loads(read_bounded(results / f"{name}.json", RECORDS_LIMIT))
            if data.get("seal") != seal:
                return forged(problem)
            records = data["cases"]
            got = harness.read_arrays(results / f"{name}.bin", read_bounded(results / f"{name}.bin", ARRAYS_LIMIT))
            if len(records) != len(self.plans[name].wire):
                raise ValueError("wrong number of records")
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            return failed_problem(problem, "unreadable", Msg(
                f"无法读取评测结果（{type(exc).__name__}）", f"could not read the results ({type(exc).__name__})"))
        return self.plans[name].score(records, got)


RECORDS_LIMIT, ARRAYS_LIMIT = 16 << 20, 256 << 20  # bytes of one problem's results read at most


FILES_LIMIT, FILES_COUNT = 64 << 20, 1000  # the assignment's files a job gets: bytes and files in all


def assignment_files(source: Path):
    """The assignment's files (what nbgrader put beside the notebook: data, images) as
    ``(path, relative path)``: regular files only, never through a symlink, notebooks left out
    (the sanitized ones hold hidden tests), at most FILES_COUNT files and FILES_LIMIT bytes."""
    budget, count = FILES_LIMIT, 0
    for folder, dirs, names in os.walk(source):  # os.walk does not descend into symlinked folders
        dirs[:] = [d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(folder, d))]
        for name in names:
            src = Path(folder) / name
            if name.endswith(".ipynb") or name.startswith(".") or not stat.S_ISREG(os.lstat(src).st_mode):
                continue
            size = os.lstat(src).st_size
            count += 1
            if size > budget or count > FILES_COUNT:
                raise ValueError(f"the assignment's files exceed {FILES_COUNT} files or {FILES_LIMIT >> 20} MiB")
            budget -= size
            yield src, src.relative_to(source)


def copy_assignment_files(source: Path, dest: Path) -> None:
    """Copy :func:`assignment_files` into the job's working folder ``dest`` (made here)."""
    dest.mkdir()
    for src, rel in assignment_files(source):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_regular_file(src, target)


def forged(problem: Problem) -> ProblemResult:
    return failed_problem(problem, "forbidden", Msg(
        "评测结果不是评分程序写的（被学生代码伪造或改写），此题不得分",
        "the results were not written by the grader (forged or rewritten by the submission's code); no points"))


def _blame(problem: Problem, overran: str | None, limits: sandbox.Limits) -> ProblemResult:
    if overran == harness.problem_marker(problem.function):
        return failed_problem(problem, "timeout", Msg(
            f"超过时间限制（{limits.problem_seconds:g} 秒）", f"exceeded the time limit ({limits.problem_seconds:g} s)"))
    return failed_problem(problem, "crashed", Msg(
        "运行时进程意外退出（例如调用了 sys.exit/os._exit，或内存耗尽）",
        "the process exited while running it (e.g. sys.exit/os._exit, or out of memory)"))


def grade_cells(cells: list[dict], plan: AssignmentPlan, box, limits: sandbox.Limits = sandbox.Limits(),
                work_dir: str | None = None, files: str | None = None) -> NotebookReport:
    """Grade a notebook's code cells with ``box`` (a sandbox); job folders go under ``work_dir``,
    and the files in ``files`` (the assignment's data, as nbgrader copied them) are the
    student's working directory."""
    t0 = time.time()
    assignment = plan.assignment
    report = NotebookReport(assignment.name, sandbox=box.mechanisms(), sandbox_path=box.path,
                            devices=plan.devices, cells_digest=cells_digest(cells))
    results: dict[str, ProblemResult] = {}
    remaining, skip = list(assignment.problems), set()
    tests = {c["index"]: c for c in plan.runnable(cells) if c.get("test")}  # classic test cells
    waiting = dict(tests)
    phases = dict.fromkeys(("write", "run", "judge"), 0.0)
    clock = time.perf_counter
    deadline, out_of_time = t0 + limits.submission_seconds, False
    runtime: list[review.Finding] = []  # what the sandbox's guard refused in top-level cells
    for _attempt in range(len(remaining) + len(cells) + 1):
        left = deadline - time.time()
        if left <= 0:
            out_of_time = True
            break
        job_dir = Path(tempfile.mkdtemp(prefix="grade-", dir=work_dir))
        try:
            t = clock()
            seal = secrets.token_hex(16)
            plan.write_job(job_dir, cells, skip, remaining, Path(files) if files else None, seal)
            phases["write"] += clock() - t
            t = clock()
            run = box.run(job_dir, dataclasses.replace(limits, run_seconds=left))
            phases["run"] += clock() - t
            if run.error:
                raise sandbox.SandboxUnavailable(run.error)
            t = clock()
            for p in remaining:
                if (job_dir / harness.RESULTS / f"{p.function}.json").exists():
                    results[p.function] = plan.judge(p, job_dir, seal)
            for index in list(waiting):
                path = job_dir / harness.RESULTS / harness.test_result_name(index)
                if path.exists():
                    results[_key(waiting.pop(index))] = classic.read(tests[index], path, seal)
            phases["judge"] += clock() - t
            runtime += [f for f in _refused(job_dir, seal, assignment) if f not in runtime]
            for errs in job_dir.glob("cell_errors_*.json"):
                report.cell_errors = _read_json_list(errs)
            progress = sandbox.Progress(job_dir)
            if progress.output_truncated() and "output truncated" not in report.flags:
                report.flags.append("output truncated")
                report.notes.append(Msg(f"输出超过 {harness.OUTPUT_LIMIT >> 20} MiB，超出部分已丢弃",
                                        f"output exceeded {harness.OUTPUT_LIMIT >> 20} MiB; the rest was dropped"))
            if run.overran == sandbox.DISK and "disk limit" not in report.flags:
                report.flags.append("disk limit")
                report.notes.append(Msg(f"写入的文件超过 {limits.job_bytes >> 20} MiB（或文件过多），进程已被终止",
                                        f"wrote more than {limits.job_bytes >> 20} MiB (or too many files); "
                                        "the process was stopped"))
            remaining = [p for p in remaining if p.function not in results]
            if not remaining and not waiting:
                break
            if run.overran == sandbox.BUDGET:
                out_of_time = True
                break
            started = progress.problems_started()
            culprit = next((p for p in remaining if p.function in started), None)
            if culprit is not None:
                results[culprit.function] = _blame(culprit, run.overran, limits)
                remaining.remove(culprit)
                continue
            hung = progress.unfinished_cell()
            if hung is None:  # died before doing anything we can blame on one cell
                break
            skip.add(hung)
            if hung in waiting:  # a classic test cell hung or ended the process: it earns nothing
                timed_out = run.overran == harness.cell_marker(hung)
                results[_key(waiting.pop(hung))] = classic.failed(tests[hung], timed_out, limits)
                continue
            report.flags.append(f"cell {hung} skipped")
            report.notes.append(Msg(f"第 {hung} 个单元格超时或使进程退出，评分时已跳过",
                                    f"cell {hung} timed out or ended the process; it was skipped for grading"))
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)
    if out_of_time:
        budget = Msg(f"整份 notebook 的评分时间（{limits.submission_seconds:g} 秒）已用完",
                     f"the time for grading the whole notebook ({limits.submission_seconds:g} s) ran out")
        report.flags.append("time budget")
        report.notes.append(budget)
        for p in remaining:
            results[p.function] = failed_problem(p, "timeout", budget)
        for index in waiting:
            results[_key(tests[index])] = classic.failed_with(tests[index], "timeout", budget)
    for p in remaining:
        results.setdefault(p.function, failed_problem(p, "crashed", Msg(
            "评测进程无法启动或提前退出", "the grading process could not start or exited early")))
    for index in waiting:
        results.setdefault(_key(tests[index]), classic.failed(tests[index], False, limits))
    report.problems = [results[p.function] for p in assignment.problems] + [results[_key(c)] for c in tests.values()]
    report.review = [f.to_dict() for f in review.scan(cells) + runtime]
    report.seconds = round(time.time() - t0, 3)
    report.phases = {k: round(v, 4) for k, v in phases.items()}
    return report


def _key(test_cell: dict) -> str:
    return "cell:" + test_cell["test"]["grade_id"]


def _refused(job_dir: Path, seal: str, assignment: Assignment) -> list[review.Finding]:
    forbidden = {p.function: p.forbidden for p in assignment.problems}
    try:
        raw = read_bounded(job_dir / harness.RESULTS / harness.REFUSED, 4 << 20)
        return review.runtime_findings(raw, seal, forbidden)
    except (OSError, ValueError):
        return []


def _read_json_list(path: Path) -> list[dict]:
    try:
        data = json.loads(read_bounded(path, 1 << 20))
        return [d for d in data if isinstance(d, dict)][:50]
    except (OSError, ValueError, RecursionError):
        return []
