"""The trusted judge / 可信评判: compares recorded results with torch. Never runs student code.

It makes the inputs (from the specs), computes the torch reference itself, and reads back
only JSON and array bundles (plain numbers, no pickles) that the harness wrote.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch

from autograder import harness
from autograder.results import CaseResult, Msg, ProblemResult
from autograder.specs import TOLERANCES, Array, Case, Device, Dtype, Problem, Tensor


# ------------------------------------------------------------------ inputs on the wire

def encode_arg(arg, arrays: dict, key: str) -> dict:
    if isinstance(arg, Tensor):
        arrays[key] = np.asarray(arg.data)
        return {"kind": "tensor", "key": key, "dtype": str(arg.dtype).removeprefix("torch."),
                "requires_grad": arg.requires_grad, "transpose": arg.transpose}
    if isinstance(arg, Array):
        arrays[key] = np.asarray(arg.data)
        return {"kind": "array", "key": key}
    if isinstance(arg, Dtype):
        return {"kind": "dtype", "name": str(arg.dtype).removeprefix("torch.")}
    if isinstance(arg, Device):
        return {"kind": "device"}
    if arg is None or isinstance(arg, (bool, int, float, str)):
        return {"kind": "value", "value": arg}
    if isinstance(arg, tuple):
        return {"kind": "tuple", "items": [encode_arg(a, arrays, f"{key}_{i}") for i, a in enumerate(arg)]}
    raise TypeError(f"cannot send {type(arg).__name__} to the sandbox")


def expand_cases(problem: Problem, devices: list[str], hidden: bool = True) -> list[tuple[Case, str]]:
    """Every (case, device) pair to run: per-device cases run on each available device."""
    cases = [c for c in problem.cases if hidden or c.visible]
    return [(c, d) for c in cases for d in (devices if c.per_device else ["cpu"])]


def encode_cases(problem: Problem, runs, arrays: dict) -> list[dict]:
    wire = []
    for i, (case, device) in enumerate(runs):
        prefix = f"{problem.function}_{i}"
        wire.append({
            "name": case.name, "device": device, "probe": case.probe,
            "preprocess": case.preprocess, "watch": list(case.watch), "random": case.random,
            "args": [encode_arg(a, arrays, f"{prefix}_a{j}") for j, a in enumerate(case.args)],
            "kwargs": {k: encode_arg(a, arrays, f"{prefix}_k{k}") for k, a in case.kwargs.items()},
        })
    return wire


@dataclass
class Plan:
    """A problem's runs, their inputs on the wire, and the trusted expected records."""
    problem: Problem
    runs: list[tuple[Case, str]]
    wire: list[dict]
    expected: list[dict]
    expected_arrays: dict
    input_arrays: dict

    def score(self, records: list[dict], got_arrays) -> "ProblemResult":
        return score_problem(self.problem, self.runs, self.expected, self.expected_arrays,
                             records, got_arrays, self.wire, self.input_arrays)


def plan(problem: Problem, arrays: dict, devices: list[str], hidden: bool = True) -> Plan:
    """Encode the inputs into ``arrays`` and run the torch reference (trusted code) on them,
    with the operator recorders off: the reference runs as plain torch."""
    runs = expand_cases(problem, devices, hidden)
    wire = encode_cases(problem, runs, arrays)
    out: dict = {}
    expected = [harness.run_case(problem.reference, w, arrays, out, f"e{i}", record=False)
                for i, w in enumerate(wire)]
    return Plan(problem, runs, wire, expected, out, arrays)


# ------------------------------------------------------------------ comparison

def _tolerance(dtype_name: str, tolerances: dict | None = None) -> tuple[float, float]:
    dtype = harness.torch_dtype(dtype_name)
    return (tolerances or {}).get(dtype) or TOLERANCES.get(dtype, (0.0, 0.0))


def _values_match(expected: np.ndarray, got: np.ndarray, dtype_name: str, offset: int = 0,
                  tolerances: dict | None = None) -> bool:
    """``|got - expected| <= atol + rtol * |expected|`` elementwise, NaN equal to NaN, infinities
    equal only to themselves: the rule of ``torch.testing.assert_close(got, expected, rtol, atol,
    equal_nan=True)`` on double copies, computed with NumPy (a tenth of the cost per case;
    ``tests/test_checks.py`` holds the two to the same answers)."""
    rtol, atol = _tolerance(dtype_name, tolerances)
    complex_ = np.iscomplexobj(expected) or np.iscomplexobj(got)
    as_type = np.complex128 if complex_ else np.float64
    try:
        e = np.asarray(expected).astype(as_type) + offset
        g = np.asarray(got).astype(as_type)
    except (TypeError, ValueError):
        return False
    if e.shape != g.shape:
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True).all())


def describe(rec: dict) -> str:
    kind = rec.get("kind")
    if kind in ("tensor", "ndarray"):
        return f"{rec.get('type', 'ndarray')}(dtype={rec.get('dtype')}, shape={tuple(rec.get('shape', ()))})"
    if kind in ("value", "device"):
        return rec.get("type", kind)
    return str(rec.get("type", kind))


def compare(exp: dict, exp_arrays, got: dict, got_arrays, offset: int = 0, tolerances: dict | None = None,
            values: bool = True) -> Msg | None:
    """None when ``got`` matches ``exp``; otherwise what differs, without the expected values."""
    kind = got.get("kind")
    if kind == "error":
        return Msg(f"函数抛出了 {got.get('type')}：{got.get('message')}",
                   f"the function raised {got.get('type')}: {got.get('message')}")
    if kind == "missing":
        return Msg("没有找到这个函数（名字改了吗？）", "function not found (was it renamed?)")
    if kind != exp["kind"] or got.get("type") != exp.get("type"):
        return Msg(f"返回类型应为 {describe(exp)}，实际为 {describe(got)}",
                   f"expected a {describe(exp)}, got {describe(got)}")
    if kind in ("tuple", "list"):
        if len(got["items"]) != len(exp["items"]):
            return Msg(f"应返回 {len(exp['items'])} 个元素，实际 {len(got['items'])} 个",
                       f"expected {len(exp['items'])} items, got {len(got['items'])}")
        for i, (e, g) in enumerate(zip(exp["items"], got["items"])):
            msg = compare(e, exp_arrays, g, got_arrays, offset, tolerances, values)
            if msg:
                return Msg(f"第 {i} 个元素：{msg.zh}", f"item {i}: {msg.en}")
        return None
    if kind in ("tensor", "ndarray"):
        for attr, zh in (("dtype", "数据类型"), ("shape", "形状"), ("device", "设备")):
            if got.get(attr) != exp.get(attr):
                e, g = exp.get(attr), got.get(attr)
                if attr == "shape":
                    e, g = tuple(e), tuple(g)
                return Msg(f"{zh}（{attr}）应为 {e}，实际为 {g}", f"{attr} differs: expected {e}, got {g}")
        try:
            g = got_arrays[got["key"]]
        except (KeyError, ValueError):
            return Msg("结果数据缺失", "result data is missing")
        if g.shape != tuple(exp["shape"]) or (values and not _values_match(exp_arrays[exp["key"]], g, exp["dtype"], offset, tolerances)):
            return Msg("数值与参考实现不一致（形状、类型都对）",
                       "values differ from the reference (shape and dtype are right)")
        return None
    if kind in ("value", "device", "dtype"):
        e, g = exp.get("value"), got.get("value")
        same = (abs(e - g) <= 1e-12 * max(1.0, abs(e))) if isinstance(e, float) and isinstance(g, float) else e == g
        return None if same else Msg("返回值与参考实现不一致", "the returned value differs from the reference")
    return Msg(f"无法比较类型 {describe(got)}", f"cannot compare a {describe(got)}")


def forbidden_used(problem: Problem, record: dict) -> list[str]:
    """The forbidden torch functions and operators a record shows were reached, the backward
    nodes of forbidden kernels behind the result, and what the sandbox's guard refused."""
    ops = {f"aten::{op}" for op in set(_strings(record.get("ops"))) & set(problem.forbidden)}
    calls = {f"torch.{fn}" for fn in set(_strings(record.get("calls"))) & set(problem.forbidden)}
    # an operator outside torch's own namespaces (a torch.library custom op wrapping a kernel)
    custom = {op for op in _strings(record.get("ops")) if "::" in op} if problem.forbidden else set()
    return sorted(calls | ops | custom | set(graph_forbidden(problem, record))) + refused(record)


def _strings(items) -> list[str]:
    return [x for x in items if isinstance(x, str)] if isinstance(items, list) else []


def _squash(name: str) -> str:
    return name.replace("_", "").lower()


BACKWARD_SUFFIX = re.compile(r"Backward\d*$")


def graph_forbidden(problem: Problem, record: dict) -> list[str]:
    """Autograd nodes behind the result that a forbidden kernel made (``NllLossBackward0`` for
    ``nll_loss``), matched on the name without underscores and case: the graph is built by
    torch's C++ code, so it shows the kernel even when both recorders were switched off."""
    forbidden = {_squash(f) for f in problem.forbidden}
    return [f"autograd: {node}" for node in _strings(record.get("graph"))
            if _squash(BACKWARD_SUFFIX.sub("", node)) in forbidden]


REFUSED_KINDS = {  # what the guard refused -> (zh, en)
    "frames": ("读取栈帧", "reading frames"), "gc": ("用 gc 遍历对象", "walking objects with gc"),
    "tracing": ("跟踪（settrace/setprofile）", "tracing (settrace/setprofile)"),
    "audit hooks": ("添加审计钩子", "adding an audit hook"), "ctypes": ("使用 ctypes", "using ctypes"),
    "processes": ("启动进程", "starting a process"), "threads": ("启动线程", "starting a thread"),
    "code": ("替换函数的 __code__", "replacing a function's __code__"),
    "tampering": ("修改评分程序或 torch 的记录机制", "changing the grader's or torch's recording machinery"),
}


def refused(record: dict) -> list[str]:
    """What the guard refused during this call (``"frames: sys._getframe"``), as recorded."""
    return [r for r in _strings(record.get("refused")) if r.split(":")[0] in REFUSED_KINDS][:10]


def refused_message(items: list[str]) -> Msg:
    kinds = sorted({r.split(":")[0] for r in items})
    zh = "、".join(REFUSED_KINDS[k][0] for k in kinds)
    en = ", ".join(REFUSED_KINDS[k][1] for k in kinds)
    detail = "; ".join(i.split(": ", 1)[-1] for i in items[:3])
    return Msg(f"评分时这个函数做了评分程序禁止的操作（{zh}：{detail}），任何答案都不需要这样做，此项不得分",
               f"while graded, the function did what the grader refuses ({en}: {detail}); no answer needs it, "
               "so it earns no points")


def compare_grads(exp: dict, exp_arrays, got: dict, got_arrays, tolerances: dict | None = None) -> Msg | None:
    expected, grads = exp.get("grads", []), got.get("grads", [])
    if grads and grads[0].get("kind") == "error":
        return Msg(f"反向传播失败：{grads[0].get('message')}", f"backward failed: {grads[0].get('message')}")
    if len(grads) != len(expected):
        return Msg("梯度个数与输入不符", "the number of gradients does not match the inputs")
    for i, (e, g) in enumerate(zip(expected, grads)):
        msg = compare(e, exp_arrays, g, got_arrays, tolerances=tolerances)
        if msg:
            return Msg(f"对第 {i + 1} 个需要梯度的输入，梯度不对：{msg.zh}",
                       f"gradient w.r.t. input {i + 1} that requires grad: {msg.en}")
    return None


def validate_random(problem: Problem, wire: dict, in_arrays, got: dict, got_arrays) -> Msg | None:
    """For a random function: the problem's own property check on the inputs and each of the two
    results (the function was called twice, from two fresh random states), then the two draws
    against each other: a fixed mask or pattern gives the same output twice."""
    args, kwargs = harness.decode_call({**wire, "device": "cpu"}, in_arrays)
    outputs = []
    for name in ("result", "again"):
        item = got.get(name, {})
        if item.get("kind") != "tensor" or item.get("key") not in got_arrays:
            return Msg("第二次调用没有返回张量", "the second call did not return a tensor")
        outputs.append(torch.from_numpy(np.array(got_arrays[item["key"]])))
    for out in outputs:
        msg = problem.validate(args, kwargs, out)
        if msg:
            return msg
    if problem.varies is not None and problem.varies(args, kwargs) and torch.equal(*outputs):
        return Msg("从两个不同的随机状态调用，结果完全相同：随机函数每次都应重新抽样，而不是用固定的模式",
                   "called from two different random states, it returned exactly the same result: a random "
                   "function must draw anew each call, not follow a fixed pattern")
    return None


def judge_case(problem: Problem, exp: dict, exp_arrays, got: dict, got_arrays,
               wire: dict | None = None, in_arrays=None) -> Msg | None:
    used = forbidden_used(problem, got)
    if refused(got):
        return refused_message(refused(got))
    if used:
        names = ", ".join(used)
        return Msg(f"调用了 torch 自带的实现（{names}），本题要求自己实现，此项不得分",
                   f"calls torch's own implementation ({names}); this problem asks you to write it yourself, so it earns no points")
    random = problem.validate is not None and wire is not None and wire.get("random", False)
    msg = compare(exp["result"], exp_arrays, got.get("result", {}), got_arrays, tolerances=problem.tolerances,
                  values=not random)
    if msg:
        return msg
    if random:  # values, gradients and updates are random: the property check decides
        return validate_random(problem, wire, in_arrays, got, got_arrays)
    watched = got.get("watched") or [{}] * len(exp.get("watched", []))
    for w, e, g in zip(exp.get("watch", []), exp.get("watched", []), watched):
        name = f"#{w + 1}" if isinstance(w, int) else w
        if compare(e, exp_arrays, g, got_arrays, tolerances=problem.tolerances):
            return Msg(f"调用后，参数 {name} 应被原地更新，但它的值不对",
                       f"after the call, argument {name} should have been updated in place, but its values differ")
    if "grads" in exp:
        return compare_grads(exp, exp_arrays, got, got_arrays, problem.tolerances)
    if "input_after" in exp:
        if compare(exp["returns_input"], exp_arrays, got.get("returns_input", {}), got_arrays) or \
                compare(exp["input_after"], exp_arrays, got.get("input_after", {}), got_arrays):
            return Msg("inplace=True 时应直接修改输入张量并把它返回",
                       "with inplace=True the input tensor itself must be changed and returned")
        return None
    if "after_mutation" not in exp:
        return None
    after = got.get("after_mutation", {})
    if problem.expect_shared:
        if compare(exp["result"], exp_arrays, after, got_arrays, offset=1):
            return Msg("结果没有与输入共享内存：修改输入后，结果没有随之改变",
                       "the result does not share memory with the input: changing the input did not change it")
    elif compare(exp["result"], exp_arrays, after, got_arrays):
        return Msg("结果与输入共享了内存：修改输入后，结果也跟着变了",
                   "the result shares memory with the input: changing the input changed it too")
    return None


def score_problem(problem: Problem, runs, expected, exp_arrays, records, got_arrays,
                  wires=None, in_arrays=None) -> ProblemResult:
    cases = []
    forbidden = any(forbidden_used(problem, r) for r in records)
    for i, ((case, device), exp, got) in enumerate(zip(runs, expected, records)):
        msg = judge_case(problem, exp, exp_arrays, got, got_arrays, wires[i] if wires else None, in_arrays)
        cases.append(CaseResult(case.name, device, msg is None, msg))
    passed = sum(c.passed for c in cases)
    score = round(problem.points * passed / max(len(cases), 1), 4)
    if passed == len(cases):
        status = "ok"
    elif all(r.get("result", {}).get("kind") == "missing" for r in records):
        status = "missing"
    elif all(r.get("result", {}).get("type") == "NotImplementedError" for r in records):
        status = "unanswered"
    elif any(_out_of_memory(r.get("result", {})) for r in records):
        status = "out_of_memory"
    else:
        status = "forbidden" if forbidden else "wrong"
    return ProblemResult(problem.function, problem.points, score, status, cases, None, problem.grade_id,
                         problem.title_zh, problem.title_en)


OOM = re.compile(r"(can't|cannot|unable to) allocate|out of memory|bad_alloc", re.I)


def _out_of_memory(result: dict) -> bool:
    return result.get("kind") == "error" and (result.get("type") == "MemoryError" or bool(OOM.search(result.get("message", ""))))
