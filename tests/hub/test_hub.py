"""A class on a real JupyterHub, clicked through in chromium: an instructor and two students, nobody reading
anyone else's work.

One test, in order (screenshots: out/screenshots/hub/NN_*.png): the instructor logs in and releases a01; ada
and bo each log in, fetch it in the Assignment List, solve it (ada all of it, bo the first three problems),
Validate and Submit; bo's own kernel then probes what it can read and import; the instructor collects, grades
with the trusted grader and returns feedback, and sees both scores in the Formgrader; each student fetches
their own feedback and sees their score.

在真实的 JupyterHub 上点完一整轮：教师发布作业，两名学生取作业、作答、Validate、提交；学生内核检查自己读不到、
导入不到什么；教师收作业、可信评分、发回反馈；学生取回各自的反馈和分数。
"""
from __future__ import annotations

import base64
import json
import re
import time

import pytest

from autograder import demo, specs
from browser.test_lab import menu, notebook, wait_kernel_idle

from .conftest import ASSIGNMENT, ROOT, SHOTS

pytestmark = pytest.mark.hub
MINUTE = 60_000
SOLVED_BY_BO = 3  # bo solves the first three problems of a01 and leaves the rest as released


def login(browser, hub, role: str, shot, prefix: str):
    """A fresh browser context for ``role``: the Hub's login form, then their JupyterLab once it has spawned."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.locator("#username_input").fill(hub.users.names[role])
    page.locator("#password_input").fill(hub.users.passwords[role])
    shot(page, f"{prefix}_login")
    started = time.monotonic()
    page.locator("#login_submit").click()
    page.locator(".jp-Launcher:visible").first.wait_for(timeout=4 * MINUTE)
    hub.timings[f"{role} login and spawn"] = round(time.monotonic() - started, 1)
    return context, page


def fetch_and_open(page, shot, prefix: str):
    menu(page, "Nbgrader", "Assignment List")
    released = page.locator("#released_assignments_list")
    released.get_by_text(ASSIGNMENT).wait_for(timeout=MINUTE)
    shot(page, f"{prefix}_assignment_list")
    released.get_by_role("button", name="Fetch").click()
    fetched = page.locator("#fetched_assignments_list")
    fetched.get_by_text(ASSIGNMENT).first.wait_for(timeout=MINUTE)
    fetched.get_by_text(ASSIGNMENT).first.click()
    fetched.locator("a", has_text=ASSIGNMENT).last.click()
    nb = notebook(page)
    nb.locator(".jp-Cell").first.wait_for(timeout=MINUTE)
    wait_kernel_idle(page, timeout=3 * MINUTE)
    return nb


def type_answers(page, nb, answers: dict[str, str], shot, prefix: str):
    for grade_id, source in answers.items():
        cell = nb.locator(".jp-CodeCell", has_text=f"def {grade_id.removeprefix('sol_')}(").first
        cell.scroll_into_view_if_needed()
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(source)
    page.keyboard.press("Control+S")
    shot(page, f"{prefix}_solved")
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-mod-dirty").wait_for(state="detached", timeout=MINUTE)


def validate_and_submit(page, nb, shot, prefix: str) -> str:
    nb.get_by_role("button", name="Validate").click()
    result = page.locator(".validation-success, .validation-failed, .validation-error, .validation-changed")
    changed = page.locator(".jp-Dialog", has_text="File Changed")
    deadline = time.monotonic() + 5 * 60
    while not result.first.is_visible():
        # Validate saves first; on a loaded server the save's time can look newer than ours: keep what we typed
        if changed.is_visible():
            changed.get_by_role("button", name="Overwrite").click()
        assert time.monotonic() < deadline, "no validation result / 没有 Validate 结果"
        page.wait_for_timeout(500)
    text = page.locator(".jp-Dialog").inner_text()
    shot(page, f"{prefix}_validate")
    page.locator(".jp-Dialog").get_by_role("button").last.click()
    menu(page, "Nbgrader", "Assignment List")
    page.locator("#fetched_assignments_list").get_by_role("button", name="Submit").first.click()
    page.locator("#submitted_assignments_list").get_by_text(ASSIGNMENT).first.wait_for(timeout=MINUTE)
    shot(page, f"{prefix}_submitted")
    return text


PROBE = r'''
import importlib, json, os, sys
out = {}
for name, path in PATHS.items():
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        out[name] = "READ"
    except OSError as exc:
        out[name] = type(exc).__name__
for module in ("solutions", "autograder.specs", "autograder.specs.a01_tensors", "autograder.collect",
               "autograder.sandbox"):
    try:
        importlib.import_module(module)
        out["import " + module] = "IMPORTED"
    except ImportError:
        out["import " + module] = "ImportError"
sys.path.insert(0, CLONE)  # by path: the instructor's clone, where the grader and the answer key are
for module in ("solutions", "solutions.a01_tensors"):
    sys.modules.pop(module, None)
    try:
        importlib.import_module(module)
        out["import from clone " + module] = "IMPORTED"
    except ImportError:
        out["import from clone " + module] = "ImportError"
sys.path.remove(CLONE)
import torch
from autograder import visible
from autograder.check import Checker, CheckFailed
a01 = visible.load("a01_tensors")
out["cases"] = {p.function: [c.name for c in p.cases] for p in a01.problems}
out["all visible"] = all(c.visible for p in a01.problems for c in p.cases)
check = Checker("a01_tensors")
def full_float64_like(x, value):
    return torch.full(x.shape, value, dtype=torch.float64, device=x.device)
out["visible check of a right answer"] = check(full_float64_like).status
def full_float64_like(x, value):
    return torch.full(x.shape, value, device=x.device)
try:
    check(full_float64_like)
    out["visible check of a wrong answer"] = "passed"
except CheckFailed:
    out["visible check of a wrong answer"] = "failed"
for key, value in out.items():  # for the screenshot; the test reads the JSON line
    if key != "cases":
        print(("✔ " if value in ("PermissionError", "ImportError", "ok", "failed", True) else "✘ ") + f"{key}: {value}")
print("PROBE" + json.dumps(out) + "END")
'''


def probe(page, shot, paths: dict[str, str], clone: str, name: str) -> dict:
    """Run PROBE in the student's own kernel (a new notebook from the Launcher) and return what it found."""
    source = f"PATHS = {paths!r}\nCLONE = {clone!r}\n" + PROBE
    line = f"import base64; exec(base64.b64decode({base64.b64encode(source.encode()).decode()!r}))"
    page.goto(page.url.split("/lab")[0] + "/lab?reset")
    page.locator(".jp-Launcher:visible").first.wait_for(timeout=MINUTE)
    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    nb = notebook(page)
    nb.locator(".jp-Cell").first.wait_for(timeout=MINUTE)
    wait_kernel_idle(page, timeout=3 * MINUTE)
    page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for(timeout=3 * MINUTE)  # kernel is up
    cell = nb.locator(".jp-CodeCell").first
    cell.locator(".cm-content").click()
    page.keyboard.insert_text(line)
    out = nb.locator(".jp-OutputArea-output", has_text="PROBE").first
    deadline = time.monotonic() + 3 * 60
    while True:
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+Enter")  # run it, stay on it; again if the kernel was not listening yet
        try:
            out.wait_for(timeout=20_000)
            break
        except Exception:
            running = cell.locator(".jp-InputPrompt").inner_text().strip().startswith("[*]")
            if time.monotonic() > deadline:
                raise
            if running:
                out.wait_for(timeout=2 * MINUTE)
                break
    shot(page, name)
    text = out.inner_text()
    return json.loads(re.search(r"PROBE(\{.*\})END", text.replace("\n", ""), re.S).group(1))


def fetch_feedback(page, shot, prefix: str):
    page.goto(page.url.split("/lab")[0] + "/lab?reset")
    page.locator(".jp-Launcher:visible").first.wait_for(timeout=MINUTE)
    menu(page, "Nbgrader", "Assignment List")
    submitted = page.locator("#submitted_assignments_list")
    submitted.get_by_role("button", name="Fetch Feedback").first.click()
    submitted.get_by_text("(view feedback)").first.wait_for(timeout=MINUTE)
    shot(page, f"{prefix}_feedback_fetched")


def test_a_class_on_jupyterhub(hub, browser, shot):
    """Release -> two students fetch, solve, Validate, Submit -> collect, trusted grade, feedback -> each
    student sees their own score; and a student's kernel reads and imports nothing it must not."""
    users, clone = hub.users, hub.clone
    ada, bo, instructor = (users.names[r] for r in ("ada", "bo", "instructor"))
    master = clone / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    key = demo.key_answers(ROOT / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    contexts = []
    try:
        # 1 the instructor logs in (their server has the grader from the clone) and releases a01
        ctx, teacher = login(browser, hub, "instructor", shot, "01_instructor")
        contexts.append(ctx)
        shot(teacher, "02_instructor_lab")
        hub.instructor("release-exchange")
        teacher.goto(f"{hub.url}/user/{instructor}/formgrader/manage_assignments")
        teacher.get_by_text(ASSIGNMENT).first.wait_for(timeout=MINUTE)
        shot(teacher, "03_instructor_formgrader_released")

        # 2 ada: everything right
        ctx, page_a = login(browser, hub, "ada", shot, "04_ada")
        contexts.append(ctx)
        nb = fetch_and_open(page_a, shot, "05_ada")
        assert (users.home("ada") / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        type_answers(page_a, nb, key, shot, "06_ada")
        validation_a = validate_and_submit(page_a, nb, shot, "06_ada")
        assert "passes all the tests" in validation_a, validation_a

        # 3 bo: the first three problems only
        ctx, page_b = login(browser, hub, "bo", shot, "07_bo")
        contexts.append(ctx)
        nb = fetch_and_open(page_b, shot, "08_bo")
        type_answers(page_b, nb, dict(list(key.items())[:SOLVED_BY_BO]), shot, "09_bo")
        validation_b = validate_and_submit(page_b, nb, shot, "09_bo")
        assert "passes all the tests" not in validation_b, validation_b

        # 4 isolation: bo's own kernel, by path and by import
        [inbound_a] = (hub.exchange / "torch-first-principles" / "inbound").glob(f"{ada}+{ASSIGNMENT}+*")
        paths = {
            "ada's fetched notebook": str(users.home("ada") / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
            "ada's home": str(users.home("ada")),
            "the inbound folder (every submission)": str(inbound_a.parent),
            "the instructor's course folder": str(clone / "course"),
            "source/ with hidden tests": str(master),
            "solutions/": str(clone / "solutions"),
            "the answer key module": str(clone / "solutions" / f"{ASSIGNMENT}.py"),
            "the gradebook": str(clone / "course" / "gradebook.db"),
            "the grader's specs (hidden cases)": str(clone / "autograder" / "specs" / f"{ASSIGNMENT}.py"),
        }
        assert (clone / "course" / "gradebook.db").is_file()  # release-exchange made it
        found = probe(page_b, shot, paths, str(clone), "10_bo_probe")
        hub.isolation = found
        for name in paths:
            assert found[name] == "PermissionError", (name, found[name])
        for module in ("solutions", "autograder.specs", "autograder.specs.a01_tensors", "autograder.collect",
                       "autograder.sandbox"):
            assert found["import " + module] == "ImportError", (module, found)
        assert found["import from clone solutions"] == "ImportError", found
        spec = specs.load(ASSIGNMENT)
        assert found["all visible"] is True
        assert found["cases"] == {p.function: [c.name for c in p.cases if c.visible] for p in spec.problems}
        assert sum(map(len, found["cases"].values())) < sum(len(p.cases) for p in spec.problems)
        assert found["visible check of a right answer"] == "ok"
        assert found["visible check of a wrong answer"] == "failed"
        # ada's submission: world-readable as nbgrader writes it, but in a folder nobody else can list, under
        # a name with 9 random bytes (nbgrader's add_random_string), so bo cannot find it
        assert re.fullmatch(rf"{ada}\+{ASSIGNMENT}\+[^+]+\+[A-Za-z0-9_-]{{12}}", inbound_a.name), inbound_a.name

        # 4b the same probe against a deliberately weakened setup (homes 0755): it must see the leak
        users.home("ada").chmod(0o755)
        users.home("instructor").chmod(0o755)
        try:
            weak = probe(page_b, shot, paths, str(clone), "10b_bo_probe_weakened")
        finally:
            users.home("ada").chmod(0o700)
            users.home("instructor").chmod(0o700)
        hub.weakened = weak
        assert weak["ada's fetched notebook"] == "READ" and weak["source/ with hidden tests"] == "READ", weak
        assert weak["import from clone solutions"] == "IMPORTED", weak

        # 5 the instructor collects, grades with the trusted grader, returns feedback; the Formgrader shows it
        hub.instructor("collect")
        graded = hub.instructor("grade", timeout=900)
        hub.grade_output = graded.stdout[-3000:]
        hub.instructor("return-feedback")
        teacher.goto(f"{hub.url}/user/{instructor}/formgrader/manage_submissions/{ASSIGNMENT}")
        teacher.locator("tr", has_text=ada).first.wait_for(timeout=MINUTE)
        teacher.wait_for_function("() => /10(\\.0+)? \\/ 10/.test(document.body.innerText)", timeout=MINUTE)
        shot(teacher, "11_instructor_formgrader_scores")
        row_a = teacher.locator("tr", has_text=ada).first.inner_text()
        row_b = teacher.locator("tr", has_text=bo).first.inner_text()
        assert re.search(r"10(\.0+)? / 10", row_a), row_a
        score_b = float(re.search(r"([\d.]+) / 10", row_b).group(1))
        assert 0 < score_b < 10, row_b

        # 6 each student fetches their own feedback and sees their score
        scores = {}
        for role, page, prefix in (("ada", page_a, "12_ada"), ("bo", page_b, "13_bo")):
            fetch_feedback(page, shot, prefix)
            [html] = (users.home(role) / ASSIGNMENT / "feedback").rglob("*.html")
            text = html.read_text(encoding="utf-8")
            scores[role] = float(re.search(r"Score:\s*([\d.]+)\s*/\s*10\.0", text).group(1))
            rel = html.relative_to(users.home(role))
            page.goto(page.url.split("/lab")[0] + "/files/" + str(rel).replace(" ", "%20"))
            page.get_by_text(re.compile(r"Score:\s*[\d.]+")).first.wait_for(timeout=MINUTE)
            shot(page, f"{prefix}_feedback_score")
        assert scores == {"ada": 10.0, "bo": score_b}, scores
        hub.scores = scores
        summary = json.dumps({"timings_s": hub.timings, "scores": scores, "isolation": found,
                              "weakened (homes 0755)": weak}, indent=1, ensure_ascii=False)
        (SHOTS / "summary.json").write_text(summary, encoding="utf-8")
        print(summary)
    except BaseException:
        for i, ctx in enumerate(contexts):  # what each browser showed when it failed, for CI artifacts
            for j, page in enumerate(ctx.pages):
                shot(page, f"FAILED_{i}_{j}")
        raise
    finally:
        for ctx in contexts:
            ctx.close()
