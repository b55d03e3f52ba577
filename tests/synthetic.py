"""A synthetic class for tests and benchmarks / 用于测试与基准的合成班级.

Submissions made from the answer key, the known-wrong samples of ``autograder.samples`` and the
blank release, in a fixed deterministic mix, written into a scratch copy of the course as
nbgrader's ``submitted/`` folder: every one is then graded for real.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder import demo, notebooks, samples
from autograder.pipeline import Course
from tests.classic import fixture as classic
from tests.conftest import STOCK_CONFIG

ROOT = Path(__file__).resolve().parent.parent

# Hostile submissions cheap enough for stock nbgrader to survive (no endless loops: a timeout
# costs both graders the same wall-clock seconds and says nothing about throughput).
HOSTILE = {
    "h_sys_exit_cell": "import sys\nsys.exit(0)\n",
    "h_os_exit_cell": "import os\nos._exit(0)\n",
    "h_output_flood": "for i in range(20000):\n    print('flood ' * 20)\n",
    "h_memory_bomb_cell": "try:\n    hog = bytearray(1 << 42)\nexcept MemoryError:\n    pass\n",
    "h_patches_torch": "import torch\ntorch.allclose = lambda *a, **k: True\ntorch.testing.assert_close = lambda *a, **k: None\n",
}


def submissions(assignment: str, n: int, hostile: int) -> dict[str, nbformat.NotebookNode]:
    """student -> notebook: the fixed mix, deterministic for a given (assignment, n)."""
    master = ROOT / "course" / "source" / assignment / f"{assignment}.ipynb"
    key = demo.key_answers(master)
    wrong = samples.wrong(assignment)
    variants = [(p, i) for p, table in wrong.items() for i in range(len(table))]
    out = {}
    for k in range(n):
        kind = k % 4
        if kind == 0:
            answers = key
        elif kind == 2:
            answers = None  # the blank release
        else:
            chosen = [variants[(k * 7 + j * 3) % len(variants)] for j in range(kind)]
            answers = {**key, **{f"sol_{p}": wrong[p][i][0] for p, i in chosen}}
        out[f"s{k:03d}"] = answers
    for name in list(HOSTILE)[:hostile]:
        out[name] = key
    return out


def write_submissions(course_root: Path, assignment: str, plan: dict) -> None:
    release = notebooks.read(course_root / "release" / assignment / f"{assignment}.ipynb")
    for student, answers in plan.items():
        nb = demo.fill(release, answers) if answers is not None else nbformat.from_dict(release)
        if student in HOSTILE:
            setup = next(i for i, c in enumerate(nb.cells) if notebooks.nbgrader_meta(c).get("grade_id") == "setup")
            nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(HOSTILE[student]))
        folder = course_root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{assignment}.ipynb"))
        (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")


def make_course(kind: str, assignment: str, plan: dict, extra_config: str = "") -> Path:
    """A scratch course holding ``plan``'s submissions, released and ready to grade: "stock"
    (nbgrader's default preprocessors) or "ours" (the course's config, plus ``extra_config``)."""
    root = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    config = STOCK_CONFIG if kind == "stock" else ((ROOT / "course" / "nbgrader_config.py").read_text()
                                                   + f"\nc.TrustedExecute.work_dir = {str(root / 'jobs')!r}\n")
    config += extra_config
    if assignment == classic.A:  # the classic test assignment: no spec, asserts, manual answers
        classic.submit(classic.make_course(root, config), plan)
        return root
    (root / "nbgrader_config.py").write_text(config)
    shutil.copytree(ROOT / "course" / "source" / assignment, root / "source" / assignment)
    Course(root).release(assignment)
    write_submissions(root, assignment, plan)
    return root
