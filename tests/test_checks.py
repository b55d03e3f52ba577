"""Do the graded checks accept the answer key and reject known-wrong code, for the right reason?"""
import math

import numpy as np
import pytest
import torch

from autograder import samples, specs
from autograder.check import CheckFailed, Checker, evaluate
from autograder.keygen import key_module
from conftest import MASTERS

ASSIGNMENTS = [p.stem for p in MASTERS]
PROBLEMS = [(a, p) for a in ASSIGNMENTS for p in specs.load(a).problems]
WRONG = [(a, fn, src, status) for a in ASSIGNMENTS
         for fn, variants in samples.wrong(a).items() for src, status in variants]


def compile_function(source: str, name: str, assignment: str = "a01_tensors"):
    """Compile a wrong solution cell next to the answer key's other functions, as a student's
    later cells run next to their earlier ones."""
    namespace = {**vars(key_module(assignment)), "torch": torch, "np": np, "math": math}
    exec(compile(source, f"<wrong {name}>", "exec"), namespace)
    return namespace[name]


@pytest.mark.parametrize("assignment,problem", PROBLEMS, ids=lambda x: getattr(x, "function", x))
def test_answer_key_gets_full_marks(assignment, problem):
    """Does the generated answer key pass every hidden case on every device?"""
    result = evaluate(problem, getattr(key_module(assignment), problem.function))
    assert result.status == "ok", [str(c.message) for c in result.cases if not c.passed]
    assert result.score == problem.points


@pytest.mark.parametrize("assignment,function,source,status", WRONG,
                         ids=[f"{fn}-{i}" for i, (_, fn, _, _) in enumerate(WRONG)])
def test_wrong_implementation_loses_points(assignment, function, source, status):
    """Is each deliberately wrong implementation caught, with the expected status?"""
    problem = specs.load(assignment).problem(function)
    result = evaluate(problem, compile_function(source, function, assignment))
    assert result.status == status
    assert result.score < problem.points


def test_every_problem_has_at_least_one_wrong_fixture():
    """Can every check be shown to fail (each problem has a wrong implementation it rejects)?"""
    for assignment in ASSIGNMENTS:
        assert set(samples.wrong(assignment)) == {p.function for p in specs.load(assignment).problems}


def test_forbidden_api_is_caught_under_another_name():
    """Is torch's own linspace caught even when reached through an alias or a method?"""
    problem = specs.load("a01_tensors").problem("linspace")
    sneaky = [lambda s, e, n, d: getattr(torch, "lin" + "space")(s, e, n, device=d),
              lambda s, e, n, d: torch.empty(n, device=d).copy_(torch.linspace(s, e, n))]
    for fn in sneaky:
        fn.__name__ = "linspace"
        result = evaluate(problem, fn)
        assert result.status == "forbidden" and result.score == 0


def test_messages_are_bilingual_and_do_not_leak_expected_values():
    """Do failure messages speak both languages without printing the hidden expected numbers?"""
    problem = specs.load("a01_tensors").problem("linspace")

    def linspace(start, end, steps, device):  # off by a constant: values differ, shape right
        return torch.arange(steps, dtype=torch.float32, device=device) * 0.123456 + 98.7654

    result = evaluate(problem, linspace)
    messages = [c.message for c in result.cases if not c.passed]
    assert messages
    for m in messages:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in m.zh) and m.en.isascii()
        assert "0.25" not in m.zh + m.en and "0.5" not in m.zh + m.en


def test_dtype_mismatch_message_names_both_dtypes():
    """Does a dtype error say what was expected and what came back?"""
    problem = specs.load("a01_tensors").problem("full_float64_like")
    result = evaluate(problem, compile_function(samples.wrong("a01_tensors")["full_float64_like"][0][0],
                                                "full_float64_like"))
    msg = next(c.message for c in result.cases if not c.passed)
    assert "torch.float64" in msg.en and "torch.float32" in msg.en and "数据类型" in msg.zh


def test_visible_check_raises_on_wrong_and_passes_key(capsys):
    """Does the student's check print a bilingual report and raise only when something fails?"""
    from solutions.a01_tensors import nbytes

    check = Checker("a01_tensors")
    assert check(nbytes).status == "ok"
    wrong = compile_function(samples.wrong("a01_tensors")["nbytes"][1][0], "nbytes")
    with pytest.raises(CheckFailed):
        check(wrong, hidden=True)
    out = capsys.readouterr().out
    assert "得分 / score" in out and "✘" in out


def test_check_refuses_renamed_functions():
    """Does the check tell a student who renamed a function what went wrong?"""
    def my_nbytes(x):
        return 0

    with pytest.raises(CheckFailed, match="keep the function names"):
        Checker("a01_tensors")(my_nbytes)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available: device cases run on CPU only")
def test_cases_run_on_cuda_too():
    """On a CUDA machine, are per-device cases run on cuda as well as cpu?"""
    problem = specs.load("a01_tensors").problem("full_float64_like")
    from solutions.a01_tensors import full_float64_like

    result = evaluate(problem, full_float64_like)
    assert {c.device for c in result.cases} == {"cpu", "cuda"} and result.status == "ok"
