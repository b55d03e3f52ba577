"""A pool of warm grading workers on this machine / 本机的预热评分工作进程池.

One ``python -m autograder.zygote`` template imports everything once and forks each worker
(a slot zygote, its judge, and a sandboxed child per run). :class:`LocalEngine` starts ``workers``,
feeds them jobs from one queue and hands back every report as it finishes, in any order. A
worker that dies mid-job (killed, out of memory) is started again and the job is graded again
on it; a job that kills its worker twice is reported as failed, never lost. Results depend
only on the job, never on the worker it ran on.
"""
from __future__ import annotations

import array
import itertools
import json
import os
import queue
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from autograder import sandbox
from autograder.results import NotebookReport

MAX_ATTEMPTS = 2


@dataclass
class Job:
    key: Any                      # the caller's name for it, e.g. (student, notebook)
    assignment: str
    cells: list[dict]
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    devices: list[str] = field(default_factory=lambda: ["cpu"])
    work_dir: str | None = None
    files: str | None = None      # the folder holding the assignment's files (the notebook's working directory)
    attempts: int = 0


@dataclass
class Done:
    job: Job
    report: NotebookReport | None
    error: str | None = None
    worker: int | None = None


class WorkerDied(RuntimeError):
    pass


def worker_env() -> dict[str, str]:
    """What a worker process sees: no secrets of the coordinator's environment (a sandboxed
    child could read the worker's initial environment block through /proc)."""
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
           "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
           "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for k in ("CUDA_VISIBLE_DEVICES", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "AUTOGRADER_BWRAP"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def prewarm_name(prewarm: tuple[str, list[str]] | None) -> str:
    """("a07", ["auto"]) -> "a07:auto": the plan a new worker makes before its first job."""
    return f"{prewarm[0]}:{','.join(prewarm[1])}" if prewarm else ""


class Template:
    """The one warm template process of this engine (see :mod:`autograder.zygote`): started once,
    it forks a slot zygote for every worker slot asked of it, and again for a slot whose worker died."""

    def __init__(self, path: str = "auto", log=None, prewarm: str = ""):
        self.path, self.log, self.prewarm = path, log, prewarm
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self.refused: Exception | None = None  # the machine refused the path: never retried

    def start_early(self) -> "Template":
        """Start the process now, so its imports overlap with the caller's own start-up; its
        handshake is read when first needed. Call from the thread that outlives the grading
        (the process dies with the thread that started it: PR_SET_PDEATHSIG)."""
        with self.lock:
            self._popen()
        return self

    def wait_handshake(self) -> dict:
        """Sandbox path and mechanisms (starting the process if needed); raises if refused."""
        with self.lock:
            self._ensure_started()
        return self.info

    def _popen(self) -> None:
        ours, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "autograder.zygote", "--control", str(theirs.fileno()),
             "--sandbox", self.path, "--prewarm", self.prewarm],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=worker_env(), cwd="/",
            pass_fds=[theirs.fileno()], preexec_fn=sandbox.die_with_parent, text=True, encoding="utf-8",
            start_new_session=True)  # Ctrl-C reaches the coordinator alone; the workers die with it
        theirs.close()
        self.control, self.info = ours, {}

    def _ensure_started(self) -> None:
        """Under the lock: a live template whose handshake has been read."""
        if self.refused is not None:
            raise self.refused
        if self.proc is None or self.proc.poll() is not None:
            self._popen()
        if self.info:
            return
        line = self.proc.stdout.readline()
        if not line:
            self.refused = WorkerDied(f"the warm process exited while starting (status {self.proc.wait()})")
            raise self.refused
        info = json.loads(line)
        if not info.get("ready"):
            self.stop()
            self.refused = sandbox.SandboxUnavailable(info.get("error", "worker refused to start"))
            raise self.refused
        self.info = info

    def spawn(self, slot: int) -> socket.socket:
        """A fresh worker for ``slot``; returns the coordinator's end of its channel."""
        with self.lock:
            for attempt in range(2):
                self._ensure_started()
                ours, theirs = socket.socketpair()
                try:
                    self.control.sendmsg([json.dumps({"slot": slot}).encode()],
                                         [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [theirs.fileno()]))])
                    return ours
                except OSError:
                    ours.close()
                    self.stop()  # the template died: start a new one
                finally:
                    theirs.close()
            raise WorkerDied("the warm process could not be restarted")

    def stop(self) -> None:
        if self.proc is None:
            return
        for f in (self.control, self.proc.stdin):
            try:
                f.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc, self.info = None, {}


class Worker:
    """One worker slot: a judge and its slot zygote, spoken to over a socket."""

    def __init__(self, slot: int, template: Template):
        self.slot, self.template = slot, template
        self.channel: socket.socket | None = None
        self.reader = self.writer = None
        self.warm_seconds: float | None = None
        self.pid: int | None = None  # the slot zygote: killing it kills this worker's whole tree

    def start(self) -> None:
        self.channel = self.template.spawn(self.slot)
        self.reader = self.channel.makefile("r", encoding="utf-8")
        self.writer = self.channel.makefile("w", encoding="utf-8")
        line = self.reader.readline()
        if not line:
            raise WorkerDied(f"worker {self.slot} exited while starting")
        warm = json.loads(line)
        self.warm_seconds, self.pid = warm.get("warm"), warm.get("slot_pid")

    def grade(self, job: Job, request_id: int) -> dict:
        request = {"id": request_id, "assignment": job.assignment, "cells": job.cells,
                   "limits": job.limits.to_dict(), "devices": job.devices, "work_dir": job.work_dir,
                   "files": job.files}
        try:
            self.writer.write(json.dumps(request, ensure_ascii=False) + "\n")
            self.writer.flush()
            line = self.reader.readline()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerDied(str(exc)) from None
        if not line:
            raise WorkerDied(f"worker {self.slot} died")
        return json.loads(line)

    def stop(self) -> None:
        for f in (self.writer, self.reader, self.channel):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        self.channel = self.reader = self.writer = None


class Reports:
    """Finished jobs, as both engines hand them back: ``submit`` counts one in, ``completed``
    yields each :class:`Done` as it arrives until every submitted job has one."""

    def __init__(self):
        self.done: queue.Queue = queue.Queue()
        self.pending = 0

    def completed(self, block: bool = True) -> Iterator[Done]:
        """Finished jobs as they come; without ``block``, only those already finished."""
        while self.pending:
            try:
                done = self.done.get(block=block)
            except queue.Empty:
                return
            self.pending -= 1
            yield done


class LocalEngine(Reports):
    """``workers`` warm workers (default: one per core) sharing one queue of jobs."""

    def __init__(self, workers: int | None = None, path: str = "auto", log_path: Path | None = None,
                 prewarm: tuple[str, list[str]] | None = None, template: "Template | None" = None):
        if path not in sandbox.PATHS:
            raise ValueError(f"sandbox path must be one of {sandbox.PATHS}, not {path!r}")
        self.size = max(1, workers or os.cpu_count() or 1)
        self.path = path
        warm = prewarm_name(prewarm)
        if template is not None and (template.path, template.prewarm) != (path, warm):
            template.stop()  # started early for other settings: not ours to use
            template = None
        self.log = None
        if template is None:
            self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.jobs: queue.Queue = queue.Queue()
        super().__init__()
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._serving = self.size  # workers still able to take jobs
        self.aborting = False
        self._failure: Exception | None = None
        self.template = template or Template(path, self.log, warm)
        self.workers = [Worker(slot, self.template) for slot in range(self.size)]
        self.threads = [threading.Thread(target=self._serve, args=(w,), daemon=True) for w in self.workers]
        for t in self.threads:
            t.start()  # each worker is started by its own thread, which outlives it

    def info(self) -> dict:
        """The handshake: sandbox path and mechanisms, known before the workers are warm.
        Raises :class:`~autograder.sandbox.SandboxUnavailable` if the path was refused."""
        return self.template.wait_handshake()

    @property
    def warm_seconds(self) -> float | None:
        """The slowest worker's warm-up (seconds), once the workers are warm."""
        return max((w.warm_seconds or 0 for w in self.workers), default=None)

    def _serve(self, worker: Worker) -> None:
        try:
            worker.start()
        except Exception as exc:  # noqa: BLE001 - info() raises it; queued jobs are answered with it
            self._drain_on_failure(exc)
            return
        while True:
            job = self.jobs.get()
            if job is None:
                break
            job.attempts += 1
            try:
                answer = worker.grade(job, next(self._ids))
            except WorkerDied as exc:
                if self.aborting:  # killed on purpose (Ctrl-C): nothing to retry, nothing to report
                    return
                if job.attempts < MAX_ATTEMPTS:
                    self.jobs.put(job)
                else:
                    self.done.put(Done(job, None, f"the grading worker died twice on this submission ({exc})",
                                       worker.slot))
                if not self._restart(worker):
                    return
                continue
            report = NotebookReport.from_dict(answer["report"]) if "report" in answer else None
            self.done.put(Done(job, report, answer.get("error"), worker.slot))
        worker.stop()

    def _restart(self, worker: Worker) -> bool:
        worker.stop()
        try:
            worker.start()
            return True
        except Exception as exc:  # noqa: BLE001
            self._drain_on_failure(exc)
            return False

    def _drain_on_failure(self, exc: Exception) -> None:
        """This worker cannot serve. When none can, every queued job (and every job submitted
        later) is answered with the reason: never lost, never waited for forever."""
        with self._lock:
            self._serving -= 1
            if self._serving > 0:
                return
            self._failure = exc
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                self.done.put(Done(job, None, f"no grading worker could start: {exc}"))

    def submit(self, job: Job) -> None:
        self.pending += 1
        with self._lock:
            if self._failure is not None:
                self.done.put(Done(job, None, f"no grading worker could start: {self._failure}"))
                return
        self.jobs.put(job)

    def grade_all(self, jobs: list[Job]) -> list[Done]:
        for j in jobs:
            self.submit(j)
        return list(self.completed())

    def grade_cells(self, assignment: str, cells: list[dict], limits: sandbox.Limits = sandbox.Limits(),
                    devices: list[str] | None = None, work_dir: str | None = None,
                    files: str | None = None) -> NotebookReport:
        """Grade one notebook's code cells and wait for it (raises if it could not be graded)."""
        [done] = self.grade_all([Job(None, assignment, cells, limits, devices or ["cpu"], work_dir, files)])
        if done.report is None:
            raise RuntimeError(f"grading failed / 评分失败: {done.error}")
        return done.report

    def abort(self) -> None:
        """Stop now (Ctrl-C): kill the warm processes, and with them every sandboxed run (each
        dies with its parent); jobs in progress get no answer, so nothing half done is recorded."""
        self.aborting = True
        if self.template.proc is not None:
            self.template.proc.kill()
        for t in self.threads:
            t.join(timeout=5)

    def close(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for t in self.threads:
            t.join(timeout=30)
        self.template.stop()
        if self.log:
            self.log.close()

    def __enter__(self) -> "LocalEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
