"""A static read of the submission's source for what honest answers never need / 提交源码的静态审查.

TRUSTED side (the judge's process; imports no torch). The student's code runs in its own
process, so a student who has read the grader can try to switch off or fool what records the
evidence there: torch's private dispatch machinery, frame and object introspection, threads,
``exec``/``eval``, monkeypatching modules, the job's files. None of that is needed to answer an
assignment, so each use is a *finding*: the line, what it is, in both languages. A submission
with findings keeps the score its run earned but is flagged for review (nbgrader's
``needs_manual_grade``, see :class:`autograder.preprocessors.FlagForReview`), with the findings
shown to the instructor in the feedback, the formgrader and the summary. Never silent full marks.

Only the student's cells are read (locked cells come back from the release). A static read can
be evaded by code it cannot parse the meaning of; that is why findings flag, and the runtime
guards (no threads or processes, hidden inputs withheld, results sealed) stand beside it.
"""
from __future__ import annotations

import ast
from dataclasses import asdict, dataclass

PRIVATE_MODULES = (
    "torch._C", "torch._refs", "torch._decomp", "torch._prims", "torch._prims_common", "torch._ops", "torch._dynamo",
    "torch._library", "torch._subclasses", "torch._functorch", "torch._higher_order_ops", "torch.utils._python_dispatch",
    "torch.overrides", "torch.library", "torch.ops", "torch.fx", "torch.jit", "torch.compiler",
)
RISKY_MODULES = (  # introspection, threads and processes, code loading: never needed by an answer
    "inspect", "gc", "ctypes", "threading", "_thread", "multiprocessing", "concurrent", "subprocess", "signal",
    "builtins", "__main__", "importlib", "atexit", "marshal", "code", "codeop", "types", "sysconfig", "pty",
    "resource", "faulthandler", "tracemalloc", "autograder", "harness",
)
ALLOWED_IMPORTS = ("autograder.check",)  # the visible check of the setup cell
RISKY_CALLS = ("exec", "eval", "compile", "__import__", "globals", "locals", "vars", "breakpoint")
DYNAMIC_ATTR_CALLS = ("getattr", "setattr", "delattr", "hasattr")
SYS_ATTRS = ("_getframe", "modules", "settrace", "setprofile", "_current_frames", "addaudithook", "meta_path",
             "path_hooks", "__stdout__", "__stderr__", "exit", "_clear_type_cache", "setrecursionlimit")
OS_ATTRS = ("_exit", "fork", "forkpty", "kill", "killpg", "dup", "dup2", "close", "closerange", "system", "popen",
            "execv", "execve", "execl", "execlp", "execvp", "spawnv", "spawnl", "posix_spawn", "setsid", "chdir",
            "remove", "unlink", "rename", "replace", "symlink", "link", "mkfifo", "open", "write", "environ")
FRAME_ATTRS = ("f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_trace", "tb_frame", "tb_next",
               "gi_frame", "cr_frame", "ag_frame", "co_code", "co_consts", "co_filename")
SAFE_DUNDERS = ("__init__", "__name__", "__doc__", "__len__", "__call__", "__repr__", "__str__", "__eq__",
                "__getitem__", "__setitem__", "__iter__", "__next__", "__enter__", "__exit__", "__post_init__",
                "__add__", "__mul__", "__class__", "__qualname__", "__module__", "__future__", "__annotations__")
JOB_FILES = ("job.json", "inputs.bin", "results/", "progress/", "harness.py", "stdout.txt", "cell_errors")
TENSOR_HOOKS = ("__torch_function__", "__torch_dispatch__")


@dataclass(frozen=True)
class Finding:
    cell: int
    line: int
    what: str  # English, short: "uses torch._C"
    zh: str

    def to_dict(self) -> dict:
        return asdict(self)


def scan(cells: list[dict]) -> list[Finding]:
    """Findings in the student's code cells (each ``{"index", "source"}``; ``locked`` or ``test``
    cells are the instructor's and are skipped)."""
    found: list[Finding] = []
    for cell in cells:
        if cell.get("locked") or cell.get("test"):
            continue
        source = _python_only(cell["source"])
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # it cannot run either; the grading run reports the error
        found += _Visitor(cell["index"]).run(tree)
    return found[:50]


def _python_only(source: str) -> str:
    """IPython magics and shell escapes (``%x``, ``!x``) as what they are: a call of ``get_ipython``."""
    lines = []
    for line in source.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "get_ipython()"
        lines.append(line)
    return "\n".join(lines)


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Visitor(ast.NodeVisitor):
    def __init__(self, cell: int):
        self.cell, self.found, self.aliases = cell, [], {}  # alias -> module it names

    def run(self, tree) -> list[Finding]:
        self.visit(tree)
        return self.found

    def flag(self, node, what: str, zh: str) -> None:
        finding = Finding(self.cell, getattr(node, "lineno", 0), what, zh)
        if finding not in self.found:
            self.found.append(finding)

    def module_of(self, name: str) -> str:
        head, _, rest = name.partition(".")
        base = self.aliases.get(head, head)
        return f"{base}.{rest}" if rest else base

    def check_module(self, node, module: str) -> None:
        if any(module == a or module.startswith(a + ".") for a in ALLOWED_IMPORTS):
            return
        for private in PRIVATE_MODULES:
            if module == private or module.startswith(private + "."):
                self.flag(node, f"uses torch's private machinery ({module})", f"用到了 torch 的内部机制（{module}）")
                return
        top = module.split(".")[0]
        if top in RISKY_MODULES:
            self.flag(node, f"uses {module} (introspection, threads, processes or code loading)",
                      f"用到了 {module}（自省、线程、进程或动态加载代码）")

    def visit_Import(self, node):
        for alias in node.names:
            self.aliases[(alias.asname or alias.name).split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            self.check_module(node, alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        for alias in node.names:
            full = f"{module}.{alias.name}" if module else alias.name
            self.aliases[alias.asname or alias.name] = full
            self.check_module(node, full)
        self.generic_visit(node)

    def visit_Attribute(self, node):
        dotted = _dotted(node)
        if dotted is not None and not getattr(node, "_inner", False):  # a.b.c once, not a.b and a again
            inner = node.value
            while isinstance(inner, ast.Attribute):  # only the dotted chain below it
                inner._inner = True
                inner = inner.value
            full = self.module_of(dotted)
            before = len(self.found)
            self.check_module(node, full)
            owner, _, attr = full.rpartition(".")
            if owner == "sys" and attr in SYS_ATTRS:
                self.flag(node, f"uses sys.{attr}", f"用到了 sys.{attr}")
            elif owner == "os" and attr in OS_ATTRS:
                self.flag(node, f"uses os.{attr}", f"用到了 os.{attr}")
            if len(self.found) > before:
                node._inner = True  # said once per expression
        if getattr(node, "_inner", False):
            pass
        elif node.attr in FRAME_ATTRS:
            self.flag(node, f"reads .{node.attr} (frames or code objects)", f"读取了 .{node.attr}（栈帧或代码对象）")
        elif node.attr.startswith("__") and node.attr.endswith("__") and node.attr not in SAFE_DUNDERS:
            self.flag(node, f"uses .{node.attr}", f"用到了 .{node.attr}")
        elif node.attr.startswith("_") and not node.attr.startswith("__") and _is_module_chain(node, self):
            self.flag(node, f"uses a private name ({dotted or node.attr})", f"用到了私有名称（{dotted or node.attr}）")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in ("__builtins__", "__loader__", "__spec__"):
            self.flag(node, f"uses {node.id}", f"用到了 {node.id}")
        self.generic_visit(node)

    def visit_Call(self, node):
        name = _dotted(node.func)
        if name in RISKY_CALLS:
            self.flag(node, f"calls {name}()", f"调用了 {name}()")
        elif name in DYNAMIC_ATTR_CALLS and (len(node.args) < 2 or not isinstance(node.args[1], ast.Constant)):
            self.flag(node, f"calls {name}() with a computed name", f"用计算出的名字调用了 {name}()")
        elif name == "open" or (name or "").endswith((".open", "read_text", "read_bytes", "load", "loadtxt")):
            for arg in node.args[:1]:
                text = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else ""
                if any(j in text for j in JOB_FILES) or text.startswith("/proc"):
                    self.flag(node, f"opens the grader's files ({text[:60]})", f"打开了评分程序的文件（{text[:60]}）")
        self.generic_visit(node)

    def visit_Assign(self, node):
        for target in node.targets:
            self._check_store(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._check_store(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node):
        for target in node.targets:
            self._check_store(target)
        self.generic_visit(node)

    def _check_store(self, target) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self._check_store(t)
            return
        if isinstance(target, ast.Attribute):
            owner = _dotted(target.value)
            if owner is not None and (owner.split(".")[0] in self.aliases or owner in ("torch", "np", "F", "nn")):
                self.flag(target, f"replaces {owner}.{target.attr} (monkeypatching a module)",
                          f"替换了 {owner}.{target.attr}（修改模块）")
            elif target.attr.startswith("__") and target.attr.endswith("__"):
                self.flag(target, f"assigns .{target.attr}", f"给 .{target.attr} 赋值")
        elif isinstance(target, ast.Subscript):
            owner = _dotted(target.value)
            if owner is not None and self.module_of(owner).split(".")[0] in ("sys", "builtins", "os"):
                self.flag(target, f"changes {owner}[...]", f"修改了 {owner}[...]")

    def visit_FunctionDef(self, node):
        if node.name in TENSOR_HOOKS:
            self.flag(node, f"defines {node.name} (a tensor subclass or mode)", f"定义了 {node.name}（张量子类或模式）")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        for base in node.bases:
            if (self.module_of(_dotted(base) or "")).startswith(("torch.Tensor", "torch.utils._python_dispatch",
                                                                  "torch.overrides")):
                self.flag(node, f"defines a tensor subclass ({node.name})", f"定义了张量子类（{node.name}）")
        self.generic_visit(node)


def _is_module_chain(node: ast.Attribute, visitor: _Visitor) -> bool:
    """``torch._foo``, ``F._bar``: a private name on an imported module (not ``self._x``)."""
    owner = _dotted(node.value)
    return owner is not None and owner.split(".")[0] in visitor.aliases


RUNTIME_KINDS = {  # what the sandbox's guard refused in a top-level cell -> (en, zh)
    "frames": ("reading frames", "读取栈帧"), "gc": ("walking objects with gc", "用 gc 遍历对象"),
    "tracing": ("tracing", "跟踪（settrace/setprofile）"), "audit hooks": ("adding an audit hook", "添加审计钩子"),
    "ctypes": ("using ctypes", "使用 ctypes"), "processes": ("starting a process", "启动进程"),
    "threads": ("starting a thread", "启动线程"), "code": ("replacing a function's __code__", "替换函数的 __code__"),
    "tampering": ("changing the grader's or torch's recording machinery", "修改评分程序或 torch 的记录机制"),
}


def runtime_findings(raw: bytes, seal: str, forbidden: dict[str, tuple] | None = None) -> list[Finding]:
    """Findings from what the sandbox's audit hook refused (or the harness found changed) while
    the top-level cells ran, and from the forbidden torch functions and operators a student's
    top-level cell reached (``forbidden``: problem -> its forbidden names): an answer computed
    there with the forbidden kernel (from hidden inputs rebuilt from the spec's source, say) and
    returned later by a lookup is never seen by a graded call's recorders. ``raw`` is the
    harness's sealed ``refused.json``. Unsealed or malformed: nothing (the run's results are then
    not trusted either)."""
    import json

    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return []
    if not isinstance(data, dict) or data.get("seal") != seal or not isinstance(data.get("refused"), list):
        return []
    found = []
    for item in data["refused"][:50]:
        if not isinstance(item, dict) or item.get("kind") not in RUNTIME_KINDS:
            continue
        en, zh = RUNTIME_KINDS[item["kind"]]
        event = str(item.get("event", ""))[:80]
        cell = item.get("cell") if isinstance(item.get("cell"), int) else -1
        finding = Finding(cell, 0, f"at run time: {en} ({event}), refused by the grader",
                          f"运行时{zh}（{event}），已被评分程序拒绝")
        if finding not in found:
            found.append(finding)
    top_level = data.get("top_level")
    for cell, names in (top_level.items() if isinstance(top_level, dict) else []):
        names = {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()
        for problem, banned in sorted((forbidden or {}).items()):
            hit = sorted(names & set(banned))[:5]
            if hit and cell.isdigit():
                found.append(Finding(int(cell), 0, f"a top-level cell called {', '.join(hit)}, which {problem} may not "
                                     "use: an answer computed outside a graded call is not seen by its recorders",
                                     f"顶层单元格调用了 {', '.join(hit)}，而 {problem} 不允许使用：在评分调用之外算好的答案，"
                                     "记录器看不到"))
    return found[:50]
