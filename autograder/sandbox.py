"""Starts student code in a sandbox, enforces its deadlines, kills it / 沙箱：启动、计时、终止.

The one owner of the limits. Two ways in, the same walls and the same deadlines:

* ``fork`` (:class:`ForkSandbox`): a warm, trusted process (:mod:`autograder.zygote`) that has
  imported torch, NumPy and IPython forks a child per run; the child enters its own mount, PID,
  network, IPC, UTS and cgroup namespaces, gets a private root in which only its job folder is
  writable, drops to an unprivileged uid of its own, sets rlimits and ``no_new_privs``, and only
  then runs the student's code. ~20 ms instead of ~1.6 s of interpreter start and imports. Needs
  root (it mounts and changes uid).
* ``bwrap`` (:class:`BwrapSandbox`): a fresh ``bubblewrap`` + ``python -I harness.py`` per run:
  no network, private PID namespace, read-only system, instructor files hidden, an unprivileged
  uid when root. Slower; works without root. Where bubblewrap is missing too, it degrades to
  rlimits only, and :func:`BwrapSandbox.mechanisms` says so.

Both watch the harness's progress markers (:func:`watch`): a top-level cell or a graded function
that overruns its wall-time limit is killed, and the grading loop blames exactly that one.
"""
from __future__ import annotations

import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path


def _protocol():
    """The harness module, whose marker files these watch. Imported on first use: it imports
    torch, which the coordinator (it only builds :class:`Limits`) never needs."""
    from autograder import harness
    return harness


NOBODY = 65534
POLL_SECONDS = 0.05
# "unsafe-trusted-input": the best sandbox there is, and if there is none, run anyway: only for
# submissions you trust (e.g. the demo's own samples). Never chosen by "auto".
UNSANDBOXED = "unsafe-trusted-input"
PATHS = ("auto", "fork", "bwrap", UNSANDBOXED)
NO_SANDBOX = ("没有可用的沙箱（fork 路径需要 root，bubblewrap 未安装或不能运行），拒绝运行学生代码。"
              "请以 root 运行，或安装 bubblewrap（sudo apt-get install bubblewrap）；只有完全可信的提交才可用 "
              f"SANDBOX={UNSANDBOXED} / no sandbox is available (the fork path needs root; bubblewrap is missing or "
              "cannot run), so student code is not run. Run as root, or install bubblewrap (sudo apt-get install "
              f"bubblewrap); for submissions you trust completely, SANDBOX={UNSANDBOXED}")


@dataclass(frozen=True)
class Limits:
    cell_seconds: float = 30.0      # wall time per top-level notebook cell
    problem_seconds: float = 20.0   # wall time per graded function (all its cases)
    cpu_seconds: int = 300          # CPU time for the whole process
    memory_bytes: int = 6 << 30     # address space
    processes: int = 64             # per sandbox user (only enforced when not root)
    file_bytes: int = 64 << 20      # largest file the student may write (incl. stdout)
    job_bytes: int = 512 << 20      # everything in the job folder together
    submission_seconds: float = 180.0  # wall time for grading one notebook, every rerun included
    run_seconds: float | None = None  # wall time for this whole run (the submission's budget left)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Run:
    """How one sandboxed run ended: what overran (``"cell_3"``, ``"problem_f"``) or None,
    and the exit status (negative: killed by that signal)."""
    overran: str | None
    exit_status: int | None = None
    error: str | None = None  # the sandbox itself failed (not the student's code)


class SandboxUnavailable(RuntimeError):
    """The requested sandbox path cannot run on this machine (never silently replaced)."""


# ------------------------------------------------------------------ progress and deadlines

class Progress:
    """The harness's marker files in ``JOB/progress`` (see :mod:`autograder.harness`)."""

    def __init__(self, job_dir: Path):
        self.job_dir = Path(job_dir)

    @property
    def dir(self) -> Path:
        return self.job_dir / _protocol().PROGRESS

    @property
    def results(self) -> Path:
        return self.job_dir / _protocol().RESULTS

    def _started(self, prefix: str) -> dict[str, float]:
        try:
            entries = list(os.scandir(self.dir))
        except OSError:
            return {}
        out = {}
        for e in entries:
            if e.name.startswith(prefix):
                try:  # the student's process can write here too: a link or a folder is not a marker
                    if e.is_file(follow_symlinks=False):
                        out[e.name[len(prefix):]] = e.stat(follow_symlinks=False).st_mtime
                except OSError:
                    pass
        return out

    def problems_started(self) -> dict[str, float]:
        return self._started(_protocol().PROBLEM_PREFIX)

    def problem_done(self, function: str) -> bool:
        return (self.results / f"{function}.json").exists()

    def running_cells(self) -> dict[int, float]:
        """Cells that started and did not finish: index -> start time."""
        marks = self._started(_protocol().CELL_PREFIX)
        return {int(n): t for n, t in marks.items()
                if n.isdigit() and f"{n}{_protocol().DONE_SUFFIX}" not in marks}

    def unfinished_cell(self) -> int | None:
        cells = self.running_cells()
        return min(cells) if cells else None

    def output_truncated(self) -> bool:
        return (self.dir / _protocol().OUTPUT_TRUNCATED).exists()


def overrun(progress: Progress, limits: Limits, now: float) -> str | None:
    for name, t0 in progress.problems_started().items():
        if now - t0 > limits.problem_seconds and not progress.problem_done(name):
            return _protocol().problem_marker(name)
    for index, t0 in progress.running_cells().items():
        if now - t0 > limits.cell_seconds:
            return _protocol().cell_marker(index)
    return None


BUDGET, DISK = "budget", "disk"  # what overran besides a cell or a problem
DISK_CHECK_SECONDS, MAX_ENTRIES = 0.25, 5000


def job_too_big(job_dir: Path, limit: int) -> bool:
    """More than ``limit`` bytes, or more than MAX_ENTRIES files, in the job folder (not following links)."""
    total, count, stack = 0, 0, [str(job_dir)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for e in entries:
            count += 1
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                else:
                    total += e.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                pass
            if total > limit or count > MAX_ENTRIES:
                return True
    return False


def watch(wait, kill, job_dir: Path, limits: Limits) -> str | None:
    """Until ``wait(timeout)`` reports the run has ended (True), check the deadlines every
    :data:`POLL_SECONDS` (and the job folder's size every DISK_CHECK_SECONDS); on an overrun
    call ``kill()`` and return what overran: a cell or problem marker, BUDGET or DISK."""
    progress = Progress(job_dir)
    start = checked = time.time()
    while not wait(POLL_SECONDS):
        now = time.time()
        culprit = overrun(progress, limits, now)
        if culprit is None and limits.run_seconds is not None and now - start > limits.run_seconds:
            culprit = BUDGET
        if culprit is None and now - checked > DISK_CHECK_SECONDS:
            checked = now
            culprit = DISK if job_too_big(job_dir, limits.job_bytes) else None
        if culprit is not None:
            kill()
            return culprit
    return None


def pidfd_waiter(pid: int):
    """``wait(timeout)`` for a child: True once it has exited (woken at once by a pidfd)."""
    fd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(fd, select.POLLIN)

    def wait(timeout: float) -> bool:
        return bool(poller.poll(timeout * 1000))
    return wait, fd


# ------------------------------------------------------------------ shared pieces

def scrubbed_env(job_dir: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(job_dir), "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            "TMPDIR": "/tmp"}


def system_paths() -> list[str]:
    """What student code may read: the system and the Python it runs on, nothing else."""
    paths = {"/usr", "/bin", "/lib", "/lib64", "/etc", sys.prefix, sys.base_prefix,
             str(Path(sys.executable).resolve().parent.parent)}
    return sorted(p for p in paths if os.path.exists(p))


def apply_rlimits(limits: Limits) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails with an error, not a kill
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))


def die_with_parent() -> None:
    """If our parent dies, the kernel kills us (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


# ------------------------------------------------------------------ bubblewrap per run

def bwrap_executable() -> str:
    """bubblewrap's program: ``bwrap`` on the PATH, or the one $AUTOGRADER_BWRAP names."""
    return os.environ.get("AUTOGRADER_BWRAP", "bwrap")


def _bwrap_works() -> bool:
    exe = shutil.which(bwrap_executable())
    if not exe:
        return False
    try:
        return subprocess.run([exe, "--ro-bind", "/", "/", "--unshare-net", "true"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


_BWRAP = None


def bwrap_available() -> bool:
    global _BWRAP
    if _BWRAP is None:
        _BWRAP = _bwrap_works()
    return _BWRAP


class BwrapSandbox:
    """A fresh ``bwrap ... python -I harness.py JOB`` for every run."""
    path = "bwrap"

    def __init__(self, why_not_fork: str | None = None, unsandboxed: bool = False):
        """``unsandboxed``: run even without bubblewrap (the explicit trusted-input setting);
        otherwise a machine without it refuses (:data:`NO_SANDBOX`)."""
        self.why_not_fork, self.unsandboxed = why_not_fork, unsandboxed
        if unsandboxed:
            self.path = UNSANDBOXED

    def mechanisms(self) -> list[str]:
        if not bwrap_available() and self.unsandboxed:
            return [f"NO SANDBOX ({UNSANDBOXED}): student code runs as this user, with only rlimits; "
                    "trusted input only / 没有沙箱：仅限可信的提交", f"fork path unavailable: {self.why_not_fork}"]
        found = ["a fresh interpreter per run (bubblewrap path: slower than fork)"]
        if self.why_not_fork:
            found.append(f"fork path unavailable: {self.why_not_fork}")
        if bwrap_available():
            found += ["bubblewrap: no network, private PID namespace, read-only system, instructor files hidden"]
            if os.geteuid() == 0:
                found += [f"unprivileged user (uid {NOBODY}, via setpriv)"]
        else:
            found += ["NO bubblewrap: network, other files and processes are NOT isolated"]
        return found + ["rlimits: CPU, memory, processes, file size, no core dumps", "scrubbed environment",
                        "own session, killed as a group"]

    @staticmethod
    def command(job_dir: Path) -> list[str]:
        python = [sys.executable, "-I", str(job_dir / "harness.py"), str(job_dir)]
        if not bwrap_available():
            return python
        jail = [bwrap_executable(), "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv",
                "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
        paths = system_paths()
        parents = sorted({str(a) for p in [*paths, str(job_dir)] for a in Path(p).parents if str(a) != "/"})
        for d in parents:
            jail += ["--perms", "0755", "--dir", d]
        for p in paths:
            jail += ["--ro-bind", p, p]
        jail += ["--bind", str(job_dir), str(job_dir), "--chdir", str(job_dir)]
        for node in sorted(Path("/dev").glob("nvidia*")):  # CUDA's device nodes only: /dev/shm stays private
            jail += ["--dev-bind", str(node), str(node)]
        for k, v in scrubbed_env(job_dir).items():
            jail += ["--setenv", k, v]
        if os.geteuid() == 0:  # bwrap needs root to mount; the student code must not keep it
            jail += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all"]
        return jail + python

    def run(self, job_dir: Path, limits: Limits) -> Run:
        if not bwrap_available() and not self.unsandboxed:
            raise SandboxUnavailable(NO_SANDBOX)  # fail closed: never run student code without walls
        shutil.copy(_protocol().__file__, job_dir / "harness.py")  # runs as a lone file
        if os.geteuid() == 0:
            for p in [job_dir, *job_dir.rglob("*")]:
                os.chown(p, NOBODY, NOBODY)

        def preexec():
            die_with_parent()
            apply_rlimits(limits)
        with open(job_dir / "stdout.txt", "wb") as out:
            proc = subprocess.Popen(
                self.command(job_dir), cwd=job_dir, env=scrubbed_env(job_dir), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True, preexec_fn=preexec)

        def wait(timeout: float) -> bool:
            try:
                proc.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False

        def kill() -> None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            overran = watch(wait, kill, job_dir, limits)
        finally:
            kill()  # reap anything left in its process group
            proc.wait()
        return Run(overran, proc.returncode)


# ------------------------------------------------------------------ fork from a warm process

class ForkSandbox:
    """Runs through the warm process that forked us (see :mod:`autograder.zygote`): one JSON
    line out on ``conn`` (a socket to it), one back."""
    path = "fork"

    def __init__(self, conn, mechanisms: list[str]):
        self.conn, self._mechanisms = conn, mechanisms
        self.reader = conn.makefile("r", encoding="utf-8")

    def mechanisms(self) -> list[str]:
        return list(self._mechanisms)

    def run(self, job_dir: Path, limits: Limits) -> Run:
        self.conn.sendall((json.dumps({"job_dir": str(job_dir), "limits": limits.to_dict()}) + "\n").encode())
        line = self.reader.readline()
        if not line:
            raise SandboxUnavailable("the warm process is gone / 预热进程已退出")
        data = json.loads(line)
        return Run(data.get("overran"), data.get("exit_status"), data.get("error"))
