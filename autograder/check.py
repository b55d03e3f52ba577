"""The student's visible self-check, run inside the notebook / 学生在 notebook 里运行的自检.

    from autograder.check import Checker
    check = Checker("a01_tensors")
    check(linspace)          # visible cases only; hidden ones run at grading time

It uses the same specs, harness and judge as grading, so "passes here" means "these cases
pass there". Messages say what differs, never the expected values.
"""
from __future__ import annotations

from autograder import harness, judge, specs
from autograder.results import ProblemResult, format_result


class CheckFailed(AssertionError):
    pass


class Checker:
    def __init__(self, assignment: str):
        self.assignment = specs.load(assignment)

    def __call__(self, fn, hidden: bool = False) -> ProblemResult:
        name = getattr(fn, "__name__", str(fn))
        try:
            problem = self.assignment.problem(name)
        except KeyError:
            raise CheckFailed(f"本作业没有名为 {name!r} 的题目，请不要修改函数名 / "
                              f"this assignment has no problem called {name!r}; keep the function names") from None
        result = evaluate(problem, fn, hidden)
        print(format_result(result))
        if result.status != "ok":
            failed = sum(not c.passed for c in result.cases)
            raise CheckFailed(f"{problem.function}: {failed}/{len(result.cases)} 个测试未通过 / "
                              f"{failed} of {len(result.cases)} checks failed")
        return result


def evaluate(problem: specs.Problem, fn, hidden: bool = True) -> ProblemResult:
    """Run ``fn`` on the problem's cases in this process and judge it (no sandbox: for the
    student's own check and for tests of trusted code such as the answer key)."""
    arrays: dict = {}
    plan = judge.plan(problem, arrays, specs.devices(), hidden)
    got: dict = {}
    records = [harness.run_case(fn, w, arrays, got, f"g{i}") for i, w in enumerate(plan.wire)]
    return plan.score(records, got)
