"""A real JupyterHub for a class on 127.0.0.1: the project's deploy/ config as an instructor uses it, real Unix
users (one instructor, two students, removed afterwards), local-process spawns, a Python environment like the
Hub's /opt/course (the requirements and the student part of the grader, nothing else), and Debian's chromium.

真正的 JupyterHub：使用 deploy/ 中的配置、真实的 Unix 用户（测试后删除）、本地进程启动单用户服务器。
Only the settings that must differ for a scratch copy are set, through the environment variables the config
reads (COURSE_ENV, COURSE_EXCHANGE, ...) and the Hub's own ports on the command line.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from browser.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, missing

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "screenshots" / "hub"
ASSIGNMENT = "a01_tensors"
PROXY = "configurable-http-proxy"
CLONE = "torch-first-principles"


def pytest_configure(config):
    config.addinivalue_line("markers", "hub: a real JupyterHub with Unix users (needs root, chromium)")
    # tests/browser/test_lab.py (whose helpers the Hub test uses) is marked browser; its conftest may not be loaded
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless chromium (needs /usr/bin/chromium)")


def why_not() -> str | None:
    """Why a real Hub cannot be started here, in both languages, or None."""
    if os.geteuid() != 0:
        return ("JupyterHub 测试需要 root（创建 Unix 用户、以其身份启动服务器），已跳过 / the JupyterHub test needs root "
                "(it creates Unix users and spawns their servers): skipped")
    for tool in ("useradd", "userdel", "chpasswd", PROXY):
        if shutil.which(tool) is None:
            return f"没有 {tool}，跳过 JupyterHub 测试 / {tool} not found: JupyterHub test skipped"
    return missing()


def others_can_enter(path: Path) -> bool:
    """Can a user who is neither owner nor in the group reach ``path`` (every folder above it o+x)?"""
    path = Path(path).resolve()
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents] if p.is_dir())


def system_python() -> str | None:
    """An interpreter of this X.Y that every user can start (ours may sit under /root, mode 0700)."""
    mine = Path(sys._base_executable).resolve()
    for candidate in (mine, Path(f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}")):
        if candidate.is_file() and others_can_enter(candidate.parent):
            return str(candidate)
    return None


class Users:
    """Real Unix users with passwords and 0700 home folders under ``base``; ``remove()`` deletes them."""

    def __init__(self, base: Path):
        self.base, self.names, self.passwords = base, {}, {}
        (base / "home").mkdir(mode=0o755)

    def add(self, role: str) -> str:
        name = f"hub{role[:3]}{secrets.token_hex(3)}"
        home = self.base / "home" / name
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", "--user-group",
                        name], check=True, capture_output=True)
        self.names[role] = name
        home.chmod(0o700)
        self.passwords[role] = secrets.token_urlsafe(12)
        subprocess.run(["chpasswd"], input=f"{name}:{self.passwords[role]}\n", text=True, check=True)
        return name

    def home(self, role: str) -> Path:
        return Path(pwd.getpwnam(self.names[role]).pw_dir)

    def own(self, role: str, path: Path, skip: str | None = None) -> None:
        """chown -R, leaving out the folder named ``skip`` (hard links: its files are ours too)."""
        user = pwd.getpwnam(self.names[role])
        todo = [path]
        while todo:
            p = todo.pop()
            os.lchown(p, user.pw_uid, user.pw_gid)
            if p.is_dir() and not p.is_symlink():
                todo += [c for c in p.iterdir() if c.name != skip]

    def uids(self) -> set[int]:
        out = set()
        for name in self.names.values():
            try:
                out.add(pwd.getpwnam(name).pw_uid)
            except KeyError:
                pass
        return out

    def remove(self) -> None:
        kill_processes_of(self.uids())
        for name in self.names.values():
            subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)
            subprocess.run(["groupdel", name], capture_output=True, check=False)


def kill_processes_of(uids: set[int]) -> None:
    """Kill, one by one by pid, every process left running as one of the test's own users."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.stat().st_uid in uids:
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def hub_environment(env: dict) -> SimpleNamespace:
    """deploy/jupyterhub_config.py loaded under ``env`` (as the Hub loads it): its traitlets config."""
    from traitlets.config.loader import PyFileConfigLoader
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return PyFileConfigLoader("jupyterhub_config.py", path=str(ROOT / "deploy")).load_config()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Hub:
    def __init__(self, base: Path, users: Users, env_dir: Path, settings: dict):
        self.base, self.users, self.env_dir, self.settings = base, users, env_dir, settings
        self.port = int(settings["HUB_URL"].rsplit(":", 1)[1])
        self.url = settings["HUB_URL"]
        self.config = hub_environment(settings)
        self.exchange = Path(settings["COURSE_EXCHANGE"])
        self.clone = users.home("instructor") / CLONE
        self.proc = None
        self.timings: dict[str, float] = {}

    def spawn_environment(self, role: str) -> dict:
        """What the Hub gives ``role``'s server (the config's own pre_spawn_hook), for commands run as them."""
        name = self.users.names[role]
        spawner = SimpleNamespace(user=SimpleNamespace(name=name), environment={})
        self.config.Spawner.pre_spawn_hook(spawner)
        home = str(self.users.home(role))
        return {"HOME": home, "USER": name, "LOGNAME": name, "LANG": "C.UTF-8",
                "PATH": f"{self.env_dir}/bin:/usr/bin:/bin", **spawner.environment}

    def run_as(self, role: str, *args: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
        user = pwd.getpwnam(self.users.names[role])

        def drop():
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
        return subprocess.run(args, cwd=cwd or user.pw_dir, env=self.spawn_environment(role), preexec_fn=drop,
                              capture_output=True, text=True, timeout=timeout)

    def instructor(self, step: str, timeout: int = 600) -> subprocess.CompletedProcess:
        """``sudo make STEP ASSIGNMENT=a01_tensors`` in the instructor's clone, with the environment of their Hub
        server (NBGRADER_EXCHANGE, ...), as the guide says; then the course is given back to the instructor.
        As root because grading forks from warm workers only as root, and because this machine's own Python
        (the one the clone's .venv is made from) sits under /root, where no other user can start it."""
        started = time.monotonic()
        env = {**self.spawn_environment("instructor"), "HOME": "/root", "USER": "root", "LOGNAME": "root"}
        done = subprocess.run(["make", step, f"ASSIGNMENT={ASSIGNMENT}"], cwd=self.clone, env=env,
                              capture_output=True, text=True, timeout=timeout)
        self.users.own("instructor", self.clone / "course")
        self.timings[f"instructor {step}"] = round(time.monotonic() - started, 1)
        SHOTS.mkdir(parents=True, exist_ok=True)
        with open(SHOTS / "instructor.log", "a", encoding="utf-8") as log:  # for CI artifacts
            log.write(f"$ make {step} ASSIGNMENT={ASSIGNMENT}  (rc {done.returncode})\n{done.stdout}\n{done.stderr}\n")
        assert done.returncode == 0, f"{step}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        return done


def make_clone(users: Users) -> Path:
    """The instructor's clone of this repository (what the grader needs of it), owned by the instructor, with
    the .venv that `make setup` makes there (the requirements, hard-linked to ours, and the clone itself on
    the path as `pip install -e .` puts it; the grader's workers run `python -I`, so PYTHONPATH would not do)."""
    from autograder import student
    clone = users.home("instructor") / CLONE
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("autograder", "solutions", "deploy"):
        shutil.copytree(ROOT / folder, clone / folder, ignore=ignore)
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, clone / name)
    (clone / "course").mkdir()
    shutil.copy(ROOT / "course" / "nbgrader_config.py", clone / "course")
    shutil.copytree(ROOT / "course" / "source" / ASSIGNMENT, clone / "course" / "source" / ASSIGNMENT)
    venv = student.make_env(clone / ".venv", link=True)
    shutil.rmtree(venv / "student")  # the instructor's Python has the whole grader instead
    (student.purelib(venv) / "torch_first_principles_student.pth").unlink()
    (student.purelib(venv) / "__editable__.torch_first_principles.pth").write_text(f"{clone}\n")
    (venv / ".installed").touch()  # make's stamp: set up
    users.own("instructor", clone, skip=".venv")
    return clone


def lab_settings(users: Users, role: str) -> None:
    """Every cell in the DOM (no windowed rendering) and no news toast, in the user's own settings."""
    home = users.home(role)
    settings = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    (settings / "notebook-extension").mkdir(parents=True)
    (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    (settings / "apputils-extension").mkdir(parents=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    users.own(role, home / ".jupyter")


@pytest.fixture(scope="module")
def hub():
    """JupyterHub on 127.0.0.1 with deploy/jupyterhub_config.py; users, servers and files removed afterwards."""
    reason = why_not()
    python = system_python()
    if reason is None and python is None:
        reason = "没有其他用户可运行的 Python / no Python interpreter that other users can start"
    if reason:
        pytest.skip(reason)
    from autograder import student

    base = Path(tempfile.mkdtemp(prefix="tfp-hub-"))
    shutil.rmtree(SHOTS, ignore_errors=True)  # this run's pictures and logs only
    base.chmod(0o755)
    users = Users(base)
    proc = None
    timings = {}
    try:
        started = time.monotonic()
        # /opt/course of the guide: the requirements (hard links to ours) and the student part, not the grader
        env_dir = student.make_env(base / "opt-course", python=python, link=True)
        timings["student environment"] = round(time.monotonic() - started, 1)
        for role in ("instructor", "ada", "bo"):
            users.add(role)
            lab_settings(users, role)
        make_clone(users)
        exchange = base / "exchange"
        exchange.mkdir()
        exchange.chmod(0o1777)  # install -d -m 1777 /srv/nbgrader/exchange
        etc = base / "etc-jupyter"
        etc.mkdir()
        shutil.copy(ROOT / "deploy" / "nbgrader_config.py", etc / "nbgrader_config.py")  # /etc/jupyter/...
        (etc / "nbgrader_config.py").chmod(0o644)
        settings = {"HUB_URL": f"http://127.0.0.1:{free_port()}", "COURSE_ENV": str(env_dir),
                    "COURSE_EXCHANGE": str(exchange), "COURSE_NBGRADER_CONFIG_DIR": str(etc),
                    "COURSE_INSTRUCTORS": users.names["instructor"],
                    "COURSE_STUDENTS": ",".join(users.names[r] for r in ("ada", "bo"))}
        server = Hub(base, users, env_dir, settings)
        server.timings.update(timings)
        state = base / "hub"
        state.mkdir(mode=0o700)
        log = base / "jupyterhub.log"
        cmd = [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(ROOT / "deploy" / "jupyterhub_config.py"),
               # this Hub's own ports, so that it never meets another on the machine
               f"--JupyterHub.hub_bind_url=http://127.0.0.1:{free_port()}",
               f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}"]
        env = {**os.environ, **settings, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=state, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        server.proc, server.log = proc, log
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{server.url}/hub/api/", timeout=3)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("JupyterHub did not start / 未能启动:\n" + log.read_text()[-5000:])
                time.sleep(0.5)
        server.timings["hub start"] = round(time.monotonic() - started, 1)
        yield server
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the Hub stops the users' servers and its proxy
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # anything of its session still there (the proxy)
            except OSError:
                pass
        listing = subprocess.run(["ls", "-lRa", "--time-style=full-iso", str(base / "exchange"),
                                  *(str(p) for p in (base / "home").glob("*/torch-first-principles/course/feedback"))],
                                 capture_output=True, text=True)
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / "exchange.txt").write_text(listing.stdout + listing.stderr)
        if (base / "jupyterhub.log").is_file():  # the Hub's and the users' servers' log, for CI artifacts
            SHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copy(base / "jupyterhub.log", SHOTS / "jupyterhub.log")
        users.remove()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shot():
    """shot(page, name): out/screenshots/hub/NAME.png (gitignored); docs/img/ holds copies for the guide."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, **kw):
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), **kw)
        return path
    return take
