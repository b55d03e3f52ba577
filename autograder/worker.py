"""The judge of one grading worker / 评分工作进程中的评判进程 (TRUSTED; never runs student code).

Forked by a slot zygote of :mod:`autograder.zygote`. Reads one JSON request per line from its
channel to the coordinator (a notebook's code cells, the assignment, limits, devices), grades it with
:func:`autograder.grade.grade_cells` through the sandbox the zygote chose, and writes one JSON
line back (the :class:`~autograder.results.NotebookReport`). Plans (inputs and torch
references) are made once per assignment and device set and kept for every later request.

The zygote's first line (before any warm-up) says which sandbox path this worker got, so the
coordinator can print it and refuse a forced path the machine cannot give; the judge's first
line says when it is warm.
"""
from __future__ import annotations

import json
import os
import time
import traceback

from autograder import grade, sandbox, specs


def main(conn, info: dict, prewarm: str, started: float, channel) -> None:
    """Serve requests on ``channel`` (a socket to the coordinator); first make the plan named by
    ``prewarm`` ("ASSIGNMENT:cpu,cuda" or "ASSIGNMENT:auto") and say how long the warm-up took
    and which slot zygote this is (one ``{"warm": seconds, "slot_pid": pid}`` line)."""
    sandbox.die_with_parent()
    out = channel.makefile("w", encoding="utf-8")
    requests = channel.makefile("r", encoding="utf-8")

    def send(message: dict) -> None:
        out.write(json.dumps(message, ensure_ascii=False) + "\n")
        out.flush()
    box = (sandbox.ForkSandbox(conn, info["mechanisms"]) if info["path"] == "fork"
           else sandbox.BwrapSandbox(info.get("why_not_fork"), unsandboxed=info["path"] == sandbox.UNSANDBOXED))
    plans: dict[tuple, grade.AssignmentPlan] = {}

    def plan_for(assignment: str, devices) -> grade.AssignmentPlan:
        if list(devices) == ["auto"]:
            devices = specs.devices()  # this worker's: CPU, plus CUDA when it has one
        key = (assignment, tuple(devices))
        if key not in plans:
            missing = [d for d in devices if d not in specs.devices()]
            if missing:
                raise sandbox.SandboxUnavailable(f"this worker has no {', '.join(missing)} device / 本机没有该设备")
            plans[key] = grade.AssignmentPlan(specs.load(assignment, missing_ok=True), list(devices))
        return plans[key]
    if prewarm:
        assignment, _, devices = prewarm.partition(":")
        try:
            plan_for(assignment, devices.split(",") if devices else ["cpu"])
        except Exception:  # noqa: BLE001 - reported again on the first request for it
            pass
    send({"warm": round(time.time() - started, 3), "slot_pid": os.getppid()})
    for line in requests:
        req = json.loads(line)
        try:
            plan = plan_for(req["assignment"], req["devices"])
            report = grade.grade_cells(req["cells"], plan, box, sandbox.Limits(**req["limits"]),
                                       req.get("work_dir") or None, req.get("files") or None)
            send({"id": req["id"], "report": report.to_dict()})
        except Exception as exc:  # noqa: BLE001 - the coordinator records it for this submission
            send({"id": req["id"], "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc(limit=5)})
