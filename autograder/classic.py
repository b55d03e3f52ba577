"""Classic nbgrader test cells / 经典 nbgrader 测试单元格 (TRUSTED side; imports no torch).

A test cell that no spec owns (plain ``assert``s, nbgrader's instantiated ``### AUTOTEST``)
is run by the harness inside the sandbox, in the student's own process, exactly as a kernel
would run it; its outputs come back as a file. Here they are read as untrusted data: size
capped before parsing, only the output types and fields a kernel sends, every string bounded,
rich output reduced to plain text and PNG (no student HTML or script reaches a page). The
score is not decided here: the nbgrader glue writes these outputs into the cell and scores it
with nbgrader's own rule (:func:`nbgrader.utils.determine_grade`), so it matches stock nbgrader.
"""
from __future__ import annotations

import json
from pathlib import Path

from autograder.results import Msg, ProblemResult, read_bounded

FILE_LIMIT = 2 << 20        # bytes of one cell's outputs file read at most
TEXT_LIMIT = 64 << 10       # characters of any one string kept
PNG_LIMIT = 1 << 20         # characters of one base64 PNG kept (larger ones are dropped)
MAX_OUTPUTS, MAX_TRACEBACK = 16, 60
KEPT_MIME = ("text/plain", "image/png")


def result(cell: dict, status: str, outputs: list[dict], note: Msg | None = None) -> ProblemResult:
    test = cell["test"]
    return ProblemResult(test["grade_id"], test["points"], 0.0, status, [], note, test["grade_id"],
                         kind="classic", outputs=outputs)


def read(cell: dict, path: Path, seal: str = "") -> ProblemResult:
    """The result of a classic test cell that ran to its end (passed or raised)."""
    try:
        data = json.loads(read_bounded(path, FILE_LIMIT).decode("utf-8", errors="replace"))
        if data.get("seal") != seal:
            return failed_with(cell, "forbidden", Msg("这个测试单元格的输出不是评分程序写的（被伪造），不得分",
                                                      "this test cell's outputs were not written by the grader "
                                                      "(forged); no points"))
        outputs = clean(data["outputs"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        return failed_with(cell, "unreadable", Msg(f"无法读取这个测试单元格的输出（{type(exc).__name__}）",
                                                   f"could not read this test cell's outputs ({type(exc).__name__})"))
    errors = [o["ename"] for o in outputs if o["output_type"] == "error"]
    if errors == ["NotImplementedError"]:  # the release's `raise NotImplementedError()` is still there
        return result(cell, "unanswered", outputs)
    failed = errors or any(o.get("name") == "stderr" for o in outputs)
    return result(cell, "wrong" if failed else "ok", outputs)


def failed(cell: dict, timed_out: bool, limits) -> ProblemResult:
    """A classic test cell that overran its time or ended the process: no points."""
    if timed_out:
        return failed_with(cell, "timeout", Msg(f"测试单元格超过时间限制（{limits.cell_seconds:g} 秒）",
                                                f"the test cell exceeded the time limit ({limits.cell_seconds:g} s)"))
    return failed_with(cell, "crashed", Msg("运行这个测试单元格时进程意外退出（例如调用了 sys.exit/os._exit，或内存耗尽）",
                                            "the process exited while running this test cell "
                                            "(e.g. sys.exit/os._exit, or out of memory)"))


def failed_with(cell: dict, status: str, note: Msg) -> ProblemResult:
    error = {"output_type": "error", "ename": status.title().replace("_", ""), "evalue": f"{note.zh} / {note.en}",
             "traceback": [note.zh, note.en]}
    return result(cell, status, [error], note)


def clean(outputs) -> list[dict]:
    """Untrusted outputs -> nbformat outputs with only known types, fields and bounded sizes."""
    if not isinstance(outputs, list):
        raise TypeError("outputs is not a list")
    kept = []
    for o in outputs[:MAX_OUTPUTS]:
        kind = o.get("output_type") if isinstance(o, dict) else None
        if kind == "stream" and o.get("name") in ("stdout", "stderr"):
            kept.append({"output_type": "stream", "name": o["name"], "text": _text(o.get("text"))})
        elif kind == "error":
            traceback = o.get("traceback") if isinstance(o.get("traceback"), list) else []
            kept.append({"output_type": "error", "ename": _text(o.get("ename"))[:200] or "Error",
                         "evalue": _text(o.get("evalue")),
                         "traceback": [_text(line) for line in traceback[-MAX_TRACEBACK:]]})
        elif kind in ("execute_result", "display_data"):
            data = o.get("data") if isinstance(o.get("data"), dict) else {}
            data = {k: (v if k == "image/png" else _text(v)) for k, v in data.items()
                    if k in KEPT_MIME and isinstance(v, str) and (k != "image/png" or len(v) <= PNG_LIMIT)}
            if "text/plain" not in data and kind == "execute_result":
                data["text/plain"] = ""
            item = {"output_type": kind, "data": data, "metadata": {}}
            if kind == "execute_result":
                item["execution_count"] = 1
            if data:
                kept.append(item)
    return kept


def _text(value) -> str:
    if isinstance(value, list):  # nbformat allows multi-line strings as lists
        value = "".join(v for v in value if isinstance(v, str))
    return value[:TEXT_LIMIT] if isinstance(value, str) else ""
