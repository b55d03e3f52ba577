"""Single-language editions of the lessons / 课程的单语版本.

The lessons in ``notebooks/`` are written once, bilingually: every prose cell is a markdown cell
tagged ``zh`` followed by its twin tagged ``en``; code cells (and their stored outputs) are
shared. An edition is a filter over those tags, never a second copy kept in git:

* ``zh`` edition: markdown cells tagged ``en`` dropped;
* ``en`` edition: markdown cells tagged ``zh`` dropped;
* every code cell, its outputs, ids and metadata kept, in order.

``python -m autograder.editions`` (``make editions``, run by ``make lab``) writes
``build/editions/zh/*.ipynb`` and ``build/editions/en/*.ipynb`` (gitignored). Imports no torch.
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("zh", "en")
DEFAULT_SOURCE = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "build" / "editions"


def language_of(cell) -> str | None:
    """``"zh"`` or ``"en"`` for a tagged prose cell, ``None`` for anything shared."""
    if cell.get("cell_type") != "markdown":
        return None
    found = [t for t in cell.get("metadata", {}).get("tags", []) if t in LANGUAGES]
    return found[0] if len(found) == 1 else None


def edition(nb, lang: str):
    """A copy of ``nb`` keeping only ``lang``'s prose; code cells and their outputs untouched."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {LANGUAGES}")
    out = copy.deepcopy(nb)
    out.cells = [c for c in out.cells if language_of(c) in (None, lang)]
    return out


def build(source: Path = DEFAULT_SOURCE, out: Path = DEFAULT_OUT,
          languages: tuple[str, ...] = LANGUAGES) -> list[Path]:
    """Write one edition per lesson and language; return the written paths."""
    written = []
    lessons = sorted(source.glob("*.ipynb"))
    if not lessons:
        raise FileNotFoundError(f"no lessons (*.ipynb) in {source}")
    for lang in languages:
        folder = out / lang
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.ipynb"):          # a renamed lesson leaves no orphan behind
            if not (source / stale.name).exists():
                stale.unlink()
        for path in lessons:
            nb = nbformat.read(str(path), as_version=4)
            target = folder / path.name
            nbformat.write(edition(nb, lang), str(target))
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.editions",
        description="Build the zh-only and en-only editions of the lessons / 生成中文版与英文版课程")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="bilingual lessons (default: notebooks/)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: build/editions/)")
    parser.add_argument("--lang", choices=LANGUAGES, action="append",
                        help="only this language (repeatable; default: both)")
    args = parser.parse_args(argv)
    written = build(args.source, args.out, tuple(args.lang or LANGUAGES))
    for lang in args.lang or LANGUAGES:
        n = sum(1 for p in written if p.parent.name == lang)
        try:
            shown = (args.out / lang).resolve().relative_to(Path.cwd())
        except ValueError:
            shown = (args.out / lang).resolve()
        print(f"{lang}: {n} lessons -> {shown}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
