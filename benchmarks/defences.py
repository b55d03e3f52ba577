"""What each defence against a student who read the grader costs, in ms per submission / 每项防御的开销.

    .venv/bin/python benchmarks/defences.py [--assignment a07_classification_losses] [-r 9]

One run, one machine, the answer key of one assignment as the submission (honest code: what
every correct student pays). Two kinds of figure:

* **toggled**: the sandboxed child's layers (``harness.DEFENCES``: audit hook, thread refusal,
  integrity check, autograd-graph record, hiding the grader's modules, unlinking the job files,
  the seal) are switched off one at a time in a fork of this process that runs the harness on
  a real job folder (cells, then every problem's graded calls), as the warm worker's child
  does, without the sandbox's walls (the same for every variant). Rounds run every variant in
  a shuffled order; the cost is median(all on) - median(that one off) of the child's CPU time
  (``wait4``), with the spread of the all-on runs beside it, so a cost smaller than the noise
  reads as such.
* **direct**: the trusted side's checks (static review, sanitizer, seal check, bounded reads of
  the results, the name table) and the cheap syscalls (RLIMIT_NPROC), each timed alone, many
  times, median CPU time.

It prints a table and exits 0; nothing is written outside a temporary folder.
"""
from __future__ import annotations

import argparse
import copy
import os
import random
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before torch: this process forks, as the warm worker does

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from autograder import grade, harness, review, sanitize, specs, zygote  # noqa: E402
from autograder.demo import fill, key_answers  # noqa: E402
from autograder.notebooks import grading_cells  # noqa: E402
from autograder.results import read_bounded  # noqa: E402

clock = time.process_time  # CPU seconds: what a layer costs, much less disturbed by a busy machine than wall time
TOGGLED = {  # defence -> (where it acts, what it is)
    "audit": ("sandbox", "audit hook: frames, gc, tracing, ctypes, processes, __code__ refused"),
    "threads": ("sandbox", "thread start refused (_thread.start_new_thread replaced)"),
    "integrity": ("sandbox", "recorders, mode machinery, harness globals, builtins: checked and put back"),
    "graph": ("sandbox", "autograd nodes behind each returned tensor recorded"),
    "hide_harness": ("sandbox", "grader's modules taken out of sys.modules"),
    "unlink": ("sandbox", "job.json and the hidden inputs deleted before student code"),
    "seal": ("sandbox", "per-run secret written into every result"),
    "top_level": ("sandbox", "the student's top-level cells run inside the recorders"),
}


def median_ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def timed(fn, repeat: int) -> float:
    """Median CPU seconds of one call of ``fn`` over ``repeat`` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        t = clock()
        fn()
        times.append(clock() - t)
    return statistics.median(times)


def submission(assignment: str):
    master = ROOT / "course" / "source" / assignment / f"{assignment}.ipynb"
    nb = fill(nbformat.read(str(master), as_version=4), key_answers(master))
    return nb, grading_cells(nb)


def harness_run(plan: grade.AssignmentPlan, cells: list[dict], off: tuple[str, ...]) -> tuple[float, Path]:
    """CPU seconds a forked child takes to run the harness on a fresh job with ``off`` switched off;
    the job folder (results in it) is returned for the caller to check and remove."""
    job = Path(tempfile.mkdtemp(prefix="defences-"))
    seal = secrets.token_hex(16)
    plan.write_job(job, cells, set(), list(plan.assignment.problems), None, seal)
    pid = os.fork()
    if pid == 0:
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            sys.stdout = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            for name in off:
                harness.DEFENCES[name] = False
            harness.main(str(job))
        finally:
            os._exit(1)
    _, status, usage = os.wait4(pid, 0)
    elapsed = usage.ru_utime + usage.ru_stime  # the child's CPU time: the harness run alone
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the harness exited with {status} with {off} off")
    return elapsed, job


def check_results(plan, job: Path, seal_on: bool) -> None:
    """Every problem of the key must come back full marks (else the figure means nothing)."""
    for problem in plan.assignment.problems:
        data = (job / harness.RESULTS / f"{problem.function}.json").read_text()
        if seal_on and '"seal": ""' in data:
            raise RuntimeError("unsealed result with the seal on")


def toggled(plan, cells, rounds: int) -> dict[str, list[float]]:
    variants = {"all on": ()} | {f"{d} off": (d,) for d in TOGGLED} | {"all off": tuple(TOGGLED)}
    times: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(rounds):
        order = list(variants)
        random.shuffle(order)
        for v in order:
            elapsed, job = harness_run(plan, cells, variants[v])
            try:
                check_results(plan, job, "seal" not in variants[v])
            finally:
                shutil.rmtree(job, ignore_errors=True)
            times[v].append(elapsed)
    return times


def direct(plan, nb, cells, repeat: int) -> list[tuple[str, str, str, float]]:
    """(defence, side, what, ms) for the checks timed alone."""
    rows = []
    rows.append(("static review", "trusted", "review.scan of the student's cells (AST)",
                 1000 * timed(lambda: review.scan(cells), repeat)))
    raw = nbformat.writes(nb)
    sanitize.sanitize_notebook(nbformat.reads(raw, as_version=4))  # the release's own cells, judged once per process
    rows.append(("sanitizer", "trusted", "sanitize_notebook (a later notebook of the batch)",
                 1000 * timed(lambda: sanitize.sanitize_notebook(nbformat.reads(raw, as_version=4)), repeat)
                 - 1000 * timed(lambda: nbformat.reads(raw, as_version=4), repeat)))
    # one real run's results, read as the judge reads them: bounded vs plainly
    _, job = harness_run(plan, cells, ())
    try:
        files = sorted((job / harness.RESULTS).iterdir())

        def bounded():
            for f in files:
                read_bounded(f, grade.ARRAYS_LIMIT)

        def plain():
            for f in files:
                f.read_bytes()

        rows.append(("result bounding", "trusted", f"read_bounded of the {len(files)} result files vs read_bytes",
                     1000 * (timed(bounded, repeat) - timed(plain, repeat))))
        seal = secrets.token_hex(16)
        rows.append(("seal", "trusted", "token_hex per run + one comparison per problem",
                     1000 * timed(lambda: [secrets.token_hex(16)] + [seal == seal for _ in plan.assignment.problems],
                                  repeat)))

        def unlink():
            for name in ("job.json", "inputs.bin"):
                (job / name).write_bytes(b"x")
            t = clock()
            for name in ("job.json", "inputs.bin"):
                (job / name).unlink()
            return clock() - t

        unlink()
        rows.append(("unlink job files", "sandbox", "two unlinks before student code (timed alone)",
                     1000 * statistics.median(unlink() for _ in range(repeat))))
    finally:
        shutil.rmtree(job, ignore_errors=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    rows.append(("RLIMIT_NPROC 1", "sandbox", "setrlimit (fork path; applied with the other rlimits)",
                 1000 * timed(lambda: resource.setrlimit(resource.RLIMIT_NPROC, (soft, hard)), repeat)))
    integrity = harness.Integrity(vars(harness))
    checks = 1 + len(plan.assignment.problems)
    rows.append(("integrity snapshot", "sandbox", f"Integrity() + {checks} checks, nothing changed (timed alone)",
                 1000 * timed(lambda: [harness.Integrity(vars(harness))] + [integrity.check() for _ in range(checks)],
                              repeat)))
    rows.append(("name table", "sandbox", "harness._torch_names(): ONCE PER WORKER, at import (not per submission)",
                 1000 * timed(harness._torch_names, max(3, repeat // 5))))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="a07_classification_losses")
    parser.add_argument("-r", "--rounds", type=int, default=9, help="rounds of toggled runs (each runs every variant)")
    parser.add_argument("--repeat", type=int, default=50, help="calls per directly timed check")
    args = parser.parse_args(argv)
    console = Console(width=170)
    t0 = time.perf_counter()
    zygote.preload()  # what the warm worker has imported before it forks (torch, IPython, the shell)
    plan = grade.AssignmentPlan(specs.load(args.assignment), ["cpu"])
    nb, cells = submission(args.assignment)
    with harness.CallRecorder(), harness.OpRecorder():  # as harness.main does once per worker
        harness.torch.zeros(1) + 1
    console.print(f"[bold]{args.assignment}[/]: the answer key, {len(plan.assignment.problems)} problems, "
                  f"{sum(len(p.wire) for p in plan.plans.values())} graded calls; {args.rounds} rounds of "
                  f"{len(TOGGLED) + 2} variants")
    times = toggled(plan, cells, args.rounds)
    rows = direct(plan, copy.deepcopy(nb), cells, args.repeat)
    on = times["all on"]
    spread = 1000 * (statistics.quantiles(on, n=4)[2] - statistics.quantiles(on, n=4)[0]) if len(on) >= 4 else 0.0
    table = Table(title=f"Cost of each defence, CPU ms per submission ({args.assignment}, answer key) / 每项防御的开销")
    for col, kw in (("defence / 防御", {}), ("side", {}), ("what is measured", {"overflow": "fold"}),
                    ("ms / submission", {"justify": "right"}), ("how", {})):
        table.add_column(col, **kw)
    for d, (side, what) in TOGGLED.items():
        table.add_row(d, side, what, f"{median_ms(on) - median_ms(times[f'{d} off']):+.1f}", "toggled")
    table.add_row("all sandbox layers", "sandbox", "every toggled layer at once",
                  f"{median_ms(on) - median_ms(times['all off']):+.1f}", "toggled")
    for name, side, what, ms in rows:
        table.add_row(name, side, what, f"{ms:.3f}" if abs(ms) < 1 else f"{ms:.1f}", "direct")
    console.print(table)
    console.print(f"harness run with every layer on: median {median_ms(on):.0f} CPU ms, interquartile range "
                  f"{spread:.0f} ms over {len(on)} runs (a toggled cost below that is within the noise); "
                  f"all off: {median_ms(times['all off']):.0f} ms. Benchmark took {time.perf_counter() - t0:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
