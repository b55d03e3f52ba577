"""A class bigger than one machine, against real servers / 超出一台机器的班级：用真实服务器测试.

What runs: a PostgreSQL server (``initdb`` into a temporary folder, as the unprivileged system user
``autograder-db`` when root, on a Unix socket in that folder) and a Dask scheduler with two workers
(separate ``dask scheduler`` / ``dask worker`` processes on 127.0.0.1; worker ``w1`` declares the
resource ``GPU=1``, a fake GPU: this machine has none). 24 submissions of a01 (answer key, partly
wrong variants, blank releases, two hostile) are graded through them and compared with grading
the same submissions locally on SQLite: identical scores cell by cell, exactly one gradebook row
per student and grade cell.

Faults: a Dask worker killed mid-batch, the scheduler unreachable, PostgreSQL restarted mid-batch
and PostgreSQL down for longer than the grader waits; after each, a re-run gives the same gradebook.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder import batch
from autograder.distributed import GPU, DaskEngine, SchedulerUnreachable, plugin_state
from autograder.engine import Job
from autograder.pipeline import Course
from tests.servers import dask_cluster, free_port, postgres, why_no_postgres
from tests.synthetic import make_course, submissions

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("big_class"),
              pytest.mark.skipif(why_no_postgres() is not None, reason=why_no_postgres() or "")]

A = "a01_tensors"
PLAN = submissions(A, 22, 2)  # 24 students
CPU_ONLY = "\nc.TrustedExecute.devices = ['cpu']\n"  # the same on every worker (w1's GPU is fake)
ROOT = Path(__file__).resolve().parent.parent


def db_config(url: str) -> str:
    return f"\nc.CourseDirectory.db_url = {url!r}\n"


def cell_rows(course: Course) -> dict[tuple, tuple]:
    """(student, notebook, cell) -> (auto score, needs manual grade), one entry per gradebook row."""
    with course.here(), course.gradebook() as gb:
        rows = [((sub.student.id, nb.name, g.name), (g.auto_score, g.needs_manual_grade))
                for sub in gb.assignment_submissions(A) for nb in sub.notebooks for g in nb.grades]
    keys = [k for k, _ in rows]
    assert len(keys) == len(set(keys)), "a student's grade cell has more than one gradebook row"
    return dict(rows)


def whole_or_nothing(course: Course, reference: dict) -> set[str]:
    """The students whose grades are recorded; each of them whole (every cell's auto score as in
    ``reference``), every other student with none at all: never some cells of a student."""
    scores: dict[str, list] = {}
    for key, (score, _) in cell_rows(course).items():
        scores.setdefault(key[0], []).append((score, reference[key][0]))
    recorded = {s for s, pairs in scores.items() if any(got is not None for got, _ in pairs)}
    for student in recorded:
        assert all(got == want for got, want in scores[student]), (student, scores[student])
    return recorded


def grade_rows_in_postgres(pg) -> int:
    [(n,)] = pg.sql("SELECT count(*) FROM grade", database=pg.database)
    return n


@pytest.fixture(scope="module")
def reference() -> dict[tuple, tuple]:
    """The same submissions graded locally, on SQLite: what every other run must match."""
    course = Course(make_course("ours", A, PLAN, CPU_ONLY))
    outcomes = course.grade(A, quiet=True)
    assert all(o.ok for o in outcomes)
    return cell_rows(course)


@pytest.fixture(scope="module")
def pg():
    with postgres() as server:
        yield server


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    log = tmp_path_factory.mktemp("dask") / "cluster.log"
    with dask_cluster({"w0": None, "w1": f"{GPU}=1"}, log) as running:
        yield running


def test_dask_and_postgresql_grade_like_local_sqlite(cluster, pg, reference):
    """24 submissions on the Dask cluster, gradebook on PostgreSQL: the same scores as local
    grading on SQLite, cell by cell, one row per student and cell, and both workers took work.
    (Fails if a worker graded differently, e.g. on its own devices, or a notebook was recorded twice.)"""
    pg.fresh_database(pg.database)
    course = Course(make_course("ours", A, PLAN, CPU_ONLY + db_config(pg.url)))
    outcomes = course.grade(A, scheduler=cluster.address, quiet=True)
    assert [o.student for o in outcomes if not o.ok] == []
    assert cell_rows(course) == reference
    assert grade_rows_in_postgres(pg) == len(reference)
    from distributed import Client
    with Client(cluster.address, set_as_default=False) as client:
        graded = {a: s["graded"] for a, s in client.run(plugin_state).items()}
    assert len(graded) == 2 and all(n > 0 for n in graded.values()), graded
    batch_info = (course.reports().root / A / "batch.json").read_text()
    assert cluster.address in batch_info

    # the rest of the pipeline on PostgreSQL: feedback, export, and what the formgrader reads
    course.feedback(A, outcomes)
    pages = sorted((course.root / "feedback").glob(f"*/{A}/{A}.html"))
    assert len(pages) == len(PLAN)
    csv_path, _ = course.export(A, course.root / "out")
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(PLAN) + 1
    with course.here():
        listed = course.api.get_submissions(A)
    assert {s["student"] for s in listed} == set(PLAN)
    assert {s["student"]: s["score"] for s in listed} == {r["student"]: r["score"] for r in course.scores(A)}


def test_cuda_notebooks_run_only_on_workers_declaring_a_gpu(cluster):
    """Notebooks graded on CUDA ask for the GPU resource: all of them land on w1 (which fails
    them here, having no real CUDA), none on w0; CPU notebooks may go anywhere."""
    names = cluster.worker_addresses()
    engine = DaskEngine(cluster.address, prewarm=(A, ["cpu", "cuda"]))
    try:
        assert engine.devices == ["cpu", "cuda"]
        for k in range(6):
            engine.submit(Job(k, A, [{"index": 0, "source": "x = 1"}]))
        done = list(engine.completed())
    finally:
        engine.close()
    assert {d.worker for d in done} == {names["w1"]}
    assert all("cuda" in (d.error or "") for d in done)


def test_cuda_without_a_gpu_worker_is_refused_before_grading(tmp_path):
    with dask_cluster({"w0": None}, tmp_path / "cluster.log") as cpu_only:
        with pytest.raises(SchedulerUnreachable, match="GPU"):
            DaskEngine(cpu_only.address, prewarm=(A, ["cpu", "cuda"]))
        engine = DaskEngine(cpu_only.address, prewarm=(A, ["auto"]))
        assert engine.devices == ["cpu"]  # "auto" on a cluster without GPU workers
        engine.close()


def test_unreachable_scheduler_is_refused_before_anything_is_written(tmp_path):
    """`make grade SCHEDULER=...` with nobody listening: exit 3, a bilingual message, no gradebook rows."""
    root = make_course("ours", A, dict(list(PLAN.items())[:2]), CPU_ONLY)
    address = f"tcp://127.0.0.1:{free_port()}"
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", "--assignment", A, "--course", str(root),
                             "--scheduler", address], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 3, result.stdout + result.stderr
    assert "无法连接 Dask 调度器" in result.stdout and "cannot reach the Dask scheduler" in result.stdout
    course = Course(root)
    with course.here(), course.gradebook() as gb:
        assert gb.students == [] and gb.assignment_submissions(A) == []


def _when_recorded(course: Course, count: int, action, seconds: float = 300) -> threading.Thread:
    """Run ``action`` (in a thread) once ``count`` students have reports, i.e. mid-batch."""
    def watch():
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            folder = course.reports().root / A
            if folder.exists() and sum(1 for p in folder.glob("*/*.json")) >= count:
                action()
                return
            time.sleep(0.05)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_worker_killed_mid_batch_loses_nothing(tmp_path, reference):
    """SIGKILL one of two Dask workers while the batch runs: Dask moves its tasks to the other,
    every submission is recorded once and scores as locally. (Fails if the engine waited on the
    dead worker's futures or recorded a rescheduled notebook twice.)"""
    with dask_cluster({"k0": None, "k1": None}, tmp_path / "cluster.log") as running:
        course = Course(make_course("ours", A, PLAN, CPU_ONLY))
        victim = running.workers[1]
        killer = _when_recorded(course, 3, lambda: os.killpg(victim.pid, signal.SIGKILL))
        outcomes = course.grade(A, scheduler=running.address, quiet=True)
        killer.join(timeout=5)
        assert victim.poll() is not None, "the worker was not killed mid-batch"
        assert [o.student for o in outcomes if not o.ok] == []
        assert cell_rows(course) == reference


def test_postgresql_restarted_mid_batch_grading_resumes(pg, reference):
    """PostgreSQL restarted (immediate stop, start) while grading: the lost connections are
    replaced, every student is recorded whole, as locally. (Fails without the gradebook retry:
    the student being recorded got "autograding failed" and the batch crashed on the next write.)"""
    pg.fresh_database(pg.database)
    course = Course(make_course("ours", A, PLAN, CPU_ONLY + db_config(pg.url)))
    restarter = _when_recorded(course, 4, pg.restart)
    outcomes = course.grade(A, workers=2, quiet=True)
    restarter.join(timeout=30)
    assert [o.student for o in outcomes if not o.ok] == []
    assert cell_rows(course) == reference
    assert grade_rows_in_postgres(pg) == len(reference)


def test_postgresql_down_stops_the_batch_and_a_rerun_completes_it(pg, reference, monkeypatch):
    """PostgreSQL stopped in the middle of recording a student (after two of its grade cells) and
    not back within the wait: the batch stops with a bilingual message (GradebookUnavailable);
    that student has no grade at all, never some cells (each student is one transaction:
    without :func:`~autograder.bookkeeping.one_transaction` its first two cells stay written, and
    this test fails); once the server is back, `make grade` again gives the same gradebook as an
    undisturbed run."""
    from nbgrader.preprocessors import SaveAutoGrades
    monkeypatch.setattr(batch, "GRADEBOOK_WAIT_SECONDS", 2.0)
    pg.fresh_database(pg.database)
    course = Course(make_course("ours", A, PLAN, CPU_ONLY + db_config(pg.url)))
    per_student = sum(1 for key in reference if key[0] == "s000")
    written, add_score = [], SaveAutoGrades._add_score

    def add_score_then_stop(self, cell, resources):
        add_score(self, cell, resources)
        written.append(resources["nbgrader"]["student"])
        if len(written) == 4 * per_student + 2:  # two cells into the fifth student
            pg.stop()
    monkeypatch.setattr(SaveAutoGrades, "_add_score", add_score_then_stop)
    try:
        with pytest.raises(batch.GradebookUnavailable, match="成绩库连接中断.*gradebook database was unreachable"):
            course.grade(A, workers=2, quiet=True)
    finally:
        pg.start()
    monkeypatch.setattr(SaveAutoGrades, "_add_score", add_score)
    recorded = whole_or_nothing(course, reference)
    assert recorded == set(written[:4 * per_student]) and written[-1] not in recorded, (recorded, written[-1])
    outcomes = course.grade(A, workers=2, quiet=True)
    assert [o.student for o in outcomes if not o.ok] == []
    assert cell_rows(course) == reference


def test_two_graders_writing_one_postgresql_gradebook_at_once(pg, reference, tmp_path):
    """Two `make grade` processes at once (two TAs, half the class each) on one PostgreSQL
    gradebook: concurrent writers, nothing lost, one row per student and cell."""
    pg.fresh_database(pg.database)
    root = make_course("ours", A, PLAN, CPU_ONLY + db_config(pg.url))
    students = sorted(PLAN)
    halves = [students[0::2], students[1::2]]
    script = ("import sys; from pathlib import Path; from autograder.pipeline import Course; "
              "c = Course(Path(sys.argv[1])); o = c.grade(sys.argv[2], students=sys.argv[3].split(','), workers=1, "
              "quiet=True); sys.exit(0 if all(x.ok for x in o) else 1)")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(root), A, ",".join(half)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for half in halves]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert cell_rows(Course(root)) == reference
    assert grade_rows_in_postgres(pg) == len(reference)
