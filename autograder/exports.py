"""Grade exports beside the wide CSV / 成绩导出: a long CSV, and gradebook CSVs for Canvas and Moodle.

All read :meth:`autograder.pipeline.Course.scores` (the gradebook), so they agree with the wide CSV and
the summary; the late penalty nbgrader's ``AssignLatePenalties`` recorded is in each of them.

``grades_<assignment>_long.csv``: one row per student and graded cell (tidy data), plus one
``late_penalty`` row per submission, so the scores of a student's rows add up to the final score::

    student,assignment,problem,score,max,status
    s0001,a01_tensors,test_linspace,2.0,2.0,ok
    s0001,a01_tensors,late_penalty,-7.5,0,late

``status`` is the grader's status of that problem (ok, wrong, forbidden, unanswered, timeout, crashed, ...),
``manual`` (waiting for the formgrader) or ``graded by hand`` for written answers, ``unreadable`` for a
file that could not be read, ``no submission`` for a roster student who submitted nothing (a 0), and
``on time`` / ``late`` on the ``late_penalty`` row.

``canvas_<assignment>.csv``: Canvas's Gradebook import (*Grades → Import*), the layout of Canvas's own
export. Columns ``Student`` ("Last, First"), ``ID`` (Canvas's user id: empty, Canvas matches on the SIS
columns instead), ``SIS User ID`` (nbgrader's ``lms_user_id`` where the roster gave one, else the nbgrader
id), ``SIS Login ID`` (the nbgrader id, which is the login on a JupyterHub that uses the campus login),
``Section`` (empty), then one column named after the assignment holding the final score (late penalty
applied). The second row, ``Points Possible``, gives the maximum: Canvas reads it when the import creates
the assignment. Canvas has no column for a penalty; it is already taken off the score.

``moodle_<assignment>.csv``: Moodle's *Grades → Import → CSV file*. Map ``Username`` (or ``Email address``,
or ``ID number``) to the user, ``<assignment>`` to the grade item, and ``<assignment> feedback`` to that
item's feedback: it says the raw score and the late penalty where there is one. Moodle ignores unmapped
columns (``First name``, ``Last name``). The grade item's maximum must be the assignment's maximum.

Students without a submission are in both LMS files with 0, so the LMS does not keep an old score.
"""
from __future__ import annotations

import csv
from pathlib import Path

LONG_FIELDS = ("student", "assignment", "problem", "score", "max", "status")
CANVAS_FIELDS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_FIELDS = ("Username", "ID number", "Email address", "First name", "Last name")


def _number(x: float) -> str:
    return f"{round(float(x), 4):g}"


def long_rows(course, assignment: str, rows: list[dict] | None = None, book: dict | None = None) -> list[dict]:
    """One row per (student, graded cell), and a ``late_penalty`` row per submission."""
    from autograder.pipeline import NO_SUBMISSION
    rows, book = _inputs(course, assignment, rows, book)
    store = course.reports()
    out = []
    for row in rows:
        sid = row["student"]
        submitted = row["status"] != NO_SUBMISSION
        reports = store.read(assignment, sid) if submitted else []
        unreadable = any(r.unreadable is not None for r in reports)
        problem_status = {p.grade_id: p.status for r in reports for p in r.problems if p.grade_id}
        grades = book["grades"].get(sid, {})
        for name in book["cells"]:
            g = grades.get(name, {})
            if not submitted:
                status = NO_SUBMISSION
            elif unreadable:
                status = "unreadable"
            elif name in problem_status:
                status = problem_status[name]
            else:  # a cell the grader does not score: a written answer or a task
                status = "graded by hand" if g.get("by_hand") else "manual"
            out.append({"student": sid, "assignment": assignment, "problem": name,
                        "score": _number(row.get(name) or 0.0), "max": _number(g.get("max_score", _cell_max(book, name))),
                        "status": status})
        if submitted:
            penalty = row.get("late_penalty", 0.0)
            late = book["submissions"].get(sid, {}).get("late", False)
            out.append({"student": sid, "assignment": assignment, "problem": "late_penalty",
                        "score": _number(-penalty) if penalty else "0", "max": "0",
                        "status": "late" if penalty or late else "on time"})
    return out


def _inputs(course, assignment: str, rows: list[dict] | None, book: dict | None) -> tuple[list[dict], dict]:
    """The gradebook's rows and table, read now unless the caller (``Course.export_all``) has them."""
    return (course.scores(assignment) if rows is None else rows,
            course.gradebook_table(assignment) if book is None else book)


def _cell_max(book: dict, name: str) -> float:
    return next((g[name]["max_score"] for g in book["grades"].values() if name in g), 0.0)


def write_long(course, assignment: str, path: Path, rows=None, book=None) -> Path:
    rows = long_rows(course, assignment, rows, book)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=LONG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _people(book: dict) -> dict:
    return {s.id: {"first": s.first_name or "", "last": s.last_name or "", "email": s.email or "",
                   "lms": s.lms_user_id or ""} for s in book["students"]}


def write_canvas(course, assignment: str, path: Path, rows=None, book=None) -> Path:
    """Canvas's gradebook import layout (see the module docstring for the column mapping)."""
    rows, book = _inputs(course, assignment, rows, book)
    people = _people(book)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CANVAS_FIELDS + (assignment,))
        writer.writerow(("    Points Possible", "", "", "", "") + (_number(book["max_score"]),))
        for r in rows:
            p = people.get(r["student"], {})
            student = ", ".join(x for x in (p.get("last"), p.get("first")) if x) or r["student"]
            writer.writerow((student, "", p.get("lms") or r["student"], r["student"], "", _number(r["score"])))
    return path


def write_moodle(course, assignment: str, path: Path, rows=None, book=None) -> Path:
    """Moodle's CSV grade import (see the module docstring for the column mapping)."""
    from autograder.pipeline import NO_SUBMISSION
    rows, book = _inputs(course, assignment, rows, book)
    people = _people(book)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(MOODLE_FIELDS + (assignment, f"{assignment} feedback"))
        for r in rows:
            p = people.get(r["student"], {})
            if r["status"] == NO_SUBMISSION:
                note = "未提交 / no submission"
            elif r.get("late_penalty"):
                note = (f"原始得分 {_number(r['raw_score'])}，迟交扣 {_number(r['late_penalty'])} 分 / "
                        f"raw score {_number(r['raw_score'])}, late penalty {_number(r['late_penalty'])}")
            else:
                note = ""
            writer.writerow((r["student"], p.get("lms", ""), p.get("email", ""), p.get("first", ""), p.get("last", ""),
                             _number(r["score"]), note))
    return path


def write_all(course, assignment: str, out_dir: Path, rows=None, book=None) -> dict[str, Path]:
    """The long CSV and the Canvas and Moodle CSVs into ``out_dir``; returns name -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, book = _inputs(course, assignment, rows, book)
    return {"long": write_long(course, assignment, out_dir / f"grades_{assignment}_long.csv", rows, book),
            "canvas": write_canvas(course, assignment, out_dir / f"canvas_{assignment}.csv", rows, book),
            "moodle": write_moodle(course, assignment, out_dir / f"moodle_{assignment}.csv", rows, book)}
