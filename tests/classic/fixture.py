"""The classic test assignment ``pc1`` and its submissions, for tests/test_classic.py and the
grading benchmark (``benchmarks/grading.py --assignment pc1``)."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder import demo, notebooks
from autograder.pipeline import Course

A = "pc1"
HERE = Path(__file__).resolve().parent
NOTEBOOKS = ("functions", "written")
HONEST = ("correct", "blank", "partly")

WRONG = {  # grade_id of a solution cell -> a wrong answer
    "column_mean": 'def column_mean(path, column):\n    import csv\n    with open(path) as f:\n'
                   '        return sum(float(r[column]) for r in csv.DictReader(f))  # the sum, not the mean\n',
    "clip": "def clip(values, low, high):\n    return [min(v, high) for v in values]  # forgets low\n",
}


def escape_attempt(path: str, mode: str = "rb") -> str:
    """A solution that is right only if the student's process could open ``path``."""
    return (f"def clip(values, low, high):\n    try:\n        open({path!r}, {mode!r}).close()\n    except OSError:\n"
            f"        return []\n    return [min(max(v, low), high) for v in values]\n")


def answers_for(course: Path, kind: str) -> dict[str, dict[str, str]] | bytes | None:
    """notebook -> {grade_id: source} for each kind of submission (None: the blank release;
    bytes: a file that is not a notebook)."""
    key = {nb: demo.key_answers(HERE / "source" / A / f"{nb}.ipynb") for nb in NOTEBOOKS}
    if kind == "correct":
        return key
    if kind == "blank":
        return None
    if kind == "partly":
        return {"functions": {**key["functions"], **WRONG}, "written": {"area": key["written"]["area"]}}
    hostile = {
        "endless_loop": {"clip": "def clip(values, low, high):\n    while True:\n        pass\n"},
        "os_exit": {"column_mean": "def column_mean(path, column):\n    import os\n    os._exit(0)\n"},
        "killed_kernel": {"column_mean": "def column_mean(path, column):\n    import faulthandler\n"
                                         "    faulthandler._read_null()  # a segmentation fault kills the process\n"},
        "reads_instructor_files": {"clip": escape_attempt(str(course / "source" / A / "functions.ipynb"))},
        "writes_gradebook": {"clip": escape_attempt(str(course / "gradebook.db"), "ab")},
    }
    if kind in hostile:
        return {"functions": {**key["functions"], **hostile[kind]}, "written": key["written"]}
    if kind == "edits_tests":  # wrong answers, and every test cell emptied (nbgrader restores them)
        return {"functions": {**key["functions"], **WRONG}, "written": key["written"]}
    if kind == "not_json":
        return b'{"cells": [ not json'
    raise ValueError(kind)


def make_course(root: Path, config: str) -> Course:
    """A course at ``root`` with ``config`` as its nbgrader_config.py, pc1 released."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(config)
    shutil.copy(HERE / "autotests.yml", root)
    shutil.copytree(HERE / "source", root / "source")
    course = Course(root)
    course.release(A)
    return course


def submit(course: Course, students: dict[str, str]) -> None:
    """Write each student's submission (student -> kind) into ``submitted/``."""
    for student, kind in students.items():
        folder = course.root / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")
        answers = answers_for(course.root, kind)
        for name in NOTEBOOKS:
            if isinstance(answers, bytes):
                (folder / f"{name}.ipynb").write_bytes(answers)
                continue
            release = notebooks.read(course.root / "release" / A / f"{name}.ipynb")
            nb = demo.fill(release, answers[name]) if answers is not None else release
            if kind == "edits_tests":
                for cell in nb.cells:
                    if notebooks.is_test_cell(cell):
                        cell.source = "pass"
            nbformat.write(nb, str(folder / f"{name}.ipynb"))
