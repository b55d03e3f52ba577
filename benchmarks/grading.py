"""Grading throughput: stock ``nbgrader autograde`` vs ``make grade``, in one run / 评分吞吐量对比.

    .venv/bin/python benchmarks/grading.py [--assignment a07_classification_losses] [-n 20]
                                           [--hostile 4] [--workers 0] [--skip-stock]
                                           [--scheduler tcp://HOST:8786] [--big-class]

Both grade the same N submissions (a fixed mix: the answer key, partly wrong variants from
``autograder.samples``, the blank release) plus a few hostile ones, in scratch copies of the
course. "stock" is one ``nbgrader autograde ASSIGNMENT`` command for every student, with
nbgrader's default preprocessors (each notebook runs in its own kernel; the student's code can
change what the tests see). "make grade" is ``python -m autograder grade``, what the Makefile
runs: warm forked sandboxed workers, the trusted judge. It is also run with ``--workers 1``, and
the scores of the two runs must be identical.

Figures: wall seconds (whole command, interpreter start included), submissions per second,
seconds per submission (stock: between consecutive finished submissions, as it grades one
after another; make grade: a submission's time in a worker, from its report), peak memory
(the sum of PSS over the command's process tree, sampled every 0.2 s) and the ratio to stock.
It prints figures and exits non-zero only if the two make-grade runs disagree.

``--scheduler ADDRESS`` grades the make-grade rows on that Dask cluster instead (same table).
``--big-class`` adds rows for a Dask cluster started here (scheduler + 2 one-thread workers on
127.0.0.1): its first batch ("cold": each worker imports torch and plans the assignment once,
as the local pool does in every run) and the next ("warm": a cluster keeps its graders warm
between batches of the same assignment), a PostgreSQL gradebook (a temporary server, as in the
tests) and both together. Peak memory then includes the scheduler's and workers' processes.

``--assignment pc1`` grades the classic test assignment of ``tests/classic/`` instead (no spec:
plain asserts, an AUTOTEST, partial credit, written answers; correct, blank and partly wrong
submissions in turn), and also compares every cell's auto score with stock's.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.pipeline import Course  # noqa: E402
from tests.classic import fixture as classic  # noqa: E402
from tests.conftest import descendants  # noqa: E402
from tests.servers import dask_cluster, postgres  # noqa: E402
from tests.synthetic import HOSTILE, make_course, submissions  # noqa: E402


def _pss_mib(pids) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def timed(command: list[str], cwd: Path, also: list[int] = ()) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a command; return wall seconds, peak PSS of its process tree (MiB) plus the trees of
    the processes ``also`` (a Dask cluster's scheduler and workers), the result."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, stop = [0.0], threading.Event()

    def sample():
        while not stop.wait(0.2):
            pids = {proc.pid, *also}.union(*(descendants(p) for p in (proc.pid, *also)))
            peak[0] = max(peak[0], _pss_mib(pids))
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - t0
    stop.set()
    sampler.join()
    return seconds, peak[0], subprocess.CompletedProcess(command, proc.returncode, out)


def finish_times(root: Path, assignment: str) -> list[float]:
    return sorted(p.stat().st_mtime for p in (root / "autograded").glob(f"*/{assignment}/*.ipynb"))


def run_stock(root: Path, assignment: str) -> dict:
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    start = time.time()
    wall, peak, result = timed([nbgrader, "autograde", assignment, "--force"], root)
    ends = finish_times(root, assignment)
    gaps = [b - a for a, b in zip([start] + ends[:-1], ends)]
    return {"wall": wall, "peak": peak, "per": gaps, "ok": result.returncode == 0, "out": result.stdout}


def run_ours(root: Path, assignment: str, workers: int, scheduler: str | None = None, also: list[int] = ()) -> dict:
    command = [sys.executable, "-m", "autograder", "grade", "--assignment", assignment, "--course", str(root)]
    if workers:
        command += ["--workers", str(workers)]
    if scheduler:
        command += ["--scheduler", scheduler]
    wall, peak, result = timed(command, ROOT, also)
    reports = [json.loads(p.read_text()) for p in (root / "reports" / assignment).glob("*/*.json")]
    batch = json.loads((root / "reports" / assignment / "batch.json").read_text())
    return {"wall": wall, "peak": peak, "per": [r["seconds"] for r in reports if "problems" in r and r["problems"]],
            "ok": result.returncode == 0, "out": result.stdout, "batch": batch,
            "phases": [r.get("phases", {}) for r in reports]}


def scores(root: Path, assignment: str) -> dict[str, float]:
    return {r["student"]: r["score"] for r in Course(root).scores(assignment)}


def cell_scores(root: Path, assignment: str) -> dict[tuple, tuple]:
    """(student, notebook, cell) -> (auto score, needs manual grading), from the gradebook."""
    course = Course(root)
    with course.here(), course.gradebook() as gb:
        return {(sub.student.id, nb.name, g.name): (g.auto_score, g.needs_manual_grade)
                for sub in gb.assignment_submissions(assignment) for nb in sub.notebooks for g in nb.grades}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def row(name: str, r: dict, n: int, stock_wall: float | None) -> str:
    ratio = f"{stock_wall / r['wall']:7.1f}x" if stock_wall else "      -"
    return (f"{name:22s} {r['wall']:8.1f} {n / r['wall']:8.2f} {pct(r['per'], .5):7.2f} {pct(r['per'], .9):7.2f}"
            f" {r['peak']:9.0f} {ratio}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="a07_classification_losses")
    parser.add_argument("-n", type=int, default=20, help="ordinary submissions (correct, partly wrong, blank)")
    parser.add_argument("--hostile", type=int, default=4, help=f"hostile submissions added (at most {len(HOSTILE)})")
    parser.add_argument("--workers", type=int, default=0, help="make grade workers (0: one per core)")
    parser.add_argument("--skip-stock", action="store_true", help="only make grade (e.g. for N=200)")
    parser.add_argument("--scheduler", default=None,
                        help="grade the make-grade rows on the Dask cluster at this address (e.g. tcp://HOST:8786)")
    parser.add_argument("--big-class", action="store_true",
                        help="also: a Dask cluster started here (2 workers) and a PostgreSQL gradebook, "
                             "alone and together")
    args = parser.parse_args(argv)
    with ExitStack() as servers:
        return compare(args, servers)


def compare(args, servers: ExitStack) -> int:
    if args.assignment == classic.A:
        plan = {f"s{k:03d}": classic.HONEST[k % 3] for k in range(args.n)}
    else:
        plan = submissions(args.assignment, args.n, args.hostile)
    total = len(plan)
    print(f"{args.assignment}: {total} submissions ({args.n} ordinary + {total - args.n} hostile), "
          f"{os.cpu_count()} cores")
    results, roots = {}, {}
    kinds = ([] if args.skip_stock else ["stock"]) + ["make grade", "make grade WORKERS=1"]
    # kind -> (Dask scheduler or None, PostgreSQL database or None)
    how = {"make grade": (args.scheduler, None), "make grade WORKERS=1": (args.scheduler, None)}
    if args.big_class:
        pg = servers.enter_context(postgres())
        log = Path(tempfile.mkdtemp(prefix="bench-dask-")) / "cluster.log"
        cluster = servers.enter_context(dask_cluster({"w0": None, "w1": None}, log))
        how.update({"Dask 2 workers, cold": (cluster.address, None), "Dask 2 workers, warm": (cluster.address, None),
                    "PostgreSQL gradebook": (None, "bench_local"), "Dask + PostgreSQL": (cluster.address, "bench_dask")})
        kinds += list(how)[2:]
        cluster_pids = [cluster.scheduler.pid] + [w.pid for w in cluster.workers]
    for kind in kinds:
        scheduler, database = how.get(kind, (None, None))
        extra = f"\nc.CourseDirectory.db_url = {pg.fresh_database(database)!r}\n" if database else ""
        roots[kind] = make_course("stock" if kind == "stock" else "ours", args.assignment, plan, extra)
        if kind == "stock":
            results[kind] = run_stock(roots[kind], args.assignment)
        else:
            workers = 1 if kind.endswith("=1") else args.workers
            also = cluster_pids if scheduler and args.big_class else []
            results[kind] = run_ours(roots[kind], args.assignment, workers, scheduler, also)
        if not results[kind]["ok"]:
            print(f"!! {kind} exited non-zero:\n{results[kind]['out'][-3000:]}")
    got = {k: scores(roots[k], args.assignment) for k in kinds}
    stock_wall = results["stock"]["wall"] if "stock" in results else None
    print(f"\n{'':22s} {'wall s':>8s} {'subm/s':>8s} {'p50 s':>7s} {'p90 s':>7s} {'peak MiB':>9s} {'vs stock':>8s}")
    for kind in kinds:
        print(row(kind, results[kind], total, stock_wall))
    same = all(got[k] == got["make grade WORKERS=1"] for k in kinds if k != "stock")
    print(f"\nscores of every make-grade row identical to WORKERS=1: {'yes' if same else 'NO'} "
          f"({len(got['make grade'])} students)")
    if "stock" in got:
        cells = {k: cell_scores(roots[k], args.assignment) for k in ("stock", "make grade")}
        same_cells = sum(cells["stock"].get(c) == v for c, v in cells["make grade"].items())
        print(f"same auto score and manual-grading flag as stock nbgrader, cell by cell: {same_cells} of "
              f"{len(cells['make grade'])}")
        agree = sum(got["stock"].get(s) == v for s, v in got["make grade"].items())
        print(f"same score as stock nbgrader: {agree} of {total} (stock runs the student's kernel: hostile "
              "cells change what its tests see)")
    ours = results["make grade"]
    b = ours["batch"]
    phases = {k: statistics.mean(p.get(k, 0) for p in ours["phases"]) for k in ("write", "run", "judge")}
    print(f"\nmake grade: {b['workers']} workers, sandbox path {b['sandbox_path']}; warm-up {b['warm_seconds']:.1f} s;"
          f" per submission in a worker: write job {phases['write'] * 1e3:.0f} ms, sandboxed run "
          f"{phases['run'] * 1e3:.0f} ms, judge {phases['judge'] * 1e3:.0f} ms; in the coordinator: nbgrader "
          f"prepare {b['prepare_seconds'] / total * 1e3:.0f} ms, record {b['record_seconds'] / total * 1e3:.0f} ms")
    print("\nnbgrader bookkeeping in the coordinator, ms per submission (prepare / record):")
    for kind in kinds[kinds.index("make grade"):]:
        b = results[kind]["batch"]
        print(f"  {kind:22s} {b['prepare_seconds'] / total * 1e3:5.0f} / {b['record_seconds'] / total * 1e3:5.0f}"
              f"   ({b['workers']} workers{', ' + b['scheduler'] if b.get('scheduler') else ''})")
    for root in roots.values():
        shutil.rmtree(root, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
