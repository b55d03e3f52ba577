"""Reading master notebooks: solution cells, exported cells / 读取教师版 notebook.

Shared by the answer-key generator and the demo's sample submissions.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution(cell) -> bool:
    return cell.cell_type == "code" and nbgrader_meta(cell).get("solution", False)


def strip_markers(source: str) -> str:
    """The solution as a student would write it: the BEGIN/END SOLUTION lines removed."""
    return "\n".join(line for line in source.split("\n") if line.strip() not in (BEGIN, END))


def read(path: Path):
    return nbformat.read(str(path), as_version=4)


def masters(source_dir: Path) -> list[Path]:
    return sorted(source_dir.glob("*/*.ipynb"))


def solutions_by_grade_id(nb) -> dict[str, str]:
    return {nbgrader_meta(c)["grade_id"]: strip_markers(c.source) for c in nb.cells if is_solution(c)}
