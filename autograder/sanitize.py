"""Student-authored HTML made inert / 让学生写的 HTML 与脚本失效.

The feedback page and the formgrader render a graded notebook with nbconvert's markdown filter and
templates, and nbgrader's own templates put markdown cells on the page *without* nbconvert's
``sanitize_html`` (``cell.source | markdown2html``): an ``<img onerror=...>`` in a student's markdown
cell would run in the instructor's logged-in Jupyter session. So the notebook itself is sanitized
while it is autograded (:class:`autograder.preprocessors.RepairSubmission` calls
:func:`sanitize_notebook`), before anything renders it.

How, with bleach (the sanitizer nbconvert's own ``sanitize_html`` uses) and its HTML5 parser:

- A markdown cell is rendered exactly as nbconvert renders it, and the HTML is walked on the
  parse tree a browser would build (:func:`live_script`: an allowlist of elements, attributes,
  URL schemes and CSS). A cell that renders clean is left byte for byte as the student wrote it
  (math, tables, code, data:image/png images, Chinese text). Otherwise its HTML is cleaned with
  bleach (disallowed tags are escaped, so the instructor still sees what was written), unsafe
  link targets become ``#``; math and code spans are kept as they are (nbconvert escapes them).
  The result is rendered and checked again; if it still is not clean, the cell is shown as a
  plain code block.
- Outputs: ``text/html`` cleaned the same way, ``text/markdown`` as markdown cells, an unsafe
  ``image/svg+xml`` dropped, and every type nbconvert could run (``application/javascript``, widget
  views, anything unknown) dropped; output metadata keeps only image sizes and alt text.
- Raw cells are cleaned as HTML; attachments keep only PNG/JPEG/GIF images with plain names.
- Metadata the templates print: the notebook title, widget state (drives a script of its own),
  cell tags, cell ids and nbgrader grade ids.
"""
from __future__ import annotations

import functools
import html as _html
import re
from collections.abc import Iterable

import bleach
from bleach.css_sanitizer import CSSSanitizer
from bleach.html5lib_shim import HTMLParser
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat.v4.nbbase import random_cell_id

SVG = "{http://www.w3.org/2000/svg}"
PAGE = "<!DOCTYPE html><html><head></head><body><div>", "</div></body></html>"

# What student HTML may keep (bleach's defaults plus ordinary text formatting and tables).
TAGS = frozenset(bleach.ALLOWED_TAGS) | {
    "p", "br", "hr", "div", "span", "pre", "code", "h1", "h2", "h3", "h4", "h5", "h6", "sub", "sup",
    "del", "s", "strike", "ins", "u", "mark", "small", "kbd", "samp", "var", "q", "cite", "dl", "dt", "dd",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col", "img",
    "figure", "figcaption", "details", "summary", "section", "input"}
GLOBAL_ATTRIBUTES = frozenset({"class", "id", "title", "lang", "dir", "align", "style"})
ATTRIBUTES = {
    "a": {"href", "name"}, "img": {"src", "alt", "width", "height"}, "ol": {"start", "type"},
    "td": {"colspan", "rowspan"}, "table": {"border"}, "th": {"colspan", "rowspan", "scope"}, "col": {"span"},
    "colgroup": {"span"}, "details": {"open"}, "input": {"type", "disabled", "checked"},
}
CSS_PROPERTIES = frozenset({
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family", "text-align",
    "text-decoration", "vertical-align", "white-space", "width", "height", "max-width", "border",
    "border-collapse", "padding", "margin"})
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[a-z0-9+/=]*$")
# image/svg+xml outputs (matplotlib's SVG backend, say): the graphic elements, nothing that runs
SVG_TAGS = frozenset({
    "svg", "g", "defs", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan",
    "title", "desc", "metadata", "lineargradient", "radialgradient", "stop", "clippath", "mask", "pattern",
    "marker", "symbol", "use", "style", "image"})
KEPT_MIME = frozenset({"text/plain", "text/html", "text/markdown", "text/latex", "image/png", "image/jpeg",
                       "image/gif", "image/svg+xml", "application/json"})
IMAGE_MIME = ("image/png", "image/jpeg", "image/gif")
OUTPUT_METADATA = frozenset({"width", "height", "alt", "unconfined", "needs_background"})
GRADE_ID = re.compile(r"^[A-Za-z0-9_\-]+$")   # what nbgrader's CheckCellMetadata accepts
CELL_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")  # nbformat 4.5
TAG = re.compile(r"^[\w.\-:]+$")
BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
_BAD_CSS = re.compile(r"url\s*\(|expression|javascript|vbscript|@import|behavior|binding|\\", re.IGNORECASE)
_CSS_FRAGMENT_URL = re.compile(r"url\(\s*#[\w\-]*\s*\)", re.IGNORECASE)
_MATHJAX_LINK = re.compile(r"\\(href|url)\s*\{([^{}]*)\}")
_MATHJAX_REQUIRE = re.compile(r"\\require\s*\{")  # loads a MathJax extension (code) by name
_WORD = re.compile(r"[^a-z0-9:_\-/.+]")


# ---------------------------------------------------------------------------- the detector

def live_script(html: str) -> bool:
    """Could this HTML run script, or load a page or frame, when a browser shows it?

    An allowlist walk of the parse tree (bleach's HTML5 parser, which builds what a browser builds,
    foster-parented tables and SVG break-outs included): any element, attribute, URL scheme or CSS
    outside :data:`TAGS`, :data:`ATTRIBUTES` and :data:`CSS_PROPERTIES`, any ``on*`` handler, and a
    MathJax ``\\href`` to anything but http(s) count as live."""
    return bool(findings(html))


def findings(html: str) -> list[str]:
    """What :func:`live_script` objects to, as short plain words (safe inside markdown)."""
    found: list[str] = []
    try:  # as the page holds it: a whole document, inside a div in the body, closed by the page's own
        # markup (an unterminated tag ends at the page's next `>`; html5lib's fragment
        # mode drops foster-parented nodes, `<table><img onerror=...>`, which a browser keeps)
        root = HTMLParser(namespaceHTMLElements=False).parse(PAGE[0] + html + PAGE[1])
    except Exception as exc:  # noqa: BLE001 - a parser failure is itself a reason to distrust the text
        return [f"unparsable HTML ({_word(type(exc).__name__)})"]
    for el in root.iter():
        if not isinstance(el.tag, str):  # a comment: never rendered
            continue
        for text in (el.text, el.tail):
            if text and "\\" in text:
                found += _mathjax_findings(text)
        if el.tag in ("html", "head", "body"):  # the page's own; student markup can only add attributes
            found += [f"{el.tag} {_word(str(name))} attribute" for name in el.attrib]
            continue
        if el.tag.startswith(SVG):
            found += _svg_findings(el)
        elif el.tag.startswith("{"):
            found.append(f"{_word(el.tag.split('}')[-1])} element (MathML or other foreign markup)")
        elif el.tag not in TAGS:
            found.append(f"{_word(el.tag)} element")
        else:
            for name, value in el.attrib.items():
                name = name.split("}")[-1] if isinstance(name, str) else str(name)
                if not _attribute_ok(el.tag, name, value):
                    found.append(f"{_word(el.tag)} {_word(name)} attribute")
    return _unique(found)


def _mathjax_findings(text: str) -> list[str]:
    """MathJax (loaded by the feedback and formgrader pages) turns TeX in the page's text into markup:
    ``\\href{javascript:...}`` is a live link, ``\\require`` loads code."""
    found = [f"MathJax {m.group(1)} to an unsafe URL" for m in _MATHJAX_LINK.finditer(text) if not _safe_url(m.group(2))]
    return found + (["MathJax require"] if _MATHJAX_REQUIRE.search(text) else [])


def _svg_findings(el) -> list[str]:
    name = el.tag[len(SVG):].lower()
    if name not in SVG_TAGS and ":" not in name:  # rdf:RDF & co. inside <metadata> render nothing
        return [f"svg {_word(name)} element"]
    found = []
    if name == "style" and el.text and _BAD_CSS.search(_CSS_FRAGMENT_URL.sub("", el.text)):
        found.append("svg style with a URL or script")
    for key, value in el.attrib.items():
        attr = (key.split("}")[-1] if isinstance(key, str) else str(key)).lower()
        if attr.startswith("on"):
            found.append(f"svg {_word(attr)} attribute")
        elif attr in ("href", "src") and not (value.strip().startswith("#") or (name == "image" and _image_url(value))):
            found.append(f"svg {attr} to an outside resource")
        elif attr == "style" and _BAD_CSS.search(_CSS_FRAGMENT_URL.sub("", value)):
            found.append("svg style attribute with a URL or script")
        elif _BAD_CSS.search(_CSS_FRAGMENT_URL.sub("", value)) and "url" in value.lower():
            found.append(f"svg {_word(attr)} with a URL")
    return found


def _attribute_ok(tag: str, name: str, value: str) -> bool:
    """The allowlist, shared by the detector and the cleaner (bleach calls it per attribute)."""
    name = name.lower()
    if name not in GLOBAL_ATTRIBUTES and name not in ATTRIBUTES.get(tag, ()):
        return False
    if name == "style":
        return _style_ok(value)
    if tag == "a" and name == "href":
        return _safe_url(value)
    if tag == "img" and name == "src":
        return _safe_url(value) or _image_url(value) or _normal(value).startswith("attachment:")
    if tag == "input" and name == "type":
        return value.strip().lower() == "checkbox"
    return True


def _style_ok(value: str) -> bool:
    if _BAD_CSS.search(value):
        return False
    props = [d.split(":", 1)[0].strip().lower() for d in value.split(";") if d.strip()]
    return all(p in CSS_PROPERTIES for p in props)


def _normal(url: str) -> str:
    """A URL as a browser reads its scheme: entities decoded, controls and spaces dropped, lower case."""
    return re.sub(r"[\x00-\x20\x7f-\xa0\s`]+", "", _html.unescape(url)).replace("\ufffd", "").lower()


def _safe_url(url: str) -> bool:
    """http(s), mailto, a fragment or a relative path; never javascript:, data:, vbscript: or file:."""
    url = _normal(url)
    scheme = re.match(r"^([a-z][a-z0-9+.\-]*):", url)
    if scheme is None:
        return not url.startswith("//") and ":" not in url.split("/")[0].split("?")[0].split("#")[0]
    return scheme.group(1) in LINK_SCHEMES


def _image_url(url: str) -> bool:
    return bool(IMAGE_DATA.match(_normal(url)))


def _word(text: str) -> str:
    return _WORD.sub("", text.lower())[:40] or "unnamed"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------------------- the cleaner

def _bleach_attribute(tag: str, name: str, value: str) -> bool:
    return _attribute_ok(tag, name, value)


CLEANER = bleach.Cleaner(
    tags=TAGS, attributes=_bleach_attribute, protocols=LINK_SCHEMES | {"data", "attachment"},
    css_sanitizer=CSSSanitizer(allowed_css_properties=CSS_PROPERTIES), strip=False, strip_comments=True)


def render_markdown(source: str, attachments: dict | None = None) -> str:
    """Markdown -> HTML exactly as nbconvert's HTMLExporter renders a markdown cell (feedback, formgrader)."""
    renderer = IPythonRenderer(escape=False, attachments=attachments or {}, anchor_link_text="¶")
    return MarkdownWithMath(renderer=renderer).render(source)


def markdown_findings(source: str, attachments: dict | None = None) -> list[str]:
    """:func:`findings` for a markdown cell as nbconvert renders it. The cells a batch sees again and
    again (the release's own text, in every submission) are judged once per process."""
    if not attachments and len(source) <= CACHED_CHARS:
        return list(_cached_markdown_findings(source))
    return _markdown_findings(source, attachments)


CACHED_CHARS = 1 << 16


@functools.lru_cache(maxsize=4096)
def _cached_markdown_findings(source: str) -> tuple[str, ...]:
    return tuple(_markdown_findings(source, None))


def _markdown_findings(source: str, attachments: dict | None) -> list[str]:
    try:
        return findings(render_markdown(source, attachments))
    except Exception as exc:  # noqa: BLE001 - e.g. a missing attachment: the page would not render at all
        return [f"markdown that does not render ({_word(type(exc).__name__)})"]


# math and code: nbconvert escapes them, and bleach would escape the < and & they need
_PROTECTED = re.compile(
    r"(?P<fence>^[ ]{0,3}(?P<f>`{3,}|~{3,})(?![ \t]*mermaid)[^\n]*\n.*?^[ ]{0,3}(?P=f)[ \t]*$)"
    r"|(?P<display>\$\$.+?\$\$)|(?P<env>\\begin\{(?P<e>[A-Za-z*]+)\}.+?\\end\{(?P=e)\})"
    r"|(?P<brackets>\\\[.+?\\\]|\\\(.+?\\\))"
    r"|(?P<code>(?P<t>`+)(?!`).+?(?<!`)(?P=t)(?!`))"
    r"|(?P<inline>(?<![\\$])\$(?!\$)[^\n$]+?(?<!\\)\$)",
    re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"(?P<bang>!?)\[(?P<text>(?:[^\[\]\n]|\[[^\]\n]*\])*)\]\(\s*(?P<lt><?)(?P<url>[^\s)>]*)")
_REFERENCE = re.compile(r"^(?P<head>[ ]{0,3}\[[^\]\n]+\]:[ \t]*<?)(?P<url>[^\s>]+)", re.MULTILINE)


def _defang_url(url: str, image: bool, attachments: dict) -> str:
    normal = _normal(url.replace("\\", ""))
    if image and (_image_url(url) or (normal.startswith("attachment:") and normal[11:] in
                                      {k.lower() for k in attachments})):
        return url
    return url if _safe_url(url.replace("\\", "")) else "#"


def _defang_math(text: str) -> str:
    text = _MATHJAX_LINK.sub(lambda m: m.group(0) if _safe_url(m.group(2)) else f"\\{m.group(1)}{{#}}", text)
    return _MATHJAX_REQUIRE.sub(r"\\text{", text)


def _defang_links(text: str, attachments: dict) -> str:
    text = _LINK.sub(lambda m: m.group(0)[: m.start("url") - m.start()]
                     + _defang_url(m.group("url"), bool(m.group("bang")), attachments), text)
    text = _REFERENCE.sub(lambda m: m.group("head") + _defang_url(m.group("url"), True, attachments), text)
    return _defang_math(text)


def clean_markdown(source: str, attachments: dict | None = None) -> str:
    """The markdown with its raw HTML cleaned by bleach and unsafe link targets replaced by ``#``;
    code and math spans kept as written (MathJax links to unsafe URLs defanged)."""
    attachments = attachments or {}
    out, at = [], 0
    for m in _PROTECTED.finditer(source):
        out.append(CLEANER.clean(_defang_links(source[at:m.start()], attachments)))
        out.append(m.group(0) if m.group("fence") or m.group("code") else _defang_math(m.group(0)))
        at = m.end()
    out.append(CLEANER.clean(_defang_links(source[at:], attachments)))
    return "".join(out)


def as_code_block(source: str) -> str:
    """Any text as an indented markdown code block: shown verbatim, nothing in it rendered."""
    return "\n".join("    " + line for line in source.splitlines()) or "    "


def inert_markdown(source: str, attachments: dict | None = None) -> tuple[str, list[str]]:
    """(markdown that renders inert, what was wrong) — ``source`` itself when it already renders inert."""
    found = markdown_findings(source, attachments)
    if not found:
        return source, []
    for candidate in (clean_markdown(source, attachments), as_code_block(source)):
        if not markdown_findings(candidate, attachments):
            return candidate, found
    return "(removed / 已删除)", found


def inert_html(text: str) -> tuple[str | None, list[str]]:
    """(HTML that is inert, what was wrong); None when even the cleaned HTML is not."""
    found = findings(text)
    if not found:
        return text, []
    cleaned = CLEANER.clean(text)
    return (cleaned if not findings(cleaned) else None), found


def plain_markdown(text: str) -> str:
    """Any text (a file name, an error message, a grade id) as markdown that shows exactly that text:
    no HTML, no markdown syntax, no math delimiters for MathJax (``\\`` and ``$`` become their
    full-width forms), one line. For grading notes built from what a student controls."""
    text = " ".join(str(text).replace("\\", "\uff3c").replace("$", "\uff04").split())
    return re.sub(r"([`*_\[\]{}()#+\-.!|~>])", r"\\\1", _html.escape(text, quote=False))


# ---------------------------------------------------------------------------- the notebook

def _text(value) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def sanitize_notebook(nb) -> list[str]:
    """Make every student-authored piece of HTML in ``nb`` inert, in place; return what was removed,
    one short line per cell or field (plain words: it goes into a grading note)."""
    removed: list[str] = []

    def note(where: str, what: list[str]) -> None:
        if what:
            removed.append(f"{where}: {', '.join(what[:4])}" + (f" (+{len(what) - 4})" if len(what) > 4 else ""))

    meta = nb.get("metadata", {})
    if "widgets" in meta:  # widget state: the page loads a widget manager that renders it
        del meta["widgets"]
        note("notebook metadata", ["widget state"])
    if "title" in meta:
        title = meta["title"]
        plain = re.sub(r"[<>&\"'`\x00-\x1f]", "", title) if isinstance(title, str) else ""
        if plain != title:
            meta["title"] = plain
            note("notebook metadata", ["title markup"])

    for i, cell in enumerate(nb.get("cells", [])):
        where = f"cell {i + 1} ({_word(str(cell.get('cell_type')))})"
        note(where, _sanitize_metadata(cell))
        attachments = _sanitize_attachments(cell)
        if attachments is not None:
            note(where, attachments)
        kind = cell.get("cell_type")
        if kind == "markdown":
            source = _text(cell.get("source"))
            cell["source"], found = inert_markdown(source, cell.get("attachments"))
            note(where, found)
        elif kind == "raw":
            source = _text(cell.get("source"))
            cleaned, found = inert_html(source)
            if found:
                cell["source"] = cleaned if cleaned is not None else _html.escape(source)
            note(where, found)
        elif kind == "code":
            for j, output in enumerate(cell.get("outputs", []) or []):
                note(f"{where} output {j + 1}", _sanitize_output(output))
    return removed


def _sanitize_metadata(cell) -> list[str]:
    found = []
    meta = cell.get("metadata")
    if not isinstance(meta, dict):
        return found
    tags = meta.get("tags")
    if tags is not None:
        kept = [t for t in tags if isinstance(t, str) and TAG.match(t)] if isinstance(tags, list) else []
        if kept != tags:
            meta["tags"] = kept
            found.append("cell tags with markup")
    nbg = meta.get("nbgrader")
    if isinstance(nbg, dict) and "grade_id" in nbg:
        gid = nbg["grade_id"]
        if not (isinstance(gid, str) and GRADE_ID.match(gid)):
            nbg["grade_id"] = re.sub(r"[^A-Za-z0-9_\-]", "_", str(gid))[:80] or "_"
            found.append("grade id with markup")
    if "id" in cell and not (isinstance(cell["id"], str) and CELL_ID.match(cell["id"])):
        cell["id"] = random_cell_id()
        found.append("cell id with markup")
    return found


def _sanitize_attachments(cell) -> list[str] | None:
    attachments = cell.get("attachments")
    if attachments is None:
        return None
    kept = {}
    if isinstance(attachments, dict):
        for name, bundle in attachments.items():
            if not (isinstance(name, str) and TAG.match(name) and isinstance(bundle, dict)):
                continue
            images = {m: _text(bundle[m]) for m in IMAGE_MIME if m in bundle and BASE64.match(_text(bundle[m]))}
            if images:
                kept[name] = images
    if kept == attachments:
        return []
    cell["attachments"] = kept
    return ["attachments that are not plain images"]


def _sanitize_output(output) -> list[str]:
    found = []
    if output.get("output_type") not in ("display_data", "execute_result"):
        return found  # stream and error text: the templates escape it
    data = output.get("data", {})
    for mime in list(data):
        if mime not in KEPT_MIME:
            del data[mime]
            found.append(f"{_word(mime)} output")
            continue
        value = _text(data[mime])
        if mime == "text/html":
            cleaned, why = inert_html(value)
        elif mime == "text/markdown":
            cleaned, why = inert_markdown(value)
        elif mime == "image/svg+xml":
            why = findings(value)
            cleaned = None if why else value
        elif mime == "text/latex":  # escaped by the template, then typeset by MathJax
            why = _mathjax_findings(value)
            cleaned = _defang_math(value)
        elif mime in IMAGE_MIME:
            why = [] if BASE64.match(value) else ["image that is not base64"]
            cleaned = None if why else data[mime]
        else:
            continue
        if why:
            found += why
            if cleaned is None:
                del data[mime]
            else:
                data[mime] = cleaned
    metadata = output.get("metadata")
    if metadata:
        kept = {m: {k: v for k, v in md.items() if k in OUTPUT_METADATA
                    and (k not in ("width", "height") or isinstance(v, (int, float)))}
                for m, md in metadata.items() if m in IMAGE_MIME + ("image/svg+xml",) and isinstance(md, dict)}
        kept = {m: md for m, md in kept.items() if md}
        if kept != metadata:
            output["metadata"] = kept
    return found
