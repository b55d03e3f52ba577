"""Does a student's injected HTML stay inert in the feedback page and in the formgrader?

One course, two students with the same hostile submission (a01 answered correctly, plus markdown
cells that try to run script, and a grade id with markup that would reach the grading note).
``eve`` is graded by the real grader; ``weak`` by a weakened one whose sanitizer is switched off
(monkeypatched in this process only), so every run also proves that the payloads do run in
Chromium when nothing sanitizes them. Pages are opened as people open them: the feedback file
from disk (file://) and through the Jupyter server (the student's "view feedback"), and the
formgrader's view of the submission in the instructor's logged-in session. Screenshots:
out/screenshots/12_*.png.
"""
import re

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell

from autograder import demo, preprocessors
from autograder.pipeline import Course

from .conftest import ASSIGNMENT, ROOT, serve_lab

pytestmark = pytest.mark.browser
MARKER = "注入测试 injection test"


def run(name: str) -> str:
    """JavaScript that records that payload ``name`` ran and retitles the page (``void``: a javascript:
    link whose value is a string would replace the page with it)."""
    return f"void((window.__pwned=window.__pwned||[]).push('{name}'),document.title='PWNED')"


PAYLOADS = [  # one markdown cell each, so each is cleaned on its own
    f"## {MARKER}",
    f'<img src="missing-image.png" onerror="{run("img-onerror")}">',
    f"<script>{run('script')}</script>",
    f'<svg><rect width="9" height="9"/></svg><svg onload="{run("svg-onload")}"></svg>',
    f'<details open ontoggle="{run("details-ontoggle")}"><summary>细节 details</summary>x</details>',
    f'<table><img src="missing-2.png" onerror="{run("table-foster")}"></table>',
    f"[点这里 click me](javascript:{run('javascript-link')})",
    "```mermaid\n</pre><img src=\"missing-3.png\" onerror=\"" + run("mermaid") + "\">\n```",
]


def hostile(release_nb, key):
    nb = demo.fill(release_nb, key)  # a correct submission: the payloads must not cost the student anything
    nb.cells[1:1] = [new_markdown_cell(p) for p in PAYLOADS]
    bad_id = new_markdown_cell("an extra cell with a hostile grade id")
    bad_id.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False, "schema_version": 3,
                                   "grade_id": f'<img src="missing-4.png" onerror="{run("grade-id-note")}">'}
    nb.cells.insert(1 + len(PAYLOADS), bad_id)
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    with serve_lab(tmp_path_factory.mktemp("inert"), release_exchange=False) as lab:
        course = Course(lab.root / "course")
        release = course.release(ASSIGNMENT)
        release_nb = nbformat.read(str(release / f"{ASSIGNMENT}.ipynb"), as_version=4)
        key = demo.key_answers(ROOT / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        for student in ("eve", "weak"):
            folder = course.root / "submitted" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(hostile(release_nb, key), str(folder / f"{ASSIGNMENT}.ipynb"))
            (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC")
        with pytest.MonkeyPatch.context() as mp:  # the weakened grader: RepairSubmission's sanitizer off
            mp.setattr(preprocessors, "sanitize_notebook", lambda nb: [])
            course.feedback(ASSIGNMENT, course.grade(ASSIGNMENT, students=["weak"], quiet=True))
        course.feedback(ASSIGNMENT, course.grade(ASSIGNMENT, students=["eve"], quiet=True))
        course.lab = lab
        yield course


def offline(page):
    """Nothing leaves the machine: the pages' CDN scripts (MathJax, require.js) are refused at once."""
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]).*"), lambda route: route.abort())


def ran(page, weakened: bool) -> list[str]:
    """The payloads that ran on this page, after it loaded (clicking any javascript: link too)."""
    page.get_by_text(MARKER).first.wait_for(timeout=60_000)  # the student's cells are on the page
    if weakened:
        page.wait_for_function("() => (window.__pwned || []).length >= 3", timeout=20_000)
    else:
        page.wait_for_timeout(2_000)  # onerror/onload/ontoggle fire well within this
    page.evaluate("""() => document.querySelectorAll('a[href^="javascript:" i]').forEach(a => a.click())""")
    page.wait_for_timeout(300)
    return page.evaluate("() => [...(window.__pwned || [])]") + (["title"] if page.title() == "PWNED" else [])


def feedback_url(course, student: str, how: str) -> str:
    path = course.root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert path.is_file(), f"no feedback for {student}"
    if how == "file":
        return path.as_uri()
    return course.lab.url("files/" + str(path.relative_to(course.lab.root)))


def formgrader_url(course, student: str) -> str:
    with course.here(), course.gradebook() as gb:
        submission = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).id
    return course.lab.url(f"formgrader/submissions/{submission}/", index=0)


@pytest.mark.parametrize("weakened", [False, True], ids=["sanitized", "weakened"])
@pytest.mark.parametrize("how", ["file", "served"])
def test_feedback_page_is_inert(course, page, shot, how, weakened):
    """Feedback HTML: does no payload run (and with the sanitizer off, do they run: the test can fail)?"""
    offline(page)
    page.goto(feedback_url(course, "weak" if weakened else "eve", how))
    live = ran(page, weakened)
    page.get_by_text(MARKER).first.scroll_into_view_if_needed()
    shot(page, f"12_feedback_{how}_{'weakened' if weakened else 'inert'}")
    if weakened:
        assert {"img-onerror", "script", "table-foster", "javascript-link"} <= set(live), live
        # the grading notes quote the hostile grade id as plain text, whether or not the sanitizer ran
        assert "grade-id-note" not in live, live
    else:
        assert live == [], live
        assert re.search(r"Score:\s*10(\.0+)?\s*/\s*10", page.inner_text("body"))  # the payloads cost nothing
        assert "unsafe HTML or script removed" in page.inner_text("body")


@pytest.mark.parametrize("weakened", [False, True], ids=["sanitized", "weakened"])
def test_formgrader_view_is_inert(course, page, shot, weakened):
    """The instructor's formgrader view of the submission: does no payload run in the logged-in session?"""
    offline(page)
    page.goto(formgrader_url(course, "weak" if weakened else "eve"))
    live = ran(page, weakened)
    page.get_by_text(MARKER).first.scroll_into_view_if_needed()
    shot(page, f"12_formgrader_{'weakened' if weakened else 'inert'}")
    if weakened:
        assert {"img-onerror", "script", "table-foster", "javascript-link"} <= set(live), live
    else:
        assert live == [], live
        assert page.locator(".rendered_html", has_text=MARKER).count() >= 1
