"""Content rules: bilingual pairing, executed lessons, clean masters, consistent grade ids."""
import os
import re
import subprocess
import sys

import nbformat
import pytest

from autograder import editions, specs
from autograder.notebooks import is_test_cell
from conftest import LESSONS, MASTERS, ROOT, load_json

CJK = re.compile(r"[\u4e00-\u9fff]")
ALL = LESSONS + MASTERS


def tags(cell):
    return [t for t in cell.get("metadata", {}).get("tags", []) if t in ("zh", "en")]


def is_written_answer(cell) -> bool:
    """A student's written (markdown) answer cell: in whichever language the student writes."""
    return cell["cell_type"] == "markdown" and cell.get("metadata", {}).get("nbgrader", {}).get("solution", False)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_prose_cell_has_its_twin(path):
    """Is every markdown cell tagged zh or en, each zh directly followed by its en twin?"""
    cells = load_json(path)["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown" or is_written_answer(cell):
            continue
        assert len(tags(cell)) == 1, f"markdown cell {i} needs exactly one of the tags zh/en"
        if tags(cell) == ["zh"]:
            nxt = cells[i + 1] if i + 1 < len(cells) else {}
            assert nxt.get("cell_type") == "markdown" and tags(nxt) == ["en"], f"zh cell {i} has no en twin after it"
        else:
            assert i > 0 and tags(cells[i - 1]) == ["zh"], f"en cell {i} has no zh twin before it"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_each_language_is_written_in_that_language(path):
    """Is zh prose Chinese and en prose free of Chinese characters?"""
    for i, cell in enumerate(load_json(path)["cells"]):
        text = "".join(cell["source"])
        if tags(cell) == ["zh"]:
            assert CJK.search(text), f"zh cell {i} has no Chinese"
        elif tags(cell) == ["en"]:
            assert not CJK.search(text), f"en cell {i} contains Chinese"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lessons_ship_executed_without_errors(path):
    """Does every lesson code cell have stored outputs from a run, and no errors or stderr?"""
    for i, cell in enumerate(load_json(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        assert cell["execution_count"] is not None, f"code cell {i} was not executed"
        for out in cell["outputs"]:
            assert out["output_type"] != "error", f"code cell {i} stored an error"
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), f"code cell {i} wrote to stderr"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lessons_are_seeded(path):
    """Does each lesson seed torch before anything random?"""
    code = "".join("".join(c["source"]) for c in load_json(path)["cells"] if c["cell_type"] == "code")
    assert "torch.manual_seed(" in code


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.name)
def test_master_notebooks_have_no_outputs(path):
    """Are master notebooks stored clean (nbgrader generates the release from them)?"""
    for i, cell in enumerate(load_json(path)["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"cell {i} has outputs"


def test_grade_ids_are_unique_across_the_course():
    """Is every grade_id unique within its notebook, and every graded function within its
    answer-key module (a06-a09 all feed solutions.losses, so a clash would shadow a function)?"""
    seen = {}
    for path in MASTERS:
        nb = load_json(path)
        module = nb["metadata"].get("course", {}).get("solutions_module", path.stem)
        for cell in nb["cells"]:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid is None:
                continue
            key = f"{module}/{gid}" if gid.startswith(("test_", "sol_")) else f"{path.parent.name}/{gid}"
            assert key not in seen, f"{gid} in {path.name} also in {seen.get(key)}"
            seen[key] = path.name


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.name)
def test_test_cells_match_the_specs(path):
    """Does each graded test cell belong to a spec problem, with the spec's points, and vice versa?
    A test cell no spec owns must be a classic nbgrader test (plain asserts, no visible check),
    and every answer cell a spec problem's, a classic test's function or a written answer."""
    assignment = specs.load(path.parent.name)
    cells = load_json(path)["cells"]
    tests = {c["metadata"]["nbgrader"]["grade_id"]: c for c in cells if is_test_cell(c)}
    spec = {p.grade_id: p.points for p in assignment.problems}
    assert {g: tests[g]["metadata"]["nbgrader"]["points"] for g in tests if g in spec} == spec
    classic = {g: "".join(c["source"]) for g, c in tests.items() if g not in spec}
    for gid, source in classic.items():
        assert "assert " in source and "check(" not in source, f"{gid} is neither a spec problem nor a classic test"
    answers = {c["metadata"]["nbgrader"]["grade_id"] for c in cells
               if c.get("metadata", {}).get("nbgrader", {}).get("solution") and c["cell_type"] == "code"}
    assert answers == {f"sol_{p.function}" for p in assignment.problems} | {"sol_" + g.removeprefix("test_") for g in classic}


def test_terminology_table_exists_and_is_bilingual():
    """Is there a 术语对照 table the lessons can follow?"""
    text = (ROOT / "course" / "TERMINOLOGY.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("|") and CJK.search(line)]
    assert len(rows) >= 40
    assert any("张量" in r and "tensor" in r.lower() for r in rows)


def test_readme_course_map_links_every_lesson():
    """Does the README's course map link every lesson notebook?"""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in LESSONS:
        assert f"notebooks/{path.name}" in readme, path.name


def _sections(cells: list[dict]):
    """(heading level, heading text, cells under it) for every heading in en/untagged markdown."""
    out, heading_at = [], re.compile(r"^(#{1,6})\s+(.*)$", re.M)
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown" and tags(cell) == ["en"]:
            for m in heading_at.finditer("".join(cell["source"])):
                level, body = len(m.group(1)), []
                for later in cells[i + 1:]:
                    text = "".join(later["source"])
                    if later["cell_type"] == "markdown" and tags(later) == ["en"] and any(
                            len(h.group(1)) <= level for h in heading_at.finditer(text)):
                        break
                    body.append(later)
                out.append((level, m.group(2), body))
    return out


LOSS_LESSONS = [p for p in LESSONS if p.name.startswith("08")]


@pytest.mark.parametrize("loss", __import__("torch.nn.modules.loss", fromlist=["__all__"]).__all__)
def test_every_torch_loss_has_a_checked_section(loss):
    """Does every loss class of the installed torch have a lesson section that calls it and checks it?

    A new torch release that adds a loss fails here until a lesson covers it."""
    name = re.compile(rf"`nn\.{loss}`")
    for path in LOSS_LESSONS:
        for _level, title, body in _sections(load_json(path)["cells"]):
            if not name.search(title):
                continue
            code = ["".join(c["source"]) for c in body if c["cell_type"] == "code"]
            if any(f"nn.{loss}(" in src and "assert_close" in src for src in code):
                return
    pytest.fail(f"no 08* lesson has a section headed `nn.{loss}` with a code cell calling nn.{loss}( and assert_close")


# --- single-language editions (issue 17 §3) -------------------------------------------------


@pytest.mark.parametrize("lang", editions.LANGUAGES)
@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_edition_keeps_every_code_cell_and_one_language(path, lang):
    """Does the zh (en) edition of a lesson keep every code cell, outputs included, in order,
    every prose cell of its language, and no prose of the other language?"""
    nb = nbformat.read(str(path), as_version=4)
    ed = editions.edition(nb, lang)
    other = "en" if lang == "zh" else "zh"
    assert [c for c in ed.cells if c.cell_type == "code"] == [c for c in nb.cells if c.cell_type == "code"]
    ours = [c for c in nb.cells if c.cell_type == "markdown" and editions.language_of(c) == lang]
    assert [c for c in ed.cells if c.cell_type == "markdown"] == ours
    assert all(editions.language_of(c) != other for c in ed.cells)
    assert len(ed.cells) == len(nb.cells) - len(ours)          # each prose cell has exactly one twin
    prose = "".join("".join(c.source) for c in ed.cells if c.cell_type == "markdown")
    assert bool(CJK.search(prose)) == (lang == "zh")
    assert ed.metadata == nb.metadata


def test_editions_are_built_into_the_ignored_build_folder(tmp_path):
    """Does `python -m autograder.editions` write one notebook per lesson and language, into a
    folder git ignores (so no edition is ever committed)?"""
    out = tmp_path / "editions"
    subprocess.run([sys.executable, "-m", "autograder.editions", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    for lang in editions.LANGUAGES:
        assert sorted(p.name for p in (out / lang).glob("*.ipynb")) == [p.name for p in LESSONS]
    ignored = subprocess.run(["git", "check-ignore", "-q", str(editions.DEFAULT_OUT / "zh" / LESSONS[0].name)],
                             cwd=ROOT, check=False)
    assert ignored.returncode == 0, "build/editions/ must be gitignored"


def test_generated_editions_pass_nbval(tmp_path):
    """Do a zh edition and an en edition, generated from the sources, pass nbval strictly?
    (Two lessons only, to keep `make test` fast; `make editions` then nbval on build/editions
    checks all of them.)"""
    editions.build(out=tmp_path)
    picked = [tmp_path / "zh" / "01_tensors.ipynb", tmp_path / "en" / "04_modules.ipynb"]
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", "-q", "--nbval",
                          "--nbval-sanitize-with", str(ROOT / "notebooks" / "nbval_sanitize.cfg"),
                          *map(str, picked)], cwd=tmp_path, capture_output=True, text=True, check=False,
                         env={k: v for k, v in os.environ.items() if k != "MPLBACKEND"})  # the kernel's inline backend, as in a lesson
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout and "failed" not in run.stdout


# --- lesson <-> assignment links (issue 17 §2) -----------------------------------------------

ASSIGNMENT_NAME = re.compile(r"\*\*(a\d\d_[a-z0-9_]+)\*\*")
PROBLEM_NAME = re.compile(r"`([a-z_][a-z0-9_]*)`")
LESSON_REF = re.compile(r"notebooks/(\d\d[a-z]?_[a-z0-9_]+?)(?:\.ipynb)?\b")
ASSIGNMENTS = sorted(p.parent.name for p in MASTERS)


def lesson_links(path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """{assignment: {problems}} named by a lesson's closing zh cell and by its en cell."""
    cells = load_json(path)["cells"]
    assert len(cells) >= 2 and tags(cells[-2]) == ["zh"] and tags(cells[-1]) == ["en"], \
        f"{path.name} must end with a zh/en pair naming its assignment"
    out = []
    for cell in cells[-2:]:
        links: dict[str, set[str]] = {}
        current = None
        for line in "".join(cell["source"]).splitlines():
            named = ASSIGNMENT_NAME.findall(line)
            if named:
                current = named[0]
                links.setdefault(current, set())
                line = ASSIGNMENT_NAME.sub("", line)
            if current:
                links[current] |= set(PROBLEM_NAME.findall(line))
        out.append(links)
    return out[0], out[1]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_ends_naming_its_assignment_and_problems(path):
    """Lesson side of the links: does every lesson end with a zh/en pair headed 作业 / Assignment
    that names at least one assignment and, for each, problems that exist in that assignment's spec,
    the same in both languages?"""
    zh, en = lesson_links(path)
    cells = load_json(path)["cells"]
    assert "".join(cells[-2]["source"]).startswith("## 作业") and "".join(cells[-1]["source"]).startswith("## Assignment")
    assert en, f"{path.name}: the closing cell names no assignment (**aNN_name**)"
    assert zh == en, f"{path.name}: zh and en name different assignments/problems"
    for assignment, problems in en.items():
        assert assignment in ASSIGNMENTS, f"{path.name} names {assignment}, which is not in course/source"
        known = {p.function for p in specs.load(assignment).problems}
        assert problems, f"{path.name} names {assignment} but none of its problems"
        assert problems <= known, f"{path.name}: {sorted(problems - known)} are not problems of {assignment}"


def test_every_graded_problem_is_practised_by_a_lesson():
    """Is every problem of every assignment named by some lesson's closing cell (no orphan problems)?"""
    claimed: dict[str, set[str]] = {}
    for path in LESSONS:
        for assignment, problems in lesson_links(path)[1].items():
            claimed.setdefault(assignment, set()).update(problems)
    for assignment in ASSIGNMENTS:
        known = {p.function for p in specs.load(assignment).problems}
        missing = known - claimed.get(assignment, set())
        assert not missing, f"no lesson names {assignment}'s problems {sorted(missing)}"


@pytest.mark.parametrize("path", MASTERS, ids=lambda p: p.name)
def test_assignment_and_lessons_name_each_other(path):
    """Both ways: does every lesson an assignment names (`notebooks/NN_topic`) exist and name that
    assignment back, and does the assignment name every lesson that names it?

    Skipped for an assignment that names no lesson yet (the assignment side is written in course/source)."""
    text = "".join("".join(c["source"]) for c in load_json(path)["cells"] if c["cell_type"] == "markdown")
    named = set(LESSON_REF.findall(text))
    if not named:
        pytest.skip(f"{path.parent.name} names no lesson (notebooks/NN_topic.ipynb) yet")
    stems = {p.stem for p in LESSONS}
    assert named <= stems, f"{path.parent.name} names lessons that do not exist: {sorted(named - stems)}"
    back = {p.stem for p in LESSONS if path.parent.name in lesson_links(p)[1]}
    assert named == back, (f"{path.parent.name} names {sorted(named)}, "
                           f"but the lessons naming it are {sorted(back)}")
