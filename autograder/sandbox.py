"""Starts student code in a sandbox / 在沙箱中启动学生代码.

Uses what Linux already provides: bubblewrap (no network, private PID namespace, only the
job folder writable, nothing instructor-side visible), an unprivileged user when we are
root, rlimits (CPU, memory, processes, file size, no core dumps), a scrubbed environment
and a new session so every process can be killed. Where a mechanism is missing it degrades
to the strongest available one and says which were used (:func:`mechanisms`).
"""
from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

NOBODY = 65534


@dataclass(frozen=True)
class Limits:
    cell_seconds: float = 30.0      # wall time per top-level notebook cell
    problem_seconds: float = 20.0   # wall time per graded function (all its cases)
    cpu_seconds: int = 300          # CPU time for the whole process
    memory_bytes: int = 6 << 30     # address space
    processes: int = 64             # per sandbox user (only enforced when not root)
    file_bytes: int = 64 << 20      # largest file the student may write (incl. stdout)


def _bwrap_works() -> bool:
    exe = shutil.which("bwrap")
    if not exe:
        return False
    try:
        return subprocess.run([exe, "--ro-bind", "/", "/", "--unshare-net", "true"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


_BWRAP = None


def mechanisms() -> list[str]:
    """The isolation this machine gives student code, strongest first."""
    global _BWRAP
    if _BWRAP is None:
        _BWRAP = _bwrap_works()
    found = []
    if _BWRAP:
        found += ["bubblewrap: no network, private PID namespace, read-only system, instructor files hidden"]
    if _BWRAP and os.geteuid() == 0:
        found += [f"unprivileged user (uid {NOBODY}, via setpriv)"]
    found += ["rlimits: CPU, memory, processes, file size, no core dumps", "scrubbed environment",
              "own session, killed as a group"]
    return found


def _binds(job_dir: Path) -> list[str]:
    """Read-only system and Python, the job folder writable; parents made traversable."""
    paths = {"/usr", "/bin", "/lib", "/lib64", "/etc", sys.prefix, sys.base_prefix,
             str(Path(sys.executable).resolve().parent.parent)}
    paths = sorted(p for p in paths if os.path.exists(p))
    parents = sorted({str(a) for p in [*paths, str(job_dir)] for a in Path(p).parents if str(a) != "/"})
    args = []
    for d in parents:
        args += ["--perms", "0755", "--dir", d]
    for p in paths:
        args += ["--ro-bind", p, p]
    return args + ["--bind", str(job_dir), str(job_dir)]


def scrubbed_env(job_dir: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(job_dir), "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            "TMPDIR": "/tmp"}


def command(job_dir: Path, harness: Path) -> list[str]:
    python = [sys.executable, "-I", str(harness), str(job_dir)]
    mechanisms()
    if not _BWRAP:
        return python
    jail = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv",
            "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp"]
    jail += _binds(job_dir) + ["--chdir", str(job_dir)]
    if Path("/dev/nvidiactl").exists():
        jail += ["--dev-bind", "/dev", "/dev"]  # CUDA needs the real device nodes
    for k, v in scrubbed_env(job_dir).items():
        jail += ["--setenv", k, v]
    if os.geteuid() == 0:  # bwrap needs root to mount; the student code must not keep it
        jail += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all"]
    return jail + python


def _die_with_parent() -> None:
    """If the grader is killed, the kernel kills the student's process too (bwrap does the same
    with --die-with-parent; this covers machines without it)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _set_limits(limits: Limits):
    def apply():
        _die_with_parent()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails with an error, not a kill
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    return apply


def start(job_dir: Path, harness: Path, limits: Limits) -> subprocess.Popen:
    """Start the harness on ``job_dir``; stdout and stderr go to files there."""
    if os.geteuid() == 0:
        for p in [job_dir, *job_dir.rglob("*")]:
            os.chown(p, NOBODY, NOBODY)
    out = open(job_dir / "stdout.txt", "wb")
    try:
        return subprocess.Popen(
            command(job_dir, harness), cwd=job_dir, env=scrubbed_env(job_dir), stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
            preexec_fn=_set_limits(limits))
    finally:
        out.close()


def kill(proc: subprocess.Popen) -> None:
    """Kill the sandbox and everything it started."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
