"""Command line for instructors / 教师命令行: ``python -m autograder {release,grade,feedback,export,demo}``."""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from autograder import demo, sandbox
from autograder.pipeline import Course, console

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ASSIGNMENT = "a01_tensors"


def run_demo(out: Path, assignment: str) -> int:
    """Release, sample submissions, autograde, feedback, export: in a scratch copy of the course."""
    t0 = time.time()
    course_root = out / "course"
    if out.exists():
        shutil.rmtree(out)
    course_root.mkdir(parents=True)
    shutil.copy(ROOT / "course" / "nbgrader_config.py", course_root)
    shutil.copytree(ROOT / "course" / "source", course_root / "source")
    course = Course(course_root)
    console.rule("1. release / 发布作业")
    console.print(f"release -> {course.release(assignment).relative_to(ROOT)}")
    console.rule("2. sample submissions / 示例提交")
    for student, what in demo.make_submissions(course_root, assignment).items():
        console.print(f"  {student}: {what}")
    console.rule("3. autograde / 自动评分")
    console.print("sandbox / 沙箱: " + "; ".join(sandbox.mechanisms()))
    outcomes = course.grade(assignment)
    for o in outcomes:
        if not o.ok:
            console.print(f"  [yellow]{o.student}[/yellow]: {o.reason.zh} / {o.reason.en}")
    console.rule("4. feedback / 反馈")
    course.feedback(assignment, outcomes)
    pages = sorted((course_root / "feedback").rglob("*.html"))
    for p in pages:
        console.print(f"  {p.relative_to(ROOT)}")
    console.rule("5. export / 导出成绩")
    csv_path, png_path = course.export(assignment, out)
    console.print(f"  {csv_path.relative_to(ROOT)}\n  {png_path.relative_to(ROOT)}")
    console.print(course.summary(assignment))
    console.print(f"demo finished in {time.time() - t0:.1f} s / 演示完成")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    parser.add_argument("step", choices=["release", "grade", "feedback", "export", "demo"])
    parser.add_argument("--assignment", default=DEFAULT_ASSIGNMENT)
    parser.add_argument("--course", type=Path, default=ROOT / "course", help="course root (nbgrader_config.py)")
    parser.add_argument("--out", type=Path, default=ROOT / "out", help="where demo/export write results")
    args = parser.parse_args(argv)
    if args.step == "demo":
        return run_demo(args.out / "demo", args.assignment)
    course = Course(args.course)
    if args.step == "release":
        console.print(f"released to {course.release(args.assignment)}")
    elif args.step == "grade":
        outcomes = course.grade(args.assignment)
        for o in outcomes:
            if not o.ok:
                console.print(f"[yellow]{o.student}[/yellow]: {o.reason.zh} / {o.reason.en}")
        console.print(course.summary(args.assignment))
    elif args.step == "feedback":
        from autograder.pipeline import Outcome
        course.feedback(args.assignment, [Outcome(s, True) for s in course.submitted(args.assignment)
                                          if course.unreadable_reason(args.assignment, s) is None])
    elif args.step == "export":
        for path in course.export(args.assignment, args.out):
            console.print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
