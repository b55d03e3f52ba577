"""The warm workers: do submissions graded side by side stay apart, and does a dead worker cost
nothing? (The fork path needs root; the bubblewrap fallback is covered in test_sandbox.py and
test_pipeline_all.py.)"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import nbformat
import pytest

from autograder import engine, sandbox, specs, zygote
from autograder.demo import fill, key_answers
from autograder.notebooks import grading_cells
from conftest import MASTERS, ROOT, alive, descendants

A = "a01_tensors"
MASTER = ROOT / "course" / "source" / A / f"{A}.ipynb"
FAST = sandbox.Limits(cell_seconds=6, problem_seconds=6)
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="the fork path needs root (it mounts and changes uid)")

# The probe: nbytes is right only if this submission sees no other job folder, no other
# process and no other job's results; otherwise it raises, naming the leak, and loses points.
PROBE = '''
def nbytes(x):
    import glob, os
    here = os.getcwd()
    leaks = [d for d in glob.glob(os.path.join(os.path.dirname(here), "*")) if d != here]
    leaks += [f"pid {p}" for p in os.listdir("/proc") if p.isdigit() and int(p) > 1
              and open(f"/proc/{p}/status").read().split("Uid:")[1].split()[0] != str(os.getuid())]
    if leaks:
        raise RuntimeError("sees " + ", ".join(leaks)[:200])
    return x.numel() * x.element_size()
'''
# The neighbour from hell: tries to kill everything it may signal, forks without end, asks for
# far more memory than it may have, then sleeps so that it overlaps with the other submission.
HOSTILE_CELLS = [
    "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError as e:\n    print(e)\n",
    "import time\ntime.sleep(2)\n",
    "try:\n    hog = bytearray(1 << 42)\nexcept MemoryError:\n    print('no memory for you')\n",
    "import os\nwhile True:\n    try:\n        os.fork()\n    except Exception:  # OSError (no process left) or the guard's refusal\n        pass\n",
]


def submission(extra_cells=(), **answers):
    nb = fill(nbformat.read(str(MASTER), as_version=4), {**key_answers(MASTER),
                                                          **{f"sol_{k}": v for k, v in answers.items()}})
    for i, source in enumerate(extra_cells):
        nb.cells.insert(3 + i, nbformat.v4.new_code_cell(source))
    return grading_cells(nb)


@ROOT_ONLY
def test_two_submissions_at_once_stay_apart_and_a_bomb_costs_only_its_own_cell(tmp_path):
    """Graded at the same time on two workers: does neither see the other's job folder or
    processes, does the fork bomb, memory bomb and kill(-1) of one leave the other's score
    untouched, and does each run as its own uid?"""
    calm = submission(["import time\ntime.sleep(2)\n"], nbytes=PROBE)
    wild = submission(HOSTILE_CELLS, nbytes=PROBE)
    with engine.LocalEngine(2, "fork") as eng:
        assert eng.info()["path"] == "fork"
        warm_by = time.time() + 60
        while not all(w.pid for w in eng.workers) and time.time() < warm_by:
            time.sleep(0.05)  # both warm, so the wall time below is grading only
        t0 = time.time()
        done = eng.grade_all([engine.Job("calm", A, calm, FAST, work_dir=str(tmp_path)),
                              engine.Job("wild", A, wild, FAST, work_dir=str(tmp_path))])
        wall = time.time() - t0
    reports = {d.job.key: d.report for d in done}
    assert all(d.report is not None for d in done), [d.error for d in done]
    assert {d.worker for d in done} == {0, 1}, "each submission had a worker of its own"
    calm_nbytes = next(p for p in reports["calm"].problems if p.function == "nbytes")
    assert calm_nbytes.status == "ok", [str(c.message) for c in calm_nbytes.cases]
    assert reports["calm"].score == 10
    wild_nbytes = next(p for p in reports["wild"].problems if p.function == "nbytes")
    assert wild_nbytes.status == "ok", [str(c.message) for c in wild_nbytes.cases]
    assert reports["wild"].score == 10 and reports["wild"].flags == [f"cell {3 + 3} skipped"]
    assert wall < reports["calm"].seconds + reports["wild"].seconds, "they were graded at the same time"
    uids = {d.job.key: next(m for m in d.report.sandbox if m.startswith("unprivileged uid")) for d in done}
    assert uids["calm"] != uids["wild"]
    assert not list(tmp_path.iterdir()), "job folders are removed"


@ROOT_ONLY
def test_a_worker_killed_mid_submission_grades_it_again_and_leaves_nothing():
    """Kill a worker's whole process tree while it grades: is the submission graded again on a
    fresh worker, once, with full marks, and is every process of the killed tree gone?"""
    cells = submission(["import time\ntime.sleep(3)\n"])
    with engine.LocalEngine(1, "fork") as eng:
        eng.submit(engine.Job("victim", A, cells, FAST))
        deadline = time.time() + 60
        while eng.workers[0].pid is None and time.time() < deadline:
            time.sleep(0.05)
        first = eng.workers[0].pid
        time.sleep(2.0)  # inside the sleeping cell
        tree = descendants(first) | {first}
        assert len(tree) >= 4, "slot zygote, judge, warden and the sandboxed child were running"
        os.kill(first, signal.SIGKILL)
        [done] = list(eng.completed())
        assert eng.workers[0].pid != first, "a fresh worker took over"
    assert done.error is None and done.report.score == 10 and done.job.attempts == 2
    time.sleep(0.5)
    assert not [p for p in tree if alive(p)]


def test_a_job_that_keeps_killing_its_worker_is_reported_not_lost(monkeypatch):
    """When the worker dies under the same job twice, does the job come back as an error?"""
    def die(self, job, request_id):
        raise engine.WorkerDied("simulated")
    monkeypatch.setattr(engine.Worker, "grade", die)
    monkeypatch.setattr(engine.Worker, "start", lambda self: None)
    monkeypatch.setattr(engine.Template, "stop", lambda self: None)
    monkeypatch.setattr(engine.Worker, "stop", lambda self: None)
    with engine.LocalEngine(1, "bwrap") as eng:
        [done] = eng.grade_all([engine.Job("x", A, [])])
    assert done.report is None and "died twice" in done.error and done.job.attempts == 2


def test_no_worker_can_start_answers_every_job_with_the_reason(monkeypatch):
    """If no worker can start (say, a forced fork path), do queued jobs fail loudly, never hang?"""
    def refuse(self):
        raise sandbox.SandboxUnavailable("fork sandbox unavailable / fork 沙箱不可用: simulated")
    monkeypatch.setattr(engine.Template, "_ensure_started", refuse)
    with engine.LocalEngine(2, "fork") as eng:
        with pytest.raises(sandbox.SandboxUnavailable):
            eng.info()
        done = eng.grade_all([engine.Job(i, A, []) for i in range(3)])
    assert len(done) == 3 and all("simulated" in d.error for d in done)


@pytest.mark.parametrize("requested,ready,path", [("fork", False, None), ("auto", True, "bwrap")])
def test_where_fork_is_unavailable_a_forced_path_is_refused_and_auto_falls_back_aloud(requested, ready, path):
    """Without the fork path: does --sandbox fork refuse, and auto say it fell back, and why?"""
    import socket
    ours, theirs = socket.socketpair()
    code = ("import autograder.zygote as z\n"
            "z.probe = lambda uid: 'simulated: no user namespaces'\n"
            f"z.main(['--sandbox', {requested!r}, '--control', '{theirs.fileno()}'])\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            pass_fds=[theirs.fileno()])
    theirs.close()
    line = json.loads(proc.stdout.readline())
    proc.stdin.close()
    ours.close()  # the template exits when its control socket closes
    proc.wait(timeout=60)
    assert line["ready"] is ready
    if ready:
        assert line["path"] == path and "simulated" in line["why_not_fork"]
        assert any("slower" in m for m in line["mechanisms"])
    else:
        assert "fork" in line["error"] and "simulated" in line["error"]


@ROOT_ONLY
def test_the_warm_process_refuses_to_fork_with_a_second_thread():
    """A forked child of a multi-threaded parent can deadlock: does the zygote refuse?"""
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        result = zygote.run_sandboxed(tempfile.mkdtemp(), sandbox.Limits(), zygote.UID_BASE, dry_run=True)
    finally:
        stop.set()
        t.join()
    assert "threads" in result["error"]


WARM_CHECK = '''
import json, os, sys
from autograder import zygote, harness
zygote.preload()
before = set(sys.modules)
pid = os.fork()
if pid == 0:
    os._exit = lambda code: (_ for _ in ()).throw(SystemExit(code))
    try:
        harness.main(sys.argv[1])
    except SystemExit:
        pass
    print(json.dumps(sorted(set(sys.modules) - before)), flush=True)
    os.sys.exit(0)
os.waitpid(pid, 0)
'''


@pytest.mark.parametrize("assignment", [p.stem for p in MASTERS])
def test_a_warm_child_imports_nothing_from_disk(assignment, tmp_path):
    """Grading the answer key in a child of the warm process: is every module it needs already
    imported (nothing read from disk after the privilege drop, no import time per submission)?"""
    from autograder import grade
    master = ROOT / "course" / "source" / assignment / f"{assignment}.ipynb"
    nb = fill(nbformat.read(str(master), as_version=4), key_answers(master))
    plan = grade.AssignmentPlan(specs.load(assignment), ["cpu"])
    plan.write_job(tmp_path, grading_cells(nb), set(), list(plan.assignment.problems))
    out = subprocess.run([sys.executable, "-c", WARM_CHECK, str(tmp_path)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    new = json.loads(out.stdout.strip().splitlines()[-1])
    assert new == ["autograder.check"], new  # the stub the harness installs for the visible check
