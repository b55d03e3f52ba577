"""Collect submissions from nbgrader's exchange without trusting them / 不轻信学生提交地收作业.

A student owns the inbound folder they submit (``inbound/<student>+<assignment>+<timestamp>+<random>/``)
and can put anything there; ``collect`` runs as the instructor (root on CI). nbgrader's own collect
(``nbgrader.exchange.default.collect``) copies it with ``shutil.copytree``, which follows every symlink
and opens FIFOs and devices, parses names and timestamps so that one bad one stops the whole class,
and only *logs* a warning when the owner of a folder is not the student it names.

``SafeCollect`` is nbgrader's ``ExchangeCollect`` with those three parts replaced, and nothing else:

- **names and times** (``init_src``): every inbound entry that mentions the assignment must be
  ``<student>+<assignment>+<timestamp>[+<random>]`` in UTF-8, with a plain student id and a readable
  time, and be a real folder (not a symlink); anything else is skipped and reported for that entry.
  A time in the future of when the folder's files were last changed (their ctime, which no user can
  set) is replaced by that time and reported.
- **owners** (``check_owner``, on by default, now enforced): a submission for student X is accepted
  only if its folder belongs to X's Unix user, or, when no Unix user X exists, to the user running
  collect (one login playing every student: the course-local exchange). Inside it, anything owned by
  someone else (the folder is mode 0777, see README) is left out and reported.
- **copying** (``do_copy``): a walk through open folder descriptors (``O_NOFOLLOW``), so a symlink is
  never followed, even one swapped in during the copy; only regular files with a single link are
  copied; FIFOs, sockets and devices are never opened; sizes (``CourseDirectory.max_file_size``,
  ``max_dir_size``), depth and the number of entries are bounded per submission. The copy goes to a
  staging folder and replaces ``submitted/<student>/<assignment>/`` only when complete, with a
  ``timestamp.txt`` written by collect itself.

Every problem becomes a ``Problem`` (student, entry, kind, bilingual message); one student's problem
never stops another's collect. ``repair_timestamp`` does the same for the grading side: a
``timestamp.txt`` in ``submitted/`` that nbgrader's autograde could not read is removed and reported.

每个问题都按学生记录（中英双语），一个学生的问题不会中断其他学生的收取。
"""
from __future__ import annotations

import datetime as dt
import fnmatch
import os
import pwd
import re
import secrets
import shutil
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.utils import parse_utc
from traitlets import Float, Integer

from autograder.results import Msg, read_bounded

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"   # nbgrader's Exchange.timestamp_format, in UTC
RANDOM = re.compile(r"[A-Za-z0-9_=-]{1,64}")
BAD_ID_CHARS = set("/\\+*?[]") | {"\x00"}
OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class Problem:
    """One thing collect refused or changed, for one inbound entry."""
    student: str | None   # the student id the entry claims (None: the name does not say)
    entry: str            # the inbound folder's name, printable (bytes that are not UTF-8 escaped)
    kind: str             # bad_name, not_a_folder, wrong_owner, symlink, special_file, hard_link,
                          # too_big, bad_timestamp, backdated, failed
    message: Msg
    refused: bool         # True: the whole submission was left out; False: a file or a note

    def as_dict(self) -> dict:
        out = asdict(self)
        out["message"] = {"zh": self.message.zh, "en": self.message.en}
        return out


class Refused(Exception):
    """The whole submission is left out; carries (kind, Msg)."""

    def __init__(self, kind: str, message: Msg):
        super().__init__(message.en)
        self.kind, self.message = kind, message


def printable(name: str | bytes) -> str:
    """A file name as text anyone can read back: undecodable bytes and control characters escaped."""
    raw = os.fsencode(name)
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def valid_id(student: str) -> bool:
    """A student id that is safe as a folder name and a gradebook key (what nbgrader's submit writes)."""
    return (0 < len(student) <= 128 and not student.startswith(".") and student.isprintable()
            and not any(ch.isspace() or ch in BAD_ID_CHARS for ch in student)
            and not any("\udc80" <= ch <= "\udcff" for ch in student))


def read_time(text: str) -> dt.datetime | None:
    """nbgrader's parse_utc, but None instead of any exception (ValueError, OverflowError, ...)."""
    try:
        when = parse_utc(text.strip())
        when.isoformat()
        return when
    except Exception:  # noqa: BLE001 - a student-written string: anything it raises means "not a time"
        return None


def utc_now() -> dt.datetime:
    """Now, as nbgrader keeps times: naive UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def from_epoch(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


def utc_text(when: dt.datetime) -> str:
    return when.replace(tzinfo=dt.UTC).strftime(TIME_FORMAT)


def read_small(path: str | Path, dir_fd: int | None = None, limit: int = 256) -> bytes | None:
    """The bytes of a small regular file, never following a symlink or opening a FIFO/device; None if not."""
    try:
        return read_bounded(path, limit, dir_fd=dir_fd)
    except (OSError, ValueError):
        return None


def repair_timestamp(submission: str | Path, log=None) -> Msg | None:
    """Make ``<submission>/timestamp.txt`` safe for nbgrader's autograde, before it grades.

    nbgrader's ``CourseDirectory.get_existing_timestamp`` (called by autograde's ``init_assignment``)
    opens the file whatever it is (a FIFO blocks for ever, a symlink is followed), decodes it with the
    locale and raises on anything ``parse_utc`` cannot read (``ExchangeError``, ``OverflowError``,
    ``UnicodeDecodeError``): the student is then "autograding failed" and zeroed. A file that is not
    a regular file holding a plausible time is removed (graded without a submission time, so no late
    penalty: check by hand) and the returned note says so; ``None`` when there was nothing to repair.
    """
    path = Path(submission) / "timestamp.txt"
    try:
        st = os.lstat(path)
    except OSError:
        return None
    why = None
    shown = ""
    if not stat.S_ISREG(st.st_mode):
        why = ("不是普通文件", "is not a regular file")
    else:
        data = read_small(path, limit=256)
        if data is None:
            why = ("无法读取或过大", "cannot be read or is too large")
        else:
            shown = printable(data.decode("utf-8", "backslashreplace"))[:80]
            text = data.decode("ascii", "replace").strip()
            when = read_time(text) if data.isascii() and text else None
            if when is None:
                why = ("不是可读的时间", "is not a readable time")
            elif when > utc_now() + dt.timedelta(days=1):
                why = ("是将来的时间", "is in the future")
    if why is None:
        return None
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    quoted = f" ({shown!r})" if shown else ""
    note = Msg(f"提交中的 timestamp.txt{quoted}{why[0]}：已删除，按无提交时间评分（不计迟交），请人工核对提交时间",
               f"timestamp.txt{quoted} {why[1]}: removed, graded without a submission time (no late penalty); "
               "check the submission time by hand")
    if log is not None:
        log.warning("%s: %s", path, note.en)
    return note


class SafeCollect(ExchangeCollect):
    """nbgrader's collect, with names, times, owners and copying made safe (see the module docstring)."""

    timestamp_slack = Float(
        600.0,
        help="Seconds a submission's own timestamp may lie after the time its files were last changed "
             "(clock skew between machines); beyond that collect uses the file time and reports it."
    ).tag(config=True)

    max_entries = Integer(10000, help="Most files and folders copied from one submission.").tag(config=True)
    max_depth = Integer(32, help="Deepest folder nesting copied from one submission.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.problems: list[Problem] = []
        self.copied: list[str] = []

    # ------------------------------------------------------------------ reporting

    def problem(self, rec: dict | None, kind: str, message: Msg, refused: bool, entry: str | None = None):
        found = Problem(rec.get("username") if rec else None, entry or (rec["entry"] if rec else "?"),
                        kind, message, refused)
        self.problems.append(found)
        self.log.warning("%s: %s", found.entry, message.en)

    # ------------------------------------------------------------------ names, times, owners

    def _mentions(self, name: str) -> bool:
        """Is this inbound entry (possibly) a submission of this assignment? Others' are not our business."""
        parts = name.split("+")
        if len(parts) in (3, 4) and parts[1] != self.coursedir.assignment_id:
            return False
        return self.coursedir.assignment_id in name

    def _bad_name(self, entry: str, zh: str, en: str):
        self.problem(None, "bad_name", Msg(
            f"收件箱中的 {entry} 不是“<学号>+<作业>+<时间>[+<随机串>]”形式的文件夹名（{zh}），已跳过",
            f"inbound entry {entry} is not named <student>+<assignment>+<timestamp>[+<random>] ({en}); skipped"),
            refused=True, entry=entry)

    def _path_to_record(self, raw: bytes) -> dict | None:
        """The record of one inbound entry (as nbgrader's, plus what the checks need), or None (reported)."""
        entry = printable(raw)
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            return self._bad_name(entry, "名字不是 UTF-8", "the name is not UTF-8")
        parts = name.split("+")
        if len(parts) not in (3, 4):
            return self._bad_name(entry, f"用“+”分成了 {len(parts)} 段，应为 3 或 4 段",
                                  f"'+' splits it into {len(parts)} parts, not 3 or 4")
        student, assignment, when_text = parts[:3]
        if assignment != self.coursedir.assignment_id:
            return self._bad_name(entry, "作业名不符", "the assignment is not the second part")
        if not valid_id(student):
            return self._bad_name(entry, "学号含有不允许的字符", "the student id has characters ids may not have")
        if len(parts) == 4 and not RANDOM.fullmatch(parts[3]):
            return self._bad_name(entry, "随机串不合规", "the random part is not random letters")
        when = read_time(when_text)
        if when is None:
            return self._bad_name(entry, "时间无法解析", "the timestamp cannot be read")
        return {"username": student, "filename": name, "raw": raw, "entry": entry,
                "timestamp": when, "claimed": when, "ts_text": when_text}

    def _owner_ok(self, rec: dict, uid: int) -> bool:
        """Was this folder written by the student it names? (see the module docstring)"""
        if not self.check_owner:
            return True
        try:
            return uid == pwd.getpwnam(rec["username"]).pw_uid
        except KeyError:
            return uid == os.geteuid()

    def _user(self, uid: int) -> str:
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            return f"uid {uid}"

    def _check(self, rec: dict, inbound_fd: int) -> bool:
        """Is the record's entry a real folder written by its student? Fixes a future time (reported)."""
        try:
            st = os.stat(rec["raw"], dir_fd=inbound_fd, follow_symlinks=False)
        except OSError as exc:
            self.problem(rec, "failed", Msg(f"无法读取：{exc.strerror}", f"cannot be read: {exc.strerror}"), True)
            return False
        if not stat.S_ISDIR(st.st_mode):
            what = ("符号链接", "a symlink") if stat.S_ISLNK(st.st_mode) else ("不是文件夹", "not a folder")
            self.problem(rec, "not_a_folder", Msg(
                f"{rec['username']} 的提交 {rec['entry']} 是{what[0]}，不是文件夹：已跳过",
                f"{rec['username']}'s submission {rec['entry']} is {what[1]}, not a folder: skipped"), True)
            return False
        if not self._owner_ok(rec, st.st_uid):
            owner = self._user(st.st_uid)
            self.problem(rec, "wrong_owner", Msg(
                f"以 {rec['username']} 的名义提交的 {rec['entry']} 由 Unix 用户 {owner} 写入，"
                f"不是 {rec['username']} 本人：未收取（可能是冒名提交）",
                f"{rec['entry']} claims to be {rec['username']}'s but was written by Unix user {owner}: "
                "not collected (an impersonation?); if every student shares one Unix user, set "
                "c.ExchangeCollect.check_owner = False"), True)
            return False
        rec["uid"], rec["ino"] = st.st_uid, (st.st_dev, st.st_ino)
        written = self._written(rec, inbound_fd, st)
        claimed = rec["timestamp"]
        if claimed > written + dt.timedelta(seconds=self.timestamp_slack):
            rec["timestamp"], rec["ts_text"] = written, utc_text(written)
            self.problem(rec, "bad_timestamp", Msg(
                f"{rec['username']} 的提交时间 {utc_text(claimed)} 晚于其文件最后改动的时间，改用后者 {rec['ts_text']}",
                f"{rec['username']}'s timestamp {utc_text(claimed)} is after its files were last changed; "
                f"using that time, {rec['ts_text']}"), False)
        elif claimed < written - dt.timedelta(seconds=self.timestamp_slack):
            self.problem(rec, "backdated", Msg(
                f"{rec['username']} 的提交时间 {utc_text(claimed)} 早于其文件最后改动的时间 {utc_text(written)}"
                "（时间由学生一方写入，可能被提前）；保留原时间，请核对",
                f"{rec['username']}'s timestamp {utc_text(claimed)} is before its files were last changed, "
                f"{utc_text(written)} (the student's side writes it; it may be backdated); kept, check it"),
                False)
        return True

    def _written(self, rec: dict, inbound_fd: int, st: os.stat_result) -> dt.datetime:
        """When the folder and its top-level entries last changed (ctime: set by the kernel, not by users)."""
        latest = st.st_ctime
        try:
            fd = os.open(rec["raw"], OPEN_DIR, dir_fd=inbound_fd)
        except OSError:
            return from_epoch(latest)
        try:
            for name in os.listdir(fd)[: self.max_entries]:
                try:
                    latest = max(latest, os.stat(name, dir_fd=fd, follow_symlinks=False).st_ctime)
                except OSError:
                    pass
        finally:
            os.close(fd)
        return from_epoch(latest)

    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        try:
            self.inbound_fd = os.open(self.inbound_path, OPEN_DIR)
        except OSError:
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
        try:
            self._find_records()
        except BaseException:
            os.close(self.inbound_fd)
            raise

    def _find_records(self):
        wanted = self.coursedir.student_id or "*"
        records = []
        for raw in sorted(os.listdir(os.fsencode(self.inbound_path))):
            if not self._mentions(os.fsdecode(raw)):
                continue
            rec = self._path_to_record(raw)
            if rec is None or not fnmatch.fnmatchcase(rec["username"], wanted):
                continue
            if self._check(rec, self.inbound_fd):
                records.append(rec)
        usergroups = groupby(records, lambda item: item["username"])

        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        self.src_records = []
        for recs in usergroups.values():
            recs = self._sort_by_timestamp(recs)
            if self.duedate is not None and self.before_duedate:
                before = [r for r in recs if r["timestamp"] <= self.duedate]
                recs = before or recs
            self.src_records.append(recs[0])

    # ------------------------------------------------------------------ copying

    def copy_files(self):
        try:
            if not self.src_records:
                self.log.warning("No submissions of '%s' for course '%s' to collect",
                                 self.coursedir.assignment_id, self.coursedir.course_id)
            for rec in self.src_records:
                try:
                    self._collect_one(rec)
                except Refused as exc:
                    self.problem(rec, exc.kind, exc.message, True)
                except Exception as exc:  # noqa: BLE001 - that student is reported, the class goes on
                    self.problem(rec, "failed", Msg(f"收取失败：{exc!r}", f"collect failed: {exc!r}"), True)
        finally:
            os.close(self.inbound_fd)

    def _collect_one(self, rec: dict) -> None:
        student, assignment = rec["username"], self.coursedir.assignment_id
        dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment))
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_dir() or dest.is_symlink():
            existing = self._existing_time(dest)
            newer = self.update and (existing is None or rec["timestamp"] > existing)
            changed = self.before_duedate and existing != rec["timestamp"]
            if not (newer or changed):
                self.log.info("No newer submission to collect: %s %s", student, assignment)
                return
        staging = dest.parent / f".{assignment}.collecting-{secrets.token_hex(4)}"
        try:
            self._rec = rec
            self.do_copy(rec["raw"], str(staging))
            (staging / "timestamp.txt").write_text(rec["ts_text"], encoding="utf-8")
            old = None
            if dest.is_dir() and not dest.is_symlink():
                old = dest.parent / f".{assignment}.old-{secrets.token_hex(4)}"
                dest.rename(old)
            elif os.path.lexists(dest):
                dest.unlink()
            staging.rename(dest)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        self.copied.append(student)
        self.log.info("Collected submission: %s %s", student, assignment)

    def _existing_time(self, dest: Path) -> dt.datetime | None:
        data = read_small(dest / "timestamp.txt")
        return read_time(data.decode("ascii", "replace")) if data else None

    def do_copy(self, src, dest, log=None):
        """Copy one inbound folder (``src``: its name in the inbound folder) to ``dest``, safely."""
        rec = self._rec
        try:
            fd = os.open(src, OPEN_DIR, dir_fd=self.inbound_fd)
        except OSError as exc:
            raise Refused("not_a_folder", Msg(f"无法作为文件夹打开：{exc.strerror}",
                                              f"cannot be opened as a folder: {exc.strerror}")) from exc
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != rec["ino"]:
                raise Refused("failed", Msg("收取过程中文件夹被替换", "the folder was replaced during collect"))
            os.mkdir(dest, 0o755)
            state = {"bytes": 0, "entries": 0}
            self._copy_dir(fd, dest, "", 0, state, rec)
            if not rec.get("seen_timestamp"):
                self._note_timestamp(rec, "没有 timestamp.txt", "no timestamp.txt")
        finally:
            os.close(fd)
        self._groupshare(dest)

    def _skip(self, rec, rel: str, kind: str, zh: str, en: str) -> None:
        shown = printable(rel)
        self.problem(rec, kind, Msg(f"{rec['username']} 的提交中 {shown} {zh}：未收取",
                                    f"{shown} in {rec['username']}'s submission {en}: left out"), False)

    def _copy_dir(self, fd: int, dest: str, rel: str, depth: int, state: dict, rec: dict) -> None:
        cd = self.coursedir
        for name in sorted(os.listdir(fd)):
            path = f"{rel}{name}"
            state["entries"] += 1
            if state["entries"] > self.max_entries:
                raise Refused("too_big", Msg(f"文件和文件夹超过 {self.max_entries} 个：整份提交未收取",
                                             f"more than {self.max_entries} files and folders: not collected"))
            if any(fnmatch.fnmatch(name, g) for g in cd.ignore):
                continue
            if depth == 0 and name in ("timestamp.txt",):
                self._compare_timestamp(fd, rec)
                continue
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                try:
                    target = printable(os.readlink(name, dir_fd=fd))[:200]
                except OSError:
                    target = "?"
                self._skip(rec, path, "symlink", f"是符号链接（指向 {target}），不会跟随",
                           f"is a symlink (to {target}); symlinks are never followed")
                continue
            if not valid_name(name):
                self._skip(rec, path, "bad_name", "的名字不是可读的 UTF-8", "has a name that is not printable UTF-8")
                continue
            if st.st_uid != rec["uid"]:
                owner = self._user(st.st_uid)
                self._skip(rec, path, "wrong_owner", f"由 Unix 用户 {owner} 写入，不是 {rec['username']}",
                           f"was written by Unix user {owner}, not by {rec['username']}")
                continue
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 >= self.max_depth:
                    raise Refused("too_big", Msg(f"文件夹嵌套超过 {self.max_depth} 层：整份提交未收取",
                                                 f"folders nested deeper than {self.max_depth}: not collected"))
                sub = os.open(name, OPEN_DIR, dir_fd=fd)
                try:
                    now = os.fstat(sub)
                    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                        continue  # swapped since we looked: not copied
                    target = os.path.join(dest, name)
                    os.mkdir(target, 0o755)
                    self._copy_dir(sub, target, f"{path}/", depth + 1, state, rec)
                finally:
                    os.close(sub)
            elif stat.S_ISREG(st.st_mode):
                if cd.include and not any(fnmatch.fnmatch(name, g) for g in cd.include):
                    continue
                if st.st_nlink > 1:
                    self._skip(rec, path, "hard_link", "是硬链接（同一文件的另一个名字）",
                               "is a hard link (another name of some other file)")
                    continue
                if cd.max_file_size and st.st_size > 1000 * cd.max_file_size:
                    self._skip(rec, path, "too_big", f"超过 {cd.max_file_size} kB",
                               f"is larger than {cd.max_file_size} kB (CourseDirectory.max_file_size)")
                    continue
                state["bytes"] += st.st_size
                if cd.max_dir_size and state["bytes"] > 1000 * cd.max_dir_size:
                    raise Refused("too_big", Msg(
                        f"{rec['username']} 的提交超过 {cd.max_dir_size} kB：整份提交未收取",
                        f"{rec['username']}'s submission is larger than {cd.max_dir_size} kB "
                        "(CourseDirectory.max_dir_size): not collected"))
                self._copy_file(fd, name, st, os.path.join(dest, name))
            else:
                self._skip(rec, path, "special_file", f"是特殊文件（{kind_of(st.st_mode)[0]}），不会打开",
                           f"is a special file ({kind_of(st.st_mode)[1]}) and is never opened")

    def _copy_file(self, fd: int, name: str, st: os.stat_result, target: str) -> None:
        src = os.open(name, OPEN_FILE, dir_fd=fd)
        try:
            now = os.fstat(src)
            if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                return  # swapped for something else since we looked: not copied
            out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                left = st.st_size  # what we counted, no more (a growing file is cut there)
                while left > 0:
                    chunk = os.read(src, min(left, 1 << 20))
                    if not chunk:
                        break
                    os.write(out, chunk)
                    left -= len(chunk)
                os.fchmod(out, (st.st_mode & 0o755) | 0o600)
            finally:
                os.close(out)
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(src)

    def _compare_timestamp(self, fd: int, rec: dict) -> None:
        """The submission's own timestamp.txt is not copied (collect writes one); note when it disagrees."""
        data = read_small("timestamp.txt", dir_fd=fd)
        inner = read_time(data.decode("ascii", "replace")) if data and data.isascii() else None
        if inner is None or abs((inner - rec["claimed"]).total_seconds()) > 1:
            shown = printable(data.decode("utf-8", "backslashreplace"))[:80] if data else "?"
            self._note_timestamp(rec, f"timestamp.txt（{shown!r}）无法读取或与文件夹名中的时间不符",
                                 f"timestamp.txt ({shown!r}) cannot be read or differs from the folder name")
        rec["seen_timestamp"] = True

    def _note_timestamp(self, rec: dict, zh: str, en: str) -> None:
        self.problem(rec, "bad_timestamp", Msg(f"{rec['username']} 的提交：{zh}；改用文件夹名中的时间 {rec['ts_text']}",
                                               f"{rec['username']}'s submission: {en}; using the time in its "
                                               f"folder name, {rec['ts_text']}"), False)

    def _groupshare(self, dest: str) -> None:
        """nbgrader's do_copy makes copies group-writable when CourseDirectory.groupshared; so do we."""
        if not self.coursedir.groupshared:
            return
        for dirname, _, filenames in os.walk(dest):
            os.chmod(dirname, (os.stat(dirname).st_mode | 0o2770) & 0o2777)
            for filename in filenames:
                p = os.path.join(dirname, filename)
                os.chmod(p, (os.stat(p).st_mode | 0o660) & 0o777)


def valid_name(name: str) -> bool:
    return name.isprintable() and not any("\udc80" <= ch <= "\udcff" for ch in name)


def kind_of(mode: int) -> tuple[str, str]:
    if stat.S_ISFIFO(mode):
        return "命名管道", "a FIFO"
    if stat.S_ISSOCK(mode):
        return "套接字", "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备文件", "a device"
    return "未知类型", "of an unknown type"


__all__ = ["Problem", "SafeCollect", "printable", "repair_timestamp", "valid_id"]
