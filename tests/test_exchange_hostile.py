"""Hostile submissions through nbgrader's exchange: what ``collect`` copies, and what it refuses.

A student owns the folder they submit (``inbound/<student>+<assignment>+<timestamp>+<random>/``) and
can put anything in it: symlinks to the instructor's files, a FIFO, a device, a name that is not a
name, a timestamp that is not a time. ``make collect`` runs as the instructor (root on CI): anything
it follows or reads there, it reads with the instructor's rights. Each test plants one attack beside
two honest students (ada, bo), collects, and asserts that the honest ones are collected byte for byte,
the attack is not, and the attacker gets a bilingual report line.

Every docstring says what the grader did before this file existed ("on f0fb2bf: ..."), checked by
running these tests against that commit's ``autograder/exchange.py``.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import pwd
import resource
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from nbgrader.coursedir import CourseDirectory

from autograder import demo
from autograder.cli import main as cli
from autograder.exchange import Instructor, Student
from autograder.pipeline import Course

pytestmark = pytest.mark.pipeline
ASSIGNMENT = "a01_tensors"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
COURSE_ID = "torch-first-principles"
HONEST = ("ada", "bo")


def stamp(offset_s: float = 0.0) -> str:
    """A timestamp as nbgrader's submit writes it (``Exchange.timestamp_format``, UTC)."""
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset_s)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f %Z")


def rand() -> str:
    return base64.urlsafe_b64encode(os.urandom(9)).decode("ascii")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A released a01 with two honest submissions in the course-local exchange, made once."""
    os.environ.pop("NBGRADER_EXCHANGE", None)
    top = tmp_path_factory.mktemp("hostile-exchange")
    root = top / "course"
    root.mkdir()
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course" / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    Instructor(Course(root)).release(ASSIGNMENT)
    key = demo.key_answers(root / "source" / ASSIGNMENT / NOTEBOOK)
    for name in HONEST:
        student = Student(root, top / "home" / name, name, cache=top / "cache" / name)
        path = student.fetch(ASSIGNMENT) / NOTEBOOK
        if name == "ada":  # ada types in the answer key, bo hands in the blank release
            nbformat.write(demo.fill(nbformat.read(str(path), as_version=4), key), str(path))
        student.submit(ASSIGNMENT)
    return root


class Clone:
    """A fresh copy of the template course, with helpers to plant inbound folders."""

    def __init__(self, template: Path, where: Path):
        self.root = where / "course"
        shutil.copytree(template, self.root, symlinks=True)
        self.course = Course(self.root)
        self.instructor = Instructor(self.course)
        self.inbound = self.root / "exchange" / COURSE_ID / "inbound"
        self.master = self.root / "source" / ASSIGNMENT / NOTEBOOK
        self.release_nb = self.root / "release" / ASSIGNMENT / NOTEBOOK
        self.honest = {}
        for folder in list(self.inbound.iterdir()):  # re-stamped: the copy's files are only as old as the copy
            student, assignment, _, random = folder.name.split("+")
            ts = stamp(-1)
            (folder / "timestamp.txt").write_text(ts)
            self.honest[student] = folder.rename(folder.with_name(f"{student}+{assignment}+{ts}+{random}"))

    def plant(self, student="mallory", ts=None, name=None, notebook=True, timestamp_txt=True) -> Path:
        """An inbound folder as nbgrader's submit makes it; returns it for the attack to add to."""
        ts = stamp() if ts is None else ts
        folder = self.inbound / (name or f"{student}+{ASSIGNMENT}+{ts}+{rand()}")
        folder.mkdir()
        if notebook:
            shutil.copy(self.release_nb, folder / NOTEBOOK)
        if timestamp_txt:
            (folder / "timestamp.txt").write_text(ts if timestamp_txt is True else timestamp_txt)
        (folder / "submission_secret.txt").write_text(secrets.token_hex(64))
        return folder

    def collect(self) -> list[str]:
        return self.instructor.collect(ASSIGNMENT)

    def submitted(self, student: str) -> Path:
        return self.root / "submitted" / student / ASSIGNMENT

    def problems(self, student: str | None = "mallory") -> list:
        return [p for p in self.instructor.problems if student is None or p.student == student]

    def assert_honest_collected(self):
        for name in HONEST:
            got = self.submitted(name) / NOTEBOOK
            assert got.read_bytes() == (self.honest[name] / NOTEBOOK).read_bytes(), name
            assert (self.submitted(name) / "timestamp.txt").is_file()

    def kinds(self, student: str | None = "mallory") -> list[str]:
        """The problems reported for ``student``, by kind (the honest ones must have none)."""
        assert not [p for p in self.instructor.problems if p.student in HONEST], self.instructor.problems
        return sorted(p.kind for p in self.problems(student))


@pytest.fixture
def clone(template, tmp_path):
    return Clone(template, tmp_path)


def every_file(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*"))


def assert_bilingual(problems):
    assert problems
    for p in problems:
        assert p.message.zh and p.message.en and any("\u4e00" <= ch <= "\u9fff" for ch in p.message.zh), p


# ---------------------------------------------------------------- files inside a submission


def test_symlink_to_the_master_notebook_is_not_followed(clone):
    """Is a symlink to the instructor's master notebook (solutions, hidden tests) left behind?

    on f0fb2bf: copied the master's text into submitted/mallory/a01_tensors/solutions.ipynb."""
    folder = clone.plant()
    (folder / "solutions.ipynb").symlink_to(clone.master)
    clone.collect()
    assert (clone.submitted("mallory") / NOTEBOOK).is_file()  # her own notebook is collected
    assert not (clone.submitted("mallory") / "solutions.ipynb").exists()
    for f in every_file(clone.root / "submitted"):
        assert f.is_symlink() or not f.is_file() or b"BEGIN SOLUTION" not in f.read_bytes(), f
    clone.assert_honest_collected()
    assert clone.kinds() == ["symlink"]
    [problem] = clone.problems()
    assert "solutions.ipynb" in problem.message.en
    assert_bilingual([problem])


def test_symlink_to_etc_shadow_is_not_followed(clone):
    """Is a symlink to a file only the instructor can read (/etc/shadow) left behind?

    on f0fb2bf: copied /etc/shadow (as root) into submitted/mallory/a01_tensors/shadow; the dangling
    symlink beside it then failed the whole collect (shutil.Error): nobody collected."""
    secret = Path("/etc/shadow") if Path("/etc/shadow").exists() else Path("/etc/passwd")
    folder = clone.plant()
    (folder / "shadow").symlink_to(secret)
    (folder / "dangling").symlink_to(clone.root / "does-not-exist")
    clone.collect()
    assert not os.path.lexists(clone.submitted("mallory") / "shadow")
    assert not os.path.lexists(clone.submitted("mallory") / "dangling")
    assert (clone.submitted("mallory") / NOTEBOOK).is_file()
    clone.assert_honest_collected()
    assert clone.kinds() == ["symlink", "symlink"]


def test_notebook_that_is_a_symlink_to_the_master(clone):
    """Is a notebook that is itself a symlink to the master refused (not graded as her work)?

    on f0fb2bf: the master notebook was collected as mallory's a01_tensors.ipynb (full marks for nothing)."""
    folder = clone.plant(notebook=False)
    (folder / NOTEBOOK).symlink_to(clone.master)
    clone.collect()
    assert not os.path.lexists(clone.submitted("mallory") / NOTEBOOK)
    clone.assert_honest_collected()
    assert clone.kinds() == ["symlink"]
    assert NOTEBOOK in clone.problems()[0].message.en


def test_symlinked_folder_inside_a_submission(clone):
    """Is a symlink to a folder (the instructor's source/) left behind, not copied recursively?

    on f0fb2bf: copytree followed it and copied source/a01_tensors/ (the master) into submitted/mallory/."""
    folder = clone.plant()
    (folder / "extra").symlink_to(clone.master.parent, target_is_directory=True)
    clone.collect()
    assert not os.path.lexists(clone.submitted("mallory") / "extra")
    assert (clone.submitted("mallory") / NOTEBOOK).read_bytes() == clone.release_nb.read_bytes()
    clone.assert_honest_collected()
    assert clone.kinds() == ["symlink"]


def test_inbound_folder_that_is_a_symlink(clone):
    """Is an inbound entry that is a symlink to the instructor's source folder refused?

    on f0fb2bf: collected source/a01_tensors/ (the master with solutions) as mallory's submission."""
    (clone.inbound / f"mallory+{ASSIGNMENT}+{stamp()}+{rand()}").symlink_to(clone.master.parent)
    clone.collect()
    assert not os.path.lexists(clone.submitted("mallory"))
    clone.assert_honest_collected()
    assert clone.kinds() == ["not_a_folder"]


def test_nested_folders_and_regular_files_are_kept(clone):
    """Are an honest sub-folder and its regular files collected as they are (the copy is not too strict)?"""
    folder = clone.plant()
    (folder / "data" / "deep").mkdir(parents=True)
    (folder / "data" / "deep" / "x.csv").write_text("1,2\n")
    clone.collect()
    assert (clone.submitted("mallory") / "data" / "deep" / "x.csv").read_text() == "1,2\n"
    assert clone.kinds() == []


def test_fifo_and_socket_are_not_copied(clone):
    """Is a FIFO (which blocks a reader) or a socket in a submission skipped, and the class collected?

    on f0fb2bf: shutil.Error ("`pipe` is a named pipe") for the whole collect: nobody collected."""
    folder = clone.plant()
    os.mkfifo(folder / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    short = Path(tempfile.mkdtemp()) / "s"  # AF_UNIX paths are short: bind there, then move it in
    try:
        sock.bind(str(short))
        os.rename(short, folder / "sock")
        clone.collect()
    finally:
        sock.close()
        shutil.rmtree(short.parent)
    assert not os.path.lexists(clone.submitted("mallory") / "pipe")
    assert not os.path.lexists(clone.submitted("mallory") / "sock")
    assert (clone.submitted("mallory") / NOTEBOOK).is_file()
    clone.assert_honest_collected()
    assert clone.kinds() == ["special_file", "special_file"]


def test_device_file_is_not_read(clone):
    """Is a character device (a copy of /dev/zero) in a submission skipped instead of read forever?

    on f0fb2bf: read /dev/zero into submitted/mallory/ until this test's 64 MiB file-size limit stopped it,
    then the whole collect failed (shutil.Error: File too large)."""
    folder = clone.plant()
    try:
        os.mknod(folder / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("mknod needs root (CAP_MKNOD) / 创建设备文件需要 root")
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, old_limit[1]))
    try:
        clone.collect()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert not os.path.lexists(clone.submitted("mallory") / "zero")
    clone.assert_honest_collected()
    assert clone.kinds() == ["special_file"]


def test_oversized_file_is_left_out(clone):
    """Is a file over CourseDirectory.max_file_size left out (and reported), the rest of her work collected?

    on f0fb2bf: RuntimeError "Directory size is too big" for the whole collect: nobody collected."""
    folder = clone.plant()
    with open(folder / "big.bin", "wb") as fh:  # sparse: 101 MB apparent, no disk used
        fh.truncate(101 * 1000 * 1000)
    clone.collect()
    assert not os.path.lexists(clone.submitted("mallory") / "big.bin")
    assert (clone.submitted("mallory") / NOTEBOOK).is_file()
    clone.assert_honest_collected()
    assert clone.kinds() == ["too_big"]
    assert_bilingual(clone.problems())


def test_oversized_submission_skips_only_that_student(clone):
    """Is a submission over CourseDirectory.max_dir_size (files each under max_file_size) refused for that
    student only?

    on f0fb2bf: RuntimeError "Directory size is too big" for the whole collect: nobody collected."""
    folder = clone.plant()
    for name in ("a.bin", "b.bin"):
        with open(folder / name, "wb") as fh:  # sparse: 60 MB each, no disk used
            fh.truncate(60 * 1000 * 1000)
    clone.collect()
    assert not os.path.lexists(clone.submitted("mallory"))
    assert not [p for p in (clone.root / "submitted").iterdir() if p.name.startswith(".")]  # no staging left
    assert not [p for p in (clone.root / "submitted" / "ada").iterdir() if p.name.startswith(".")]
    clone.assert_honest_collected()
    assert clone.kinds() == ["too_big"]
    assert clone.problems()[0].refused
    assert_bilingual(clone.problems())


def test_hard_link_is_not_copied(clone):
    """Is a hard link (a second name for another file, e.g. the master) refused?

    on f0fb2bf: copied the master's text in through the hard link."""
    folder = clone.plant()
    os.link(clone.master, folder / "linked.ipynb")
    clone.collect()
    assert not os.path.lexists(clone.submitted("mallory") / "linked.ipynb")
    clone.assert_honest_collected()
    assert clone.kinds() == ["hard_link"]


# ---------------------------------------------------------------- names and timestamps

ODD_NAMES = {
    "extra_plus": lambda ts: f"mallory+{ASSIGNMENT}+{ts}+{rand()}+extra",
    "plus_in_name": lambda ts: f"mal+lory+{ASSIGNMENT}+{ts}+{rand()}",
    "garbage_time": lambda ts: f"mallory+{ASSIGNMENT}+not a time+{rand()}",
    "overflow_time": lambda ts: f"mallory+{ASSIGNMENT}+9999-12-31 23:59:59.999999 -1400+{rand()}",
    "dot_dot": lambda ts: f"..+{ASSIGNMENT}+{ts}+{rand()}",
    "star": lambda ts: f"*+{ASSIGNMENT}+{ts}+{rand()}",
    "no_separators": lambda ts: f"mallory-{ASSIGNMENT}-{ts}",
    "no_timestamp": lambda ts: f"mallory+{ASSIGNMENT}",
    "non_utf8": lambda ts: os.fsdecode(b"mal\xffory+" + f"{ASSIGNMENT}+{ts}+{rand()}".encode()),
}


@pytest.mark.parametrize("case", sorted(ODD_NAMES))
def test_oddly_named_inbound_folder(clone, case):
    """Is an inbound folder whose name is not <student>+<assignment>+<timestamp>[+<random>] reported and skipped?

    on f0fb2bf: extra_plus, garbage_time: dateutil ParserError for the whole collect (nobody collected);
    overflow_time: OverflowError for the whole collect; star: a student called '*'; plus_in_name: a student 'mal+lory' (ids with '+' cannot be
    submitted by nbgrader itself); non_utf8: copied to submitted/mal\\udcffory/, then the gradebook insert
    failed (UnicodeEncodeError) for the whole collect; dot_dot (glob skips dot names), no_separators,
    no_timestamp: silently ignored, nobody told."""
    ts = stamp()
    clone.plant(name=ODD_NAMES[case](ts), ts=ts)
    clone.collect()
    assert not (clone.root / ASSIGNMENT).exists()  # nothing written outside submitted/
    assert sorted(p.name for p in (clone.root / "submitted").iterdir()) == sorted(HONEST)
    clone.assert_honest_collected()
    assert clone.kinds(None) == ["bad_name"]
    problems = clone.problems(None)
    assert_bilingual(problems)
    if case == "non_utf8":
        assert "\\xff" in problems[0].entry  # shown escaped, printable
    report = json.loads((clone.root / "reports" / ASSIGNMENT / "collect.json").read_text(encoding="utf-8"))
    assert [p["kind"] for p in report["problems"]] == ["bad_name"]
    assert report["students"] == sorted(HONEST)


def test_garbage_timestamp_txt_does_not_stop_the_next_collect(clone):
    """Is a garbage timestamp.txt reported and replaced by the time in the folder's name, so that the
    next collect still works?

    on f0fb2bf: copied as is; the next `make collect` failed for the whole class (nbgrader's
    get_existing_timestamp on the copy in submitted/: ParserError, then its own bug, AttributeError:
    'CourseDirectory' object has no attribute 'fail')."""
    ts = stamp()
    clone.plant(ts=ts, timestamp_txt="garbage \x00\xff")
    clone.collect()
    first = (clone.submitted("mallory") / "timestamp.txt").read_text(errors="replace")
    kinds = sorted(p.kind for p in getattr(clone.instructor, "problems", []))
    newer = stamp(1)
    clone.plant(ts=newer)
    clone.collect()
    assert (clone.submitted("mallory") / "timestamp.txt").read_text() == newer
    assert first == ts and kinds == ["bad_timestamp"]
    # a garbage timestamp already in submitted/ (copied there by hand): the newer submission still wins
    (clone.submitted("mallory") / "timestamp.txt").write_bytes(b"\xff\xfe garbage")
    newest = stamp(2)
    clone.plant(ts=newest)
    clone.collect()
    assert (clone.submitted("mallory") / "timestamp.txt").read_text() == newest
    clone.assert_honest_collected()


def test_missing_timestamp_txt_is_written_from_the_name(clone):
    """Does a submission without timestamp.txt get the time from its folder name (and a note)?

    on f0fb2bf: collected without a timestamp: graded as on time whatever the due date."""
    ts = stamp()
    clone.plant(ts=ts, timestamp_txt=False)
    clone.collect()
    assert (clone.submitted("mallory") / "timestamp.txt").read_text() == ts
    assert clone.kinds() == ["bad_timestamp"]
    clone.assert_honest_collected()


def test_far_future_timestamp_does_not_pin_the_submission(clone):
    """Is a timestamp in the far future replaced by the time the files were written, so that a later
    honest resubmission is still collected?

    on f0fb2bf: the year-3000 submission was kept and every later one ignored ("No newer submission")."""
    clone.plant(ts="3000-01-01 00:00:00.000000 UTC")
    clone.collect()
    written = (clone.submitted("mallory") / "timestamp.txt").read_text()
    assert written.startswith(str(dt.datetime.now(dt.UTC).year)), written
    assert clone.kinds() == ["bad_timestamp"]
    later = clone.plant(ts=stamp(5), notebook=False)
    (later / NOTEBOOK).write_text(clone.release_nb.read_text(encoding="utf-8").replace("YOUR CODE", "MY CODE"))
    clone.collect()
    assert "MY CODE" in (clone.submitted("mallory") / NOTEBOOK).read_text(encoding="utf-8")
    clone.assert_honest_collected()


def test_backdated_timestamp_is_noted(clone):
    """Is a timestamp an hour before the files were written collected as claimed (it cannot be disproved:
    the exchange keeps no time of its own), with a note for the instructor?"""
    claimed = stamp(-3600)
    clone.plant(ts=claimed)
    clone.collect()
    assert (clone.submitted("mallory") / "timestamp.txt").read_text() == claimed
    assert clone.kinds() == ["backdated"]
    assert not clone.problems()[0].refused


def test_everything_at_once(clone):
    """With every attack above in one inbound, is each attacker reported by name and every honest student
    collected? (on f0fb2bf: the first crash stopped the collect for the whole class.)"""
    ts = stamp()
    for name in ODD_NAMES.values():
        clone.plant(name=name(ts), ts=ts)
    folder = clone.plant("mallory")
    (folder / "solutions.ipynb").symlink_to(clone.master)
    os.mkfifo(clone.plant("trent") / "pipe")
    clone.plant("eve", timestamp_txt="not a time")
    oscar = clone.plant("oscar")
    for part in ("a.bin", "b.bin"):
        with open(oscar / part, "wb") as fh:
            fh.truncate(60 * 1000 * 1000)
    (clone.inbound / f"peggy+{ASSIGNMENT}+{ts}+{rand()}").symlink_to(clone.master.parent)
    collected = clone.collect()
    assert collected == sorted([*HONEST, "eve", "mallory", "trent"])
    clone.assert_honest_collected()
    by_student = {}
    for p in clone.instructor.problems:
        by_student.setdefault(p.student, set()).add(p.kind)
    assert by_student.pop("mallory") == {"symlink"}
    assert by_student.pop("trent") == {"special_file"}
    assert by_student.pop("eve") == {"bad_timestamp"}
    assert by_student.pop("oscar") == {"too_big"}
    assert by_student.pop("peggy") == {"not_a_folder"}
    assert by_student == {None: {"bad_name"}}
    assert len([p for p in clone.instructor.problems if p.kind == "bad_name"]) == len(ODD_NAMES)
    assert_bilingual(clone.instructor.problems)


# ---------------------------------------------------------------- grading a bad timestamp


@pytest.mark.parametrize("content", [b"garbage", b"9999-12-31 23:59:59.999999 -1400", b"\xff\xfe",
                                     b"3000-01-01 00:00:00 UTC", None])
def test_stock_autograde_timestamp_read_is_safe_after_repair(tmp_path, content):
    """After repair_timestamp, does nbgrader's own timestamp read (autograde's init_assignment) succeed?

    on f0fb2bf (nothing repaired it): get_existing_timestamp raised (AttributeError: 'CourseDirectory'
    object has no attribute 'fail', nbgrader's bug while reporting the ParserError; OverflowError;
    UnicodeDecodeError) or, for a FIFO, blocked for ever: that student zeroed ("autograding failed");
    a year-3000 time was recorded as 975 years late."""
    from autograder.collect import repair_timestamp
    folder = tmp_path / "submitted" / "mallory" / ASSIGNMENT
    folder.mkdir(parents=True)
    if content is None:
        os.mkfifo(folder / "timestamp.txt")
    else:
        (folder / "timestamp.txt").write_bytes(content)
        if content.startswith(b"3000"):  # readable, but 975 years late
            assert CourseDirectory().get_existing_timestamp(str(folder)).year == 3000
        else:
            with pytest.raises((AttributeError, ValueError, OverflowError)):  # what autograde's init_assignment meets without the repair
                CourseDirectory().get_existing_timestamp(str(folder))
    note = repair_timestamp(folder)
    assert note is not None and note.zh and note.en
    got = CourseDirectory().get_existing_timestamp(str(folder))
    assert got is None or got <= dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=1)
    assert repair_timestamp(folder) is None  # repaired once, quiet after


def test_repair_timestamp_leaves_a_good_one_alone(tmp_path):
    """Is an honest timestamp.txt left byte for byte, with no note?"""
    from autograder.collect import repair_timestamp
    (tmp_path / "timestamp.txt").write_text(stamp())
    before = (tmp_path / "timestamp.txt").read_bytes()
    assert repair_timestamp(tmp_path) is None and repair_timestamp(tmp_path / "nowhere") is None
    assert (tmp_path / "timestamp.txt").read_bytes() == before


def test_bad_timestamp_is_reported_and_the_work_still_graded(clone):
    """Is ada's key-answer submission with a garbage timestamp.txt in submitted/ graded (full marks)?

    on f0fb2bf (no repair_timestamp): "autograding failed" (AttributeError: 'CourseDirectory' object has
    no attribute 'fail') and 0 / 10 for her."""
    from autograder.collect import repair_timestamp
    clone.collect()
    (clone.submitted("ada") / "timestamp.txt").write_text("garbage")
    note = repair_timestamp(clone.submitted("ada"))
    assert note is not None and "timestamp" in note.en
    assert cli(["grade", "--course", str(clone.root), "--assignment", ASSIGNMENT]) == 0
    scores = {r["student"]: r for r in clone.course.scores(ASSIGNMENT)}
    assert scores["ada"]["score"] == scores["ada"]["max_score"] == 10


# ---------------------------------------------------------------- several Unix users


SITE = str(Path(nbformat.__file__).resolve().parent.parent)
# nbgrader's own command line, started by a student's Unix user with our site-packages on the path
STUDENT_NBGRADER = (f"import sys; sys.path.insert(0, {SITE!r}); sys.argv[0] = 'nbgrader'; "
                    "from nbgrader.apps.nbgraderapp import main; main()")


def _as(user: pwd.struct_passwd):
    def drop():
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    return drop


class Users:
    """Two real Unix users (a student and an impersonator) and a shared exchange they can reach."""

    def __init__(self, base: Path):
        self.base = base
        self.names = {}
        for role in ("ada", "mallory"):
            name = f"agx{role[:3]}{secrets.token_hex(3)}"
            home = base / "home" / name
            subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/false",
                            "--user-group", name], check=True, capture_output=True)
            self.names[role] = name
            home.mkdir(parents=True)
            user = pwd.getpwnam(name)
            os.chown(home, user.pw_uid, user.pw_gid)

    def run(self, role: str, *args: str) -> subprocess.CompletedProcess:
        user = pwd.getpwnam(self.names[role])
        env = {"HOME": user.pw_dir, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        return subprocess.run(args, cwd=user.pw_dir, env=env, preexec_fn=_as(user), capture_output=True, check=False,
                              text=True, timeout=300)

    def python(self) -> str:
        """An interpreter a student's Unix user can start and import nbgrader with (ours may sit under /root)."""
        if not hasattr(self, "_python"):
            self._python = None
            for candidate in (sys.executable, f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"):
                try:
                    ok = self.run("ada", candidate, "-c", STUDENT_NBGRADER, "--version").returncode == 0
                except OSError:  # not executable by that user
                    ok = False
                if ok:
                    self._python = candidate
                    break
        if self._python is None:
            pytest.skip("no Python that another Unix user can run nbgrader with / 其他用户无法运行 nbgrader")
        return self._python

    def nbgrader(self, role: str, step: str, *extra: str) -> subprocess.CompletedProcess:
        done = self.run(role, self.python(), "-c", STUDENT_NBGRADER, step, ASSIGNMENT,
                        f"--course={COURSE_ID}", f"--Exchange.root={self.base / 'exchange'}",
                        f"--Exchange.assignment_dir={pwd.getpwnam(self.names[role]).pw_dir}", *extra)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    def remove(self):
        for name in self.names.values():
            subprocess.run(["userdel", name], capture_output=True, check=False)
            subprocess.run(["groupdel", name], capture_output=True, check=False)


@pytest.fixture
def users(template, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to create two Unix users (useradd) / 需要 root 才能创建两个 Unix 用户")
    if shutil.which("useradd") is None:
        pytest.skip("useradd not installed / 未安装 useradd")
    base = Path(tempfile.mkdtemp(prefix="agx-exchange-"))
    base.chmod(0o755)
    (base / "exchange").mkdir(mode=0o777)
    (base / "exchange").chmod(0o1777)
    made = Users(base)
    clone = Clone(template, tmp_path)
    clone.course.config.Exchange.root = str(base / "exchange")
    clone.instructor.release(ASSIGNMENT)
    clone.inbound = base / "exchange" / COURSE_ID / "inbound"
    made.clone = clone
    try:
        yield made
    finally:
        made.remove()
        shutil.rmtree(base, ignore_errors=True)


def test_submission_under_another_students_name_is_refused(users):
    """Is a submission for ada written by mallory's Unix user refused and reported, ada's own collected?

    on f0fb2bf: mallory's (newer) submission was collected as ada's (check_owner=False, and nbgrader's
    check_owner only logs a warning)."""
    ada, mallory = users.names["ada"], users.names["mallory"]
    clone = users.clone
    users.nbgrader("ada", "fetch_assignment")
    users.nbgrader("ada", "submit")
    users.nbgrader("mallory", "fetch_assignment")
    nb = Path(pwd.getpwnam(mallory).pw_dir) / ASSIGNMENT / NOTEBOOK
    users.run("mallory", users.python(), "-c",
              f"import pathlib; p = pathlib.Path({str(nb)!r}); p.write_text(p.read_text().replace('YOUR CODE', 'FORGED'))")
    users.nbgrader("mallory", "submit", f"--student={ada}")  # newer, claims to be ada
    users.nbgrader("mallory", "submit")                       # her own, under her own name
    collected = clone.collect()
    assert collected == sorted([ada, mallory])
    assert "FORGED" not in (clone.submitted(ada) / NOTEBOOK).read_text(encoding="utf-8")
    assert "FORGED" in (clone.submitted(mallory) / NOTEBOOK).read_text(encoding="utf-8")
    [problem] = clone.problems(ada)
    assert problem.kind == "wrong_owner" and mallory in problem.message.en and mallory in problem.message.zh
    assert clone.problems(mallory) == []


def test_file_planted_in_another_students_submission_is_refused(users):
    """Is a file mallory writes into ada's (mode 0777) inbound folder left out of ada's submission?

    on f0fb2bf: mallory's file was collected as part of ada's submission."""
    ada = users.names["ada"]
    clone = users.clone
    users.nbgrader("ada", "fetch_assignment")
    users.nbgrader("ada", "submit")
    [folder] = list(clone.inbound.iterdir())  # the name leaked (the inbound folder cannot be listed)
    users.run("mallory", users.python(), "-c", f"open({str(folder / 'planted.py')!r}, 'w').write('x = 1')")
    assert (folder / "planted.py").stat().st_uid == pwd.getpwnam(users.names["mallory"]).pw_uid
    clone.collect()
    assert (clone.submitted(ada) / NOTEBOOK).is_file()
    assert not (clone.submitted(ada) / "planted.py").exists()
    [problem] = clone.problems(ada)
    assert problem.kind == "wrong_owner" and "planted.py" in problem.message.en


def test_own_submission_as_instructor_is_refused_for_a_real_user(users):
    """Is a submission the instructor's own user wrote under a real student's name refused (the
    single-machine rule, "your own files", applies only to names that are not Unix users)?

    on f0fb2bf: collected as ada's."""
    ada = users.names["ada"]
    clone = users.clone
    clone.plant(ada)  # written by this process (root), claims ada, who is a Unix user
    clone.collect()
    assert not clone.submitted(ada).exists()
    assert [p.kind for p in clone.problems(ada)] == ["wrong_owner"]
