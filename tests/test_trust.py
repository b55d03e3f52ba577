"""Trusted grading against a student who has read the grader's source (issue 16, item 1).

Every case is an exploit from the issue, aimed at a01's ``linspace`` (torch.linspace is
forbidden) or a05's ``layer_norm`` (F.layer_norm is forbidden): it returns torch's own answer
while trying to hide that it called it, or to forge the evidence. None may end in silent full
marks: each must end ``forbidden`` (the evidence shows the kernel, or the results were not the
harness's), ``wrong`` (the trick could not even run), or flagged for the instructor's review
(the static read of the source found what an answer never needs). A correct control gets full
marks and no flag, graded in the same batch after all of them.

Verified on 66f6af9 (the commit before this work; its harness is 8fe0864's), this file copied
into a worktree of it and run there (a venv outside /tmp, so that the old sandbox, which mounted
/tmp over its Python, could still import torch's lazily loaded modules): every case below but
``disable_dispatch_only`` and ``disable_function_only`` (one recorder is enough to see the
kernel) got linspace's full 2 points, the notebook 10/10 with status "ok" and nothing flagged;
``job_files_gone`` because the job's files were still there to read, ``forged_results`` because
nothing told a forged result from the harness's. The renamed ``F.layer_norm`` was already
``forbidden`` there (F.layer_norm calls torch.layer_norm, which the old name-based recorder saw
too); ``renamed_aten_packet`` is the case that proves recording by identity and schema name.
The tests after the batch need the new layers (``review``, ``AUTOGRADER_WEAKEN``) and prove
themselves in each run instead: each grades its exploit once with every defence and once with
the one layer meant to stop it switched off, where it must get silent full marks.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.demo import fill, key_answers
from autograder.pipeline import Course
from conftest import ROOT

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("trust")]

SIG = "def linspace(start, end, steps, device):\n"
TORCH = "    return torch.linspace(start, end, steps, device=device)\n"
HARNESS_OFF = ("import sys\n"  # the harness's recorders, reached through sys.modules, made to record nothing
               "h = sys.modules.get('autograder.harness') or sys.modules['__main__']\n"
               "h.OpRecorder.__torch_dispatch__ = lambda self, func, types, args=(), kwargs=None: func(*args, **(kwargs or {}))\n"
               "h.CallRecorder.__torch_function__ = lambda self, func, types, args=(), kwargs=None: func(*args, **(kwargs or {}))\n")


def forge_cell() -> str:
    """A top-level cell that writes linspace's results itself, complete and correct (the records
    and array bundle the harness would write for torch.linspace on every CPU case, with no
    operator recorded: a student who read the spec can compute them), then ends the process
    before the harness runs. Only the seal, which it cannot know, tells them apart."""
    import base64
    import json

    import torch

    from autograder import harness, judge, specs

    problem = next(p for p in specs.load("a01_tensors").problems if p.function == "linspace")
    arrays, out = {}, {}
    wire = judge.encode_cases(problem, judge.expand_cases(problem, ["cpu"]), arrays)
    records = [{**harness.run_case(lambda start, end, steps, device: torch.linspace(start, end, steps, device=device),
                                   w, arrays, out, f"c{i}", record=False), "ops": [], "calls": []}
               for i, w in enumerate(wire)]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        harness.write_arrays(Path(tmp) / "b", out)
        bundle = base64.b64encode((Path(tmp) / "b").read_bytes()).decode()
    return ("import base64, json, os\n"
            "results = os.path.join(os.environ.get('HOME', '.'), 'results')\n"
            f"json.dump({{'cases': json.loads({json.dumps(records)!r})}}, open(os.path.join(results, 'linspace.json'), 'w'))\n"
            f"open(os.path.join(results, 'linspace.bin'), 'wb').write(base64.b64decode({bundle!r}))\n"
            "os._exit(0)\n")

# student -> (linspace's source | None for the key's, extra top-level cell | None, expected: status word or "review")
CASES = {
    "disable_dispatch_only": (SIG + "    with torch._C._DisableTorchDispatch():\n" + TORCH.replace("    ", "        ", 1),
                              None, "forbidden"),
    "disable_function_only": (SIG + "    with torch._C.DisableTorchFunction():\n" + TORCH.replace("    ", "        ", 1),
                              None, "forbidden"),
    "disable_both": (SIG + "    with torch._C.DisableTorchFunction(), torch._C._DisableTorchDispatch():\n"
                     + TORCH.replace("    ", "        ", 1), None, "review"),
    "disable_current_modes": ("from torch.utils._python_dispatch import _disable_current_modes\n" + SIG
                              + "    with torch._C.DisableTorchFunction(), _disable_current_modes():\n"
                              + TORCH.replace("    ", "        ", 1), None, "review"),
    "kernel_on_a_thread": ("import threading\n" + SIG + "    out = []\n"
                           "    t = threading.Thread(target=lambda: out.append(torch.linspace(start, end, steps, device=device)))\n"
                           "    t.start()\n    t.join()\n    return out[0]\n", None, "forbidden"),
    # torch.library's registration reads its caller's frame: refused, so linspace is never defined
    "custom_op": ("@torch.library.custom_op('mylib::lin', mutates_args=())\n"
                  "def _lin(start: float, end: float, steps: int, device: torch.device) -> torch.Tensor:\n"
                  "    return torch.linspace(start, end, steps, device=device)\n\n"
                  + SIG + "    return _lin(float(start), float(end), int(steps), device)\n", None, "review"),
    "recorders_switched_off": (SIG + TORCH, HARNESS_OFF, "review"),
    "sorted_patched": (SIG + TORCH, "import builtins\nbuiltins.sorted = lambda *a, **k: []\n", "forbidden"),
    "json_patched": (SIG + TORCH, "import json\n_dumps = json.dumps\n"
                     "json.dumps = lambda o, *a, **k: _dumps({**o, 'cases': [{**c, 'ops': [], 'calls': []} "
                     "for c in o['cases']]} if isinstance(o, dict) and 'cases' in o else o, *a, **k)\n", "forbidden"),
    "forged_results": (None, forge_cell, "forbidden"),
    # the aten packet renamed (what the dispatch recorder matched on by name) and the function
    # recorder switched off: the operator's C++ schema name still says linspace
    "renamed_aten_packet": (SIG + "    packet = torch.ops.aten.linspace\n"
                            "    for p in [packet] + [getattr(packet, o) for o in packet.overloads()]:\n"
                            "        p.__name__ = 'my_range'\n"
                            "    with torch._C.DisableTorchFunction():\n"
                            "        return torch.linspace(start, end, steps, device=device)\n", None, "forbidden"),
    "refs_version": (SIG + "    import torch._refs\n    return torch._refs.linspace(start, end, steps, device=device)\n",
                     None, "review"),
    "job_files_gone": (SIG + "    import os\n    home = os.environ.get('HOME', '.')\n"
                       "    if not any(os.path.exists(os.path.join(home, f)) for f in ('job' + '.json', 'inputs' + '.bin')):\n"
                       "        return torch.zeros(steps, device=device)  # what it gets without the hidden cases\n"
                       "    i = torch.arange(steps, dtype=torch.float64, device=device)\n"
                       "    return (start + i * ((end - start) / max(steps - 1, 1))).to(torch.float32)\n", None, "wrong"),
}
CONTROL = "zz_control"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    a = "a01_tensors"
    root = tmp_path_factory.mktemp("trust")
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course" / "source" / a, root / "source" / a)
    course = Course(root)
    release = nbformat.read(str(course.release(a) / f"{a}.ipynb"), as_version=4)
    key = key_answers(ROOT / "course" / "source" / a / f"{a}.ipynb")
    for student, (linspace, extra, _) in {**CASES, CONTROL: (None, None, "ok")}.items():
        nb = fill(release, {**key, **({"sol_linspace": linspace} if linspace else {})})
        if extra:
            setup = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
            nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(extra() if callable(extra) else extra))
        folder = root / "submitted" / student / a
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / f"{a}.ipynb"))
    course.grade(a, quiet=True)
    rows = {r["student"]: r for r in course.scores(a)}
    return course, rows


@pytest.mark.parametrize("student", sorted(CASES))
def test_no_exploit_ends_in_silent_full_marks(batch, student):
    course, rows = batch
    row, expected = rows[student], CASES[student][2]
    flagged = "needs review" in row["status"]
    assert not (row["test_linspace"] == 2.0 and not flagged), row
    if expected == "review":
        assert flagged, row["status"]
    else:
        assert f"linspace={expected}" in row["status"], row["status"]


def test_review_is_shown_to_the_instructor_and_left_for_the_formgrader(batch):
    """A flagged submission's autograded cells wait for manual grading, scores kept, and the
    findings (cell, line, what) are in the notebook's grading notes, in both languages."""
    course, rows = batch
    a = "a01_tensors"
    with course.here(), course.gradebook() as gb:
        grades = gb.find_submission_notebook(a, a, "disable_both").grades
        assert all(g.needs_manual_grade for g in grades if g.cell.type == "GradeCell")
        assert any(g.auto_score for g in grades)
    nb = nbformat.read(str(course.root / "autograded" / "disable_both" / a / f"{a}.ipynb"), as_version=4)
    notes = nb.cells[0].source
    assert "flagged for review" in notes and "需要老师复核" in notes and "DisableTorchDispatch" in notes


def test_the_control_gets_full_marks_and_no_flag(batch):
    _, rows = batch
    assert rows[CONTROL]["score"] == rows[CONTROL]["max_score"] == 10 and rows[CONTROL]["status"] == "ok"


def test_a_renamed_python_function_is_still_recognised(tmp_path):
    """F.layer_norm (a Python function) renamed before the call: the recorder knows it by what
    it was when the harness started, not by its ``__name__`` now. (This alone does not fail on
    66f6af9: F.layer_norm calls torch.layer_norm, seen there by name too. ``renamed_aten_packet``
    in the batch is the one that did: 10/10 there.)"""
    from autograder import sandbox
    from autograder.engine import LocalEngine
    from autograder.notebooks import grading_cells

    a = "a05_layers"
    master = ROOT / "course" / "source" / a / f"{a}.ipynb"
    sol = ("import torch.nn.functional as nnf\n"
           "def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):\n"
           "    f = nnf.layer_norm\n    f.__name__ = f.__qualname__ = 'my_norm'\n"
           "    return f(input, normalized_shape, weight, bias, eps)\n")
    nb = fill(nbformat.read(str(master), as_version=4), {**key_answers(master), "sol_layer_norm": sol})
    with LocalEngine(1) as engine:
        report = engine.grade_cells(a, grading_cells(nb), sandbox.Limits())
    result = next(p for p in report.problems if p.function == "layer_norm")
    assert result.status == "forbidden", [str(c.message) for c in result.cases]
    assert report.review, "assigning __name__ is flagged too"


# ------------------------------------------------------------------ exploits the static review cannot see
# Each is written so that review.scan finds nothing (names assembled from strings, operator.attrgetter,
# functools.partial(setattr)); one runtime layer stops it, and with that layer switched off
# (AUTOGRADER_WEAKEN, passed to the warm workers) it gets silent full marks: the test proves both.

PASS = "lambda self, func, types, args=(), kwargs=None: func(*args, **(kwargs or {}))"


def _transient(expr: str) -> str:
    """Both recorders switched off (given the harness's globals ``g``) only while ``expr`` runs,
    then put back: nothing is left changed for a later check to see."""
    get = "operator.attrgetter('__torch_' + '{}__')"
    return ("    put = functools.partial(setattr)\n"
            "    op, call = g['OpRecorder'], g['CallRecorder']\n"
            f"    saved = ({get.format('dispatch')}(op), {get.format('function')}(call))\n"
            f"    put(op, '__torch_' + 'dispatch__', {PASS})\n"
            f"    put(call, '__torch_' + 'function__', {PASS})\n"
            f"    try:\n        return {expr}\n"
            "    finally:\n"
            "        put(op, '__torch_' + 'dispatch__', saved[0])\n"
            "        put(call, '__torch_' + 'function__', saved[1])\n")


TORCH_LINSPACE = "torch.linspace(start, end, steps, device=device)"
# a traceback's frame, walked up to the harness's globals (audit hook: tb_frame refused)
FRAMES = ("import functools, operator, sys\n" + SIG
          + "    try:\n        raise ValueError\n    except ValueError:\n"
          "        f = operator.attrgetter('tb_' + 'frame')(sys.exc_info()[2])\n"
          "    while f is not None and 'OpRecorder' not in operator.attrgetter('f_' + 'globals')(f):\n"
          "        f = operator.attrgetter('f_' + 'back')(f)\n"
          "    g = operator.attrgetter('f_' + 'globals')(f)\n" + _transient(TORCH_LINSPACE))
# the kernel on a thread reached through queue's own import of threading (thread start refused,
# and on the fork path no second thread can exist: RLIMIT_NPROC 1)
THREAD = ("import queue\n" + SIG + "    out = []\n"
          f"    t = queue.threading.Thread(target=lambda: out.append({TORCH_LINSPACE}))\n"
          "    t.start()\n    t.join()\n    return out[0]\n")
# the harness's globals through the shell's class, the recorders patched for good by a top-level
# cell (integrity check: found changed after the cells, put back, flagged)
GLOBALS = ("import functools, operator\n"
           "g = operator.attrgetter('__glo' + 'bals__')(type(get_ipython()).showtraceback)\n"
           f"functools.partial(setattr)(g['OpRecorder'], '__torch_' + 'dispatch__', {PASS})\n"
           f"functools.partial(setattr)(g['CallRecorder'], '__torch_' + 'function__', {PASS})\n")
# the same globals, the recorders off only during the call, torch's cross-entropy returned: its
# autograd graph (NllLossBackward0, made by torch's C++ code) still shows the kernel
CROSS_ENTROPY = ("import functools, operator\nimport torch.nn.functional as nnf\n"
                 "def cross_entropy(input, target, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0):\n"
                 "    g = operator.attrgetter('__glo' + 'bals__')(type(get_ipython()).showtraceback)\n"
                 + _transient("nnf.cross_entropy(input, target, weight=weight, ignore_index=ignore_index, "
                              "reduction=reduction, label_smoothing=label_smoothing)"))

# name -> (assignment, function, its source, extra top-level cell, defences that stop it, expected)
UNSEEN = {
    "frames_then_recorders_off": ("a01_tensors", "linspace", FRAMES, None, "audit", "forbidden"),
    "thread_via_queue": ("a01_tensors", "linspace", THREAD, None, "threads,nproc", "forbidden"),
    "harness_globals_patched": ("a01_tensors", "linspace", SIG + "    return " + TORCH_LINSPACE + "\n", GLOBALS,
                                "integrity", "review"),
    "graph_shows_the_kernel": ("a07_classification_losses", "cross_entropy", CROSS_ENTROPY, None, "graph", "forbidden"),
}


def _grade(engine, a, function, source, extra):
    from autograder import sandbox
    from autograder.notebooks import grading_cells

    master = ROOT / "course" / "source" / a / f"{a}.ipynb"
    nb = fill(nbformat.read(str(master), as_version=4), {**key_answers(master), f"sol_{function}": source})
    if extra:
        setup = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
        nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(extra))
    report = engine.grade_cells(a, grading_cells(nb), sandbox.Limits())
    return report, next(p for p in report.problems if p.function == function)


@pytest.fixture(scope="module")
def engines():
    """A grader with every defence, and one per weakened set (workers started once each)."""
    from autograder import engine as engine_module
    from autograder.engine import LocalEngine

    made, original = {}, engine_module.worker_env

    def get(weaken: str = ""):
        if weaken not in made:
            engine_module.worker_env = lambda: {**original(), **({"AUTOGRADER_WEAKEN": weaken} if weaken else {})}
            try:
                made[weaken] = LocalEngine(1).__enter__()
                made[weaken].template.wait_handshake()  # the warm process starts now, with this environment
            finally:
                engine_module.worker_env = original
        return made[weaken]
    yield get
    for engine in made.values():
        engine.__exit__(None, None, None)


@pytest.mark.parametrize("name", sorted(UNSEEN))
def test_a_runtime_layer_stops_what_the_static_review_cannot_see(engines, name):
    """The static review finds nothing in the exploit; with every defence it ends ``forbidden``
    (or flagged, and forbidden once the recorders are put back), and with the one layer meant to
    stop it switched off it gets silent full marks: that layer, not luck, is what stops it."""
    from autograder import review

    a, function, source, extra, layer, expected = UNSEEN[name]
    cells = [{"index": 0, "source": source}] + ([{"index": 1, "source": extra}] if extra else [])
    assert review.scan(cells) == [], "the exploit must be invisible to the static read"
    report, result = _grade(engines(), a, function, source, extra)
    assert result.score < result.points and result.status == "forbidden", [str(c.message) for c in result.cases]
    assert bool(report.review) == (expected == "review"), report.review
    weak_report, weak = _grade(engines(layer), a, function, source, extra)
    assert any("WEAKENED" in m for m in weak_report.sandbox), weak_report.sandbox
    assert (weak.score, weak.status, weak_report.review) == (weak.points, "ok", []), (
        f"with {layer} off the exploit should have worked: {[str(c.message) for c in weak.cases]}")


def test_an_honest_submission_triggers_no_runtime_layer(engines):
    """The answer key of the largest assignments runs under every runtime layer with nothing
    refused and nothing flagged (torch.manual_seed's lazy CUDA call formats its caller's stack,
    namedtuple and typing name their caller's module: all allowed)."""
    from autograder.notebooks import grading_cells

    for a in ("a04_activations", "a07_classification_losses", "a09_ctc", "a10_training"):
        master = ROOT / "course" / "source" / a / f"{a}.ipynb"
        nb = fill(nbformat.read(str(master), as_version=4), key_answers(master))
        nb.cells.insert(1, nbformat.v4.new_code_cell(
            "import collections, typing, enum, dataclasses, warnings\nP = collections.namedtuple('P', 'x y')\n"
            "T = typing.TypeVar('T')\nColour = enum.Enum('Colour', 'RED GREEN')\nwarnings.warn('a warning')\n"
            "@dataclasses.dataclass\nclass Box:\n    x: int = 1\n"))
        from autograder import sandbox

        report = engines().grade_cells(a, grading_cells(nb), sandbox.Limits())
        assert report.review == [], (a, report.review)
        assert all(p.status == "ok" for p in report.problems), (a, [(p.function, p.status) for p in report.problems])


# each refused operation, tried inside the graded function and its refusal caught: the function
# then returns the right answer its own way, so only the refusal can cost it the points
KEY_LINSPACE = ("    i = torch.arange(steps, dtype=torch.float64, device=device)\n"
                "    return (start + i * ((end - start) / max(steps - 1, 1))).to(torch.float32)\n")
REFUSED = {
    "frames": "operator.attrgetter('_get' + 'frame')(sys)()",
    "gc": "operator.attrgetter('get_' + 'objects')(importlib.import_module('g' + 'c'))()",
    "tracing": "operator.attrgetter('set' + 'trace')(sys)(None)",
    "ctypes": "importlib.import_module('c' + 'types').string_at(id(0), 8)",
    "processes": "importlib.import_module('sub' + 'process').run(['true'])",
    "code": "functools.partial(setattr)(torch.nn.functional.relu, '__co' + 'de__', (lambda: 0).__code__)",
}


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_a_refused_operation_costs_the_call_even_when_caught(engines, kind):
    """The audit hook refuses it, the student's ``except`` swallows the refusal, the answer is
    right: the problem is still ``forbidden``, with what was refused named in both languages.
    With the audit hook off the same submission gets full marks."""
    source = ("import functools, importlib, operator, sys\n" + SIG
              + f"    try:\n        {REFUSED[kind]}\n    except Exception:\n        pass\n" + KEY_LINSPACE)
    _, result = _grade(engines(), "a01_tensors", "linspace", source, None)
    messages = [c.message for c in result.cases if c.message]
    assert result.status == "forbidden" and result.score == 0, [str(m) for m in messages]
    assert "refuses" in messages[0].en and "禁止" in messages[0].zh, messages[0]
    _, weak = _grade(engines("audit"), "a01_tensors", "linspace", source, None)
    assert (weak.status, weak.score) == ("ok", weak.points), [str(c.message) for c in weak.cases]


def precomputed_cell() -> str:
    """A top-level cell computing torch.linspace for every hidden case (their arguments are in
    the spec's source, which the student has read): no graded call runs there."""
    from autograder import judge, specs

    problem = next(p for p in specs.load("a01_tensors").problems if p.function == "linspace")
    wire = judge.encode_cases(problem, judge.expand_cases(problem, ["cpu"]), {})
    keys = sorted({tuple(a["value"] for a in w["args"][:3]) for w in wire})
    return f"CACHE = {{k: torch.linspace(*k) for k in {keys!r}}}\n"


PRECOMPUTED = SIG + "    return CACHE[(start, end, steps)].to(device).clone()\n"


def test_answers_precomputed_at_top_level_are_flagged(engines):
    """The function only looks its answer up, so the graded calls' recorders see no kernel; the
    student's top-level cells are recorded too, and a forbidden kernel reached there flags the
    notebook for review (scores kept). Recording the top level off: silent full marks."""
    from autograder import review

    cell = precomputed_cell()
    assert review.scan([{"index": 0, "source": PRECOMPUTED}, {"index": 1, "source": cell}]) == []
    report, result = _grade(engines(), "a01_tensors", "linspace", PRECOMPUTED, cell)
    assert result.status == "ok" and any("linspace may not use" in f["what"] for f in report.review), report.review
    weak_report, weak = _grade(engines("top_level"), "a01_tensors", "linspace", PRECOMPUTED, cell)
    assert (weak.status, weak_report.review) == ("ok", []), weak_report.review


def test_torch_cuda_may_use_ctypes_itself(engines):
    """On a CUDA build ``torch.cuda.device_count()`` asks NVML through ctypes: torch's own call is
    not refused (here, on any machine, the NVML probe itself; without NVML it raises OSError),
    while the same ctypes call from the student's code is (see the refused-operation tests)."""
    source = (SIG + "    try:\n        torch.cuda._raw_device_count_nvml()\n    except OSError:\n        pass\n"
              + KEY_LINSPACE)
    _, result = _grade(engines(), "a01_tensors", "linspace", source, None)
    assert (result.status, result.score) == ("ok", result.points), [str(c.message) for c in result.cases]
