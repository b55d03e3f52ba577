"""What grading found, as data / 评分结果的数据结构: messages, case, problem and notebook results.

The one owner of the status vocabulary and of the report files under ``reports/``: the
judge, the grading loop, the nbgrader glue and the instructor's pipeline all build and read
results through this module, so there is one shape on disk and one spelling of each status.
Imports nothing from the grader, so every other module may import it.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

# One status per problem. ok: every case passed; wrong: some case failed; forbidden: a
# forbidden torch function was reached; missing: the function is not defined; unanswered:
# it still raises NotImplementedError; timeout / crashed / out_of_memory: the sandboxed run
# overran, died, or could not allocate; unreadable: the sandbox's results could not be read.
STATUSES = ("ok", "wrong", "forbidden", "missing", "unanswered", "timeout", "crashed", "out_of_memory",
            "unreadable")


@dataclass(frozen=True)
class Msg:
    """A bilingual message: every text a student or instructor reads has both."""
    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass
class CaseResult:
    name: str
    device: str
    passed: bool
    message: Msg | None = None


@dataclass
class ProblemResult:
    function: str
    points: float
    score: float
    status: str
    cases: list[CaseResult] = field(default_factory=list)
    note: Msg | None = None
    grade_id: str = ""   # the nbgrader test cell it scores
    title_zh: str = ""
    title_en: str = ""
    kind: str = "spec"   # "spec": judged outside the student's process; "classic": an nbgrader test cell run in it
    outputs: list[dict] = field(default_factory=list)  # classic: the cell's outputs, in nbformat's shape

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")


def failed_problem(problem, status: str, note: Msg) -> ProblemResult:
    """A problem (a spec) that earned nothing because its run failed as a whole (no case results)."""
    return ProblemResult(problem.function, problem.points, 0.0, status, [], note, problem.grade_id,
                         problem.title_zh, problem.title_en)


JUDGED_OUTSIDE = Msg("由评分程序在你的代码所在进程之外判定", "judged by the grader outside your code's process")
RAN_INSIDE = Msg("经典测试：与你的代码在同一进程中运行（在沙箱里）",
                 "classic test: ran in the same process as your code (inside the sandbox)")


def format_result(result: ProblemResult) -> str:
    """What a student reads about one problem: each case, what was wrong, the score."""
    lines = [f"{result.function} — {result.title_zh} / {result.title_en}"]
    for c in result.cases:
        mark = "✔" if c.passed else "✘"
        where = f" [{c.device}]" if c.device != "cpu" else ""
        lines.append(f"  {mark} {c.name}{where}" + ("" if c.passed else f"\n      {c.message.zh}\n      {c.message.en}"))
    if result.note:
        lines.append(f"  ✘ {result.note.zh}\n    {result.note.en}")
    lines.append(f"  得分 / score: {result.score:g} / {result.points:g}")
    lines.append(f"  （{JUDGED_OUTSIDE.zh} / {JUDGED_OUTSIDE.en}）")
    return "\n".join(lines)


@dataclass
class NotebookReport:
    """Everything about one graded notebook; written to ``reports/<a>/<student>/<nb>.json``.

    ``sandbox`` is the isolation the student's code ran under (strongest first) and
    ``sandbox_path`` how it was started ("fork": from a warm process; "bwrap": a fresh
    bubblewrap per run; "none": the submission could not be run at all). ``devices`` are the
    devices the cases ran on, a grading parameter: the same submission on the same devices
    gets the same score on any machine. ``unreadable`` is set when the file itself could not
    be graded (then ``problems`` is empty and the score is zero).
    """
    assignment: str
    problems: list[ProblemResult] = field(default_factory=list)
    sandbox: list[str] = field(default_factory=list)
    sandbox_path: str = "none"
    devices: list[str] = field(default_factory=lambda: ["cpu"])
    notes: list[Msg] = field(default_factory=list)
    cell_errors: list[dict] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # e.g. "output truncated", "cells repaired"
    unreadable: Msg | None = None
    cells_digest: str = ""  # which code was graded (see grade.cells_digest)
    seconds: float = 0.0
    phases: dict = field(default_factory=dict)  # seconds spent writing the job, in the sandbox, judging
    review: list[dict] = field(default_factory=list)  # review.Finding dicts: flagged for the instructor

    @property
    def score(self) -> float:
        return round(sum(p.score for p in self.problems), 4)

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.problems)

    def to_dict(self) -> dict:
        data = {f: getattr(self, f) for f in self.__dataclass_fields__}  # shallow: asdict is slow here
        data["problems"] = [_problem_dict(p) for p in self.problems]
        data["notes"] = [asdict(n) for n in self.notes]
        data["unreadable"] = asdict(self.unreadable) if self.unreadable else None
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> "NotebookReport":
        msg = _msg
        problems = [ProblemResult(p["function"], p["points"], p["score"], p["status"],
                                  [CaseResult(c["name"], c["device"], c["passed"], msg(c.get("message")))
                                   for c in p.get("cases", [])], msg(p.get("note")), p.get("grade_id", ""),
                                  p.get("title_zh", ""), p.get("title_en", ""), p.get("kind", "spec"),
                                  list(p.get("outputs", [])))
                    for p in data.get("problems", [])]
        fields = {k: data[k] for k in ("sandbox", "sandbox_path", "devices", "cell_errors", "flags",
                                       "cells_digest", "seconds", "phases", "review") if k in data}
        return cls(data["assignment"], problems, notes=[msg(n) for n in data.get("notes", [])],
                   unreadable=msg(data.get("unreadable")), **fields)

    def status_line(self) -> str:
        """"ok", what went wrong per problem ("all unanswered" when every problem shares one
        status), then flags such as "output truncated"."""
        if self.unreadable is not None:
            return "unreadable: " + self.unreadable.en
        return status_line([(p.function, p.status) for p in self.problems], self.flags + self.review_flag())

    def review_flag(self) -> list[str]:
        return [f"needs review ({len(self.review)} finding{'s' if len(self.review) > 1 else ''})"] if self.review else []


def status_line(problems: list[tuple[str, str]], flags: list[str]) -> str:
    bad = [(f, s) for f, s in problems if s != "ok"]
    if len(bad) > 1 and len(bad) == len(problems) and len({s for _, s in bad}) == 1:
        parts = [f"all {bad[0][1]}"]
    else:
        parts = [f"{f}={s}" for f, s in bad] or ["ok"]
    return "; ".join(parts + flags)


def _problem_dict(p: ProblemResult) -> dict:
    msg = (lambda m: None if m is None else {"zh": m.zh, "en": m.en})
    return {"function": p.function, "points": p.points, "score": p.score, "status": p.status,
            "cases": [{"name": c.name, "device": c.device, "passed": c.passed, "message": msg(c.message)}
                      for c in p.cases], "note": msg(p.note), "grade_id": p.grade_id,
            "title_zh": p.title_zh, "title_en": p.title_en, "kind": p.kind, "outputs": p.outputs}


def _msg(data) -> Msg | None:
    return Msg(data["zh"], data["en"]) if isinstance(data, dict) else None


OPEN_STUDENT_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # no link followed, no FIFO waited on


def read_bounded(path, limit: int, dir_fd: int | None = None) -> bytes:
    """The bytes of a file a student controls: only a regular file (never through a link, never
    a pipe that would block), of at most ``limit`` bytes; else OSError or ValueError."""
    fd = os.open(path, OPEN_STUDENT_FILE, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            raise ValueError(f"{Path(path).name} is not a regular file of at most {limit} bytes")
        return f.read(limit)


def copy_regular_file(source, target) -> None:
    """Copy a file a student controls, opened the same safe way as :func:`read_bounded`
    (the caller has checked it is a regular file of acceptable size)."""
    with os.fdopen(os.open(source, OPEN_STUDENT_FILE), "rb") as f, open(target, "wb") as out:
        shutil.copyfileobj(f, out)


class ReportStore:
    """The report files of one course: ``<root>/<assignment>/<student>/<notebook>.json``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, assignment: str, student: str, notebook: str) -> Path:
        return self.root / assignment / student / f"{notebook}.json"

    def write(self, student: str, notebook: str, report: NotebookReport) -> Path:
        path = self.path(report.assignment, student, notebook)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(report.to_json(), encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a report
        return path

    def read(self, assignment: str, student: str) -> list[NotebookReport]:
        reports = []
        for path in sorted((self.root / assignment / student).glob("*.json")):
            reports.append(NotebookReport.from_dict(json.loads(path.read_text(encoding="utf-8"))))
        return reports

    def status(self, assignment: str, student: str) -> str:
        """One line for a student's submission, across its notebooks."""
        reports = self.read(assignment, student)
        for r in reports:
            if r.unreadable is not None:
                return r.status_line()
        return status_line([(p.function, p.status) for r in reports for p in r.problems],
                           [f for r in reports for f in r.flags + r.review_flag()])
