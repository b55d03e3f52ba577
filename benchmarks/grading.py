"""Grading throughput: stock ``nbgrader autograde`` vs ``make grade``, in one run / 评分吞吐量对比.

    .venv/bin/python benchmarks/grading.py [--assignment a07_classification_losses] [-n 20]
                                           [--hostile 4] [--workers 0] [--skip-stock]

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from autograder import demo, notebooks, samples  # noqa: E402
from autograder.pipeline import Course  # noqa: E402
from tests.classic import fixture as classic  # noqa: E402
from tests.conftest import STOCK_CONFIG, descendants  # noqa: E402

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


def make_course(kind: str, assignment: str, plan: dict) -> Path:
    root = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    config = STOCK_CONFIG if kind == "stock" else ((ROOT / "course" / "nbgrader_config.py").read_text()
                                                   + f"\nc.TrustedExecute.work_dir = {str(root / 'jobs')!r}\n")
    if assignment == classic.A:  # the classic test assignment: no spec, asserts, manual answers
        classic.submit(classic.make_course(root, config), plan)
        return root
    (root / "nbgrader_config.py").write_text(config)
    shutil.copytree(ROOT / "course" / "source" / assignment, root / "source" / assignment)
    Course(root).release(assignment)
    write_submissions(root, assignment, plan)
    return root


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


def timed(command: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a command; return wall seconds, peak PSS of its process tree (MiB), the result."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, stop = [0.0], threading.Event()

    def sample():
        while not stop.wait(0.2):
            peak[0] = max(peak[0], _pss_mib(descendants(proc.pid) | {proc.pid}))
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


def run_ours(root: Path, assignment: str, workers: int) -> dict:
    command = [sys.executable, "-m", "autograder", "grade", "--assignment", assignment, "--course", str(root)]
    if workers:
        command += ["--workers", str(workers)]
    wall, peak, result = timed(command, ROOT)
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
    args = parser.parse_args(argv)
    if args.assignment == classic.A:
        plan = {f"s{k:03d}": classic.HONEST[k % 3] for k in range(args.n)}
    else:
        plan = submissions(args.assignment, args.n, args.hostile)
    total = len(plan)
    print(f"{args.assignment}: {total} submissions ({args.n} ordinary + {total - args.n} hostile), "
          f"{os.cpu_count()} cores")
    results, roots = {}, {}
    kinds = ([] if args.skip_stock else ["stock"]) + ["make grade", "make grade WORKERS=1"]
    for kind in kinds:
        roots[kind] = make_course("stock" if kind == "stock" else "ours", args.assignment, plan)
        if kind == "stock":
            results[kind] = run_stock(roots[kind], args.assignment)
        else:
            results[kind] = run_ours(roots[kind], args.assignment, 1 if kind.endswith("=1") else args.workers)
        if not results[kind]["ok"]:
            print(f"!! {kind} exited non-zero:\n{results[kind]['out'][-3000:]}")
    got = {k: scores(roots[k], args.assignment) for k in kinds}
    stock_wall = results["stock"]["wall"] if "stock" in results else None
    print(f"\n{'':22s} {'wall s':>8s} {'subm/s':>8s} {'p50 s':>7s} {'p90 s':>7s} {'peak MiB':>9s} {'vs stock':>8s}")
    for kind in kinds:
        print(row(kind, results[kind], total, stock_wall))
    same = got["make grade"] == got["make grade WORKERS=1"]
    print(f"\nscores identical to WORKERS=1: {'yes' if same else 'NO'} ({len(got['make grade'])} students)")
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
    for root in roots.values():
        shutil.rmtree(root, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
