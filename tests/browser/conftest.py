"""A JupyterLab server on a temp copy of the course, and Debian's chromium driven by Playwright.

浏览器测试：在课程的临时副本上启动 JupyterLab，用 Playwright 驱动 Debian 的 chromium。
Never `playwright install`: the browser is /usr/bin/chromium (apt-get install chromium; `.ci/run` does it).
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "out" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LESSON = "01_tensors.ipynb"
ASSIGNMENT = "a01_tensors"


def missing() -> str | None:
    """Why the browser tests cannot run here, in both languages, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f"没有找到 chromium（{CHROMIUM}），跳过浏览器测试；安装：sudo apt-get install chromium / "
                f"chromium not found at {CHROMIUM}: browser tests skipped; install: sudo apt-get install chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("没有安装 playwright（make setup 会安装） / playwright is not installed (make setup installs it)")
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless chromium (needs /usr/bin/chromium)")


def pytest_collection_modifyitems(config, items):
    reason = missing()
    if reason:
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, root: Path, port: int, token: str, proc: subprocess.Popen, log: Path):
        self.root, self.port, self.token, self.proc, self.log = root, port, token, proc, log
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str = "lab", **query) -> str:
        q = "&".join(f"{k}={v}" for k, v in {"token": self.token, **query}.items())
        return f"{self.base}/{path}?{q}"

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """The instructor's command line on this copy of the course (as `make ...` runs it)."""
        return subprocess.run([sys.executable, "-m", "autograder", *args, "--course", str(self.root / "course")],
                              cwd=self.root / "course", env=self.env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab 4 on 127.0.0.1 (random port, token) serving a temp copy of the course; killed at the end."""
    with serve_lab(tmp_path_factory.mktemp("lab")) as server:
        yield server


@contextmanager
def serve_lab(top: Path, release_exchange: bool = True):
    """A JupyterLab server on a copy of the course (a01's source, the lesson) under ``top``; with
    ``release_exchange`` the instructor releases a01 to the course-local exchange meanwhile."""
    root = top / "repo"
    (root / "course").mkdir(parents=True)
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root / "course")
    shutil.copytree(ROOT / "course" / "source" / ASSIGNMENT, root / "course" / "source" / ASSIGNMENT)
    (root / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / LESSON, root / "notebooks")
    home = top / "jupyter"
    # every cell in the DOM (no windowed rendering), so the tests can find outputs and prompts off screen
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}', encoding="utf-8")
    news = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}', encoding="utf-8")  # no "get notified about news?" toast
    env = {**os.environ,
           # the Assignment List reads course/nbgrader_config.py from here, as `make lab` sets it
           "JUPYTER_CONFIG_PATH": str(root / "course"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "JUPYTER_DATA_DIR": str(home / "data"),   # nbgrader's per-student submission cache
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "PYTHONPATH": str(ROOT)}
    # the instructor releases a01 to the course-local exchange while the server starts
    release = subprocess.Popen([sys.executable, "-m", "autograder", "release-exchange", "--assignment", ASSIGNMENT,
                                "--course", str(root / "course")] if release_exchange else ["true"],  # "true": nothing to release
                               cwd=root / "course", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    port, token = free_port(), secrets.token_hex(16)
    cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.news_url=", "--ServerApp.open_browser=False",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.getuid() == 0:
        cmd.append("--allow-root")
    log = top / "jupyterlab.log"
    proc = subprocess.Popen(cmd, cwd=root / "course", env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    server = Lab(root, port, token, proc, log)
    server.env = env
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{server.base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("JupyterLab did not start / 未能启动:\n" + log.read_text())
                time.sleep(0.3)
        out, _ = release.communicate(timeout=120)
        assert release.returncode == 0, out
        yield server
    finally:
        release.kill() if release.poll() is None else None
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def context(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report


@pytest.fixture
def page(context, request):
    p = context.new_page()
    yield p
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:  # what the page showed when it failed, for CI artifacts
        SHOTS.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(SHOTS / f"FAILED_{request.node.name}.png"))
    p.close()


@pytest.fixture(scope="session")
def shot():
    """shot(page, name): a PNG under out/screenshots/ (gitignored); docs/img/ holds copies of the best ones."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, **kw):
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), **kw)
        return path
    return take
