"""Helpers for writing a master notebook from a Python script / 用脚本编写教师版 notebook.

    from autograder import authoring as A
    cells = [*A.prose("# 作业 …", "# Assignment …"), A.imports("import torch"), A.setup("a04_activations")]
    cells += A.problem("relu", 1, "## 1. ReLU（1 分）…", "## 1. ReLU (1 point) …", SOLUTION_SOURCE)
    A.write("course/source/a04_activations/a04_activations.ipynb", cells, solutions_module="activations")

The notebook it writes is the source of truth; the script is a convenience, not kept in sync.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.notebooks import BEGIN, END


def _meta(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def prose(zh: str, en: str) -> list:
    """A zh cell and its en twin."""
    return [new_markdown_cell(zh.strip(), metadata={"tags": ["zh"]}),
            new_markdown_cell(en.strip(), metadata={"tags": ["en"]})]


def imports(source: str):
    """The locked import cell; also the head of the generated answer-key module."""
    meta = _meta("imports", locked=True)
    meta["tags"] = ["export"]
    return new_code_cell(source.strip(), metadata=meta)


def setup(assignment: str, extra: str = ""):
    source = f"from autograder.check import Checker\n\ntorch.manual_seed(0)\nnp.random.seed(0)\ncheck = Checker({assignment!r})"
    return new_code_cell((source + ("\n" + extra.strip() if extra else "")).strip(), metadata=_meta("setup", locked=True))


def solution(function: str, signature_and_docstring: str, body: str):
    """A solution cell: the signature and docstring students see, the body between markers."""
    indented = "\n".join(("    " + line) if line.strip() else "" for line in body.strip("\n").split("\n"))
    source = f"{signature_and_docstring.rstrip()}\n    {BEGIN}\n{indented}\n    {END}"
    return new_code_cell(source, metadata=_meta(f"sol_{function}", solution=True))


def test(function: str, points: float):
    source = (f"# 检查 / check\ncheck({function})\n### BEGIN HIDDEN TESTS\n"
              f"check({function}, hidden=True)\n### END HIDDEN TESTS")
    return new_code_cell(source, metadata=_meta(f"test_{function}", grade=True, locked=True, points=points))


def problem(function: str, points: float, zh: str, en: str, signature_and_docstring: str, body: str) -> list:
    """Prose pair, solution cell and locked test cell for one graded function."""
    return [*prose(zh, en), solution(function, signature_and_docstring, body), test(function, points)]


def closing() -> list:
    return prose(
        "## 提交之前\n\n从头到尾运行一遍（*Kernel → Restart Kernel and Run All Cells*），确认每个检查都通过，"
        "再点 *Validate* 并提交。",
        "## Before you submit\n\nRun everything from the top (*Kernel → Restart Kernel and Run All Cells*), "
        "make sure every check passes, then press *Validate* and submit.")


def write(path, cells: list, solutions_module: str) -> Path:
    nb = new_notebook(cells=cells, metadata={
        "course": {"solutions_module": solutions_module},
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
