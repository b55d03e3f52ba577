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


# ---------------------------------------------------------------- a synthetic class

# What one student of a synthetic class does with one problem: the answer key, a wrong variant from
# autograder.samples, or the release's placeholder; a few students do something the grader must cope
# with. Each answer is a real solution cell, graded for real: nothing about the scores is made up.
ENDLESS = "def {name}(*args, **kwargs):\n    while True:  # never returns: a timeout\n        pass\n"
EXITS = "def {name}(*args, **kwargs):\n    import sys\n    sys.exit(1)  # the process dies: crashed\n"
QUOTES_INPUTS = ("def {name}(*args, **kwargs):\n"
                 "    raise ValueError('my inputs were ' + repr(args))  # quotes hidden inputs in its message\n")
FLAGGED = "\nimport inspect  # never needed by an answer: flagged for review\n"


def _function_name(source: str) -> str | None:
    import ast
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return next((n.name for n in tree.body if isinstance(n, ast.FunctionDef)), None)


def _takes_hidden_arrays(assignment: str, problems: list[str]) -> str | None:
    """The first problem with a hidden case whose inputs are float arrays (their values are secret)."""
    import numpy as np

    from autograder import specs
    spec = specs.load(assignment, missing_ok=True)
    for p in spec.problems:
        if p.function in problems and any(
                not c.visible and any(np.issubdtype(getattr(a, "data", np.zeros(0, int)).dtype, np.floating)
                                      and getattr(a, "data").size > 1 for a in c.args) for c in p.cases):
            return p.function
    return problems[0] if problems else None


def make_class(course_root: Path, assignment: str, n: int, seed: int = 14, due: str = "2026-11-20 12:00:00",
               late_share: float = 0.04) -> dict[str, dict]:
    """Write ``n`` synthetic submissions (students ``s0001`` ...) into ``submitted/``.

    Each student has an ability; per problem they submit the answer key, one of the assignment's wrong
    samples (:mod:`autograder.samples`) or nothing (the release's placeholder). Fixed shares of the class
    also submit a file that is not JSON, an endless loop (timeout), a function that exits (crashed), a
    function that quotes its (hidden) inputs in its error message, a correct answer with code the review
    flags, or submit after ``due`` (``late_share``). Returns student -> profile: ``{"kind", "answers":
    {problem: "key" | "wrong:<i>" | "blank" | special}, "late"}``. Deterministic for a seed.
    """
    import random

    rng = random.Random(seed)
    release = course_root / "release" / assignment
    wrong = samples.wrong(assignment)
    profiles: dict[str, dict] = {}
    on_time = due.replace("12:00:00", "09:30:00") if "12:00:00" in due else due
    late_time = due.replace("12:00:00", "18:45:00") if "12:00:00" in due else due
    for master in notebooks.masters(course_root / "source"):
        if master.parent.name != assignment:
            continue
        release_nb = notebooks.read(release / master.name)
        key = key_answers(master)
        problems = [gid[len("sol_"):] for gid in key if gid.startswith("sol_") and gid[len("sol_"):] in wrong]
        hardness = {p: 0.3 + 1.5 * rng.random() for p in problems}  # P(right) = ability ** hardness
        leak_target = _takes_hidden_arrays(assignment, problems)
        specials = ["unreadable", "timeout", "crashed", "quotes_inputs", "flagged", "blank"]
        for i in range(n):
            student = f"s{i + 1:04d}"
            kind = specials[i // 2] if i < 2 * len(specials) and n >= 4 * len(specials) else "regular"
            ability = rng.betavariate(5, 2)
            answers: dict[str, str] = {}
            sources: dict[str, str] = {}
            for p in problems:
                gid = f"sol_{p}"
                roll = rng.random()
                if roll < ability ** hardness[p]:
                    answers[p], sources[gid] = "key", key[gid]
                elif roll < 1 - 0.25 * (1 - ability):  # weaker students leave more blank
                    j = rng.randrange(len(wrong[p]))
                    answers[p], sources[gid] = f"wrong:{j}", wrong[p][j][0]
                else:
                    answers[p] = "blank"
            target = leak_target if kind == "quotes_inputs" else problems[(i // 2) % len(problems)] if problems else None
            name = _function_name(key.get(f"sol_{target}", "")) if target else None
            if kind in ("timeout", "crashed", "quotes_inputs") and name:
                template = {"timeout": ENDLESS, "crashed": EXITS, "quotes_inputs": QUOTES_INPUTS}[kind]
                answers[target], sources[f"sol_{target}"] = kind, template.format(name=name)
            elif kind == "flagged" and target:
                answers[target], sources[f"sol_{target}"] = "key+flagged", key[f"sol_{target}"] + FLAGGED
            elif kind == "blank":
                answers, sources = {p: "blank" for p in problems}, {}
            late = kind == "regular" and rng.random() < late_share
            folder = course_root / "submitted" / student / assignment
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            path = folder / master.name
            if kind == "unreadable":
                path.write_text('{"cells": [ not json', encoding="utf-8")
                answers = {}
            else:
                nbformat.write(fill(release_nb, sources), str(path))
            (folder / "timestamp.txt").write_text(f"{late_time if late else on_time}.000000 UTC")
            profiles[student] = {"kind": kind, "answers": answers, "late": late}
    return profiles


# The synthetic class of the analytics tests and of the class report's screenshot: a01 (the cheapest
# assignment to grade: about 0.2 s a submission) for the whole class, a02 for part of it, one week later,
# so that the report has a trend. Late submissions get nbgrader's "zero" penalty.
CLASS_CONFIG = """
# synthetic class (autograder.demo.synthetic_course): short limits so that endless loops cost little,
# and nbgrader's late penalty on, so that the exports show it
c.TrustedExecute.problem_seconds = 3
c.TrustedExecute.cell_seconds = 5
c.LateSubmissionPlugin.penalty_method = "zero"
"""
CLASS_DUE = {"a01_tensors": "2026-11-20 12:00:00", "a02_tensor_operations": "2026-11-27 12:00:00"}
FAMILY_NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_NAMES = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平")
LATIN_NAMES = (("Ada", "Lovelace"), ("Alan", "Turing"), ("Grace", "Hopper"), ("Emmy", "Noether"), ("Kurt", "Gödel"),
               ("Sofia", "Kovalevskaya"), ("José", "Martí"), ("Zoë", "O'Neil"))


def roster_rows(students: list[str], seed: int = 14) -> list[dict]:
    """A class list for these ids: mostly Chinese names (family name in last_name), some Latin ones."""
    import random
    rng = random.Random(seed)
    rows = []
    for sid in students:
        if rng.random() < 0.8:
            first, last = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
        else:
            first, last = rng.choice(LATIN_NAMES)
        rows.append({"id": sid, "first_name": first, "last_name": last, "email": f"{sid}@example.edu"})
    return rows


def synthetic_course(root: Path, source: Path, n: int = 300, second: int = 60, seed: int = 14,
                     quiet: bool = True) -> dict:
    """A course under ``root`` (config and sources copied from ``source``), with a roster and two graded
    assignments: a01 for ``n`` students, a02 for the first ``second`` of them. Everything is graded for real
    by :meth:`Course.grade`. The roster leaves out 4 submitters and adds 5 students who never submit.
    Returns ``{"course", "profiles": {assignment: profiles}, "roster": path, "seconds": {...}}``."""
    import csv
    import time

    from autograder import roster
    from autograder.pipeline import Course
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "nbgrader_config.py", root)
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(CLASS_CONFIG)
    for a in CLASS_DUE:
        shutil.copytree(source / "source" / a, root / "source" / a)
    course = Course(root)
    seconds, profiles = {}, {}
    students = [f"s{i + 1:04d}" for i in range(n)]
    off_roster = set(students[-4:])
    path = root / "students.csv"
    rows = roster_rows([s for s in students if s not in off_roster] + [f"r{i + 1:03d}" for i in range(5)], seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "first_name", "last_name", "email"])
        writer.writeheader()
        writer.writerows(rows)
    roster.import_file(course, path)
    for a, count in (("a01_tensors", n), ("a02_tensor_operations", second)):
        if not count:
            continue
        course.release(a)
        with course.here(), course.gradebook() as gb:
            gb.update_or_create_assignment(a, duedate=CLASS_DUE[a] + " UTC")
        profiles[a] = make_class(root, a, count, seed=seed, due=CLASS_DUE[a])
        t0 = time.time()
        course.grade(a, quiet=quiet)
        seconds[f"grade {a}"] = round(time.time() - t0, 1)
    return {"course": course, "profiles": profiles, "roster": path, "seconds": seconds}
