"""Sample submissions for the demo and the pipeline tests / 演示与测试用的示例提交.

Four students: ``ada`` answers everything correctly, ``bo`` gets some problems wrong (one by
calling a forbidden torch function under another name), ``chen`` submits the blank release,
and ``dee`` submits a file that is not valid JSON.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder import notebooks, samples

# problem -> which wrong variant (autograder.samples) the "partly wrong" student submits;
# other assignments: the first variant of their first three problems
PARTLY_WRONG = {"a01_tensors": {"shared_from_numpy": 0, "linspace": 0, "nbytes": 1}}


def fill(release_nb, answers: dict[str, str]):
    """A copy of the release with the given solution cells (by grade_id) filled in."""
    nb = nbformat.from_dict(release_nb)
    for cell in nb.cells:
        grade_id = notebooks.nbgrader_meta(cell).get("grade_id")
        if notebooks.is_answer(cell) and grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def key_answers(master_path: Path) -> dict[str, str]:
    return notebooks.solutions_by_grade_id(notebooks.read(master_path))


def wrong_answers(assignment: str) -> dict[str, str]:
    table = samples.wrong(assignment)
    choice = PARTLY_WRONG.get(assignment) or {p: 0 for p in list(table)[:3]}
    return {f"sol_{p}": table[p][i][0] for p, i in choice.items()}


def make_submissions(course_root: Path, assignment: str) -> dict[str, str]:
    """Write the four sample submissions into ``submitted/``; return student -> description."""
    release = course_root / "release" / assignment
    made = {}
    for master in notebooks.masters(course_root / "source"):
        if master.parent.name != assignment:
            continue
        release_nb = notebooks.read(release / master.name)
        key = key_answers(master)
        versions = {
            "ada": ("correct / 全对", fill(release_nb, key)),
            "bo": ("partly wrong / 部分错误", fill(release_nb, {**key, **wrong_answers(assignment)})),
            "chen": ("blank release / 未作答", release_nb),
            "dee": ("not valid JSON / 不是合法 JSON", None),
        }
        for student, (what, nb) in versions.items():
            folder = course_root / "submitted" / student / assignment
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            target = folder / master.name
            if nb is None:
                target.write_text('{"cells": [ this is not json', encoding="utf-8")
            else:
                nbformat.write(nb, str(target))
            (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")
            made[student] = what
    return made
