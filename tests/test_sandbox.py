"""Does one bad problem cost only that problem, and does the sandbox hide what it should?

Every test runs on both sandbox paths: ``fork`` (a warm worker forks a sandboxed child) and
``bwrap`` (a fresh bubblewrap per run), so neither can silently fall behind the other.
"""
import json
import os

import nbformat
import pytest

from autograder import sandbox, specs
from autograder.demo import fill, key_answers
from autograder.engine import LocalEngine
from autograder.notebooks import grading_cells
from conftest import ROOT

MASTER = ROOT / "course" / "source" / "a01_tensors" / "a01_tensors.ipynb"
A01 = specs.load("a01_tensors")
FAST = sandbox.Limits(cell_seconds=8, problem_seconds=8)


@pytest.fixture(scope="module", params=["fork", "bwrap"])
def engine(request):
    if request.param == "fork" and os.geteuid() != 0:
        pytest.skip("the fork path needs root (it mounts and changes uid); bwrap covers this machine")
    if request.param == "bwrap" and not sandbox.bwrap_available():
        pytest.skip("bubblewrap not installed: the bwrap path would run without walls")
    with LocalEngine(1, request.param) as eng:
        assert eng.info()["path"] == request.param
        yield eng


@pytest.fixture
def grade_notebook(engine):
    def grade(nb, assignment, limits):
        report = engine.grade_cells(assignment.name, grading_cells(nb), limits)
        assert report.sandbox_path == engine.path
        return report
    return grade


def submission(extra_cell: str | None = None, **answers: str):
    nb = fill(nbformat.read(str(MASTER), as_version=4), {**key_answers(MASTER),
                                                          **{f"sol_{k}": v for k, v in answers.items()}})
    if extra_cell is not None:
        nb.cells.insert(3, nbformat.v4.new_code_cell(extra_cell))
    return nb


def statuses(report):
    return {p.function: p.status for p in report.problems}


def test_key_submission_gets_full_marks_in_the_sandbox(grade_notebook):
    """Does the answer key, run in the sandbox, get every point?"""
    report = grade_notebook(submission(), A01, FAST)
    assert report.score == report.max_score == 10


def test_endless_loop_and_exit_cost_only_their_problems(grade_notebook):
    """Do a hanging function and one calling os._exit cost only themselves?"""
    report = grade_notebook(submission(
        nbytes="def nbytes(x):\n    while True:\n        pass\n",
        pick_device="def pick_device():\n    import os\n    os._exit(3)\n"), A01, FAST)
    got = statuses(report)
    assert got.pop("nbytes") == "timeout" and got.pop("pick_device") == "crashed"
    assert set(got.values()) == {"ok"}
    assert report.score == 10 - 1 - 1


def test_hanging_top_level_cell_is_skipped_and_reported(grade_notebook):
    """Is a top-level cell that never ends skipped, with the rest still graded?"""
    report = grade_notebook(submission(extra_cell="while True:\n    pass\n"), A01, FAST)
    assert report.score == 10 and len(report.notes) == 1 and "skipped" in report.notes[0].en


def test_torch_py_in_the_working_directory_does_not_shadow_torch(grade_notebook):
    """Can a student's own torch.py replace torch for the grader? (It must not.)"""
    evil = "open('torch.py', 'w').write('raise SystemExit(0)')\nopen('numpy.py', 'w').write('x = 1')\n"
    report = grade_notebook(submission(extra_cell=evil), A01, FAST)
    assert report.score == 10


def test_no_network_and_no_instructor_files(grade_notebook):
    """Inside the sandbox, are the network, the repository and the environment out of reach?"""
    probe = (
        "def nbytes(x):\n"
        "    import os, socket\n"
        "    leaks = []\n"
        f"    if os.path.exists({str(ROOT / 'course' / 'source')!r}): leaks.append('source')\n"
        f"    if os.path.exists({str(ROOT / 'solutions')!r}): leaks.append('solutions')\n"
        "    if any(k.startswith(('CI', 'GITHUB', 'SSH')) for k in os.environ): leaks.append('env')\n"
        "    try:\n"
        "        socket.create_connection(('127.0.0.1', 22), timeout=1); leaks.append('net')\n"
        "    except OSError:\n"
        "        pass\n"
        "    if leaks: raise RuntimeError(','.join(leaks))\n"
        "    return x.numel() * x.element_size()\n")
    report = grade_notebook(submission(nbytes=probe), A01, FAST)
    nbytes = next(p for p in report.problems if p.function == "nbytes")
    assert nbytes.status == "ok", [str(c.message) for c in nbytes.cases]


def test_broken_cells_do_not_stop_the_rest(grade_notebook):
    """Does a cell that raises leave the other problems graded (as a kernel would)?"""
    report = grade_notebook(submission(extra_cell="1 / 0"), A01, FAST)
    assert report.score == 10 and report.cell_errors[0]["type"] == "ZeroDivisionError"


def _graded_by_cli(tmp_path, sandbox_path: str):
    """`python -m autograder grade` on a01's sample submissions, with no bubblewrap to be found."""
    import shutil
    import subprocess
    import sys

    from autograder import demo
    from autograder.pipeline import Course

    shutil.copy(ROOT / "course" / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "course" / "source" / A01.name, tmp_path / "source" / A01.name)
    course = Course(tmp_path)
    course.release(A01.name)
    demo.make_submissions(tmp_path, A01.name)
    env = {**os.environ, "AUTOGRADER_BWRAP": "/nonexistent/bwrap"}
    command = [sys.executable, "-m", "autograder", "grade", "--assignment", A01.name, "--course",
               str(tmp_path), "--sandbox", sandbox_path, "--workers", "1"]
    return course, subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_without_any_sandbox_grading_is_refused(tmp_path):
    """Fail closed: no fork path (bwrap forced: the branch a machine without root takes) and no
    bubblewrap: nothing is graded, the instructor is told how to get a sandbox. (On 8fe0864 the
    same command graded every submission with only rlimits, exit status 0.)"""
    course, result = _graded_by_cli(tmp_path, "bwrap")
    out = result.stdout + result.stderr
    assert result.returncode == 2, out[-2000:]
    assert "no sandbox is available" in out and "apt-get install bubblewrap" in out and "没有可用的沙箱" in out
    assert not list((tmp_path / "reports" / A01.name).glob("*/*.json")) and not (tmp_path / "autograded").exists()


def test_trusted_input_setting_uses_the_best_sandbox_there_is(tmp_path):
    """The explicit setting never weakens a machine that has a sandbox: here the fork path (root)."""
    course, result = _graded_by_cli(tmp_path, sandbox.UNSANDBOXED)
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]
    report = json.loads((tmp_path / "reports" / A01.name / "ada" / f"{A01.name}.json").read_text())
    expected = "fork" if os.geteuid() == 0 else sandbox.UNSANDBOXED
    assert report["sandbox_path"] == expected and sum(p["score"] for p in report["problems"]) == 10


def test_bubblewrap_path_without_bubblewrap_refuses_unless_trusted_input(tmp_path, monkeypatch):
    """Without bubblewrap the fallback refuses to run student code; with the trusted-input
    setting it runs it and every report says there was no sandbox."""
    from autograder import grade

    monkeypatch.setattr(sandbox, "_BWRAP", False)
    plan = grade.AssignmentPlan(A01, ["cpu"])
    key = fill(nbformat.read(str(ROOT / "course" / "source" / A01.name / f"{A01.name}.ipynb"), as_version=4),
               key_answers(ROOT / "course" / "source" / A01.name / f"{A01.name}.ipynb"))
    with pytest.raises(sandbox.SandboxUnavailable, match="no sandbox is available"):
        grade.grade_cells(grading_cells(key), plan, sandbox.BwrapSandbox("not root"), work_dir=str(tmp_path))
    report = grade.grade_cells(grading_cells(key), plan, sandbox.BwrapSandbox("not root", unsandboxed=True),
                               work_dir=str(tmp_path))
    assert report.sandbox_path == sandbox.UNSANDBOXED and "NO SANDBOX" in report.sandbox[0]
    assert report.score == report.max_score == 10
