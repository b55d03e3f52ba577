"""Reading master notebooks: solution cells, exported cells / 读取教师版 notebook.

Shared by the answer-key generator, the demo's sample submissions and the grader, which uses
:func:`student_cells` to pick the code it runs. Imports no torch (the coordinator never does).
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
    return cell.cell_type == "code" and nbgrader_meta(cell).get("solution", False)


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and meta.get("grade", False) and not meta.get("solution", False)


def student_cells(nb) -> list[dict]:
    """The code a kernel would run: every code cell except the graded test cells."""
    return [{"index": i, "source": c.source} for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and not is_test_cell(c)]


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
    return {nbgrader_meta(c)["grade_id"]: strip_markers(c.source) for c in nb.cells if is_solution(c)}
