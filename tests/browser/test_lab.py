"""Students and instructors in JupyterLab, clicked through in headless chromium.

Run in file order on one server: (1) a lesson shows its stored outputs and plot, (2) run all without
errors, (3) the student loop in the Assignment List (fetch, open, type the solutions, Validate, Submit),
(4) the instructor collects and grades with the trusted grader, the formgrader shows the score,
(5) the Chinese interface. Screenshots: out/screenshots/NN_*.png.
"""
import re

import pytest

from autograder import demo

from .conftest import ASSIGNMENT, LESSON, ROOT

pytestmark = pytest.mark.browser
MINUTE = 60_000


def open_lab(page, lab, path="lab"):
    """Open JupyterLab with a fresh workspace (``reset``: no tabs restored from the previous test)."""
    page.goto(lab.url(path, reset=""))
    page.locator(".jp-Launcher:visible, .jp-NotebookPanel:visible").first.wait_for(timeout=MINUTE)


def menu(page, top: str, item: str):
    """Click a top-level menu and then one of its items, by their visible labels."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-content").get_by_role("menuitem", name=re.compile(f"^{re.escape(item)}")).first.click()


def wait_kernel_idle(page, timeout=MINUTE):
    page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(
        timeout=timeout)


def notebook(page):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")


def test_1_lesson_shows_stored_outputs_and_a_plot(lab, page, shot):
    """Does a lesson open with its stored outputs, a plot among them?"""
    open_lab(page, lab, f"lab/tree/notebooks/{LESSON}")
    nb = notebook(page)
    nb.locator(".jp-OutputArea-output").first.wait_for(timeout=MINUTE)
    assert nb.locator(".jp-OutputArea-output").count() > 10
    img = nb.locator(".jp-RenderedImage img").first
    img.scroll_into_view_if_needed()
    img.wait_for(state="visible")
    assert img.evaluate("i => i.naturalWidth") > 100
    shot(page, "01_lesson_plot")


def test_2_run_all_finishes_without_error(lab, page, shot):
    """Does Run > Run All Cells finish in a fresh kernel without an error output?"""
    open_lab(page, lab, f"lab/tree/notebooks/{LESSON}")
    wait_kernel_idle(page)
    nb = notebook(page)
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(
        """() => { const p = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputPrompt')]
                   .map(e => e.textContent); return p.length && p.some(t => /\\d/.test(t)) && !p.some(t => t.includes('*')); }""",
        timeout=3 * MINUTE)
    wait_kernel_idle(page)
    errors = nb.locator('[data-mime-type="application/vnd.jupyter.error"]')
    assert errors.count() == 0, errors.first.inner_text()
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").last.scroll_into_view_if_needed()
    shot(page, "02_lesson_run_all")


def test_3_student_fetches_validates_and_submits(lab, page, shot):
    """Assignment List: released -> Fetch -> open -> type the solutions -> Validate -> Submit."""
    open_lab(page, lab)
    menu(page, "Nbgrader", "Assignment List")
    released = page.locator("#released_assignments_list")
    released.get_by_text(ASSIGNMENT).wait_for(timeout=MINUTE)
    shot(page, "03_assignment_list_released")
    released.get_by_role("button", name="Fetch").click()
    fetched = page.locator("#fetched_assignments_list")
    fetched.get_by_text(ASSIGNMENT).first.wait_for(timeout=MINUTE)
    assert (lab.root / "student" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    shot(page, "04_assignment_fetched")

    # open the notebook from the fetched assignment (expand the row, click the notebook link)
    fetched.get_by_text(ASSIGNMENT).first.click()
    fetched.locator("a", has_text=ASSIGNMENT).last.click()
    nb = notebook(page)
    nb.locator(".jp-Cell").first.wait_for(timeout=MINUTE)
    wait_kernel_idle(page)

    key = demo.key_answers(ROOT / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    for grade_id, source in key.items():
        function = grade_id.removeprefix("sol_")
        cell = nb.locator(".jp-CodeCell", has_text=f"def {function}(").first
        cell.scroll_into_view_if_needed()
        editor = cell.locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.insert_text(source)
    shot(page, "05_solution_typed")
    page.keyboard.press("Control+S")
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-mod-dirty").wait_for(state="detached", timeout=MINUTE)

    nb.get_by_role("button", name="Validate").click()
    result = page.locator(".validation-success, .validation-failed")
    result.wait_for(timeout=3 * MINUTE)
    shot(page, "06_validate")
    assert "passes all the tests" in result.inner_text(), result.inner_text()
    page.locator(".jp-Dialog").get_by_role("button").last.click()

    menu(page, "Nbgrader", "Assignment List")
    fetched = page.locator("#fetched_assignments_list")
    fetched.get_by_role("button", name="Submit").first.click()
    page.locator("#submitted_assignments_list").get_by_text(ASSIGNMENT).first.wait_for(timeout=MINUTE)
    shot(page, "07_submitted")
    assert list((lab.root / "course" / "exchange").glob(f"*/inbound/*+{ASSIGNMENT}+*/{ASSIGNMENT}.ipynb"))


def test_4_instructor_collects_grades_and_sees_the_score(lab, page, shot):
    """collect + trusted autograde on the command line; the formgrader then shows the score."""
    for step in ("collect", "grade", "return-feedback"):
        done = lab.cli(step, "--assignment", ASSIGNMENT)
        assert done.returncode == 0, done.stdout + done.stderr
    [student] = [p.parent.name for p in (lab.root / "course" / "submitted").glob(f"*/{ASSIGNMENT}")]

    page.goto(lab.url(f"formgrader/manage_submissions/{ASSIGNMENT}"))
    row = page.locator("tr", has_text=student).first
    row.wait_for(timeout=MINUTE)
    page.wait_for_function("() => /10(\\.0+)? \\/ 10/.test(document.body.innerText)", timeout=MINUTE)
    shot(page, "08_formgrader_submissions")
    assert re.search(r"10(\.0+)? / 10", row.inner_text()), row.inner_text()

    # the student fetches the feedback in the Assignment List
    open_lab(page, lab)
    menu(page, "Nbgrader", "Assignment List")
    submitted = page.locator("#submitted_assignments_list")
    submitted.get_by_text("feedback available to fetch").first.wait_for(timeout=MINUTE)
    submitted.get_by_role("button", name="Fetch Feedback").first.click()
    submitted.get_by_text("(view feedback)").first.click()
    [html] = (lab.root / "student" / ASSIGNMENT / "feedback").rglob("*.html")
    assert re.search(r"Score:\s*10\.0\s*/\s*10\.0", html.read_text(encoding="utf-8"))
    shot(page, "09_feedback_fetched")
    page.goto(lab.url("files/" + str(html.relative_to(lab.root)).replace(" ", "%20")))
    page.get_by_text(re.compile(r"Score:\s*10\.0")).first.wait_for(timeout=MINUTE)
    shot(page, "10_feedback_html")


def test_5_chinese_interface(lab, page, shot):
    """Settings > Language > 中文: do the menus turn Chinese?"""
    open_lab(page, lab)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Settings$")).click()
    page.locator(".lm-Menu-itemLabel", has_text="Language").click()
    page.locator(".lm-Menu-itemLabel", has_text="中文").click()
    page.locator(".jp-Dialog").get_by_role("button").last.click()
    page.locator(".lm-MenuBar-itemLabel", has_text="文件").wait_for(timeout=MINUTE)
    labels = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert "文件" in labels and "编辑" in labels, labels
    page.locator(".lm-MenuBar-itemLabel", has_text="文件").click()  # an open menu, for the guide's picture
    page.locator(".lm-Menu-content").first.wait_for()
    shot(page, "11_chinese_interface")
