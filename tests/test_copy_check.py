"""Does copying a lesson cell pass an assignment? (It must not: the lessons show the simplest
case, the assignments ask for more.)

Every function a lesson's code cell defines (``def`` at the top level, a lambda bound to a
name, a lambda kept in a top-level table such as ``relu_table``) is bound, in turn, to every
problem of every assignment and run on that problem's hidden cases by the same harness and
judge that grade students. A function that passes every case of a problem is a lesson cell a
student could copy for full marks: the test fails and names both.
"""
from __future__ import annotations

import ast
import contextlib
import io
import math
import os
import re
import signal
import types
import warnings
from dataclasses import dataclass

os.environ.setdefault("MPLBACKEND", "Agg")  # lesson cells may plot: never open a window

import nbformat
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder import harness, judge, specs
from conftest import LESSONS, MASTERS

ASSIGNMENTS = [p.stem for p in MASTERS]
STATEMENT_SECONDS = 3.0  # a top-level assignment that trains a model is cut short and skipped
CALL_SECONDS = 2.0  # a lesson function that is slow on a case (brute force over alignments) fails it


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float):
    def alarm(signum, frame):
        raise _Timeout()
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ------------------------------------------------------------------ what a lesson defines

@dataclass(frozen=True)
class Candidate:
    where: str  # "05_activations.ipynb code cell 8: relu_table[0][1]"
    fn: types.FunctionType


def _defining(stmt: ast.stmt) -> bool:
    """Statements that define names: imports, functions, classes, plain assignments.
    Loops, prints and plots are skipped (they compute; they define nothing a student copies)."""
    return isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign))


def _functions_in(value, path: str, filename: str, depth: int = 0):
    """Every Python function compiled from this cell, found in a value or the containers in it."""
    if isinstance(value, types.FunctionType):
        if value.__code__.co_filename == filename:
            yield path, value
        return
    if depth >= 3:
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value[:200]):
            yield from _functions_in(item, f"{path}[{i}]", filename, depth + 1)
    elif isinstance(value, dict):
        for k, item in list(value.items())[:200]:
            yield from _functions_in(item, f"{path}[{k!r}]", filename, depth + 1)


def candidates(cells: list[str], label: str) -> list[Candidate]:
    """Run the defining statements of each code cell, in order, in one namespace (a cell may use
    the helpers of the cells above it); collect every function each cell binds."""
    namespace: dict = {"__name__": f"lesson_{label}", "torch": torch, "nn": nn, "F": F, "np": np, "math": math}
    found: list[Candidate] = []
    torch.manual_seed(0)
    for index, source in enumerate(cells):
        filename = f"<{label} code cell {index}>"
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # IPython magics: nothing to copy there
        bound: list[str] = []
        for stmt in tree.body:
            if not _defining(stmt):
                continue
            module = ast.Module(body=[stmt], type_ignores=[])
            try:
                with _quiet(), _deadline(STATEMENT_SECONDS):
                    exec(compile(module, filename, "exec"), namespace)
            except BaseException as exc:  # a statement that fails defines nothing
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                continue
            for node in ast.walk(stmt) if not isinstance(stmt, (ast.FunctionDef, ast.ClassDef)) else [stmt]:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    bound.append(node.name)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    bound.append(node.id)
        seen: set[int] = set()
        for name in dict.fromkeys(bound):
            for path, fn in _functions_in(namespace.get(name), name, filename):
                if id(fn) not in seen:
                    seen.add(id(fn))
                    found.append(Candidate(f"{label} code cell {index}: {path}", fn))
    return found


def lesson_cells(path) -> list[str]:
    nb = nbformat.read(str(path), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


# ------------------------------------------------------------------ does it pass a problem?

_PLANS: dict = {}


def _plan(assignment: str, problem: specs.Problem) -> judge.Plan:
    key = (assignment, problem.function)
    if key not in _PLANS:
        _PLANS[key] = judge.plan(problem, {}, specs.devices(), hidden=True)
    return _PLANS[key]


def passes(fn, assignment: str, problem: specs.Problem) -> bool:
    """Does ``fn``, bound to the problem's name, pass every hidden case? Stops at the first
    case it fails (the same judge decides each case as at grading time)."""
    plan = _plan(assignment, problem)
    bound = types.FunctionType(fn.__code__, fn.__globals__, problem.function, fn.__defaults__, fn.__closure__)
    bound.__kwdefaults__ = fn.__kwdefaults__
    for i, wire in enumerate(plan.wire):
        got: dict = {}
        try:
            with _quiet(), _deadline(CALL_SECONDS):
                record = harness.run_case(bound, wire, plan.input_arrays, got, f"c{i}")
        except _Timeout:
            return False
        if judge.judge_case(problem, plan.expected[i], plan.expected_arrays, record, got, wire, plan.input_arrays):
            return False
    return True


def copied(found: list[Candidate], assignments=ASSIGNMENTS) -> list[str]:
    """Every (lesson function, problem) pair where the lesson function earns full marks."""
    hits = []
    for assignment in assignments:
        for problem in specs.load(assignment).problems:
            for cand in found:
                if passes(cand.fn, assignment, problem):
                    hits.append(f"{cand.where} passes {assignment}.{problem.function}")
    return hits


# ------------------------------------------------------------------ the tests

@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_no_lesson_function_passes_an_assignment_problem(lesson):
    """Would any function a lesson cell defines, copied under a problem's name, pass that
    problem's hidden cases?"""
    found = candidates(lesson_cells(lesson), lesson.name)
    assert not copied(found), "a lesson cell solves an assignment problem as it stands"


def test_lessons_define_functions_the_copy_check_can_see():
    """Does the copy check find the lesson functions it is meant to try (it must not be vacuous)?"""
    found = candidates(lesson_cells(next(p for p in LESSONS if p.stem == "05_activations")), "05")
    names = {c.where.split(": ")[1] for c in found}
    assert {"softplus", "lse", "softmax", "relu_table[0][1]", "hsig"} <= names


def test_copy_check_reports_a_lesson_cell_that_solves_a_problem():
    """Shown to fail: a fake lesson whose cell holds a passing solution (here the answer key's own
    softmax, renamed) is reported by cell and name, and so is a lambda kept in a table of a later
    cell that calls it (helpers from earlier cells are in scope, as in the lesson)."""
    import inspect

    from autograder.keygen import key_module
    key = key_module("a04_activations")
    fake_cells = [
        "import torch\nD = torch.float64",
        inspect.getsource(key.softmax).replace("def softmax(", "def softmax_from_the_lesson("),
        "table = [(None, lambda x, dim=None, _stacklevel=3, dtype=None: softmax_from_the_lesson(x, dim, dtype=dtype))]",
    ]
    found = candidates(fake_cells, "fake_lesson.ipynb")
    hits = copied(found, ["a04_activations"])
    assert "fake_lesson.ipynb code cell 1: softmax_from_the_lesson passes a04_activations.softmax" in hits, hits
    assert "fake_lesson.ipynb code cell 2: table[0][1] passes a04_activations.softmax" in hits, hits
    assert not any("softmin" in h or "log_softmax" in h for h in hits)  # it solves softmax, nothing else


# ------------------------------------------------------------------ assignments name the lessons they practise

REWORKED = [p for p in MASTERS if p.parent.name[:3] in {"a04", "a05", "a06", "a07", "a08", "a09"}]
LESSON_PATH = re.compile(r"notebooks/((\d\d[a-z]?)_[a-z0-9_]+)\.ipynb")


@pytest.mark.parametrize("master", REWORKED, ids=lambda p: p.parent.name)
def test_assignment_names_the_lessons_it_practises(master):
    """Does the master notebook carry a zh/en pair ("练习第 05 课…" / "Practises lesson 05…") naming, in both
    languages, lesson files that exist, each with the number its file name has?"""
    cells = nbformat.read(str(master), as_version=4).cells
    pair = next(((a, b) for a, b in zip(cells, cells[1:]) if a.cell_type == b.cell_type == "markdown"
                 and a.metadata.get("tags") == ["zh"] and a.source.startswith("练习第")
                 and b.metadata.get("tags") == ["en"] and b.source.startswith("Practises lesson")), None)
    assert pair, f"{master.name} has no zh/en pair naming the lessons it practises"
    zh, en = (LESSON_PATH.findall(c.source) for c in pair)
    assert zh and set(zh) == set(en), "zh and en name different lessons"
    stems = {p.stem for p in LESSONS}
    for stem, number in zh:
        assert stem in stems, f"notebooks/{stem}.ipynb does not exist"
        assert f"第 {number} 课" in pair[0].source and f"lesson {number}" in pair[1].source, number
