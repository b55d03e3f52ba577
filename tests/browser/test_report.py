"""Does the class report open in Chromium as an instructor opens it: from disk, offline, every figure drawn?

The report is the 300-student one that tests/test_analytics.py leaves in out/class300/ (``make test`` runs
the unit tests first); when it is missing, the same synthetic class is graded and exported here. Screenshots:
out/screenshots/14_class_report.png (the top of the page) and 14_class_report_full.png (all of it).
"""
import json
import re
import shutil

import pytest

from autograder import demo

from .conftest import ROOT

pytestmark = pytest.mark.browser
OUT = ROOT / "out" / "class300"
A = "a01_tensors"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    page = OUT / f"class_{A}.html"
    data = OUT / f"class_{A}.json"
    if not (page.exists() and data.exists()):
        made = demo.synthetic_course(tmp_path_factory.mktemp("class300") / "course", ROOT / "course", n=300, second=40)
        if OUT.exists():
            shutil.rmtree(OUT)
        made["course"].export_all(A, OUT)
    return page, json.loads(data.read_text(encoding="utf-8"))


def test_class_report_opens_offline_with_every_figure(report, page, shot):
    """Does the report load from file:// without a single network request, draw its five figures, show the
    gradebook's mean and the hardest case in both languages, and fit a laptop screen's width?"""
    path, data = report
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert "全班成绩分析" in page.title() and "class report" in page.title()
    images = page.locator("img")
    assert images.count() == 5
    for i in range(5):  # decoded and drawn, not a broken-image icon
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 600 && img.naturalHeight > 200")
    assert page.locator("#mean").inner_text() == f"{data['histogram']['mean']:.2f}"
    assert page.locator("#n-students").inner_text() == str(data["histogram"]["n"])
    hardest = page.locator("#hardest tr").nth(1)
    assert re.search(r"\d+\.\d%", hardest.inner_text())
    assert page.get_by_role("heading", name=re.compile("各用例通过情况")).is_visible()
    # the page is readable at this width: no horizontal scrolling
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "14_class_report")
    page.locator("details").first.evaluate("d => d.open = true")
    shot(page, "14_class_report_full", full_page=True)
