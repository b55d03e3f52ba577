"""The instructor's pipeline on nbgrader / 基于 nbgrader 的教师流程: release, grade, feedback, export.

Every step goes through nbgrader's own API and gradebook; what we add is per-student failure
handling (a broken submission gets a clear bilingual reason and zeros, the batch goes on, no
stale score survives), progress bars, a summary table, a grades CSV and a plot.
"""
from __future__ import annotations

import csv
import html
import json
import os
import stat
import statistics
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.reader import NotJSONError
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.apps.api import temp_attrs
from nbgrader.coursedir import CourseDirectory
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn, track)
from rich.table import Table
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader

from autograder.batch import Batch, BatchAutograde, GradebookUnavailable, with_gradebook
from autograder.bookkeeping import batch_bookkeeping
from autograder.engine import LocalEngine
from autograder.preprocessors import TrustedExecute, is_autograded
from autograder.results import Msg, NotebookReport, ReportStore
from autograder.sandbox import UNSANDBOXED

console = Console()
warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's gradebook is noisy, not wrong


NOTEBOOK_LIMIT = 32 << 20  # bytes: a larger submitted notebook is not read at all


@dataclass
class Outcome:
    student: str
    ok: bool
    reason: Msg | None = None


class Course:
    """A course root holding ``nbgrader_config.py``; nbgrader runs with it as working directory."""

    def __init__(self, root: Path):
        # nbgrader runs `alembic` and `jupyter` by name: make our environment's scripts findable
        scripts = str(Path(sys.executable).parent)
        if scripts not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
        self.root = Path(root).resolve()
        self.config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        self.coursedir = CourseDirectory(config=self.config)
        self.api = NbGraderAPI(coursedir=self.coursedir, config=self.config)

    @contextmanager
    def here(self):
        old = os.getcwd()
        os.chdir(self.root)
        try:
            yield
        finally:
            os.chdir(old)

    def gradebook(self) -> Gradebook:
        return Gradebook(self.coursedir.db_url, self.coursedir.course_id)

    def notebook_names(self, assignment: str) -> list[str]:
        return sorted(p.stem for p in (self.root / "source" / assignment).glob("*.ipynb"))

    def submitted(self, assignment: str) -> list[str]:
        base = self.root / "submitted"
        return sorted(p.parent.name for p in base.glob(f"*/{assignment}") if p.is_dir())

    # ------------------------------------------------------------------ steps

    def release(self, assignment: str) -> Path:
        with self.here(), self.gradebook() as gb:
            gb.update_or_create_assignment(assignment)
        with self.here():
            result = self.api.generate_assignment(assignment, force=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment failed / 生成作业失败:\n{result['log']}")
        return self.root / "release" / assignment

    def settings(self):
        """The grading settings of nbgrader_config.py (``c.TrustedExecute.*``)."""
        if not hasattr(self, "_settings"):
            self._settings = TrustedExecute(config=self.config)
        return self._settings

    def reports(self) -> ReportStore:
        report_dir = Path(self.settings().report_dir)
        return ReportStore(report_dir if report_dir.is_absolute() else self.root / report_dir)

    def grade(self, assignment: str, students: list[str] | None = None, workers: int | None = None,
              sandbox_path: str | None = None, quiet: bool = False, template=None,
              scheduler: str | None = None) -> list[Outcome]:
        """Autograde a batch on a pool of warm workers (or on the Dask cluster at ``scheduler``);
        one outcome per student, in order."""
        students = students if students is not None else self.submitted(assignment)
        settings = self.settings()
        devices = settings.grading_devices()
        workers = workers or settings.workers or os.cpu_count() or 1
        workers = max(1, min(workers, len(students) or 1))
        outcomes: dict[str, Outcome] = {}
        if settings.work_dir:
            Path(settings.work_dir).mkdir(parents=True, exist_ok=True)
        log = self.reports().root / assignment / "workers.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.time()
        scheduler = scheduler or settings.scheduler
        with self.here():
            if scheduler:  # refuses here (SchedulerUnreachable), before anything is written
                from autograder.distributed import DaskEngine
                if template is not None:
                    template.stop()
                engine = DaskEngine(scheduler, sandbox_path or settings.sandbox, prewarm=(assignment, devices))
                devices = engine.devices
            else:
                engine = LocalEngine(workers, sandbox_path or settings.sandbox, log,  # warms up meanwhile
                                     prewarm=(assignment, devices), template=template)
            try:
                info = engine.info()  # refuses here, before anything is written, if the path is unavailable
                workers = len(info["workers"]) if scheduler else workers
                def create_students():  # every student exists before the fan-out, created once
                    with self.gradebook() as gb:
                        for student in students:
                            gb.update_or_create_student(student)
                with_gradebook(create_students, "the students / 学生名单")
                if not quiet:
                    self._announce(info, workers, devices)
                with temp_attrs(self.coursedir, assignment_id=assignment, student_id="*"), batch_bookkeeping():
                    app = BatchAutograde(coursedir=self.coursedir, parent=self.api)
                    app.force, app.create_student = True, True
                    with self._progress(assignment, len(students), quiet) as tick:
                        def finished(student, reason: Msg | None = None):
                            if reason is not None:
                                with_gradebook(lambda: self._record_failure(assignment, student, reason), student)
                            outcomes[student] = Outcome(student, reason is None, reason)
                            tick()

                        def failed(student, error):
                            console.print(f"[red]{student}[/red]: {error}")
                            finished(student, Msg("自动评分出错，本次提交记为 0 分，请联系老师",
                                                  "autograding failed; this submission is recorded as zero, "
                                                  "please contact your instructor"))
                        settings_for_jobs = {"limits": settings.limits(), "devices": devices,
                                             "work_dir": settings.work_dir or None}
                        batch = Batch(app, engine, assignment, settings_for_jobs, finished, failed)
                        for student in students:
                            reason = self.unreadable_reason(assignment, student)
                            if reason is not None:
                                finished(student, reason)
                            else:
                                batch.add(student)
                        batch.collect()
            except (KeyboardInterrupt, GradebookUnavailable):  # stop at once; those in progress stay unrecorded
                engine.abort()
                raise
            finally:
                engine.close()
        summary = {"assignment": assignment, "students": len(students), "workers": workers,
                   "sandbox_path": info["path"], "mechanisms": info["mechanisms"],
                   "devices": devices, "scheduler": scheduler or None,
                   "warm_seconds": engine.warm_seconds,
                   "seconds": round(time.time() - t0, 3), "prepare_seconds": round(batch.seconds["prepare"], 3),
                   "record_seconds": round(batch.seconds["record"], 3)}
        (log.parent / "batch.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
        return [outcomes[s] for s in students]

    def _announce(self, info: dict, workers: int, devices: list[str]) -> None:
        path = info["path"]
        if info.get("scheduler"):
            console.print(f"Dask cluster / Dask 集群 {info['scheduler']}: {workers} worker(s), one warm grader each / "
                          f"{workers} 个工作进程，各有一个预热评分进程; the gradebook is written here / 成绩由本机写入")
        if path == "fork":
            console.print(f"sandbox / 沙箱: fork from {workers} warm worker(s) / 由 {workers} 个预热进程 fork")
        elif path == UNSANDBOXED:
            console.print(f"[bold red]NO SANDBOX / 没有沙箱 ({UNSANDBOXED}): student code runs as this user; only for "
                          "submissions you trust completely / 学生代码以当前用户身份运行，只能用于完全可信的提交[/bold red]")
        else:
            console.print(f"[yellow]sandbox / 沙箱: bubblewrap per run, SLOWER (fork path unavailable: "
                          f"{info.get('why_not_fork')}) / 每次运行新启动 bubblewrap，较慢[/yellow]")
        for m in info["mechanisms"]:
            console.print(f"  - {m}")
        if devices == ["auto"]:
            console.print("devices / 设备: auto: CPU, plus CUDA on a worker that has it (recorded in each report) / "
                          "自动：CPU，工作进程有 CUDA 时也在 CUDA 上评分（记录在每份报告中）")
        else:
            console.print(f"devices / 设备: {', '.join(devices)}")

    @contextmanager
    def _progress(self, assignment: str, total: int, quiet: bool):
        columns = [TextColumn("autograde {task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
        started = time.time()
        with Progress(*columns, console=console, disable=quiet) as progress:
            task = progress.add_task(assignment, total=total, rate="")

            def tick():
                progress.advance(task)
                done = progress.tasks[0].completed
                progress.update(task, rate=f"{done / max(time.time() - started, 1e-9):.2f}/s")
            yield tick

    def unreadable_reason(self, assignment: str, student: str) -> Msg | None:
        """Why the submission cannot be graded at all, or None when it can."""
        folder = self.root / "submitted" / student / assignment
        for name in self.notebook_names(assignment):
            path = folder / f"{name}.ipynb"
            if not path.exists() and not path.is_symlink():
                return Msg(f"没有找到 {name}.ipynb（文件名改了或没有提交？）",
                           f"{name}.ipynb is missing (renamed, or not submitted?)")
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):  # a link (e.g. to the master notebook), a pipe, a folder
                return Msg(f"{name}.ipynb 不是普通文件（链接、管道或文件夹），不予评分",
                           f"{name}.ipynb is not a regular file (a link, a pipe or a folder) and is not graded")
            if info.st_size > NOTEBOOK_LIMIT:
                return Msg(f"{name}.ipynb 超过 {NOTEBOOK_LIMIT >> 20} MiB，不予评分",
                           f"{name}.ipynb is larger than {NOTEBOOK_LIMIT >> 20} MiB and is not graded")
            try:
                nb = nbformat.read(str(path), as_version=4)
                nbformat.validate(nb)
            except RecursionError:  # JSON nested deeper than Python's parser goes
                return Msg(f"{name}.ipynb 的 JSON 嵌套过深，无法读取", f"{name}.ipynb is nested too deeply to be read")
            except UnicodeDecodeError:
                return Msg(f"{name}.ipynb 不是 UTF-8 编码，无法读取", f"{name}.ipynb is not UTF-8 and cannot be read")
            except (ValueError, nbformat.ValidationError) as exc:
                kind = "JSON" if isinstance(exc, NotJSONError) else "notebook"
                return Msg(f"{name}.ipynb 不是合法的 {kind} 文件，无法读取", f"{name}.ipynb is not a valid {kind} file and cannot be read")
        return None

    def _record_failure(self, assignment: str, student: str, reason: Msg) -> None:
        """Zero every autograded grade of this submission in one transaction, so no old score
        looks current. Manually graded answers and tasks stay for the formgrader (pending, and a
        score the instructor already gave is kept): the code never ran, the answer is still there."""
        with self.here(), self.gradebook() as gb:
            submission = gb.update_or_create_submission(assignment, student)
            for nb in submission.notebooks:
                manual = {c.name for c in nb.notebook.solution_cells}
                for grade in nb.grades:
                    if is_autograded(grade, manual):
                        grade.auto_score = 0.0
                        grade.needs_manual_grade = False
                    elif grade.manual_score is None:
                        grade.auto_score = None
                        grade.needs_manual_grade = True
            gb.db.commit()
        store = self.reports()
        for name in self.notebook_names(assignment):
            store.write(student, name, NotebookReport(assignment, unreadable=reason))
            page = self.root / "feedback" / student / assignment / f"{name}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(ERROR_PAGE.format(title=html.escape(name), zh=html.escape(reason.zh),
                                              en=html.escape(reason.en)), encoding="utf-8")

    def feedback(self, assignment: str, outcomes: list[Outcome]) -> list[str]:
        """nbgrader's generate_feedback for each graded student; returns those it failed for
        (each said on the console), so a caller can exit non-zero instead of claiming success."""
        failed = []
        for o in track([o for o in outcomes if o.ok], description="feedback", console=console):
            with self.here():
                result = self.api.generate_feedback(assignment, o.student, force=True)
            if not result["success"]:
                failed.append(o.student)
                console.print(f"[red]feedback failed for {o.student} / 反馈生成失败[/red]: {result.get('error')}")
        return failed

    # ------------------------------------------------------------------ results

    def scores(self, assignment: str) -> list[dict]:
        """One row per student, read from the gradebook: the score after nbgrader's late penalty
        (``AssignLatePenalties``), the raw score and the penalty, the max, each test's score, and a
        status. A roster student (see :mod:`autograder.roster`) who did not submit gets a row too, a 0
        with the reason "no submission"; once a roster exists, a submitter missing from it is marked
        "not on roster"."""
        from autograder.roster import display_name, on_roster
        book = self.gradebook_table(assignment)
        has_roster = any(on_roster(s) for s in book["students"])
        rows = []
        for s in book["students"]:
            row = {"student": s.id, "name": display_name(s), "assignment": assignment}
            sub = book["submissions"].get(s.id)
            if sub is None:
                if on_roster(s):  # on the roster, nothing submitted: a zero with its reason
                    rows.append({**row, "score": 0.0, "max_score": book["max_score"], "raw_score": 0.0,
                                 "late_penalty": 0.0, "manual_pending": 0.0, **{c: 0.0 for c in book["cells"]},
                                 "status": NO_SUBMISSION})
                continue
            penalty = round(sub["late_penalty"], 4)
            row.update({"score": round(sub["score"] - penalty, 4), "max_score": sub["max_score"],
                        "raw_score": round(sub["score"], 4), "late_penalty": penalty, "manual_pending": 0.0})
            for name, g in sorted(book["grades"].get(s.id, {}).items()):
                row[name] = g["score"]
                if g["needs_manual_grade"]:  # left for the formgrader: written answers, tasks
                    row["manual_pending"] += g["max_score"]
            status = self.status(assignment, s.id)
            if sub["late"]:
                status += f"; late (-{penalty:g})" if penalty else "; late"
            if has_roster and not on_roster(s):
                status += f"; {NOT_ON_ROSTER}"
            row["status"] = status
            rows.append(row)
        return rows

    def gradebook_table(self, assignment: str) -> dict:
        """The gradebook's view of one assignment in three queries (not three per student): every student,
        each submission (score, max, late penalty, late or not) and each grade (score, max, whether it waits
        for or was given a manual grade)."""
        from nbgrader.api import Assignment, BaseCell, Grade, Student, SubmittedAssignment, SubmittedNotebook
        with self.here(), self.gradebook() as gb:
            try:
                spec = gb.find_assignment(assignment)
                cells = sorted(g.name for nb in spec.notebooks for g in nb.grade_cells)
                total, due = spec.max_score, spec.duedate
            except MissingEntry:
                cells, total, due = [], 0.0, None
            students = sorted(gb.students, key=lambda s: s.id)
            for s in students:
                gb.db.expunge(s)  # plain objects after the session closes
            submissions = {}
            query = (gb.db.query(Student.id, SubmittedAssignment.score, SubmittedAssignment.max_score,
                                 SubmittedAssignment.late_submission_penalty, SubmittedAssignment.timestamp)
                     .select_from(SubmittedAssignment).join(SubmittedAssignment.student)
                     .join(SubmittedAssignment.assignment).filter(Assignment.name == assignment))
            for sid, score, max_score, penalty, stamp in query:
                submissions[sid] = {"score": score or 0.0, "max_score": max_score, "late_penalty": penalty or 0.0,
                                    "late": bool(due is not None and stamp is not None and stamp > due)}
            grades: dict[str, dict] = {}
            query = (gb.db.query(Student.id, BaseCell.name, Grade.score, Grade.max_score, Grade.needs_manual_grade,
                                 Grade.manual_score)
                     .select_from(Grade).join(Grade.cell).join(Grade.notebook).join(SubmittedNotebook.assignment)
                     .join(SubmittedAssignment.student).join(SubmittedAssignment.assignment)
                     .filter(Assignment.name == assignment))
            for sid, name, score, max_score, pending, manual in query:
                grades.setdefault(sid, {})[name] = {"score": score, "max_score": max_score or 0.0,
                                                    "needs_manual_grade": bool(pending),
                                                    "by_hand": manual is not None}
        return {"students": students, "cells": cells, "max_score": total, "submissions": submissions,
                "grades": grades}

    def status(self, assignment: str, student: str) -> str:
        """One line per student: "ok", or what went wrong (see :meth:`ReportStore.status`)."""
        return self.reports().status(assignment, student)

    def export(self, assignment: str, out_dir: Path, rows: list[dict] | None = None) -> tuple[Path, Path]:
        """The wide grades CSV (one row per student) and the distribution plot."""
        rows = self.scores(assignment) if rows is None else rows
        out_dir.mkdir(parents=True, exist_ok=True)
        csv_path = out_dir / f"grades_{assignment}.csv"
        fields = list(dict.fromkeys(k for r in rows for k in r if k != "status")) + ["status"]
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        return csv_path, plot_scores(rows, out_dir / f"grades_{assignment}.png", assignment)

    def export_all(self, assignment: str, out_dir: Path) -> dict[str, Path]:
        """``make export``: the wide CSV and plot, the long CSV, the Canvas and Moodle gradebook CSVs
        (:mod:`autograder.exports`) and the class report with its figures (:mod:`autograder.analytics`)."""
        from autograder import analytics, exports
        rows, book = self.scores(assignment), self.gradebook_table(assignment)
        wide, png = self.export(assignment, out_dir, rows)
        paths = {"grades": wide, "plot": png, **exports.write_all(self, assignment, out_dir, rows, book)}
        report = analytics.write(self, assignment, out_dir, rows, book)
        paths.update({f"figure {k}": v for k, v in report.items() if k not in ("html", "json")})
        paths["report data"], paths["report"] = report["json"], report["html"]
        return paths

    def summary(self, assignment: str) -> Table:
        rows = self.scores(assignment)
        named = any(r["name"] for r in rows)
        table = Table(title=f"{assignment}: 成绩汇总 / grade summary")
        columns = ["student / 学生"] + (["name / 姓名"] if named else [])
        for col in columns + ["score / 得分", "max / 满分", "to grade by hand / 待批改", "status / 状态"]:
            table.add_column(col)
        for r in rows:
            pending = f"{r['manual_pending']:g}" if r["manual_pending"] else "-"
            status = r["status"].replace(NO_SUBMISSION, f"{NO_SUBMISSION} / 未提交").replace(
                NOT_ON_ROSTER, f"{NOT_ON_ROSTER} / 不在名单中")
            table.add_row(r["student"], *([r["name"]] if named else []), f"{r['score']:.2f}", f"{r['max_score']:g}",
                          pending, status)
        missing = sum(r["status"] == NO_SUBMISSION for r in rows)
        strangers = sum(r["status"].endswith(NOT_ON_ROSTER) for r in rows)
        if missing or strangers:
            table.caption = (f"{missing} 名名单上的学生未提交（记 0 分），{strangers} 份提交的学生不在名单中 / "
                             f"{missing} roster student(s) did not submit (0), {strangers} submitter(s) not on the roster")
        return table


NO_SUBMISSION = "no submission"  # the status of a roster student who did not submit
NOT_ON_ROSTER = "not on roster"
LARGE_CLASS = 30  # students: above this, the plot is a histogram instead of one bar each


def plot_scores(rows: list[dict], path: Path, assignment: str) -> Path:
    """One bar per student up to LARGE_CLASS students, a histogram with mean and median above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from autograder import analytics

    top = max([r["max_score"] for r in rows] or [1])
    if len(rows) > LARGE_CLASS:
        scores = [r["score"] for r in rows]
        edges = analytics.histogram_edges(top, len(scores))
        report = analytics.ClassReport(assignment, top, [], [], [], {}, {}, {
            "edges": edges, "counts": analytics.histogram_counts(scores, edges), "n": len(scores),
            "mean": statistics.fmean(scores), "median": statistics.median(scores)}, {})
        analytics.plot_distribution(report, path)
        return path
    with plt.rc_context(analytics.style()):
        fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(rows) + 2), 3.5))
        names = [r["student"] for r in rows]
        scores = [r["score"] for r in rows]
        bars = ax.bar(names, scores, color=["tab:green" if s == top else "tab:orange" if s > 0 else "tab:red"
                                            for s in scores])
        ax.bar_label(bars, labels=[f"{s:.2f}".rstrip("0").rstrip(".") for s in scores], padding=2)
        ax.axhline(top, color="gray", linestyle="--", linewidth=1, label=f"满分 max = {top:g}")
        ax.set_ylim(0, top * 1.1)
        ax.set_ylabel("得分 / score")
        ax.set_title(f"{assignment}：每个学生的得分 / scores per student")
        ax.legend(loc="upper right")
        if len(rows) > 8:
            ax.tick_params(axis="x", labelrotation=60, labelsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return path

ERROR_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}: 无法评分 / could not be graded</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>{title}</h1>
<p lang="zh">这份提交无法评分，记为 0 分：{zh}</p>
<p lang="en">This submission could not be graded and is recorded as zero: {en}</p>
<p>请修正后重新提交。 / Please fix it and submit again.</p>
</body></html>
"""
