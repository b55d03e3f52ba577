"""Class analytics / 全班成绩分析: what a class got wrong, as figures and one self-contained HTML report.

``make export`` writes, next to the grades CSV, ``class_<assignment>.html`` (figures embedded, no
external file or script, opens offline) and its figures as PNG:

- the score distribution: a histogram with the mean and the median, readable from 10 to 2,000 students
  (bins of 5% of the maximum, 10% below 40 students); a missing submission counts as 0;
- per problem: the mean score (as a share of its points) and the share of students with full marks;
- per case, visible and hidden: how many of the students who answered the problem failed it, and the most
  common failure message ("62% failed ``cross_entropy`` with ``ignore_index`` on K-dimensional input");
- status counts: per problem (ok, wrong, forbidden, unanswered, timeout, crashed, ...) and per submission
  (unreadable, needs review, late, no submission);
- across assignments: each student's share of the maximum, the median and quartiles of those who submitted,
  who did not submit the latest one, and the students whose share fell the most since the previous
  assignment (among those who submitted both).

Every number comes from the gradebook (scores, penalties, who submitted) and the grader's reports
(``reports/<assignment>/<student>/<notebook>.json``: statuses, case results); ``class_<assignment>.json``
holds the same numbers for other tools. The report is for the instructor, yet it is built as if a student
could read it: a case is named only by its label, and a failure message that quotes a student's exception
is stripped of its numbers (an answer can put a hidden input into its error), so no hidden input or
expected value reaches the page.
"""
from __future__ import annotations

import base64
import html
import json
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.results import STATUSES, Msg

# CJK fallback, best first: Debian's fonts-wqy-microhei, then Noto / Source Han and the usual desktop fonts
CJK_FONTS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "SimHei",
             "Microsoft YaHei", "PingFang SC")
NO_SUBMISSION = "no submission"
NOT_ON_ROSTER = "not on roster"
SUBMISSION_STATUSES = ("unreadable", "needs review", "late", NO_SUBMISSION, NOT_ON_ROSTER)
STATUS_ZH = {"ok": "全对", "wrong": "有错", "forbidden": "调用了禁止的函数", "missing": "函数缺失", "unanswered": "未作答",
             "timeout": "超时", "crashed": "进程崩溃", "out_of_memory": "内存不足", "unreadable": "无法读取",
             "manual": "待手动批改", "graded by hand": "已手动批改", "needs review": "需要复查", "late": "迟交",
             NO_SUBMISSION: "未提交", NOT_ON_ROSTER: "不在名单中"}
STATUS_COLORS = {"ok": "#2e7d32", "wrong": "#ef6c00", "forbidden": "#6a1b9a", "missing": "#8d6e63",
                 "unanswered": "#9e9e9e", "timeout": "#c62828", "crashed": "#ad1457", "out_of_memory": "#4e342e",
                 "unreadable": "#263238", "manual": "#1565c0", "graded by hand": "#42a5f5"}
PASS_THRESHOLD = 0.6  # a line on the histogram: 60% of the maximum


# ------------------------------------------------------------------ the numbers


@dataclass
class StudentRow:
    student: str
    name: str
    on_roster: bool
    submitted: bool
    score: float           # after the late penalty
    raw_score: float
    late_penalty: float
    max_score: float
    status: str
    needs_review: bool = False
    unreadable: bool = False


@dataclass
class ProblemStats:
    grade_id: str
    title: str             # "zh / en" where the spec has titles, else the grade id
    kind: str              # spec, classic, manual
    points: float
    n: int                 # submissions counted
    mean: float            # mean score, in points
    mean_share: float      # mean / points
    full_share: float      # share of the n with full marks
    statuses: dict = field(default_factory=dict)


@dataclass
class CaseStats:
    function: str
    case: str
    device: str
    visible: bool
    answered: int          # students whose function ran this case (unanswered and missing not counted)
    failed: int
    rate: float
    message: Msg | None    # the most common failure message (scrubbed), None when nobody failed
    message_count: int = 0


@dataclass
class ClassReport:
    assignment: str
    max_score: float
    students: list[StudentRow]
    problems: list[ProblemStats]
    cases: list[CaseStats]
    problem_statuses: dict          # status -> count over (submission, problem)
    submission_statuses: dict       # unreadable / needs review / late / no submission / not on roster -> students
    histogram: dict                 # edges, counts, mean, median, n
    trend: dict                     # assignments, per student shares, quartiles
    roster: bool = False

    def to_dict(self) -> dict:
        data = asdict(self)
        for c in data["cases"]:
            c["message"] = None if c["message"] is None else {"zh": c["message"]["zh"], "en": c["message"]["en"]}
        return data


def histogram_edges(max_score: float, n: int) -> list[float]:
    """Bins of 5% of the maximum (10% for fewer than 40 students); the last bin includes full marks."""
    bins = 20 if n >= 40 else 10
    top = max_score if max_score > 0 else 1.0
    return [round(top * i / bins, 10) for i in range(bins + 1)]


def histogram_counts(scores: list[float], edges: list[float]) -> list[int]:
    counts = [0] * (len(edges) - 1)
    for s in scores:
        i = 0
        while i < len(counts) - 1 and s >= edges[i + 1] - 1e-9:
            i += 1
        counts[i] += 1
    return counts


_DIGITS = re.compile(r"\d")
_LONG_DECIMAL = re.compile(r"\d*\.\d{3,}")
STUDENT_TEXT = ("函数抛出了", "反向传播失败", "the function raised", "backward failed")


def scrub(msg: Msg | None) -> Msg | None:
    """A failure message as the report may show it. A message that quotes the student's own exception
    (its text is the student's, and an answer can print its hidden inputs there) keeps its words but not
    its numbers; any long decimal left anywhere is masked too. Messages the judge writes itself name
    dtypes, shapes and counts only, never the expected values."""
    if msg is None:
        return None

    def clean(text: str) -> str:
        text = _LONG_DECIMAL.sub("…", text)
        if any(marker in text for marker in STUDENT_TEXT):
            cut = min((i for i in (text.find(":"), text.find("：")) if i >= 0), default=-1)  # after "raised X:"
            text = text[:cut + 1] + _DIGITS.sub("#", text[cut + 1:])
        return text[:240] + ("…" if len(text) > 240 else "")
    return Msg(clean(msg.zh), clean(msg.en))


def collect(course, assignment: str, rows: list[dict] | None = None, book: dict | None = None) -> ClassReport:
    """Every number of the report, from the gradebook (``Course.scores``, ``Course.gradebook_table``) and
    the grader's reports."""
    from autograder import roster, specs

    spec = specs.load(assignment, missing_ok=True)
    visible = {(p.function, c.name): c.visible for p in spec.problems for c in p.cases}
    titles = {p.grade_id: f"{p.title_zh} / {p.title_en}" for p in spec.problems}
    store = course.reports()
    rows = course.scores(assignment) if rows is None else rows
    book = course.gradebook_table(assignment) if book is None else book
    if not book["cells"]:
        raise ValueError(f"{assignment} 不在成绩册里（先 make release） / {assignment} is not in the gradebook "
                         "(make release first)")
    people = {s.id: s for s in book["students"]}
    has_roster = any(roster.on_roster(s) for s in people.values())
    kinds: dict[str, str] = {}
    per_problem: dict[str, list[tuple[float, str]]] = defaultdict(list)
    case_runs: dict[tuple[str, str, str], list] = defaultdict(list)
    problem_statuses: Counter = Counter()
    submission_statuses: Counter = Counter({k: 0 for k in SUBMISSION_STATUSES})
    students: list[StudentRow] = []
    for row in rows:
        sid = row["student"]
        s = people.get(sid)
        submitted = row["status"] != NO_SUBMISSION
        reports = store.read(assignment, sid) if submitted else []
        unreadable = any(r.unreadable is not None for r in reports)
        review = any(r.review for r in reports)
        late = submitted and book["submissions"].get(sid, {}).get("late", False)
        student = StudentRow(sid, row.get("name", ""), bool(s and roster.on_roster(s)), submitted, row["score"],
                             row.get("raw_score", row["score"]), row.get("late_penalty", 0.0), row["max_score"],
                             row["status"], review, unreadable)
        students.append(student)
        submission_statuses["unreadable"] += unreadable
        submission_statuses["needs review"] += review
        submission_statuses["late"] += bool(late)
        submission_statuses[NO_SUBMISSION] += not submitted
        submission_statuses[NOT_ON_ROSTER] += has_roster and not student.on_roster
        if not submitted:
            continue
        status_of = {p.grade_id: (p.status, p.kind) for r in reports for p in r.problems if p.grade_id}
        grades = book["grades"].get(sid, {})
        for gid in book["cells"]:
            score = float(row.get(gid) or 0.0)
            if gid in status_of:
                status, kinds[gid] = status_of[gid]
            elif unreadable:
                status = "unreadable"
            else:  # not scored by the grader: a written answer or a task, for the formgrader
                status, kinds[gid] = ("graded by hand" if grades.get(gid, {}).get("by_hand") else "manual"), "manual"
            per_problem[gid].append((score, status))
            problem_statuses[status] += 1
        for r in reports:
            for p in r.problems:
                if p.status in ("unanswered", "missing"):
                    continue
                for c in p.cases:
                    case_runs[(p.function, c.name, c.device)].append(c)
    points = {}
    for grades in book["grades"].values():
        for gid, g in grades.items():
            points.setdefault(gid, g["max_score"])
    problems = []
    for gid in book["cells"]:
        got, top = per_problem.get(gid, []), points.get(gid, 0.0)
        n = len(got)
        mean = sum(s for s, _ in got) / n if n else 0.0
        full = sum(1 for s, _ in got if top and s >= top - 1e-9) / n if n else 0.0
        problems.append(ProblemStats(gid, titles.get(gid, gid), kinds.get(gid, "spec" if gid in titles else "classic"),
                                     top, n, round(mean, 6), round(mean / top, 6) if top else 0.0, round(full, 6),
                                     dict(Counter(st for _, st in got))))
    order = {(p.function, c.name): (i, j) for i, p in enumerate(spec.problems) for j, c in enumerate(p.cases)}
    cases = []
    for (function, name, device), results in sorted(case_runs.items(),
                                                    key=lambda kv: (order.get(kv[0][:2], (999, 999)), kv[0])):
        failed = [c for c in results if not c.passed]
        messages = Counter(scrub(c.message) for c in failed if c.message is not None)
        top_message, count = messages.most_common(1)[0] if messages else (None, 0)
        cases.append(CaseStats(function, name, device, visible.get((function, name), False), len(results),
                               len(failed), round(len(failed) / len(results), 6) if results else 0.0, top_message, count))
    scores = [s.score for s in students]
    max_score = book["max_score"]
    edges = histogram_edges(max_score, len(scores))
    histogram = {"edges": edges, "counts": histogram_counts(scores, edges), "n": len(scores),
                 "mean": round(statistics.fmean(scores), 6) if scores else 0.0,
                 "median": round(statistics.median(scores), 6) if scores else 0.0}
    return ClassReport(assignment, max_score, students, problems, cases, dict(problem_statuses),
                       dict(submission_statuses), histogram, trend(course), has_roster)


def trend(course) -> dict:
    """Each student's share of the maximum (after late penalties), per assignment with submissions, in
    due-date order, then by name; a student who did not submit counts 0 there (``shares``), and is listed
    in ``missing``. The quartiles and the change between the last two assignments are over the students who
    submitted (both), so that a missing submission shows as missing, not as a student who got worse.
    Students: the roster, plus everyone who submitted any of the assignments."""
    from autograder import roster
    with course.here(), course.gradebook() as gb:
        graded = [(a.duedate, a.name) for a in gb.assignments if a.num_submissions > 0]
    names = [name for _, name in sorted(graded, key=lambda a: (a[0] is None, a[0] or 0, a[1]))]
    tables = {a: course.gradebook_table(a) for a in names}
    people = {s.id: s for t in tables.values() for s in t["students"]}
    shares: dict[str, dict[str, float]] = {}
    missing: dict[str, list[str]] = {a: [] for a in names}
    for sid, s in sorted(people.items()):
        if not (roster.on_roster(s) or any(sid in t["submissions"] for t in tables.values())):
            continue
        row = {}
        for a, t in tables.items():
            sub = t["submissions"].get(sid)
            if sub is None:
                missing[a].append(sid)
            score = sub["score"] - sub["late_penalty"] if sub else 0.0
            row[a] = round(score / t["max_score"], 6) if t["max_score"] else 0.0
        shares[sid] = row
    quartiles = {}
    for a in names:
        absent = set(missing[a])
        values = sorted(v[a] for sid, v in shares.items() if sid not in absent)
        if values:
            q = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
            quartiles[a] = {"q1": round(q[0], 6), "median": round(q[1], 6), "q3": round(q[2], 6),
                            "mean": round(statistics.fmean(values), 6), "n": len(values)}
    change = {}
    if len(names) >= 2:
        absent = set(missing[names[-1]]) | set(missing[names[-2]])
        change = {s: round(v[names[-1]] - v[names[-2]], 6) for s, v in shares.items() if s not in absent}
    return {"assignments": names, "shares": shares, "missing": missing, "quartiles": quartiles, "change": change}


# ------------------------------------------------------------------ figures


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


CJK_FILES = ("wqy-microhei.ttc", "wqy-zenhei.ttc", "NotoSansCJK*.tt[cf]", "NotoSansSC*.[ot]tf", "SourceHanSans*.tt[cf]")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
_warned = []


def cjk_font() -> str | None:
    """The family of the first CJK font matplotlib can use, or None (Chinese labels would show as boxes).
    A font installed after matplotlib built its font cache (``apt-get install fonts-wqy-microhei`` on a
    machine that already had the cache) is not in it: such files are added from the system font folders."""
    from matplotlib import font_manager
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FONTS:
        if family in known:
            return family
    for folder in FONT_DIRS:
        base = Path(folder).expanduser()
        for pattern in CJK_FILES:
            for path in sorted(base.rglob(pattern)) if base.is_dir() else []:
                try:
                    font_manager.fontManager.addfont(str(path))
                except (OSError, RuntimeError, ValueError):
                    continue
    known = {f.name for f in font_manager.fontManager.ttflist}
    found = next((family for family in CJK_FONTS if family in known), None)
    if found is None and not _warned:
        _warned.append(True)
        import warnings
        warnings.warn("没有找到中文字体，图中的中文会显示为方框；请安装 fonts-wqy-microhei 或 fonts-noto-cjk / no CJK font "
                      "found: Chinese labels in the figures will show as boxes; install fonts-wqy-microhei or "
                      "fonts-noto-cjk", stacklevel=2)
    return found


def style():
    """Matplotlib settings for bilingual labels: Latin from DejaVu Sans, every Chinese glyph from the CJK
    font (matplotlib falls back glyph by glyph along ``font.family``)."""
    cjk = cjk_font()
    return {"font.family": ["DejaVu Sans"] + ([cjk] if cjk else []), "axes.unicode_minus": False,
            "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 110}


def plot_distribution(report: ClassReport, path: Path) -> dict:
    """The histogram, mean and median; returns what was drawn (bar heights, line positions), read back
    from the figure."""
    plt = _pyplot()
    from matplotlib import ticker
    h = report.histogram
    with plt.rc_context(style()):
        fig, ax = plt.subplots(figsize=(8, 4.2))
        edges, counts = h["edges"], h["counts"]
        widths = [b - a for a, b in zip(edges, edges[1:])]
        bars = ax.bar(edges[:-1], counts, width=widths, align="edge", color="#90caf9", edgecolor="#1565c0",
                      linewidth=0.8)
        if len(counts) <= 20 and h["n"] <= 2000:
            ax.bar_label(bars, labels=[str(c) if c else "" for c in counts], padding=2, fontsize=8)
        mean_line = ax.axvline(h["mean"], color="#c62828", linewidth=2, label=f"平均 mean = {h['mean']:.2f}")
        median_line = ax.axvline(h["median"], color="#2e7d32", linewidth=2, linestyle="--",
                                 label=f"中位数 median = {h['median']:.2f}")
        ax.axvspan(0, report.max_score * PASS_THRESHOLD, color="#ffebee", zorder=-1,
                   label=f"低于 below {PASS_THRESHOLD:.0%}")
        ax.set_xlim(0, report.max_score or 1)
        ax.set_ylim(0, max(counts + [1]) * 1.15)
        ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.set_xlabel(f"得分 / score (满分 max {report.max_score:g})")
        ax.set_ylabel("学生人数 / students")
        ax.set_title(f"{report.assignment}：成绩分布 / score distribution (n = {h['n']})")
        ax.legend(loc="upper left", fontsize=9, frameon=False)
        fig.tight_layout()
        fig.savefig(path)
        drawn = {"counts": [int(round(b.get_height())) for b in bars],
                 "left_edges": [round(b.get_x(), 10) for b in bars],
                 "mean": float(mean_line.get_xdata()[0]), "median": float(median_line.get_xdata()[0])}
        plt.close(fig)
    return drawn


def plot_problems(report: ClassReport, path: Path) -> dict:
    """Per problem: the mean score as a share of its points, and the share with full marks."""
    plt = _pyplot()
    problems = report.problems
    with plt.rc_context(style()):
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(problems) + 1.6))
        ys = list(range(len(problems)))[::-1]
        mean_bars = ax.barh([y + 0.2 for y in ys], [100 * p.mean_share for p in problems], height=0.38,
                            color="#1565c0", label="平均得分率 / mean score")
        full_bars = ax.barh([y - 0.2 for y in ys], [100 * p.full_share for p in problems], height=0.38,
                            color="#66bb6a", label="满分比例 / full marks")
        for bars in (mean_bars, full_bars):
            ax.bar_label(bars, labels=[f"{b.get_width():.0f}%" for b in bars], padding=2, fontsize=8)
        ax.set_yticks(ys, [f"{p.grade_id} ({p.points:g})" for p in problems], fontsize=8)
        ax.set_xlim(0, 112)
        ax.set_xlabel("占比 / share (%)")
        ax.set_title(f"{report.assignment}：各题得分 / per problem")
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        fig.tight_layout()
        fig.savefig(path)
        drawn = {"mean_share": [round(b.get_width(), 6) for b in mean_bars],
                 "full_share": [round(b.get_width(), 6) for b in full_bars]}
        plt.close(fig)
    return drawn


def hardest_cases(report: ClassReport, limit: int = 15) -> list[CaseStats]:
    """The cases most students failed (ties: more students, then spec order)."""
    failing = [c for c in report.cases if c.failed]
    return sorted(failing, key=lambda c: (-c.rate, -c.failed))[:limit]


def case_label(c: CaseStats) -> str:
    where = f" [{c.device}]" if c.device != "cpu" else ""
    return f"{c.function} · {c.case}{where}" + ("" if c.visible else " (隐藏 hidden)")


def plot_cases(report: ClassReport, path: Path, limit: int = 15) -> dict:
    """The cases most students failed, visible and hidden, as a share of those who answered."""
    plt = _pyplot()
    top = hardest_cases(report, limit)
    with plt.rc_context(style()):
        fig, ax = plt.subplots(figsize=(10, 0.36 * max(len(top), 1) + 1.6))
        ys = list(range(len(top)))[::-1]
        bars = ax.barh(ys, [100 * c.rate for c in top], color=["#ef6c00" if c.visible else "#6a1b9a" for c in top])
        ax.bar_label(bars, labels=[f"{100 * c.rate:.0f}% ({c.failed}/{c.answered})" for c in top], padding=2,
                     fontsize=8)
        ax.set_yticks(ys, [_short(case_label(c), 60) for c in top], fontsize=8)
        ax.set_xlim(0, 118)
        ax.set_xlabel("答了该题的学生中未通过的比例 / failed, among students who answered (%)")
        ax.set_title(f"{report.assignment}：最难的用例 / hardest cases")
        from matplotlib.patches import Patch
        ax.legend(handles=[Patch(color="#ef6c00", label="公开用例 / visible"), Patch(color="#6a1b9a", label="隐藏用例 / hidden")],
                  loc="lower right", fontsize=8, frameon=False)
        if not top:
            ax.text(50, 0, "没有未通过的用例 / no case failed", ha="center")
        fig.tight_layout()
        fig.savefig(path)
        drawn = {"labels": [case_label(c) for c in top], "rates": [round(b.get_width(), 6) for b in bars]}
        plt.close(fig)
    return drawn


def plot_statuses(report: ClassReport, path: Path) -> dict:
    """Per problem, how many submissions got each status (stacked)."""
    plt = _pyplot()
    from matplotlib import ticker
    problems = report.problems
    order = [s for s in STATUSES + ("manual", "graded by hand") if any(p.statuses.get(s) for p in problems)]
    with plt.rc_context(style()):
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(problems) + 1.8))
        ys = list(range(len(problems)))[::-1]
        left = [0] * len(problems)
        drawn = {}
        for status in order:
            widths = [p.statuses.get(status, 0) for p in problems]
            bars = ax.barh(ys, widths, left=left, color=STATUS_COLORS.get(status, "#bdbdbd"),
                           label=f"{STATUS_ZH.get(status, status)} {status}")
            drawn[status] = [int(round(b.get_width())) for b in bars]
            left = [a + b for a, b in zip(left, widths)]
        ax.set_yticks(ys, [p.grade_id for p in problems], fontsize=8)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.set_xlabel("提交数 / submissions")
        ax.set_title(f"{report.assignment}：各题状态 / status per problem")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=4, fontsize=8, frameon=False)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
    return drawn


def plot_trend(report: ClassReport, path: Path) -> dict:
    """Each student's share of the maximum across assignments: one thin line each (up to 2,000; a missing
    submission is a gap, not a fall to 0), the median and the quartile band of those who submitted on top."""
    plt = _pyplot()
    t = report.trend
    names = t["assignments"]
    xs = list(range(len(names)))
    missing = {a: set(t.get("missing", {}).get(a, ())) for a in names}
    q = {a: t["quartiles"].get(a, {"q1": 0.0, "median": 0.0, "q3": 0.0}) for a in names}
    with plt.rc_context(style()):
        fig, ax = plt.subplots(figsize=(8, 4))
        alpha = max(0.08, min(0.6, 15 / max(len(t["shares"]), 1)))
        for sid, shares in t["shares"].items():
            ax.plot(xs, [float("nan") if sid in missing[a] else 100 * shares[a] for a in names], color="#607d8b",
                    alpha=alpha, linewidth=0.8, marker="." if len(names) == 1 else None)
        if names:
            ax.fill_between(xs, [100 * q[a]["q1"] for a in names], [100 * q[a]["q3"] for a in names],
                            color="#90caf9", alpha=0.5, label="四分位区间 / quartiles (25–75%)")
        (median,) = ax.plot(xs, [100 * q[a]["median"] for a in names], color="#1565c0", linewidth=2.5, marker="o",
                            label="中位数 / median")
        ax.set_xticks(xs, [f"{a}\n({len(t['shares']) - len(missing[a])} 份提交 submitted)" for a in names], fontsize=8)
        ax.set_ylim(-3, 103)
        ax.set_xlim(-0.3, max(len(names) - 0.7, 0.3))
        ax.set_ylabel("得分率 / share of the maximum (%)")
        ax.set_title(f"各次作业的变化 / across assignments ({len(t['shares'])} 名学生 students)")
        ax.legend(loc="lower left", fontsize=8, frameon=False)
        fig.tight_layout()
        fig.savefig(path)
        drawn = {"median": [round(float(y), 6) for y in median.get_ydata()]}
        plt.close(fig)
    return drawn


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------ the HTML report


def write(course, assignment: str, out_dir: Path, rows: list[dict] | None = None,
          book: dict | None = None) -> dict[str, Path]:
    """Collect, draw and write the report; returns name -> path (``html``, ``json`` and each figure)."""
    report = collect(course, assignment, rows, book)
    return write_report(report, out_dir)


def write_report(report: ClassReport, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"class_{report.assignment}"
    figures = {"distribution": plot_distribution, "problems": plot_problems, "cases": plot_cases,
               "statuses": plot_statuses, "trend": plot_trend}
    paths: dict[str, Path] = {}
    drawn: dict[str, dict] = {}
    for name, draw in figures.items():
        paths[name] = out_dir / f"{stem}_{name}.png"
        drawn[name] = draw(report, paths[name])
    paths["json"] = out_dir / f"{stem}.json"
    paths["json"].write_text(json.dumps({**report.to_dict(), "drawn": drawn}, ensure_ascii=False, indent=1),
                             encoding="utf-8")
    paths["html"] = out_dir / f"{stem}.html"
    paths["html"].write_text(render_html(report, {k: paths[k] for k in figures}), encoding="utf-8")
    return paths


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _num(x: float) -> str:
    return f"{x:.2f}"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _status(s: str) -> str:
    return f'{_e(STATUS_ZH.get(s, s))} <span class="en">{_e(s)}</span>'


def render_html(report: ClassReport, figures: dict[str, Path]) -> str:
    h = report.histogram
    submitted = [s for s in report.students if s.submitted]
    parts = [f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(report.assignment)}：全班成绩分析 / class report</title>
<style>{CSS}</style></head><body>
<header><h1>{_e(report.assignment)}：全班成绩分析 <span class="en">class report</span></h1>
<p class="meta">学生 students: <b id="n-students">{h["n"]}</b> · 已提交 submitted: <b id="n-submitted">{len(submitted)}</b>
 · 满分 max: <b>{report.max_score:g}</b> · 平均 mean: <b id="mean">{_num(h["mean"])}</b>
 · 中位数 median: <b id="median">{_num(h["median"])}</b></p>
<p class="note">本报告只给老师看，但按学生也可能看到的标准生成：用例只显示名称，学生异常信息里的数字被隐去，不含任何隐藏输入或期望值。
<span class="en">For the instructor, yet built as if a student could read it: cases appear by name only, numbers in a
student's exception text are masked, and no hidden input or expected value is included.</span></p></header>
<nav>{"".join(f'<a href="#{i}">{_e(t)}</a>' for i, t in NAV)}</nav>
<section id="distribution"><h2>成绩分布 <span class="en">Score distribution</span></h2>
<p>每个柱宽为满分的 {100 / (len(h["edges"]) - 1):g}%，未提交记 0 分；红线为平均分，绿色虚线为中位数。
<span class="en">Each bar is {100 / (len(h["edges"]) - 1):g}% of the maximum wide; a missing submission counts 0; red: mean,
green dashed: median.</span></p>
{_img(figures["distribution"], "score distribution histogram")}
{_histogram_table(report)}</section>
<section id="problems"><h2>各题得分 <span class="en">Per problem</span></h2>
<p>按已提交的 {len(submitted)} 份计算。<span class="en">Over the {len(submitted)} submissions.</span></p>
{_img(figures["problems"], "per problem mean and full marks")}
{_problem_table(report)}</section>
<section id="cases"><h2>各用例通过情况 <span class="en">Per case</span></h2>
<p>失败率 = 未通过的人数 / 答了这道题的人数（未作答、函数缺失的不计入，它们见状态统计）。
<span class="en">Failure rate = students who failed the case / students who answered the problem (unanswered and
missing functions are not counted here; see the status counts).</span></p>
{_img(figures["cases"], "hardest cases")}
{_case_table(report)}</section>
<section id="statuses"><h2>状态统计 <span class="en">Status counts</span></h2>
{_img(figures["statuses"], "status per problem")}
{_status_tables(report)}</section>
<section id="trend"><h2>各次作业的变化 <span class="en">Across assignments</span></h2>
{_img(figures["trend"], "trend across assignments")}
{_trend_table(report)}</section>
<section id="students"><h2>学生名单与成绩 <span class="en">Students</span></h2>
{_student_table(report)}</section>
<footer>由 <code>make export</code> 生成 <span class="en">written by <code>make export</code></span> ·
数据：nbgrader 成绩册与评分报告 <span class="en">data: the nbgrader gradebook and the grader's reports</span></footer>
</body></html>
"""]
    return "".join(parts)


NAV = (("distribution", "成绩分布 distribution"), ("problems", "各题 problems"), ("cases", "用例 cases"),
       ("statuses", "状态 statuses"), ("trend", "变化 trend"), ("students", "学生 students"))


def _bi(zh: str, en: str) -> str:
    """A label in both languages (HTML: the caller escapes what is not literal)."""
    return f'{zh} <span class="en">{en}</span>'


def _table(table_id: str, heads: list[str], body: str) -> str:
    return f'<table id="{table_id}"><tr>{"".join(f"<th>{h}</th>" for h in heads)}</tr>{body}</table>'


def _details(summary: str, content: str) -> str:
    return f"<details><summary>{summary}</summary>{content}</details>"


def _histogram_table(report: ClassReport) -> str:
    h = report.histogram
    cells = "".join(f"<tr><td>{a:g} – {b:g}</td><td class=num>{c}</td></tr>"
                    for a, b, c in zip(h["edges"], h["edges"][1:], h["counts"]))
    return _details(_bi("各分数段人数", "students per bin"),
                    _table("histogram", [_bi("分数段", "score"), _bi("人数", "students")], cells))


KIND = {"spec": "评分程序（规格） judge (spec)", "classic": "经典测试 classic test", "manual": "手动批改 by hand"}


def _problem_table(report: ClassReport) -> str:
    rows = "".join(
        f'<tr data-problem="{_e(p.grade_id)}"><td><code>{_e(p.grade_id)}</code><br><small>{_e(p.title)}</small></td>'
        f"<td>{_e(KIND.get(p.kind, p.kind))}</td><td class=num>{p.points:g}</td><td class=num>{_num(p.mean)}</td>"
        f'<td class="num mean-share">{_pct(p.mean_share)}</td><td class="num full-share">{_pct(p.full_share)}</td>'
        f"<td>{_e(', '.join(f'{k} {v}' for k, v in sorted(p.statuses.items(), key=lambda kv: -kv[1])))}</td></tr>"
        for p in report.problems)
    heads = [_bi("题目", "problem"), _bi("评分方式", "graded by"), _bi("分值", "points"), _bi("平均", "mean"),
             _bi("得分率", "mean share"), _bi("满分比例", "full marks"), _bi("状态", "statuses")]
    return _table("problem-table", heads, rows)


def _message(m: Msg | None) -> str:
    if m is None:
        return ""
    return f'{_e(m.zh)}<br><span class="en">{_e(m.en)}</span>'


def _case_table(report: ClassReport) -> str:
    def row(c: CaseStats) -> str:
        kind = "公开 visible" if c.visible else "隐藏 hidden"
        return (f'<tr data-case="{_e(c.function)}|{_e(c.case)}|{_e(c.device)}"><td><code>{_e(c.function)}</code></td>'
                f"<td>{_e(c.case)}</td><td>{_e(c.device)}</td><td>{kind}</td><td class=num>{c.failed}/{c.answered}</td>"
                f'<td class="num rate">{_pct(c.rate)}</td><td>{_message(c.message)}'
                f"{f' <small>({c.message_count}×)</small>' if c.message else ''}</td></tr>")
    heads = [_bi("函数", "function"), _bi("用例", "case"), _bi("设备", "device"), _bi("类型", "kind"),
             _bi("未通过", "failed"), _bi("失败率", "rate"), _bi("最常见的失败信息", "most common failure")]
    n = len(report.cases)
    return (f'<h3>{_bi("最难的用例", "Hardest cases")}</h3>'
            + _table("hardest", heads, "".join(row(c) for c in hardest_cases(report, 15)))
            + _details(_bi(f"全部 {n} 个用例", f"all {n} cases"),
                       _table("case-table", heads, "".join(row(c) for c in report.cases))))


def _status_tables(report: ClassReport) -> str:
    statuses = [s for s in STATUSES + ("manual", "graded by hand") if report.problem_statuses.get(s)]
    per_problem = "".join(
        f"<tr><td><code>{_e(p.grade_id)}</code></td>" + "".join(f"<td class=num>{p.statuses.get(s, 0)}</td>" for s in statuses)
        + "</tr>" for p in report.problems)
    totals = "".join(f'<td class=num data-status="{_e(s)}">{report.problem_statuses.get(s, 0)}</td>' for s in statuses)
    subs = "".join(f'<tr><td>{_status(k)}</td><td class=num data-status="{_e(k)}">{v}</td></tr>'
                   for k, v in report.submission_statuses.items() if k != NOT_ON_ROSTER or report.roster)
    return (f'<h3>{_bi("每份提交", "Per submission")}</h3>'
            + _table("submission-statuses", [_bi("情况", "what"), _bi("学生数", "students")], subs)
            + f'<h3>{_bi("每道题", "Per problem")}</h3>'
            + _table("problem-statuses", [_bi("题目", "problem")] + [_status(s) for s in statuses],
                     per_problem + f'<tr class="total"><td>{_bi("合计", "total")}</td>{totals}</tr>'))


def _trend_table(report: ClassReport) -> str:
    t = report.trend
    names = t["assignments"]
    if len(names) < 2:
        return (f'<p>目前只有 {len(names)} 次作业有提交，评完下一次作业后这里会显示每个学生的变化。'
                f'<span class="en">Only {len(names)} assignment(s) have submissions so far; each student\'s trend shows '
                "here once the next one is graded.</span></p>")
    q, missing = t["quartiles"], t["missing"]
    summary = "".join(
        f"<tr><td>{_e(a)}</td><td class=num>{q[a]['n'] if a in q else 0}</td><td class=num>{len(missing[a])}</td>"
        + (f"<td class=num>{_pct(q[a]['mean'])}</td><td class=num>{_pct(q[a]['median'])}</td>"
           f"<td class=num>{_pct(q[a]['q1'])} – {_pct(q[a]['q3'])}</td>" if a in q else "<td></td>" * 3) + "</tr>"
        for a in names)
    falling = sorted(t["change"].items(), key=lambda kv: (kv[1], kv[0]))[:15]
    heads = [_bi("学生", "student")] + [_e(a) for a in names] + [_bi("变化", "change") + " (pp)"]

    def row(sid: str) -> str:
        shares = t["shares"][sid]
        change = t["change"].get(sid)
        return (f'<tr data-student="{_e(sid)}"><td>{_e(sid)}</td>'
                + "".join(f"<td class=num>{'—' if sid in missing[a] else _pct(shares[a])}</td>" for a in names)
                + f'<td class="num change">{"" if change is None else f"{100 * change:+.1f}"}</td></tr>')
    last = names[-1]
    absent = ", ".join(_e(s) for s in missing[last][:60]) + (" …" if len(missing[last]) > 60 else "")
    missing_label = _bi(f"{_e(last)} 未提交（{len(missing[last])} 人）：", f"no submission for {_e(last)} ({len(missing[last])}):")
    return (_table("trend-summary", [_bi("作业", "assignment"), _bi("已提交", "submitted"), _bi("未提交", "missing"),
                                     _bi("平均", "mean"), _bi("中位数", "median"), _bi("四分位", "quartiles")], summary)
            + '<p>平均、中位数、四分位和变化只统计提交了的学生；“—”表示未提交。<span class="en">Mean, median, quartiles and '
              'change count the students who submitted; "—" means no submission.</span></p>'
            + f'<h3>{_bi("下降最多的学生", "Largest drops since " + _e(names[-2]))}</h3>'
            + _table("trend-drops", heads, "".join(row(s) for s, _ in falling))
            + (f'<p id="trend-missing">{missing_label} {absent}</p>' if missing[last] else "")
            + _details(_bi("全部学生", "every student"), _table("trend-table", heads, "".join(row(s) for s in sorted(t["shares"])))))


def _student_table(report: ClassReport) -> str:
    rows = "".join(
        f'<tr data-student="{_e(s.student)}"><td>{_e(s.student)}</td><td>{_e(s.name)}</td>'
        f'<td class=num>{_num(s.score)}</td><td class=num>{_num(s.late_penalty) if s.late_penalty else ""}</td>'
        f"<td class=num>{s.max_score:g}</td><td>{_e(s.status)}</td></tr>" for s in report.students)
    n = len(report.students)
    heads = [_bi("学号", "id"), _bi("姓名", "name"), _bi("得分", "score"), _bi("迟交扣分", "late penalty"),
             _bi("满分", "max"), _bi("状态", "status")]
    return _details(_bi(f"全部 {n} 名学生", f"all {n} students"), _table("student-table", heads, rows))


CSS = """
body{font-family:"DejaVu Sans","Noto Sans","WenQuanYi Micro Hei","Noto Sans CJK SC","Source Han Sans SC","PingFang SC",
"Microsoft YaHei",sans-serif;max-width:72em;margin:1.5em auto;padding:0 1em;color:#212121;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #1565c0;padding-bottom:.15em;margin-top:1.6em}
.en{color:#546e7a}.meta b{color:#0d47a1}.note{background:#fff8e1;border-left:4px solid #ffb300;padding:.4em .8em;font-size:.9em}
nav{position:sticky;top:0;background:#fff;padding:.4em 0;border-bottom:1px solid #e0e0e0}nav a{margin-right:1.1em}
img{max-width:100%;height:auto;display:block;margin:.6em 0}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}th,td{border:1px solid #e0e0e0;padding:.25em .5em;vertical-align:top}
th{background:#e3f2fd;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:bold}
details summary{cursor:pointer;color:#1565c0;margin:.4em 0}footer{margin:2em 0;color:#757575;font-size:.85em}
"""
