"""The judge of one grading worker / 评分工作进程中的评判进程 (TRUSTED; never runs student code).

Forked by :mod:`autograder.zygote` once it has warmed up. Reads one JSON request per line on
stdin (a notebook's code cells, the assignment, limits, devices), grades it with
:func:`autograder.grade.grade_cells` through the sandbox the zygote chose, and writes one JSON
line on stdout (the :class:`~autograder.results.NotebookReport`). Plans (inputs and torch
references) are made once per assignment and device set and kept for every later request.

The first line it writes says which sandbox path it got, so the coordinator can print it and
refuse a forced path the machine cannot give.
"""
from __future__ import annotations

import json
import os
import sys
import traceback

from autograder import grade, sandbox, specs


def _protocol_out():
    """A private copy of stdout for the protocol; stray prints go to stderr instead."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def main(conn, info: dict) -> None:
    sandbox.die_with_parent()
    out = _protocol_out()

    def send(message: dict) -> None:
        out.write(json.dumps(message, ensure_ascii=False) + "\n")
        out.flush()
    if info["requested"] == "fork" and info["path"] != "fork":
        send({"ready": False, "error": f"fork sandbox unavailable / fork 沙箱不可用: {info['why_not_fork']}"})
        return
    box = sandbox.ForkSandbox(conn, info["mechanisms"]) if info["path"] == "fork" else sandbox.BwrapSandbox()
    send({"ready": True, **info})
    plans: dict[tuple, grade.AssignmentPlan] = {}
    for line in sys.stdin:
        req = json.loads(line)
        try:
            key = (req["assignment"], tuple(req["devices"]))
            if key not in plans:
                plans[key] = grade.AssignmentPlan(specs.load(req["assignment"]), req["devices"])
            report = grade.grade_cells(req["cells"], plans[key], box, sandbox.Limits(**req["limits"]),
                                       req.get("work_dir") or None)
            send({"id": req["id"], "report": report.to_dict()})
        except Exception as exc:  # noqa: BLE001 - the coordinator records it for this submission
            send({"id": req["id"], "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc(limit=5)})
