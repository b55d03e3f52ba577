"""nbgrader glue / 与 nbgrader 的衔接: grade with the sandbox + judge inside ``nbgrader autograde``.

:class:`TrustedExecute` replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``.
It never starts a kernel on the student's notebook; instead it grades the notebook's code with
:func:`autograder.grade.grade_notebook` and writes each test cell's outcome as outputs that
nbgrader's own ``SaveAutoGrades`` understands (an ``execute_result`` holding the partial score),
so the gradebook, feedback and formgrader work unchanged.
"""
from __future__ import annotations

from pathlib import Path

from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from autograder import grade, specs
from autograder.check import format_result
from autograder.sandbox import Limits


class TrustedExecute(NbGraderPreprocessor):
    cell_seconds = Float(30.0, help="Wall-time limit for each top-level notebook cell, in seconds.").tag(config=True)
    problem_seconds = Float(20.0, help="Wall-time limit for each graded function, in seconds.").tag(config=True)
    memory_mib = Integer(6144, help="Address-space limit for the student's process, in MiB.").tag(config=True)
    report_dir = Unicode("reports", help="Where per-notebook JSON reports are written "
                                         "(relative to the course root).").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict):
        info = resources["nbgrader"]
        assignment = specs.load(info["assignment"])
        limits = Limits(cell_seconds=self.cell_seconds, problem_seconds=self.problem_seconds,
                        memory_bytes=self.memory_mib << 20)
        report = grade.grade_notebook(nb, assignment, limits)
        by_grade_id = {assignment.problem(p.function).grade_id: p for p in report.problems}
        for cell in nb.cells:
            if grade.is_test_cell(cell):
                result = by_grade_id.get(cell.metadata.nbgrader.get("grade_id"))
                self._write_outcome(cell, assignment, result)
        path = Path(self.report_dir) / info["assignment"] / info["student"] / f"{info['notebook']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report.to_json(), encoding="utf-8")
        self.log.info("%s/%s: %s of %s points in %.1f s (sandbox: %s)", info["student"], info["notebook"],
                      report.score, report.max_score, report.seconds, "; ".join(report.sandbox))
        return nb, resources

    @staticmethod
    def _write_outcome(cell, assignment, result) -> None:
        ClearHiddenTests()._remove_hidden_test_region(cell)  # hidden tests stay private in feedback
        if result is None:
            text = "这个测试单元格不属于本作业的任何题目 / this test cell matches no problem of the assignment\n"
            cell.outputs = [new_output("error", ename="UnknownTest", evalue=text.strip(), traceback=[text])]
            return
        text = format_result(assignment.problem(result.function), result) + "\n"
        cell.outputs = [new_output("stream", name="stdout", text=text),
                        new_output("execute_result", data={"text/plain": repr(result.score)}, execution_count=1)]
        cell.execution_count = 1
