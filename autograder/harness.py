"""Runs student code and records what it returns, as plain data / 运行学生代码并以纯数据记录结果.

This module runs INSIDE the sandbox, next to untrusted code, so it decides nothing: it calls
the student's functions on inputs the judge wrote, and writes back arrays (an array bundle:
raw numbers and a JSON index, no pickles) and JSON. It imports only the standard library, NumPy, torch and IPython, so the
sandbox can run it as a lone file: ``python -I harness.py JOB_DIR``.

The visible in-notebook check imports the same functions, so there is one code path for
"call the function and record the result".
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

# What the harness calls after student code has run, taken now: patching builtins.sorted or
# json.dumps from a cell cannot empty the recorded operator lists.
_sorted, _dumps, _replace, _excepthook = sorted, json.dumps, os.replace, sys.__excepthook__

MESSAGE_LIMIT = 300
OUTPUT_LIMIT = 1 << 20  # bytes of student output kept; the rest is dropped and reported
TEST_OUTPUT_LIMIT = 64 << 10  # characters of each stream a classic test cell keeps
TRACEBACK_LINES, MAX_DISPLAYS = 40, 8

# The progress protocol: empty marker files the harness leaves in JOB/progress as it goes, so
# the sandbox can enforce deadlines and blame a hung or fatal cell or problem from outside.
PROGRESS, RESULTS, WORK = "progress", "results", "work"
OUTPUT_TRUNCATED = "output_truncated"
CELL_PREFIX, PROBLEM_PREFIX, DONE_SUFFIX = "cell_", "problem_", ".done"


# ---------------------------------------------------------------- array bundles

BUNDLE_KINDS = "biufc"  # bool, signed and unsigned integers, floats, complex: plain numbers only


def write_arrays(path: Path, arrays: dict) -> None:
    """Many arrays in one file: an 8-byte header length, a JSON index (key -> dtype, shape,
    offset, size), then the raw bytes. Far cheaper than ``.npz`` (one zip member per array)
    and just as inert: nothing in it is ever executed or unpickled."""
    index, chunks, offset = {}, [], 0
    for key, array in arrays.items():
        data = np.ascontiguousarray(array).tobytes()
        index[key] = [array.dtype.str, list(array.shape), offset, len(data)]
        chunks.append(data)
        offset += len(data)
    header = json.dumps(index).encode()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # per process: a forked copy may write too
    with open(tmp, "wb") as f:
        f.write(len(header).to_bytes(8, "little"))
        f.write(header)
        f.writelines(chunks)
    os.replace(tmp, path)


def read_arrays(path: Path, raw: bytes | None = None) -> dict:
    """Read a bundle written by :func:`write_arrays` (from ``raw`` if given), checking every entry
    (the file may have been written by student code): plain numeric dtypes only, sizes that
    match, in bounds."""
    raw = Path(path).read_bytes() if raw is None else raw
    n = int.from_bytes(raw[:8], "little")
    index = json.loads(raw[8:8 + n])
    body = memoryview(raw)[8 + n:]
    out = {}
    for key, (dtype, shape, offset, size) in index.items():
        dt = np.dtype(str(dtype))
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if dt.hasobject or dt.kind not in BUNDLE_KINDS or dt.fields is not None or min(shape, default=0) < 0 \
                or count * dt.itemsize != size or offset < 0 or offset + size > len(body):
            raise ValueError(f"bad array entry {key!r}")
        out[key] = np.frombuffer(body, dtype=dt, count=count, offset=offset).reshape(shape)
    return out


def cell_marker(index: int, done: bool = False) -> str:
    return f"{CELL_PREFIX}{index}{DONE_SUFFIX if done else ''}"


def problem_marker(function: str) -> str:
    return PROBLEM_PREFIX + function


TORCH_NAMESPACES = ("aten", "prims", "prim", "_c10d_functional", "c10d", "quantized", "debugprims")


def _torch_names() -> dict:
    """function -> name of every public function torch, torch.nn.functional, Tensor, torch.special
    and torch.linalg offer, taken when the harness is imported, before any student code. Keyed by
    the object itself (they hash by identity), not by ``id()``: in the sandbox every ``id()`` call
    is an audit event."""
    import torch.nn.functional as F

    names = {}
    for owner in (torch, F, torch.Tensor, torch.special, torch.linalg, torch.fft, torch._C._nn,
                  torch._C._VariableFunctions, torch._C._linalg, torch._C._special):
        for key in dir(owner):
            value = getattr(owner, key, None)
            name = getattr(value, "__name__", key)
            if callable(value) and not isinstance(value, type):
                try:
                    names.setdefault(value, name if isinstance(name, str) else key)
                except TypeError:  # unhashable: not a plain function
                    pass
    return names


TORCH_NAMES = _torch_names()


class OpRecorder(TorchDispatchMode):
    """Records the name of every aten operator torch dispatches (what actually executes)."""

    def __init__(self):
        super().__init__()
        self.ops: set[str] = set()

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # no torch._dynamo.disable wrapper around every operator (~17 µs each; imports dynamo)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(func.overloadpacket.__name__)
        namespace, _, name = func._schema.name.partition("::")  # the C++ schema's name: a renamed packet still shows
        self.ops.add(name)
        if namespace not in TORCH_NAMESPACES:
            self.ops.add(func._schema.name)  # e.g. "mylib::cross_entropy", a custom op wrapping a kernel
        return func(*args, **(kwargs or {}))


class CallRecorder(TorchFunctionMode):
    """Records the name of every torch API function called (``F.cross_entropy``,
    ``torch._C._nn.l1_loss``, ``Tensor.softmax`` ...): catches composite functions that
    decompose into elementary operators before :class:`OpRecorder` could see them."""

    def __init__(self):
        super().__init__()
        self.calls: set[str] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", None)
        if isinstance(name, str):
            self.calls.add(name)
        try:
            original = TORCH_NAMES.get(func)  # its name before any student code ran: renaming it does not hide it
        except TypeError:  # an unhashable "function" (handle_torch_function called by hand): no torch function
            original = None
        if original is not None:
            self.calls.add(original)
        return func(*args, **(kwargs or {}))


def grad_pattern(shape, dtype, device) -> torch.Tensor:
    """The upstream gradient for backward probes: fixed, uneven, the same on both sides."""
    n = int(np.prod(shape)) if len(shape) else 1
    values = torch.cos(torch.arange(n, dtype=torch.float64) * 0.7 + 0.3) + 0.5
    return values.reshape(shape).to(dtype=dtype, device=device)


def torch_dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, name.removeprefix("torch."), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown dtype {name!r}")
    return dtype


def decode_arg(spec, arrays, device: str):
    """Turn one wire argument into the object the student's function receives."""
    kind = spec["kind"]
    if kind == "tensor":
        t = torch.from_numpy(np.array(arrays[spec["key"]])).to(torch_dtype(spec["dtype"]))
        t = t.to(device)
        if spec.get("transpose"):
            t = t.T.contiguous().T  # same values, transposed strides: a non-contiguous view
        return t.requires_grad_(spec.get("requires_grad", False))
    if kind == "array":
        return np.array(arrays[spec["key"]])
    if kind == "dtype":
        return torch_dtype(spec["name"])
    if kind == "device":
        return torch.device(device)
    if kind == "value":
        return spec["value"]
    if kind == "tuple":
        return tuple(decode_arg(item, arrays, device) for item in spec["items"])
    raise ValueError(f"unknown argument kind {kind!r}")


def decode_call(case, arrays):
    args = [decode_arg(a, arrays, case["device"]) for a in case["args"]]
    kwargs = {k: decode_arg(a, arrays, case["device"]) for k, a in case["kwargs"].items()}
    return args, kwargs


def _short(text) -> str:
    lines = str(text).strip().splitlines() or [""]
    return lines[0][:MESSAGE_LIMIT]


def encode_result(obj, arrays: dict, key: str, depth: int = 0) -> dict:
    """Describe a returned object as JSON plus arrays; never keeps a live object."""
    if isinstance(obj, torch.Tensor) and type(obj) not in (torch.Tensor, torch.nn.Parameter):
        return {"kind": "other", "type": f"tensor subclass {type(obj).__name__}"}  # its methods are the student's
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        data = t.cpu()
        if data.dtype == torch.bfloat16 or "float8" in str(data.dtype):
            data = data.float()  # no NumPy dtype for these
        arrays[key] = data.resolve_conj().resolve_neg().numpy().copy()  # a snapshot, not a view
        return {"kind": "tensor", "key": key, "dtype": str(obj.dtype), "shape": list(obj.shape),
                "device": obj.device.type, "requires_grad": bool(obj.requires_grad),
                "type": type(obj).__name__}
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            return {"kind": "other", "type": "ndarray[object]"}
        arrays[key] = obj.copy()
        return {"kind": "ndarray", "key": key, "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if obj is None or type(obj) in (bool, int, float, str):
        value = obj if not isinstance(obj, str) else obj[:MESSAGE_LIMIT]
        if type(obj) is int and abs(obj) > 2**62:
            value = float(obj)
        return {"kind": "value", "type": type(obj).__name__, "value": value}
    if isinstance(obj, torch.device):
        return {"kind": "device", "type": type(obj).__name__, "value": str(obj)}
    if isinstance(obj, torch.dtype):
        return {"kind": "dtype", "value": str(obj)}
    if type(obj) in (tuple, list) and depth < 3 and len(obj) <= 64:
        items = [encode_result(x, arrays, f"{key}_{i}", depth + 1) for i, x in enumerate(obj)]
        return {"kind": type(obj).__name__, "items": items}
    return {"kind": "other", "type": type(obj).__name__}


def _mutate_first_input(args) -> None:
    for a in args:
        if isinstance(a, (np.ndarray, torch.Tensor)):
            with torch.no_grad():
                a += 1
            return


def _error(exc) -> dict:
    return {"kind": "error", "type": type(exc).__name__, "message": _short(exc)}


def _backward(result, inputs, arrays_out: dict, key: str) -> list[dict]:
    """Backpropagate ``grad_pattern`` from the result; record the gradient of every input
    tensor that requires one, in argument order."""
    if not isinstance(result, torch.Tensor):
        return [{"kind": "error", "type": "TypeError", "message": "result is not a tensor"}]
    if not result.requires_grad:
        return [{"kind": "error", "type": "NoGradient",
                 "message": "the result does not require grad: the graph was cut (detach, .item(), NumPy?)"}]
    try:
        # the same vector-Jacobian product as result.backward(pattern), bit for bit (the gradient
        # reaching `result` is 1 * pattern), without torch importing its symbolic-shape machinery
        # (and sympy) for an explicit gradient argument
        (result * grad_pattern(result.shape, result.dtype, result.device)).sum().backward()
    except Exception as exc:  # noqa: BLE001
        return [_error(exc)]
    return [encode_result(a.grad, arrays_out, f"{key}_g{i}") for i, a in enumerate(inputs)]


def run_case(fn, case, arrays_in, arrays_out: dict, key: str, record: bool = True, guard: Guard | None = None,
             graph: bool = True) -> dict:
    """Call ``fn`` on one case; return its record (results go into ``arrays_out``). With
    ``record`` the torch functions and operators it reaches are recorded (the trusted
    reference runs with ``record=False``: plain torch, no modes), and so are the autograd nodes
    behind the result (``graph``) and whatever ``guard``'s audit hook refused meanwhile."""
    refused_before = len(guard.refused) if guard is not None else 0
    record_ = _run_case(fn, case, arrays_in, arrays_out, key, record, graph and record)
    if guard is not None and len(guard.refused) > refused_before:
        record_["refused"] = guard.since(refused_before)
    return record_


def _run_case(fn, case, arrays_in, arrays_out: dict, key: str, record: bool, graph: bool) -> dict:
    args, kwargs = decode_call(case, arrays_in)
    leaves = [a for a in list(args) + list(kwargs.values()) if isinstance(a, torch.Tensor) and a.requires_grad]
    if case.get("preprocess") == "log_softmax":
        # the function gets log-probabilities; gradients are taken w.r.t. the logits (the leaf),
        # where torch's own convention for e.g. CTC and the true derivative agree
        args[0] = torch.log_softmax(args[0], dim=-1)
    ops, calls = OpRecorder(), CallRecorder()
    random_case = case.get("random", False)
    try:
        with (calls if record else contextlib.nullcontext()), (ops if record else contextlib.nullcontext()):
            if random_case:  # a random function is called twice, from two fresh random states
                torch.manual_seed(int.from_bytes(os.urandom(4), "little"))
            result = fn(*args, **kwargs)
            record = {"result": encode_result(result, arrays_out, key)}  # encoded inside the recorders
            if random_case:
                again_args, again_kwargs = decode_call(case, arrays_in)
                torch.manual_seed(int.from_bytes(os.urandom(4), "little"))
                record["again"] = encode_result(fn(*again_args, **again_kwargs), arrays_out, key + "_again")
    except Exception as exc:  # noqa: BLE001 - any student error becomes data
        return {"result": _error(exc), "ops": _sorted(ops.ops), "calls": _sorted(calls.calls)}
    record.update(ops=_sorted(ops.ops), calls=_sorted(calls.calls))
    if graph:
        record["graph"] = graph_nodes(result, [*args, *kwargs.values()])
    if case.get("probe") == "mutate_input":
        _mutate_first_input(args)
        record["after_mutation"] = encode_result(result, arrays_out, key + "_after")
    elif case.get("probe") == "backward":
        record["grads"] = _backward(result, leaves, arrays_out, key)
    elif case.get("probe") == "inplace":
        record["returns_input"] = {"kind": "value", "type": "bool", "value": bool(args and result is args[0])}
        record["input_after"] = encode_result(args[0], arrays_out, key + "_input") if args else {"kind": "missing"}
    watched = [args[w] if isinstance(w, int) else kwargs.get(w) for w in case.get("watch", [])]
    if watched:  # arguments the function must update in place (e.g. batch norm's running stats)
        record["watch"] = case["watch"]
        record["watched"] = [encode_result(w, arrays_out, f"{key}_w{i}") for i, w in enumerate(watched)]
    return record


# ---------------------------------------------------------------- the guard: audit hook, threads, integrity

# Switches for measuring each defence (benchmarks/defences.py) and for proving the tests against a
# weakened grader; every one is on when grading. The zygote sets them from AUTOGRADER_WEAKEN before
# any fork; nothing in a job can change them.
DEFENCES = {"audit": True, "threads": True, "nproc": True, "integrity": True, "graph": True, "hide_harness": True,
            "unlink": True, "seal": True, "top_level": True}


class Refused(RuntimeError):
    """What the student's code gets for an operation the grader refuses (see :func:`install_guard`)."""


# audit event -> the kind of thing refused; the judge words the kinds in both languages
REFUSED_EVENTS = {
    "sys._getframe": "frames", "sys._current_frames": "frames",
    "gc.get_objects": "gc", "gc.get_referrers": "gc", "gc.get_referents": "gc",
    "sys.settrace": "tracing", "sys.setprofile": "tracing", "sys.addaudithook": "audit hooks",
    "os.fork": "processes", "os.forkpty": "processes", "os.system": "processes", "os.exec": "processes",
    "os.posix_spawn": "processes", "os.spawn": "processes", "subprocess.Popen": "processes", "pty.spawn": "processes",
}
FRAME_GETTERS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})  # how a frame is reached besides sys._getframe
# stdlib functions that call sys._getframe only to name their caller's module and never hand the frame out
FRAME_NAMING = ("collections", "typing", "typing_extensions", "enum", "dataclasses", "functools", "abc", "string")
# ... and those that turn the stack into text, never handing a frame out (torch.cuda's lazy calls
# keep traceback.format_stack() of their caller; torch.manual_seed makes one)
FRAME_TEXT = ("format_stack", "extract_stack", "print_stack")


def _codes(owner, found: set, depth: int = 0) -> None:
    """Every code object of the functions (and methods, one class level deep) ``owner`` holds."""
    for value in list(vars(owner).values()):
        value = getattr(value, "__func__", value)  # classmethod, staticmethod
        code = getattr(value, "__code__", None)
        if isinstance(code, type(_codes.__code__)):
            stack = [code]
            while stack:
                c = stack.pop()
                found.add(c)
                stack += [k for k in c.co_consts if isinstance(k, type(c))]
        elif isinstance(value, type) and depth == 0 and getattr(value, "__module__", None) == owner.__name__:
            _codes(value, found, 1)


@functools.cache
def frame_codes() -> frozenset:
    """The code objects whose ``sys._getframe`` calls the guard allows (see FRAME_NAMING and
    FRAME_TEXT): made once in the warm process (~10 ms), so no sandboxed child pays for it."""
    import importlib
    import traceback

    allowed: set = set()
    for name in FRAME_NAMING:
        try:
            _codes(importlib.import_module(name), allowed)
        except ImportError:  # typing_extensions is optional
            pass
    return frozenset(allowed | {getattr(traceback, name).__code__ for name in FRAME_TEXT})


@functools.cache
def ctypes_codes() -> frozenset:
    """torch.cuda's own functions: on a CUDA build, ``torch.cuda.device_count()`` asks NVML through
    ctypes (``_raw_device_count_nvml``); a ctypes event with one of these on the stack is torch's."""
    import torch.cuda

    found: set = set()
    _codes(torch.cuda, found)
    return frozenset(found)


class Guard:
    """What the audit hook refused, and where: in top-level cell ``cell[0]`` or in a graded call.
    Lives only in the harness's frames and in closures no student code can reach (the hook is in
    no Python-visible list; the thread refusal holds only the list of refusals)."""

    def __init__(self, record_top_level: bool = True):
        self.refused: list[dict] = []
        self.cell: list = [None]
        self.record_top_level = record_top_level
        self.top_level: dict[str, list[str]] = {}  # student cell -> torch functions and operators it reached

    def since(self, n: int) -> list[str]:
        return [f"{r['kind']}: {r['event']}" for r in self.refused[n:]]


def install_guard(guard: Guard, threads: bool = True) -> None:
    """Refuse, from now on and for good (an audit hook cannot be removed from Python), what no
    answer needs and what reaching the harness needs: frames (``sys._getframe`` outside the
    stdlib's module naming, ``sys._current_frames``, ``tb_frame``/``gi_frame``...), ``gc``'s object
    walks, tracing, ``ctypes``, new processes, replacing a function's ``__code__``, other audit
    hooks; and new threads (Python 3.11 has no audit event for them: ``_thread.start_new_thread``
    is replaced). Each refusal raises :class:`Refused` in the student's code and is kept in
    ``guard``. Installed after every import the harness and torch need (torch loads its
    libraries with ctypes at import)."""
    allowed, cuda = frame_codes(), ctypes_codes()
    getframe, events, frame_getters = sys._getframe, REFUSED_EVENTS, FRAME_GETTERS
    refused, cell = guard.refused, guard.cell
    busy = False

    def note(kind: str, event: str):
        if len(refused) < 1000:  # a loop of refused calls must not fill the memory with its record
            refused.append({"kind": kind, "event": str(event)[:80], "cell": cell[0]})
        raise Refused(f"{event}: refused by the grader / 评分程序禁止此操作")

    def torch_cuda_below() -> bool:
        """Whether torch.cuda's own code made this ctypes call (within a few frames)."""
        nonlocal busy
        if busy:
            return True
        busy = True
        try:
            frame = getframe(2)  # the caller of the audited ctypes function
            for _ in range(8):
                if frame is None:
                    return False
                if frame.f_code in cuda:
                    return True
                frame = frame.f_back
            return False
        finally:
            busy = False

    def hook(event, args):
        nonlocal busy
        kind = events.get(event)
        if kind is None:
            if event == "object.__getattr__":
                if args[1] in frame_getters:
                    note("frames", f"{type(args[0]).__name__}.{args[1]}")
            elif event == "object.__setattr__":
                if args[1] == "__code__":
                    note("code", "function.__code__")
            elif event.startswith("ctypes.") and not torch_cuda_below():
                note("ctypes", event)
            return
        if event == "sys._getframe":
            if busy:
                return
            busy = True
            try:
                caller = getframe(1).f_code  # the function that called sys._getframe
            finally:
                busy = False
            if caller in allowed:
                return
            event = f"sys._getframe in {caller.co_name} ({caller.co_filename.rsplit('/', 1)[-1]})"
        note(kind, event)

    sys.addaudithook(hook)
    if threads:
        import _thread
        import threading

        def start_new_thread(*args, **kwargs):
            note("threads", "threading.Thread.start")

        _thread.start_new_thread = threading._start_new_thread = start_new_thread


class Integrity:
    """What the recorders and the harness rest on, as it was before any student code: the
    recorder classes, torch's mode machinery, the harness's globals, ``builtins`` and ``json``.
    :meth:`check` lists what changed since and puts it back."""

    def __init__(self, harness_globals: dict):
        import builtins

        import torch.utils._python_dispatch as python_dispatch

        owners = [OpRecorder, CallRecorder, TorchDispatchMode, TorchFunctionMode]
        self.classes = [(c, dict(vars(c))) for c in owners]
        self.dicts = [(f"{m.__name__}.", vars(m), dict(vars(m))) for m in
                      (python_dispatch, torch.overrides, torch._C, json, builtins)]
        self.dicts.append(("harness.", harness_globals, dict(harness_globals)))
        self.names = dict(TORCH_NAMES)

    def check(self) -> list[str]:
        changed = []
        for cls, before in self.classes:
            now = vars(cls)
            for key in set(now) | set(before):
                if now.get(key, _MISSING) is not before.get(key, _MISSING):
                    changed.append(f"{cls.__name__}.{key}")
                    if key in before:
                        type.__setattr__(cls, key, before[key])
                    else:
                        type.__delattr__(cls, key)
        for prefix, now, before in self.dicts:
            for key, value in before.items():
                if now.get(key, _MISSING) is not value:
                    changed.append(prefix + key)
                    now[key] = value
        if TORCH_NAMES != self.names:
            changed.append("harness.TORCH_NAMES")
            TORCH_NAMES.clear()
            TORCH_NAMES.update(self.names)
        return changed[:20]


_MISSING = object()


def graph_nodes(result, inputs=(), limit: int = 10_000) -> list[str]:
    """The autograd nodes behind a returned tensor (or tuple of them), by name: ``NllLossBackward0``
    if torch's cross-entropy made it, whatever switched the recorders off. A custom
    ``torch.autograd.Function`` (the student's own backward) is left out: its name is the student's;
    so is what made the ``inputs`` (the harness's own ``log_softmax`` preprocessing)."""
    from torch.autograd.function import BackwardCFunction

    roots = list(result) if type(result) in (tuple, list) else [result]
    stack = [t.grad_fn for t in roots if type(t) in (torch.Tensor, torch.nn.Parameter) and t.grad_fn is not None]
    seen = {t.grad_fn for t in inputs if isinstance(t, torch.Tensor) and t.grad_fn is not None}  # not id(): audited
    names = set()
    while stack and len(seen) < limit:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if not isinstance(node, BackwardCFunction):
            names.add(type(node).__name__)
        stack += [n for n, _ in node.next_functions]
    return _sorted(names)


# ---------------------------------------------------------------- the sandboxed process

def _atomic_write_json(path: Path, data) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(_dumps(data))
    _replace(tmp, path)


def _touch(path: Path) -> None:
    path.write_text("")


def _stub_checker() -> None:
    """Let ``from autograder.check import Checker`` work in the sandbox, doing nothing."""
    import types

    package, module = types.ModuleType("autograder"), types.ModuleType("autograder.check")
    module.Checker = lambda *a, **k: (lambda *a, **k: None)
    package.check = module
    sys.modules.setdefault("autograder", package)
    sys.modules.setdefault("autograder.check", module)


class CappedOutput:
    """A text stream that keeps the first ``OUTPUT_LIMIT`` bytes and drops the rest, leaving a
    marker file so the grader can report "output truncated" even if the process dies later."""

    def __init__(self, stream, marker: Path | None, limit: int = OUTPUT_LIMIT):
        self.stream, self.marker, self.limit, self.written = stream, marker, limit, 0

    def write(self, text) -> int:
        text = str(text)
        room = self.limit - self.written
        if room > 0:
            self.stream.write(text[:room])
        if len(text) > room and self.marker is not None and not self.marker.exists():
            self.marker.write_text("")
        self.written += len(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def make_shell():
    """The IPython shell that runs the cells: no history (no thread, no database file). The
    warm process makes it before forking, so a child does not pay ~50 ms for it (and gets the
    same instance back here). Like a kernel's, it turns a cell's last value into an
    ``execute_result`` and an exception into an ``error`` output (kept on ``shell.outcome``)
    instead of printing them."""
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    return _shell_class().instance(config=config, colors="nocolor")


@functools.cache
def _shell_class():
    from IPython.core.displayhook import DisplayHook
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type

    class ResultHook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            self.shell.outcome["result"] = {"data": dict(format_dict), "metadata": dict(md_dict or {})}

        def finish_displayhook(self):
            self._is_active = False

    class GradingShell(InteractiveShell):
        displayhook_class = Type(ResultHook)
        outcome: dict = {}

        def showtraceback(self, exc_tuple=None, filename=None, tb_offset=None, exception_only=False,
                          running_compiled_code=False):
            """The interpreter's own traceback (C code, like an uncaught exception's): IPython's
            formatter reads ``tb_frame`` in Python, which the audit hook refuses."""
            etype, evalue, tb = exc_tuple or sys.exc_info()
            if etype is None:
                return
            if running_compiled_code and tb is not None:
                tb = tb.tb_next  # the harness's run_code frame
            buffer, stderr = io.StringIO(), sys.stderr
            sys.stderr = buffer
            try:
                _excepthook(etype, evalue, tb)
            finally:
                sys.stderr = stderr
            self._showtraceback(etype, evalue, buffer.getvalue().splitlines())

        def _showtraceback(self, etype, evalue, stb):
            self.outcome["error"] = {"ename": getattr(etype, "__name__", "Error"), "evalue": _short(evalue),
                                     "traceback": [str(line) for line in stb][-TRACEBACK_LINES:]}
    return GradingShell


def run_cells(cells, skip, progress: Path, results: Path, seal: str = "", guard: Guard | None = None):
    """Run the notebook's code cells in order, like a kernel would; for each classic test cell
    (one marked ``test``) write its outputs, as a kernel would have sent them, to RESULTS."""
    _stub_checker()
    marker = progress / OUTPUT_TRUNCATED
    stdout, stderr = CappedOutput(sys.stdout, marker), CappedOutput(sys.stderr, marker)
    sys.stdout, sys.stderr = stdout, stderr
    shell = make_shell()
    errors = []
    for cell in cells:
        if cell["index"] in skip:
            continue
        _touch(progress / cell_marker(cell["index"]))
        if guard is not None:
            guard.cell[0] = cell["index"]
        shell.outcome = {}
        if cell.get("test"):
            outputs = run_test_cell(shell, cell["source"])
            _atomic_write_json(results / test_result_name(cell["index"]), {"outputs": outputs, "seal": seal})
        else:
            record = guard is not None and guard.record_top_level and not cell.get("locked")
            calls, ops = CallRecorder(), OpRecorder()
            with (calls if record else contextlib.nullcontext()), (ops if record else contextlib.nullcontext()):
                result = shell.run_cell(cell["source"], store_history=False)
            if record and (calls.calls or ops.ops):  # what the student's own top-level code reached
                guard.top_level[str(cell["index"])] = _sorted(calls.calls | ops.ops)[:TOP_LEVEL_NAMES]
            err = result.error_in_exec or result.error_before_exec
            if err is not None:
                errors.append({"cell": cell["index"], "type": type(err).__name__, "message": _short(err)})
        sys.stdout, sys.stderr = stdout, stderr  # whatever the cell did to them
        _touch(progress / cell_marker(cell["index"], done=True))
    if guard is not None:
        guard.cell[0] = None
    return shell.user_ns, errors


def test_result_name(index: int) -> str:
    return f"{CELL_PREFIX}{index}.json"


def run_test_cell(shell, source: str) -> list[dict]:
    """Run one classic test cell; return its outputs in nbformat's shape: the stdout and stderr
    streams, rich displays, then the cell's value (``execute_result``) or its ``error``."""
    from IPython.utils.capture import capture_output

    out, err = io.StringIO(), io.StringIO()
    sys.stdout, sys.stderr = CappedOutput(out, None, TEST_OUTPUT_LIMIT), CappedOutput(err, None, TEST_OUTPUT_LIMIT)
    with capture_output(stdout=False, stderr=False, display=True) as captured:
        shell.run_cell(source, store_history=False)
    outputs = [{"output_type": "stream", "name": name, "text": stream.getvalue()}
               for name, stream in (("stdout", out), ("stderr", err)) if stream.getvalue()]
    for display in captured.outputs[:MAX_DISPLAYS]:
        outputs.append({"output_type": "display_data", "data": dict(display.data),
                        "metadata": dict(display.metadata or {})})
    if "error" in shell.outcome:
        outputs.append({"output_type": "error", **shell.outcome["error"]})
    elif "result" in shell.outcome:
        outputs.append({"output_type": "execute_result", "execution_count": 1, **shell.outcome["result"]})
    return outputs


def run_problem(problem, namespace, arrays_in, out_dir: Path, seal: str = "", guard: Guard | None = None,
                integrity: "Integrity | None" = None, graph: bool = True) -> None:
    name = problem["function"]
    fn = namespace.get(name)
    arrays_out: dict = {}
    if not callable(fn):
        records = [{"result": {"kind": "missing"}, "ops": []} for _ in problem["cases"]]
    else:
        records = [run_case(fn, case, arrays_in, arrays_out, f"c{i}", guard=guard, graph=graph)
                   for i, case in enumerate(problem["cases"])]
    changed = integrity.check() if integrity is not None else []
    if changed:  # the function changed what the recorders rest on: none of its evidence holds
        for r in records:
            r.setdefault("refused", []).extend(f"tampering: {c}" for c in changed)
    write_arrays(out_dir / f"{name}.bin", arrays_out)
    _atomic_write_json(out_dir / f"{name}.json", {"cases": records, "seal": seal})


def main(job_dir: str) -> None:
    job_dir = Path(job_dir)
    job = json.loads((job_dir / "job.json").read_text())
    progress = job_dir / PROGRESS
    results = job_dir / RESULTS
    arrays_in = read_arrays(job_dir / "inputs.bin")
    defences = dict(DEFENCES)  # read once, before any student code
    seal = job.pop("seal", "") if defences["seal"] else ""
    if defences["unlink"]:
        for name in ("job.json", "inputs.bin"):  # the cases and hidden inputs now live only in this frame
            (job_dir / name).unlink()
    with CallRecorder(), OpRecorder():  # the first recorded op imports torch._dynamo (~2 s): not the student's time
        torch.zeros(1) + 1
    if defences["hide_harness"]:
        hide_harness()
    modules = dict(sys.modules)
    work = job_dir / WORK
    if work.is_dir():  # the assignment's files (data the notebook reads), as a kernel would see them
        os.chdir(work)
    make_shell()  # and what it imports: the bwrap path has no warm process that made it already
    from IPython.utils import capture  # noqa: F401 - run_test_cell's, imported before the guard
    guard = Guard(defences["top_level"])
    integrity = Integrity(globals()) if defences["integrity"] else None
    if defences["audit"]:
        install_guard(guard, defences["threads"])
    namespace, errors = run_cells(job["cells"], set(job.get("skip_cells", [])), progress, results, seal, guard)
    sys.modules.update(modules)  # a cell that swapped sys.modules['torch'] only hurts its own code
    changed = integrity.check() if integrity is not None else []
    guard.refused += [{"kind": "tampering", "event": c, "cell": None} for c in changed]
    _atomic_write_json(job_dir / f"cell_errors_{os.getpid()}.json", errors)
    _atomic_write_json(results / REFUSED, {"refused": guard.refused[:50], "top_level": guard.top_level, "seal": seal})
    for problem in job["problems"]:
        _touch(progress / problem_marker(problem["function"]))
        run_problem(problem, namespace, arrays_in, results, seal, guard, integrity, defences["graph"])
    sys.stdout.flush()
    os._exit(0)  # skip student atexit handlers and lingering threads


REFUSED = "refused.json"  # what the guard refused while the top-level cells ran, what they reached (sealed)
TOP_LEVEL_NAMES = 2000  # names kept per top-level cell


def hide_harness() -> None:
    """Take the grader's modules out of ``sys.modules`` (their functions keep their globals), so
    student code cannot look the harness up by name; on the bwrap path the harness is
    ``__main__``, which a plain module replaces."""
    import types

    for name in [n for n in sys.modules if n == "autograder" or n.startswith("autograder.")]:
        del sys.modules[name]
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    if main_module is not None and (getattr(main_module, "__dict__", None) is globals()
                                    or str(getattr(spec, "name", "")).startswith("autograder")):
        sys.modules["__main__"] = types.ModuleType("__main__")  # the harness (bwrap) or the zygote (fork)


if __name__ == "__main__":
    main(sys.argv[1])
