"""The warm processes of the grading workers / 评分工作进程的预热进程 (TRUSTED).

``python -I -m autograder.zygote --control FD`` (the *template*) imports once everything the
harness and student code need (torch, NumPy, IPython, torch's dispatch-mode machinery), says
on stdout which sandbox path this machine gives, then waits on its control socket. For every
worker slot the coordinator asks for (one message carrying the slot's channel, a socket, by
``SCM_RIGHTS``) it forks a *slot zygote*, which forks:

* the **judge** (:mod:`autograder.worker`): a long-lived trusted child that talks to the
  coordinator over the channel, loads the specs, computes the torch references and scores;
* one **sandboxed child per run**, on the judge's request, over a socket pair (see
  :func:`run_sandboxed`), as the slot's own uid.

So N workers pay for one interpreter start and one round of imports, and a worker that died
is replaced in milliseconds. None of these processes runs a torch operator, never touches CUDA and never imports the specs
or the answer key, so a forked child inherits no OpenMP pool, no CUDA context and no hidden
test data (PrairieLearn's ``zygote.py`` follows the same rule: import once, fork per request,
``os._exit`` in the child). It asserts it is single-threaded before every fork.

A run, in the child (the "warden", trusted) and the grandchild (becomes untrusted):

1. warden: ``PR_SET_PDEATHSIG``, ``unshare(CLONE_NEWPID)``, fork the grandchild, then enforce the
   deadlines (:func:`autograder.sandbox.watch`) and report how the run ended;
2. grandchild = PID 1 of a new PID namespace: new mount, network, IPC, UTS and cgroup namespaces;
   a private root on tmpfs with the system and Python bound read-only, only its own job folder
   writable, fresh ``/proc``, minimal ``/dev`` and ``/tmp``; the old root detached; the job
   folder handed to the slot's own uid; rlimits; capability bounding set emptied; uid and gid
   dropped; ``no_new_privs``; a scrubbed environment; only then the harness and student code.
   When it ends or is killed, the kernel kills every process left in its PID namespace.
"""
from __future__ import annotations

import os
import sys

sys.modules.setdefault("rfc3987_syntax", None)  # see autograder/__main__.py: 1.7 s of import for nothing here
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy and torch load: no thread pool to break a fork

import argparse  # noqa: E402
import ctypes  # noqa: E402
import dataclasses  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from autograder import sandbox  # noqa: E402  (torch comes with the harness, in preload())

# Imported in the parent so that no child has to read them from disk after the privilege drop
# (a lazy import from a root-only folder would fail there) and no run pays for them: creating
# an IPython shell imports these (the recorders do not need torch._dynamo: see OpRecorder).
PRELOAD = ("torch.utils._python_dispatch", "torch.overrides", "numpy.random", "secrets",
           "IPython.core.interactiveshell", "IPython.core.application", "IPython.core.completer",
           "IPython.core.completerlib", "IPython.core.crashhandler", "IPython.core.logger", "IPython.core.magics",
           "IPython.core.oinspect", "IPython.utils.generics", "IPython.utils.wildcard", "sqlite3", "bdb",
           "stack_data")  # IPython formats a traceback with it (a classic test cell that fails)
# Not matplotlib (0.5 s): no assignment imports it; a submission that does reads it from disk.

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())
SETUP_FAILED = 121  # the grandchild's exit status when the sandbox could not be built
UID_BASE = 61000    # slot K runs student code as uid/gid UID_BASE + K (no login, no files)
ROOT_MOUNTPOINT = "/run/autograder-sandbox-root"  # empty; each run mounts its own tmpfs here

_libc = ctypes.CDLL(None, use_errno=True)


def _call(name: str, *args) -> None:
    if getattr(_libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}{args!r}: {os.strerror(err)}")


def _mount(src, target, fstype, flags, data=None) -> None:
    enc = (lambda s: None if s is None else str(s).encode())
    _call("mount", enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def mechanisms(uid: int) -> list[str]:
    weak = [f"WEAKENED FOR A TEST: {', '.join(weakened())} off"] if weakened() else []
    return weak + ["forked from a warm process: own mount, PID, network, IPC, UTS and cgroup namespaces",
            "private root: system and Python read-only, only the job folder writable, instructor files "
            "and other jobs invisible",
            f"unprivileged uid {uid} of its own (one per worker slot)",
            "rlimits: CPU, memory, file size, no core dumps; no thread or process besides itself",
            "no_new_privs, capability bounding set empty", "scrubbed environment",
            "killed as a PID namespace: nothing outlives the run"]


# ------------------------------------------------------------------ the sandboxed grandchild

def _build_root(new_root: str, job_dir: str) -> None:
    """A tmpfs root holding only the system, Python and this job folder (as bwrap would)."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    for d, mode in (("/tmp", "1777"), ("/dev", "0755"), ("/dev/shm", "1777")):  # first: Python may live under /tmp
        os.makedirs(new_root + d, exist_ok=True)
        _mount("tmpfs", new_root + d, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size=256m")
    for path in sandbox.system_paths():
        target = new_root + path
        if os.path.islink(path) and os.path.dirname(path) == "/":  # /bin -> usr/bin on merged-/usr systems
            os.symlink(os.readlink(path), target)
            continue
        os.makedirs(target, exist_ok=True)
        _mount(path, target, None, MS_BIND | MS_REC)
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.makedirs(new_root + job_dir, exist_ok=True)  # after /tmp: the job folder may live under it
    _mount(job_dir, new_root + job_dir, None, MS_BIND)
    _mount(None, new_root + job_dir, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
    devices = ["null", "zero", "full", "random", "urandom", "tty"]
    devices += sorted(p.name for p in Path("/dev").glob("nvidia*"))  # CUDA's device nodes, when present
    for name in devices:
        if os.path.exists(f"/dev/{name}"):
            open(f"{new_root}/dev/{name}", "w").close()
            _mount(f"/dev/{name}", f"{new_root}/dev/{name}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{new_root}/dev/{name}")
    os.makedirs(new_root + "/proc")
    _mount("proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(new_root)
    if SYS_PIVOT_ROOT is None:
        raise OSError("pivot_root: unknown syscall number on " + platform.machine())
    if _libc.syscall(SYS_PIVOT_ROOT, b".", b".") != 0:
        raise OSError(ctypes.get_errno(), "pivot_root: " + os.strerror(ctypes.get_errno()))
    _call("umount2", b".", MNT_DETACH)  # the old root, stacked under the new one, is gone
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _drop_privileges(uid: int) -> None:
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and cap < 41:
            raise OSError(ctypes.get_errno(), f"cannot drop capability {cap}")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _call("prctl", PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    _call("prctl", PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0), ctypes.c_ulong(0),
          ctypes.c_ulong(0))  # a credential change clears it: set it again


def _enter(job_dir: str, limits: sandbox.Limits, uid: int, err_fd: int, dry_run: bool = False) -> None:
    """In the grandchild: build the walls, then run the harness. Never returns."""
    try:
        os.closerange(3, err_fd)
        os.closerange(err_fd + 1, 1 << 16)
        sandbox.die_with_parent()
        os.setsid()  # its own session and process group: kill(0, ...) reaches only its own processes
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        _call("unshare", CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)
        _call("sethostname", b"sandbox", 7)
        for p in [Path(job_dir), *Path(job_dir).rglob("*")]:
            os.chown(p, uid, uid)
        out = os.open(os.path.join(job_dir, "stdout.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.fchown(out, uid, uid)
        _build_root(ROOT_MOUNTPOINT, job_dir)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        # its uid is its own, so a process limit of one means no thread and no process besides itself:
        # work started on another thread (where torch's recorders do not look) cannot even begin
        harness = sys.modules.get("autograder.harness")  # preloaded (not yet for the probe's dry run)
        nproc = harness is None or harness.DEFENCES["nproc"]
        sandbox.apply_rlimits(dataclasses.replace(limits, processes=1) if nproc else limits)
        _drop_privileges(uid)
        os.environ.clear()
        os.environ.update(sandbox.scrubbed_env(Path(job_dir)))
        os.chdir(job_dir)
        sys.stdin = open(0, "r", closefd=False)
        sys.stdout = open(1, "w", closefd=False, encoding="utf-8", errors="replace")
        sys.stderr = open(2, "w", closefd=False, encoding="utf-8", errors="replace")
        sys.path[:] = [p for p in sys.path if p and os.path.isdir(p)]
    except BaseException as exc:  # noqa: BLE001 - report why the walls could not be built
        os.write(err_fd, f"{type(exc).__name__}: {exc}".encode()[:2000])
        os._exit(SETUP_FAILED)
    os.close(err_fd)  # from here on nothing the student's code can reach leads back to us
    if dry_run:
        os._exit(0)
    try:
        from autograder import harness  # imported by preload(): nothing is read from disk here

        harness.main(job_dir)
    finally:
        os._exit(1)


# ------------------------------------------------------------------ one run

def run_sandboxed(job_dir: str, limits: sandbox.Limits, uid: int, dry_run: bool = False) -> dict:
    """Fork a warden, which forks the sandboxed grandchild and watches it; return how it ended."""
    if threads() != 1:
        return {"error": f"the warm process has {threads()} threads; refusing to fork"}
    report_r, report_w = os.pipe()
    parent = os.getpid()
    warden = os.fork()
    if warden == 0:
        code = 0
        try:
            os.close(report_r)
            sandbox.die_with_parent()
            if os.getppid() != parent:
                os._exit(1)
            err_r, err_w = os.pipe()
            _call("unshare", CLONE_NEWPID)
            child = os.fork()
            if child == 0:
                os.close(err_r)
                os.close(report_w)
                _enter(job_dir, limits, uid, err_w, dry_run)
            os.close(err_w)
            wait, pidfd = sandbox.pidfd_waiter(child)
            overran = sandbox.watch(wait, lambda: os.kill(child, signal.SIGKILL), Path(job_dir), limits)
            _, status = os.waitpid(child, 0)
            os.close(pidfd)
            setup_error = os.read(err_r, 4096).decode(errors="replace")
            result = {"overran": overran, "exit_status": os.waitstatus_to_exitcode(status)}
            if setup_error or result["exit_status"] == SETUP_FAILED:
                result["error"] = "sandbox setup failed: " + (setup_error or "unknown")
            os.write(report_w, json.dumps(result).encode())
        except BaseException as exc:  # noqa: BLE001
            os.write(report_w, json.dumps({"error": f"warden: {type(exc).__name__}: {exc}"}).encode())
            code = 1
        os._exit(code)
    os.close(report_w)
    chunks = []
    while chunk := os.read(report_r, 65536):
        chunks.append(chunk)
    os.close(report_r)
    os.waitpid(warden, 0)
    try:
        return json.loads(b"".join(chunks) or b'{"error": "the warden died"}')
    except ValueError:
        return {"error": "the warden's report was unreadable"}


def probe(uid: int) -> str | None:
    """None when the fork path works here (a dry run builds every wall); else why not."""
    if os.geteuid() != 0:
        return "not root: the fork path mounts and changes uid / 非 root 用户，无法使用 fork 沙箱"
    if SYS_PIVOT_ROOT is None:
        return f"unsupported machine {platform.machine()}"
    job = tempfile.mkdtemp(prefix="probe-")
    try:
        os.makedirs(ROOT_MOUNTPOINT, exist_ok=True)
        result = run_sandboxed(job, sandbox.Limits(), uid, dry_run=True)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(job, ignore_errors=True)
    if result.get("error") or result.get("exit_status") != 0:
        return result.get("error") or f"probe exited with {result.get('exit_status')}"
    return None


def weakened() -> list[str]:
    """Defences switched off for a test or a benchmark (``AUTOGRADER_WEAKEN=audit,graph``; see
    ``harness.DEFENCES``): never when grading for real. Every report's sandbox line says so."""
    return [w for w in os.environ.get("AUTOGRADER_WEAKEN", "").split(",") if w]


def preload() -> None:
    import torch

    from autograder import harness  # noqa: F401 - NumPy, torch and the recorders

    for name in weakened():
        if name not in harness.DEFENCES:
            raise SystemExit(f"AUTOGRADER_WEAKEN: unknown defence {name!r}")
        harness.DEFENCES[name] = False

    torch.set_num_threads(1)  # a setting, not an operator
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - optional (e.g. matplotlib); the child imports it if it can
            pass
    harness.make_shell()  # made, never used here: each child gets a pristine copy
    harness.frame_codes()  # what the child's audit hook allows, found once here
    harness.ctypes_codes()
    if threads() != 1:
        raise RuntimeError("making the shell started a thread; the warm process must stay single-threaded")


def serve(conn: socket.socket, uid: int) -> None:
    """Run requests from the judge, one at a time, until it hangs up."""
    reader = conn.makefile("r", encoding="utf-8")
    for line in reader:
        req = json.loads(line)
        result = run_sandboxed(req["job_dir"], sandbox.Limits(**req["limits"]), uid)
        conn.sendall((json.dumps(result) + "\n").encode())


def slot(k: int, channel: socket.socket, handshake: dict, prewarm: str, started: float) -> None:
    """In a fork of the template: the zygote of worker slot ``k``. Never returns."""
    sandbox.die_with_parent()
    uid = UID_BASE + k
    info = {**handshake, "slot": k,
            "mechanisms": mechanisms(uid) if handshake["path"] == "fork" else handshake["mechanisms"]}
    ours, theirs = socket.socketpair()
    judge = os.fork()
    if judge == 0:
        ours.close()
        from autograder import worker

        worker.main(theirs if info["path"] == "fork" else None, info, prewarm, started, channel)
        os._exit(0)
    channel.close()  # the judge's alone: when it dies the coordinator reads end-of-file
    theirs.close()
    try:
        if info["path"] == "fork":
            serve(ours, uid)
        else:
            ours.recv(1)  # nothing to serve: wait until the judge hangs up
    finally:
        os.kill(judge, signal.SIGKILL)
        os.waitpid(judge, 0)
        os._exit(0)


def template(control: socket.socket, handshake: dict, prewarm: str, started: float) -> None:
    """Fork a slot zygote for every request on ``control``, until the coordinator hangs up."""
    import array
    import select

    while True:
        ready, _, _ = select.select([control], [], [], 1.0)
        while True:  # reap slot zygotes that ended
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not ready:
            continue
        fds = array.array("i")
        message, ancillary, _, _ = control.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
        if not message:
            return
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
        k = json.loads(message)["slot"]
        channel = socket.socket(fileno=fds[0])
        if threads() != 1:
            raise RuntimeError("the template must stay single-threaded")
        if os.fork() == 0:
            control.close()
            slot(k, channel, handshake, prewarm, started)
        channel.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--control", type=int, required=True, help="file descriptor of the control socket")
    parser.add_argument("--sandbox", choices=sandbox.PATHS, default="auto")
    parser.add_argument("--prewarm", default="", help="ASSIGNMENT:DEVICES, e.g. a07_classification_losses:auto")
    args = parser.parse_args(argv)
    sandbox.die_with_parent()
    t0 = time.time()
    why_not = probe(UID_BASE) if args.sandbox != "bwrap" else "bubblewrap path requested / 指定了 bubblewrap 路径"
    path = "fork" if why_not is None else "bwrap"
    if path == "bwrap" and not sandbox.bwrap_available() and args.sandbox == sandbox.UNSANDBOXED:
        path = sandbox.UNSANDBOXED
    fallback = sandbox.BwrapSandbox(why_not, unsandboxed=path == sandbox.UNSANDBOXED)
    # the handshake goes out before the slower warm-up, so a refused path is known at once
    handshake = {"ready": True, "path": path, "requested": args.sandbox, "why_not_fork": why_not,
                 "mechanisms": mechanisms(UID_BASE) if path == "fork" else fallback.mechanisms()}

    if args.sandbox == "fork" and path != "fork":
        handshake = {"ready": False, "error": f"fork sandbox unavailable / fork 沙箱不可用: {why_not}"}
    elif path == "bwrap" and not sandbox.bwrap_available():  # fail closed
        handshake = {"ready": False, "error": sandbox.NO_SANDBOX + f" ({why_not})"}
    sys.stdout.write(json.dumps(handshake, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    if not handshake["ready"]:
        return
    preload()
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    template(socket.socket(fileno=args.control), handshake, args.prewarm, t0)


if __name__ == "__main__":
    main()
