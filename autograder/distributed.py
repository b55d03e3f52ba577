"""Grading beyond one machine: an existing Dask cluster / 用现有的 Dask 集群评分（多台机器）.

``make grade SCHEDULER=tcp://HOST:8786`` (or ``c.TrustedExecute.scheduler``) sends the batch's
notebooks to the workers of a running Dask cluster instead of the local pool. We write no
scheduler: Dask places the tasks, moves them off a worker that dies, and routes by resource.

* **Warm on every Dask worker.** :class:`WarmGrader`, a Dask worker plugin, keeps one local
  warm grading worker (:class:`~autograder.engine.LocalEngine` of size 1: the template with torch
  imported, its judge, a sandboxed child per run) alive in each Dask worker process, so no task
  pays for importing torch. Run Dask workers with one thread each (``--nthreads 1``): one
  notebook at a time per Dask worker, as the local pool does per core.
* **The coordinator writes the gradebook.** Only ``make grade`` (this process) records grades,
  whatever the database: nbgrader's preprocessors run here exactly as locally, so SQLite stays
  safe and PostgreSQL sees one writer per batch. Workers only send reports back.
* **Same score anywhere.** A task carries everything the grading depends on: the notebook's code
  cells, the assignment's name (each worker has the same package, hence the same specs), the
  limits, the devices (made explicit before the fan-out, never "whatever this worker has") and
  the assignment's files, by value (a remote worker cannot read the coordinator's disk).
* **GPU workers.** A notebook graded on CUDA asks for the Dask resource ``GPU`` (start such
  workers with ``--resources GPU=1``), so it runs only on a worker that declared a GPU; notebooks
  graded on the CPU alone run on any worker.
* **Faults.** A Dask worker that dies mid-task has its tasks rescheduled by Dask; the
  coordinator records each notebook once, when its future resolves. A task Dask gives up on
  (``KilledWorker``) is recorded as failed with the reason, never lost. An unreachable scheduler
  raises :class:`SchedulerUnreachable` before anything is written.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

from distributed import Client, WorkerPlugin, get_worker

from autograder import sandbox
from autograder.engine import Done, Job, LocalEngine, Reports
from autograder.results import OPEN_STUDENT_FILE, NotebookReport

PLUGIN = "autograder-warm-grader"
GPU = "GPU"  # the Dask worker resource a CUDA-capable worker declares
CONNECT_SECONDS = 10


class SchedulerUnreachable(RuntimeError):
    """The Dask scheduler could not be reached, or has no worker that can take the batch."""


def resources_for(devices: list[str]) -> dict[str, int] | None:
    """The Dask resources a notebook graded on ``devices`` needs: a GPU for any CUDA case."""
    return {GPU: 1} if any(d.startswith("cuda") for d in devices) else None


def pack_files(folder: str | None) -> dict[str, bytes]:
    """The assignment's files beside the notebook, by value (same rules as a local job's copy)."""
    if not folder:
        return {}
    from autograder.grade import assignment_files  # here, not at import: a Dask worker never needs torch itself
    packed = {}
    for src, rel in assignment_files(Path(folder)):
        with os.fdopen(os.open(src, OPEN_STUDENT_FILE), "rb") as f:
            packed[rel.as_posix()] = f.read()
    return packed


def unpack_files(files: dict[str, bytes], dest: Path) -> None:
    for rel, data in files.items():
        target = (dest / rel).resolve()
        if not target.is_relative_to(dest.resolve()):
            raise ValueError(f"file name outside the job: {rel!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


class WarmGrader(WorkerPlugin):
    """One warm local grading worker inside a Dask worker process (see the module docstring)."""

    name = PLUGIN

    def __init__(self, sandbox_path: str, assignment: str, devices: list[str]):
        self.sandbox_path, self.assignment, self.devices = sandbox_path, assignment, list(devices)

    def settings(self) -> tuple:
        return (self.sandbox_path, self.assignment, tuple(self.devices))

    def setup(self, worker) -> None:
        log = Path(tempfile.gettempdir()) / f"autograder-dask-{os.getpid()}.log"
        self.address, self.graded = worker.address, 0
        self.lock = threading.Lock()  # one notebook at a time, whatever --nthreads says
        self.engine = LocalEngine(1, self.sandbox_path, log, prewarm=(self.assignment, self.devices))

    def teardown(self, worker) -> None:
        self.engine.close()

    def handshake(self) -> dict:
        info = dict(self.engine.info())  # raises SandboxUnavailable where the path is refused
        return {"address": self.address, "path": info["path"], "mechanisms": info["mechanisms"],
                "warm_seconds": self.engine.workers[0].warm_seconds}

    def grade(self, task: dict) -> dict:
        with self.lock:
            files_dir = None
            try:
                if task["files"]:
                    files_dir = Path(tempfile.mkdtemp(prefix="dask-files-"))
                    unpack_files(task["files"], files_dir)
                job = Job(None, task["assignment"], task["cells"], sandbox.Limits(**task["limits"]),
                          task["devices"], None, str(files_dir) if files_dir else None)
                [done] = self.engine.grade_all([job])
                self.graded += 1
            finally:
                if files_dir is not None:
                    shutil.rmtree(files_dir, ignore_errors=True)
        return {"report": done.report.to_dict() if done.report else None, "error": done.error,
                "worker": self.address}


def _plugin() -> WarmGrader:
    plugin = get_worker().plugins.get(PLUGIN)
    if plugin is None:
        raise RuntimeError("this Dask worker has no autograder plugin registered")
    return plugin


def plugin_state(dask_worker) -> dict | None:
    """(run on every worker by ``Client.run``) this worker's warm grader: settings and count."""
    plugin = dask_worker.plugins.get(PLUGIN)
    return {"settings": plugin.settings(), "graded": plugin.graded} if isinstance(plugin, WarmGrader) else None


def handshake_task() -> dict:
    return _plugin().handshake()


def grade_task(task: dict) -> dict:
    return _plugin().grade(task)


class DaskEngine(Reports):
    """The same interface as :class:`~autograder.engine.LocalEngine` (submit, completed, info,
    abort, close), on the workers of the Dask cluster at ``address``."""

    def __init__(self, address: str, path: str = "auto", prewarm: tuple[str, list[str]] | None = None):
        if path not in sandbox.PATHS:
            raise ValueError(f"sandbox path must be one of {sandbox.PATHS}, not {path!r}")
        self.address, self.path = address, path
        self.assignment, devices = prewarm or ("", ["cpu"])
        try:
            self.client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise SchedulerUnreachable(
                f"无法连接 Dask 调度器 {address}（{type(exc).__name__}），没有写入任何成绩；请检查地址和调度器是否在运行 / "
                f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc}); nothing was "
                "written. Check the address and that the scheduler is running") from None
        self.devices = self._explicit(devices)
        plugin = WarmGrader(path, self.assignment, self.devices)
        states = self.client.run(plugin_state)
        if not states or any(s is None or json.dumps(s["settings"]) != json.dumps(plugin.settings())
                                for s in states.values()):
            self.client.register_plugin(plugin, name=PLUGIN)  # else every worker is already warm for this batch
        super().__init__()
        self.futures: set = set()
        self.aborting = False
        self._info: dict | None = None

    def _explicit(self, devices: list[str]) -> list[str]:
        """The devices every notebook is graded on, the same on every worker: "auto" becomes CPU,
        plus CUDA when the cluster has a worker declaring a GPU."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        gpus = [a for a, w in workers.items() if w.get("resources", {}).get(GPU)]
        if list(devices) == ["auto"]:
            devices = ["cpu", "cuda"] if gpus else ["cpu"]
        if resources_for(devices) and not gpus:
            self.client.close()
            raise SchedulerUnreachable(
                f"评分设备包含 CUDA，但集群 {self.address} 中没有声明 GPU 资源的工作进程（--resources {GPU}=1）/ "
                f"grading on CUDA was asked for, but no worker of {self.address} declares a GPU "
                f"(--resources {GPU}=1)")
        return list(devices)

    def info(self) -> dict:
        """Every worker's handshake (sandbox path and mechanisms), before anything is written."""
        if self._info is None:
            try:
                self.client.wait_for_workers(1, timeout=CONNECT_SECONDS)
            except TimeoutError:
                raise SchedulerUnreachable(
                    f"Dask 调度器 {self.address} 没有可用的工作进程，没有写入任何成绩 / the Dask scheduler at "
                    f"{self.address} has no workers; nothing was written") from None
            addresses = list(self.client.scheduler_info(n_workers=-1)["workers"])
            shakes = self.client.gather([self.client.submit(handshake_task, workers=[a], pure=False,
                                                            allow_other_workers=False) for a in addresses])
            first = shakes[0]
            self._info = {"path": first["path"], "mechanisms": first["mechanisms"], "workers": shakes,
                          "scheduler": self.address, "devices": self.devices}
        return self._info

    @property
    def warm_seconds(self) -> float | None:
        shakes = (self._info or {}).get("workers", [])
        return max((s["warm_seconds"] or 0 for s in shakes), default=None)

    def submit(self, job: Job) -> None:
        self.pending += 1
        job = replace(job, devices=self.devices, work_dir=None)
        try:
            task = {"assignment": job.assignment, "cells": job.cells, "limits": job.limits.to_dict(),
                    "devices": job.devices, "files": pack_files(job.files)}
        except (OSError, ValueError) as exc:
            self.done.put(Done(job, None, f"the assignment's files could not be sent: {exc}"))
            return
        future = self.client.submit(grade_task, task, pure=False, resources=resources_for(job.devices))
        self.futures.add(future)
        future.add_done_callback(lambda f: self._finished(job, f))

    def _finished(self, job: Job, future) -> None:
        self.futures.discard(future)
        if self.aborting:
            return
        try:
            answer = future.result()
        except Exception as exc:  # noqa: BLE001 - KilledWorker, a lost scheduler, ...: that notebook fails
            self.done.put(Done(job, None, f"the Dask cluster could not grade it ({type(exc).__name__}: {exc})"))
            return
        report = NotebookReport.from_dict(answer["report"]) if answer["report"] else None
        self.done.put(Done(job, report, answer["error"], answer["worker"]))

    def abort(self) -> None:
        """Ctrl-C: cancel what is queued or running; nothing more is recorded."""
        self.aborting = True
        if self.futures:
            self.client.cancel(list(self.futures))

    def close(self) -> None:
        self.client.close()
