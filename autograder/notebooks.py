"""Reading master notebooks: solution cells, exported cells / 读取教师版 notebook.

Shared by the answer-key generator, the demo's sample submissions and the grader, which uses
:func:`grading_cells` to pick the code it runs. Imports no torch (the coordinator never does).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution(cell) -> bool:
    """A code answer cell (the key is generated from these)."""
    return cell.cell_type == "code" and is_answer(cell)


def is_answer(cell) -> bool:
    """Any cell a student answers in: code, or a written (markdown) answer."""
    return bool(nbgrader_meta(cell).get("solution", False))


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and meta.get("grade", False) and not meta.get("solution", False)


def grading_cells(nb) -> list[dict]:
    """The code a kernel would run, in order. Each graded test cell carries its ``grade_id`` and
    points: the judge grades a test cell its spec owns from outside the student's process (and
    does not run it), and runs every other one as a classic nbgrader test, capturing its outputs."""
    out = []
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code":
            continue
        cell = {"index": i, "source": c.source}
        if nbgrader_meta(c).get("locked", False):
            cell["locked"] = True  # the instructor's (nbgrader restores it from the release)
        if is_test_cell(c):
            meta = nbgrader_meta(c)
            cell["test"] = {"grade_id": str(meta.get("grade_id", "")), "points": _points(meta)}
        out.append(cell)
    return out


def _points(meta: dict) -> float:
    try:
        return float(meta.get("points") or 0)
    except (TypeError, ValueError):
        return 0.0


def cells_digest(cells: list[dict]) -> str:
    """Names exactly the code that was graded (recorded in the report)."""
    return hashlib.sha256(json.dumps(cells, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def strip_markers(source: str) -> str:
    """The solution as a student would write it: the BEGIN/END SOLUTION lines removed."""
    return "\n".join(line for line in source.split("\n") if line.strip() not in (BEGIN, END))


def read(path: Path):
    return nbformat.read(str(path), as_version=4)


def masters(source_dir: Path) -> list[Path]:
    return sorted(source_dir.glob("*/*.ipynb"))


def solutions_by_grade_id(nb) -> dict[str, str]:
    """Every answer cell's model answer, code and written, by grade_id."""
    return {nbgrader_meta(c)["grade_id"]: strip_markers(c.source) for c in nb.cells if is_answer(c)}
