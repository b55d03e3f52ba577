"""The class report on a synthetic class of 300, graded for real: are its numbers the gradebook's?

One module-scoped class (``demo.synthetic_course``): a01 for 300 students made from the answer key and
the wrong samples (plus a file that is not JSON, endless loops, a function that exits, one that quotes
its hidden inputs in its error, code the review flags, late submissions), a02 for 40 of them a week
later, a roster that leaves out 4 submitters and adds 5 students who never submit. Each number the report
shows is recomputed here straight from nbgrader's gradebook and the report files, by code that shares
nothing with :mod:`autograder.analytics`; ``test_the_checks_catch_a_wrong_computation`` proves that those
comparisons fail on a deliberately wrong computation. The exported files are kept in ``out/class300/``
(the browser test opens that report and screenshots it).
"""
import csv
import html
import json
import re
import shutil
import statistics
import time

import numpy as np
import pytest
import torch
from nbgrader.api import Gradebook, MissingEntry

from autograder import analytics, demo, specs
from autograder.pipeline import NO_SUBMISSION, NOT_ON_ROSTER
from conftest import ROOT

pytestmark = [pytest.mark.pipeline, pytest.mark.xdist_group("class300")]
A = "a01_tensors"
N = 300
OUT = ROOT / "out" / "class300"


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    made = demo.synthetic_course(tmp_path_factory.mktemp("class300") / "course", ROOT / "course", n=N, second=40)
    course = made["course"]
    if OUT.exists():
        shutil.rmtree(OUT)
    t0 = time.time()
    made["paths"] = course.export_all(A, OUT)
    made["seconds"]["export"] = round(time.time() - t0, 1)
    (OUT / "timing.json").write_text(json.dumps(made["seconds"], indent=1), encoding="utf-8")
    made["data"] = json.loads(made["paths"]["report data"].read_text(encoding="utf-8"))
    made["html"] = made["paths"]["report"].read_text(encoding="utf-8")
    made["truth"] = truth(course.root, A)
    return made


# ------------------------------------------------------------------ the gradebook's numbers, recomputed


def truth(root, assignment: str) -> dict:
    """What the report must show, read with nbgrader's Gradebook and json only."""
    db = f"sqlite:///{root / 'gradebook.db'}"
    final, raw, per_cell, seconds_late = {}, {}, {}, {}
    with Gradebook(db) as gb:
        max_score = gb.find_assignment(assignment).max_score
        for s in gb.students:
            try:
                sub = gb.find_submission(assignment, s.id)
            except MissingEntry:
                if s.first_name or s.last_name or s.email:
                    final[s.id] = 0.0
                continue
            raw[s.id] = sub.score
            final[s.id] = sub.score - (sub.late_submission_penalty or 0)
            seconds_late[s.id] = sub.total_seconds_late
            for nb in sub.notebooks:
                for g in nb.grades:
                    per_cell.setdefault(g.name, []).append((g.score, g.max_score))
        on_roster = {s.id for s in gb.students if s.first_name or s.last_name or s.email}
    reports = {}
    for path in sorted((root / "reports" / assignment).glob("*/*.json")):
        reports.setdefault(path.parent.name, []).append(json.loads(path.read_text(encoding="utf-8")))
    statuses, cases = {}, {}
    for student, notebooks in reports.items():
        for nb in notebooks:
            for p in nb["problems"]:
                statuses[p["status"]] = statuses.get(p["status"], 0) + 1
                if p["status"] in ("unanswered", "missing"):
                    continue
                for c in p["cases"]:
                    key = (p["function"], c["name"], c["device"])
                    ran, failed = cases.get(key, (0, 0))
                    cases[key] = (ran + 1, failed + (not c["passed"]))
    scores = list(final.values())
    edges = np.linspace(0, max_score, 21 if len(scores) >= 40 else 11)
    counts, _ = np.histogram(scores, bins=edges)  # numpy's last bin includes the right edge: full marks
    return {"final": final, "raw": raw, "max": max_score, "counts": counts.tolist(), "mean": statistics.fmean(scores),
            "median": statistics.median(scores), "per_cell": per_cell, "statuses": statuses, "cases": cases,
            "reports": reports, "on_roster": on_roster, "late": {s for s, v in seconds_late.items() if v and v > 0},
            "unreadable": {s for s, nbs in reports.items() if any(nb["unreadable"] for nb in nbs)},
            "review": {s for s, nbs in reports.items() if any(nb["review"] for nb in nbs)}}


def mismatches(data: dict, t: dict) -> list[str]:
    """Every number of the report data (and what the figures drew) that differs from the gradebook's."""
    bad = []

    def check(what, got, want, tol=1e-6):
        same = (len(got) == len(want) and all(abs(g - w) <= tol for g, w in zip(got, want))) \
            if isinstance(want, list) else abs(got - want) <= tol
        if not same:
            bad.append(f"{what}: report {got!r}, gradebook {want!r}")
    h, drawn = data["histogram"], data["drawn"]
    check("histogram counts", h["counts"], t["counts"], 0)
    check("histogram bars drawn", drawn["distribution"]["counts"], t["counts"], 0)
    check("class size", h["n"], len(t["final"]), 0)
    check("mean", h["mean"], t["mean"])
    check("mean line drawn", drawn["distribution"]["mean"], t["mean"])
    check("median", h["median"], t["median"])
    check("median line drawn", drawn["distribution"]["median"], t["median"])
    for i, p in enumerate(data["problems"]):
        got = t["per_cell"][p["grade_id"]]
        mean = sum(s for s, _ in got) / len(got)
        full = sum(s >= m for s, m in got) / len(got)
        check(f"{p['grade_id']} mean share", p["mean_share"], mean / got[0][1])
        check(f"{p['grade_id']} bar drawn", drawn["problems"]["mean_share"][i], 100 * mean / got[0][1], 1e-4)
        check(f"{p['grade_id']} full marks", p["full_share"], full)
        check(f"{p['grade_id']} full-marks bar drawn", drawn["problems"]["full_share"][i], 100 * full, 1e-4)
    for c in data["cases"]:
        ran, failed = t["cases"][(c["function"], c["case"], c["device"])]
        check(f"{c['function']} / {c['case']} answered", c["answered"], ran, 0)
        check(f"{c['function']} / {c['case']} failed", c["failed"], failed, 0)
    if len(data["cases"]) != len(t["cases"]):
        bad.append(f"cases: report {len(data['cases'])}, reports {len(t['cases'])}")
    for status, count in t["statuses"].items():
        check(f"status {status}", data["problem_statuses"].get(status, 0), count, 0)
    check("unreadable submissions", data["submission_statuses"]["unreadable"], len(t["unreadable"]), 0)
    check("submissions needing review", data["submission_statuses"]["needs review"], len(t["review"]), 0)
    check("late submissions", data["submission_statuses"]["late"], len(t["late"]), 0)
    return bad


def test_report_numbers_are_the_gradebooks(klass):
    """Are the histogram, mean, median, per-problem and per-case numbers and the status counts in the
    report data, and the bars and lines the figures drew, exactly what the gradebook and the reports say?"""
    assert mismatches(klass["data"], klass["truth"]) == []
    assert klass["data"]["histogram"]["n"] == N + 5  # the 5 roster students who never submitted count 0


def test_the_checks_catch_a_wrong_computation(klass, monkeypatch, tmp_path):
    """Do the comparisons above fail when the report computes something wrong: full marks dropped from the
    last bin, or the mean taken over submitters only (forgetting the roster's zeros)?"""
    course, t = klass["course"], klass["truth"]

    def wrong_counts(scores, edges):  # a half-open last bin: full marks fall out of the histogram
        return np.histogram([s for s in scores if s < edges[-1]], bins=edges)[0].tolist()
    monkeypatch.setattr(analytics, "histogram_counts", wrong_counts)
    paths = analytics.write(course, A, tmp_path / "wrong1")
    found = mismatches(json.loads(paths["json"].read_text(encoding="utf-8")), t)
    assert any(m.startswith("histogram counts") for m in found) and any("bars drawn" in m for m in found)
    monkeypatch.undo()
    submitters = [r for r in course.scores(A) if r["status"] != NO_SUBMISSION]
    paths = analytics.write(course, A, tmp_path / "wrong2", rows=submitters)
    found = mismatches(json.loads(paths["json"].read_text(encoding="utf-8")), t)
    assert any(m.startswith("mean:") for m in found) and any(m.startswith("class size") for m in found)


def test_html_shows_the_same_numbers(klass):
    """Does the HTML page show the gradebook's mean and median, each problem's shares and the hardest case's
    rate and most common message, and embed every figure (no external file)?"""
    page, t = klass["html"], klass["truth"]
    assert f'id="mean">{t["mean"]:.2f}<' in page and f'id="median">{t["median"]:.2f}<' in page
    for p in klass["data"]["problems"]:
        got = t["per_cell"][p["grade_id"]]
        share = sum(s for s, _ in got) / len(got) / got[0][1]
        row = re.search(rf'<tr data-problem="{p["grade_id"]}">.*?</tr>', page).group(0)
        assert f'class="num mean-share">{100 * share:.1f}%<' in row
    hardest = analytics.hardest_cases(analytics.collect(klass["course"], A))[0]
    ran, failed = t["cases"][(hardest.function, hardest.case, hardest.device)]
    row = re.search(r'<table id="hardest">.*?</tr>(<tr.*?</tr>)', page, re.S).group(1)
    assert f"{failed}/{ran}" in row and f"{100 * failed / ran:.1f}%" in row and html.escape(hardest.message.zh) in row
    assert page.count('<img src="data:image/png;base64,') == 5
    assert not re.search(r'(src|href)="(?!data:|#)', page)  # self-contained: nothing to fetch
    assert "成绩分布" in page and "Score distribution" in page and "各用例通过情况" in page


def test_statuses_and_roster_in_the_report(klass):
    """Does the report count the class's timeouts, crashes, unreadable files, flagged code, late
    submissions, the roster students who did not submit and the submitters not on the roster?"""
    data, t = klass["data"], klass["truth"]
    s = data["submission_statuses"]
    assert s[NO_SUBMISSION] == 5 and s[NOT_ON_ROSTER] == 4
    assert s["unreadable"] == 2 and s["needs review"] >= 2 and s["late"] >= 5
    statuses = data["problem_statuses"]
    assert statuses["timeout"] >= 2 and statuses["crashed"] >= 2 and statuses["forbidden"] > 0
    assert statuses["wrong"] > 100 and statuses["ok"] > 700
    rows = {r["student"]: r for r in klass["course"].scores(A)}
    assert {sid for sid, r in rows.items() if r["status"] == NO_SUBMISSION} == {f"r00{i}" for i in range(1, 6)}
    assert {sid for sid, r in rows.items() if r["status"].endswith(NOT_ON_ROSTER)} == {f"s0{i}" for i in range(297, 301)}
    for sid in t["late"]:  # nbgrader's "zero" penalty: a late submission keeps its raw score beside a 0
        assert rows[sid]["score"] == 0 and rows[sid]["late_penalty"] == pytest.approx(t["raw"][sid])


def test_trend_across_assignments(klass):
    """Is each student's trend the gradebook's share of the maximum on a01 and on a02 (0 and "missing" where
    they did not submit), with the median of those who submitted, and the change only for students who
    submitted both?"""
    trend, course = klass["data"]["trend"], klass["course"]
    a1, a2 = "a01_tensors", "a02_tensor_operations"
    assert trend["assignments"] == [a1, a2]
    t2 = truth(course.root, a2)
    t1 = klass["truth"]
    assert set(trend["shares"]) == set(t1["final"]) | set(t2["final"])
    for sid, shares in trend["shares"].items():
        assert shares[a1] == pytest.approx(t1["final"].get(sid, 0) / t1["max"], abs=1e-6)
        assert shares[a2] == pytest.approx(t2["final"].get(sid, 0) / t2["max"], abs=1e-6)
    assert set(trend["missing"][a2]) == set(trend["shares"]) - set(t2["raw"]) and len(t2["raw"]) == 40
    median = statistics.median(t2["final"][sid] / t2["max"] for sid in t2["raw"])
    assert trend["quartiles"][a2]["median"] == pytest.approx(median, abs=1e-6)
    assert klass["data"]["drawn"]["trend"]["median"][1] == pytest.approx(100 * median, abs=1e-4)
    both = set(t1["raw"]) & set(t2["raw"])
    assert set(trend["change"]) == both
    for sid in both:
        change = t2["final"][sid] / t2["max"] - t1["final"][sid] / t1["max"]
        assert trend["change"][sid] == pytest.approx(change, abs=1e-5)
    assert 'id="trend-drops"' in klass["html"] and 'id="trend-missing"' in klass["html"]


# ------------------------------------------------------------------ no hidden value in the page


def hidden_values(assignment: str) -> set[str]:
    """The hidden cases' input and expected values, as a page could print them (torch's 4 decimals, NumPy's
    8 digits, Python's repr in float64 and float32), each value distinctive enough to be recognised (3+
    significant decimals)."""
    found = set()

    def add(values):
        for v in np.asarray(values, dtype=np.float64).ravel().tolist():
            if not np.isfinite(v):
                continue
            renderings = (f"{v:.4f}",  # torch's print
                          np.format_float_positional(v, precision=8, unique=False, trim="-"),  # numpy's print
                          repr(v), str(np.float32(v)))
            for text in renderings:
                decimals = text.split(".")[1].rstrip("0") if "." in text else ""
                if len(decimals) >= 3 and "e" not in text:
                    found.add(text)
    for problem in specs.load(assignment).problems:
        for case in problem.cases:
            if case.visible:
                continue
            args = []
            for a in case.args:
                if isinstance(a, specs.Tensor):
                    add(a.data)
                    x = torch.as_tensor(a.data).to(a.dtype)
                    args.append(x.T if a.transpose else x)
                elif isinstance(a, specs.Array):
                    add(a.data)
                    args.append(a.data.copy())
                elif isinstance(a, specs.Device):
                    args.append(torch.device("cpu"))
                elif isinstance(a, specs.Dtype):
                    args.append(a.dtype)
                else:
                    args.append(a)
            try:
                out = problem.reference(*args, **case.kwargs)
            except Exception:
                continue
            if isinstance(out, torch.Tensor) and out.is_floating_point():
                add(out.detach().double().numpy())
    return found


NUMBER = re.compile(r"(?<![\d.])-?\d+\.\d+(?!\d)")


def leaks(text: str, secrets: set[str]) -> list[str]:
    """The secrets that appear in ``text`` as a whole number (not inside a longer one), with or without sign."""
    numbers = set(NUMBER.findall(text))
    numbers |= {n.lstrip("-") for n in numbers}
    return sorted(s for s in secrets if s in numbers or s.lstrip("-") in numbers)


def test_no_hidden_value_in_the_report(klass, monkeypatch, tmp_path):
    """Does no hidden input or expected value reach the HTML report or its data, although one student's
    error message quoted their hidden inputs, even in a report where that message is the most common one?
    And does the same check find them once the report stops masking student messages (so it can fail)?"""
    secrets = hidden_values(A)
    assert len(secrets) > 20
    quoted = [sid for sid, p in klass["profiles"][A].items() if p["kind"] == "quotes_inputs"]
    raw = json.dumps([klass["truth"]["reports"][sid] for sid in quoted], ensure_ascii=False)
    assert leaks(raw, secrets), "the quoting students' own reports should contain hidden values"
    assert leaks(klass["html"], secrets) == []
    assert leaks(klass["paths"]["report data"].read_text(encoding="utf-8"), secrets) == []
    # a report of the quoting students alone: their message is then the most common failure of its cases
    rows = [r for r in klass["course"].scores(A) if r["student"] in quoted]
    alone = analytics.write(klass["course"], A, tmp_path / "alone", rows=rows)
    page = alone["html"].read_text(encoding="utf-8")
    assert "my inputs were" in page
    assert leaks(page, secrets) == [] and leaks(alone["json"].read_text(encoding="utf-8"), secrets) == []
    monkeypatch.setattr(analytics, "scrub", lambda msg: msg)  # the weakened report: messages as they came
    weak = analytics.write(klass["course"], A, tmp_path / "weak", rows=rows)
    assert leaks(weak["html"].read_text(encoding="utf-8"), secrets)


def test_scrub_masks_numbers_only_in_student_text():
    """Does scrubbing keep the judge's own words and shapes and mask the numbers of a student's exception?"""
    from autograder.results import Msg
    judge = Msg("形状（shape）应为 (2, 3)，实际为 (3, 2)", "shape differs: expected (2, 3), got (3, 2)")
    assert analytics.scrub(judge) == judge
    student = analytics.scrub(Msg("函数抛出了 ValueError：tensor([0.3047, -1.0400])",
                                  "the function raised ValueError: tensor([0.3047, -1.0400])"))
    assert "0.3047" not in student.zh + student.en and "1.04" not in student.en and "ValueError" in student.en
    index = analytics.scrub(Msg("函数抛出了 IndexError：index 7 is out of bounds for dimension 0 with size 5",
                                "the function raised IndexError: index 7 is out of bounds for dimension 0 with size 5"))
    assert index.en == "the function raised IndexError: index # is out of bounds for dimension # with size #"
    assert index.zh == "函数抛出了 IndexError：index # is out of bounds for dimension # with size #"


# ------------------------------------------------------------------ exports of the 300


def test_exports_of_the_class_agree_with_the_gradebook(klass):
    """Do the long CSV, the Canvas and the Moodle files give every student the gradebook's final score
    (late penalty applied), and the wide CSV its raw score and penalty?"""
    t, paths = klass["truth"], klass["paths"]
    wide = {r["student"]: r for r in csv.DictReader(open(paths["grades"], encoding="utf-8"))}
    long = list(csv.DictReader(open(paths["long"], encoding="utf-8")))
    canvas = {r[3]: r for r in list(csv.reader(open(paths["canvas"], encoding="utf-8")))[2:]}
    moodle = {r["Username"]: r for r in csv.DictReader(open(paths["moodle"], encoding="utf-8"))}
    totals = {}
    for r in long:
        totals[r["student"]] = totals.get(r["student"], 0.0) + float(r["score"])
    assert set(wide) == set(canvas) == set(moodle) == set(totals) == set(t["final"])
    for sid, final in t["final"].items():
        assert float(wide[sid]["score"]) == pytest.approx(final, abs=1e-4)
        assert totals[sid] == pytest.approx(final, abs=1e-3)
        assert float(canvas[sid][-1]) == pytest.approx(final, abs=1e-4)
        assert float(moodle[sid][A]) == pytest.approx(final, abs=1e-4)
    for sid in t["late"]:
        assert float(wide[sid]["late_penalty"]) == pytest.approx(t["raw"][sid], abs=1e-4)
        assert "late penalty" in moodle[sid][f"{A} feedback"]
    assert klass["seconds"]["export"] < 120


# ------------------------------------------------------------------ the figures at any class size


@pytest.mark.parametrize("n", [10, 300, 2000])
def test_distribution_figure_scales(n, tmp_path):
    """Does the histogram hold every student, in 10 bins below 40 students and 20 above, from 10 to 2,000?"""
    rng = np.random.default_rng(n)
    scores = np.clip(rng.normal(7, 2, n), 0, 10).round(2).tolist()
    edges = analytics.histogram_edges(10, n)
    report = analytics.ClassReport("a01_tensors", 10, [], [], [], {}, {}, {
        "edges": edges, "counts": analytics.histogram_counts(scores, edges), "n": n,
        "mean": statistics.fmean(scores), "median": statistics.median(scores)}, {})
    drawn = analytics.plot_distribution(report, tmp_path / "d.png")
    assert sum(drawn["counts"]) == n and len(drawn["counts"]) == (10 if n < 40 else 20)
    assert drawn["counts"] == np.histogram(scores, bins=np.linspace(0, 10, len(edges)))[0].tolist()
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"


def test_figures_have_a_chinese_font():
    """Is there a CJK font for the figures' Chinese labels (Debian: fonts-wqy-microhei)?"""
    assert analytics.cjk_font() in analytics.CJK_FONTS
