"""Real servers for the big-class tests and benchmark / 大班测试用的真实服务器: PostgreSQL and Dask.

Each starts on this machine only (a Unix socket in a private folder, or 127.0.0.1), as separate
processes, and is stopped when its ``with`` block ends, also on failure.

* :func:`postgres`: ``initdb`` into a temporary folder and ``pg_ctl start``, run as an
  unprivileged user (PostgreSQL refuses to run as root: as root the folder belongs to the system
  user ``autograder-db``, made once), listening only on a socket in that folder.
* :func:`dask_cluster`: ``dask scheduler`` on 127.0.0.1 and ``dask worker`` processes
  (one thread each, optionally with a resource such as ``GPU=1``).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
DB_USER = "autograder-db"


def postgres_bin() -> Path | None:
    """The folder holding Debian's initdb and pg_ctl, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def why_no_postgres() -> str | None:
    """Why :func:`postgres` cannot run here, or None."""
    if postgres_bin() is None:
        return "PostgreSQL is not installed (bash .ci/run installs it as root: apt-get install postgresql)"
    if os.geteuid() == 0 and not shutil.which("useradd"):
        return "as root, PostgreSQL needs an unprivileged user, and useradd is missing"
    return None


def _db_user() -> str | None:
    """The user the server runs as: a system user when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(DB_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", DB_USER],
                       check=False, capture_output=True)
        pwd.getpwnam(DB_USER)  # made now, or by a concurrent test process
    return DB_USER


@dataclass
class Postgres:
    folder: Path
    bin: Path
    user: str | None
    database: str = "gradebook"

    @property
    def url(self) -> str:
        """nbgrader's ``db_url`` (SQLAlchemy, psycopg 3, the socket in our folder)."""
        return self.url_of(self.database)

    def url_of(self, database: str) -> str:
        return f"postgresql+psycopg://grader@/{database}?host={self.folder}"

    def fresh_database(self, database: str) -> str:
        """An empty database of that name (dropped first if it exists); returns its URL."""
        self.sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        self.sql(f"CREATE DATABASE {database}")
        return self.url_of(database)

    def pg_ctl(self, *args: str) -> None:
        subprocess.run([str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), *args],
                       check=True, capture_output=True, user=self.user, timeout=120)

    def start(self) -> None:
        self.pg_ctl("-w", "-l", str(self.folder / "server.log"), "-o",
                    f"-c listen_addresses='' -k {self.folder} -c fsync=off -c max_connections=200", "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-w", "-m", mode, "stop")

    def restart(self) -> None:
        self.stop("immediate")
        self.start()

    def sql(self, statement: str, database: str = "postgres") -> list[tuple]:
        import psycopg
        with psycopg.connect(host=str(self.folder), user="grader", dbname=database, autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []


@contextmanager
def postgres():
    """A fresh PostgreSQL server with an empty ``gradebook`` database; yields :class:`Postgres`."""
    bin_dir = postgres_bin()
    user = _db_user()
    folder = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
    if user:
        shutil.chown(folder, user)
    server = Postgres(folder, bin_dir, user)
    subprocess.run([str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "grader", "--auth=trust",
                    "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"],
                   check=True, capture_output=True, user=user, timeout=120)
    server.start()
    try:
        server.sql(f"CREATE DATABASE {server.database}")
        yield server
    finally:
        try:
            server.stop("immediate")
        except (subprocess.SubprocessError, OSError):
            pass
        shutil.rmtree(folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Dask scheduler exited (status {proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"the Dask scheduler did not listen on 127.0.0.1:{port}")


@dataclass
class DaskCluster:
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)
    log: Path | None = None

    def add_worker(self, name: str, resources: str | None = None) -> subprocess.Popen:
        command = [str(BIN / "dask"), "worker", self.address, "--nthreads", "1", "--nworkers", "1",
                   "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "0", "--name", name]
        if resources:
            command += ["--resources", resources]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(self.log, "a"),
                                start_new_session=True)
        self.workers.append(proc)
        return proc

    def wait_for_workers(self, n: int, seconds: float = 120) -> None:
        from distributed import Client
        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=seconds)

    def worker_addresses(self) -> dict[str, str]:
        """name -> address of each live worker."""
        from distributed import Client
        with Client(self.address, timeout=30, set_as_default=False) as client:
            return {w["name"]: a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


@contextmanager
def dask_cluster(workers: dict[str, str | None], log: Path):
    """A Dask scheduler on 127.0.0.1 and one worker process per ``workers`` entry
    (name -> resources such as "GPU=1", or None); yields :class:`DaskCluster` once all joined."""
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    scheduler = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=open(log, "a"),
                                 start_new_session=True)
    cluster = DaskCluster(f"tcp://127.0.0.1:{port}", scheduler, log=log)
    try:
        _wait_port(port, scheduler)
        for name, resources in workers.items():
            cluster.add_worker(name, resources)
        cluster.wait_for_workers(len(workers))
        yield cluster
    finally:
        for proc in cluster.workers:
            _stop(proc)
        _stop(scheduler)
