"""Hostile and broken submissions, graded as one batch through nbgrader and the trusted grader.

Each case is a student: what they submit, and the score and reason they must get. After all of
them a correct control submission must still get full marks; the instructor files and the
gradebook must be unchanged except for the intended writes; no student process may survive.

The cases added for issue 16 (files in the submission folder, reads of what the student's process
produced, the batch budget) were run on 66f6af9, the commit before that work, with this file
copied into a worktree of it. ``deeply_nested_notebook`` aborted the whole batch there
(RecursionError: no student graded, the control included) and ``fifo_in_submission`` gave the
honest student 0 of 10, so the rest ran without those two: ``notebook_is_link_to_master`` got
10/10 for a link to the master, ``links_to_secrets`` 10/10 (its nbytes could read /etc/shadow,
which was also copied into ``autograded/``), ``slow_cells`` 10/10 (no budget), ``disk_filler``
10/10 with only "cell 4 skipped" (no disk limit), ``result_bomb`` 8/10 like now but as
"unreadable", not "forbidden" (no seal); every older case passed there too.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import notebooks
from autograder.demo import fill, key_answers
from autograder.pipeline import Course
from conftest import ROOT

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("hostile")]
A = "a01_tensors"
FULL = 10.0
ROOTED_JAIL = os.geteuid() == 0  # as root the student's code runs in its own PID namespace, as another uid


def cell(source: str):
    return nbformat.v4.new_code_cell(source)


def with_key(release, **answers):
    """The release with the key's answers, some replaced (problem name -> solution source)."""
    key = key_answers(ROOT / "course" / "source" / A / f"{A}.ipynb")
    return fill(release, {**key, **{f"sol_{k}": v for k, v in answers.items()}})


def insert(nb, *sources, at=None):
    """New code cells, by default right after the locked setup cell (imports and seeds done)."""
    at = find(nb, "setup") + 1 if at is None else at
    for s in reversed(sources):
        nb.cells.insert(at, cell(s))
    return nb


def find(nb, grade_id):
    return next(i for i, c in enumerate(nb.cells) if notebooks.nbgrader_meta(c).get("grade_id") == grade_id)


def edit_meta(nb, which, **changes):
    nb.cells[find(nb, which)].metadata.nbgrader.update(changes)
    return nb


# ------------------------------------------------------------------ the cases
# student -> (build(release) -> notebook | bytes | dict of files, expected score, expected status text)

WRONG_LINSPACE = "def linspace(start, end, steps, device):\n    return torch.full((steps,), 12345.0, dtype=torch.float64, device=device)  # wrong dtype and values\n"
PATCH_COMPARISONS = ("import torch, numpy\n"
                     "torch.allclose = lambda *a, **k: True\n"
                     "torch.equal = lambda *a, **k: True\n"
                     "torch.testing.assert_close = lambda *a, **k: None\n"
                     "numpy.allclose = lambda *a, **k: True\n")
FAKE_MODULES = ("import sys, types\n"
                "fake = types.ModuleType('torch')\n"
                "fake.__getattr__ = lambda name: (lambda *a, **k: True)\n"
                "sys.modules['torch'] = fake\nsys.modules['numpy'] = fake\n")
GRADEBOOK = str(ROOT / "course" / "gradebook.db")
TAMPER = ("import glob, os, sqlite3\n"
          "for path in glob.glob('/**/gradebook.db', recursive=True) + [os.path.expanduser('~/../gradebook.db')]:\n"
          "    try:\n"
          "        db = sqlite3.connect(path)\n"
          "        db.execute('UPDATE grade SET auto_score = 100')\n"
          "        db.commit()  # without it the write could never have landed, even with the gradebook in reach\n"
          "    except Exception as e:\n"
          "        print('cannot', path, e)\n"
          "for target in ('../source', '/work', os.environ.get('HOME', '')):\n"
          "    try:\n"
          "        open(os.path.join(target, 'pwned.txt'), 'w').write('x')\n"
          "    except Exception as e:\n"
          "        print('cannot write', target, type(e).__name__)\n")
SECRETS = (str(ROOT / "course" / "source" / A / f"{A}.ipynb"), str(ROOT / "solutions" / f"{A}.py"),
           f"../source/{A}/{A}.ipynb", f"../../source/{A}/{A}.ipynb")
READ_HIDDEN = ("def nbytes(x):\n    import os\n"
               f"    for path in {SECRETS!r}:\n"
               "        if os.path.exists(path):\n"
               "            return len(open(path).read())  # the instructor's files, if they could be seen\n"
               "    raise FileNotFoundError('nothing instructor-side is visible')\n")
CHINESE = ("# 中文注释：这一格全是中文 / Chinese everywhere\n"
           "def 字节数(张量):\n    return 张量.numel() * 张量.element_size()\n"
           "print('你好，评分程序！')\n")


def chinese(release):
    nb = insert(with_key(release), CHINESE)
    nb.cells.append(nbformat.v4.new_markdown_cell("## 中文说明\n全角标点，。“引号”"))
    return nb


def removed(grade_id):
    def build(release):
        nb = with_key(release)
        nb.cells.pop(find(nb, grade_id))
        return nb
    return build


def duplicated_setup(release):
    nb = with_key(release)
    nb.cells.insert(4, nbformat.from_dict(json.loads(json.dumps(nb.cells[find(nb, "setup")]))))
    return nb


def retyped(release):
    nb = with_key(release)
    test = nb.cells[find(nb, "test_nbytes")]
    test.cell_type = "markdown"
    test.pop("outputs", None)
    test.pop("execution_count", None)
    return nb


def old_schema(release):
    nb = with_key(release)
    for c in nb.cells:
        if "nbgrader" in c.metadata:
            c.metadata.nbgrader["schema_version"] = 1
    return nb


def evil_metadata(release):
    nb = with_key(release)
    nb.metadata.update({"kernelspec": {"name": "evil", "display_name": "evil", "language": "bash"}, "nbgrader": {"x": 1}})
    return nb


def _files(nb, **extra: str) -> dict:
    return {f"{A}.ipynb": nbformat.writes(nb).encode(),
            **{k: v if callable(v) else v.encode() for k, v in extra.items()}}


def link(target: str):
    """A submitted file that is a symbolic link (``{root}`` is the course root)."""
    return lambda path, root: os.symlink(target.format(root=root), path)


def fifo(path, root):
    os.mkfifo(path)


def if_readable(path: str) -> str:
    """An nbytes that is right only if the student's process can read ``path``."""
    return (f"def nbytes(x):\n    try:\n        open({path!r}, 'rb').read(1)\n    except OSError:\n        return -1\n"
            "    return x.numel() * x.element_size()\n")


def nested(depth: int) -> bytes:
    return ('{"cells": [], "metadata": {"x": ' + "[" * depth + "]" * depth + '}, "nbformat": 4, "nbformat_minor": 5}').encode()


EVIL_NAME = "<img src=x onerror=alert(1)>.txt"  # quoted by the grading note that lists skipped files
RESULT_BOMB = ("import os\n"  # the student's process writes a huge (sparse) result file for linspace, then exits
               "results = os.path.join(os.environ['HOME'], 'results')\n"
               "open(os.path.join(results, 'linspace.json'), 'w').write('{\"cases\": []}')\n"
               "with open(os.path.join(results, 'linspace.bin'), 'wb') as f:\n    f.truncate(60 << 20)  # under the file-size rlimit\n"
               "os._exit(0)\n")
DISK_FILLER = ("import os\nchunk = b'x' * (8 << 20)\nfor i in range(200):\n"
               "    with open(f'fill_{i}.bin', 'wb') as f:\n        f.write(chunk * 7)\n")
SLOW_CELLS = ["import time\ntime.sleep(9)  # under the cell limit, over the submission's budget"] * 8


CASES = {
    # --- student code that attacks the checks (runs inside the sandbox)
    "allclose_patched": (lambda r: insert(with_key(r, linspace=WRONG_LINSPACE), PATCH_COMPARISONS), 8, "linspace=wrong"),
    "sys_modules_patched": (lambda r: insert(with_key(r, nbytes="def nbytes(x):\n    return 0\n"), FAKE_MODULES),
                            9, "nbytes=wrong"),
    "forbidden_renamed": (lambda r: with_key(r, linspace="def linspace(start, end, steps, device):\n"
                                             "    f = getattr(torch, 'lin' + 'space')\n    return f(start, end, steps, device=device)\n"),
                          8, "linspace=forbidden"),
    "forbidden_via_module": (lambda r: with_key(r, linspace="def linspace(start, end, steps, device):\n"
                                                "    import importlib\n    t = importlib.import_module('torch')\n"
                                                "    return t.linspace(start, end, steps, device=device)\n"),
                             8, "linspace=forbidden"),
    "tampers_with_gradebook": (lambda r: insert(with_key(r), TAMPER), FULL, "ok"),
    "reads_hidden_tests": (lambda r: with_key(r, nbytes=READ_HIDDEN), 9, "nbytes=wrong"),
    "kills_its_parent": (lambda r: insert(with_key(r), "import os, signal\nfor pid in (os.getppid(), 1):\n"
                                          "    try:\n        os.kill(pid, signal.SIGKILL)\n"
                                          "    except Exception as e:\n        print(e)\n"), FULL, "ok"),
    "sys_exit_cell": (lambda r: insert(with_key(r), "import sys\nsys.exit(0)"), FULL, "ok"),
    "os_exit_cell": (lambda r: insert(with_key(r), "import os\nos._exit(0)"), FULL, "ok; cell 6 skipped"),
    "os_exit_in_function": (lambda r: with_key(r, pick_device="def pick_device():\n    import os\n    os._exit(3)\n"),
                            9, "pick_device=crashed"),
    "sys_exit_in_function": (lambda r: with_key(r, nbytes="def nbytes(x):\n    import sys\n    sys.exit(1)\n"),
                             9, "nbytes=crashed"),
    "endless_loop": (lambda r: with_key(r, linspace="def linspace(start, end, steps, device):\n    while True:\n        pass\n"),
                     8, "linspace=timeout"),
    "ignores_signals": (lambda r: with_key(r, transpose_flatten="def transpose_flatten(x):\n    import signal\n"
                                           "    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):\n"
                                           "        signal.signal(s, signal.SIG_IGN)\n    while True:\n        pass\n"),
                        8.5, "transpose_flatten=timeout"),
    "fork_bomb": (lambda r: with_key(r, nbytes="def nbytes(x):\n    import os\n    while True:\n        os.fork()\n"),
                  9, "nbytes="),
    "memory_bomb": (lambda r: with_key(r, nbytes="def nbytes(x):\n    big = torch.empty(1 << 42, dtype=torch.uint8)\n"
                                       "    return big.numel()\n"), 9, "nbytes=out_of_memory"),
    "memory_bomb_cell": (lambda r: insert(with_key(r), "hog = bytearray(1 << 42)"), FULL, "ok"),
    "output_flood": (lambda r: insert(with_key(r), "for i in range(100000):\n    print('flood ' * 20)\n"),
                     FULL, "ok; output truncated"),
    "warns_on_stderr": (lambda r: with_key(r, full_float64_like="def full_float64_like(x, value):\n"
                                           "    import sys, warnings\n    warnings.warn('just a warning')\n"
                                           "    print('noise on stderr', file=sys.stderr)\n"
                                           "    return torch.full(x.shape, value, dtype=torch.float64, device=x.device)\n"),
                        FULL, "ok"),
    "chinese_everywhere": (chinese, FULL, "ok"),
    "extra_files": (lambda r: _files(insert(with_key(r), "import torch\nprint(torch.__file__)"),
                                     **{"torch.py": "raise SystemExit('shadowed')\n",
                                        "sitecustomize.py": "import os\nos._exit(0)\n",
                                        "numpy.py": "x = 1\n"}), FULL, "ok"),
    # --- broken files
    "not_json": (lambda r: {f"{A}.ipynb": b'{"cells": [ oops'}, 0, "not a valid JSON"),
    "not_utf8": (lambda r: {f"{A}.ipynb": b"\xff\xfe\x00 not utf-8"}, 0, "not UTF-8"),
    "wrong_nbformat": (lambda r: {f"{A}.ipynb": json.dumps({"nbformat": 5, "nbformat_minor": 0, "metadata": {},
                                                             "cells": "none"}).encode()}, 0, "not a valid notebook"),
    "renamed_notebook": (lambda r: {"my_homework.ipynb": nbformat.writes(with_key(r)).encode()}, 0, "is missing"),
    "empty_folder": (lambda r: {}, 0, "is missing"),
    # --- edited nbgrader cells: the score the code earns, and a note
    "deleted_test_cell": (removed("test_linspace"), FULL, "cells repaired"),
    "deleted_solution_cell": (removed("sol_nbytes"), 9, "nbytes=unanswered"),
    "duplicated_locked_cell": (duplicated_setup, FULL, "cells repaired"),
    "retyped_cells": (retyped, FULL, "cells repaired"),
    "edited_points": (lambda r: edit_meta(with_key(r), "test_linspace", points=100), FULL, "cells repaired"),
    "relabelled_cells": (lambda r: edit_meta(edit_meta(with_key(r), "test_nbytes", grade_id="test_bonus", points=50),
                                             "sol_linspace", grade_id="sol_other"), FULL, "cells repaired"),
    # an older schema version (as an older nbgrader writes) is put right silently: nothing graded changed
    "bad_schema_version": (old_schema, FULL, "ok"),
    "tampered_notebook_metadata": (evil_metadata, FULL, "ok"),
    # --- files in the submission folder, and reads of what the student's process produced (issue 16)
    "notebook_is_link_to_master": (lambda r: {f"{A}.ipynb": link("{root}/source/" + f"{A}/{A}.ipynb")}, 0,
                                   "not a regular file"),
    "links_to_secrets": (lambda r: _files(with_key(r, nbytes=if_readable("shadow.txt")), **{
        "shadow.txt": link("/etc/shadow"), "master.txt": link("{root}/source/" + f"{A}/{A}.ipynb"),
        "gradebook.txt": link("{root}/gradebook.db"), EVIL_NAME: link("/etc/passwd")}), 9, "nbytes=wrong"),
    "fifo_in_submission": (lambda r: {**_files(with_key(r)), "data.fifo": fifo}, FULL, "ok"),
    "deeply_nested_notebook": (lambda r: {f"{A}.ipynb": nested(200_000)}, 0, "nested too deeply"),
    # its results lack the harness's seal: forged, whatever they hold (read_bounded is tested in test_wire)
    "result_bomb": (lambda r: insert(with_key(r), RESULT_BOMB), 8, "linspace=forbidden"),
    "disk_filler": (lambda r: insert(with_key(r), DISK_FILLER), FULL, "disk limit"),
    "slow_cells": (lambda r: insert(with_key(r), *SLOW_CELLS), 0, "time budget"),
}
if not ROOTED_JAIL:  # without a PID namespace the student's parent is the grader itself
    CASES.pop("kills_its_parent")
CONTROL = "zz_control"  # graded last: a correct submission after every hostile one


def snapshot(root: Path) -> dict[str, str]:
    files = [p for d in ("source", "release") for p in (root / d).rglob("*") if p.is_file()]
    files.append(root / "nbgrader_config.py")
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def student_processes(jobs: Path) -> list[str]:
    """Processes still running for this batch (their command line names one of its job folders)."""
    left = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(jobs) in cmd:
            left.append(f"{proc.name}: {cmd[:80]}")
    return left


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    config = (ROOT / "course" / "nbgrader_config.py").read_text(encoding="utf-8")
    (root / "nbgrader_config.py").write_text(config + "\nc.TrustedExecute.problem_seconds = 8\n"
                                             "c.TrustedExecute.cell_seconds = 10\n"
                                             "c.TrustedExecute.submission_seconds = 40\n"
                                             "c.TrustedExecute.job_mib = 128\n"
                                             f"c.TrustedExecute.work_dir = {str(root / 'jobs')!r}\n", encoding="utf-8")
    shutil.copytree(ROOT / "course" / "source" / A, root / "source" / A)
    course = Course(root)
    course.release(A)
    release = nbformat.read(str(root / "release" / A / f"{A}.ipynb"), as_version=4)
    for student, (build, _, _) in {**CASES, CONTROL: (lambda r: with_key(r), FULL, "ok")}.items():
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        made = build(nbformat.from_dict(json.loads(json.dumps(release))))
        for name, data in (_files(made) if isinstance(made, nbformat.NotebookNode) else made).items():
            if callable(data):  # a link, a FIFO
                data(folder / name, root)
            else:
                (folder / name).write_bytes(data)
        (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")
    before = snapshot(root)
    outcomes = {o.student: o for o in course.grade(A)}
    course.feedback(A, list(outcomes.values()))
    return course, outcomes, before


def scores(course):
    return {r["student"]: r for r in course.scores(A)}


@pytest.mark.parametrize("student", sorted(CASES))
def test_each_hostile_case_gets_its_expected_score_and_reason(batch, student):
    """Does this submission get exactly the score its code earns, with the expected reason?"""
    course, _, _ = batch
    _, score, status = CASES[student]
    row = scores(course)[student]
    assert row["score"] == pytest.approx(score), row
    assert row["max_score"] == FULL
    assert status in row["status"], row["status"]


def test_control_after_the_batch_gets_full_marks(batch):
    """After every hostile submission, is a correct one still graded correctly?"""
    row = scores(batch[0])[CONTROL]
    assert row["score"] == FULL and row["status"] == "ok"


def test_every_student_has_a_row_for_every_problem(batch):
    """Nothing lost: every student has every problem's score, the maximum and a status."""
    rows = scores(batch[0])
    assert set(rows) == set(CASES) | {CONTROL}
    for row in rows.values():
        assert {k for k in row if k.startswith("test_")} == {
            "test_full_float64_like", "test_shared_from_numpy", "test_copied_from_numpy", "test_linspace",
            "test_transpose_flatten", "test_nbytes", "test_pick_device"}


def test_instructor_files_and_gradebook_untouched(batch):
    """Are the source, release and config unchanged, and the gradebook holding only this batch?"""
    course, _, before = batch
    assert snapshot(course.root) == before
    assert not list(course.root.rglob("pwned.txt")) and not Path("/work/pwned.txt").exists()
    with course.here(), course.gradebook() as gb:
        assert {s.id for s in gb.students} == set(CASES) | {CONTROL}
        assert [a.name for a in gb.assignments] == [A]
        assert all(sub.max_score == FULL for sub in gb.assignment_submissions(A))
        assert all(g.auto_score is None or g.auto_score <= g.max_score
                   for sub in gb.assignment_submissions(A) for nb in sub.notebooks for g in nb.grades)


def test_no_student_process_survives(batch):
    """When grading is over, is every process a submission started gone?"""
    assert student_processes(batch[0].root / "jobs") == []
    assert not list((batch[0].root / "jobs").iterdir()), "job folders are removed after grading"


def test_feedback_explains_repairs_and_keeps_hidden_tests_private(batch):
    """Does feedback say what was repaired, in both languages, without the hidden tests?"""
    course = batch[0]
    page = (course.root / "feedback" / "edited_points" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "评分说明" in page and "restored from the release" in page
    for student in ("reads_hidden_tests", "tampers_with_gradebook"):
        text = (course.root / "feedback" / student / A / f"{A}.html").read_text(encoding="utf-8")
        assert "hidden=True" not in text and "HIDDEN TESTS" not in text


def test_grading_twice_gives_the_same_scores(batch):
    """Idempotent: re-grading some of the batch changes nothing."""
    course = batch[0]
    again = ["allclose_patched", "edited_points", "not_json", CONTROL]
    before = {s: scores(course)[s]["score"] for s in again}
    course.grade(A, again)
    assert {s: scores(course)[s]["score"] for s in again} == before


@pytest.mark.parametrize("student", ["links_to_secrets", "fifo_in_submission"])
def test_only_regular_files_of_a_submission_are_used(batch, student):
    """Links to /etc/shadow, the master notebook and the gradebook, and a FIFO, are neither
    followed nor copied into autograded/ (nbgrader's own copy follows links, and opening a FIFO
    would hang the batch), and the feedback says which files were left out."""
    course, outcomes, _ = batch
    assert outcomes[student].ok
    folder = course.root / "autograded" / student / A
    assert folder.is_dir()
    for name in ("shadow.txt", "master.txt", "gradebook.txt", "data.fifo"):
        assert not (folder / name).exists() and not (folder / name).is_symlink()
    notes = " ".join(n.en for r in course.reports().read(A, student) for n in r.notes)
    assert "not regular files" in notes
    if student == "links_to_secrets":  # the file name the note quotes is text, not HTML, in the feedback
        assert EVIL_NAME in notes
        page = (course.root / "feedback" / student / A / f"{A}.html").read_text(encoding="utf-8")
        assert "onerror=alert(1)" in page and "<img src=x onerror" not in page
