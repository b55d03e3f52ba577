"""Grades one notebook: sandboxed run, then the trusted judge / 评一份 notebook.

A problem that hangs or kills the process costs only that problem: the harness is started
again for the problems still to do (and a top-level cell that hung is skipped next time).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from nbformat import NotebookNode

from autograder import harness, judge, sandbox
from autograder.specs import Assignment, Problem, devices

POLL_SECONDS = 0.05


@dataclass
class NotebookReport:
    assignment: str
    problems: list[judge.ProblemResult]
    sandbox: list[str]
    notes: list[judge.Msg] = field(default_factory=list)
    cell_errors: list[dict] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # e.g. "output truncated", "cells repaired"
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(p.score for p in self.problems), 4)

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.problems)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and meta.get("grade", False) and not meta.get("solution", False)


def student_cells(nb: NotebookNode) -> list[dict]:
    """The code a kernel would run: every code cell except the graded test cells."""
    return [{"index": i, "source": c.source} for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and not is_test_cell(c)]


class _Job:
    """The inputs and trusted expectations for every problem, made once per notebook."""

    def __init__(self, assignment: Assignment):
        self.arrays: dict = {}
        self.plans = {p.function: judge.plan(p, self.arrays, devices()) for p in assignment.problems}

    def write(self, job_dir: Path, cells, skip, problems: list[Problem]) -> None:
        (job_dir / "progress").mkdir(parents=True)
        (job_dir / "results").mkdir()
        np.savez(job_dir / "inputs.npz", **self.arrays)
        job = {"cells": cells, "skip_cells": sorted(skip),
               "problems": [{"function": p.function, "cases": self.plans[p.function].wire} for p in problems]}
        (job_dir / "job.json").write_text(json.dumps(job))
        shutil.copy(harness.__file__, job_dir / "harness.py")

    def judge(self, problem: Problem, job_dir: Path) -> judge.ProblemResult:
        name = problem.function
        try:
            records = json.loads((job_dir / "results" / f"{name}.json").read_text())["cases"]
            with np.load(job_dir / "results" / f"{name}.npz", allow_pickle=False) as npz:
                got = {k: npz[k] for k in npz.files}
            if len(records) != len(self.plans[name].wire):
                raise ValueError("wrong number of records")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return judge.failed_problem(problem, "unreadable", judge.Msg(
                f"无法读取评测结果（{type(exc).__name__}）", f"could not read the results ({type(exc).__name__})"))
        return self.plans[name].score(records, got)


def _started(progress: Path, prefix: str) -> dict[str, float]:
    return {p.name[len(prefix):]: p.stat().st_mtime for p in progress.glob(prefix + "*")}


def _watch(proc, job_dir: Path, limits: sandbox.Limits) -> str | None:
    """Wait for the harness; kill it when the running cell or problem overruns. Returns what overran."""
    progress, results = job_dir / "progress", job_dir / "results"
    while proc.poll() is None:
        time.sleep(POLL_SECONDS)
        now = time.time()
        for name, t0 in _started(progress, "problem_").items():
            if not (results / f"{name}.json").exists() and now - t0 > limits.problem_seconds:
                sandbox.kill(proc)
                return f"problem_{name}"
        cells = _started(progress, "cell_")
        for name, t0 in cells.items():
            if not name.endswith(".done") and f"{name}.done" not in cells and now - t0 > limits.cell_seconds:
                sandbox.kill(proc)
                return f"cell_{name}"
    sandbox.kill(proc)  # reap anything left in its process group
    return None


def grade_notebook(nb: NotebookNode, assignment: Assignment,
                   limits: sandbox.Limits = sandbox.Limits(), work_dir: str | None = None) -> NotebookReport:
    """Grade one notebook; job folders go under ``work_dir`` (default: the system's temp)."""
    t0 = time.time()
    job = _Job(assignment)
    cells = student_cells(nb)
    report = NotebookReport(assignment.name, [], sandbox.mechanisms())
    results: dict[str, judge.ProblemResult] = {}
    remaining, skip = list(assignment.problems), set()
    for _attempt in range(len(remaining) + len(cells) + 1):
        job_dir = Path(tempfile.mkdtemp(prefix="grade-", dir=work_dir))
        try:
            job.write(job_dir, cells, skip, remaining)
            proc = sandbox.start(job_dir, job_dir / "harness.py", limits)
            overran = _watch(proc, job_dir, limits)
            for p in remaining:
                if (job_dir / "results" / f"{p.function}.json").exists():
                    results[p.function] = job.judge(p, job_dir)
            for errs in job_dir.glob("cell_errors_*.json"):
                report.cell_errors = _read_json_list(errs)
            if (job_dir / "progress" / "output_truncated").exists() and "output truncated" not in report.flags:
                report.flags.append("output truncated")
                report.notes.append(judge.Msg(
                    f"输出超过 {harness.OUTPUT_LIMIT >> 20} MiB，超出部分已丢弃",
                    f"output exceeded {harness.OUTPUT_LIMIT >> 20} MiB; the rest was dropped"))
            remaining = [p for p in remaining if p.function not in results]
            if not remaining:
                break
            started = _started(job_dir / "progress", "problem_")
            culprit = next((p for p in remaining if p.function in started), None)
            if culprit is not None:
                timed_out = overran == f"problem_{culprit.function}"
                results[culprit.function] = judge.failed_problem(
                    culprit, "timeout" if timed_out else "crashed",
                    judge.Msg(f"超过时间限制（{limits.problem_seconds:g} 秒）", f"exceeded the time limit ({limits.problem_seconds:g} s)")
                    if timed_out else judge.Msg("运行时进程意外退出（例如调用了 sys.exit/os._exit，或内存耗尽）",
                                                "the process exited while running it (e.g. sys.exit/os._exit, or out of memory)"))
                remaining.remove(culprit)
                continue
            hung = _unfinished_cell(job_dir / "progress")
            if hung is None:  # died before doing anything we can blame on one cell
                break
            skip.add(hung)
            report.flags.append(f"cell {hung} skipped")
            report.notes.append(judge.Msg(f"第 {hung} 个单元格超时或使进程退出，评分时已跳过",
                                          f"cell {hung} timed out or ended the process; it was skipped for grading"))
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)
    for p in remaining:
        results[p.function] = judge.failed_problem(p, "crashed", judge.Msg(
            "评测进程无法启动或提前退出", "the grading process could not start or exited early"))
    report.problems = [results[p.function] for p in assignment.problems]
    report.seconds = round(time.time() - t0, 3)
    return report


def _unfinished_cell(progress: Path) -> int | None:
    started = _started(progress, "cell_")
    for name in sorted(started, key=lambda n: int(n.split(".")[0])):
        if not name.endswith(".done") and f"{name}.done" not in started:
            return int(name)
    return None


def _read_json_list(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text())
        return [d for d in data if isinstance(d, dict)][:50]
    except (OSError, ValueError):
        return []
