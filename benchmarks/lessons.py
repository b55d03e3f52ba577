"""How long each lesson takes to run, start to finish / 每节课从头运行一遍要多久.

    .venv/bin/python benchmarks/lessons.py [notebooks/NN_*.ipynb ...]

Executes each lesson in a fresh kernel (as nbval does) and prints wall and CPU seconds. The
target is < 60 s per lesson on a 2-core CPU; it is a figure to watch, not a timed test.
"""
from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(path: Path) -> tuple[float, float]:
    nb = nbformat.read(str(path), as_version=4)
    cpu0, t0 = children_cpu(), time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - t0, children_cpu() - cpu0


def main(paths: list[str]) -> int:
    lessons = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    print(f"{'lesson':40s} {'wall s':>8s} {'cpu s':>8s}")
    slow = 0
    for path in lessons:
        wall, cpu = run(path)
        slow += wall > TARGET_SECONDS
        print(f"{path.name:40s} {wall:8.1f} {cpu:8.1f}{'  > target' if wall > TARGET_SECONDS else ''}")
    print(f"target: < {TARGET_SECONDS} s each; {slow} over")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
