"""Validate and the exchange loop while other processes keep every core busy, as on a class's shared Hub machine.

On a loaded 2-core machine nbgrader's default IOPub timeout (4 s) failed Validate; the course and deploy configs
now wait longer (tests/test_exchange.py::test_validate_waits_long_enough_on_a_shared_machine). Here the loop of
tests/test_exchange.py runs with twice as many CPU burners as cores, each stopping by itself after BURN seconds.
繁忙机器：每个核两个占满 CPU 的进程（到时自行退出）时，Validate 与交换流程照样通过。
"""
import os
import subprocess
import sys
import time

import pytest

from test_exchange import ASSIGNMENT, run_loop

BURN = 240  # seconds; every burner ends by itself, and is killed when the loop is done
BURNER = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end:\n    pass\n"


@pytest.fixture
def busy():
    """2 x cores processes spinning on the CPU at normal priority; stopped at the end, whatever happens."""
    procs = [subprocess.Popen([sys.executable, "-c", BURNER.format(s=BURN)], start_new_session=True)
             for _ in range(2 * (os.cpu_count() or 1))]
    time.sleep(2)
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()


@pytest.mark.pipeline
def test_validate_and_the_exchange_loop_on_a_busy_machine(busy, tmp_path):
    """With every core taken: does Validate pass the solved notebook (and fail the blank one) instead of timing
    out, and does the rest of the loop (submit, collect, trusted grade, feedback) still give 10 and 0?"""
    started = time.monotonic()
    loop = run_loop(tmp_path)
    took = time.monotonic() - started
    still_busy = sum(p.poll() is None for p in busy)
    assert loop["validation"]["ada"] == {}, loop["validation"]["ada"]
    assert loop["validation"]["chen"]["failed"]
    scores = {r["student"]: r["score"] for r in loop["course"].scores(ASSIGNMENT)}
    assert scores == {"ada": 10, "chen": 0}
    assert all(len(pages) == 1 for pages in loop["feedback"].values())
    if took < BURN:  # the burners ran the whole time: the loop really met a busy machine
        assert still_busy == len(busy)
    print(f"loop on a busy machine: {took:.0f} s with {len(busy)} burners on {os.cpu_count()} cores")
