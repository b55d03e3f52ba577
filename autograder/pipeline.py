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

from autograder.batch import Batch, BatchAutograde
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
              sandbox_path: str | None = None, quiet: bool = False, template=None) -> list[Outcome]:
        """Autograde a batch on a pool of warm workers; one outcome per student, in order."""
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
        with self.here():
            engine = LocalEngine(workers, sandbox_path or settings.sandbox, log,  # warms up meanwhile
                                 prewarm=(assignment, devices), template=template)
            try:
                info = engine.info()  # refuses here, before anything is written, if the path is unavailable
                with self.gradebook() as gb:  # every student exists before the fan-out, created once
                    for student in students:
                        gb.update_or_create_student(student)
                if not quiet:
                    self._announce(info, workers, devices)
                with temp_attrs(self.coursedir, assignment_id=assignment, student_id="*"), batch_bookkeeping():
                    app = BatchAutograde(coursedir=self.coursedir, parent=self.api)
                    app.force, app.create_student = True, True
                    with self._progress(assignment, len(students), quiet) as tick:
                        def finished(student, reason: Msg | None = None):
                            if reason is not None:
                                self._record_failure(assignment, student, reason)
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
            except KeyboardInterrupt:  # stop at once; submissions in progress stay unrecorded
                engine.abort()
                raise
            finally:
                engine.close()
        summary = {"assignment": assignment, "students": len(students), "workers": workers,
                   "sandbox_path": info["path"], "mechanisms": info["mechanisms"],
                   "devices": devices,
                   "warm_seconds": max((w.warm_seconds or 0 for w in engine.workers), default=None),
                   "seconds": round(time.time() - t0, 3), "prepare_seconds": round(batch.seconds["prepare"], 3),
                   "record_seconds": round(batch.seconds["record"], 3)}
        (log.parent / "batch.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
        return [outcomes[s] for s in students]

    def _announce(self, info: dict, workers: int, devices: list[str]) -> None:
        path = info["path"]
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

    def feedback(self, assignment: str, outcomes: list[Outcome]) -> None:
        for o in track([o for o in outcomes if o.ok], description="feedback", console=console):
            with self.here():
                result = self.api.generate_feedback(assignment, o.student, force=True)
            if not result["success"]:
                console.print(f"[red]feedback failed for {o.student}[/red]: {result.get('error')}")

    # ------------------------------------------------------------------ results

    def scores(self, assignment: str) -> list[dict]:
        """One row per student: total, max, and each test's score, read from the gradebook."""
        rows = []
        with self.here(), self.gradebook() as gb:
            for student in sorted(s.id for s in gb.students):
                try:
                    sub = gb.find_submission(assignment, student)
                except MissingEntry:
                    continue
                row = {"student": student, "assignment": assignment, "score": round(sub.score, 4),
                       "max_score": sub.max_score, "manual_pending": 0.0}
                for nb in sub.notebooks:
                    for g in sorted(nb.grades, key=lambda g: g.name):
                        row[g.name] = g.score
                        if g.needs_manual_grade:  # left for the formgrader: written answers, tasks
                            row["manual_pending"] += g.max_score
                row["status"] = self.status(assignment, student)
                rows.append(row)
        return rows

    def status(self, assignment: str, student: str) -> str:
        """One line per student: "ok", or what went wrong (see :meth:`ReportStore.status`)."""
        return self.reports().status(assignment, student)

    def export(self, assignment: str, out_dir: Path) -> tuple[Path, Path]:
        rows = self.scores(assignment)
        out_dir.mkdir(parents=True, exist_ok=True)
        csv_path = out_dir / f"grades_{assignment}.csv"
        fields = list(dict.fromkeys(k for r in rows for k in r if k != "status")) + ["status"]
        with open(csv_path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        return csv_path, plot_scores(rows, out_dir / f"grades_{assignment}.png", assignment)

    def summary(self, assignment: str) -> Table:
        table = Table(title=f"{assignment}: 成绩汇总 / grade summary")
        for col in ("student / 学生", "score / 得分", "max / 满分", "to grade by hand / 待批改", "status / 状态"):
            table.add_column(col)
        for r in self.scores(assignment):
            pending = f"{r['manual_pending']:g}" if r["manual_pending"] else "-"
            table.add_row(r["student"], f"{r['score']:.2f}", f"{r['max_score']:g}", pending, r["status"])
        return table


def plot_scores(rows: list[dict], path: Path, assignment: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = [r["student"] for r in rows]
    scores = [r["score"] for r in rows]
    top = max([r["max_score"] for r in rows] or [1])
    bars = ax.bar(names, scores, color=["tab:green" if s == top else "tab:orange" if s > 0 else "tab:red" for s in scores])
    ax.bar_label(bars, labels=[f"{s:.2f}".rstrip("0").rstrip(".") for s in scores], padding=2)
    ax.axhline(top, color="gray", linestyle="--", linewidth=1, label=f"max = {top:g}")
    ax.set_ylim(0, top * 1.1)
    ax.set_ylabel("score")
    ax.set_title(f"{assignment}: scores per student")
    ax.legend(loc="upper right")
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
