"""What each defence against a student who read the grader costs, in ms per submission / 每项防御的开销.

    .venv/bin/python benchmarks/defences.py [--assignment a07_classification_losses] [-r 9]

One run, one machine, the answer key of one assignment as the submission (honest code: what
every correct student pays), CPU time throughout (a busy machine disturbs it far less than wall
time). Each defence is measured by running the work with it and without it, in the way that
gives a steady figure:

* **counted, one child**: the audit hook cannot be removed once installed, so in a forked child
  that has run the key's cells and graded calls (``harness.run_cells`` + ``run_problem``, the
  work of ``harness.main``) its cost is the time to install it plus the audit events one run of
  that work raises times the hook's time per event, each measured there.
* **direct, one child**: in the same child, the autograd-graph record (``graph_nodes`` on every
  graded call's result) and top-level recording (the student's cells run with the recorders
  and without, back to back), repeated, median.
* **direct**: the trusted side's checks (static review, sanitizer, seal check, bounded reads of
  the results), the integrity snapshot and its checks, unlinking the job files, RLIMIT_NPROC,
  hiding the grader's modules and the name table, each timed alone, many times, median.
* **end to end** (last line): a fresh fork running ``harness.main`` on a fresh job per run,
  every layer of ``harness.DEFENCES`` on vs every layer off, medians with their spread: the
  whole cost as the sandboxed child pays it, which on a shared machine is within the noise.

It prints a table and exits 0; nothing is written outside a temporary folder.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
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


def iqr_ms(samples: list[float]) -> float:
    q = statistics.quantiles(samples, n=4) if len(samples) >= 4 else [0.0, 0.0, 0.0]
    return 1000 * (q[2] - q[0])


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


def end_to_end(plan, cells, rounds: int) -> dict[str, list[float]]:
    """Every layer on vs every layer off, each a fresh fork running ``harness.main`` on a fresh
    job, as the sandboxed child does: the whole cost as a grader pays it (noisier)."""
    variants = {"all on": (), "all off": tuple(TOGGLED)}
    times: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(rounds):
        for v in random.sample(list(variants), len(variants)):
            elapsed, job = harness_run(plan, cells, variants[v])
            try:
                check_results(plan, job, v == "all on")
            finally:
                shutil.rmtree(job, ignore_errors=True)
            times[v].append(elapsed)
    return times


def in_one_child(plan, cells, rounds: int) -> dict[str, list[float]]:
    """The layers that act while student code runs, toggled inside ONE forked child, so every
    variant runs in the same process state: the key's cells and every graded call (the
    harness's ``run_cells`` + ``run_problem``, the work of ``main``), each variant ``rounds``
    times in a shuffled order; then the audit hook (which cannot be removed) is installed and
    the bare and the all-on variants run again. CPU seconds per variant, back over a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            os.write(write_end, json.dumps(_layers(plan, cells, rounds)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 1 << 16):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    if not chunks:
        raise RuntimeError("the measuring child died")
    return json.loads(b"".join(chunks))


def _layers(plan, cells, rounds: int) -> dict[str, list[float]]:
    job = Path(tempfile.mkdtemp(prefix="defences-"))
    seal = secrets.token_hex(16)
    plan.write_job(job, cells, set(), list(plan.assignment.problems), None, seal)
    spec = json.loads((job / "job.json").read_text())
    arrays_in = harness.read_arrays(job / "inputs.bin")
    progress, results = job / harness.PROGRESS, job / harness.RESULTS
    stdout, stderr = sys.stdout, sys.stderr

    def workload(guard, integrity: bool, graph: bool) -> float:
        sys.stdout, sys.stderr = stdout, stderr  # run_cells wraps them again each time
        t = clock()
        check = harness.Integrity(vars(harness)) if integrity else None
        namespace, _ = harness.run_cells(spec["cells"], set(), progress, results, seal, guard)
        if check is not None:
            check.check()
        for problem in spec["problems"]:
            harness.run_problem(problem, namespace, arrays_in, results, seal, guard, check, graph)
        return clock() - t

    workload(harness.Guard(False), False, False)  # warm: first calls, caches
    out: dict = {"hide_harness": _hide(max(rounds, 5)), "bare": [workload(harness.Guard(False), False, False)
                                                                 for _ in range(rounds)]}
    # the graph record: graph_nodes on every graded call's result, as run_case makes it
    namespace, _ = harness.run_cells(spec["cells"], set(), progress, results, seal, harness.Guard(False))
    returned = []
    for problem in spec["problems"]:
        fn = namespace.get(problem["function"])
        for case in problem["cases"] if callable(fn) else []:
            args, kwargs = harness.decode_call(case, arrays_in)
            if case.get("preprocess") == "log_softmax":
                args[0] = harness.torch.log_softmax(args[0], dim=-1)
            try:
                returned.append((fn(*args, **kwargs), [*args, *kwargs.values()]))
            except Exception:  # noqa: BLE001 - a key that raises on purpose: nothing to walk
                pass
    out["graph"] = [timed(lambda: [harness.graph_nodes(r, i) for r, i in returned], 3) for _ in range(rounds)]
    out["graph_calls"] = len(returned)
    # top-level recording: the student's cells run again, inside the recorders and without, back to back
    student = [c["source"] for c in spec["cells"] if not c.get("locked") and not c.get("test")]
    shell = harness.make_shell()

    def top(record: bool) -> None:
        for source in student:
            with (harness.CallRecorder() if record else contextlib.nullcontext()), \
                    (harness.OpRecorder() if record else contextlib.nullcontext()):
                shell.run_cell(source, store_history=False)

    out["top_level"] = [timed(lambda: top(True), 3) - timed(lambda: top(False), 3) for _ in range(rounds)]
    sys.stdout, sys.stderr = stdout, stderr
    # the audit hook cannot be removed: its cost is counted instead, events x the hook's time per
    # event, plus installing it (both measured here), the events counted on one run of the work
    n = 20_000
    counting = [False, 0]

    def count(event, args):  # installed first: the guard refuses any hook added after it
        if counting[0]:
            counting[1] += 1

    sys.addaudithook(count)
    t = clock()
    for _ in range(n):
        sys.audit("defences.benchmark", 1)
    before = (clock() - t) / n
    t = clock()
    guard = harness.Guard(False)
    harness.install_guard(guard, threads=True)  # from here on, for good
    install = clock() - t
    t = clock()
    for _ in range(n):
        sys.audit("defences.benchmark", 1)
    per_event = (clock() - t) / n - before
    counting[0] = True
    workload(harness.Guard(False), False, False)
    counting[0] = False
    events = counting[1]
    out["audit"] = {"install": install, "per_event": per_event, "events": events,
                    "cost": install + events * per_event}
    shutil.rmtree(job, ignore_errors=True)
    return out


def _hide(rounds: int) -> list[float]:
    modules, times = dict(sys.modules), []
    for _ in range(rounds):
        t = clock()
        harness.hide_harness()
        times.append(clock() - t)
        sys.modules.update(modules)
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
                  f"{sum(len(p.wire) for p in plan.plans.values())} graded calls; {args.rounds} rounds")
    layers = in_one_child(plan, cells, args.rounds)
    whole = end_to_end(plan, cells, args.rounds)
    rows = direct(plan, copy.deepcopy(nb), cells, args.repeat)
    bare = median_ms(layers["bare"])

    iqr = iqr_ms
    table = Table(title=f"Cost of each defence, CPU ms per submission ({args.assignment}, answer key) / 每项防御的开销")
    for col, kw in (("defence / 防御", {}), ("side", {}), ("what is measured", {"overflow": "fold"}),
                    ("ms / submission", {"justify": "right"}), ("how", {})):
        table.add_column(col, **kw)
    audit = layers["audit"]
    table.add_row("audit", "sandbox", "audit hook (frames, gc, tracing, ctypes, processes, __code__) + thread refusal: "
                  f"install {1000 * audit['install']:.1f} ms + {audit['events']} events x "
                  f"{1e6 * audit['per_event']:.2f} µs", f"{1000 * audit['cost']:.1f}", "counted, one child")
    table.add_row("graph", "sandbox", f"{TOGGLED['graph'][1]}: graph_nodes on the {layers['graph_calls']} results",
                  f"{median_ms(layers['graph']):.1f}", "direct, one child")
    table.add_row("top_level", "sandbox", f"{TOGGLED['top_level'][1]}: its student cells with the recorders vs without",
                  f"{median_ms(layers['top_level']):+.1f}", "direct, one child")
    table.add_row("hide_harness", "sandbox", TOGGLED["hide_harness"][1],
                  f"{median_ms(layers['hide_harness']):.3f}", "direct")
    for name, side, what, ms in rows:
        table.add_row(name, side, what, f"{ms:.3f}" if abs(ms) < 1 else f"{ms:.1f}", "direct")
    console.print(table)
    console.print(f"cells + graded calls with no layer: median {bare:.0f} CPU ms (interquartile range "
                  f"{iqr(layers['bare']):.1f} ms over {len(layers['bare'])} runs in one child). A whole harness run, "
                  f"fresh fork each: every layer on {median_ms(whole['all on']):.0f} ms (IQR {iqr(whole['all on']):.0f}), "
                  f"every layer off {median_ms(whole['all off']):.0f} ms (IQR {iqr(whole['all off']):.0f}). "
                  f"Benchmark took {time.perf_counter() - t0:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
