"""Seconds per submission: our trusted grader vs stock ``nbgrader autograde`` / 评分耗时对比.

    .venv/bin/python benchmarks/grading.py [ASSIGNMENT] [--repeat N]

Both grade the same demo submissions (correct, partly wrong, blank) in scratch copies of the
course. "stock" is nbgrader 0.9.6 with its default preprocessors: the student's own kernel runs
the notebook and the hidden tests (fast, but the student's code can change what the tests see).
"trusted" is this course's configuration: sandboxed harness, judge outside, repaired cells.
It prints figures; it asserts nothing.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import demo, sandbox  # noqa: E402
from autograder.pipeline import Course  # noqa: E402

STOCK = '''
import os
HERE = os.path.dirname(os.path.abspath(__file__))
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "benchmark"
c.CourseDirectory.root = HERE
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.md"]
'''
STUDENTS = ["ada", "bo", "chen"]  # dee's file is not JSON: no grading to time


def course(kind: str, assignment: str) -> Course:
    root = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    if kind == "stock":
        (root / "nbgrader_config.py").write_text(STOCK)
    else:
        shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course" / "source" / assignment, root / "source" / assignment)
    c = Course(root)
    c.release(assignment)
    demo.make_submissions(root, assignment)
    return c


def time_grading(c: Course, assignment: str, repeat: int) -> dict[str, float]:
    seconds = {}
    for student in STUDENTS:
        runs = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            c._grade_one(assignment, student)
            runs.append(time.perf_counter() - t0)
        seconds[student] = statistics.median(runs)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("assignment", nargs="?", default="a01_tensors")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    print(f"sandbox: {'; '.join(sandbox.mechanisms())}")
    table = {}
    for kind in ("stock", "trusted"):
        c = course(kind, args.assignment)
        table[kind] = time_grading(c, args.assignment, args.repeat)
        scores = {r["student"]: r["score"] for r in c.scores(args.assignment)}
        print(f"{kind:8s} scores: {scores}")
        shutil.rmtree(c.root, ignore_errors=True)
    print(f"\n{args.assignment}: seconds per submission (median of {args.repeat})")
    print(f"{'student':10s} {'stock':>8s} {'trusted':>8s} {'ratio':>6s}")
    for s in STUDENTS:
        a, b = table["stock"][s], table["trusted"][s]
        print(f"{s:10s} {a:8.2f} {b:8.2f} {b / a:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
