"""The class roster / 学生名单: a CSV of students imported into nbgrader's student table.

``make roster FILE=students.csv`` reads a UTF-8 CSV (Excel's BOM accepted) with a header row::

    id,first_name,last_name,email
    s0001,伟,张,zhang.wei@example.edu
    s0002,Ada,Lovelace,ada@example.edu

Accepted header spellings: ``id`` / ``student_id`` / ``username`` / ``学号``; ``first_name`` /
``first`` / ``名``; ``last_name`` / ``last`` / ``姓``; ``email`` / ``邮箱``; optionally ``lms_user_id``
(the LMS's own user id, e.g. Canvas's SIS User ID; nbgrader keeps it in the same table).

Every row is checked before anything is written; one bad row refuses the whole file with a bilingual
message per problem (line number included), so a roster is never half imported. The rows are then written
through nbgrader's API (:meth:`Gradebook.update_or_create_student`), so re-importing updates names and
emails without duplicating anyone, and the formgrader shows the names. Students already in the gradebook
but absent from the file are kept (they may have submissions) and listed.

"On the roster" means the gradebook has a name or an email for the student (imported here, or typed into
the formgrader's *Manage Students*); a student created only because a submission arrived has neither.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.results import Msg

COLUMNS = {  # our name -> the header spellings accepted (compared case-insensitively, stripped)
    "id": ("id", "student_id", "student id", "username", "学号"),
    "first_name": ("first_name", "first name", "first", "given name", "名"),
    "last_name": ("last_name", "last name", "last", "family name", "surname", "姓"),
    "email": ("email", "e-mail", "email address", "邮箱", "电子邮箱"),
    "lms_user_id": ("lms_user_id", "lms user id", "sis user id"),
}
FIELDS = ("first_name", "last_name", "email", "lms_user_id")
# nbgrader uses the id as a folder name (submitted/<id>/) and in URLs: letters, digits, '.', '_', '-'
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
MAX_FIELD = 128  # characters: nbgrader's columns are VARCHAR(128)
MAX_BYTES = 16 << 20


@dataclass(frozen=True)
class Entry:
    id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    lms_user_id: str | None = None
    line: int = 0


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_in_file: list[str] = field(default_factory=list)  # in the gradebook, absent from this file: kept


class RosterError(ValueError):
    """The roster file was refused; ``problems`` says why, one bilingual message each."""

    def __init__(self, problems: list[Msg]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def parse(text: str, source: str = "roster") -> list[Entry]:
    """The roster's rows, or :class:`RosterError` listing every problem found (nothing is written)."""
    problems: list[Msg] = []
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    while rows and not any(cell.strip() for cell in rows[0]):
        rows.pop(0)
    if not rows:
        raise RosterError([Msg(f"{source} 是空文件，没有表头行（id,first_name,last_name,email）",
                               f"{source} is empty: no header row (id,first_name,last_name,email)")])
    header = [h.strip().lower() for h in rows[0]]
    position: dict[str, int] = {}
    for ours, spellings in COLUMNS.items():
        found = [i for i, h in enumerate(header) if h in spellings]
        if len(found) > 1:
            problems.append(Msg(f"表头里有多个表示 {ours} 的列：{', '.join(rows[0][i] for i in found)}",
                                f"the header has more than one column for {ours}: {', '.join(rows[0][i] for i in found)}"))
        elif found:
            position[ours] = found[0]
    if "id" not in position:
        problems.append(Msg("表头里没有学号列（id、student_id、username 或 学号）",
                            "the header has no id column (id, student_id, username or 学号)"))
    if "first_name" not in position and "last_name" not in position:
        problems.append(Msg("表头里没有姓名列（first_name、last_name）", "the header has no name column (first_name, last_name)"))
    unknown = [h for i, h in enumerate(rows[0]) if i not in position.values() and h.strip()]
    if unknown:
        problems.append(Msg(f"无法识别的列：{', '.join(unknown)}（可用的列：id, first_name, last_name, email, lms_user_id）",
                            f"unknown columns: {', '.join(unknown)} (known: id, first_name, last_name, email, lms_user_id)"))
    if problems:
        raise RosterError(problems)
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) > len(header):
            problems.append(Msg(f"第 {number} 行的字段比表头多（{len(row)} 个，表头 {len(header)} 个；姓名里有逗号时请加引号）",
                                f"line {number} has more fields than the header ({len(row)}, header {len(header)}; "
                                "quote a name that contains a comma)"))
            continue
        value = {k: (row[i].strip() if i < len(row) else "") for k, i in position.items()}
        sid = value["id"]
        if not sid:
            problems.append(Msg(f"第 {number} 行没有学号", f"line {number} has no id"))
            continue
        if not ID_PATTERN.match(sid):
            problems.append(Msg(f"第 {number} 行的学号 {sid!r} 不合法：只能用字母、数字、'.'、'_'、'-'，并以字母或数字开头",
                                f"line {number}: id {sid!r} is not valid: use letters, digits, '.', '_', '-', "
                                "starting with a letter or digit"))
        if sid in seen:
            problems.append(Msg(f"第 {number} 行的学号 {sid} 与第 {seen[sid]} 行重复",
                                f"line {number}: id {sid} repeats line {seen[sid]}"))
        seen.setdefault(sid, number)
        if not value.get("first_name") and not value.get("last_name"):
            problems.append(Msg(f"第 {number} 行（{sid}）没有姓名", f"line {number} ({sid}) has no name"))
        email = value.get("email", "")
        if email and not EMAIL_PATTERN.match(email):
            problems.append(Msg(f"第 {number} 行（{sid}）的邮箱 {email!r} 格式不对",
                                f"line {number} ({sid}): email {email!r} is not an email address"))
        for k, v in value.items():
            if len(v) > MAX_FIELD:
                problems.append(Msg(f"第 {number} 行（{sid}）的 {k} 超过 {MAX_FIELD} 个字符",
                                    f"line {number} ({sid}): {k} is longer than {MAX_FIELD} characters"))
            if any(ord(ch) < 32 for ch in v):
                problems.append(Msg(f"第 {number} 行（{sid}）的 {k} 含有控制字符", f"line {number} ({sid}): {k} has control characters"))
        entries.append(Entry(sid, value.get("first_name") or None, value.get("last_name") or None, email or None,
                             value.get("lms_user_id") or None, number))
    if not entries and not problems:
        problems.append(Msg(f"{source} 只有表头，没有学生", f"{source} has a header but no students"))
    if problems:
        raise RosterError(problems)
    return entries


def read(path: Path) -> list[Entry]:
    """The rows of a roster file (UTF-8), or :class:`RosterError`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterError([Msg(f"无法读取名单文件 {path}：{exc.strerror}", f"cannot read the roster {path}: {exc.strerror}")])
    if len(data) > MAX_BYTES:
        raise RosterError([Msg(f"名单文件 {path.name} 超过 {MAX_BYTES >> 20} MiB", f"the roster {path.name} is larger than {MAX_BYTES >> 20} MiB")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise RosterError([Msg(f"{path.name} 不是 UTF-8 编码（第 {line} 行）：请在 Excel 里另存为“CSV UTF-8”",
                               f"{path.name} is not UTF-8 (line {line}): save it as \"CSV UTF-8\" in Excel")])
    return parse(text, path.name)


def import_entries(gb: Gradebook, entries: list[Entry]) -> ImportResult:
    """Write checked entries through nbgrader's API; all of them or, if the database fails part way,
    none: what was written is undone (new students removed, changed ones restored) and the error raised."""
    result = ImportResult()
    before = {s.id: {f: getattr(s, f) for f in FIELDS} for s in gb.students}
    written: list[str] = []
    try:
        for e in entries:
            values = {f: getattr(e, f) for f in FIELDS}
            if e.lms_user_id is None and e.id in before:
                values.pop("lms_user_id")  # a roster without the column leaves nbgrader's value alone
            old = before.get(e.id)
            if old is not None and all(old[f] == v for f, v in values.items()):
                result.unchanged.append(e.id)
                continue
            gb.update_or_create_student(e.id, **values)
            written.append(e.id)
            (result.updated if old is not None else result.created).append(e.id)
    except Exception:
        gb.db.rollback()
        for sid in reversed(written):
            if sid in before:
                gb.update_or_create_student(sid, **before[sid])
            else:
                gb.remove_student(sid)
        raise
    ids = {e.id for e in entries}
    result.not_in_file = sorted(s for s in before if s not in ids)
    return result


def import_file(course, path: Path) -> ImportResult:
    """``make roster``: check the whole file, then import it into the course's gradebook."""
    entries = read(path)
    with course.here(), course.gradebook() as gb:
        return import_entries(gb, entries)


def on_roster(student) -> bool:
    """Whether an nbgrader ``Student`` came from a roster (has a name or an email)."""
    return bool(student.first_name or student.last_name or student.email)


def display_name(student) -> str:
    """The student's name as a class list shows it: ``张伟`` for Chinese names (family name first, no space),
    ``Ada Lovelace`` otherwise; empty when the gradebook has no name."""
    first, last = (student.first_name or "").strip(), (student.last_name or "").strip()
    if not first or not last:
        return first or last
    if _cjk(first) and _cjk(last):
        return last + first
    return f"{first} {last}"


def _cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def export(gb: Gradebook, path: Path) -> Path:
    """The gradebook's roster as a CSV in the same columns :func:`read` takes (a round trip)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "first_name", "last_name", "email", "lms_user_id"])
        for s in sorted(gb.students, key=lambda s: s.id):
            if on_roster(s):
                writer.writerow([s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or ""])
    return path
