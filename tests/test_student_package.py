"""What a student's kernel may import (autograder/student.py): the visible checks, not the hidden cases, not the
answer key; `make lab`'s kernel has nothing else.

学生内核能导入的只有公开检查：没有隐藏用例，没有参考答案；`make lab` 的内核也是如此。
"""
import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from autograder import specs, student
from conftest import ROOT

PROBE = r'''
import importlib, json, torch
out = {}
for module in ("solutions", "autograder.specs", "autograder.specs.a01_tensors", "autograder.sandbox",
               "autograder.collect", "autograder.pipeline"):
    try:
        importlib.import_module(module)
        out[module] = "imported"
    except ImportError:
        out[module] = "ImportError"
try:
    from autograder.visible import load
except ImportError:  # the grader's own package
    from autograder.specs import load
from autograder.check import Checker, CheckFailed
out["cases"] = {a: {p.function: [c.name for c in p.cases] for p in load(a).problems}
                for a in ("a01_tensors", "a07_classification_losses")}
check = Checker("a01_tensors")
def full_float64_like(x, value):
    return torch.full(x.shape, value, dtype=torch.float64, device=x.device)
out["right"] = check(full_float64_like).status
def full_float64_like(x, value):
    return torch.full(x.shape, value, device=x.device)
try:
    check(full_float64_like)
    out["wrong"] = "passed"
except CheckFailed:
    out["wrong"] = "failed"
print("PROBE" + json.dumps(out))
'''


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return student.make_env(tmp_path_factory.mktemp("student") / "env")


def visible_names(assignment: str) -> dict:
    return {p.function: [c.name for c in p.cases if c.visible] for p in specs.load(assignment).problems}


def check_probe(out: dict) -> None:
    for module in ("solutions", "autograder.specs", "autograder.specs.a01_tensors", "autograder.sandbox",
                   "autograder.collect", "autograder.pipeline"):
        assert out[module] == "ImportError", (module, out[module])
    for assignment in ("a01_tensors", "a07_classification_losses"):
        assert out["cases"][assignment] == visible_names(assignment)
    assert out["right"] == "ok" and out["wrong"] == "failed"


def test_student_package_holds_the_visible_checks_only(tmp_path):
    """Is the built package check.py and what it runs, with per-assignment data holding visible cases only?"""
    package = student.build(tmp_path)
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py", "check.py", "harness.py", "judge.py",
                                                          "results.py", "visible"]
    assert sorted(p.stem for p in (package / "visible" / "data").iterdir()) == student.spec_names()
    assert not list(tmp_path.rglob("specs")) and not list(tmp_path.rglob("solutions*"))
    for name in student.spec_names():
        a = specs.load(name)
        hidden = sum(not c.visible for p in a.problems for c in p.cases)
        assert hidden > 0, name  # every assignment has hidden cases, so "visible only" says something
        assert all(c.visible for p in student.visible_only(a).problems for c in p.cases)


def test_student_kernel_imports_no_hidden_cases_and_no_answer_key(env):
    """In the student environment: no solutions, no autograder.specs, no grader modules; the visible check
    passes a right answer and fails a wrong one, on exactly the spec's visible cases."""
    done = subprocess.run([str(env / "bin" / "python"), "-c", PROBE], cwd=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    check_probe(json.loads(done.stdout.split("PROBE", 1)[1]))


def test_the_same_probe_sees_the_grader_where_it_is_installed():
    """The probe can fail: this project's own environment (the grader installed) imports autograder.specs."""
    done = subprocess.run([sys.executable, "-c", PROBE], cwd="/", capture_output=True, text=True, timeout=300)
    out = json.loads(done.stdout.split("PROBE", 1)[1])
    assert out["autograder.specs"] == "imported" and out["autograder.sandbox"] == "imported"
    assert out["solutions"] == "ImportError"  # the answer key is not installed anywhere (pyproject.toml)
    assert out["cases"]["a01_tensors"] != visible_names("a01_tensors")  # the grader's specs: hidden cases too
    with pytest.raises(AssertionError):
        check_probe(out)


def test_make_lab_kernel_is_the_student_environment(env):
    """Does `make lab` run notebooks on the student environment's kernel (JUPYTER_PATH), and does a kernel
    started from that kernelspec import neither the answer key nor the hidden cases?"""
    dry = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    assert "autograder.student env build/student-env" in dry
    assert f"JUPYTER_PATH={ROOT}/build/student-env" in dry
    spec = json.loads((env / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["argv"][0] == str(env / "bin" / "python")
    listed = subprocess.run([str(ROOT / ".venv" / "bin" / "jupyter") if (ROOT / ".venv").is_dir() else "jupyter",
                             "kernelspec", "list", "--json"], env={**os.environ, "JUPYTER_PATH": str(env)},
                            capture_output=True, text=True, timeout=60)
    # with make lab's JUPYTER_PATH, "python3" (the name every notebook asks for) is the student environment's
    assert json.loads(listed.stdout)["kernelspecs"]["python3"]["resource_dir"] == str(env / "kernels" / "python3")

    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    manager = KernelManager(kernel_name="python3",
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(env / "kernels")]))
    manager.start_kernel(cwd=str(env))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=180)
        chunks = []
        client.execute_interactive(PROBE, timeout=300, output_hook=lambda m: chunks.append(
            m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
        text = "".join(chunks)
        check_probe(json.loads(text.split("PROBE", 1)[1]))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_build_refuses_a_hidden_case_captured_by_a_reference():
    """A reference that closes over a hidden input would carry it into the student's data: refused."""
    a01 = specs.load("a01_tensors")
    i, problem, hidden = next((i, p, c) for i, p in enumerate(a01.problems) for c in p.cases if not c.visible
                              and any(len(raw) >= 16 and len(set(raw)) >= 8 for raw in student._arrays(c)))
    leaky = dataclasses.replace(problem, reference=lambda *args, _secret=hidden: problem.reference(*args))
    problems = list(a01.problems)
    problems[i] = leaky
    with pytest.raises(student.BuildError, match="hidden case"):
        student.dump_visible(dataclasses.replace(a01, problems=tuple(problems)))
    student.dump_visible(a01)  # the real spec passes


def test_build_refuses_a_random_generator_in_the_data():
    """A numpy Generator (whose state replays the hidden draws) in a reference's globals: refused."""
    a01 = specs.load("a01_tensors")
    rng = np.random.default_rng(0)
    leaky = dataclasses.replace(a01.problems[0], reference=lambda x, value, _rng=rng: torch.full_like(x, value))
    with pytest.raises(student.BuildError, match="random generator"):
        student.dump_visible(dataclasses.replace(a01, problems=(leaky, *a01.problems[1:])))


def test_build_refuses_a_grader_module_the_check_would_need():
    """If check.py ever imported a grader-only module, the build says so instead of shipping it silently."""
    with pytest.raises(student.BuildError, match="autograder.sandbox"):
        student._rewrite("from autograder import sandbox\n", "check.py")
    with pytest.raises(student.BuildError, match="autograder.collect"):
        student._rewrite("from autograder.collect import SafeCollect\n", "judge.py")
    assert student._rewrite("from autograder import harness, judge, specs\n", "check.py") == \
        "from autograder import harness, judge, visible as specs\n"
