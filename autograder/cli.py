"""Command line for instructors / 教师命令行: ``python -m autograder {release,grade,feedback,export,demo}``.

Through nbgrader's exchange / 通过交换目录: ``release-exchange`` (generate + release_assignment),
``collect`` (nbgrader collect), ``return-feedback`` (generate_feedback + release_feedback).
The class / 班级: ``roster --file students.csv`` (nbgrader's student table); ``export`` writes the grades
CSVs (wide, long, Canvas, Moodle) and the class report (HTML + PNG figures).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from autograder.engine import Template, prewarm_name
from autograder.sandbox import PATHS, UNSANDBOXED, SandboxUnavailable

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ASSIGNMENT = "a01_tensors"
# the demo's: spec problems judged outside the student's process, a classic assert-based problem
# run inside it, and a written answer left for the formgrader
DEMO_ASSIGNMENT = "a02_tensor_operations"


def shown(path: Path) -> Path:
    """A path as the user reads it: relative to the repository when it is inside it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def run_demo(out: Path, assignment: str) -> int:
    """Release, sample submissions, autograde, feedback, export: in a scratch copy of the course."""
    from autograder import demo
    from autograder.pipeline import Course, console
    t0 = time.time()
    course_root = out / "course"
    if out.exists():
        shutil.rmtree(out)
    course_root.mkdir(parents=True)
    shutil.copy(ROOT / "course" / "nbgrader_config.py", course_root)
    shutil.copytree(ROOT / "course" / "source", course_root / "source")
    course = Course(course_root)
    console.rule("1. release / 发布作业")
    console.print(f"release -> {shown(course.release(assignment))}")
    console.rule("2. sample submissions / 示例提交")
    for student, what in demo.make_submissions(course_root, assignment).items():
        console.print(f"  {student}: {what}")
    console.rule("3. autograde / 自动评分")
    try:
        outcomes = course.grade(assignment)
    except SandboxUnavailable as exc:  # the demo grades its own sample submissions: trusted input
        console.print(f"[bold red]{exc}[/bold red]\n[bold red]the demo grades only its own sample submissions, so it "
                      f"goes on WITHOUT a sandbox ({UNSANDBOXED}) / 演示只评它自己生成的示例提交，因此在没有沙箱的情况下继续[/bold red]")
        outcomes = course.grade(assignment, sandbox_path=UNSANDBOXED)
    for o in outcomes:
        if not o.ok:
            console.print(f"  [yellow]{o.student}[/yellow]: {o.reason.zh} / {o.reason.en}")
    console.rule("4. feedback / 反馈")
    if course.feedback(assignment, outcomes):
        console.print("[red]feedback failed for some students (above) / 部分学生的反馈生成失败（见上）[/red]")
    pages = sorted((course_root / "feedback").rglob("*.html"))
    for p in pages:
        console.print(f"  {shown(p)}")
    console.rule("5. export / 导出成绩")
    paths = course.export_all(assignment, out)
    for what, path in paths.items():
        console.print(f"  {what:<20} {shown(path)}")
    console.print(course.summary(assignment))
    console.print(f"class report / 全班成绩分析 (open it in a browser / 用浏览器打开): {shown(paths['report'])}")
    console.print(f"demo finished in {time.time() - t0:.1f} s / 演示完成")
    return 0


def run_roster(course, path: Path | None) -> int:
    """``make roster FILE=students.csv``: the whole file checked, then imported, or nothing written."""
    from autograder import roster
    from autograder.pipeline import console
    if path is None:
        console.print("[red]需要名单文件：make roster FILE=students.csv / a roster file is needed: "
                      "make roster FILE=students.csv[/red]")
        return 2
    try:
        result = roster.import_file(course, path)
    except roster.RosterError as exc:
        console.print(f"[red]名单没有导入，成绩册未改动 / the roster was not imported, the gradebook is unchanged "
                      f"({len(exc.problems)}):[/red]")
        for problem in exc.problems:
            console.print(f"  - {problem.zh}\n    {problem.en}")
        return 1
    console.print(f"roster / 名单 {path.name}: {len(result.created)} new / 新增, {len(result.updated)} updated / 更新, "
                  f"{len(result.unchanged)} unchanged / 未变")
    if result.not_in_file:
        console.print(f"[yellow]in the gradebook but not in this file, kept / 成绩册里有、名单里没有（保留）: "
                      f"{', '.join(result.not_in_file)}[/yellow]")
    return 0


def run_exchange_step(step: str, course, assignment: str) -> int:
    """The instructor's steps through nbgrader's exchange (c.Exchange.root in nbgrader_config.py)."""
    from autograder.exchange import ExchangeStepError, Instructor, report
    from autograder.pipeline import console
    instructor = Instructor(course)
    try:
        if step == "release-exchange":
            path = instructor.release(assignment)
            console.print(f"released to the exchange / 已发布到交换目录: {path}")
            console.print("students: Nbgrader > Assignment List > Fetch / 学生：Nbgrader > 作业列表 > 获取")
        elif step == "collect":
            students = instructor.collect(assignment)
            console.print(f"collected / 已收取 {len(students)}: {', '.join(students) or '-'}")
            console.print(f"next / 下一步: make grade ASSIGNMENT={assignment}")
        else:
            pages = instructor.return_feedback(assignment)
            console.print(f"feedback released / 反馈已发回 ({len(pages)}):")
            report(pages)
            console.print("students: Assignment List > Fetch Feedback / 学生：作业列表 > 获取反馈")
    except ExchangeStepError as exc:
        console.print(f"[red]{exc}[/red]")
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    parser.add_argument("step", choices=["release", "grade", "feedback", "export", "demo",
                                         "release-exchange", "collect", "return-feedback", "roster"])
    parser.add_argument("--assignment", default=None,
                        help=f"default: {DEFAULT_ASSIGNMENT} ({DEMO_ASSIGNMENT} for the demo)")
    parser.add_argument("--course", type=Path, default=ROOT / "course", help="course root (nbgrader_config.py)")
    parser.add_argument("--out", type=Path, default=ROOT / "out", help="where demo/export write results")
    parser.add_argument("--workers", type=int, default=None,
                        help="grade: warm workers (default: c.TrustedExecute.workers, else one per core)")
    parser.add_argument("--sandbox", choices=list(PATHS), default=None,
                        help="grade: how student code starts (default: c.TrustedExecute.sandbox, 'auto')")
    parser.add_argument("--scheduler", default=None,
                        help="grade: a Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: "
                             "c.TrustedExecute.scheduler; empty: grade on this machine)")
    parser.add_argument("--file", type=Path, default=None,
                        help="roster: the class list, a UTF-8 CSV (id,first_name,last_name,email)")
    args = parser.parse_args(argv)
    args.assignment = args.assignment or (DEMO_ASSIGNMENT if args.step == "demo" else DEFAULT_ASSIGNMENT)
    if args.step == "demo":
        return run_demo(args.out / "demo", args.assignment)
    template = None
    if args.step == "grade" and not args.scheduler:  # the workers' imports overlap with ours (nbgrader and friends)
        log = args.course / "reports" / args.assignment / "workers.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        template = Template(args.sandbox or "auto", open(log, "a", encoding="utf-8"),
                            prewarm_name((args.assignment, ["auto"]))).start_early()
    from autograder.pipeline import Course, console
    course = Course(args.course)
    if args.step in ("release-exchange", "collect", "return-feedback"):
        return run_exchange_step(args.step, course, args.assignment)
    if args.step == "roster":
        return run_roster(course, args.file)
    if args.step == "release":
        console.print(f"released to {course.release(args.assignment)}")
    elif args.step == "grade":
        try:
            outcomes = course.grade(args.assignment, workers=args.workers, sandbox_path=args.sandbox,
                                    template=template, scheduler=args.scheduler)
        except SandboxUnavailable as exc:
            console.print(f"[red]refusing to grade / 拒绝评分: {exc}[/red]")
            return 2
        except Exception as exc:  # the cluster or the gradebook is unreachable: said plainly, nothing lost
            from autograder.batch import GradebookUnavailable
            from autograder.distributed import SchedulerUnreachable
            if not isinstance(exc, (SchedulerUnreachable, GradebookUnavailable)):
                raise
            console.print(f"[red]{exc}[/red]")
            return 3
        except KeyboardInterrupt:
            console.print("[yellow]grading interrupted: every submission recorded so far is kept, the ones in "
                          "progress were not recorded; run `make grade` again to finish / 评分已中断：已记录的成绩保留，"
                          "正在评的提交没有记录，再运行一次 make grade 即可继续[/yellow]")
            return 130
        for o in outcomes:
            if not o.ok:
                console.print(f"[yellow]{o.student}[/yellow]: {o.reason.zh} / {o.reason.en}")
        console.print(course.summary(args.assignment))
    elif args.step == "feedback":
        from autograder.pipeline import Outcome
        if course.feedback(args.assignment, [Outcome(s, True) for s in course.submitted(args.assignment)
                                             if course.unreadable_reason(args.assignment, s) is None]):
            return 1
    elif args.step == "export":
        t0 = time.time()
        try:
            paths = course.export_all(args.assignment, args.out)
        except ValueError as exc:  # the assignment is not in the gradebook: nothing to report on
            console.print(f"[red]{exc}[/red]")
            return 1
        for what, path in paths.items():
            console.print(f"  {what:<20} {shown(path)}")
        console.print(f"class report / 全班成绩分析: {shown(paths['report'])} ({time.time() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
