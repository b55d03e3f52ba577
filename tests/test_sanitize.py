"""Is student-authored HTML made inert before the feedback page and the formgrader render it?

Each payload is rendered the way nbconvert renders it (markdown through nbconvert's own markdown
filter, outputs as they are) and judged by :func:`autograder.sanitize.live_script`, plus a crude
second opinion that does not share its code. The same judges flag every payload when the
sanitizer is replaced by the identity (``test_identity_sanitizer_leaves_every_payload_live``), so
these tests can fail; the browser test (tests/browser/test_feedback_inert.py) shows it in Chromium.
"""
import copy
import html as _html
import re

import nbformat
import pytest
from conftest import ROOT
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from autograder.preprocessors import RepairSubmission
from autograder.sanitize import live_script, plain_markdown, render_markdown, sanitize_notebook

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
JS = "window.__pwned=1"

# name -> (where it sits, what the student wrote)
PAYLOADS = {
    "img onerror": ("markdown", f'<img src=x onerror="{JS}">'),
    "script element": ("markdown", f"前言 <script>{JS}</script>"),
    "javascript: markdown link": ("markdown", f"[点这里 click](javascript:{JS})"),
    "javascript: raw href": ("markdown", f'<a href="javascript:{JS}">x</a>'),
    "entity-escaped javascript: link": ("markdown", "[x](&#106;&#97;&#118;&#97;script:alert(1))"),
    "tab-split javascript: href": ("markdown", '<a href="jav&#x09;ascript:alert(1)">x</a>'),
    "javascript: autolink": ("markdown", "<javascript:alert(1)>"),
    "javascript: reference link": ("markdown", "[x][1]\n\n[1]: javascript:alert(1)"),
    "data:text/html link": ("markdown", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    "data:text/html iframe": ("markdown", '<iframe src="data:text/html,<script>alert(1)</script>"></iframe>'),
    "iframe srcdoc": ("markdown", f'<iframe srcdoc="<script>parent.{JS}</script>"></iframe>'),
    "style element": ("markdown", "<style>@import 'http://evil.example/x.css'; body{background:url(javascript:alert(1))}</style>"),
    "style expression": ("markdown", '<div style="width: expression(alert(1)); background:url(javascript:alert(1))">x</div>'),
    "form action": ("markdown", '<form action="javascript:alert(1)"><button>go</button></form>'),
    "button formaction": ("markdown", '<button formaction="javascript:alert(1)">go</button>'),
    "meta refresh": ("markdown", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    "base href": ("markdown", '<base href="javascript:alert(1)//">'),
    "object data": ("markdown", '<object data="data:text/html,<script>alert(1)</script>"></object>'),
    "embed src": ("markdown", '<embed src="javascript:alert(1)">'),
    "link stylesheet": ("markdown", '<link rel="stylesheet" href="http://evil.example/x.css">'),
    "attribute breaking quotes": ("markdown", """<img src="x" alt='"><b>' onerror="alert(1)">"""),
    "attribute without a space (output)": ("html", '<img src="x" alt="a"onerror="alert(1)"//">'),
    "slash-separated attribute (output)": ("html", "<img/src=\"x\"/onerror=alert(1)>"),
    "unterminated tag (output, closed by the page's own markup)": ("html", "<img src=x onerror=alert(1)//"),
    "nested script tags": ("markdown", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    "comment break-out": ("markdown", "<!--><img src=x onerror=alert(1)>-->"),
    "table foster-parenting": ("markdown", "<table><img src=x onerror=alert(1)></table>"),
    "svg style break-out": ("markdown", "<svg><style><img src=x onerror=alert(1)></style></svg>"),
    "noscript title mXSS": ("markdown", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'),
    "math mglyph mXSS": ("markdown", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"),
    "svg onload": ("markdown", "<svg onload=alert(1)>"),
    "svg script": ("markdown", "<svg><script>alert(1)</script></svg>"),
    "svg javascript link": ("markdown", '<svg><a xlink:href="javascript:alert(1)"><text y="20">x</text></a></svg>'),
    "svg animate href": ("markdown", "<svg><a><animate attributeName=href values=javascript:alert(1) /><text>x</text></a></svg>"),
    "svg foreignObject": ("markdown", "<svg><foreignObject><img src=x onerror=alert(1)></foreignObject></svg>"),
    "details ontoggle": ("markdown", "<details open ontoggle=alert(1)><summary>s</summary></details>"),
    "body onload": ("markdown", "<body onload=alert(1)>"),
    "input autofocus": ("markdown", "<input autofocus onfocus=alert(1)>"),
    "video source onerror": ("markdown", "<video><source onerror=alert(1)></video>"),
    "vbscript and file links": ("markdown", '<a href="vbscript:msgbox(1)">a</a> <a href="file:///etc/passwd">b</a>'),
    "mermaid fence break-out": ("markdown", "```mermaid\n</pre><img src=x onerror=alert(1)>\n```"),
    "MathJax href": ("markdown", "$\\href{javascript:alert(1)}{点我}$"),
    "MathJax require": ("markdown", "$$\\require{[Contrib]/evil}x$$"),
    "missing attachment": ("markdown", "![](attachment:nope.png)"),
    "output text/latex MathJax href": ("latex", "$\\href{javascript:alert(1)}{x}$"),
    "output text/html": ("html", f"<b>hi</b><img src=x onerror={JS}>"),
    "output svg script": ("svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    "output svg onload": ("svg", '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'),
    "output text/markdown": ("output-markdown", "<script>alert(1)</script>"),
    "raw cell": ("raw", "<script>alert(1)</script>"),
}

BENIGN_MARKDOWN = [
    "## 张量 Tensors\n\n中文说明：**步长** (stride) 决定了 `view` 能否共享内存。",
    "$a < b$ 且 $$\\sum_{i=1}^{n} x_i^2 \\le \\|x\\|^2$$ and \\(e^{i\\pi}+1=0\\)",
    "\\begin{align} f(x) &= x^2 \\\\ f'(x) &= 2x \\end{align}",
    "| 形状 shape | 步长 stride |\n|:--|--:|\n| (2, 3) | (3, 1) |\n| (3, 2) | (1, 3) |",
    f"![一张图 a plot](data:image/png;base64,{PNG})",
    "```python\nif a < b and c > d:\n    print('<b>not html</b>')\n```",
    "行内代码 `x<y && y>z`，以及 [PyTorch 文档](https://pytorch.org/docs/stable/) 和 <https://example.org/>。",
    "> 注意 Note: `reshape` 可能复制 & may copy.",
    "- [ ] 待办 todo\n- [x] 完成 done\n\n1. 第一\n2. 第二",
    "术语 term\n: 定义 definition",
    "<b>粗体</b><br><span style=\"color: red\">红色 red</span> <sub>下标</sub> H<sup>2</sup>O &nbsp; &copy;",
    "<details><summary>提示 Hint</summary>\n\n用 `torch.empty(shape).stride()` 对照。\n\n</details>",
    "<table><tr><th>a</th><td align=\"center\">1</td></tr></table>",
    f'<img src="data:image/png;base64,{PNG}" alt="图" width="40">',
    "```mermaid\ngraph LR; A-->B\n```",
]
MATPLOTLIB_SVG = ('<?xml version="1.0" encoding="utf-8" standalone="no"?>\n<svg xmlns:xlink="http://www.w3.org/1999/xlink" '
                  'width="100pt" height="50pt" viewBox="0 0 100 50" xmlns="http://www.w3.org/2000/svg" version="1.1">'
                  '<metadata><rdf:RDF xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:cc="http://creativecommons.org/ns#" '
                  'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><cc:Work><dc:type '
                  'rdf:resource="http://purl.org/dc/dcmitype/StillImage"/></cc:Work></rdf:RDF></metadata>'
                  '<defs><style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style>'
                  '<path id="m1" d="M 0 0 L 0 3.5" style="stroke: #000000"/><clipPath id="c1"><rect width="9" height="9"/></clipPath></defs>'
                  '<g id="figure_1" clip-path="url(#c1)"><use xlink:href="#m1" x="10" y="20" style="fill: #1f77b4"/>'
                  '<text x="5" y="40">损失 loss</text></g></svg>')


def payload_notebook(kind: str, content: str):
    if kind == "markdown":
        return new_notebook(cells=[new_markdown_cell(content)])
    if kind == "raw":
        cell = new_raw_cell(content)
        cell.metadata["raw_mimetype"] = "text/html"
        return new_notebook(cells=[cell])
    mime = {"html": "text/html", "svg": "image/svg+xml", "output-markdown": "text/markdown", "latex": "text/latex"}[kind]
    out = new_output("display_data", data={mime: content, "text/plain": "<IPython.core.display.HTML object>"})
    return new_notebook(cells=[new_code_cell("display(x)", outputs=[out])])


def pieces(nb) -> list[str]:
    """Each piece of HTML a browser gets from the notebook, as nbconvert puts it on the page
    (None stands for a markdown cell nbconvert cannot render: feedback fails for that student)."""
    html = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            try:
                html.append(render_markdown(cell.source, cell.get("attachments")))
            except Exception:  # noqa: BLE001
                html.append(None)
        elif cell.cell_type == "raw":
            html.append(cell.source)
        else:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                html += [data[m] for m in ("text/html", "image/svg+xml") if m in data]
                html += [f"<div>{_html.escape(data['text/latex'])}</div>"] if "text/latex" in data else []
                html += [render_markdown(data["text/markdown"])] if "text/markdown" in data else []
    return html


LIVE_TAG = re.compile(r"<\s*(script|iframe|object|embed|form|meta|base|link|style|frame|noscript|template)\b", re.IGNORECASE)
LIVE_ATTR = re.compile(r"<[^>]*?[\s/\"']on[a-z]+\s*=|<[^>]*(href|src|action|data)\s*=\s*[\"']?\s*(javascript|vbscript|data:text)",
                       re.IGNORECASE)


def crude_live(html: str | None) -> bool:
    """A second opinion sharing no code with the detector: live-looking tags or handlers in real markup."""
    if html is None:
        return True
    return bool(LIVE_TAG.search(html) or LIVE_ATTR.search(html) or re.search(r"\\href\{\s*javascript", html))


def judged_live(nb) -> bool:
    return any(p is None or live_script(p) for p in pieces(nb))


def identity(nb) -> list[str]:
    """The weakened sanitizer: changes nothing."""
    return []


@pytest.mark.parametrize("name", PAYLOADS)
def test_identity_sanitizer_leaves_every_payload_live(name):
    """Does the detector flag each payload when nothing sanitizes it (so the tests below can fail)?"""
    nb = payload_notebook(*PAYLOADS[name])
    assert identity(nb) == []
    assert judged_live(nb), name


@pytest.mark.parametrize("name", PAYLOADS)
def test_sanitizer_neutralises_every_payload(name):
    """Is each payload inert after sanitize_notebook, by the detector and by the crude second opinion,
    and is its removal reported?"""
    nb = payload_notebook(*PAYLOADS[name])
    removed = sanitize_notebook(nb)
    assert removed, name
    assert not judged_live(nb), (name, pieces(nb))
    assert not any(crude_live(p) for p in pieces(nb)), (name, pieces(nb))
    assert sanitize_notebook(nb) == [], "sanitizing twice changes nothing more"


def test_crude_second_opinion_flags_the_html_payloads():
    """Does the crude judge, too, see most payloads when nothing sanitizes them?"""
    live = [n for n, p in PAYLOADS.items() if any(crude_live(h) for h in pieces(payload_notebook(*p)))]
    assert len(live) >= 30, sorted(set(PAYLOADS) - set(live))


def test_removed_text_is_shown_escaped_not_dropped():
    """Does the instructor still see what the student wrote (escaped as text) after cleaning?"""
    nb = payload_notebook("markdown", f"答案 answer <script>{JS}</script> 结束")
    sanitize_notebook(nb)
    assert "&lt;script&gt;" in nb.cells[0].source and "答案 answer" in nb.cells[0].source
    assert "&lt;script&gt;" in render_markdown(nb.cells[0].source)


@pytest.mark.parametrize("source", BENIGN_MARKDOWN)
def test_benign_markdown_is_unchanged(source):
    """Are math, tables, code, data:image/png images, links and Chinese text left exactly as written?"""
    nb = new_notebook(cells=[new_markdown_cell(source)])
    assert sanitize_notebook(nb) == []
    assert nb.cells[0].source == source


def test_benign_outputs_attachments_and_metadata_are_unchanged():
    """Are PNG and matplotlib-SVG outputs, plain HTML tables, image attachments and ordinary tags kept?"""
    outputs = [new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"},
                          metadata={"image/png": {"width": 300, "height": 200}}),
               new_output("display_data", data={"image/svg+xml": MATPLOTLIB_SVG, "text/plain": "<Figure>"}),
               new_output("execute_result", data={"text/html": "<table border=\"1\" class=\"dataframe\"><thead><tr "
                                                  "style=\"text-align: right;\"><th>a</th></tr></thead></table>",
                                                  "text/plain": "   a"}, execution_count=1),
               new_output("stream", name="stdout", text="<script>stays text</script>\n")]
    md = new_markdown_cell("![图](attachment:plot.png)")
    md.attachments = {"plot.png": {"image/png": PNG}}
    md.metadata["tags"] = ["zh"]
    nb = new_notebook(cells=[md, new_code_cell("plot()", outputs=outputs)], metadata={"title": "第一课 Lesson 1"})
    before = copy.deepcopy(nb)
    assert sanitize_notebook(nb) == []
    assert nb == before


def test_course_notebooks_are_unchanged():
    """Does every assignment notebook (what students start from) and a lesson pass untouched?"""
    paths = sorted((ROOT / "course" / "source").glob("*/*.ipynb")) + [ROOT / "notebooks" / "01_tensors.ipynb"]
    for path in paths:
        nb = nbformat.read(str(path), as_version=4)
        before = copy.deepcopy(nb)
        assert sanitize_notebook(nb) == [], path.name
        assert nb == before, path.name


def test_outputs_that_run_code_are_dropped():
    """Are application/javascript, widget views and unknown types dropped, and output metadata reduced?"""
    out = new_output("display_data", data={"application/javascript": JS, "text/plain": "x",
                                           "application/vnd.jupyter.widget-view+json": {"model_id": "m"},
                                           "text/x-weird": "<script>"},
                     metadata={"filenames": {"image/png": "javascript:alert(1)"}, "text/html": {"isolated": True}})
    nb = new_notebook(cells=[new_code_cell("x", outputs=[out])])
    removed = sanitize_notebook(nb)
    assert nb.cells[0].outputs[0].data == {"text/plain": "x"} and nb.cells[0].outputs[0].metadata == {}
    assert len(removed) == 1 and "application/javascript output" in removed[0]


def test_metadata_the_templates_print_is_cleaned():
    """Are the notebook title, widget state, cell tags, grade ids and attachment names cleaned?"""
    md = new_markdown_cell("text")
    md.metadata["tags"] = ["en", '"><script>alert(1)</script>']
    md.metadata["nbgrader"] = {"grade_id": "<img src=x onerror=alert(1)>", "grade": False, "solution": True}
    md.attachments = {'x"><img src=x onerror=alert(1)>.png': {"image/png": PNG}, "page.html": {"text/html": "<script>"}}
    nb = new_notebook(cells=[md], metadata={"title": "</title><script>alert(1)</script>",
                                            "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}})
    removed = sanitize_notebook(nb)
    assert "widgets" not in nb.metadata and "<" not in nb.metadata.title
    assert md.metadata.tags == ["en"] and md.attachments == {}
    assert re.fullmatch(r"[A-Za-z0-9_\-]+", md.metadata.nbgrader.grade_id)
    assert {"widget state", "title markup", "grade id with markup", "cell tags with markup",
            "attachments that are not plain images"} <= {w for line in removed for w in line.split(": ")[1].split(", ")}


def test_removal_notes_are_plain_words():
    """Can a hostile tag or attribute name smuggle markup into the grading note (itself markdown)?"""
    nb = payload_notebook("html", '<img src=x a<script>=1 onerror=alert(1)><x<b>y onclick=1><svg><a*b onload=1>')
    removed = sanitize_notebook(nb)
    assert removed and not any(c in "".join(removed) for c in "<>&`[]*")
    assert not live_script(render_markdown("- " + "; ".join(removed)))


NOTE_TEXT = ["<img src=x onerror=alert(1)>.txt", "[x](javascript:alert(1))", "$\\href{javascript:alert(1)}{x}$",
             "\\(\\href{javascript:alert(1)}{x}\\)", "**粗体** `code` _x_ #1 a|b <b> & c", "第一行\n- 第二行"]


@pytest.mark.parametrize("text", NOTE_TEXT)
def test_plain_markdown_shows_student_text_as_text(text):
    """Is a student-controlled string (a file name, say) put into a grading note shown as plain text,
    where put in raw it would be live (the first four) or reformatted?"""
    html = render_markdown("- 说明 note: " + plain_markdown(text))
    assert not live_script(html)
    shown = _html.unescape(re.sub(r"<[^>]+>", "", html)).strip()
    assert shown == "说明 note: " + " ".join(text.replace("\\", "\uff3c").replace("$", "\uff04").split())
    if NOTE_TEXT.index(text) < 4:
        assert live_script(render_markdown("- 说明 note: " + text))


def test_repair_submission_sanitizes_and_says_so(tmp_path):
    """Does RepairSubmission (first of the autograde sanitizers) clean the notebook and leave a note?"""
    name = "a01_tensors"
    (tmp_path / name).mkdir()
    master = nbformat.read(str(ROOT / "course" / "source" / name / f"{name}.ipynb"), as_version=4)
    nbformat.write(master, str(tmp_path / name / f"{name}.ipynb"))
    nb = copy.deepcopy(master)
    nb.cells.append(new_markdown_cell(f'<img src=x onerror="{JS}">'))
    resources = {"nbgrader": {"assignment": name, "notebook": name, "student": "eve"}}
    nb, _ = RepairSubmission(release_dir=str(tmp_path)).preprocess(nb, resources)
    assert not judged_live(nb)
    [note] = nb.metadata["autograder"]["repairs"]
    assert "不安全" in note["zh"] and "unsafe HTML or script removed" in note["en"]


def test_cost_per_notebook_is_small():
    """Is sanitizing a course notebook cheap next to grading it (well under a second here)?"""
    import time
    nb = nbformat.read(str(ROOT / "course" / "source" / "a03_autograd_modules" / "a03_autograd_modules.ipynb"),
                       as_version=4)
    sanitize_notebook(copy.deepcopy(nb))  # imports, caches
    t0 = time.perf_counter()
    sanitize_notebook(nb)
    assert time.perf_counter() - t0 < 2.0

