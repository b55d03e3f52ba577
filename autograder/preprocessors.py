"""nbgrader glue / 与 nbgrader 的衔接: grade with the sandbox + judge inside ``nbgrader autograde``.

:class:`TrustedExecute` replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``.
It never starts a kernel on the student's notebook; instead it takes the report of the warm
workers (:mod:`autograder.engine`, :mod:`autograder.batch`) and writes each test cell's outcome as outputs that
nbgrader's own ``SaveAutoGrades`` understands (an ``execute_result`` holding the partial score),
so the gradebook, feedback and formgrader work unchanged.
"""
from __future__ import annotations

import atexit
import copy
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from nbgrader.utils import determine_grade
from traitlets import Enum, Float, Integer, List, Unicode

from autograder.engine import LocalEngine
from autograder.notebooks import cells_digest, is_test_cell, grading_cells
from autograder.results import RAN_INSIDE, Msg, ReportStore, format_result
from autograder.sanitize import plain_markdown, sanitize_notebook
from autograder.sandbox import PATHS, Limits

_CLEAR_HIDDEN = ClearHiddenTests()
_ENGINE = None  # the warm worker of a plain `nbgrader autograde` run, kept for the whole command


class RepairSubmission(NbGraderPreprocessor):
    """Undo what a student did to the nbgrader cells, before nbgrader's own checks see it.

    Runs first in ``Autograde.sanitize_preprocessors``. The released notebook is the reference:
    every cell carrying a known grade_id gets that cell's nbgrader metadata and cell type back
    (edited points, a bad schema_version, retyped or re-labelled cells), an unknown or repeated
    grade_id loses its nbgrader metadata (it stays an ordinary cell), and a deleted graded,
    solution or locked cell is put back after its predecessor. Stock nbgrader would stop on
    several of these; here the student gets the score their code earns and a note saying what
    was repaired. Locked cells' contents are then restored by nbgrader's ``OverwriteCells``.
    """
    release_dir = Unicode("release", help="The released assignments, relative to the course root.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict):
        info = resources["nbgrader"]
        path = Path(self.release_dir) / info["assignment"] / f"{info['notebook']}.ipynb"
        reference = [c for c in nbformat.read(str(path), as_version=4).cells if _grade_id(c)]
        by_id = {_grade_id(c): c for c in reference}
        notes, seen = [], set()
        if removed := sanitize_notebook(nb):  # student HTML made inert before feedback or the formgrader render it
            notes.append(("已移除不安全的 HTML/脚本", "unsafe HTML or script removed: " + "; ".join(removed)))
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta is None:
                continue
            gid = meta.get("grade_id") if isinstance(meta, dict) else None
            if gid in by_id and gid not in seen:
                seen.add(gid)
                if _role(cell) != _role(by_id[gid]):
                    notes.append((f"单元格 {gid} 的 nbgrader 信息被改动，已按发布版恢复",
                                  f"the nbgrader metadata of cell {gid} had been edited; restored from the release"))
                _become(cell, by_id[gid])
            else:
                del cell.metadata["nbgrader"]
                notes.append((f"多余或未知的评分单元格（{gid}）已当作普通单元格",
                              f"an extra or unknown graded cell ({gid}) was treated as an ordinary cell"))
        for i, ref in enumerate(reference):
            gid = _grade_id(ref)
            if gid in seen:
                continue
            earlier = {_grade_id(r) for r in reference[:i]}
            after = next((j for j in range(len(nb.cells) - 1, -1, -1) if _grade_id(nb.cells[j]) in earlier), -1)
            nb.cells.insert(after + 1, copy.deepcopy(ref))
            seen.add(gid)
            notes.append((f"被删除的单元格 {gid} 已按发布版放回", f"the deleted cell {gid} was put back from the release"))
        if notes:
            nb.metadata.setdefault("autograder", {})["repairs"] = [{"zh": zh, "en": en} for zh, en in notes]
            self.log.warning("%s/%s: repaired %d cell(s)", info["student"], info["notebook"], len(notes))
        return nb, resources


def _without_source(output: dict) -> dict:
    """An error output with its traceback cut to the last line: the traceback of a hidden test
    would quote the hidden test's source."""
    if output.get("output_type") != "error":
        return output
    return {**output, "traceback": [f"{output['ename']}: {output['evalue']}"]}


def _role(cell) -> tuple:
    """What nbgrader grades a cell by; the checksum and schema version may differ harmlessly (a
    notebook made by an older nbgrader release)."""
    meta = cell.metadata.get("nbgrader", {})
    points = meta.get("points")
    try:
        points = float(points) if points is not None else None
    except (TypeError, ValueError):
        pass
    return (cell.cell_type, points, *(bool(meta.get(k, False)) for k in ("grade", "solution", "locked", "task")))


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def _become(cell, ref) -> None:
    """Give ``cell`` the reference's nbgrader metadata and cell type, keeping its source."""
    cell.metadata["nbgrader"] = copy.deepcopy(ref.metadata.nbgrader)
    if cell.cell_type != ref.cell_type:
        cell.cell_type = ref.cell_type
        if ref.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)


def is_autograded(grade, solution_names: set[str]) -> bool:
    """A gradebook grade nbgrader scores from outputs: a code grade cell that is not also an answer cell."""
    cell = grade.cell
    return cell.type == "GradeCell" and cell.cell_type == "code" and cell.name not in solution_names


class FlagForReview(NbGraderPreprocessor):
    """After ``SaveAutoGrades``: a notebook whose code the static review flagged keeps its auto
    scores, and every autograded cell is marked ``needs_manual_grade`` so the formgrader lists
    it for the instructor, with the findings in the notebook's grading notes."""

    def preprocess(self, nb: NotebookNode, resources: dict):
        if not resources.get("autograder_review"):
            return nb, resources
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            submitted = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            answers = {c.name for c in submitted.notebook.solution_cells}
            for grade in submitted.grades:
                if is_autograded(grade, answers):
                    grade.needs_manual_grade = True
            gb.db.commit()
        return nb, resources


class TrustedExecute(NbGraderPreprocessor):
    """Grade the notebook with the sandbox and the trusted judge instead of a kernel.

    In a batch (``make grade``, :mod:`autograder.batch`) the notebook was already graded by the
    pool of warm workers, and the report arrives in ``resources["autograder_report"]``; it is
    used only if it graded exactly this notebook's code (same digest), otherwise the notebook is
    graded here. Run on its own (plain ``nbgrader autograde`` with this configuration) it grades
    through one warm worker kept for the whole command.
    """
    cell_seconds = Float(30.0, help="Wall-time limit for each top-level notebook cell, in seconds.").tag(config=True)
    problem_seconds = Float(20.0, help="Wall-time limit for each graded function, in seconds.").tag(config=True)
    memory_mib = Integer(6144, help="Address-space limit for the student's process, in MiB.").tag(config=True)
    submission_seconds = Float(180.0, help="Wall-time budget for grading one notebook, reruns after a hung or "
                                           "fatal cell included; what is left then is a timeout.").tag(config=True)
    job_mib = Integer(512, help="Disk space the student's process may fill in its job folder, in MiB.").tag(config=True)
    report_dir = Unicode("reports", help="Where per-notebook JSON reports are written "
                                         "(relative to the course root).").tag(config=True)
    work_dir = Unicode("", help="Where sandbox job folders are made (empty: the system's temp).").tag(config=True)
    sandbox = Enum(list(PATHS), default_value="auto", help=(
        "How student code is started: 'fork' from a warm worker (fast; needs root), 'bwrap' a fresh "
        "bubblewrap per run (slower; no root needed), 'auto' fork where possible, else bwrap. Without "
        "either, grading is refused; 'unsafe-trusted-input' runs student code without a sandbox when "
        "there is none (only for submissions you trust). A forced path that this machine cannot give "
        "is refused, never replaced.")).tag(config=True)
    workers = Integer(0, help="Warm grading workers for `make grade` (0: one per CPU core).").tag(config=True)
    scheduler = Unicode("", help=(
        "The address of a running Dask scheduler (e.g. 'tcp://10.0.0.5:8786'): `make grade` then grades "
        "on that cluster's workers, each keeping one warm sandboxed worker (docs/INSTRUCTOR_GUIDE.md, "
        "big class). Empty: grade on this machine.")).tag(config=True)
    devices = List(Unicode(), default_value=[], help=(
        "Devices every case runs on, e.g. ['cpu'] or ['cpu', 'cuda'] (empty: CPU, plus CUDA when the "
        "grading machine has it). Recorded in each report.")).tag(config=True)

    def limits(self) -> Limits:
        return Limits(cell_seconds=self.cell_seconds, problem_seconds=self.problem_seconds,
                      memory_bytes=self.memory_mib << 20, submission_seconds=self.submission_seconds,
                      job_bytes=self.job_mib << 20)

    def grading_devices(self) -> list[str]:
        """The configured devices, or ["auto"]: each worker then grades on CPU plus CUDA if it has it."""
        return list(self.devices) or ["auto"]

    def preprocess(self, nb: NotebookNode, resources: dict):
        info = resources["nbgrader"]
        cells = grading_cells(nb)
        report = resources.get("autograder_report")
        if report is None or report.cells_digest != cells_digest(cells):
            report = self._grade_here(info["assignment"], cells, resources.get("metadata", {}).get("path"))
        report.notes += [n for n in resources.get("autograder_notes", []) if n not in report.notes]
        repairs = nb.metadata.get("autograder", {}).pop("repairs", [])
        if repairs:
            report.flags.append("cells repaired")
            report.notes += [Msg(r["zh"], r["en"]) for r in repairs]
        if report.review:  # the score stands, the instructor decides (FlagForReview marks the cells)
            resources["autograder_review"] = True
            report.notes.append(Msg("这份代码用到了作答从来不需要的东西，已标记为需要老师复核：",
                                    "this code uses things an answer never needs; it is flagged for review:"))
            report.notes += [Msg(f"第 {f['cell']} 个单元格第 {f['line']} 行：{f['zh']}",
                                 f"cell {f['cell']}, line {f['line']}: {f['what']}") for f in report.review]
        if report.notes:  # shown at the top of the feedback
            # notes may quote what the student chose (file names, grade ids): shown as plain text only
            lines = ["**评分说明 / Grading notes**", ""] + [f"- {plain_markdown(n.zh)} / {plain_markdown(n.en)}"
                                                          for n in report.notes]
            nb.cells.insert(0, new_markdown_cell("\n".join(lines)))
        by_grade_id = {p.grade_id: p for p in report.problems}
        for cell in nb.cells:
            if is_test_cell(cell):
                result = by_grade_id.get(cell.metadata.nbgrader.get("grade_id"))
                self._write_outcome(cell, result)
                if result is not None and result.kind == "classic":  # nbgrader's own rule scores it
                    result.score = float(determine_grade(cell, self.log)[0] or 0.0)
                    if result.status == "ok" and result.score < result.points:
                        result.status = "wrong"
        ReportStore(Path(self.report_dir)).write(info["student"], info["notebook"], report)
        self.log.info("%s/%s: %s of %s points in %.1f s (sandbox: %s)", info["student"], info["notebook"],
                      report.score, report.max_score, report.seconds, report.sandbox_path)
        return nb, resources

    def _grade_here(self, assignment: str, cells: list[dict], files: str | None):
        global _ENGINE
        if self.work_dir:
            Path(self.work_dir).mkdir(parents=True, exist_ok=True)
        if _ENGINE is None:
            _ENGINE = LocalEngine(1, self.sandbox)
            atexit.register(_ENGINE.close)
            self.log.warning("sandbox: %s", "; ".join(_ENGINE.info()["mechanisms"]))
        return _ENGINE.grade_cells(assignment, cells, self.limits(), self.grading_devices(), self.work_dir or None,
                                   files)

    @staticmethod
    def _write_outcome(cell, result) -> None:
        had_hidden = _CLEAR_HIDDEN._remove_hidden_test_region(cell)  # hidden tests stay private in feedback
        if result is None:
            text = "这个测试单元格不属于本作业的任何题目 / this test cell matches no problem of the assignment\n"
            cell.outputs = [new_output("error", ename="UnknownTest", evalue=text.strip(), traceback=[text])]
            return
        cell.execution_count = 1
        if result.kind == "classic":
            note = new_output("stream", name="stdout", text=f"{RAN_INSIDE.zh} / {RAN_INSIDE.en}\n")
            cell.outputs = [note] + [new_output(**_without_source(o) if had_hidden else o) for o in result.outputs]
            return
        text = format_result(result) + "\n"
        cell.outputs = [new_output("stream", name="stdout", text=text),
                        new_output("execute_result", data={"text/plain": repr(result.score)}, execution_count=1)]
