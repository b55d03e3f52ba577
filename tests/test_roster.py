"""The class roster: `make roster FILE=students.csv` into nbgrader's student table, and what the summary
and the exports make of it (students who did not submit, submitters not on the roster, late penalties)."""
import csv
import shutil
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook, InvalidEntry
from nbgrader.apps import NbGraderAPI

from autograder import demo, exports, roster
from autograder.pipeline import NO_SUBMISSION, NOT_ON_ROSTER, Course
from conftest import ROOT

ASSIGNMENT = "a01_tensors"
GOOD = ("id,first_name,last_name,email\n"
        "s001,伟,张,zhang.wei@example.edu\n"
        "s002,Ada,Lovelace,ada@example.edu\n"
        's003,"Zoë","O\'Neil, Jr.",zoe@example.edu\n'
        "s004,秀英,欧阳,\n")


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture(scope="module")
def empty_gradebook(tmp_path_factory):
    """A course with an empty gradebook, made once (creating nbgrader's schema takes seconds)."""
    root = tmp_path_factory.mktemp("template")
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    course = Course(root)
    with course.here(), course.gradebook():
        pass
    return root


@pytest.fixture
def course(tmp_path, empty_gradebook):
    shutil.copy(empty_gradebook / "nbgrader_config.py", tmp_path)
    shutil.copy(empty_gradebook / "gradebook.db", tmp_path)
    return Course(tmp_path)


def students(course) -> dict:
    with course.here(), course.gradebook() as gb:
        return {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}


def test_roster_round_trip_keeps_chinese_names(course, tmp_path):
    """Does a UTF-8 roster (Chinese names, a quoted comma, an Excel BOM) go into nbgrader's student table
    and come back out unchanged?"""
    path = write(tmp_path / "students.csv", "\ufeff" + GOOD)
    result = roster.import_file(course, path)
    assert sorted(result.created) == ["s001", "s002", "s003", "s004"] and not result.updated
    assert students(course) == {"s001": ("伟", "张", "zhang.wei@example.edu"), "s002": ("Ada", "Lovelace", "ada@example.edu"),
                                "s003": ("Zoë", "O'Neil, Jr.", "zoe@example.edu"), "s004": ("秀英", "欧阳", None)}
    with course.here(), course.gradebook() as gb:
        out = roster.export(gb, tmp_path / "out" / "roster.csv")
        assert {s.id: roster.display_name(s) for s in gb.students} == {
            "s001": "张伟", "s002": "Ada Lovelace", "s003": "Zoë O'Neil, Jr.", "s004": "欧阳秀英"}
    again = roster.read(out)
    assert [(e.id, e.first_name, e.last_name, e.email) for e in again] == [
        (e.id, e.first_name, e.last_name, e.email) for e in roster.read(path)]


def test_formgrader_sees_the_names(course, tmp_path):
    """Does nbgrader's own API, which the formgrader's student list calls, return the imported names?"""
    roster.import_file(course, write(tmp_path / "students.csv", GOOD))
    with course.here():
        listed = {s["id"]: (s["first_name"], s["last_name"], s["email"]) for s in NbGraderAPI(
            coursedir=course.coursedir, config=course.config).get_students()}
    assert listed["s001"] == ("伟", "张", "zhang.wei@example.edu") and listed["s004"][:2] == ("秀英", "欧阳")


def test_reimport_updates_without_duplicating(course, tmp_path):
    """Does importing a changed roster update names and emails in place, add the new student, and keep
    (and report) a student the new file leaves out?"""
    roster.import_file(course, write(tmp_path / "a.csv", GOOD))
    changed = GOOD.replace("zhang.wei@example.edu", "wei.zhang@example.edu").replace("s004,秀英,欧阳,\n", "") + \
        "s005,明,李,li.ming@example.edu\n"
    result = roster.import_file(course, write(tmp_path / "b.csv", changed))
    assert result.updated == ["s001"] and result.created == ["s005"] and sorted(result.unchanged) == ["s002", "s003"]
    assert result.not_in_file == ["s004"]
    got = students(course)
    assert len(got) == 5 and got["s001"] == ("伟", "张", "wei.zhang@example.edu") and got["s004"][0] == "秀英"
    assert roster.import_file(course, write(tmp_path / "c.csv", changed)).unchanged == ["s001", "s002", "s003", "s005"]


@pytest.mark.parametrize("text, zh, en", [
    (GOOD + "s006,,,x@example.edu\n", "第 6 行（s006）没有姓名", "line 6 (s006) has no name"),
    (GOOD + "s002,Bob,Duplicate,bob@example.edu\n", "与第 3 行重复", "repeats line 3"),
    (GOOD + "bad id!,明,李,li@example.edu\n", "学号 'bad id!' 不合法", "id 'bad id!' is not valid"),
    (GOOD + "s007,明,李,not-an-email\n", "邮箱 'not-an-email' 格式不对", "is not an email address"),
    (GOOD + "s008,明,李,li@example.edu,extra\n", "字段比表头多", "more fields than the header"),
    (GOOD.replace("id,first_name", "student,first_name"), "没有学号列", "no id column"),
    ("id,first_name,last_name,email\n", "只有表头", "header but no students"),
    ("", "空文件", "is empty"),
])
def test_a_bad_row_refuses_the_whole_file(course, tmp_path, text, zh, en):
    """Does one bad row refuse the whole roster with a bilingual message naming the line, writing nothing?"""
    roster.import_file(course, write(tmp_path / "before.csv", "id,first_name,last_name\nold,旧,学生\n"))
    with pytest.raises(roster.RosterError) as info:
        roster.import_file(course, write(tmp_path / "students.csv", text))
    messages = info.value.problems
    assert any(zh in m.zh for m in messages) and any(en in m.en for m in messages), messages
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m.zh) for m in messages)
    assert students(course) == {"old": ("旧", "学生", None)}  # nothing of the bad file was written


def test_not_utf8_is_refused_with_how_to_fix(course, tmp_path):
    """Is a roster saved in GBK (Excel's default on a Chinese Windows) refused, saying how to save it?"""
    with pytest.raises(roster.RosterError) as info:
        roster.import_file(course, write(tmp_path / "students.csv", GOOD.replace("Zoë", "Zoe"), encoding="gbk"))
    [m] = info.value.problems
    assert "UTF-8" in m.en and "CSV UTF-8" in m.zh and "line 2" in m.en
    assert students(course) == {}


def test_database_failure_part_way_leaves_nothing_half_imported(course, tmp_path, monkeypatch):
    """When the database refuses the third student, are the first two undone (created removed, updated
    restored), so the gradebook is exactly as before?"""
    roster.import_file(course, write(tmp_path / "a.csv", "id,first_name,last_name\ns002,Old,Name\n"))
    real = Gradebook.update_or_create_student
    calls = []

    def flaky(self, student_id, **kwargs):
        calls.append(student_id)
        if len(calls) == 3:
            raise InvalidEntry("simulated database error")
        return real(self, student_id, **kwargs)
    monkeypatch.setattr(Gradebook, "update_or_create_student", flaky)
    with pytest.raises(InvalidEntry):
        roster.import_file(course, write(tmp_path / "b.csv", GOOD))
    monkeypatch.setattr(Gradebook, "update_or_create_student", real)
    assert calls[:3] == ["s001", "s002", "s003"]
    assert students(course) == {"s002": ("Old", "Name", None)}


def test_cli_roster(course, tmp_path):
    """Does `python -m autograder roster --file` import a good file (exit 0) and refuse a bad one (exit 1)
    with the bilingual reasons?"""
    def cli(path):
        return subprocess.run([sys.executable, "-m", "autograder", "roster", "--file", str(path), "--course",
                               str(course.root)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    ok = cli(write(tmp_path / "good.csv", GOOD))
    assert ok.returncode == 0 and "4 new / 新增" in ok.stdout, ok.stdout + ok.stderr
    bad = cli(write(tmp_path / "bad.csv", GOOD + "s009,,,\n"))
    assert bad.returncode == 1 and "没有姓名" in bad.stdout and "has no name" in bad.stdout
    assert "s009" not in students(course)


@pytest.mark.pipeline
@pytest.mark.xdist_group("roster")
def test_summary_and_exports_list_everyone(tmp_path):
    """With a roster, do the summary, the wide, long, Canvas and Moodle CSVs list a roster student who did
    not submit (0, "no submission") and a submitter not on the roster, and carry a late penalty?"""
    shutil.copy(ROOT / "course" / "nbgrader_config.py", tmp_path)
    with open(tmp_path / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write(demo.CLASS_CONFIG)
    shutil.copytree(ROOT / "course" / "source" / ASSIGNMENT, tmp_path / "source" / ASSIGNMENT)
    course = Course(tmp_path)
    course.release(ASSIGNMENT)
    with course.here(), course.gradebook() as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate="2026-11-20 12:00:00 UTC")
    demo.make_submissions(tmp_path, ASSIGNMENT)  # ada, bo, chen, dee; timestamps 2026-11-20 12:00 (on time)
    (tmp_path / "submitted" / "ada" / ASSIGNMENT / "timestamp.txt").write_text("2026-11-21 08:00:00.000000 UTC")
    roster.import_file(course, write(tmp_path / "students.csv", "id,first_name,last_name,email\n"
                                     "ada,Ada,Lovelace,ada@example.edu\nbo,博,王,bo@example.edu\n"
                                     "chen,晨,陈,chen@example.edu\nzhou,舟,周,zhou@example.edu\n"))
    course.grade(ASSIGNMENT, quiet=True)
    rows = {r["student"]: r for r in course.scores(ASSIGNMENT)}
    assert sorted(rows) == ["ada", "bo", "chen", "dee", "zhou"]
    assert rows["zhou"]["score"] == 0 and rows["zhou"]["status"] == NO_SUBMISSION and rows["zhou"]["max_score"] == 10
    assert rows["dee"]["status"].endswith(NOT_ON_ROSTER) and rows["bo"]["name"] == "王博"
    assert rows["ada"]["raw_score"] == 10 and rows["ada"]["late_penalty"] == 10 and rows["ada"]["score"] == 0
    assert "late (-10)" in rows["ada"]["status"]

    from rich.console import Console
    console = Console(width=250, record=True)
    console.print(course.summary(ASSIGNMENT))
    summary = console.export_text()
    assert "zhou" in summary and "no submission / 未提交" in summary and "not on roster / 不在名单中" in summary
    assert "王博" in summary and "1 名名单上的学生未提交" in summary

    paths = exports.write_all(course, ASSIGNMENT, tmp_path / "out")
    long = list(csv.DictReader(open(paths["long"], encoding="utf-8")))
    assert set(long[0]) == {"student", "assignment", "problem", "score", "max", "status"}
    for sid, row in rows.items():  # a student's long rows add up to the final score of the wide CSV
        assert sum(float(r["score"]) for r in long if r["student"] == sid) == pytest.approx(row["score"])
    assert {r["status"] for r in long if r["student"] == "zhou"} == {NO_SUBMISSION}
    [penalty] = [r for r in long if r["student"] == "ada" and r["problem"] == "late_penalty"]
    assert penalty["score"] == "-10" and penalty["status"] == "late"
    assert {r["status"] for r in long if r["student"] == "dee" and r["problem"] != "late_penalty"} == {"unreadable"}
    assert {r["status"] for r in long if r["student"] == "bo" and r["problem"] == "test_linspace"} == {"forbidden"}

    canvas = list(csv.reader(open(paths["canvas"], encoding="utf-8")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert canvas[1][0].strip() == "Points Possible" and canvas[1][-1] == "10"
    by_login = {r[3]: r for r in canvas[2:]}
    assert by_login["bo"][0] == "王, 博" and float(by_login["bo"][-1]) == rows["bo"]["score"]
    assert by_login["ada"][-1] == "0" and by_login["zhou"][-1] == "0" and by_login["dee"][0] == "dee"

    moodle = {r["Username"]: r for r in csv.DictReader(open(paths["moodle"], encoding="utf-8"))}
    assert moodle["ada"][ASSIGNMENT] == "0" and "late penalty 10" in moodle["ada"][f"{ASSIGNMENT} feedback"]
    assert "迟交扣 10 分" in moodle["ada"][f"{ASSIGNMENT} feedback"]
    assert moodle["zhou"]["Email address"] == "zhou@example.edu" and "no submission" in moodle["zhou"][f"{ASSIGNMENT} feedback"]
